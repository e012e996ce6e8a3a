//! Multigrate's training objective (docs/models.md, Multigrate §3) and its place in the pipeline:
//! the masked reconstruction of every present modality from a sample of the
//! joint posterior, the KL of the joint posterior to N(0, I) (warmed up
//! linearly over `kl_warmup_epochs`), and an optional alignment penalty (MMD
//! or Jeffreys) across `integrate_on` groups and/or between the modalities'
//! own posteriors.

use super::{combine_experts, rows, sample, MultiVae};
use crate::backend::Compute;
use crate::batch::Batch;
use crate::config::{AlignmentLoss, AlignmentType, Kernel, MultigrateSettings, ResolvedConfig};
use crate::distributions::{
    jeffreys, kl_to_standard, mg_masked_log_prob, mmd_pair, nb_mixture_masked_ll, Noise,
};
use crate::module::network::{
    Decode, Latent, Loss, LossParts, Monitor, Network, Objective, Sampling, Schedule, Step,
    StepRngs, TrainSpec,
};
use crate::nn::{randn, tensor2, Dense, Fwd};
use burn::tensor::Tensor;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The settings of one `fit` (from the resolved config).
#[derive(Debug, Clone)]
pub(crate) struct MgObjective {
    /// `loss_coefs["recon"]`.
    recon: f64,
    /// `loss_coefs["kl"]` (times the warm-up factor of the epoch).
    kl: f64,
    /// `loss_coefs["integ"]`.
    integ: f64,
    /// Per-modality `loss_coefs["m"]`.
    modality: Vec<f64>,
    /// Alignment penalty.
    alignment: Option<AlignmentLoss>,
    /// What it compares.
    alignment_type: AlignmentType,
    /// MMD with the moments kernel instead of the Gaussian one.
    moments: bool,
    /// The step draws noise for each modality's own posterior (marginal alignment).
    marginal: bool,
    /// `integrate_on` covariate.
    integrate_on: Option<usize>,
    /// Probability of leaving one modality of a multi-modal cell out of the
    /// product of experts in a training step.
    modality_dropout: f64,
    /// Weight of the MMD between pairs of modalities' own posteriors.
    modality_alignment: f64,
    schedule: Schedule,
}

impl Objective for MgObjective {
    /// The reference monitors the validation reconstruction loss.
    fn spec(&self) -> TrainSpec {
        TrainSpec {
            schedule: self.schedule,
            sampling: Sampling {
                carry_order: false,
                drop_last: false,
                stratify: self.integrate_on,
            },
            monitor: Monitor::Reconstruction,
        }
    }
}

/// The model-specific inputs of one step.
#[derive(Debug, Clone)]
struct MgStep<B: Compute> {
    /// Noise of the joint sample, `[n, Z]`.
    eps: Tensor<B, 2>,
    /// Noise of each modality's own sample (marginal alignment only), `[n, Z]` each.
    eps_marginal: Vec<Tensor<B, 2>>,
}

impl<B: Compute> Network<B> for MultiVae<B> {
    type Settings = MultigrateSettings;
    type Objective = MgObjective;

    fn objective(&self, s: &MultigrateSettings, cfg: &ResolvedConfig) -> MgObjective {
        let mg = &s.section;
        MgObjective {
            recon: mg.recon_weight,
            kl: mg.kl_weight,
            integ: s.integ_weight,
            modality: cfg.modality_weights(),
            alignment: mg.alignment,
            alignment_type: mg.alignment_type,
            moments: mg.kernel == Kernel::Moments,
            marginal: mg.alignment.is_some()
                && matches!(
                    mg.alignment_type,
                    AlignmentType::Marginal | AlignmentType::Both
                ),
            integrate_on: self.layout.integrate_on,
            modality_dropout: mg.modality_dropout,
            modality_alignment: mg.modality_alignment,
            schedule: Schedule {
                kl_warmup: Some(s.kl_warmup_epochs),
                align_decay: None,
            },
        }
    }

