//! The user-facing model: create, train, embed, impute, save, load.
//!
//! A [`Model`] is its resolved [`ModelConfig`], the data [`Schema`] it was built
//! from (feature names, blocks, covariate levels), the preprocessing constants
//! derived from the training data, and the network weights on a device. The C
//! ABI and the R and Julia wrappers call only this API.

pub(crate) mod engine;
mod infer;
mod query;

pub use infer::{Embedding, Imputation, ImputeRequest, ImputeScale};

/// What [`Model::embed_with`] returns.
#[derive(Debug, Clone, Default)]
pub struct EmbedRequest {
    /// Latent of this modality alone (`None`: the joint latent from every
    /// measured modality). scVAEIT encodes the cell with the other modalities
    /// hidden; Multigrate returns that modality's own posterior (its expert),
    /// NaN for cells that lack the modality.
    pub modality: Option<String>,
    /// One posterior sample per cell instead of the mean (`None`: the
    /// config's choice, `multigrate.latent`, the mean for scVAEIT).
    pub sample: Option<bool>,
    /// Seed of the sample (`None`: the training seed).
    pub seed: Option<u64>,
}

use crate::backend::Device;
use crate::batcher::align;
use crate::config::{ContCovType, HeadBias, LatentMode, ModelConfig, ModelKind, Normalization};
use crate::data::{Dataset, Likelihood};
use crate::error::{Error, Result};
use crate::io::checkpoint::{self, CheckpointData};
use crate::module::{Layout, MgLayout};
use crate::preprocess::{output_constants, FeatureStats, ModalityPreprocessing, Preprocessing};
use crate::schema::{Schema, Standardization};
use crate::train::{self, rng_for, EpochLog, Progress, Stream, TrainContext, TrainReport};
use engine::{on_engine, Arch, Engine, Net};
use rand::seq::SliceRandom;
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};

/// A trained or untrained model (scVAEIT or Multigrate, by `config.model`).
///
/// ```
/// use scmosaic::{Dataset, Likelihood, Matrix, Modality, Model, ModelConfig, ImputeRequest};
/// # fn main() -> scmosaic::Result<()> {
/// // 4 cells x 2 genes and 4 cells x 1 protein (raw counts, dense row-major)
/// let rna = Modality::new("rna", Likelihood::Nb, vec!["g1".into(), "g2".into()],
///     Matrix::dense(4, 2, vec![1.0, 0.0, 3.0, 2.0, 0.0, 5.0, 4.0, 1.0])?)?;
/// let adt = Modality::new("adt", Likelihood::Nb, vec!["CD4".into()],
///     Matrix::dense(4, 1, vec![10.0, 0.0, 4.0, 0.0])?)?
///     .with_measured(vec![true, true, true, false])?;   // cell 4 has no protein
/// let data = Dataset::new(vec![rna, adt])?;
/// let mut cfg = ModelConfig::from_json(r#"{"latent_dim": 4, "hidden": [8]}"#)?;
/// cfg.train.epochs = 3;
/// let mut model = Model::new(&cfg, &data)?;
/// model.fit(&data)?;
/// let z = model.embed(&data)?;                          // 4 x 4 latent means
/// let adt_hat = model.impute(&data, &ImputeRequest::new("adt"))?;
/// assert_eq!(adt_hat.mean.len(), 4);
/// let bytes = model.to_bytes()?;                        // or model.save(path)
/// let again = Model::from_bytes(&bytes)?;
/// assert_eq!(again.embed(&data)?.values, z.values);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Model {
    config: ModelConfig,
    schema: Schema,
    pre: Preprocessing,
    /// Where each modality/block sits in the feature axis (imputation plans).
    layout: Layout,
    arch: Arch,
    engine: Engine,
    /// Set by [`Model::map_query`]: what a `fit` of the mapped model may train.
    frozen: Option<train::Frozen>,
    epochs_trained: usize,
    threads: usize,
    pool: Option<Arc<rayon::ThreadPool>>,
}

