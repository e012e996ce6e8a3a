//! Embedding and imputation (docs/models.md, scVAEIT §5 and Multigrate §5), with batch norms in inference mode.
//!
//! The reference runs inference with batch-norm *minibatch* statistics over 5
//! shuffled repeats, so a cell's output depends on its minibatch companions
//! (docs/models.md, scVAEIT §7.3). scmosaic uses the running statistics learned in training,
//! which gives one deterministic answer per cell, independent of batch size and
//! order. Multigrate has no batch norm by default (LayerNorm), and runs without dropout here.

use super::engine::InferJob;
use crate::align::Alignment;
use crate::backend::Compute;
use crate::batch::Batch;
use crate::module::network::{Decode, Network};
use crate::nn::{tensor2, to_vec, BnStats, Fwd};
use crate::train::{rng_for, Stream};
use std::ops::Range;

/// Latent embedding of cells.
#[derive(Debug, Clone)]
pub struct Embedding {
    /// Number of cells.
    pub n_cells: usize,
    /// Latent dimension.
    pub dim: usize,
    /// Latent values, row-major `[n_cells, dim]`: posterior means unless a
    /// sample was requested; for one modality's marginal latent (Multigrate),
    /// cells without that modality are NaN.
    pub values: Vec<f32>,
    /// How the data were matched to the model.
    pub alignment: Alignment,
}

/// Imputed values.
#[derive(Debug, Clone)]
pub struct Imputation {
    /// Number of cells.
    pub n_cells: usize,
    /// Output feature names (columns).
    pub features: Vec<String>,
    /// Mean over draws, row-major `[n_cells, features]`.
    pub mean: Vec<f32>,
    /// Variance over draws, `[n_cells, features]` (if requested and draws > 1).
    pub variance: Option<Vec<f32>>,
    /// Every draw, `[n_draws, n_cells, features]` (if requested).
    pub draws: Option<Vec<f32>>,
    /// Per requested quantile (in the request's order), that quantile over
    /// the draws, `[quantiles, n_cells, features]` (empty unless requested).
    pub quantiles: Vec<f32>,
    /// Number of draws used.
    pub n_draws: usize,
    /// How the data were matched to the model.
    pub alignment: Alignment,
}

/// How each decoded (or sampled) vector is mapped to the requested output
/// scale (per cell `libs`).
#[derive(Clone)]
pub(crate) enum CountsMap {
    /// Log-normalized modalities: `expm1(v) * library / target_sum`.
    LogNormalized { target: f32, libs: Vec<f32> },
    /// NB/ZINB proportions (Multigrate): `v * library`.
    Proportions { libs: Vec<f32> },
    /// CLR values: `exp(v + c) - 1` with `c` such that the cell's values sum to
    /// its library (needs the modality's whole feature vector, one block).
    Clr { libs: Vec<f32> },
    /// Counts to proportions of the library: `v / library`.
    CountsToProportions { libs: Vec<f32> },
    /// Counts to CLR: `log1p(v) - mean(log1p(v))` (whole vector, one block).
    CountsToClr,
    /// Counts to log-normalized values: `log1p(target_sum * v / sum(v))`.
    CountsToLogNormalized { target: f32 },
}

impl CountsMap {
    /// Maps one cell's decoded vector of a block in place.
    fn apply(&self, cell: usize, v: &mut [f32]) {
        match self {
            CountsMap::LogNormalized { target, libs } => {
                let f = libs[cell] / target;
                v.iter_mut().for_each(|x| *x = (x.exp_m1() * f).max(0.0));
            }
            CountsMap::Proportions { libs } => v.iter_mut().for_each(|x| *x *= libs[cell]),
            CountsMap::Clr { libs } => {
                // sum_j (exp(v_j + c) - 1) = L  =>  exp(c) = (L + d) / sum_j exp(v_j)
                let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let s: f64 = v.iter().map(|&x| ((x - max) as f64).exp()).sum();
                let k = (libs[cell] as f64 + v.len() as f64) / s;
                v.iter_mut()
                    .for_each(|x| *x = ((((*x - max) as f64).exp() * k) - 1.0).max(0.0) as f32);
            }
            CountsMap::CountsToProportions { libs } => {
                let l = libs[cell].max(1e-12);
                v.iter_mut().for_each(|x| *x /= l);
            }
            CountsMap::CountsToClr => {
                let mean = v.iter().map(|&x| (x.max(0.0) as f64).ln_1p()).sum::<f64>()
                    / v.len().max(1) as f64;
                v.iter_mut()
                    .for_each(|x| *x = ((x.max(0.0) as f64).ln_1p() - mean) as f32);
            }
            CountsMap::CountsToLogNormalized { target } => {
                let s: f64 = v.iter().map(|&x| x.max(0.0) as f64).sum();
                let f = if s > 0.0 { *target as f64 / s } else { 0.0 };
                v.iter_mut()
                    .for_each(|x| *x = (x.max(0.0) as f64 * f).ln_1p() as f32);
            }
        }
    }
}

