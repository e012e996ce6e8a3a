//! The training loop, one for every model (docs/models.md, §4 of both models): AdamW
//! with the config's learning-rate schedule, minibatches densified per step
//! ([`Batch`]), the model's step inputs and loss ([`Network`]), the KL
//! warm-up and alignment schedule ([`Schedule`](crate::module::network::Schedule)),
//! explicit batch-norm running-statistics updates, optional validation with
//! early stopping (the best weights are restored), query-mapping freezing,
//! and a progress callback that can cancel.
//!
//! Every random stream (shuffling, masks, reparameterisation noise, dropout,
//! the validation split) is a ChaCha8 stream derived from the config's seed,
//! so the same seed gives the same model on CPU.

mod freeze;
mod rng;
mod sampler;

pub(crate) use freeze::Frozen;
pub(crate) use rng::{rng_for, Stream};

use crate::align::Aligned;
use crate::backend::Compute;
use crate::batch::Batch;
use crate::config::{FamilySettings, ResolvedConfig, TrainConfig};
use crate::error::{Error, Result};
use crate::module::network::{Monitor, Network, Objective, PartsShape, Step, StepRngs, TrainData};
use crate::nn::{to_vec, BnMode, BnStats, Fwd};
use burn::backend::Autodiff;
use burn::grad_clipping::GradientClippingConfig;
use burn::module::{AutodiffModule, ModuleMapper, Param, ParamId};
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::{backend::Backend, Tensor};
use rand::seq::SliceRandom;
use sampler::Sampler;
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
    pub cfg: &'a ResolvedConfig,
    pub train_cells: Vec<usize>,
    pub valid_cells: Vec<usize>,
    /// Epochs completed before this call (for the RNG streams and MMD schedule).
    pub start_epoch: usize,
    /// Query fine-tuning: only these parameters (rows) train, batch-norm
    /// statistics stay fixed.
    pub frozen: Option<&'a Frozen>,
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

/// Splits cells `0..n` into training and validation cells (`fraction` of
/// them, drawn with the seed's split stream; none when 0), both sorted.
pub(crate) fn split_cells(n: usize, fraction: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    let mut cells: Vec<usize> = (0..n).collect();
    if fraction <= 0.0 {
        return Ok((cells, Vec::new()));
    }
    cells.shuffle(&mut rng_for(seed, Stream::Split, 0));
    let nv = ((n as f64) * fraction).round() as usize;
    if nv < 2 || n - nv < 2 {
        return Err(Error::data(format!(
            "validation_fraction {fraction} of {n} cells leaves too few cells for training or validation"
        )));
    }
    let mut valid = cells.split_off(n - nv);
    valid.sort_unstable();
    cells.sort_unstable();
    Ok((cells, valid))
}

/// The epoch's summed packed parts (see [`Loss::pack`](crate::module::network::Loss::pack))
/// as a summary, each divided by `weight`.
fn summarize(sums: &[f64], shape: PartsShape, weight: f64) -> LossSummary {
    let s: Vec<f64> = sums.iter().map(|v| v / weight).collect();
    let (r, m) = (shape.recon, shape.masked);
    LossSummary {
        observed: s[..r].to_vec(),
        masked: s[r..r + m].to_vec(),
        kl: s[r + m],
        mmd: s[r + m + 1],
        total: s[r + m + 2],
    }
}

impl LossSummary {
    fn monitored(&self, m: Monitor) -> f64 {
        match m {
            Monitor::Total => self.total,
            Monitor::Reconstruction => self.observed.iter().sum(),
        }
    }
}

/// Mean losses over the validation cells, weighted by cells: batch norms in
/// inference mode, no dropout, the same masks and noise every epoch, the
/// epoch's KL warm-up and no alignment penalty.
fn validation<B, N>(
    net: &N,
    objective: &N::Objective,
    ctx: &TrainContext<'_>,
    data: &TrainData<'_>,
    epoch: usize,
    device: &B::Device,
) -> LossSummary
where
    B: Compute,
    N: Network<B>,
{
    let t = &ctx.cfg.train;
    let mut rngs = StepRngs {
        masks: rng_for(t.seed, Stream::ValidationMasks, 0),
        noise: rng_for(t.seed, Stream::ValidationNoise, 0),
    };
    let factors = objective.spec().schedule.validation_factors(epoch);
    let mut sums: Option<Vec<f64>> = None;
    let mut shape = PartsShape {
        recon: 0,
        masked: 0,
    };
    for cells in ctx.valid_cells.chunks(t.batch_size.max(1)) {
        let batch = Batch::<B>::new(ctx.aligned, cells, &[], device);
        let mut stats = BnStats::new(BnMode::Eval);
        let mut fwd = Fwd {
            stats: &mut stats,
            dropout: None,
        };
        let step = Step {
            batch: &batch,
            data,
            rngs: &mut rngs,
            factors,
        };
        let (packed, s) = net.loss(objective, step, &mut fwd).pack();
        shape = s;
        let parts = to_vec(packed);
        let acc = sums.get_or_insert_with(|| vec![0.0; parts.len()]);
        for (a, b) in acc.iter_mut().zip(parts) {
            *a += b as f64 * cells.len() as f64;
        }
    }
    let n = ctx.valid_cells.len().max(1) as f64;
    match sums {
        Some(s) => summarize(&s, shape, n),
        None => summarize(&[0.0; 3], shape, n),
    }
}

