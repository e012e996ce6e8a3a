//! Special functions: `ln Γ` and `ψ` on the host (f64), and `ln Γ` as a
//! tensor expression (burn has no `lgamma` kernel). The host functions are
//! what the fused likelihoods and the tests' reference values use; the tensor
//! one is what the likelihoods use on devices without host kernels.

use burn::tensor::{backend::Backend, Tensor};

/// `ln(2π) / 2`.
pub const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

/// `ln Γ(y)` for `y > 0` (recurrence to `y >= 7`, then the Stirling series;
/// absolute error below 1e-10).
pub fn lgamma(y: f64) -> f64 {
    let (mut y, mut shift) = (y, 0.0);
    // ln Γ(y) = ln Γ(y + k) - ln(y (y + 1) ... (y + k - 1))
    let mut prod = 1.0;
    while y < 7.0 {
        prod *= y;
        y += 1.0;
        if prod > 1e250 {
            shift += prod.ln();
            prod = 1.0;
        }
    }
    shift += prod.ln();
    let inv = 1.0 / y;
    let inv2 = inv * inv;
    let series = inv * (1.0 / 12.0 + inv2 * (-1.0 / 360.0 + inv2 * (1.0 / 1260.0 - inv2 / 1680.0)));
    (y - 0.5) * y.ln() - y + HALF_LN_2PI + series - shift
}

/// Digamma `ψ(y)` for `y > 0` (recurrence to `y >= 7`, asymptotic series).
pub fn digamma(y: f64) -> f64 {
    let (mut y, mut acc) = (y, 0.0);
    while y < 7.0 {
        acc -= 1.0 / y;
        y += 1.0;
    }
    let inv2 = 1.0 / (y * y);
    acc + y.ln()
        - 0.5 / y
        - inv2 * (1.0 / 12.0 - inv2 * (1.0 / 120.0 - inv2 * (1.0 / 252.0 - inv2 / 240.0)))
}

/// `ln Γ(y)` for `y > 0`, element-wise.
///
/// Shifts the argument by 6 (`Γ(y) = Γ(y+6) / (y (y+1) ... (y+5))`) and uses
/// the Stirling series with terms up to `1/z^5`, which is accurate to better
/// than f32 precision for `z >= 6`. The product is taken in two halves so it
/// cannot overflow f32 below `y ~ 7e12` (raw counts stay finite).
pub fn lgamma_tensor<B: Backend, const D: usize>(y: Tensor<B, D>) -> Tensor<B, D> {
    let p1 = y.clone() * (y.clone() + 1.0) * (y.clone() + 2.0);
    let p2 = (y.clone() + 3.0) * (y.clone() + 4.0) * (y.clone() + 5.0);
    let z = y + 6.0;
    let zinv = z.clone().recip();
    let zinv2 = zinv.clone().square();
    // 1/(12z) - 1/(360z^3) + 1/(1260z^5)
    let series = zinv * ((zinv2.clone() * (1.0 / 1260.0) - 1.0 / 360.0) * zinv2 + 1.0 / 12.0);
    (z.clone() - 0.5) * z.clone().log() - z + HALF_LN_2PI + series - p1.log() - p2.log()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuBackend as TB;
    use crate::nn::{tensor1, to_vec};

    #[test]
    fn host_functions_match_known_values() {
        let pi = std::f64::consts::PI;
        assert!((lgamma(5.0) - 24f64.ln()).abs() < 1e-10);
        assert!((lgamma(0.5) - pi.sqrt().ln()).abs() < 1e-10);
        assert!((lgamma(1.0)).abs() < 1e-10 && (lgamma(2.0)).abs() < 1e-10);
        // Γ(0.1) = 9.513507698668732
        assert!((lgamma(0.1) - 9.513_507_698_668_732f64.ln()).abs() < 1e-10);
        // ln Γ(y + 1) = ln Γ(y) + ln y far out
        assert!((lgamma(1e6 + 1.0) - lgamma(1e6) - 1e6f64.ln()).abs() < 1e-6);
        let euler = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + euler).abs() < 1e-10);
        assert!((digamma(0.5) + euler + 2.0 * 2f64.ln()).abs() < 1e-10);
        // ψ is the derivative of ln Γ
        for y in [0.3, 2.5, 17.0, 400.0] {
            let h = 1e-5 * y;
            let num = (lgamma(y + h) - lgamma(y - h)) / (2.0 * h);
            assert!(
                (digamma(y) - num).abs() < 1e-6 * (1.0 + digamma(y).abs()),
                "ψ({y})"
            );
        }
    }

    #[test]
    fn tensor_lgamma_matches_host() {
        // integers, half-integers, small and large non-integers
        let xs: Vec<f32> = vec![
            0.1, 0.1667, 0.5, 1.0, 1.5, 2.0, 2.75, 3.0, 7.3, 10.0, 25.5, 100.0, 1234.5, 9.21,
            5.0e4, 3.0e6, 1.0e9,
        ];
        let got = to_vec(lgamma_tensor(tensor1::<TB>(
            xs.clone(),
            &Default::default(),
        )));
        for (x, g) in xs.iter().zip(got) {
            let want = lgamma(*x as f64);
            // f32 has ~7 significant digits
            let tol = 2e-6 * want.abs().max(1.0);
            assert!(
                (g as f64 - want).abs() < tol,
                "lgamma({x}) = {g}, expected {want}"
            );
        }
    }
}
