//! Query-to-reference mapping (scArches-style surgery, docs/models.md, Multigrate §5).
//!
//! [`Model::map_query`] extends every covariate with the query's new levels
//! (appended after the reference's), grows the tensors indexed by covariate
//! level (Multigrate: the covariate embedding tables and, for the
//! `integrate_on` covariate, the NB/ZINB dispersions; scVAEIT: the covariate
//! rows of the encoder block layers, of the first decoder layer and of the
//! dispersion weights), and freezes everything else. A `fit` of the mapped
//! model on the query then trains only the new rows: the reference rows are
//! restored after every step, batch-norm statistics are not updated and the
//! weight decay is 0 (the reference tutorials pass `weight_decay=0`; decay
//! would otherwise shrink the reference rows too). So the reference cells'
//! embeddings and imputations are exactly unchanged.
//!
//! Continuous covariates: the query must carry exactly the reference's, and
//! their parameters stay frozen (Multigrate: the sigmoid curves and
//! `W_cont`; scVAEIT: their rows of the covariate weights, which are kept
//! like the rows of old levels).
//!
//! Deviations from the reference: it also unfreezes the old rows of grown
//! embedding tables and every dispersion column (Multigrate §7.15); here only new rows
//! train. The freezing is a property of the mapped model in memory: a model
//! saved and loaded again trains all its weights.

use super::registry::Arch;
use super::Model;
use crate::backend::Device;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::io::params::NamedTensor;
use crate::module::network::{GrowInit, GrowRows};
use crate::module::Layout;
use crate::schema::Schema;
use crate::train::{rng_for, Frozen, Stream};
use std::collections::HashMap;

/// Old row of each new covariate row (`None` = a new level): the one-hot
/// rows, then the continuous covariates' rows, which are kept as they were.
fn row_map(old: &Schema, new: &Schema) -> Vec<Option<usize>> {
    let mut out = Vec::new();
    let mut off = 0;
    for (co, cn) in old.covariates.iter().zip(&new.covariates) {
        for l in 0..cn.levels.len() {
            out.push((l < co.levels.len()).then_some(off + l));
        }
        off += co.levels.len();
    }
    out.extend((0..old.n_continuous()).map(|k| Some(off + k)));
    out
}

/// Grows `t` (rows indexed by `map`'s old rows) to `map.len()` rows; new
/// rows get `init(k)` values. Returns the tensor and its keep mask.
fn grow(
    t: &NamedTensor,
    map: &[Option<usize>],
    init: &mut dyn FnMut(usize) -> Vec<f32>,
) -> (NamedTensor, Vec<f32>) {
    let cols: usize = t.shape[1..].iter().product();
    let mut values = Vec::with_capacity(map.len() * cols);
    let mut keep = Vec::with_capacity(map.len());
    for m in map {
        match m {
            Some(r) => {
                values.extend_from_slice(&t.values[r * cols..(r + 1) * cols]);
                keep.push(1.0);
            }
            None => {
                values.extend(init(cols));
                keep.push(0.0);
            }
        }
    }
    let mut shape = t.shape.clone();
    shape[0] = map.len();
    (
        NamedTensor {
            name: t.name.clone(),
            shape,
            values,
        },
        keep,
    )
}

impl Model {
    /// Maps a query dataset onto this (reference) model: returns a new model
    /// whose covariates also know the query's new levels and whose `fit`
    /// trains only the parameters of those levels (see the module docs).
    /// Call `fit(query)` on the result, then `embed`/`impute` as usual; this
    /// model is not modified.
    ///
    /// The query must have the model's covariates (new levels allowed) and
    /// may measure any subset of the model's modalities.
    pub fn map_query(&self, query: &Dataset) -> Result<Model> {
        let mut schema = self.schema.clone();
        let mut added = 0;
        for cs in &mut schema.covariates {
            let qc = query
                .covariates()
                .iter()
                .find(|c| c.name == cs.name)
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "the query lacks covariate '{}', which the reference model is conditioned on",
                        cs.name
                    ))
                })?;
            for l in &qc.levels {
                if !cs.levels.contains(l) {
                    cs.levels.push(l.clone());
                    added += 1;
                }
            }
        }
        // The query carries the reference's continuous covariates (their
        // parameters stay frozen, Multigrate §5), and no others.
        let model_cont = self.schema.continuous_names();
        for c in &model_cont {
            if !query.continuous_covariates().iter().any(|q| &q.name == c) {
                return Err(Error::NotFound(format!(
                    "the query lacks continuous covariate '{c}', which the reference model is conditioned on"
                )));
            }
        }
        if let Some(q) = query
            .continuous_covariates()
            .iter()
            .find(|q| !model_cont.contains(&q.name))
        {
            return Err(Error::data(format!(
                "the query has continuous covariate '{}', which the reference model was not trained with \
                 (reference continuous covariates: {})",
                q.name,
                if model_cont.is_empty() {
                    "none".to_string()
                } else {
                    model_cont.join(", ")
                }
            )));
        }
        // The query must match the model's modalities and features.
        crate::align::align(query, &schema, &self.pre)?;
        let mut cfg = self.config.clone();
        cfg.train.weight_decay = 0.0;
        let map = row_map(&self.schema, &schema);
        let mut rng = rng_for(self.config.train.seed, Stream::Init, 1 + added as u64);
        let mut randn = |n: usize| crate::nn::randn(n, &mut rng);
        let mut zeros = |n: usize| vec![0f32; n];
        let mut tensors = self.engine.export();
        let mut trainable: HashMap<String, (Vec<f32>, Vec<f32>)> = HashMap::new();
        let layout = Layout::new(&cfg, &schema);
        let arch = Arch::for_weights(&cfg, &schema, &layout);
        let growth = arch.query_growth();
        for t in tensors.iter_mut() {
            let Some(g) = growth.iter().find(|g| g.name == t.name) else {
                continue;
            };
            let rows = match g.rows {
                GrowRows::AllCovariates => map.clone(),
                GrowRows::Covariate(j) => {
                    let old = self.schema.covariates[j].levels.len();
                    let new = schema.covariates[j].levels.len();
                    (0..new).map(|r| (r < old).then_some(r)).collect()
                }
            };
            let init: &mut dyn FnMut(usize) -> Vec<f32> = match g.init {
                GrowInit::Zeros => &mut zeros,
                GrowInit::Normal => &mut randn,
            };
            let (grown, keep) = grow(t, &rows, init);
            trainable.insert(t.name.clone(), (keep, grown.values.clone()));
            *t = grown;
        }
        let engine = super::with_weights(Device::cpu(), &arch, tensors)?;
        let mut out = Model {
            config: cfg,
            schema,
            pre: self.pre.clone(),
            layout,
            arch,
            engine,
            frozen: Some(Frozen { trainable }),
            epochs_trained: self.epochs_trained,
            threads: 0,
            pool: None,
        };
        out.set_device(&self.device().name())?;
        out.set_threads(self.threads)?;
        Ok(out)
    }
}