fn validate_schema(schema: &Schema, cfg: &ModelConfig, pre: &Preprocessing) -> Result<()> {
    let bad = |m: String| Err(Error::checkpoint(m));
    if schema.modalities.is_empty() {
        return bad("schema has no modalities".into());
    }
    if cfg.modalities.len() != schema.modalities.len()
        || pre.modalities.len() != schema.modalities.len()
    {
        return bad("config, schema and preprocessing disagree on the modalities".into());
    }
    let mut names = HashSet::new();
    for (ms, mc) in schema.modalities.iter().zip(&cfg.modalities) {
        if ms.name != mc.name || !names.insert(ms.name.as_str()) {
            return bad(format!("modality '{}' inconsistent or repeated", ms.name));
        }
        let scvaeit = cfg.model == ModelKind::Scvaeit;
        if mc.likelihood.is_none()
            || mc.weight.is_none()
            || (scvaeit && (mc.block_hidden.is_none() || mc.embed_dim.is_none()))
            || mc.normalization.is_none()
        {
            return bad(format!("modality '{}': config not resolved", ms.name));
        }
        let feats: HashSet<&str> = ms.features.iter().map(|s| s.as_str()).collect();
        if ms.features.is_empty() || feats.len() != ms.features.len() {
            return bad(format!(
                "modality '{}': empty or repeated feature names",
                ms.name
            ));
        }
        let total: usize = ms.blocks.iter().map(|b| b.len).sum();
        if total != ms.features.len() || ms.blocks.iter().any(|b| b.len == 0) {
            return bad(format!(
                "modality '{}': blocks do not cover the features",
                ms.name
            ));
        }
    }
    for (mp, ms) in pre.modalities.iter().zip(&schema.modalities) {
        if !mp.feature_fraction.is_empty() && mp.feature_fraction.len() != ms.features.len() {
            return bad(format!(
                "modality '{}': feature fractions have the wrong length",
                ms.name
            ));
        }
    }
    match cfg.model {
        ModelKind::Scvaeit => {
            if cfg.beta_reverse.is_none()
                || cfg.p_modal.as_ref().map(|p| p.len()) != Some(schema.modalities.len())
            {
                return bad("config not resolved (beta_reverse / p_modal)".into());
            }
        }
        ModelKind::Multigrate => {
            let Some(mg) = &cfg.multigrate else {
                return bad("config not resolved (multigrate section)".into());
            };
            if mg.integ_weight.is_none() || mg.kl_warmup_epochs.is_none() {
                return bad("config not resolved (multigrate weights)".into());
            }
            if let Some(g) = &mg.integrate_on {
                if !schema.covariates.iter().any(|c| &c.name == g) {
                    return bad(format!(
                        "integrate_on '{g}' is not a covariate of the model"
                    ));
                }
            }
            if cfg
                .modalities
                .iter()
                .any(|m| m.likelihood == Some(crate::data::Likelihood::Poisson))
            {
                return bad("Multigrate has no poisson loss".into());
            }
        }
    }
    let covs: Vec<&String> = schema.covariates.iter().map(|c| &c.name).collect();
    if cfg
        .covariates
        .as_ref()
        .map(|c| c.iter().collect::<Vec<_>>())
        != Some(covs)
    {
        return bad("config covariates do not match the schema".into());
    }
    for c in &schema.covariates {
        if c.levels.is_empty() || c.levels.iter().collect::<HashSet<_>>().len() != c.levels.len() {
            return bad(format!("covariate '{}': empty or repeated levels", c.name));
        }
    }
    let mut all_names: HashSet<&str> = schema.covariates.iter().map(|c| c.name.as_str()).collect();
    for c in &schema.continuous {
        if c.name.is_empty() || !all_names.insert(c.name.as_str()) {
            return bad(format!(
                "continuous covariate '{}': empty or repeated name",
                c.name
            ));
        }
        let ok = match (cfg.model, c.standardize) {
            (ModelKind::Scvaeit, Some(st)) => {
                st.mean.is_finite() && st.sd.is_finite() && st.sd > 0.0 && !c.non_negative
            }
            (ModelKind::Multigrate, None) => {
                let logsigm = cfg
                    .multigrate
                    .as_ref()
                    .is_some_and(|m| m.cont_cov_type == ContCovType::Logsigm);
                c.non_negative == logsigm
            }
            _ => false,
        };
        if !ok {
            return bad(format!(
                "continuous covariate '{}': scaling inconsistent with the model",
                c.name
            ));
        }
    }
    Ok(())
}

