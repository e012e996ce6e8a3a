//! Per-block observation models of scVAEIT (docs/models.md, scVAEIT §1.4), in their sound versions:
//! - NB / ZINB: mean `mu = lo + sigmoid(h) (hi - lo)`, dispersion
//!   `phi = clip(softplus(b W + theta), 1e-4, max_disp)`, `r = 1/phi`. The reference has no
//!   `theta` (so `phi` is the constant ln 2 without covariates, scVAEIT §7.5); here `theta` is a
//!   learnable per-feature bias initialised at 0, which starts at the reference's value.
//! - ZINB: zero-inflation probability from its own output head (as in the paper-era code),
//!   instead of the reference's constant 0.5 tied to batch size 512 (scVAEIT §7.9).
//! - Bernoulli: logits clipped to `±ln((1-1e-5)/1e-5)` (probability clip of the reference).
//! - Gaussian: `loc = clip(h + center, lo, hi)`, `scale = clip(softplus(..), 1e-3, max_disp)`.
//! - Poisson: `log rate = clip(h, ln lo, ln hi)`.
//!
//! All clips keep the identity gradient, as the reference's
//! `clip_by_value_preserve_gradient`. Log-probabilities accept non-integer `x`.

use super::{clip_preserve_grad, clip_preserve_grad_t, softplus};
use crate::backend::Compute;
use crate::data::Likelihood;
use crate::host::HostCols;
use crate::special::{lgamma_tensor as lgamma, HALF_LN_2PI};
use burn::tensor::activation::sigmoid;
use burn::tensor::{backend::Backend, Tensor};

const EPS: f64 = 1e-8;
/// Logit bound equivalent to clipping a probability to `[1e-5, 1 - 1e-5]`.
const LOGIT_BOUND: f64 = 11.512_915;

/// Decoder output of one block, before the likelihood's link functions.
#[derive(Debug, Clone)]
pub struct BlockOutput<B: Backend> {
    /// Pre-activation of the block's output layer, `[n, d_k]`.
    pub h: Tensor<B, 2>,
    /// Zero-inflation logits, `[n, d_k]` (ZINB only).
    pub zi_logit: Option<Tensor<B, 2>>,
    /// Dispersion / scale before clipping, `[1, d_k]` or `[n, d_k]` (NB, ZINB, Gaussian).
    pub disp: Option<Tensor<B, 2>>,
}

/// The constants a block's likelihood needs (data-derived, stored in the model).
#[derive(Debug, Clone)]
pub struct LikelihoodParams<B: Backend> {
    /// The observation model.
    pub kind: Likelihood,
    /// Lower output bound per feature, `[1, d_k]` (NB/ZINB mean min, Gaussian min, Poisson rate min).
    pub lo: Tensor<B, 2>,
    /// Upper output bound per feature, `[1, d_k]`.
    pub hi: Tensor<B, 2>,
    /// Per-feature centre added to Gaussian locations, `[1, d_k]`.
    pub center: Tensor<B, 2>,
    /// Upper clip of the dispersion / scale.
    pub max_disp: f64,
}

impl<B: Backend> LikelihoodParams<B> {
    fn nb_mean(&self, h: Tensor<B, 2>) -> Tensor<B, 2> {
        sigmoid(h) * (self.hi.clone() - self.lo.clone()) + self.lo.clone()
    }

    fn dispersion(&self, out: &BlockOutput<B>, lo: f64) -> Tensor<B, 2> {
        let d = out.disp.clone().expect("dispersion head");
        clip_preserve_grad(softplus(d), lo, self.max_disp)
    }

    fn gaussian_loc(&self, h: Tensor<B, 2>) -> Tensor<B, 2> {
        clip_preserve_grad_t(h + self.center.clone(), self.lo.clone(), self.hi.clone())
    }

    fn poisson_log_rate(&self, h: Tensor<B, 2>) -> Tensor<B, 2> {
        let lo = (self.lo.clone() + EPS).log().clamp_min(-30.0);
        let hi = (self.hi.clone() + EPS).log();
        clip_preserve_grad_t(h, lo, hi)
    }