    /// Returns `total` and the parts: per-modality reconstruction (mean over
    /// the batch's cells, masked), KL of the joint posterior (unweighted,
    /// mean), alignment penalty (unweighted).
    #[allow(clippy::needless_range_loop)] // pairs of modalities index three parallel lists
    fn loss(&self, o: &Self::Objective, s: Step<'_, B>, fwd: &mut Fwd<'_, B>) -> Loss<B> {
        let batch = s.batch;
        let step = &self.draw_step(o, batch, s.rngs);
        // modality dropout draws from the mask stream, in training steps only
        // (the steps that also apply dropout)
        let kept = (o.modality_dropout > 0.0 && fwd.dropout.is_some())
            .then(|| modality_dropout(batch, o.modality_dropout, &mut s.rngs.masks));
        let factors = s.factors;
        let l = &self.layout;
        let b = batch;
        let n = b.n();
        let n_mod = l.modalities.len();
        let device = b.x.device();
        let mut enc = self.encode(b, fwd);
        if let Some(kept) = &kept {
            // the joint posterior of the kept modalities; every measured
            // modality is still reconstructed below
            let (mu, logvar) = combine_experts(l.mix, &enc.marginals, kept, l.latent);
            enc.mu = mu;
            enc.logvar = logvar;
        }
        let z = sample(enc.mu.clone(), enc.logvar.clone(), step.eps.clone());
        let mods: Vec<usize> = (0..n_mod).filter(|&k| enc.marginals[k].is_some()).collect();
        let outs = self.decode(z.clone(), enc.embed.as_ref(), &mods, fwd);
        let mut recon_cell = Tensor::<B, 2>::zeros([n, 1], &device);
        let mut recon: Vec<Tensor<B, 1>> = vec![Tensor::zeros([1], &device); n_mod];
        for (&k, out) in mods.iter().zip(&outs) {
            let m = &l.modalities[k];
            let avail = b.avail.clone().slice([0..n, m.range.clone()]);
            let lt = self.log_theta(k, b.cov.as_ref());
            let nll = match &out.mix {
                // the mixture fits the raw counts, whatever the input transform
                Some(mix) => {
                    let raw = s.data.aligned.raw_rows(&b.cells, k);
                    let x = tensor2(raw, n, m.range.len(), &device);
                    let lt = lt.expect("an NB mixture has a dispersion");
                    let log_lib = m.nb_mixture.is_some_and(|s| s.library).then(|| {
                        let med = s.data.aligned.median_library(k).max(1.0);
                        (b.libs.clone().slice([0..n, k..k + 1]).clamp_min(1.0) / med).log()
                    });
                    nb_mixture_masked_ll(out.h.clone(), mix, lt, x, avail, log_lib).neg()
                }
                None => {
                    let x = b.x.clone().slice([0..n, m.range.clone()]);
                    let sf = m
                        .has_theta()
                        .then(|| b.libs.clone().slice([0..n, k..k + 1]));
                    let host = b.host_cols(&m.range);
                    mg_masked_log_prob(m.likelihood, out, x, avail, sf, lt, host).neg()
                }
            }; // [n, 1]
            let nll = nll * b.present.clone().slice([0..n, k..k + 1]);
            recon[k] = nll.clone().mean().reshape([1]);
            recon_cell = recon_cell + nll * o.modality[k];
        }
        let kl_cell = kl_to_standard(enc.mu.clone(), enc.logvar.clone()); // [n, 1]
        let kl = kl_cell.clone().mean().reshape([1]);
        let kl_weight = o.kl * factors.kl;
        let integ_weight = o.integ * factors.align;
        let mut total = (recon_cell * o.recon + kl_cell * kl_weight)
            .mean()
            .reshape([1]);
        let mut integ = Tensor::<B, 1>::zeros([1], &device);
        if integ_weight > 0.0 && o.alignment.is_some() {
            let add = |acc: &mut Tensor<B, 1>, t: Option<Tensor<B, 1>>| {
                if let Some(t) = t {
                    *acc = acc.clone() + t;
                }
            };
            let all: Vec<usize> = (0..n).collect();
            let groups: Vec<u32> = match o.integrate_on {
                Some(g) => batch.codes[g].clone(),
                None => vec![0; n],
            };
            if matches!(
                o.alignment_type,
                AlignmentType::Latent | AlignmentType::Both
            ) {
                let t = self.group_penalty(o, &all, &groups, &z, &enc.mu, &enc.logvar);
                add(&mut integ, t);
            }
            if matches!(
                o.alignment_type,
                AlignmentType::Marginal | AlignmentType::Both
            ) {
                let samples: Vec<Option<Tensor<B, 2>>> = enc
                    .marginals
                    .iter()
                    .zip(&step.eps_marginal)
                    .map(|(mg, e)| {
                        mg.as_ref()
                            .map(|(m, v)| sample(m.clone(), v.clone(), e.clone()))
                    })
                    .collect();
                for i in 0..n_mod {
                    let (Some((mi, vi)), Some(si)) = (&enc.marginals[i], &samples[i]) else {
                        continue;
                    };
                    for j in i + 1..n_mod {
                        let (Some((mj, vj)), Some(sj)) = (&enc.marginals[j], &samples[j]) else {
                            continue;
                        };
                        let both: Vec<usize> =
                            (0..n).filter(|&r| b.has(r, i) && b.has(r, j)).collect();
                        if both.len() < 2 {
                            continue;
                        }
                        let t = match o.alignment {
                            Some(AlignmentLoss::Jeffreys) => jeffreys(
                                rows(mi, &both),
                                rows(vi, &both),
                                rows(mj, &both),
                                rows(vj, &both),
                            ),
                            _ => mmd_pair(rows(si, &both), rows(sj, &both), o.moments),
                        };
                        add(&mut integ, Some(t));
                    }
                    let with_i = b.rows_with(i);
                    let t = self.group_penalty(o, &with_i, &groups, si, mi, vi);
                    add(&mut integ, t);
                }
            }
            total = total + integ.clone() * integ_weight;
        }
        let modal_weight = o.modality_alignment * factors.align;
        if modal_weight > 0.0 {
            // MMD between each pair of modalities' own posterior samples over
            // the cells that have both (reported with the alignment penalty)
            let mut modal = Tensor::<B, 1>::zeros([1], &device);
            for i in 0..n_mod {
                let Some((mi, vi)) = &enc.marginals[i] else {
                    continue;
                };
                let si = sample(mi.clone(), vi.clone(), step.eps_marginal[i].clone());
                for j in i + 1..n_mod {
                    let Some((mj, vj)) = &enc.marginals[j] else {
                        continue;
                    };
                    let both: Vec<usize> = (0..n).filter(|&r| b.has(r, i) && b.has(r, j)).collect();
                    if both.len() < 2 {
                        continue;
                    }
                    let sj = sample(mj.clone(), vj.clone(), step.eps_marginal[j].clone());
                    modal = modal + mmd_pair(rows(&si, &both), rows(&sj, &both), o.moments);
                }
            }
            total = total + modal.clone() * modal_weight;
            integ = integ + modal;
        }
        Loss {
            total,
            parts: LossParts {
                recon,
                masked: Vec::new(),
                kl,
                align: integ,
            },
        }
    }

