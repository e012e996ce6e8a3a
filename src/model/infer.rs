//! Embedding and imputation (spec §5), with batch norms in inference mode.
//!
//! The reference runs inference with batch-norm *minibatch* statistics over 5
//! shuffled repeats, so a cell's output depends on its minibatch companions
//! (pitfall §7.3). scmosaic uses the running statistics learned in training,
//! which gives one deterministic answer per cell, independent of batch size and
//! order.

use crate::batcher::{Aligned, Alignment};
use crate::module::{Inputs, ScVaeIt};
use crate::nn::{tensor2, to_vec, BnMode, BnStats};
use crate::train::{rng_for, Stream};
use burn::tensor::{backend::Backend, Tensor};
use rand::Rng;
use rand_distr::StandardNormal;
use std::ops::Range;

/// Latent embedding of cells.
#[derive(Debug, Clone)]
pub struct Embedding {
    /// Number of cells.
    pub n_cells: usize,
    /// Latent dimension.
    pub dim: usize,
    /// Posterior means, row-major `[n_cells, dim]`.
    pub values: Vec<f32>,
    /// How the data were matched to the model.
    pub alignment: Alignment,
}

/// Output scale of imputed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImputeScale {
    /// The likelihood's own scale: log-normalized values (`log1p` of counts
    /// per `target_sum`) for log-normalized modalities, probabilities for
    /// Bernoulli, the input scale otherwise.
    #[default]
    Normalized,
    /// Raw-count scale for log-normalized modalities: each draw's decoder mean is
    /// mapped to `expm1(v) * library / target_sum` and then averaged (the posterior
    /// mean of the count-scale value), the library being the cell's own for that
    /// modality when measured, else the median training library. Other modalities
    /// as `Normalized`.
    Counts,
}

/// What to impute.
#[derive(Debug, Clone)]
pub struct ImputeRequest {
    /// Modality to output.
    pub modality: String,
    /// Features to output (names); `None` = all of the modality's features.
    pub features: Option<Vec<String>>,
    /// Hide the target modality from the encoder even where it was measured
    /// (pure cross-modal prediction). Otherwise measured values are used and
    /// the output is their denoised reconstruction.
    pub hide_target: bool,
    /// Posterior draws averaged (`None` = the config's `inference.n_draws`;
    /// 0 = decode the posterior mean only).
    pub n_draws: Option<usize>,
    /// Output scale.
    pub scale: ImputeScale,
    /// Decode under these covariate levels (`(covariate, level)`), e.g. to
    /// remove a batch effect; other covariates keep each cell's own level.
    pub covariates: Vec<(String, String)>,
    /// Also return the per-value variance over draws.
    pub variance: bool,
    /// Also return every draw.
    pub draws: bool,
    /// Seed of the posterior draws (`None` = the training seed).
    pub seed: Option<u64>,
}

impl ImputeRequest {
    /// Defaults: all features of `modality`, config draws, normalized scale.
    pub fn new(modality: impl Into<String>) -> Self {
        ImputeRequest {
            modality: modality.into(),
            features: None,
            hide_target: false,
            n_draws: None,
            scale: ImputeScale::Normalized,
            covariates: Vec::new(),
            variance: false,
            draws: false,
            seed: None,
        }
    }
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
    /// Number of draws used.
    pub n_draws: usize,
    /// How the data were matched to the model.
    pub alignment: Alignment,
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
    /// Map each draw to raw-count scale before averaging: `expm1(v) * library / target_sum`
    /// with one library per cell (log-normalized modalities, counts scale).
    pub counts: Option<(f32, Vec<f32>)>,
}

fn cov_tensor<B: Backend>(
    aligned: &Aligned<'_>,
    cells: &[usize],
    over: &[Option<u32>],
    device: &B::Device,
) -> Option<Tensor<B, 2>> {
    let nb: usize = aligned.cov_widths.iter().sum();
    (nb > 0).then(|| {
        let mut buf = vec![0f32; cells.len() * nb];
        aligned.fill_covariates(cells, over, &mut buf);
        tensor2::<B>(buf, cells.len(), nb, device)
    })
}