/// Trains `net` for `cfg.train.epochs` epochs (see the module docs). Always
/// returns a usable network (on cancellation or failure: the weights of the
/// last good epoch).
pub(crate) fn fit<B, N>(
    net: N,
    ctx: &TrainContext<'_>,
    device: &B::Device,
    progress: Progress<'_>,
) -> (N, Result<TrainReport>)
where
    B: Compute,
    N: Network<Autodiff<B>> + AutodiffModule<Autodiff<B>>,
    N::InnerModule: Network<B, Objective = N::Objective>,
{
    let t = &ctx.cfg.train;
    if ctx.train_cells.len() < 2 {
        return (
            net,
            Err(Error::data(format!(
                "training needs at least 2 cells, got {}",
                ctx.train_cells.len()
            ))),
        );
    }
    let data = TrainData {
        aligned: ctx.aligned,
        train_cells: &ctx.train_cells,
    };
    let settings = N::Settings::of(&ctx.cfg.model)
        .expect("the registry builds each network for its own family's configs");
    let objective = net.objective(settings, ctx.cfg);
    let spec = objective.spec();
    let (schedule, sampling) = (spec.schedule, spec.sampling);
    let groups: Option<&[u32]> = sampling
        .stratify
        .map(|g| ctx.aligned.cov_codes[g].as_slice());
    let mut sampler = Sampler::new(&ctx.train_cells, sampling, t.batch_size);
    let net = match ctx.frozen {
        Some(f) => crate::io::params::map_by_path(net, &mut f.freezer()),
        None => net,
    };
    let mut optim = adamw::<Autodiff<B>, N>(t);
    let run_epoch = |mut net: N, epoch: usize, e: usize| {
        let mut shuffle = rng_for(t.seed, Stream::Shuffle, epoch as u64);
        let mut rngs = StepRngs {
            masks: rng_for(t.seed, Stream::Masks, epoch as u64),
            noise: rng_for(t.seed, Stream::Noise, epoch as u64),
        };
        let mut dropout = rng_for(t.seed, Stream::Dropout, epoch as u64);
        let batches = sampler.epoch(groups, &mut shuffle);
        let factors = schedule.factors(epoch);
        let lr = t.lr_schedule.rate(t.learning_rate, e, t.epochs);
        let mut acc: Option<Tensor<Autodiff<B>, 1>> = None;
        let mut shape = PartsShape {
            recon: 0,
            masked: 0,
        };
        for cells in &batches {
            let batch = Batch::<Autodiff<B>>::new(ctx.aligned, cells, &[], device);
            let mut stats = BnStats::new(BnMode::Train);
            let loss = {
                let mut fwd = Fwd {
                    stats: &mut stats,
                    dropout: Some(&mut dropout),
                };
                let step = Step {
                    batch: &batch,
                    data: &data,
                    rngs: &mut rngs,
                    factors,
                };
                net.loss(&objective, step, &mut fwd)
            };
            let (packed, s) = loss.pack();
            shape = s;
            accumulate(&mut acc, packed);
            let grads = GradientsParams::from_grads(loss.total.backward(), &net);
            net = optim.step(lr, net, grads);
            match ctx.frozen {
                Some(f) => net = crate::io::params::map_by_path(net, &mut f.restorer()),
                None if !stats.records.is_empty() => net = net.map(&mut BnUpdater::new(stats)),
                None => {}
            }
        }
        let sums: Vec<f64> = acc
            .map(|a| to_vec(a).into_iter().map(|v| v as f64).collect())
            .unwrap_or_else(|| vec![0.0; 3]);
        let train = summarize(&sums, shape, batches.len().max(1) as f64);
        let validation = (!ctx.valid_cells.is_empty()).then(|| {
            validation::<B, N::InnerModule>(&net.valid(), &objective, ctx, &data, epoch, device)
        });
        EpochResult {
            module: net,
            train,
            validation,
        }
    };
    let monitor = spec.monitor;
    drive(
        net,
        t,
        ctx.start_epoch,
        (ctx.train_cells.len(), ctx.valid_cells.len()),
        run_epoch,
        |v| v.monitored(monitor),
        progress,
    )
}
