//! Input transforms and the data-derived constants a model keeps.
//!
//! scVAEIT does no preprocessing itself; its paper log-normalizes RNA and ADT
//! separately (`log1p(1e4 x / library)`) and binarizes ATAC (docs/models.md, scVAEIT §1.5). Here the
//! transform is part of the model (raw counts in), and everything it derives from
//! the training data is stored with the model:
//! - per feature, the mean share of the library (`feature_fraction`), so a cell
//!   that lacks some features (smaller panel, or features absent from new data)
//!   is normalized consistently: `log1p(target_sum * F_S * x / library_S)` with
//!   `library_S` the total over its observed features `S` and `F_S` their summed
//!   share (the reference's transfer rule, scVAEIT §5, generalised per panel);
//! - the median library size, to map imputations back to counts;
//! - the output bounds of the likelihoods (NB mean bound = block maximum, etc.).

use crate::config::Normalization;
use crate::data::Likelihood;
use crate::module::OutputConstants;
use crate::schema::Schema;
use serde::{Deserialize, Serialize};

/// Constants of one modality's transform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModalityPreprocessing {
    /// The transform.
    pub normalization: Normalization,
    /// Median over training cells of the library size (sum of raw values).
    pub median_library: f32,
    /// Mean share of the library per feature (sums to 1); empty unless
    /// log-normalized. Stored as a tensor in checkpoints.
    #[serde(skip)]
    pub feature_fraction: Vec<f32>,
}

/// Transforms of all modalities, in model order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// One entry per modality.
    pub modalities: Vec<ModalityPreprocessing>,
}

impl ModalityPreprocessing {
    /// Scale applied to a cell's raw values before the transform, given the
    /// library over its observed features and their summed share.
    #[inline]
    pub fn cell_scale(&self, library: f64, share: f64) -> f32 {
        match self.normalization {
            Normalization::LogNormalize { target_sum } if library > 0.0 => {
                (target_sum as f64 * share / library) as f32
            }
            _ => 1.0,
        }
    }

    /// The transform of one raw value (after [`Self::cell_scale`]).
    #[inline]
    pub fn transform(&self, v: f32, scale: f32) -> f32 {
        match self.normalization {
            Normalization::None => v,
            Normalization::LogNormalize { .. } => (v * scale).ln_1p(),
            Normalization::Binarize => (v > 0.0) as u8 as f32,
            // The per-cell centre is subtracted by the batcher (it needs the whole row).
            Normalization::Clr => v.ln_1p(),
        }
    }
}

/// Per-feature running statistics of transformed training values.
#[derive(Debug, Clone)]
pub(crate) struct FeatureStats {
    pub count: Vec<u64>,
    pub sum: Vec<f64>,
    pub sumsq: Vec<f64>,
    pub max: Vec<f32>,
    pub min: Vec<f32>,
}

impl FeatureStats {
    pub fn new(d: usize) -> Self {
        FeatureStats {
            count: vec![0; d],
            sum: vec![0.0; d],
            sumsq: vec![0.0; d],
            max: vec![f32::NEG_INFINITY; d],
            min: vec![f32::INFINITY; d],
        }
    }

    #[inline]
    pub fn add(&mut self, j: usize, v: f32) {
        self.count[j] += 1;
        self.sum[j] += v as f64;
        self.sumsq[j] += (v as f64) * (v as f64);
        if v > self.max[j] {
            self.max[j] = v;
        }
        if v < self.min[j] {
            self.min[j] = v;
        }
    }
}

impl FeatureStats {
    /// Mean of each feature of `r` over its observed entries; features never
    /// observed get the average of the others.
    pub fn means(&self, r: std::ops::Range<usize>) -> Vec<f64> {
        let mean = |j: usize| (self.count[j] > 0).then(|| self.sum[j] / self.count[j] as f64);
        let seen: Vec<f64> = r.clone().filter_map(mean).collect();
        let fallback = seen.iter().sum::<f64>() / seen.len().max(1) as f64;
        r.map(|j| mean(j).unwrap_or(fallback)).collect()
    }