impl Model {
    /// Builds an untrained model for `data` on the default CPU device.
    ///
    /// Resolves `config` against the data (modalities, features, covariates),
    /// computes the preprocessing constants (feature shares, median library
    /// sizes, output bounds) from `data`, and initialises the weights from
    /// `config.train.seed`.
    pub fn new(config: &ModelConfig, data: &Dataset) -> Result<Model> {
        let full = Schema::from_dataset(data);
        let cfg = config.resolve(&full)?;
        let mut schema = full;
        let wanted = cfg.covariates.clone().expect("resolved");
        schema.covariates = wanted
            .iter()
            .map(|n| {
                schema
                    .covariates
                    .iter()
                    .find(|c| &c.name == n)
                    .cloned()
                    .expect("resolved")
            })
            .collect();
        for (ms, mc) in schema.modalities.iter_mut().zip(&cfg.modalities) {
            ms.likelihood = mc.likelihood.expect("resolved");
        }
        // Continuous covariates: scVAEIT z-scores them with the training
        // cells' mean and sd (spec §1.1); Multigrate takes them as they are
        // (log1p first with `logsigm`, which needs values >= 0).
        for (cs, dc) in schema
            .continuous
            .iter_mut()
            .zip(data.continuous_covariates())
        {
            match &cfg.multigrate {
                None => cs.standardize = Some(Standardization::fit(&dc.values)),
                Some(mg) => cs.non_negative = mg.cont_cov_type == ContCovType::Logsigm,
            }
        }
        let mut pre = Preprocessing {
            modalities: cfg
                .modalities
                .iter()
                .map(|m| ModalityPreprocessing {
                    normalization: m.normalization.expect("resolved"),
                    median_library: 0.0,
                    feature_fraction: Vec::new(),
                })
                .collect(),
        };
        // Mean share of each feature in the cells' libraries, per modality.
        let mut shares = Vec::with_capacity(schema.modalities.len());
        {
            let aligned = align(data, &schema, &pre)?;
            for m in 0..schema.modalities.len() {
                let (f, med) = aligned.library_stats(m);
                pre.modalities[m].median_library = med;
                if matches!(
                    pre.modalities[m].normalization,
                    Normalization::LogNormalize { .. }
                ) {
                    pre.modalities[m].feature_fraction = f.clone();
                }
                shares.push(f);
            }
        }
        let layout = Layout::new(&cfg, &schema);
        let likelihoods: Vec<Likelihood> = cfg
            .modalities
            .iter()
            .map(|m| m.likelihood.expect("resolved"))
            .collect();
        // One pass over the transformed training values, when something needs
        // them: scVAEIT's output constants, and the data head biases of
        // modalities other than NB/ZINB (those use the library shares).
        let head_bias = cfg.head_bias == HeadBias::Data;
        let needs_stats = cfg.model == ModelKind::Scvaeit
            || (head_bias
                && likelihoods
                    .iter()
                    .any(|l| !matches!(l, Likelihood::Nb | Likelihood::Zinb)));
        let stats = if needs_stats {
            Some(observed_stats(data, &schema, &pre)?)
        } else {
            None
        };
        let arch = match (cfg.model, &stats) {
            (ModelKind::Scvaeit, Some(stats)) => {
                let consts = output_constants(&schema, &likelihoods, stats, cfg.max_disp);
                Arch::ScVaeIt(layout.clone(), consts)
            }
            _ => Arch::MultiVae(MgLayout::new(&cfg, &schema)),
        };
        let mut rng = rng_for(cfg.train.seed, Stream::Init, 0);
        let mut engine = Engine::new(Device::cpu(), &arch, &mut rng, None)?;
        if head_bias {
            let biases = match (cfg.model, &stats) {
                (ModelKind::Scvaeit, Some(stats)) => scvaeit_head_bias(stats, &layout),
                _ => multigrate_head_bias(stats.as_ref(), &shares, &schema, &likelihoods),
            };
            engine.set_head_bias(&biases);
        }
        Ok(Model {
            config: cfg,
            schema,
            pre,
            layout,
            arch,
            engine,
            frozen: None,
            epochs_trained: 0,
            threads: 0,
            pool: None,
        })
    }

