//! The seam between the pipeline and the networks.
//!
//! A model family plugs into the one training loop (`crate::train`), the one
//! inference path (`crate::model::infer`) and the checkpoint code by
//! implementing [`Network`] for its burn module. The loop owns everything
//! that is the same for every model: minibatches ([`Batch`]), random streams,
//! the optimizer and learning-rate schedule, the KL warm-up and alignment
//! schedule ([`Schedule`]), batch-norm statistics, validation with early
//! stopping, cancellation and progress. A network owns what is its own: the
//! objective of one step (and the step inputs it needs, such as scVAEIT's
//! masks), the latent posterior and the decoder means.
//!
//! See `docs/architecture.md` for the layers and for what adding a model takes.

use crate::align::Aligned;
use crate::backend::Compute;
use crate::batch::Batch;
use crate::config::{FamilySettings, ResolvedConfig};
use crate::distributions::Noise;
use crate::nn::{Dense, Fwd};
use burn::module::Module;
use burn::tensor::Tensor;
use rand_chacha::ChaCha8Rng;

/// What a network's training needs to know about the data of one `fit`.
pub(crate) struct TrainData<'a> {
    /// The training data matched to the model.
    pub aligned: &'a Aligned<'a>,
    /// Cells used for training (indices into `aligned`).
    pub train_cells: &'a [usize],
}

/// The random streams a training or validation step draws its inputs from
/// (each a ChaCha8 stream of the config's seed; see `train::rng`; dropout
/// masks come from their own stream through `Fwd`).
pub(crate) struct StepRngs {
    /// Model-specific masks (scVAEIT's mask generator).
    pub masks: ChaCha8Rng,
    /// Reparameterisation noise.
    pub noise: ChaCha8Rng,
}

/// The multipliers of one epoch's schedule ([`Schedule::factors`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct EpochFactors {
    /// Multiplier of the KL weight (warm-up).
    pub kl: f64,
    /// Multiplier of the alignment (MMD) weight; 0 in validation.
    pub align: f64,
}

/// The per-epoch schedule of the loss weights, shared by every model.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Schedule {
    /// KL weight `min(epoch / warmup, 1)` (None: constant 1).
    pub kl_warmup: Option<usize>,
    /// Alignment weight `decay^(epoch / every)` (None: constant 1).
    pub align_decay: Option<(f64, f64)>,
}

impl Schedule {
    /// The factors of training epoch `epoch` (0-based, counting earlier `fit` calls).
    pub fn factors(&self, epoch: usize) -> EpochFactors {
        EpochFactors {
            kl: self
                .kl_warmup
                .map_or(1.0, |w| (epoch as f64 / w.max(1) as f64).min(1.0)),
            align: self
                .align_decay
                .map_or(1.0, |(decay, every)| decay.powf(epoch as f64 / every)),
        }
    }

    /// The factors of the validation loss after epoch `epoch`: the epoch's
    /// KL warm-up, no alignment penalty.
    pub fn validation_factors(&self, epoch: usize) -> EpochFactors {
        EpochFactors {
            align: 0.0,
            ..self.factors(epoch)
        }
    }
}

/// How the minibatches of an epoch are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sampling {
    /// Each epoch shuffles the previous epoch's order (scVAEIT) instead of
    /// the training cells' order (Multigrate).
    pub carry_order: bool,
    /// Drop the last incomplete minibatch (otherwise it is kept when it has
    /// at least 2 cells).
    pub drop_last: bool,
    /// Stratify by this categorical covariate: each minibatch holds
    /// half-batch chunks of at most two of its groups.
    pub stratify: Option<usize>,
}

/// Which value of the validation loss early stopping watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Monitor {
    /// The minimised objective.
    Total,
    /// The reconstruction terms summed over modalities.
    Reconstruction,
}

/// How the loop runs a model's training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TrainSpec {
    /// The loss weights' schedule.
    pub schedule: Schedule,
    /// How minibatches are drawn.
    pub sampling: Sampling,
    /// What early stopping watches.
    pub monitor: Monitor,
}

/// The model-specific part of one `fit`'s objective (built once per fit
/// from the config by [`Network::objective`]).
pub(crate) trait Objective: Sync {
    /// How the loop runs this objective.
    fn spec(&self) -> TrainSpec;
}

/// What a training or validation step computes its loss on.
pub(crate) struct Step<'a, B: Compute> {
    /// The minibatch.
    pub batch: &'a Batch<B>,
    /// The fit's data.
    pub data: &'a TrainData<'a>,
    /// Random streams to draw the step's masks and noise from.
    pub rngs: &'a mut StepRngs,
    /// The epoch's loss-weight multipliers.
    pub factors: EpochFactors,
}

/// What imputation decodes.
pub(crate) struct Decode<B: Compute> {
    /// Covariates to decode under, `[n, nb]` (`None` without covariates).
    pub cov: Option<Tensor<B, 2>>,
    /// Output blocks (a block is a slice of one modality's features, see `Layout`).
    pub targets: Vec<usize>,
    /// Posterior draws: `Some((L, eps))` with `eps` `[n L, Z]` standard
    /// normal; `None`: the posterior mean.
    pub draws: Option<(usize, Tensor<B, 2>)>,
}

