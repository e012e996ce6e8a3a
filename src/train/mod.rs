//! The training loop (spec §4): AdamW, shuffled minibatches densified per
//! step, the mask generator, three passes per step, explicit batch-norm
//! running-statistics updates, optional validation with early stopping, and a
//! progress callback that can cancel.
//!
//! Every random stream (shuffling, masks, reparameterisation noise, the
//! validation split) is a ChaCha8 stream derived from the config's seed, so
//! the same seed gives the same model on CPU.

mod freeze;
pub(crate) mod mask;
mod multigrate;
mod rng;

pub(crate) use freeze::Frozen;
pub(crate) use multigrate::fit_multigrate;
pub(crate) use rng::{rng_for, Stream};

use crate::backend::Compute;
use crate::batcher::Aligned;
use crate::config::{ModelConfig, TrainConfig};
use crate::error::{Error, Result};
use crate::module::{LossWeights, ScVaeIt, StepHost, StepInput};
use crate::nn::{tensor2, to_vec, BnMode, BnStats};
use burn::backend::Autodiff;
use burn::grad_clipping::GradientClippingConfig;
use burn::module::{AutodiffModule, Module, ModuleMapper, Param, ParamId};
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::{backend::Backend, Tensor};
use mask::MaskGenerator;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::Instant;

/// Loss values averaged over an epoch's minibatches.
#[derive(Debug, Clone, PartialEq)]
pub struct LossSummary {
    /// The minimised objective.
    pub total: f64,
    /// Per modality: negative log-likelihood of the observed-reconstruction
    /// pass (scVAEIT) or the reconstruction loss (Multigrate).
    pub observed: Vec<f64>,
    /// Negative log-likelihood of the masked-prediction term, per modality
    /// (scVAEIT; empty for Multigrate).
    pub masked: Vec<f64>,
    /// KL between the masked-input and full-input posteriors (scVAEIT) or of
    /// the joint posterior to the prior (Multigrate), unweighted.
    pub kl: f64,
    /// Alignment penalty (scVAEIT MMD; Multigrate MMD/Jeffreys), unweighted.
    pub mmd: f64,
}

/// What a progress callback receives after each epoch.
#[derive(Debug, Clone)]
pub struct EpochLog {
    /// Epoch just finished (1-based, counting earlier `fit` calls).
    pub epoch: usize,
    /// Last epoch of this `fit` call.
    pub n_epochs: usize,
    /// Training loss.
    pub train: LossSummary,
    /// Validation loss (with a validation split).
    pub validation: Option<LossSummary>,
    /// Wall seconds of this epoch.
    pub seconds: f64,
}

/// Why training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// All epochs ran.
    Completed,
    /// The validation loss stopped improving; the best weights were restored.
    EarlyStopped,
    /// The progress callback asked to stop; the model keeps the weights of the
    /// last completed epoch and stays usable.
    Cancelled,
}

/// Summary of a `fit` call.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// Epochs completed in this call.
    pub epochs_run: usize,
    /// Why training ended.
    pub stop: StopReason,
    /// Per-epoch losses.
    pub history: Vec<EpochLog>,
    /// Wall seconds.
    pub seconds: f64,
    /// Epoch whose weights were kept (with validation).
    pub best_epoch: Option<usize>,
    /// Cells used for training / validation.
    pub n_train: usize,
    /// See `n_train`.
    pub n_validation: usize,
}

/// A progress callback: return `ControlFlow::Break(())` to cancel.
pub type Progress<'a> = &'a mut dyn FnMut(&EpochLog) -> ControlFlow<()>;

/// Everything the loop needs that does not change between steps.
pub(crate) struct TrainContext<'a> {
    pub aligned: &'a Aligned<'a>,
    pub cfg: &'a ModelConfig,
    pub train_cells: Vec<usize>,
    pub valid_cells: Vec<usize>,
    /// Epochs completed before this call (for the RNG streams and MMD schedule).
    pub start_epoch: usize,
    /// Query fine-tuning: only these parameters (rows) train, batch-norm
    /// statistics stay fixed.
    pub frozen: Option<&'a Frozen>,
}