    /// Trains for `config.train.epochs` epochs on all cells of `data`.
    pub fn fit(&mut self, data: &Dataset) -> Result<TrainReport> {
        self.fit_with_progress(data, &mut |_| ControlFlow::Continue(()))
    }

    /// Like [`Model::fit`], calling `progress` after every epoch on the
    /// calling thread; returning `ControlFlow::Break(())` stops training
    /// cleanly (the model keeps the weights of the last completed epoch and
    /// the report says `StopReason::Cancelled`).
    pub fn fit_with_progress(
        &mut self,
        data: &Dataset,
        progress: Progress<'_>,
    ) -> Result<TrainReport> {
        let aligned = align(data, &self.schema, &self.pre)?;
        let n = aligned.n_cells;
        let mut cells: Vec<usize> = (0..n).collect();
        let frac = self.config.train.validation_fraction;
        let mut valid = Vec::new();
        if frac > 0.0 {
            cells.shuffle(&mut rng_for(self.config.train.seed, Stream::Split, 0));
            let nv = ((n as f64) * frac).round() as usize;
            if nv < 2 || n - nv < 2 {
                return Err(Error::data(format!(
                    "validation_fraction {frac} of {n} cells leaves too few cells for training or validation"
                )));
            }
            valid = cells.split_off(n - nv);
            valid.sort_unstable();
            cells.sort_unstable();
        }
        let ctx = TrainContext {
            aligned: &aligned,
            cfg: &self.config,
            train_cells: cells,
            valid_cells: valid,
            start_epoch: self.epochs_trained,
            frozen: self.frozen.as_ref(),
        };
        let pool = self.pool.clone();
        let result = on_engine!(&mut self.engine, net, dev => {
            match net {
                Net::ScVaeIt(m) => {
                    let (new, res) = run_training(pool.as_deref(), m.clone(), progress, |m, cb| {
                        train::fit(m, &ctx, &dev, cb)
                    });
                    *m = new;
                    res
                }
                Net::MultiVae(m) => {
                    let (new, res) = run_training(pool.as_deref(), m.clone(), progress, |m, cb| {
                        train::fit_multigrate(m, &ctx, &dev, cb)
                    });
                    *m = new;
                    res
                }
            }
        });
        if let Ok(r) = &result {
            self.epochs_trained += r.epochs_run;
        }
        result
    }

    /// Latent means (`[n_cells, latent_dim]`) of the cells of `data`, computed
    /// from whatever each cell has measured (Multigrate with
    /// `multigrate.latent = "sample"`: one seeded posterior sample).
    pub fn embed(&self, data: &Dataset) -> Result<Embedding> {
        self.embed_with(data, &EmbedRequest::default())
    }

    /// Latent values with options: one modality's latent, or posterior samples.
    pub fn embed_with(&self, data: &Dataset, req: &EmbedRequest) -> Result<Embedding> {
        let aligned = align(data, &self.schema, &self.pre)?;
        let only = match &req.modality {
            None => None,
            Some(name) => Some(self.modality_index(name)?),
        };
        let default_sample = self
            .config
            .multigrate
            .as_ref()
            .is_some_and(|m| m.latent == LatentMode::Sample);
        let plan = infer::EmbedPlan {
            only,
            sample: req
                .sample
                .unwrap_or(default_sample)
                .then(|| req.seed.unwrap_or(self.config.train.seed)),
        };
        let batch = self.config.inference.batch_size;
        let bn = self.inference_bn();
        let values = on_engine!(&self.engine, m, dev => {
            let inner = m.valid();
            crate::backend::with_threads(self.pool.as_deref(), || {
                infer::embed(&inner, &self.layout, &aligned, batch, bn, plan, &dev)
            })
        });
        Ok(Embedding {
            n_cells: aligned.n_cells,
            dim: self.layout.latent,
            values,
            alignment: aligned.alignment.clone(),
        })
    }

