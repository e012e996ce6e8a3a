//! scVAEIT's training objective (docs/models.md, scVAEIT §3) and its place in the pipeline.
//!
//! Each step masks the observed entries at random ([`MaskGenerator`]) and
//! runs three encoder/decoder passes: the observed pass (all observed
//! entries in, all out), the unobserved pass (kept entries in, masked ones
//! out) and, with `beta_reverse > 0`, the reverse pass (masked in, kept
//! out). The loss is
//! `sum_m w_m [(1 - beta_unobs) NLL_obs + beta_unobs NLL_unobs]
//! + beta_kl KL(masked posterior || observed posterior) + gamma MMD`.

use super::mask::MaskGenerator;
use super::ScVaeIt;
use crate::backend::Compute;
use crate::batch::Batch;
use crate::config::{ResolvedConfig, ScvaeitSettings};
use crate::distributions::{gaussian_kl, mmd_groups, BlockOutput, Noise};
use crate::module::network::{
    Decode, Latent, Loss, LossParts, Monitor, Network, Objective, Sampling, Schedule, Step,
    StepRngs, TrainData, TrainSpec,
};
use crate::nn::{randn, repeat_rows, tensor2, Dense, Fwd};
use burn::tensor::Tensor;
use rand::Rng;
use std::sync::Arc;

/// The settings of one `fit` (from the resolved config).
#[derive(Debug, Clone)]
pub(crate) struct ScvaeitObjective {
    /// Per modality `beta_modal`.
    modality: Vec<f64>,
    /// `beta_unobs`.
    unobs: f64,
    /// `beta_reverse`.
    reverse: f64,
    /// `beta_kl`.
    kl: f64,
    /// MMD weight at epoch 0 (0 without MMD) and its covariate.
    gamma: f64,
    mmd_cov: Option<usize>,
    schedule: Schedule,
    masks: MaskGenerator,
}

impl Objective for ScvaeitObjective {
    fn spec(&self) -> TrainSpec {
        TrainSpec {
            schedule: self.schedule,
            sampling: Sampling {
                carry_order: true,
                drop_last: true,
                stratify: None,
            },
            monitor: Monitor::Total,
        }
    }
}

/// The model-specific inputs of one step.
#[derive(Debug, Clone)]
struct ScvaeitStep<B: Compute> {
    /// `1` where observed and kept visible (mask == 0), `[n, D]`.
    kept: Tensor<B, 2>,
    /// `1` where observed but artificially masked (mask == 1), `[n, D]`.
    masked: Tensor<B, 2>,
    /// `kept` and `masked` on the host (host backends).
    host: Option<Arc<[Vec<f32>; 2]>>,
    /// Standard normal noise of the three passes, `[n, d]` each.
    eps: [Tensor<B, 2>; 3],
    /// MMD groups: one-hot `[n, g]` and group sizes.
    mmd: Option<(Tensor<B, 2>, Vec<usize>)>,
}

impl<B: Compute> Network<B> for ScVaeIt<B> {
    type Settings = ScvaeitSettings;
    type Objective = ScvaeitObjective;

    fn objective(&self, s: &ScvaeitSettings, cfg: &ResolvedConfig) -> ScvaeitObjective {
        let mmd_cov = s.mmd.as_ref().map(|m| {
            cfg.covariates
                .iter()
                .position(|c| *c == m.covariate)
                .expect("resolved against the model's covariates")
        });
        ScvaeitObjective {
            modality: cfg.modality_weights(),
            unobs: s.beta_unobs,
            reverse: s.beta_reverse,
            kl: s.beta_kl,
            gamma: s.mmd.as_ref().map_or(0.0, |m| m.gamma),
            mmd_cov,
            schedule: Schedule {
                kl_warmup: None,
                align_decay: s.mmd.as_ref().map(|m| (m.decay, m.decay_epochs)),
            },
            masks: MaskGenerator::new(s.p_feat, &s.p_modal, self.layout.modality_ranges.clone()),
        }
    }