/// The named parts of a step's loss (each `[1]`, unweighted).
#[derive(Debug, Clone)]
pub(crate) struct LossParts<B: Compute> {
    /// Per modality: negative log-likelihood of the reconstruction.
    pub recon: Vec<Tensor<B, 1>>,
    /// Per modality: negative log-likelihood of the masked-prediction term
    /// (empty for models without one).
    pub masked: Vec<Tensor<B, 1>>,
    /// KL term.
    pub kl: Tensor<B, 1>,
    /// Alignment penalty (0 when off).
    pub align: Tensor<B, 1>,
}

/// A step's loss: the minimised objective and its parts.
#[derive(Debug, Clone)]
pub(crate) struct Loss<B: Compute> {
    /// The minimised objective, `[1]`.
    pub total: Tensor<B, 1>,
    /// Its parts.
    pub parts: LossParts<B>,
}

/// Shape of packed loss parts ([`Loss::pack`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartsShape {
    /// Reconstruction terms.
    pub recon: usize,
    /// Masked-prediction terms.
    pub masked: usize,
}

impl<B: Compute> Loss<B> {
    /// The parts and the total as one detached tensor (so an epoch's values
    /// are summed on the device and read once):
    /// `[recon.., masked.., kl, align, total]`.
    pub fn pack(&self) -> (Tensor<B, 1>, PartsShape) {
        let p = &self.parts;
        let shape = PartsShape {
            recon: p.recon.len(),
            masked: p.masked.len(),
        };
        let mut all = Vec::with_capacity(shape.recon + shape.masked + 3);
        all.extend(p.recon.iter().cloned());
        all.extend(p.masked.iter().cloned());
        all.push(p.kl.clone());
        all.push(p.align.clone());
        all.push(self.total.clone());
        (Tensor::cat(all, 0).detach(), shape)
    }
}

/// A latent posterior per cell.
#[derive(Debug, Clone)]
pub(crate) struct Latent<B: Compute> {
    /// Mean, `[n, Z]`.
    pub mu: Tensor<B, 2>,
    /// Log-variance, `[n, Z]`.
    pub logvar: Tensor<B, 2>,
    /// Rows without a latent value (a modality's own latent for cells that
    /// lack the modality); reported as NaN.
    pub missing: Vec<bool>,
}

/// Which rows of a covariate-indexed tensor query mapping grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrowRows {
    /// One row per level of this categorical covariate.
    Covariate(usize),
    /// One row per level of every categorical covariate, then one per
    /// continuous covariate (the covariate vector's columns).
    AllCovariates,
}

/// How query mapping initialises the rows of new covariate levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrowInit {
    /// Zeros.
    Zeros,
    /// Standard normal draws.
    Normal,
}

/// A tensor that query mapping grows with the new covariate levels (and
/// trains only in those rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Growth {
    /// Parameter path (`cat_embed.0`, `enc_blocks.2.parts.2`, ...).
    pub name: String,
    /// Which rows.
    pub rows: GrowRows,
    /// New rows' initial values.
    pub init: GrowInit,
}

/// A model family's network (see the module docs).
pub(crate) trait Network<B: Compute>:
    Module<B> + Clone + std::fmt::Debug + Send + Sync
{
    /// The family's resolved settings.
    type Settings: FamilySettings;
    /// The model-specific settings of one `fit` (loss weights, mask generator ...).
    type Objective: Objective;

    /// The output layers whose biases data-derived initialisation sets (one
    /// per output block, see `head_bias` in `registry.rs`).
    fn output_biases(&mut self) -> &mut [Dense<B>];

    /// The objective of a `fit` with the family's settings `s` of the resolved `cfg`.
    fn objective(&self, s: &Self::Settings, cfg: &ResolvedConfig) -> Self::Objective;

    /// The loss of one step on minibatch `s.batch` (training and
    /// validation); draws the step's model-specific inputs (masks, noise)
    /// from `s.rngs`.
    fn loss(&self, o: &Self::Objective, s: Step<'_, B>, fwd: &mut Fwd<'_, B>) -> Loss<B>;

    /// The latent posterior of each row from what it has (`only`: from
    /// modality `only` alone), `[n, Z]`.
    fn latent(&self, b: &Batch<B>, only: Option<usize>, f: &mut Fwd<'_, B>) -> Latent<B>;

    /// Decoder means of the output blocks `d.targets`, per target
    /// `[n, L, d_k]` (`L` = 1 without draws).
    fn impute(&self, b: &Batch<B>, d: Decode<B>, f: &mut Fwd<'_, B>) -> Vec<Tensor<B, 3>>;

    /// The observation model of each output block `d.targets` per decoded
    /// row (rows cell-major `[n L]`), for posterior-predictive draws.
    fn observation(&self, b: &Batch<B>, d: Decode<B>, f: &mut Fwd<'_, B>) -> Vec<Noise>;
}
