//! Multigrate's per-modality losses (docs/models.md, Multigrate §2–§3), written as log-likelihoods:
//! - `mse` (Gaussian): `-(r - x)^2` (unit variance without the constant, as the reference's squared error);
//! - `nb`: NB with mean `softmax(h) * size_factor` and per-feature (per
//!   `integrate_on` group) inverse dispersion `theta = exp(log_theta)`, scvi's
//!   parameterisation (eps = 1e-8);
//! - `zinb`: as `nb` with zero-inflation logits from their own head (scvi);
//! - `bce` (Bernoulli): `x h - softplus(h)` on the logits, the numerically
//!   stable form of torch's `BCELoss(sigmoid(h))` (whose log clamp at -100 it never reaches).
//!
//! The `-lgamma(x + 1)` term of NB/ZINB depends on the data only and is left
//! out (it carries no gradient); reported reconstruction losses exclude it.

use super::softplus;
use crate::backend::Compute;
use crate::data::Likelihood;
use crate::host::HostCols;
use crate::special::lgamma_tensor as lgamma;
use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{backend::Backend, Tensor};

const EPS: f64 = 1e-8;

/// A decoder head's output before its link function.
#[derive(Debug, Clone)]
pub struct MgOutput<B: Backend> {
    /// Output-layer pre-activation, `[n, d]`.
    pub h: Tensor<B, 2>,
    /// Zero-inflation logits, `[n, d]` (ZINB only).
    pub zi_logit: Option<Tensor<B, 2>>,
    /// The extra heads of an NB mixture (`nb_mixture` modalities only).
    pub mix: Option<super::MixOut<B>>,
}

/// Element-wise log-likelihood of `x` (`[n, d]`).
///
/// # Shapes
/// - `size_factor`: `[n, 1]` (NB/ZINB), `log_theta`: `[n or 1, d]` (NB/ZINB)
pub fn mg_log_prob<B: Backend>(
    kind: Likelihood,
    out: &MgOutput<B>,
    x: Tensor<B, 2>,
    size_factor: Option<Tensor<B, 2>>,
    log_theta: Option<Tensor<B, 2>>,
) -> Tensor<B, 2> {
    match kind {
        Likelihood::Gaussian => (out.h.clone() - x).square().neg(),
        Likelihood::Bernoulli => x * out.h.clone() - softplus(out.h.clone()),
        Likelihood::Nb | Likelihood::Zinb => {
            let mu = softmax(out.h.clone(), 1) * size_factor.expect("size factor");
            let theta = log_theta.expect("dispersion").exp();
            let log_theta_mu = (theta.clone() + mu.clone() + EPS).log();
            let theta_term = theta.clone() * ((theta.clone() + EPS).log() - log_theta_mu.clone());
            let rest = x.clone() * ((mu + EPS).log() - log_theta_mu)
                + lgamma(x.clone() + theta.clone())
                - lgamma(theta);
            if kind == Likelihood::Nb {
                return theta_term + rest;
            }
            let pi = out.zi_logit.clone().expect("zero-inflation head");
            let sp_neg_pi = softplus(pi.clone().neg());
            let pi_theta = pi.neg() + theta_term;
            let zero = softplus(pi_theta.clone()) - sp_neg_pi.clone();
            let nonzero = sp_neg_pi.neg() + pi_theta + rest;
            let is_zero = x.lower_elem(EPS).float();
            zero * is_zero.clone() + nonzero * (is_zero.neg() + 1.0)
        }
        Likelihood::Poisson => {
            unreachable!("Multigrate has no Poisson loss (rejected by the config)")
        }
    }
}

