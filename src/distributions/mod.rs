//! Likelihoods, KL divergence and MMD, written with burn tensor operations so
//! they run (and differentiate) on any backend. On backends with host
//! kernels ([`Compute::HOST`](crate::backend::Compute::HOST)) the NB and
//! Bernoulli likelihoods run fused on the host instead ([`crate::host`]).

mod kl;
mod likelihood;
mod mixture;
mod mmd;
mod multigrate;
mod predictive;

pub use kl::{gaussian_kl, jeffreys, kl_to_standard};
pub use likelihood::{BlockOutput, LikelihoodParams};
pub use mixture::{
    background_prior, mix_heads_elements, nb_mixture_masked_ll, nb_mixture_mean, nb_mixture_noise,
    MixHeads, MixInit, MixOut,
};
pub use mmd::{mmd_groups, mmd_pair, MMD_SCALES, MULTIGRATE_GAMMAS};
pub use multigrate::{mg_log_prob, mg_masked_log_prob, mg_mean, mg_noise, MgOutput};
pub use predictive::Noise;

use burn::tensor::{backend::Backend, Tensor};

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backend::CpuBackend as TB;
    use crate::nn::{tensor1, to_vec};

    pub(crate) fn t1(v: &[f32]) -> Tensor<TB, 1> {
        tensor1::<TB>(v.to_vec(), &Default::default())
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