    fn modality_index(&self, name: &str) -> Result<usize> {
        self.schema.modality_index(name).ok_or_else(|| {
            Error::NotFound(format!(
                "modality '{name}' (model modalities: {})",
                self.schema.modality_names().join(", ")
            ))
        })
    }

    /// Imputes (or denoises) features of one modality for every cell of
    /// `data`: the decoder mean averaged over posterior draws (spec §5).
    pub fn impute(&self, data: &Dataset, req: &ImputeRequest) -> Result<Imputation> {
        let aligned = align(data, &self.schema, &self.pre)?;
        let mi = self.modality_index(&req.modality)?;
        let ms = &self.schema.modalities[mi];
        let local: Vec<usize> = match &req.features {
            None => (0..ms.features.len()).collect(),
            Some(names) => {
                let index = ms.feature_index();
                names
                    .iter()
                    .map(|f| {
                        index.get(f.as_str()).copied().ok_or_else(|| {
                            Error::NotFound(format!("feature '{f}' in modality '{}'", ms.name))
                        })
                    })
                    .collect::<Result<_>>()?
            }
        };
        if local.is_empty() {
            return Err(Error::data("no features requested"));
        }
        let range = self.layout.modality_ranges[mi].clone();
        let mut blocks: Vec<(usize, Vec<(usize, usize)>)> = Vec::new();
        for (o, &j) in local.iter().enumerate() {
            let g = range.start + j;
            let k = self.layout.modality_blocks[mi]
                .clone()
                .find(|&k| self.layout.blocks[k].range().contains(&g))
                .expect("feature in a block");
            let c = g - self.layout.blocks[k].start;
            match blocks.iter_mut().find(|(b, _)| *b == k) {
                Some((_, v)) => v.push((c, o)),
                None => blocks.push((k, vec![(c, o)])),
            }
        }
        let mut dec_override = vec![None; self.schema.covariates.len()];
        for (name, level) in &req.covariates {
            let ci = self
                .schema
                .covariates
                .iter()
                .position(|c| &c.name == name)
                .ok_or_else(|| {
                    if self.schema.continuous.iter().any(|c| &c.name == name) {
                        Error::config(format!(
                            "covariate '{name}' is continuous; decoding under a chosen level \
                             works for categorical covariates only"
                        ))
                    } else {
                        Error::NotFound(format!("covariate '{name}' in the model"))
                    }
                })?;
            let li = self.schema.covariates[ci]
                .levels
                .iter()
                .position(|l| l == level)
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "level '{level}' of covariate '{name}' (known: {})",
                        self.schema.covariates[ci].levels.join(", ")
                    ))
                })?;
            dec_override[ci] = Some(li as u32);
        }
        let n_draws = req.n_draws.unwrap_or(self.config.inference.n_draws);
        if n_draws > 10_000 {
            return Err(Error::config(format!(
                "n_draws {n_draws} is too large (max 10000)"
            )));
        }
        let mp = &self.pre.modalities[mi];
        let counts = if req.scale == ImputeScale::Counts {
            let libs: Vec<f32> = (0..aligned.n_cells)
                .map(|r| {
                    aligned
                        .library(mi, r)
                        .filter(|&l| l > 0.0)
                        .unwrap_or(mp.median_library)
                })
                .collect();
            let lik = self.config.modalities[mi].likelihood.expect("resolved");
            match mp.normalization {
                Normalization::LogNormalize { target_sum } => {
                    Some(infer::CountsMap::LogNormalized {
                        target: target_sum,
                        libs,
                    })
                }
                Normalization::Clr => {
                    if self.layout.modality_blocks[mi].len() != 1 {
                        return Err(Error::config(format!(
                            "counts scale for the clr modality '{}' needs a single feature block",
                            ms.name
                        )));
                    }
                    Some(infer::CountsMap::Clr { libs })
                }
                _ if self.config.model == ModelKind::Multigrate
                    && matches!(
                        lik,
                        crate::data::Likelihood::Nb | crate::data::Likelihood::Zinb
                    ) =>
                {
                    Some(infer::CountsMap::Proportions { libs })
                }
                _ => None,
            }
        } else {
            None
        };
        let plan = infer::ImputePlan {
            blocks,
            n_out: local.len(),
            n_draws,
            keep_draws: (req.draws || req.variance) && n_draws > 0,
            hide: req.hide_target.then(|| range.clone()),
            dec_override,
            seed: req.seed.unwrap_or(self.config.train.seed),
            counts,
        };
        let batch = self.config.inference.batch_size;
        let bn = self.inference_bn();
        let (mean, draws) = on_engine!(&self.engine, m, dev => {
            let inner = m.valid();
            crate::backend::with_threads(self.pool.as_deref(), || {
                infer::impute(&inner, &self.layout, &aligned, &plan, batch, bn, &dev)
            })
        });
        let n = aligned.n_cells;
        let f = local.len();
        let variance = (req.variance && n_draws > 1).then(|| {
            let dr = draws.as_ref().expect("draws kept");
            let mut var = vec![0f32; n * f];
            for r in 0..n {
                for j in 0..f {
                    let vals = (0..n_draws).map(|s| dr[(r * n_draws + s) * f + j] as f64);
                    let mu: f64 = vals.clone().sum::<f64>() / n_draws as f64;
                    let v: f64 =
                        vals.map(|x| (x - mu) * (x - mu)).sum::<f64>() / (n_draws - 1) as f64;
                    var[r * f + j] = v as f32;
                }
            }
            var
        });
        // Reorder draws from [cell, draw, feature] to [draw, cell, feature].
        let draws = if req.draws {
            draws.map(|dr| {
                let mut out = vec![0f32; dr.len()];
                for r in 0..n {
                    for s in 0..n_draws {
                        out[(s * n + r) * f..(s * n + r + 1) * f]
                            .copy_from_slice(&dr[(r * n_draws + s) * f..(r * n_draws + s + 1) * f]);
                    }
                }
                out
            })
        } else {
            None
        };
        Ok(Imputation {
            n_cells: n,
            features: local.iter().map(|&j| ms.features[j].clone()).collect(),
            mean,
            variance,
            draws,
            n_draws,
            alignment: aligned.alignment.clone(),
        })
    }

    /// Serializes the model (weights + metadata) to safetensors bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        checkpoint::to_bytes(&CheckpointData {
            config: self.config.clone(),
            schema: self.schema.clone(),
            pre: self.pre.clone(),
            epochs_trained: self.epochs_trained,
            tensors: self.engine.export(),
        })
    }

    /// Saves to a `.safetensors` file atomically (an interrupted save leaves
    /// any previous file intact).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let bytes = self.to_bytes()?;
        checkpoint::write_atomic(path.as_ref(), &bytes)
    }

    /// Loads a model saved by [`Model::save`] (on the default CPU device).
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Model::from_bytes(&bytes).map_err(|e| match e {
            Error::Checkpoint(m) => Error::Checkpoint(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Loads a model from bytes produced by [`Model::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let ck = checkpoint::from_bytes(bytes)?;
        validate_schema(&ck.schema, &ck.config, &ck.pre)?;
        let layout = Layout::new(&ck.config, &ck.schema);
        let arch = Arch::for_weights(&ck.config, &ck.schema, &layout);
        let have: usize = ck.tensors.iter().map(|t| t.values.len()).sum();
        if arch.expected_elements() != Some(have) {
            return Err(Error::checkpoint(format!(
                "the weights ({have} values) do not match the stored architecture"
            )));
        }
        let engine = Engine::with_weights(Device::cpu(), &arch, ck.tensors)?;
        Ok(Model {
            config: ck.config,
            schema: ck.schema,
            pre: ck.pre,
            layout,
            arch,
            engine,
            frozen: None,
            epochs_trained: ck.epochs_trained,
            threads: 0,
            pool: None,
        })
    }

    /// Moves the model to a device (`"cpu"`, `"cuda:0"`, ...; see [`Device`]).
    pub fn set_device(&mut self, device: &str) -> Result<()> {
        let dev = Device::parse(device)?;
        if dev == self.engine.device() {
            return Ok(());
        }
        self.engine = Engine::with_weights(dev, &self.arch, self.engine.export())?;
        Ok(())
    }

    /// Sets the number of epochs each later [`Model::fit`] runs
    /// (`train.epochs`), e.g. to fine-tune a model from [`Model::map_query`]
    /// for fewer epochs than its reference was trained for. The learning-rate
    /// schedule spans the epochs of one `fit` call; Multigrate's KL warm-up
    /// keeps the length it was given when the model was created.
    pub fn set_epochs(&mut self, epochs: usize) -> Result<()> {
        if epochs == 0 {
            return Err(Error::InvalidConfig("epochs must be at least 1".into()));
        }
        self.config.train.epochs = epochs;
        Ok(())
    }

    /// Limits the worker threads of the tensor kernels (0 = all cores).
    pub fn set_threads(&mut self, threads: usize) -> Result<()> {
        self.pool = if threads == 0 {
            None
        } else {
            Some(Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .map_err(|e| Error::State(format!("could not start {threads} threads: {e}")))?,
            ))
        };
        self.threads = threads;
        Ok(())
    }

    fn inference_bn(&self) -> crate::nn::BnMode {
        match self.config.inference.batch_norm {
            crate::config::InferenceNorm::Running => crate::nn::BnMode::Eval,
            // Batch statistics; the recorded running-average updates are discarded.
            crate::config::InferenceNorm::Batch => crate::nn::BnMode::Train,
        }
    }

    /// Mutable access to the inference settings (batch size, draws, batch-norm mode),
    /// which do not change the trained weights.
    pub fn inference_config_mut(&mut self) -> &mut crate::config::InferenceConfig {
        &mut self.config.inference
    }

    /// Worker threads (0 = all cores).
    pub fn threads(&self) -> usize {
        self.threads
    }
    /// The device the model runs on.
    pub fn device(&self) -> Device {
        self.engine.device()
    }
    /// The resolved configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }
    /// Modalities, features and covariates of the model.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
    /// Preprocessing constants.
    pub fn preprocessing(&self) -> &Preprocessing {
        &self.pre
    }
    /// Latent dimension.
    pub fn latent_dim(&self) -> usize {
        self.arch.latent()
    }
    /// The model family.
    pub fn kind(&self) -> ModelKind {
        self.config.model
    }
    /// Number of trainable parameters.
    pub fn n_params(&self) -> usize {
        self.engine.n_params()
    }
    /// Epochs trained so far (over all `fit` calls).
    pub fn epochs_trained(&self) -> usize {
        self.epochs_trained
    }
    /// Feature names of a modality.
    pub fn features(&self, modality: &str) -> Result<&[String]> {
        self.schema
            .modality(modality)
            .map(|m| m.features.as_slice())
            .ok_or_else(|| Error::NotFound(format!("modality '{modality}'")))
    }
}

type Trained<M> = (M, Result<TrainReport>);

/// Runs the training loop `fit` on the thread pool while the progress
/// callback runs on the calling thread (R and Julia callbacks must stay on their thread).
fn run_training<M: Send>(
    pool: Option<&rayon::ThreadPool>,
    module: M,
    progress: Progress<'_>,
    fit: impl FnOnce(M, Progress<'_>) -> Trained<M> + Send,
) -> Trained<M> {
    let out: Mutex<Option<Trained<M>>> = Mutex::new(None);
    match pool {
        Some(p) => p.in_place_scope(|s| serve(s, module, &out, progress, fit)),
        None => rayon::in_place_scope(|s| serve(s, module, &out, progress, fit)),
    }
    out.into_inner()
        .expect("not poisoned")
        .expect("training job finished")
}

fn serve<'s, M: Send + 's>(
    s: &rayon::Scope<'s>,
    module: M,
    out: &'s Mutex<Option<Trained<M>>>,
    progress: Progress<'_>,
    fit: impl FnOnce(M, Progress<'_>) -> Trained<M> + Send + 's,
) {
    let (tx_log, rx_log) = mpsc::channel::<EpochLog>();
    let (tx_ctl, rx_ctl) = mpsc::channel::<bool>();
    s.spawn(move |_| {
        let mut cb = |log: &EpochLog| {
            if tx_log.send(log.clone()).is_err() {
                return ControlFlow::Break(());
            }
            match rx_ctl.recv() {
                Ok(true) => ControlFlow::Continue(()),
                _ => ControlFlow::Break(()),
            }
        };
        let r = fit(module, &mut cb);
        *out.lock().expect("not poisoned") = Some(r);
    });
    for log in rx_log.iter() {
        let go = progress(&log).is_continue();
        let _ = tx_ctl.send(go);
    }
}

/// Statistics of the transformed training values, per feature, over the
/// entries that are observed (dense buffers of 128 cells at a time, so a
/// 25k-peak modality costs ~30 MB here).
fn observed_stats(data: &Dataset, schema: &Schema, pre: &Preprocessing) -> Result<FeatureStats> {
    let aligned = align(data, schema, pre)?;
    let d = aligned.n_features;
    let mut stats = FeatureStats::new(d);
    let all: Vec<usize> = (0..data.n_cells()).collect();
    let (mut x, mut a) = (vec![0f32; 128 * d], vec![0f32; 128 * d]);
    for cells in all.chunks(128) {
        let (x, a) = (&mut x[..cells.len() * d], &mut a[..cells.len() * d]);
        aligned.fill(cells, x, a);
        for (xr, ar) in x.chunks(d).zip(a.chunks(d)) {
            for j in 0..d {
                if ar[j] > 0.0 {
                    stats.add(j, xr[j]);
                }
            }
        }
    }
    Ok(stats)
}

/// scVAEIT's data-derived output biases (`head_bias = "data"`), per block:
/// Bernoulli blocks the logit of each peak's frequency among the cells
/// where it is observed (features never observed: the block's average);
/// `None` (keep zero) for the other blocks, whose outputs are already mapped
/// into data-derived bounds.
fn scvaeit_head_bias(stats: &FeatureStats, layout: &Layout) -> Vec<Option<Vec<f32>>> {
    layout
        .blocks
        .iter()
        .map(|b| {
            (b.likelihood == Likelihood::Bernoulli)
                .then(|| logits(&feature_means(stats, b.range())))
        })
        .collect()
}

/// Mean of each feature of `r` over its observed entries; features never
/// observed get the average of the others.
fn feature_means(stats: &FeatureStats, r: std::ops::Range<usize>) -> Vec<f64> {
    let mean = |j: usize| (stats.count[j] > 0).then(|| stats.sum[j] / stats.count[j] as f64);
    let seen: Vec<f64> = r.clone().filter_map(mean).collect();
    let fallback = seen.iter().sum::<f64>() / seen.len().max(1) as f64;
    r.map(|j| mean(j).unwrap_or(fallback)).collect()
}

/// `ln(p / (1 - p))` with `p` clipped to `[1e-4, 1 - 1e-4]`.
fn logits(p: &[f64]) -> Vec<f32> {
    p.iter()
        .map(|&p| {
            let p = p.clamp(1e-4, 1.0 - 1e-4);
            (p / (1.0 - p)).ln() as f32
        })
        .collect()
}

/// Multigrate's data-derived output-head biases (`head_bias = "data"`), per modality: NB/ZINB the log mean proportion of each feature
/// (so the softmax starts at the average profile), Bernoulli the logit of
/// each feature's frequency, Gaussian its mean; features never observed get
/// the modality's average. `None` for modalities left at the default init.
fn multigrate_head_bias(
    stats: Option<&FeatureStats>,
    shares: &[Vec<f32>],
    schema: &Schema,
    likelihoods: &[Likelihood],
) -> Vec<Option<Vec<f32>>> {
    let mut col = 0;
    let mut out = Vec::with_capacity(schema.modalities.len());
    for (m, ms) in schema.modalities.iter().enumerate() {
        let r = col..col + ms.features.len();
        col = r.end;
        let means = || feature_means(stats.expect("statistics for non-NB heads"), r.clone());
        out.push(match likelihoods[m] {
            Likelihood::Nb | Likelihood::Zinb => (!shares[m].is_empty())
                .then(|| shares[m].iter().map(|&f| f.max(1e-8).ln()).collect()),
            Likelihood::Bernoulli => Some(logits(&means())),
            Likelihood::Gaussian => Some(means().iter().map(|&v| v as f32).collect()),
            _ => None,
        });
    }
    out
}