    fn latent(&self, batch: &Batch<B>, only: Option<usize>, fwd: &mut Fwd<'_, B>) -> Latent<B> {
        let enc = self.encode(batch, fwd);
        let n = batch.n();
        match only {
            None => Latent {
                mu: enc.mu,
                logvar: enc.logvar,
                missing: vec![false; n],
            },
            // The modality's own posterior (its expert, without the prior).
            Some(k) => {
                let (mu, logvar) = enc.marginals[k].clone().unwrap_or_else(|| {
                    let zeros = Tensor::zeros([n, self.layout.latent], &batch.x.device());
                    (zeros.clone(), zeros)
                });
                Latent {
                    mu,
                    logvar,
                    missing: (0..n).map(|i| !batch.has(i, k)).collect(),
                }
            }
        }
    }

    fn output_biases(&mut self) -> &mut [Dense<B>] {
        &mut self.heads
    }

    fn impute(&self, batch: &Batch<B>, d: Decode<B>, fwd: &mut Fwd<'_, B>) -> Vec<Tensor<B, 3>> {
        MultiVae::decode_means(self, batch, d, fwd)
    }

    fn observation(&self, b: &Batch<B>, d: Decode<B>, f: &mut Fwd<'_, B>) -> Vec<Noise> {
        MultiVae::observation(self, b, d, f)
    }
}

