//! scVAEIT's mask generator (docs/models.md, scVAEIT §3.1; the reference's `ModalMaskGenerator`).
//!
//! For each cell of a minibatch, starting from its real availability:
//! 1. with probability 1/2 the cell gets feature-level masking: each observed
//!    entry is hidden with probability `p_feat`;
//! 2. with several modalities, one modality `k ~ p_modal` is hidden whole, provided
//!    the cell has at least one observed feature in another modality;
//!    with one modality, the missingness pattern of another random training
//!    cell is transplanted (entries it lacks are hidden);
//! 3. truly missing entries stay missing.
//!
//! The result is three 0/1 buffers: `observed` (mask != -1), `kept` (mask == 0)
//! and `masked` (mask == +1).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::ops::Range;

/// Mask generator settings.
#[derive(Debug, Clone)]
pub(crate) struct MaskGenerator {
    pub p_feat: f64,
    /// Cumulative modality probabilities.
    pub p_modal_cum: Vec<f64>,
    pub modality_ranges: Vec<Range<usize>>,
}

impl MaskGenerator {
    pub fn new(p_feat: f64, p_modal: &[f64], modality_ranges: Vec<Range<usize>>) -> Self {
        let mut acc = 0.0;
        let p_modal_cum = p_modal
            .iter()
            .map(|p| {
                acc += p;
                acc
            })
            .collect();
        MaskGenerator {
            p_feat,
            p_modal_cum,
            modality_ranges,
        }
    }

    fn n_features(&self) -> usize {
        self.modality_ranges.last().map_or(0, |r| r.end)
    }

    /// Fills `kept` and `masked` (`[n, D]`) from `observed` (`[n, D]`).
    /// `other` (single-modality models only) holds the availability of `n`
    /// other random training cells.
    pub fn generate(
        &self,
        observed: &[f32],
        other: Option<&[f32]>,
        rng: &mut ChaCha8Rng,
        kept: &mut [f32],
        masked: &mut [f32],
    ) {
        let d = self.n_features();
        let n = observed.len() / d.max(1);
        masked.fill(0.0);
        for i in 0..n {
            let obs = &observed[i * d..(i + 1) * d];
            let msk = &mut masked[i * d..(i + 1) * d];
            if rng.random_bool(0.5) && self.p_feat > 0.0 {
                for j in 0..d {
                    if obs[j] > 0.0 && rng.random_bool(self.p_feat) {
                        msk[j] = 1.0;
                    }
                }
            }
            if self.modality_ranges.len() > 1 {
                let u: f64 = rng.random();
                let total = *self.p_modal_cum.last().expect("modalities");
                let k = self
                    .p_modal_cum
                    .iter()
                    .position(|&c| u * total < c)
                    .unwrap_or(self.p_modal_cum.len() - 1);
                let other_observed = self
                    .modality_ranges
                    .iter()
                    .enumerate()
                    .any(|(m, r)| m != k && obs[r.clone()].iter().any(|&a| a > 0.0));
                if other_observed {
                    for j in self.modality_ranges[k].clone() {
                        msk[j] = obs[j];
                    }
                }
            } else if let Some(other) = other {
                let oth = &other[i * d..(i + 1) * d];
                for j in 0..d {
                    if oth[j] == 0.0 && obs[j] > 0.0 {
                        msk[j] = 1.0;
                    }
                }
            }
        }
        for ((k, &o), &m) in kept.iter_mut().zip(observed).zip(masked.iter()) {
            *k = o * (1.0 - m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn mask_statistics() {
        // two modalities: 40 + 10 features; cells fully observed except cell pattern below
        let d = 50;
        let n = 4000;
        let gen = MaskGenerator::new(0.2, &[0.25, 0.75], vec![0..40, 40..50]);
        let mut observed = vec![1f32; n * d];
        // every 4th cell lacks modality 2 entirely
        for i in (0..n).step_by(4) {
            observed[i * d + 40..(i + 1) * d].fill(0.0);
        }
        let mut kept = vec![0f32; n * d];
        let mut masked = vec![0f32; n * d];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        gen.generate(&observed, None, &mut rng, &mut kept, &mut masked);
        let mut whole = [0usize; 2];
        let mut feat_masked = 0usize;
        let mut feat_total = 0usize;
        for i in 0..n {
            let o = &observed[i * d..(i + 1) * d];
            let m = &masked[i * d..(i + 1) * d];
            let k = &kept[i * d..(i + 1) * d];
            for j in 0..d {
                // missing entries are never masked or kept; kept + masked = observed
                assert_eq!(k[j] + m[j], o[j]);
            }
            let all1 = m[0..40].iter().all(|&v| v == 1.0);
            let all2 = m[40..50].iter().all(|&v| v == 1.0);
            if i % 4 == 0 {
                // modality 2 missing: modality 1 is the only one left, never masked whole
                assert!(!all1);
                assert!(m[40..50].iter().all(|&v| v == 0.0));
            }
            if all1 && i % 4 != 0 {
                whole[0] += 1;
            } else if all2 && i % 4 != 0 {
                whole[1] += 1;
                // feature masking rate on the other modality
                feat_masked += m[0..40].iter().filter(|&&v| v == 1.0).count();
                feat_total += 40;
            }
        }
        let full_cells = (n - n / 4) as f64;
        let f0 = whole[0] as f64 / full_cells;
        let f1 = whole[1] as f64 / full_cells;
        assert!((f0 - 0.25).abs() < 0.03, "modality 1 masked in {f0}");
        assert!((f1 - 0.75).abs() < 0.03, "modality 2 masked in {f1}");
        // half of the cells get p_feat = 0.2 -> 0.1 on average
        let rate = feat_masked as f64 / feat_total as f64;
        assert!((rate - 0.1).abs() < 0.01, "feature masking rate {rate}");
    }

    #[test]
    fn single_modality_transplants_patterns() {
        let gen = MaskGenerator::new(0.0, &[1.0], std::iter::once(0..4).collect());
        let observed = vec![1., 1., 1., 0.];
        let other = vec![1., 0., 1., 1.];
        let (mut k, mut m) = (vec![0.; 4], vec![0.; 4]);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        gen.generate(&observed, Some(&other), &mut rng, &mut k, &mut m);
        assert_eq!(m, vec![0., 1., 0., 0.]);
        assert_eq!(k, vec![1., 0., 1., 0.]);
    }
}
