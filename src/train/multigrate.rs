//! Multigrate's training loop (spec §4): AdamW over minibatches of 256 cells,
//! linear KL warm-up over the first third of the epochs, the
//! `integrate_on`-stratified sampler (each minibatch holds half-batch chunks
//! of at most two groups), dropout, and validation on the reconstruction loss
//! with early stopping.
//!
//! Deviations from the reference (documented in the README): early stopping
//! restores the best epoch's weights (the reference keeps the last ones,
//! §7.14); the last incomplete minibatch of an unstratified epoch is kept when
//! it has at least 2 cells (scvi's `drop_last=False`; a single cell would
//! break batch norm); every random stream derives from the config seed.

use super::{
    accumulate, adamw, drive, rng_for, BnUpdater, EpochResult, LossSummary, Progress, Stream,
    TrainContext, TrainReport,
};
use crate::backend::Compute;
use crate::config::{AlignmentType, Kernel, MultigrateConfig};
use crate::error::{Error, Result};
use crate::module::{MgBatch, MgStep, MgWeights, MultiVae};
use crate::nn::{randn, to_vec, BnMode, BnStats, Fwd};
use burn::backend::Autodiff;
use burn::module::{AutodiffModule, Module};
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::Tensor;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Minibatches of one epoch.
///
/// Without `groups`: the shuffled cells cut into batches of `bs` (a last
/// batch of at least 2 cells is kept). With `groups` (`integrate_on` codes):
/// each group's shuffled cells are cut into chunks of `bs / 2` (the remainder
/// is dropped unless the group has no full chunk), the chunks are shuffled,
/// and consecutive pairs form the minibatches.
pub(crate) fn epoch_batches(
    cells: &[usize],
    groups: Option<&[u32]>,
    bs: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<usize>> {
    let mut cells = cells.to_vec();
    cells.shuffle(rng);
    let Some(groups) = groups else {
        return cells
            .chunks(bs)
            .filter(|c| c.len() >= 2)
            .map(|c| c.to_vec())
            .collect();
    };
    let half = (bs / 2).max(1);
    let n_groups = groups.iter().map(|&g| g as usize + 1).max().unwrap_or(0);
    let mut by_group: Vec<Vec<usize>> = vec![Vec::new(); n_groups];
    for &c in &cells {
        by_group[groups[c] as usize].push(c);
    }
    let mut chunks: Vec<Vec<usize>> = Vec::new();
    for members in by_group.into_iter().filter(|m| !m.is_empty()) {
        if members.len() < half {
            chunks.push(members);
        } else {
            chunks.extend(members.chunks_exact(half).map(|c| c.to_vec()));
        }
    }
    chunks.shuffle(rng);
    chunks
        .chunks(2)
        .map(|pair| pair.concat())
        .filter(|b| b.len() >= 2)
        .collect()
}

struct Setup<'a> {
    ctx: &'a TrainContext<'a>,
    mg: MultigrateConfig,
    /// `integrate_on` covariate index.
    group_cov: Option<usize>,
    marginal: bool,
}