/// Resolved imputation work.
pub(crate) struct ImputePlan {
    /// Blocks to decode, with for each the (local column in block, output column) pairs.
    pub blocks: Vec<(usize, Vec<(usize, usize)>)>,
    pub n_out: usize,
    pub n_draws: usize,
    pub keep_draws: bool,
    /// Global columns hidden from the encoder.
    pub hide: Option<Range<usize>>,
    /// Per model covariate: level to decode under.
    pub dec_override: Vec<Option<u32>>,
    pub seed: u64,
    /// Map each decoder mean to the output scale before averaging.
    pub counts: Option<CountsMap>,
    /// Posterior-predictive draws (`None`: decoder means).
    pub predictive: Option<PredictivePlan>,
}

/// How posterior-predictive draws are sampled and mapped.
pub(crate) struct PredictivePlan {
    /// Per cell: the library that scales count means given as proportions.
    pub libs: Vec<f32>,
    /// Map of sampled counts (NB, NB mixture) to the output scale.
    pub from_counts: Option<CountsMap>,
    /// Map of other samples (on the modality's input scale) to the output scale.
    pub other: Option<CountsMap>,
}

/// What [`embed`] returns per cell.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EmbedPlan {
    /// Only this modality's input (the others are hidden from the encoder;
    /// scVAEIT then encodes the rest, Multigrate returns that modality's own
    /// posterior).
    pub only: Option<usize>,
    /// Draw one posterior sample with this seed instead of the mean.
    pub sample: Option<u64>,
}

/// Latent values `[n, Z]` of all cells of `aligned`.
pub(crate) fn embed<B: Compute, N: Network<B>>(
    net: &N,
    job: InferJob<'_>,
    plan: EmbedPlan,
    device: &B::Device,
) -> Vec<f32> {
    let (aligned, layout) = (job.aligned, job.layout);
    let n = aligned.n_cells;
    let latent = layout.latent;
    let mut out = Vec::with_capacity(n * latent);
    let mut rng = plan.sample.map(|s| rng_for(s, Stream::Embed, 0));
    let hide: Vec<Range<usize>> = match plan.only {
        None => Vec::new(),
        Some(k) => (0..layout.n_modalities())
            .filter(|&m| m != k)
            .map(|m| layout.modality_ranges[m].clone())
            .collect(),
    };
    let all: Vec<usize> = (0..n).collect();
    for cells in all.chunks(job.batch.max(1)) {
        let m = cells.len();
        let b = Batch::<B>::new(aligned, cells, &hide, device);
        let mut stats = BnStats::new(job.bn);
        let mut fwd = Fwd {
            stats: &mut stats,
            dropout: None,
        };
        let post = net.latent(&b, plan.only, &mut fwd);
        let z = match rng.as_mut() {
            None => post.mu,
            Some(r) => {
                let e = crate::nn::randn(m * latent, r);
                post.mu + (post.logvar * 0.5).exp() * tensor2::<B>(e, m, latent, device)
            }
        };
        let mut v = to_vec(z);
        for (i, &miss) in post.missing.iter().enumerate() {
            if miss {
                v[i * latent..(i + 1) * latent].fill(f32::NAN);
            }
        }
        out.extend(v);
    }
    out
}

