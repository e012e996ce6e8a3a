use burn::tensor::{backend::Backend, Tensor};

/// Bandwidths of scVAEIT's multi-scale RBF kernel
/// `k(x, y) = (1/19) sum_s exp(-|x - y|^2 / (2 s))`.
pub const MMD_SCALES: [f64; 19] = [
    1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 100.0, 1e3,
    1e4, 1e5, 1e6,
];

/// Sum over pairs of groups `i < j` of the biased MMD estimate
/// `mean K(X_i, X_i) + mean K(X_j, X_j) - 2 mean K(X_i, X_j)`.
///
/// `onehot` (`[n, g]`) assigns each row of `z` (`[n, d]`) to at most one
/// group (an all-zero row is excluded). Groups with no member are skipped.
/// Returns a one-element tensor (0 when fewer than two groups are present).
///
/// With `S = onehot^T K onehot` and `W_ij = 1/(n_i n_j)` over present groups,
/// the sum over pairs is `g' tr(S∘W) - sum(S∘W)` (g' = number of present groups).
pub fn mmd_groups<B: Backend>(
    z: Tensor<B, 2>,
    onehot: Tensor<B, 2>,
    group_sizes: &[usize],
) -> Tensor<B, 1> {
    let device = z.device();
    let present: Vec<usize> = (0..group_sizes.len())
        .filter(|&g| group_sizes[g] > 0)
        .collect();
    if present.len() < 2 {
        return Tensor::zeros([1], &device);
    }
    let g = group_sizes.len();
    let sq = z.clone().square().sum_dim(1); // [n, 1]
    let dist = (sq.clone() + sq.transpose() - z.clone().matmul(z.transpose()) * 2.0).clamp_min(0.0); // [n, n]
    let mut k = dist.clone().zeros_like();
    for s in MMD_SCALES {
        k = k + (dist.clone() * (-1.0 / (2.0 * s))).exp();
    }
    let k = k / MMD_SCALES.len() as f64;
    let s = onehot.clone().transpose().matmul(k).matmul(onehot); // [g, g]
    let mut w = vec![0f32; g * g];
    let mut diag = vec![0f32; g * g];
    for &i in &present {
        for &j in &present {
            w[i * g + j] = 1.0 / (group_sizes[i] * group_sizes[j]) as f32;
        }
        diag[i * g + i] = 1.0;
    }
    let w = crate::nn::tensor2::<B>(w, g, g, &device);
    let diag = crate::nn::tensor2::<B>(diag, g, g, &device);
    let sw = s * w;
    let trace = (sw.clone() * diag).sum();
    trace * present.len() as f64 - sw.sum()
}

/// Coefficients `g` of Multigrate's multi-scale RBF kernel
/// `k(x, y) = (1/19) sum_g exp(-g |x - y|^2)` (scArches trVAE).
pub const MULTIGRATE_GAMMAS: [f64; 19] = MMD_SCALES;

/// Squared Euclidean distances between the rows of `x` (`[n, d]`) and `y` (`[m, d]`), `[n, m]`.
fn sq_dist<B: Backend>(x: Tensor<B, 2>, y: Tensor<B, 2>) -> Tensor<B, 2> {
    let xx = x.clone().square().sum_dim(1); // [n, 1]
    let yy = y.clone().square().sum_dim(1).transpose(); // [1, m]
    (xx + yy - x.matmul(y.transpose()) * 2.0).clamp_min(0.0)
}

fn mean_kernel<B: Backend>(x: Tensor<B, 2>, y: Tensor<B, 2>) -> Tensor<B, 1> {
    let d = sq_dist(x, y);
    let mut k = d.clone().zeros_like();
    for g in MULTIGRATE_GAMMAS {
        k = k + (d.clone() * (-g)).exp();
    }
    k.mean() / MULTIGRATE_GAMMAS.len() as f64
}