impl Setup<'_> {
    fn weights(&self, epoch: usize) -> MgWeights {
        let warm = self.mg.kl_warmup_epochs.expect("resolved").max(1);
        let factor = (epoch as f64 / warm as f64).min(1.0);
        MgWeights {
            recon: self.mg.recon_weight,
            kl: self.mg.kl_weight * factor,
            integ: self.mg.integ_weight.expect("resolved"),
            modality: self
                .ctx
                .cfg
                .modalities
                .iter()
                .map(|m| m.weight.expect("resolved"))
                .collect(),
            alignment: self.mg.alignment,
            alignment_type: self.mg.alignment_type,
            moments: self.mg.kernel == Kernel::Moments,
        }
    }

    /// Device inputs of one minibatch.
    fn step<B: Compute>(
        &self,
        cells: &[usize],
        noise: &mut ChaCha8Rng,
        device: &B::Device,
        layout: &crate::module::MgLayout,
    ) -> MgStep<B> {
        let a = self.ctx.aligned;
        let n = cells.len();
        let d = a.n_features;
        let (mut x, mut avail) = (vec![0f32; n * d], vec![0f32; n * d]);
        a.fill(cells, &mut x, &mut avail);
        let nb = a.cov_dim();
        let cov = (nb > 0).then(|| {
            let mut c = vec![0f32; n * nb];
            a.fill_covariates(cells, &[], &mut c);
            (c, nb)
        });
        let batch = MgBatch::from_host(x, avail, cov, n, layout, device);
        let n_mod = a.mod_ranges.len();
        let mut libs = vec![0f32; n * n_mod];
        for (i, &r) in cells.iter().enumerate() {
            for m in 0..n_mod {
                libs[i * n_mod + m] = a.library(m, r).unwrap_or(0.0);
            }
        }
        let z = layout.latent;
        let eps = crate::nn::tensor2(randn(n * z, noise), n, z, device);
        let eps_marginal = if self.marginal {
            (0..n_mod)
                .map(|_| crate::nn::tensor2(randn(n * z, noise), n, z, device))
                .collect()
        } else {
            Vec::new()
        };
        MgStep {
            batch,
            libs: crate::nn::tensor2(libs, n, n_mod, device),
            eps,
            eps_marginal,
            groups: self
                .group_cov
                .map(|g| cells.iter().map(|&r| a.cov_codes[g][r]).collect())
                .unwrap_or_default(),
        }
    }

    fn summarize(&self, sums: &[f64], weight: f64) -> LossSummary {
        let n_mod = self.ctx.cfg.modalities.len();
        let s: Vec<f64> = sums.iter().map(|v| v / weight.max(1e-12)).collect();
        LossSummary {
            total: s[n_mod + 2],
            observed: s[..n_mod].to_vec(),
            masked: Vec::new(),
            kl: s[n_mod],
            mmd: s[n_mod + 1],
        }
    }

    /// Mean losses over the validation cells (eval mode: no dropout, running
    /// batch-norm statistics; fixed noise).
    fn validation<B: Compute>(
        &self,
        module: &MultiVae<B>,
        epoch: usize,
        device: &B::Device,
    ) -> LossSummary {
        let t = &self.ctx.cfg.train;
        let mut noise = rng_for(t.seed, Stream::ValidationNoise, 0);
        let w = self.weights(epoch);
        let mut sums: Option<Vec<f64>> = None;
        for cells in self.ctx.valid_cells.chunks(t.batch_size.max(1)) {
            let step = self.step::<B>(cells, &mut noise, device, &module.layout);
            let mut stats = BnStats::new(BnMode::Eval);
            let mut fwd = Fwd {
                stats: &mut stats,
                dropout: None,
            };
            let parts = to_vec(module.loss(&step, &w, &mut fwd).parts);
            let s = sums.get_or_insert_with(|| vec![0.0; parts.len()]);
            for (a, b) in s.iter_mut().zip(parts) {
                *a += b as f64 * cells.len() as f64;
            }
        }
        self.summarize(&sums.unwrap_or_default(), self.ctx.valid_cells.len() as f64)
    }
}