/// Builds the device inputs of one minibatch (host vectors are filled once
/// and moved into the tensors, never copied).
fn step_input<B: Compute>(
    ctx: &TrainContext<'_>,
    gen: &MaskGenerator,
    cells: &[usize],
    mask_rng: &mut ChaCha8Rng,
    noise_rng: &mut ChaCha8Rng,
    mmd_cov: Option<usize>,
    device: &B::Device,
) -> StepInput<B> {
    let n = cells.len();
    let d = ctx.aligned.n_features;
    let nb = ctx.aligned.cov_dim();
    let latent = ctx.cfg.latent_dim;
    let (mut x, mut observed) = (vec![0f32; n * d], vec![0f32; n * d]);
    ctx.aligned.fill(cells, &mut x, &mut observed);
    let other = (gen.modality_ranges.len() == 1).then(|| {
        let pick: Vec<usize> = (0..n)
            .map(|_| ctx.train_cells[mask_rng.random_range(0..ctx.train_cells.len())])
            .collect();
        let (mut values, mut avail) = (vec![0f32; n * d], vec![0f32; n * d]);
        ctx.aligned.fill(&pick, &mut values, &mut avail);
        avail
    });
    let (mut kept, mut masked) = (vec![0f32; n * d], vec![0f32; n * d]);
    gen.generate(
        &observed,
        other.as_deref(),
        mask_rng,
        &mut kept,
        &mut masked,
    );
    let cov = (nb > 0).then(|| {
        let mut c = vec![0f32; n * nb];
        ctx.aligned.fill_covariates(cells, &[], &mut c);
        tensor2::<B>(c, n, nb, device)
    });
    let eps =
        [0, 1, 2].map(|_| tensor2::<B>(crate::nn::randn(n * latent, noise_rng), n, latent, device));
    let mmd = mmd_cov.map(|k| {
        let g = ctx.aligned.cov_widths[k];
        let mut onehot = vec![0f32; n * g];
        let mut sizes = vec![0usize; g];
        for (i, &r) in cells.iter().enumerate() {
            let c = ctx.aligned.cov_codes[k][r] as usize;
            onehot[i * g + c] = 1.0;
            sizes[c] += 1;
        }
        (tensor2::<B>(onehot, n, g, device), sizes)
    });
    // CPU backends: the fused likelihoods read the host buffers in place.
    let host = B::HOST.then(|| {
        std::sync::Arc::new(StepHost {
            x: x.clone(),
            observed: observed.clone(),
            kept: kept.clone(),
            masked: masked.clone(),
        })
    });
    StepInput {
        x: tensor2(x, n, d, device),
        observed: tensor2(observed, n, d, device),
        kept: tensor2(kept, n, d, device),
        masked: tensor2(masked, n, d, device),
        cov,
        eps,
        mmd,
        host,
    }
}

fn summarize(sum: &[f64], steps: usize, n_mod: usize) -> LossSummary {
    let s: Vec<f64> = sum.iter().map(|v| v / steps.max(1) as f64).collect();
    LossSummary {
        observed: s[..n_mod].to_vec(),
        masked: s[n_mod..2 * n_mod].to_vec(),
        kl: s[2 * n_mod],
        mmd: s[2 * n_mod + 1],
        total: s[2 * n_mod + 2],
    }
}

fn loss_weights(cfg: &ModelConfig, epoch: usize) -> LossWeights {
    LossWeights {
        modality: cfg
            .modalities
            .iter()
            .map(|m| m.weight.expect("resolved"))
            .collect(),
        unobs: cfg.beta_unobs,
        reverse: cfg.beta_reverse.expect("resolved"),
        kl: cfg.beta_kl,
        gamma: cfg.mmd.as_ref().map_or(0.0, |m| {
            m.gamma * m.decay.powf(epoch as f64 / m.decay_epochs)
        }),
    }
}

/// Applies the batch-norm statistics recorded during a step to the running
/// averages, in recording order (the reference updates after every pass).
pub(crate) struct BnUpdater<B: Backend> {
    updates: HashMap<ParamId, Vec<(Tensor<B, 1>, f64)>>,
}

impl<B: Backend> BnUpdater<B> {
    pub(crate) fn new(stats: BnStats<B>) -> Self {
        let mut updates: HashMap<ParamId, Vec<(Tensor<B, 1>, f64)>> = HashMap::new();
        for r in stats.records {
            updates
                .entry(r.mean_id)
                .or_default()
                .push((r.mean, r.momentum));
            updates
                .entry(r.var_id)
                .or_default()
                .push((r.var, r.momentum));
        }
        BnUpdater { updates }
    }
}

impl<B: Backend> ModuleMapper<B> for BnUpdater<B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let Some(list) = self.updates.remove(&param.id) else {
            return param;
        };
        let (id, value, mapper) = param.consume();
        let shape = value.shape();
        let n = shape.num_elements();
        let mut v: Tensor<B, 1> = value.reshape([n]);
        for (s, m) in list {
            v = v * (1.0 - m) + s * m;
        }
        Param::from_mapped_value(id, v.reshape(shape).detach(), mapper)
    }
}