    fn loss(&self, o: &Self::Objective, s: Step<'_, B>, fwd: &mut Fwd<'_, B>) -> Loss<B> {
        let batch = s.batch;
        let step = &self.draw_step(o, batch, s.data, s.rngs);
        let factors = s.factors;
        let cov = batch.cov.as_ref();
        let x = &batch.x;
        let h = batch.host_view().zip(step.host.as_deref());
        let (mu_o, lv_o, ll_obs) = self.pass(
            x,
            batch.avail.clone(),
            &batch.avail,
            h.map(|(b, _)| [&b.x[..], &b.avail[..], &b.avail[..]]),
            cov,
            step.eps[0].clone(),
            fwd,
        );
        let (mu_u, lv_u, mut ll_un) = self.pass(
            x,
            step.kept.clone(),
            &step.masked,
            h.map(|(b, [kept, masked])| [&b.x[..], &kept[..], &masked[..]]),
            cov,
            step.eps[1].clone(),
            fwd,
        );
        let mut kl = gaussian_kl(mu_u, lv_u, mu_o.clone(), lv_o.clone());
        let reverse = o.reverse;
        if reverse > 0.0 {
            let (mu_r, lv_r, ll_rev) = self.pass(
                x,
                step.masked.clone(),
                &step.kept,
                h.map(|(b, [kept, masked])| [&b.x[..], &masked[..], &kept[..]]),
                cov,
                step.eps[2].clone(),
                fwd,
            );
            ll_un = ll_un
                .into_iter()
                .zip(ll_rev)
                .map(|(u, r)| u * (1.0 - reverse) + r * reverse)
                .collect();
            kl = kl * (1.0 - reverse) + gaussian_kl(mu_r, lv_r, mu_o.clone(), lv_o) * reverse;
        }
        let sum_blocks = |ll: &[Tensor<B, 1>], m: usize| -> Tensor<B, 1> {
            let r = self.layout.modality_blocks[m].clone();
            ll[r]
                .iter()
                .cloned()
                .reduce(|a, b| a + b)
                .expect("modality has blocks")
        };
        let n_mod = self.layout.n_modalities();
        let mut total = kl.clone() * (o.kl * factors.kl);
        let (mut recon, mut masked) = (Vec::with_capacity(n_mod), Vec::with_capacity(n_mod));
        for m in 0..n_mod {
            let obs = sum_blocks(&ll_obs, m).neg();
            let un = sum_blocks(&ll_un, m).neg();
            total = total
                + obs.clone() * (o.modality[m] * (1.0 - o.unobs))
                + un.clone() * (o.modality[m] * o.unobs);
            recon.push(obs);
            masked.push(un);
        }
        let gamma = o.gamma * factors.align;
        let mmd = match (&step.mmd, gamma > 0.0) {
            (Some((onehot, sizes)), true) => mmd_groups(mu_o, onehot.clone(), sizes),
            _ => Tensor::zeros([1], &x.device()),
        };
        total = total + mmd.clone() * gamma;
        Loss {
            total,
            parts: LossParts {
                recon,
                masked,
                kl,
                align: mmd,
            },
        }
    }

    fn latent(&self, batch: &Batch<B>, _only: Option<usize>, fwd: &mut Fwd<'_, B>) -> Latent<B> {
        // A modality's own latent: the pipeline hid the other modalities.
        let host = batch.host_view().map(|h| [&h.x[..], &h.avail[..]]);
        let enc = self.encode(&batch.x, batch.avail.clone(), batch.cov.as_ref(), host, fwd);
        Latent {
            mu: enc.mu,
            logvar: enc.logvar,
            missing: vec![false; batch.n()],
        }
    }

    fn output_biases(&mut self) -> &mut [Dense<B>] {
        &mut self.out_blocks
    }

    fn impute(&self, batch: &Batch<B>, d: Decode<B>, fwd: &mut Fwd<'_, B>) -> Vec<Tensor<B, 3>> {
        let n = batch.n();
        let blocks = d.targets.clone();
        let (outs, l) = self.decode_draws(batch, d, fwd);
        outs.iter()
            .zip(&blocks)
            .map(|(o, &k)| {
                let dk = self.layout.blocks[k].len;
                self.likelihood(k).mean(o).reshape([n, l, dk]) // [n, l, d_k]
            })
            .collect()
    }