/// Trains a Multigrate network for `cfg.train.epochs` epochs (see the module docs).
pub(crate) fn fit_multigrate<B: Compute>(
    module: MultiVae<Autodiff<B>>,
    ctx: &TrainContext<'_>,
    device: &B::Device,
    progress: Progress<'_>,
) -> (MultiVae<Autodiff<B>>, Result<TrainReport>) {
    let cfg = ctx.cfg;
    let t = &cfg.train;
    if ctx.train_cells.len() < 2 {
        return (
            module,
            Err(Error::data(format!(
                "training needs at least 2 cells, got {}",
                ctx.train_cells.len()
            ))),
        );
    }
    let mg = cfg.multigrate.clone().expect("resolved");
    let group_cov = module.layout.integrate_on;
    let setup = Setup {
        ctx,
        marginal: mg.alignment.is_some()
            && matches!(
                mg.alignment_type,
                AlignmentType::Marginal | AlignmentType::Both
            ),
        mg,
        group_cov,
    };
    let n_mod = cfg.modalities.len();
    let module = match ctx.frozen {
        Some(f) => module.map(&mut f.freezer()),
        None => module,
    };
    let mut optim = adamw::<Autodiff<B>, MultiVae<Autodiff<B>>>(t);
    let groups: Option<&[u32]> = group_cov.map(|g| ctx.aligned.cov_codes[g].as_slice());
    let run_epoch = |mut module: MultiVae<Autodiff<B>>, epoch: usize, e: usize| {
        let mut shuffle = rng_for(t.seed, Stream::Shuffle, epoch as u64);
        let mut noise = rng_for(t.seed, Stream::Noise, epoch as u64);
        let mut drop = rng_for(t.seed, Stream::Dropout, epoch as u64);
        let batches = epoch_batches(&ctx.train_cells, groups, t.batch_size, &mut shuffle);
        let w = setup.weights(epoch);
        let lr = t.lr_schedule.rate(t.learning_rate, e, t.epochs);
        let mut acc: Option<Tensor<Autodiff<B>, 1>> = None;
        for cells in &batches {
            let step = setup.step::<Autodiff<B>>(cells, &mut noise, device, &module.layout);
            let mut stats = BnStats::new(BnMode::Train);
            let out = {
                let mut fwd = Fwd {
                    stats: &mut stats,
                    dropout: Some(&mut drop),
                };
                module.loss(&step, &w, &mut fwd)
            };
            accumulate(&mut acc, out.parts.clone());
            let grads = GradientsParams::from_grads(out.total.backward(), &module);
            module = optim.step(lr, module, grads);
            match ctx.frozen {
                Some(f) => module = module.map(&mut f.restorer()),
                None if !stats.records.is_empty() => {
                    module = module.map(&mut BnUpdater::new(stats))
                }
                None => {}
            }
        }
        let sums: Vec<f64> = acc
            .map(|a| to_vec(a).into_iter().map(|v| v as f64).collect())
            .unwrap_or_else(|| vec![0.0; n_mod + 3]);
        let train = setup.summarize(&sums, batches.len() as f64);
        let validation = (!ctx.valid_cells.is_empty())
            .then(|| setup.validation::<B>(&module.valid(), epoch, device));
        EpochResult {
            module,
            train,
            validation,
        }
    };
    // The reference monitors the validation reconstruction loss.
    drive(
        module,
        t,
        ctx.start_epoch,
        (ctx.train_cells.len(), ctx.valid_cells.len()),
        run_epoch,
        |v| v.observed.iter().sum(),
        progress,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn stratified_batches_hold_at_most_two_groups() {
        let cells: Vec<usize> = (0..1000).collect();
        let groups: Vec<u32> = (0..1000).map(|i| (i % 3) as u32).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let b = epoch_batches(&cells, Some(&groups), 256, &mut rng);
        for batch in &b {
            let mut g: Vec<u32> = batch.iter().map(|&c| groups[c]).collect();
            g.sort();
            g.dedup();
            assert!(g.len() <= 2, "{g:?}");
            assert!(batch.len() <= 256);
        }
        // 334/333/333 cells -> 2 chunks of 128 per group (remainders dropped) -> 3 batches of 256
        assert_eq!(b.iter().map(|x| x.len()).sum::<usize>(), 6 * 128);
        let plain = epoch_batches(&cells, None, 256, &mut rng);
        assert_eq!(plain.iter().map(|x| x.len()).sum::<usize>(), 1000);
        assert_eq!(plain.len(), 4);
    }
}
