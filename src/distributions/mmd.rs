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