    fn zi_prob(&self, out: &BlockOutput<B>) -> Tensor<B, 2> {
        let l = out.zi_logit.clone().expect("zero-inflation head");
        sigmoid(clip_preserve_grad(l, -LOGIT_BOUND, LOGIT_BOUND))
    }

    /// Element-wise log-probability of `x` (`[n, d_k]`).
    ///
    /// `include_const` adds the terms that depend on `x` only (`-lgamma(x+1)`
    /// for NB/ZINB/Poisson); training leaves them out since they carry no gradient.
    pub fn log_prob(
        &self,
        out: &BlockOutput<B>,
        x: Tensor<B, 2>,
        include_const: bool,
    ) -> Tensor<B, 2> {
        match self.kind {
            Likelihood::Nb => {
                let mu = self.nb_mean(out.h.clone());
                let r = self.dispersion(out, 1e-4).recip();
                let lp = nb_log_prob(x.clone(), mu, r);
                if include_const {
                    lp - lgamma(x + 1.0)
                } else {
                    lp
                }
            }
            Likelihood::Zinb => {
                let mu = self.nb_mean(out.h.clone());
                let r = self.dispersion(out, 1e-4).recip();
                let pi = self.zi_prob(out);
                let mut nb = nb_log_prob(x.clone(), mu.clone(), r.clone());
                if include_const {
                    nb = nb - lgamma(x.clone() + 1.0);
                }
                // log NB(0) = r (ln r - ln(r + mu))
                let nb0 = r.clone() * ((r.clone() + EPS).log() - (r + mu + EPS).log());
                let one_minus = pi.clone().neg() + 1.0;
                let at_zero = (pi + one_minus.clone() * nb0.exp()).log();
                let positive = one_minus.log() + nb;
                let zero = x.equal_elem(0.0).float();
                at_zero * zero.clone() + positive * (zero.neg() + 1.0)
            }
            Likelihood::Bernoulli => {
                let eta = clip_preserve_grad(out.h.clone(), -LOGIT_BOUND, LOGIT_BOUND);
                x * eta.clone() - softplus(eta)
            }
            Likelihood::Gaussian => {
                let loc = self.gaussian_loc(out.h.clone());
                let scale = self.dispersion(out, 1e-3);
                let zs = (x - loc) / scale.clone();
                zs.square() * (-0.5) - scale.log() - HALF_LN_2PI
            }
            Likelihood::Poisson => {
                let eta = self.poisson_log_rate(out.h.clone());
                let lp = x.clone() * eta.clone() - eta.exp();
                if include_const {
                    lp - lgamma(x + 1.0)
                } else {
                    lp
                }
            }
        }
    }

    /// The observation model at `out` (host values), for posterior-predictive
    /// draws on the scale of the model's input: NB/ZINB (gamma-Poisson with
    /// inverse dispersion `1 / dispersion`), Gaussian, Bernoulli, Poisson.
    pub fn noise(&self, out: &BlockOutput<B>) -> super::Noise {
        use crate::nn::to_vec;
        match self.kind {
            Likelihood::Nb | Likelihood::Zinb => super::Noise::Nb {
                mu: to_vec(self.nb_mean(out.h.clone())),
                r: to_vec(self.dispersion(out, 1e-4).recip()),
                zero: (self.kind == Likelihood::Zinb).then(|| to_vec(self.zi_prob(out))),
                per_library: false,
            },
            Likelihood::Gaussian => super::Noise::Gaussian {
                loc: to_vec(self.gaussian_loc(out.h.clone())),
                sd: to_vec(self.dispersion(out, 1e-3)),
            },
            Likelihood::Bernoulli => super::Noise::Bernoulli {
                p: to_vec(self.mean(out)),
            },
            Likelihood::Poisson => super::Noise::Poisson {
                rate: to_vec(self.mean(out)),
            },
        }
    }