    fn observation(&self, b: &Batch<B>, d: Decode<B>, f: &mut Fwd<'_, B>) -> Vec<Noise> {
        let blocks = d.targets.clone();
        let (outs, _) = self.decode_draws(b, d, f);
        outs.iter()
            .zip(&blocks)
            .map(|(o, &k)| self.likelihood(k).noise(o))
            .collect()
    }
}

/// Per block the decoder output, and the number of draws per cell.
type Draws<B> = (Vec<BlockOutput<B>>, usize);

impl<B: Compute> ScVaeIt<B> {
    /// Encodes, then decodes the blocks `d.targets` at the posterior mean
    /// (`d.draws = None`, `L` = 1) or for `L` posterior samples (rows
    /// cell-major `[n L]`). The encoder reads the dense inputs (no host
    /// view), so imputations do not depend on the backend's sparse path.
    fn decode_draws(&self, b: &Batch<B>, d: Decode<B>, fwd: &mut Fwd<'_, B>) -> Draws<B> {
        let enc = self.encode(&b.x, b.avail.clone(), b.cov.as_ref(), None, fwd);
        let (dec_cov, blocks) = (d.cov.as_ref(), &d.targets[..]);
        let Some((l, eps)) = d.draws else {
            let outs = self.decode(enc.mu, enc.embed, dec_cov, Some(&enc.skip), blocks, fwd);
            return (outs, 1);
        };
        let tile = |t: Tensor<B, 2>| repeat_rows(t, l);
        let mu = tile(enc.mu);
        let sd = tile((enc.logvar * 0.5).exp());
        let z = mu + sd * eps; // [n*l, d]
        let embed = tile(enc.embed);
        let cov_t = dec_cov.map(|c| tile(c.clone()));
        let skip: Vec<Tensor<B, 2>> = if self.layout.skip_conn {
            enc.skip.into_iter().map(tile).collect()
        } else {
            Vec::new()
        };
        let skip = self.layout.skip_conn.then_some(skip.as_slice());
        (self.decode(z, embed, cov_t.as_ref(), skip, blocks, fwd), l)
    }
}

impl<B: Compute> ScVaeIt<B> {
    /// Draws the masks and noise of one step.
    fn draw_step(
        &self,
        o: &ScvaeitObjective,
        batch: &Batch<B>,
        data: &TrainData<'_>,
        rngs: &mut StepRngs,
    ) -> ScvaeitStep<B> {
        let n = batch.n();
        let d = batch.n_features();
        let latent = self.layout.latent;
        let device = batch.x.device();
        let observed = &batch.host_copy().avail;
        // One modality: the missingness pattern of other random training cells.
        let other = (o.masks.modality_ranges.len() == 1).then(|| {
            let pick: Vec<usize> = (0..n)
                .map(|_| data.train_cells[rngs.masks.random_range(0..data.train_cells.len())])
                .collect();
            let (mut values, mut avail) = (vec![0f32; n * d], vec![0f32; n * d]);
            data.aligned.fill(&pick, &mut values, &mut avail);
            avail
        });
        let (mut kept, mut masked) = (vec![0f32; n * d], vec![0f32; n * d]);
        o.masks.generate(
            observed,
            other.as_deref(),
            &mut rngs.masks,
            &mut kept,
            &mut masked,
        );
        let eps =
            [0, 1, 2].map(|_| tensor2::<B>(randn(n * latent, &mut rngs.noise), n, latent, &device));
        let mmd = o.mmd_cov.map(|k| {
            let g = data.aligned.cov_widths[k];
            let mut onehot = vec![0f32; n * g];
            let mut sizes = vec![0usize; g];
            for (i, &c) in batch.codes[k].iter().enumerate() {
                onehot[i * g + c as usize] = 1.0;
                sizes[c as usize] += 1;
            }
            (tensor2::<B>(onehot, n, g, &device), sizes)
        });
        let host = B::HOST.then(|| Arc::new([kept.clone(), masked.clone()]));
        ScvaeitStep {
            kept: tensor2(kept, n, d, &device),
            masked: tensor2(masked, n, d, &device),
            host,
            eps,
            mmd,
        }
    }
}
