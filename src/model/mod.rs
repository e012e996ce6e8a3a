//! The user-facing model: create, train, embed, impute, save, load.
//!
//! A [`Model`] is its resolved [`ModelConfig`], the data [`Schema`] it was built
//! from (feature names, blocks, covariate levels), the preprocessing constants
//! derived from the training data, and the network weights on a device. The C
//! ABI and the R and Julia wrappers call only this API.

mod build;
pub(crate) mod engine;
mod infer;
mod query;
mod registry;
mod threads;
mod validate;

mod request;

pub use infer::{Embedding, Imputation};
pub use request::{EmbedRequest, ImputeRequest, ImputeScale};

use crate::align::align;
use crate::backend::Device;
use crate::config::{ModelConfig, ModelKind, Normalization, ResolvedConfig};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::io::checkpoint::{self, CheckpointData};
use crate::module::Layout;
use crate::preprocess::Preprocessing;
use crate::schema::Schema;
use crate::train::{self, rng_for, Progress, Stream, TrainContext, TrainReport};
use engine::{on_device, InferJob, Init, Runner};
use registry::Arch;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

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
    config: ResolvedConfig,
    schema: Schema,
    pre: Preprocessing,
    /// Where each modality/block sits in the feature axis (imputation plans).
    layout: Layout,
    arch: Arch,
    engine: Box<dyn Runner>,
    /// Set by [`Model::map_query`]: what a `fit` of the mapped model may train.
    frozen: Option<train::Frozen>,
    epochs_trained: usize,
    threads: usize,
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl Model {
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
        let t = &self.config.train;
        let (train_cells, valid_cells) =
            train::split_cells(aligned.n_cells, t.validation_fraction, t.seed)?;
        let ctx = TrainContext {
            aligned: &aligned,
            cfg: &self.config,
            train_cells,
            valid_cells,
            start_epoch: self.epochs_trained,
            frozen: self.frozen.as_ref(),
        };
        let result = self.engine.fit(&ctx, self.pool.as_deref(), progress);
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
        let default_sample = self.config.model.embeds_samples();
        let plan = infer::EmbedPlan {
            only,
            sample: req
                .sample
                .unwrap_or(default_sample)
                .then(|| req.seed.unwrap_or(self.config.train.seed)),
        };
        let batch = self.config.inference.batch_size;
        let bn = self.inference_bn();
        let values = crate::backend::with_threads(self.pool.as_deref(), || {
            self.engine.embed(self.infer_job(&aligned, batch, bn), plan)
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
    /// `data`: the decoder mean averaged over posterior draws (docs/models.md, scVAEIT §5, Multigrate §5).
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
        let libs: Vec<f32> = (0..aligned.n_cells)
            .map(|r| {
                aligned
                    .library(mi, r)
                    .filter(|&l| l > 0.0)
                    .unwrap_or(mp.median_library)
            })
            .collect();
        let lik = self.config.modalities[mi].likelihood;
        let single_block = self.layout.modality_blocks[mi].len() == 1;
        let whole = |what: &str| -> Result<()> {
            if single_block {
                Ok(())
            } else {
                Err(Error::config(format!(
                    "{what} for the modality '{}' needs a single feature block",
                    ms.name
                )))
            }
        };
        let counts_scale = req.scale == ImputeScale::Counts;
        // Maps from the count scale (an NB mixture's means, sampled counts)
        // to the requested scale: the modality's input transform, or none.
        let from_counts = if counts_scale {
            None
        } else {
            match mp.normalization {
                Normalization::Clr => {
                    whole("the normalized scale of counts")?;
                    Some(infer::CountsMap::CountsToClr)
                }
                Normalization::LogNormalize { target_sum } => {
                    whole("the normalized scale of counts")?;
                    Some(infer::CountsMap::CountsToLogNormalized { target: target_sum })
                }
                _ if self.config.model.nb_means_are_proportions()
                    && matches!(
                        lik,
                        crate::data::Likelihood::Nb | crate::data::Likelihood::Zinb
                    ) =>
                {
                    Some(infer::CountsMap::CountsToProportions { libs: libs.clone() })
                }
                _ => None,
            }
        };
        // Maps from the decoder's own scale to the requested one.
        let counts = if self.config.modalities[mi].nb_mixture.is_some() {
            from_counts.clone()
        } else if counts_scale {
            match mp.normalization {
                Normalization::LogNormalize { target_sum } => {
                    Some(infer::CountsMap::LogNormalized {
                        target: target_sum,
                        libs: libs.clone(),
                    })
                }
                Normalization::Clr => {
                    whole("counts scale")?;
                    Some(infer::CountsMap::Clr { libs: libs.clone() })
                }
                _ if self.config.model.nb_means_are_proportions()
                    && matches!(
                        lik,
                        crate::data::Likelihood::Nb | crate::data::Likelihood::Zinb
                    ) =>
                {
                    Some(infer::CountsMap::Proportions { libs: libs.clone() })
                }
                _ => None,
            }
        } else {
            None
        };
        if req.predictive && n_draws == 0 {
            return Err(Error::config(
                "predictive draws need n_draws >= 1 (posterior draws of the latent)",
            ));
        }
        if let Some(q) = req.quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
            return Err(Error::config(format!("quantile {q} is not in [0, 1]")));
        }
        if !req.quantiles.is_empty() && n_draws == 0 {
            return Err(Error::config("quantiles need n_draws >= 1"));
        }
        let predictive = req.predictive.then(|| infer::PredictivePlan {
            // sampled counts of a modality given on another scale
            other: if self.config.modalities[mi].nb_mixture.is_some() {
                None
            } else {
                counts.clone()
            },
            from_counts,
            libs,
        });
        let plan = infer::ImputePlan {
            blocks,
            n_out: local.len(),
            n_draws,
            keep_draws: (req.draws || req.variance || !req.quantiles.is_empty()) && n_draws > 0,
            hide: req.hide_target.then(|| range.clone()),
            dec_override,
            seed: req.seed.unwrap_or(self.config.train.seed),
            counts,
            predictive,
        };
        let batch = self.config.inference.batch_size;
        let bn = self.inference_bn();
        let (mean, draws) = crate::backend::with_threads(self.pool.as_deref(), || {
            self.engine
                .impute(self.infer_job(&aligned, batch, bn), &plan)
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
        let quantiles = match &draws {
            Some(dr) if !req.quantiles.is_empty() => {
                draw_quantiles(dr, n, n_draws, f, &req.quantiles)
            }
            _ => Vec::new(),
        };
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
            quantiles,
            n_draws,
            alignment: aligned.alignment.clone(),
        })
    }

    /// Serializes the model (weights + metadata) to safetensors bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        checkpoint::to_bytes(&CheckpointData {
            config: self.config.to_config(),
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
        let config = validate::resolve_stored(&ck.schema, &ck.config, &ck.pre)?;
        let layout = Layout::new(&config, &ck.schema);
        let arch = Arch::for_weights(&config, &ck.schema, &layout);
        let have: usize = ck.tensors.iter().map(|t| t.values.len()).sum();
        if arch.expected_elements() != Some(have) {
            return Err(Error::checkpoint(format!(
                "the weights ({have} values) do not match the stored architecture"
            )));
        }
        let engine = with_weights(Device::cpu(), &arch, ck.tensors)?;
        Ok(Model {
            config,
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
        self.engine = with_weights(dev, &self.arch, self.engine.export())?;
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

    fn infer_job<'a>(
        &'a self,
        aligned: &'a crate::align::Aligned<'a>,
        batch: usize,
        bn: crate::nn::BnMode,
    ) -> InferJob<'a> {
        InferJob {
            aligned,
            layout: &self.layout,
            batch,
            bn,
        }
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
    /// The resolved configuration, in the JSON form of [`ModelConfig`]
    /// (every setting explicit; what a checkpoint stores).
    pub fn config(&self) -> ModelConfig {
        self.config.to_config()
    }

    /// The resolved configuration.
    pub fn resolved_config(&self) -> &ResolvedConfig {
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
        self.config.kind()
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

/// An engine of `arch` on `device` holding `tensors` (from a checkpoint or
/// another device); the random initial values and constants are all overwritten.
fn with_weights(
    device: Device,
    arch: &Arch,
    tensors: Vec<crate::io::params::NamedTensor>,
) -> Result<Box<dyn Runner>> {
    let mut rng = rng_for(0, Stream::Init, 0);
    let init = Init {
        rng: &mut rng,
        tensors: Some(tensors),
    };
    on_device(device, arch, init)
}

/// Quantiles (linear interpolation between order statistics) over the draws
/// of `dr` (`[cell, draw, feature]`): `[quantile, cell, feature]`.
fn draw_quantiles(dr: &[f32], n: usize, n_draws: usize, f: usize, qs: &[f64]) -> Vec<f32> {
    let mut out = vec![0f32; qs.len() * n * f];
    let mut buf = vec![0f32; n_draws];
    for r in 0..n {
        for j in 0..f {
            for (s, b) in buf.iter_mut().enumerate() {
                *b = dr[(r * n_draws + s) * f + j];
            }
            buf.sort_by(|a, b| a.total_cmp(b));
            for (qi, &q) in qs.iter().enumerate() {
                let pos = q * (n_draws - 1) as f64;
                let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                let v = buf[lo] as f64 + (buf[hi] - buf[lo]) as f64 * (pos - lo as f64);
                out[(qi * n + r) * f + j] = v as f32;
            }
        }
    }
    out
}
