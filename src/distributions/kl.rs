use burn::tensor::{backend::Backend, Tensor};

/// `KL(q0 || q1)` between diagonal Gaussians given means and log-variances
/// `[n, d]`, summed over the latent dimensions and averaged over cells, with
/// the reference's clipping of the log-variance terms to `[-6, 6]`:
///
/// `0.5 * [exp(clip(lv0 - lv1)) + (mu1 - mu0)^2 / exp(clip(lv1)) - 1 + lv1 - lv0]`
///
/// Returns a one-element tensor.
pub fn gaussian_kl<B: Backend>(
    mu0: Tensor<B, 2>,
    lv0: Tensor<B, 2>,
    mu1: Tensor<B, 2>,
    lv1: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let ratio = (lv0.clone() - lv1.clone()).clamp(-6.0, 6.0).exp();
    let maha = (mu1 - mu0).square() / lv1.clone().clamp(-6.0, 6.0).exp();
    let kl = (ratio + maha - 1.0 + lv1 - lv0) * 0.5;
    kl.sum_dim(1).mean()
}

/// `KL(N(mu, exp(lv)) || N(0, 1))` per row, summed over dimensions (no clipping).
///
/// # Shapes
/// - `mu`, `lv`: `[n, d]` -> `[n, 1]`
pub fn kl_to_standard<B: Backend>(mu: Tensor<B, 2>, lv: Tensor<B, 2>) -> Tensor<B, 2> {
    ((lv.clone().exp() + mu.square() - 1.0 - lv) * 0.5).sum_dim(1)
}

/// Multigrate's Jeffreys divergence between position-paired diagonal
/// Gaussians: mean over elements of `KL(p || q)` plus mean of `KL(q || p)`.
///
/// # Shapes
/// - all inputs `[n, d]` -> `[1]`
pub fn jeffreys<B: Backend>(
    mu_p: Tensor<B, 2>,
    lv_p: Tensor<B, 2>,
    mu_q: Tensor<B, 2>,
    lv_q: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let kl = |m0: Tensor<B, 2>, l0: Tensor<B, 2>, m1: Tensor<B, 2>, l1: Tensor<B, 2>| {
        (((l0.clone() - l1.clone()).exp() + (m1 - m0).square() / l1.clone().exp() - 1.0 + l1 - l0)
            * 0.5)
            .mean()
    };
    kl(mu_p.clone(), lv_p.clone(), mu_q.clone(), lv_q.clone()) + kl(mu_q, lv_q, mu_p, lv_p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuBackend as TB;
    use crate::nn::{tensor2, to_vec};

    #[test]
    fn kl_matches_closed_form() {
        let d = Default::default();
        let t = |v: &[f32]| tensor2::<TB>(v.to_vec(), 2, 2, &d);
        let (m0, v0, m1, v1) = (
            [0.5f64, -1.0, 0.0, 2.0],
            [0.3f64, 1.5, 1.0, 0.2],
            [0.0f64, 0.5, 1.0, 2.0],
            [1.0f64, 0.7, 2.0, 0.2],
        );
        let f = |a: [f64; 4]| a.iter().map(|&x| x as f32).collect::<Vec<_>>();
        let lv = |a: [f64; 4]| a.iter().map(|&x| x.ln() as f32).collect::<Vec<_>>();
        let got = to_vec(gaussian_kl(t(&f(m0)), t(&lv(v0)), t(&f(m1)), t(&lv(v1))))[0] as f64;
        let mut want = 0.0;
        for i in 0..4 {
            want += 0.5
                * (v0[i] / v1[i] + (m1[i] - m0[i]).powi(2) / v1[i] - 1.0 + (v1[i] / v0[i]).ln());
        }
        want /= 2.0; // mean over the 2 cells
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        // identical distributions: zero
        let z = to_vec(gaussian_kl(t(&f(m0)), t(&lv(v0)), t(&f(m0)), t(&lv(v0))))[0];
        assert!(z.abs() < 1e-6);
    }
}