/// Multigrate's MMD between two samples (docs/models.md, Multigrate §3; the reference's `distributions/_mmd.py`).
///
/// Gaussian kernel: the biased estimate `mean K(x, x) + mean K(y, y) - 2 mean K(x, y)`
/// (diagonals included, not square-rooted). `moments`: `mean((mean_x - mean_y)^2)
/// + mean((cov_x - cov_y)^2)` with unbiased covariances.
///
/// Zero when either sample has fewer than 2 rows (the reference returns 0 for 1 row).
///
/// # Shapes
/// - `x`: `[n, d]`, `y`: `[m, d]` -> `[1]`
pub fn mmd_pair<B: Backend>(x: Tensor<B, 2>, y: Tensor<B, 2>, moments: bool) -> Tensor<B, 1> {
    let ([n, _], [m, _]) = (x.dims(), y.dims());
    if n < 2 || m < 2 {
        return Tensor::zeros([1], &x.device());
    }
    if moments {
        let cov = |t: Tensor<B, 2>| -> (Tensor<B, 2>, Tensor<B, 2>) {
            let [k, _] = t.dims();
            let mean = t.clone().mean_dim(0); // [1, d]
            let c = t - mean.clone();
            (mean, c.clone().transpose().matmul(c) / (k - 1) as f64) // [d, d]
        };
        let (mx, cx) = cov(x);
        let (my, cy) = cov(y);
        return (mx - my).square().mean() + (cx - cy).square().mean();
    }
    mean_kernel(x.clone(), x.clone()) + mean_kernel(y.clone(), y.clone()) - mean_kernel(x, y) * 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuBackend as TB;
    use crate::nn::{tensor2, to_vec};

    fn kernel(x: &[f64], y: &[f64]) -> f64 {
        let d: f64 = x.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum();
        MMD_SCALES
            .iter()
            .map(|s| (-d / (2.0 * s)).exp())
            .sum::<f64>()
            / 19.0
    }

    #[test]
    fn multigrate_mmd_matches_direct_computation() {
        let x = [[0.0, 1.0], [0.5, 0.2], [2.0, 2.0]];
        let y = [[1.5, 3.0], [-1.0, 0.0]];
        let k = |a: &[f64; 2], b: &[f64; 2]| -> f64 {
            let d = (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2);
            MULTIGRATE_GAMMAS
                .iter()
                .map(|g| (-g * d).exp())
                .sum::<f64>()
                / 19.0
        };
        let mk = |a: &[[f64; 2]], b: &[[f64; 2]]| -> f64 {
            let mut s = 0.0;
            for p in a {
                for q in b {
                    s += k(p, q);
                }
            }
            s / (a.len() * b.len()) as f64
        };
        let want = mk(&x, &x) + mk(&y, &y) - 2.0 * mk(&x, &y);
        let t = |v: &[[f64; 2]]| {
            let flat: Vec<f32> = v.iter().flat_map(|p| [p[0] as f32, p[1] as f32]).collect();
            tensor2::<TB>(flat, v.len(), 2, &Default::default())
        };
        let got = to_vec(mmd_pair(t(&x), t(&y), false))[0] as f64;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        // identical samples: zero; a single row: zero (reference behaviour)
        assert!(to_vec(mmd_pair(t(&x), t(&x), false))[0].abs() < 1e-6);
        assert_eq!(to_vec(mmd_pair(t(&x[..1]), t(&y), false))[0], 0.0);
        // moments: mean((mx - my)^2) + mean((Cx - Cy)^2), unbiased covariances
        let mean = |v: &[[f64; 2]], j: usize| v.iter().map(|p| p[j]).sum::<f64>() / v.len() as f64;
        let cov = |v: &[[f64; 2]], a: usize, b: usize| {
            let (ma, mb) = (mean(v, a), mean(v, b));
            v.iter().map(|p| (p[a] - ma) * (p[b] - mb)).sum::<f64>() / (v.len() - 1) as f64
        };
        let mut want = 0.0;
        for j in 0..2 {
            want += (mean(&x, j) - mean(&y, j)).powi(2) / 2.0;
        }
        for a in 0..2 {
            for b in 0..2 {
                want += (cov(&x, a, b) - cov(&y, a, b)).powi(2) / 4.0;
            }
        }
        let got = to_vec(mmd_pair(t(&x), t(&y), true))[0] as f64;
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    }

    #[test]
    fn mmd_matches_direct_computation() {
        let z: Vec<[f64; 2]> = vec![
            [0.0, 1.0],
            [0.5, 0.2],
            [2.0, 2.0],
            [1.5, 3.0],
            [-1.0, 0.0],
            [0.3, 0.3],
        ];
        let groups = [0usize, 0, 1, 1, 2, 9]; // 9 = excluded
        let n = z.len();
        let g = 3;
        let mut oh = vec![0f32; n * g];
        let mut sizes = vec![0usize; g];
        for (r, &c) in groups.iter().enumerate() {
            if c < g {
                oh[r * g + c] = 1.0;
                sizes[c] += 1;
            }
        }
        let flat: Vec<f32> = z.iter().flat_map(|p| p.iter().map(|&v| v as f32)).collect();
        let dev = Default::default();
        let got = to_vec(mmd_groups(
            tensor2::<TB>(flat, n, 2, &dev),
            tensor2::<TB>(oh, n, g, &dev),
            &sizes,
        ))[0] as f64;
        let members = |c: usize| -> Vec<&[f64; 2]> {
            z.iter()
                .zip(groups)
                .filter(|(_, g)| *g == c)
                .map(|(p, _)| p)
                .collect()
        };
        let mean_k = |a: &[&[f64; 2]], b: &[&[f64; 2]]| {
            let mut s = 0.0;
            for x in a {
                for y in b {
                    s += kernel(&x[..], &y[..]);
                }
            }
            s / (a.len() * b.len()) as f64
        };
        let mut want = 0.0;
        for i in 0..g {
            for j in i + 1..g {
                let (a, b) = (members(i), members(j));
                want += mean_k(&a, &a) + mean_k(&b, &b) - 2.0 * mean_k(&a, &b);
            }
        }
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
        // one group only: zero
        let z1 = to_vec(mmd_groups(
            tensor2::<TB>(vec![0.0, 1.0, 2.0, 3.0], 2, 2, &dev),
            tensor2::<TB>(vec![1.0, 1.0], 2, 1, &dev),
            &[2],
        ))[0];
        assert_eq!(z1, 0.0);
    }
}