    /// Statistics of the transformed values of `aligned`, per feature, over
    /// the entries that are observed (dense buffers of 128 cells at a time,
    /// so a 25k-peak modality costs ~30 MB here).
    pub fn observed(aligned: &crate::align::Aligned<'_>) -> FeatureStats {
        let d = aligned.n_features;
        let mut stats = FeatureStats::new(d);
        let all: Vec<usize> = (0..aligned.n_cells).collect();
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
        stats
    }
}

/// `ln(p / (1 - p))` with `p` clipped to `[1e-4, 1 - 1e-4]`.
pub(crate) fn logits(p: &[f64]) -> Vec<f32> {
    p.iter()
        .map(|&p| {
            let p = p.clamp(1e-4, 1.0 - 1e-4);
            (p / (1.0 - p)).ln() as f32
        })
        .collect()
}

/// Output bounds per feature from statistics of the transformed training
/// values (docs/models.md, scVAEIT §1.4, current package): NB/ZINB/Poisson upper bound = the
/// block's maximum (lower bound 0); Gaussian centre = feature mean, bounds =
/// the block's extreme of `mean ± 3 sd` and the observed range; Bernoulli [0, 1].
///
/// The reference uses per-feature maxima for ZINB; here ZINB uses the block
/// maximum like NB, so a feature that is all zero in training still gets a
/// usable mean range.
pub(crate) fn output_constants(
    schema: &Schema,
    likelihoods: &[Likelihood],
    stats: &FeatureStats,
    max_disp: f64,
) -> OutputConstants {
    let d = schema.n_features();
    let mut center = vec![0f32; d];
    let mut lo = vec![0f32; d];
    let mut hi = vec![1f32; d];
    let mut col = 0;
    for (ms, &lik) in schema.modalities.iter().zip(likelihoods) {
        for b in &ms.blocks {
            let r = col..col + b.len;
            match lik {
                Likelihood::Nb | Likelihood::Zinb | Likelihood::Poisson => {
                    let m = r
                        .clone()
                        .filter(|&j| stats.count[j] > 0)
                        .map(|j| stats.max[j])
                        .fold(0f32, f32::max);
                    let m = if m > 0.0 { m } else { 1.0 };
                    for j in r {
                        lo[j] = 0.0;
                        hi[j] = m;
                    }
                }
                Likelihood::Bernoulli => {}
                Likelihood::Gaussian => {
                    let (mut bmax, mut bmin) = (f32::NEG_INFINITY, f32::INFINITY);
                    for j in r.clone() {
                        let n = stats.count[j];
                        let (mean, sd) = if n > 0 {
                            let mean = stats.sum[j] / n as f64;
                            let var = (stats.sumsq[j] / n as f64 - mean * mean).max(0.0);
                            (mean, var.sqrt())
                        } else {
                            (0.0, max_disp)
                        };
                        center[j] = mean as f32;
                        let (omax, omin) = if n > 0 {
                            (stats.max[j], stats.min[j])
                        } else {
                            (mean as f32, mean as f32)
                        };
                        bmax = bmax.max(((mean + 3.0 * sd) as f32).max(omax));
                        bmin = bmin.min(((mean - 3.0 * sd) as f32).min(omin));
                    }
                    for j in r {
                        lo[j] = bmin;
                        hi[j] = bmax;
                    }
                }
            }
            col += b.len;
        }
    }
    OutputConstants { center, lo, hi }
}

/// Median of a list (0 for an empty list).
pub(crate) fn median(mut v: Vec<f32>) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transforms() {
        let p = ModalityPreprocessing {
            normalization: Normalization::LogNormalize { target_sum: 1e4 },
            median_library: 100.0,
            feature_fraction: vec![],
        };
        let s = p.cell_scale(200.0, 1.0);
        assert!((p.transform(2.0, s) - (1.0f32 + 100.0).ln()).abs() < 1e-6);
        // a cell with half of the library's share observed is scaled as if complete
        let s_half = p.cell_scale(100.0, 0.5);
        assert_eq!(s, s_half);
        let b = ModalityPreprocessing {
            normalization: Normalization::Binarize,
            ..p
        };
        assert_eq!(b.transform(3.0, 1.0), 1.0);
        assert_eq!(b.transform(0.0, 1.0), 0.0);
        assert_eq!(median(vec![3.0, 1.0, 2.0, 10.0]), 2.5);
    }
}