/// Modality dropout: for each row measured with two or more modalities,
/// with probability `p` one of them (uniformly) is left out. Returns which
/// modalities enter the product of experts, `[n, M]` (1 = kept).
fn modality_dropout<B: Compute>(batch: &Batch<B>, p: f64, rng: &mut ChaCha8Rng) -> Tensor<B, 2> {
    let (n, n_mod) = (batch.n(), batch.ranges.len());
    let mut kept = batch.present_host.clone();
    for row in kept.chunks_mut(n_mod) {
        let have: Vec<usize> = (0..n_mod).filter(|&k| row[k]).collect();
        if have.len() >= 2 && rng.random::<f64>() < p {
            row[have[rng.random_range(0..have.len())]] = false;
        }
    }
    let v = kept.iter().map(|&k| k as u8 as f32).collect();
    tensor2(v, n, n_mod, &batch.x.device())
}

impl<B: Compute> MultiVae<B> {
    /// Draws the noise of one step.
    fn draw_step(&self, o: &MgObjective, batch: &Batch<B>, rngs: &mut StepRngs) -> MgStep<B> {
        let (n, z) = (batch.n(), self.layout.latent);
        let device = batch.x.device();
        let mut draw = || tensor2(randn(n * z, &mut rngs.noise), n, z, &device);
        let eps = draw();
        let eps_marginal = if o.marginal || o.modality_alignment > 0.0 {
            (0..batch.ranges.len()).map(|_| draw()).collect()
        } else {
            Vec::new()
        };
        MgStep { eps, eps_marginal }
    }

    /// Alignment penalty `D(z, groups)` summed over pairs of groups (rows in `idx`).
    fn group_penalty(
        &self,
        w: &MgObjective,
        rows_idx: &[usize],
        groups: &[u32],
        sample: &Tensor<B, 2>,
        mu: &Tensor<B, 2>,
        lv: &Tensor<B, 2>,
    ) -> Option<Tensor<B, 1>> {
        let n_groups = self.layout.n_groups();
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_groups];
        for &r in rows_idx {
            members[groups[r] as usize].push(r);
        }
        let present: Vec<&Vec<usize>> = members.iter().filter(|m| !m.is_empty()).collect();
        let mut total: Option<Tensor<B, 1>> = None;
        for a in 0..present.len() {
            for b in a + 1..present.len() {
                let t = self.pair_penalty(w, present[a], present[b], sample, mu, lv, mu, lv);
                total = Some(match total {
                    Some(s) => s + t,
                    None => t,
                });
            }
        }
        total
    }

    #[allow(clippy::too_many_arguments)]
    fn pair_penalty(
        &self,
        w: &MgObjective,
        ia: &[usize],
        ib: &[usize],
        sample: &Tensor<B, 2>,
        mu_a: &Tensor<B, 2>,
        lv_a: &Tensor<B, 2>,
        mu_b: &Tensor<B, 2>,
        lv_b: &Tensor<B, 2>,
    ) -> Tensor<B, 1> {
        match w.alignment {
            Some(AlignmentLoss::Jeffreys) => {
                let k = ia.len().min(ib.len());
                jeffreys(
                    rows(mu_a, &ia[..k]),
                    rows(lv_a, &ia[..k]),
                    rows(mu_b, &ib[..k]),
                    rows(lv_b, &ib[..k]),
                )
            }
            _ => mmd_pair(rows(sample, ia), rows(sample, ib), w.moments),
        }
    }
}
