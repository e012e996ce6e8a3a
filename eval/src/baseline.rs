//! Model-free baselines: principal components of normalized data and
//! k-nearest-neighbour regression in them.
//!
//! - RNA: `log1p` of counts per 10,000, each gene scaled to unit variance
//!   (values clipped at 10, as Seurat's `ScaleData` and scanpy's `pp.scale`),
//!   then the leading principal components.
//! - Protein: per-cell CLR ([`crate::metrics::clr`]), scaled and projected the
//!   same way.
//!
//! The components are the leading eigenvectors of the features' covariance
//! (`nalgebra`'s symmetric eigendecomposition), fitted on the cells given.

use crate::metrics::knn;
use nalgebra::{DMatrix, SymmetricEigen};

/// Principal components fitted on `[n, p]` row-major data.
#[derive(Debug, Clone)]
pub struct Pca {
    mean: Vec<f64>,
    /// `[n_components, p]`, by decreasing variance.
    components: Vec<Vec<f64>>,
}

impl Pca {
    /// Fits `n_components` (at most `p`) components on the rows of `x` (`[n, p]`).
    pub fn fit(x: &[f64], p: usize, n_components: usize) -> Pca {
        let n = x.len() / p.max(1);
        let mut mean = vec![0.0; p];
        for row in x.chunks(p) {
            mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        let centred = DMatrix::from_fn(n, p, |i, j| x[i * p + j] - mean[j]);
        let cov = centred.tr_mul(&centred) / (n.saturating_sub(1).max(1) as f64);
        let eig = SymmetricEigen::new(cov);
        let mut order: Vec<usize> = (0..p).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        let components = order
            .into_iter()
            .take(n_components.min(p))
            .map(|c| {
                let mut v: Vec<f64> = eig.eigenvectors.column(c).iter().copied().collect();
                // sign convention: the largest loading positive
                let big = v
                    .iter()
                    .copied()
                    .max_by(|a, b| a.abs().total_cmp(&b.abs()))
                    .unwrap_or(1.0);
                if big < 0.0 {
                    v.iter_mut().for_each(|a| *a = -*a);
                }
                v
            })
            .collect();
        Pca { mean, components }
    }

    /// Scores of the rows of `x` (`[n, p]`): `[n, n_components]` as `f32`.
    pub fn transform(&self, x: &[f64]) -> Vec<f32> {
        let p = self.mean.len();
        let mut out = Vec::with_capacity(x.len() / p.max(1) * self.components.len());
        for row in x.chunks(p) {
            for c in &self.components {
                let s: f64 = row
                    .iter()
                    .zip(&self.mean)
                    .zip(c)
                    .map(|((v, m), w)| (v - m) * w)
                    .sum();
                out.push(s as f32);
            }
        }
        out
    }

    /// Number of components.
    pub fn n_components(&self) -> usize {
        self.components.len()
    }
}

/// `log1p` of counts per 10,000 of each row of `counts` (`[n, p]`).
pub fn log_normalize(counts: &[f64], p: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(counts.len());
    for row in counts.chunks(p) {
        let lib: f64 = row.iter().sum();
        let f = if lib > 0.0 { 1e4 / lib } else { 0.0 };
        out.extend(row.iter().map(|&v| (v * f).ln_1p()));
    }
    out
}

/// Each column of `x` (`[n, p]`) scaled to zero mean and unit variance
/// (population variance; constant columns become 0), then clipped at `clip`.
pub fn scale(x: &[f64], p: usize, clip: f64) -> Vec<f64> {
    let n = (x.len() / p.max(1)).max(1) as f64;
    let mut mean = vec![0.0; p];
    let mut sq = vec![0.0; p];
    for row in x.chunks(p) {
        for j in 0..p {
            mean[j] += row[j];
            sq[j] += row[j] * row[j];
        }
    }
    let sd: Vec<f64> = (0..p)
        .map(|j| {
            mean[j] /= n;
            (sq[j] / n - mean[j] * mean[j]).max(0.0).sqrt()
        })
        .collect();
    x.chunks(p)
        .flat_map(|row| {
            row.iter().enumerate().map(|(j, &v)| {
                if sd[j] > 0.0 {
                    ((v - mean[j]) / sd[j]).min(clip)
                } else {
                    0.0
                }
            })
        })
        .collect::<Vec<f64>>()
}

/// k-nearest-neighbour regression: for each row of `query` (`[m, d]`), the
/// mean of the `targets` rows (`[n, q]`) of its `k` nearest `reference` rows
/// (`[n, d]`), uniform weights.
pub fn knn_regress(
    reference: &[f32],
    targets: &[f64],
    q: usize,
    query: &[f32],
    d: usize,
    k: usize,
) -> Vec<f64> {
    let nn = knn(query, reference, d, k, false);
    let mut out = vec![0.0; nn.len() * q];
    for (i, neigh) in nn.iter().enumerate() {
        let row = &mut out[i * q..(i + 1) * q];
        for &(j, _) in neigh {
            row.iter_mut()
                .zip(&targets[j * q..(j + 1) * q])
                .for_each(|(o, t)| *o += t);
        }
        let m = neigh.len().max(1) as f64;
        row.iter_mut().for_each(|o| *o /= m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pca_finds_the_main_axis() {
        // Points along (1, 1), centred, with noise along (1, -1) that is
        // uncorrelated with the position (signs + - - + in every run of 4).
        let mut x = Vec::new();
        for i in 0..48 {
            let t = i as f64 - 23.5;
            let e = if i % 4 == 0 || i % 4 == 3 { 0.1 } else { -0.1 };
            x.extend([t + e, t - e]);
        }
        let pca = Pca::fit(&x, 2, 1);
        let c = &pca.components[0];
        let r = std::f64::consts::FRAC_1_SQRT_2;
        assert!((c[0] - r).abs() < 1e-9 && (c[1] - r).abs() < 1e-9, "{c:?}");
        // the mean is 0: the score of (2, 2) is its projection on (r, r)
        let s = pca.transform(&[2.0, 2.0]);
        assert!((s[0] as f64 - 4.0 * r).abs() < 1e-5, "{s:?}");
        assert_eq!(pca.n_components(), 1);
    }

    #[test]
    fn normalization_scaling_and_regression() {
        let ln = log_normalize(&[1.0, 3.0, 0.0, 0.0], 2);
        assert!((ln[0] - 2501f64.ln()).abs() < 1e-12 && (ln[1] - 7501f64.ln()).abs() < 1e-12);
        assert_eq!(&ln[2..], &[0.0, 0.0]);
        let s = scale(&[1.0, 5.0, 3.0, 5.0], 2, 10.0);
        assert_eq!(s, vec![-1.0, 0.0, 1.0, 0.0]);
        let clipped = scale(&[0.0, 0.0, 0.0, 0.0, 100.0], 1, 1.5);
        assert_eq!(clipped[4], 1.5);
        let reference = [0.0f32, 1.0, 10.0, 11.0];
        let targets = [1.0, 3.0, 5.0, 7.0];
        let pred = knn_regress(&reference, &targets, 1, &[0.4, 10.6], 1, 2);
        assert_eq!(pred, vec![2.0, 6.0]);
    }
}