    /// Mean of the distribution (`[n, d_k]`), on the scale of the model's input.
    pub fn mean(&self, out: &BlockOutput<B>) -> Tensor<B, 2> {
        match self.kind {
            Likelihood::Nb => self.nb_mean(out.h.clone()),
            Likelihood::Zinb => {
                let pi = self.zi_prob(out);
                self.nb_mean(out.h.clone()) * (pi.neg() + 1.0)
            }
            Likelihood::Bernoulli => {
                sigmoid(clip_preserve_grad(out.h.clone(), -LOGIT_BOUND, LOGIT_BOUND))
            }
            Likelihood::Gaussian => self.gaussian_loc(out.h.clone()),
            Likelihood::Poisson => self.poisson_log_rate(out.h.clone()).exp(),
        }
    }
}

impl<B: Compute> LikelihoodParams<B> {
    /// Per-cell `sum_j mask_ij log p(x_ij)` without the data-only constants.
    /// NB and Bernoulli on a CPU backend run fused on the host (`fused.rs`); everything
    /// else is [`log_prob`](Self::log_prob) times the mask.
    ///
    /// `host`, when given, holds `x` and `mask` on the host for the fused
    /// paths to read in place (see [`HostCols`]).
    ///
    /// # Shapes
    /// - `x`, `mask`: `[n, d_k]` -> `[n, 1]`
    pub fn masked_log_prob(
        &self,
        out: &BlockOutput<B>,
        x: Tensor<B, 2>,
        mask: Tensor<B, 2>,
        host: Option<[HostCols<'_>; 2]>,
    ) -> Tensor<B, 2> {
        if self.kind == Likelihood::Bernoulli && B::HOST {
            let bound = Some(LOGIT_BOUND as f32);
            return crate::host::bernoulli_masked_ll(out.h.clone(), x, mask, bound, host);
        }
        if self.kind == Likelihood::Nb && B::HOST {
            if let Some(disp) = out.disp.clone() {
                return crate::host::scvaeit_nb_masked_ll(
                    out.h.clone(),
                    disp,
                    self.lo.clone(),
                    self.hi.clone(),
                    self.max_disp,
                    x,
                    mask,
                    host,
                );
            }
        }
        (self.log_prob(out, x, false) * mask).sum_dim(1)
    }
}

/// NB log-probability without the `-lgamma(x+1)` term, mean `mu`, inverse
/// dispersion `r` (broadcast `[1, d]` or `[n, d]`).
pub(crate) fn nb_log_prob<B: Backend>(
    x: Tensor<B, 2>,
    mu: Tensor<B, 2>,
    r: Tensor<B, 2>,
) -> Tensor<B, 2> {
    let log_r_mu = (r.clone() + mu.clone() + EPS).log();
    lgamma(x.clone() + r.clone()) - lgamma(r.clone())
        + r.clone() * ((r + EPS).log() - log_r_mu.clone())
        + x * ((mu + EPS).log() - log_r_mu)
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

    fn params(kind: Likelihood, lo: f32, hi: f32, center: f32) -> LikelihoodParams<TB> {
        LikelihoodParams {
            kind,
            lo: t2(&[lo, lo], 1, 2),
            hi: t2(&[hi, hi], 1, 2),
            center: t2(&[center, center], 1, 2),
            max_disp: 6.0,
        }
    }

    fn logit(p: f64) -> f32 {
        (p / (1.0 - p)).ln() as f32
    }
    fn inv_softplus(y: f64) -> f32 {
        (y.exp() - 1.0).ln() as f32
    }

    fn nb_ref(x: f64, mu: f64, phi: f64) -> f64 {
        let r = 1.0 / phi;
        lgamma_f64(x + r) - lgamma_f64(r) - lgamma_f64(x + 1.0)
            + r * (r / (r + mu)).ln()
            + x * (mu / (r + mu)).ln()
    }

    #[test]
    fn nb_and_zinb_match_closed_form() {
        // mean = 0 + sigmoid(h) * 10; choose h so that mu = 2.5 and 7.0
        let p = params(Likelihood::Nb, 0.0, 10.0, 0.0);
        let out = BlockOutput {
            h: t2(&[logit(0.25), logit(0.7)], 1, 2),
            zi_logit: None,
            disp: Some(t2(&[inv_softplus(0.5), inv_softplus(2.0)], 1, 2)),
        };
        // non-integer x as on log-normalized data, and integer counts
        for x in [[0.0f32, 3.0], [1.7, 0.4], [12.0, 5.5]] {
            let got = to_vec(p.log_prob(&out, t2(&x, 1, 2), true));
            let want = [nb_ref(x[0] as f64, 2.5, 0.5), nb_ref(x[1] as f64, 7.0, 2.0)];
            for k in 0..2 {
                assert!(
                    (got[k] as f64 - want[k]).abs() < 2e-4,
                    "NB x={} got {} want {}",
                    x[k],
                    got[k],
                    want[k]
                );
            }
        }
        // mean
        let m = to_vec(p.mean(&out));
        assert!((m[0] - 2.5).abs() < 1e-5 && (m[1] - 7.0).abs() < 1e-5);

        // ZINB with pi = 0.2: zero and positive branches
        let pz = params(Likelihood::Zinb, 0.0, 10.0, 0.0);
        let outz = BlockOutput {
            zi_logit: Some(t2(&[logit(0.2), logit(0.2)], 1, 2)),
            ..out
        };
        let got = to_vec(pz.log_prob(&outz, t2(&[0.0, 3.0], 1, 2), true));
        let want0 = (0.2 + 0.8 * nb_ref(0.0, 2.5, 0.5).exp()).ln();
        let want1 = 0.8f64.ln() + nb_ref(3.0, 7.0, 2.0);
        assert!((got[0] as f64 - want0).abs() < 2e-4, "{} {}", got[0], want0);
        assert!((got[1] as f64 - want1).abs() < 2e-4, "{} {}", got[1], want1);
        let m = to_vec(pz.mean(&outz));
        assert!((m[0] - 0.8 * 2.5).abs() < 1e-5);
    }

    #[test]
    fn bernoulli_gaussian_poisson_match_closed_form() {
        let pb = params(Likelihood::Bernoulli, 0.0, 1.0, 0.0);
        let out = BlockOutput {
            h: t2(&[logit(0.3), logit(0.9)], 1, 2),
            zi_logit: None,
            disp: None,
        };
        let got = to_vec(pb.log_prob(&out, t2(&[1.0, 0.0], 1, 2), true));
        assert!((got[0] as f64 - 0.3f64.ln()).abs() < 1e-5);
        assert!((got[1] as f64 - 0.1f64.ln()).abs() < 1e-5);

        let pg = params(Likelihood::Gaussian, -10.0, 10.0, 1.0);
        let out = BlockOutput {
            h: t2(&[0.5, -2.0], 1, 2),
            zi_logit: None,
            disp: Some(t2(&[inv_softplus(0.8), inv_softplus(2.0)], 1, 2)),
        };
        let got = to_vec(pg.log_prob(&out, t2(&[2.0, 0.0], 1, 2), true));
        let norm = |x: f64, m: f64, s: f64| {
            -0.5 * ((x - m) / s).powi(2) - s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
        };
        assert!((got[0] as f64 - norm(2.0, 1.5, 0.8)).abs() < 1e-5);
        assert!((got[1] as f64 - norm(0.0, -1.0, 2.0)).abs() < 1e-5);
        // location clipped to [lo, hi]
        let out = BlockOutput {
            h: t2(&[50.0, -50.0], 1, 2),
            ..out
        };
        assert_eq!(to_vec(pg.mean(&out)), vec![10.0, -10.0]);

        let pp = params(Likelihood::Poisson, 0.0, 100.0, 0.0);
        let out = BlockOutput {
            h: t2(&[3f32.ln(), 0.5f32.ln()], 1, 2),
            zi_logit: None,
            disp: None,
        };
        let got = to_vec(pp.log_prob(&out, t2(&[2.0, 0.0], 1, 2), true));
        let pois = |x: f64, l: f64| x * l.ln() - l - lgamma_f64(x + 1.0);
        assert!((got[0] as f64 - pois(2.0, 3.0)).abs() < 1e-5);
        assert!((got[1] as f64 - pois(0.0, 0.5)).abs() < 1e-5);
    }
}