/// Decoder means `[n, n_out]` (averaged over draws on the output scale) and,
/// if requested, the draws `[n, n_draws, n_out]`. With
/// [`ImputePlan::predictive`], each draw samples the observation model
/// instead.
pub(crate) fn impute<B: Compute, N: Network<B>>(
    net: &N,
    job: InferJob<'_>,
    plan: &ImputePlan,
    device: &B::Device,
) -> (Vec<f32>, Option<Vec<f32>>) {
    let (aligned, layout) = (job.aligned, job.layout);
    let n = aligned.n_cells;
    let latent = layout.latent;
    let l = plan.n_draws;
    let decoded: usize = plan
        .blocks
        .iter()
        .map(|(k, _)| layout.blocks[*k].len)
        .sum::<usize>()
        .max(layout.hidden[0]);
    // Keep the largest decoder intermediate around 4M values.
    let chunk = (4_000_000 / (l.max(1) * decoded)).clamp(1, job.batch.max(1));
    let mut mean = vec![0f32; n * plan.n_out];
    let mut draws = plan.keep_draws.then(|| vec![0f32; n * l * plan.n_out]);
    let mut rng = rng_for(plan.seed, Stream::Impute, 0);
    let mut pp_rng = rng_for(plan.seed, Stream::Predictive, 0);
    let block_ids: Vec<usize> = plan.blocks.iter().map(|(k, _)| *k).collect();
    let hide: Vec<Range<usize>> = plan.hide.iter().cloned().collect();
    let nb = aligned.cov_dim();
    let all: Vec<usize> = (0..n).collect();
    for cells in all.chunks(chunk) {
        let m = cells.len();
        let b = Batch::<B>::new(aligned, cells, &hide, device);
        let dec_cov = if plan.dec_override.iter().any(|o| o.is_some()) {
            (nb > 0).then(|| {
                let mut buf = vec![0f32; m * nb];
                aligned.fill_covariates(cells, &plan.dec_override, &mut buf);
                tensor2::<B>(buf, m, nb, device)
            })
        } else {
            b.cov.clone()
        };
        let noise = (l > 0).then(|| {
            let v = crate::nn::randn(m * l * latent, &mut rng);
            (l, tensor2::<B>(v, m * l, latent, device))
        });
        let mut stats = BnStats::new(job.bn);
        let mut fwd = Fwd {
            stats: &mut stats,
            dropout: None,
        };
        let decode = Decode {
            cov: dec_cov,
            targets: block_ids.clone(),
            draws: noise,
        };
        let base = cells[0];
        // per target: host values [m, L, d_k] on the output scale
        let outs: Vec<Vec<f32>> = match &plan.predictive {
            None => net
                .impute(&b, decode, &mut fwd)
                .into_iter()
                .zip(&plan.blocks)
                .map(|(out, (k, _))| {
                    let (dk, lk) = (layout.blocks[*k].len, out.dims()[1]);
                    let mut host = to_vec(out);
                    if let Some(map) = &plan.counts {
                        for (r, v) in host.chunks_mut(dk).enumerate() {
                            map.apply(base + r / lk, v);
                        }
                    }
                    host
                })
                .collect(),
            Some(pp) => {
                let noises = net.observation(&b, decode, &mut fwd);
                let lk = l.max(1);
                noises
                    .iter()
                    .zip(&plan.blocks)
                    .map(|(nz, (k, _))| {
                        let dk = layout.blocks[*k].len;
                        let mut v = vec![0f32; m * lk * dk];
                        for (row, out) in v.chunks_mut(dk).enumerate() {
                            nz.sample(row, dk, pp.libs[base + row / lk], &mut pp_rng, out);
                        }
                        let map = if nz.on_counts() {
                            &pp.from_counts
                        } else {
                            &pp.other
                        };
                        if let Some(map) = map {
                            for (row, out) in v.chunks_mut(dk).enumerate() {
                                map.apply(base + row / lk, out);
                            }
                        }
                        v
                    })
                    .collect()
            }
        };
        for ((k, cols), host) in plan.blocks.iter().zip(outs) {
            let dk = layout.blocks[*k].len;
            let lk = host.len() / (m * dk).max(1);
            for i in 0..m {
                for &(c, o) in cols {
                    let sum: f32 = (0..lk).map(|s| host[(i * lk + s) * dk + c]).sum();
                    mean[(base + i) * plan.n_out + o] = sum / lk as f32;
                }
            }
            if let Some(all_draws) = draws.as_mut() {
                for i in 0..m {
                    for s in 0..lk {
                        for &(c, o) in cols {
                            all_draws[((base + i) * l + s) * plan.n_out + o] =
                                host[(i * lk + s) * dk + c];
                        }
                    }
                }
            }
        }
    }
    (mean, draws)
}