/// Mean validation loss with batch norms in inference mode, fixed masks and noise.
fn validation_loss<B: Compute>(
    module: &ScVaeIt<B>,
    ctx: &TrainContext<'_>,
    gen: &MaskGenerator,
    device: &B::Device,
) -> Vec<f64> {
    let bs = ctx.cfg.train.batch_size.min(ctx.valid_cells.len()).max(1);
    // The same masks every epoch, so the monitored value is comparable between epochs.
    let mut mask_rng = rng_for(ctx.cfg.train.seed, Stream::ValidationMasks, 0);
    let mut noise_rng = rng_for(ctx.cfg.train.seed, Stream::ValidationNoise, 0);
    let mut w = loss_weights(ctx.cfg, 0);
    w.gamma = 0.0;
    let mut sum: Option<Vec<f64>> = None;
    let mut steps = 0;
    for cells in ctx.valid_cells.chunks(bs) {
        let input = step_input::<B>(ctx, gen, cells, &mut mask_rng, &mut noise_rng, None, device);
        let mut stats = BnStats::new(BnMode::Eval);
        let out = module.loss(&input, &w, &mut stats);
        let parts = to_vec(out.parts);
        let s = sum.get_or_insert_with(|| vec![0.0; parts.len()]);
        for (a, b) in s.iter_mut().zip(parts) {
            *a += b as f64 * cells.len() as f64;
        }
        steps += cells.len();
    }
    sum.unwrap_or_default()
        .into_iter()
        .map(|v| v / steps.max(1) as f64)
        .collect()
}

/// The AdamW optimizer of the config (decoupled weight decay, optional clipping).
pub(crate) fn adamw<B: burn::tensor::backend::AutodiffBackend, M: AutodiffModule<B>>(
    t: &TrainConfig,
) -> impl Optimizer<M, B> {
    AdamWConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.999)
        .with_epsilon(t.adam_epsilon as f32)
        .with_weight_decay(t.weight_decay as f32)
        .with_grad_clipping(
            t.grad_clip_norm
                .map(|c| GradientClippingConfig::Norm(c as f32)),
        )
        .init::<B, M>()
}

/// What one epoch of a model's training returns to [`drive`].
pub(crate) struct EpochResult<M> {
    pub module: M,
    pub train: LossSummary,
    pub validation: Option<LossSummary>,
}

/// The epoch loop shared by the models: runs `run_epoch(module, epoch, e)`
/// (`epoch` counts earlier `fit` calls, `e` this call's epochs), rejects
/// non-finite losses (keeping the previous epoch's weights), tracks the
/// validation value `monitor` for early stopping and restores the best
/// weights, reports progress and honours cancellation. Always returns a
/// usable module.
pub(crate) fn drive<M: Clone>(
    mut module: M,
    t: &TrainConfig,
    start_epoch: usize,
    (n_train, n_valid): (usize, usize),
    mut run_epoch: impl FnMut(M, usize, usize) -> EpochResult<M>,
    monitor: impl Fn(&LossSummary) -> f64,
    progress: Progress<'_>,
) -> (M, Result<TrainReport>) {
    let start = Instant::now();
    let mut history = Vec::new();
    let mut best: Option<(f64, usize, M)> = None;
    let mut stop = StopReason::Completed;
    for e in 0..t.epochs {
        let epoch = start_epoch + e;
        let t0 = Instant::now();
        let epoch_start = module.clone();
        let r = run_epoch(module, epoch, e);
        module = r.module;
        if !r.train.total.is_finite() {
            return (
                epoch_start,
                Err(Error::Numerical(format!(
                    "the training loss became {} in epoch {}; the model keeps the weights of the \
                     previous epoch (try a lower learning rate or check the input scale)",
                    r.train.total,
                    epoch + 1
                ))),
            );
        }
        let log = EpochLog {
            epoch: epoch + 1,
            n_epochs: start_epoch + t.epochs,
            train: r.train,
            validation: r.validation.clone(),
            seconds: t0.elapsed().as_secs_f64(),
        };
        history.push(log.clone());
        let mut early = false;
        if let Some(v) = &r.validation {
            let value = monitor(v);
            let improved = match &best {
                None => true,
                Some((b, _, _)) => (b - value) / b.abs().max(1e-12) > t.min_delta,
            };
            if improved {
                best = Some((value, epoch + 1, module.clone()));
            } else if epoch + 1 - best.as_ref().map_or(0, |b| b.1) > t.patience {
                early = true;
            }
        }
        if progress(&log).is_break() {
            stop = StopReason::Cancelled;
            break;
        }
        if early {
            stop = StopReason::EarlyStopped;
            break;
        }
    }
    let mut best_epoch = None;
    if let Some((_, ep, m)) = best {
        if stop != StopReason::Cancelled {
            module = m;
            best_epoch = Some(ep);
        }
    }
    let report = TrainReport {
        epochs_run: history.len(),
        stop,
        history,
        seconds: start.elapsed().as_secs_f64(),
        best_epoch,
        n_train,
        n_validation: n_valid,
    };
    (module, Ok(report))
}