/// Per-cell `sum_j avail_ij log p(x_ij)` (`[n, 1]`). NB and BCE on a CPU backend
/// runs fused on the host (`fused.rs`); everything else is
/// [`mg_log_prob`] times `avail`.
///
/// # Shapes
/// - `x`, `avail`: `[n, d]`, `size_factor`: `[n, 1]`, `log_theta`: `[n or 1, d]` -> `[n, 1]`
pub fn mg_masked_log_prob<B: Compute>(
    kind: Likelihood,
    out: &MgOutput<B>,
    x: Tensor<B, 2>,
    avail: Tensor<B, 2>,
    size_factor: Option<Tensor<B, 2>>,
    log_theta: Option<Tensor<B, 2>>,
    host: Option<[HostCols<'_>; 2]>,
) -> Tensor<B, 2> {
    if B::HOST {
        match (kind, size_factor.clone(), log_theta.clone()) {
            (Likelihood::Nb, Some(sf), Some(lt)) => {
                return crate::host::mg_nb_masked_ll(out.h.clone(), lt, x, avail, sf, host)
            }
            (Likelihood::Bernoulli, _, _) => {
                return crate::host::bernoulli_masked_ll(out.h.clone(), x, avail, None, host)
            }
            _ => {}
        }
    }
    (mg_log_prob(kind, out, x, size_factor, log_theta) * avail).sum_dim(1)
}

/// Decoder mean on the modality's own scale: mse -> the value; nb ->
/// proportions `softmax(h)` (multiply by a library size for counts); zinb ->
/// `(1 - pi) softmax(h)` (the reference crashes here); bce -> probabilities.
///
/// # Shapes
/// - returns `[n, d]`
pub fn mg_mean<B: Backend>(kind: Likelihood, out: &MgOutput<B>) -> Tensor<B, 2> {
    match kind {
        Likelihood::Gaussian => out.h.clone(),
        Likelihood::Bernoulli => sigmoid(out.h.clone()),
        Likelihood::Nb => softmax(out.h.clone(), 1),
        Likelihood::Zinb => {
            let pi = sigmoid(out.zi_logit.clone().expect("zero-inflation head"));
            softmax(out.h.clone(), 1) * (pi.neg() + 1.0)
        }
        Likelihood::Poisson => {
            unreachable!("Multigrate has no Poisson loss (rejected by the config)")
        }
    }
}

/// The observation model of a decoder output for posterior-predictive
/// draws: mse -> unit-variance Gaussian around the value; nb/zinb ->
/// proportions (times the cell's library when sampled) with `theta =
/// exp(log_theta)`; bce -> Bernoulli.
///
/// # Shapes
/// - `out.h`: `[rows, d]`, `log_theta`: `[rows or 1, d]`
pub fn mg_noise<B: Backend>(
    kind: Likelihood,
    out: &MgOutput<B>,
    log_theta: Option<Tensor<B, 2>>,
) -> super::Noise {
    use crate::nn::to_vec;
    match kind {
        Likelihood::Gaussian => super::Noise::Gaussian {
            loc: to_vec(out.h.clone()),
            sd: vec![1.0; out.h.dims()[1]],
        },
        Likelihood::Bernoulli => super::Noise::Bernoulli {
            p: to_vec(sigmoid(out.h.clone())),
        },
        Likelihood::Nb | Likelihood::Zinb => super::Noise::Nb {
            mu: to_vec(softmax(out.h.clone(), 1)),
            r: to_vec(log_theta.expect("dispersion").exp()),
            zero: out.zi_logit.as_ref().map(|z| to_vec(sigmoid(z.clone()))),
            per_library: true,
        },
        Likelihood::Poisson => {
            unreachable!("Multigrate has no Poisson loss (rejected by the config)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuBackend as TB;
    use crate::nn::{tensor2, to_vec};
    use crate::special::lgamma as lgamma_f64;

    fn t2(v: &[f32], n: usize, d: usize) -> Tensor<TB, 2> {
        tensor2::<TB>(v.to_vec(), n, d, &Default::default())
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn nb_zinb_mse_bce_match_closed_form() {
        // h = [0, ln 3] -> softmax = [0.25, 0.75]; size factor 8 -> mu = [2, 6]
        let out = MgOutput {
            h: t2(&[0.0, 3f32.ln()], 1, 2),
            zi_logit: Some(t2(&[-1.0, 0.5], 1, 2)),
            mix: None,
        };
        let x = [0.0f64, 4.0];
        let theta = [1.5f64, 0.7];
        let lt = t2(&[1.5f32.ln(), 0.7f32.ln()], 1, 2);
        let sf = Some(t2(&[8.0], 1, 1));
        let nb = to_vec(mg_log_prob(
            Likelihood::Nb,
            &out,
            t2(&[0.0, 4.0], 1, 2),
            sf.clone(),
            Some(lt.clone()),
        ));
        let mu = [2.0f64, 6.0];
        let nb_ref = |j: usize| {
            let (x, m, t) = (x[j], mu[j], theta[j]);
            lgamma_f64(x + t) - lgamma_f64(t) + t * (t / (t + m)).ln() + x * (m / (t + m)).ln()
        };
        for j in 0..2 {
            assert!(
                (nb[j] as f64 - nb_ref(j)).abs() < 1e-4,
                "nb {j}: {} vs {}",
                nb[j],
                nb_ref(j)
            );
        }
        let zi = to_vec(mg_log_prob(
            Likelihood::Zinb,
            &out,
            t2(&[0.0, 4.0], 1, 2),
            sf,
            Some(lt),
        ));
        let pi = |l: f64| 1.0 / (1.0 + (-l).exp());
        let (p0, p1) = (pi(-1.0), pi(0.5));
        let want0 = (p0 + (1.0 - p0) * nb_ref(0).exp()).ln();
        let want1 = (1.0 - p1).ln() + nb_ref(1);
        assert!((zi[0] as f64 - want0).abs() < 1e-4, "{} vs {want0}", zi[0]);
        assert!((zi[1] as f64 - want1).abs() < 1e-4, "{} vs {want1}", zi[1]);
        let mse = to_vec(mg_log_prob(
            Likelihood::Gaussian,
            &out,
            t2(&[1.0, 1.0], 1, 2),
            None,
            None,
        ));
        assert!((mse[0] + 1.0).abs() < 1e-6 && (mse[1] + (3f32.ln() - 1.0).powi(2)).abs() < 1e-6);
        let bce = to_vec(mg_log_prob(
            Likelihood::Bernoulli,
            &out,
            t2(&[1.0, 0.0], 1, 2),
            None,
            None,
        ));
        assert!((bce[0] as f64 - 0.5f64.ln()).abs() < 1e-6);
        assert!((bce[1] as f64 - 0.25f64.ln()).abs() < 1e-5);
        let m = to_vec(mg_mean(Likelihood::Nb, &out));
        assert!((m[0] - 0.25).abs() < 1e-6 && (m[1] - 0.75).abs() < 1e-6);
        let m = to_vec(mg_mean(Likelihood::Zinb, &out));
        assert!((m[0] as f64 - 0.25 * (1.0 - p0)).abs() < 1e-6);
    }
}