/// Posterior means `[n, d]` of all cells.
pub(crate) fn embed<B: Backend>(
    module: &ScVaeIt<B>,
    aligned: &Aligned<'_>,
    batch: usize,
    bn: BnMode,
    device: &B::Device,
) -> Vec<f32> {
    let n = aligned.n_cells;
    let d = aligned.n_features;
    let latent = module.layout.latent;
    let mut out = Vec::with_capacity(n * latent);
    let all: Vec<usize> = (0..n).collect();
    for cells in all.chunks(batch.max(1)) {
        let m = cells.len();
        let (mut x, mut avail) = (vec![0f32; m * d], vec![0f32; m * d]);
        aligned.fill(cells, &mut x, &mut avail);
        let cov = cov_tensor::<B>(aligned, cells, &[], device);
        let mut stats = BnStats::new(bn);
        let input = Inputs {
            x: tensor2(x, m, d, device),
            avail: tensor2(avail, m, d, device),
            cov,
        };
        let enc = module.encode(&input, &mut stats);
        out.extend(to_vec(enc.mu));
    }
    out
}

/// Decoder means `[n, n_out]` (averaged over draws on the output scale) and,
/// if requested, the draws `[n, n_draws, n_out]`.
pub(crate) fn impute<B: Backend>(
    module: &ScVaeIt<B>,
    aligned: &Aligned<'_>,
    plan: &ImputePlan,
    batch: usize,
    bn: BnMode,
    device: &B::Device,
) -> (Vec<f32>, Option<Vec<f32>>) {
    let n = aligned.n_cells;
    let d = aligned.n_features;
    let latent = module.layout.latent;
    let l = plan.n_draws;
    let decoded: usize = plan
        .blocks
        .iter()
        .map(|(k, _)| module.layout.blocks[*k].len)
        .sum::<usize>()
        .max(module.layout.hidden[0]);
    // Keep the largest decoder intermediate around 4M values.
    let chunk = (4_000_000 / (l.max(1) * decoded)).clamp(1, batch.max(1));
    let mut mean = vec![0f32; n * plan.n_out];
    let mut draws = plan.keep_draws.then(|| vec![0f32; n * l * plan.n_out]);
    let mut rng = rng_for(plan.seed, Stream::Impute, 0);
    let block_ids: Vec<usize> = plan.blocks.iter().map(|(k, _)| *k).collect();
    let all: Vec<usize> = (0..n).collect();
    for cells in all.chunks(chunk) {
        let m = cells.len();
        let (mut x, mut avail) = (vec![0f32; m * d], vec![0f32; m * d]);
        aligned.fill(cells, &mut x, &mut avail);
        if let Some(r) = &plan.hide {
            for i in 0..m {
                avail[i * d + r.start..i * d + r.end].fill(0.0);
            }
        }
        let cov = cov_tensor::<B>(aligned, cells, &[], device);
        let dec_cov = if plan.dec_override.iter().any(|o| o.is_some()) {
            cov_tensor::<B>(aligned, cells, &plan.dec_override, device)
        } else {
            cov.clone()
        };
        let noise = (l > 0).then(|| {
            let v: Vec<f32> = (0..m * l * latent)
                .map(|_| rng.sample::<f32, _>(StandardNormal))
                .collect();
            (l, tensor2::<B>(v, m * l, latent, device))
        });
        let mut stats = BnStats::new(bn);
        let input = Inputs {
            x: tensor2(x, m, d, device),
            avail: tensor2(avail, m, d, device),
            cov,
        };
        let outs = module.impute(&input, dec_cov.as_ref(), &block_ids, noise, &mut stats);
        let base = cells[0];
        let scale = plan.counts.as_ref().map(|(target, libs)| {
            let f: Vec<f32> = cells.iter().map(|&r| libs[r] / target).collect();
            Tensor::<B, 1>::from_floats(f.as_slice(), device).reshape([m, 1, 1])
        });
        for ((k, cols), out) in plan.blocks.iter().zip(outs) {
            let dk = module.layout.blocks[*k].len;
            let out = match &scale {
                Some(f) => (out.exp() - 1.0).clamp_min(0.0) * f.clone(), // [m, L, d_k]
                None => out,
            };
            let lk = out.dims()[1];
            let bm = to_vec(out.clone().mean_dim(1)); // [m, 1, d_k]
            for i in 0..m {
                for &(c, o) in cols {
                    mean[(base + i) * plan.n_out + o] = bm[i * dk + c];
                }
            }
            if let Some(all_draws) = draws.as_mut() {
                let bd = to_vec(out); // [m, L, d_k]
                for i in 0..m {
                    for s in 0..lk {
                        for &(c, o) in cols {
                            all_draws[((base + i) * l + s) * plan.n_out + o] =
                                bd[(i * lk + s) * dk + c];
                        }
                    }
                }
            }
        }
    }
    (mean, draws)
}