/// Adds a step's logged parts to the epoch's running sum.
pub(crate) fn accumulate<B: Backend>(acc: &mut Option<Tensor<B, 1>>, parts: Tensor<B, 1>) {
    *acc = Some(match acc.take() {
        Some(a) => a + parts,
        None => parts,
    });
}

/// Trains `module` for `cfg.train.epochs` epochs. Always returns a usable
/// module (on cancellation or failure: the weights of the last good epoch).
pub(crate) fn fit<B: Compute>(
    module: ScVaeIt<Autodiff<B>>,
    ctx: &TrainContext<'_>,
    device: &B::Device,
    progress: Progress<'_>,
) -> (ScVaeIt<Autodiff<B>>, Result<TrainReport>) {
    let cfg = ctx.cfg;
    let t = &cfg.train;
    let n_mod = cfg.modalities.len();
    let gen = MaskGenerator::new(
        cfg.p_feat,
        cfg.p_modal.as_ref().expect("resolved"),
        ctx.aligned.mod_ranges.clone(),
    );
    let bs = t.batch_size.min(ctx.train_cells.len());
    if bs < 2 {
        return (
            module,
            Err(Error::data(format!(
                "training needs at least 2 cells, got {}",
                ctx.train_cells.len()
            ))),
        );
    }
    let steps_per_epoch = ctx.train_cells.len() / bs;
    let mmd_cov = cfg.mmd.as_ref().map(|m| {
        cfg.covariates
            .as_ref()
            .expect("resolved")
            .iter()
            .position(|c| *c == m.covariate)
            .expect("validated")
    });
    let module = match ctx.frozen {
        Some(f) => module.map(&mut f.freezer()),
        None => module,
    };
    let mut optim = adamw::<Autodiff<B>, ScVaeIt<Autodiff<B>>>(t);
    let mut cells = ctx.train_cells.clone();
    let run_epoch = |mut module: ScVaeIt<Autodiff<B>>, epoch: usize, e: usize| {
        let mut shuffle = rng_for(t.seed, Stream::Shuffle, epoch as u64);
        let mut mask_rng = rng_for(t.seed, Stream::Masks, epoch as u64);
        let mut noise_rng = rng_for(t.seed, Stream::Noise, epoch as u64);
        cells.shuffle(&mut shuffle);
        let w = loss_weights(cfg, epoch);
        let lr = t.lr_schedule.rate(t.learning_rate, e, t.epochs);
        let mut acc: Option<Tensor<Autodiff<B>, 1>> = None;
        for s in 0..steps_per_epoch {
            let batch = &cells[s * bs..(s + 1) * bs];
            let input = step_input::<Autodiff<B>>(
                ctx,
                &gen,
                batch,
                &mut mask_rng,
                &mut noise_rng,
                mmd_cov,
                device,
            );
            let mut stats = BnStats::new(BnMode::Train);
            let out = module.loss(&input, &w, &mut stats);
            accumulate(&mut acc, out.parts.clone());
            let grads = GradientsParams::from_grads(out.total.backward(), &module);
            module = optim.step(lr, module, grads);
            match ctx.frozen {
                Some(f) => module = module.map(&mut f.restorer()),
                None => module = module.map(&mut BnUpdater::new(stats)),
            }
        }
        let sums: Vec<f64> = acc
            .map(|a| to_vec(a).into_iter().map(|v| v as f64).collect())
            .unwrap_or_else(|| vec![0.0; 2 * n_mod + 3]);
        let train = summarize(&sums, steps_per_epoch, n_mod);
        let validation = (!ctx.valid_cells.is_empty()).then(|| {
            let v = validation_loss::<B>(&module.valid(), ctx, &gen, device);
            summarize(&v, 1, n_mod)
        });
        EpochResult {
            module,
            train,
            validation,
        }
    };
    drive(
        module,
        t,
        ctx.start_epoch,
        (ctx.train_cells.len(), ctx.valid_cells.len()),
        run_epoch,
        |v| v.total,
        progress,
    )
}
