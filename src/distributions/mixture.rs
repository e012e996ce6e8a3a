//! totalVI's protein observation model (Gayoso, Steier et al. 2021; scvi-tools
//! `TOTALVAE`), usable by any NB modality of either model (`nb_model =
//! "mixture"`): raw counts follow a two-component negative binomial mixture,
//!
//! ```text
//! x_nj ~ pi_nj NB(beta_nj, r_j) + (1 - pi_nj) NB(beta_nj alpha_nj, r_j)
//! beta  = exp(back)              background mean (no library offset)
//! alpha = 1 + exp(min(h, 15))     foreground scale > 1
//! pi    = sigmoid(mixing)         probability of background
//! r     = exp(log_r)              per-feature inverse dispersion
//! ```
//!
//! with `back`, `h` and `mixing` decoder heads. totalVI gives the background
//! a variational posterior with a learned normal prior on `log beta`; here the
//! background is the decoder's point value, penalised by that prior's
//! negative log density `N(mu_j, sd_j)`: the mean is learned, the sd stays at
//! totalVI's data-derived start (with a point value, a learned sd would
//! shrink to zero and make the objective unbounded). Plus totalVI's small
//! push towards background (`1e-3 softplus(-mixing)`). Imputation returns the foreground mean
//! `(1 - pi) beta alpha` (totalVI's `get_normalized_expression` default).
//!
//! One deviation in the parameterisation: totalVI's foreground scale is
//! `1 + relu(h)`, which needs `h` ~ 100 for a protein 100 times above its
//! background; `1 + exp(h)` reaches it at `h` ~ 4.6 with gradients
//! proportional to the scale (it learned within a 100-epoch run here, the
//! linear form did not).

use super::softplus;
use crate::nn::{to_vec, Dense};
use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{backend::Backend, Tensor};
use rand_chacha::ChaCha8Rng;

const EPS: f64 = 1e-8;
/// Weight of totalVI's penalty towards the background component.
const BACKGROUND_PUSH: f64 = 1e-3;

/// The extra decoder heads and the background prior of a mixture modality.
#[derive(Module, Debug)]
pub struct MixHeads<B: Backend> {
    /// Log background mean, `hidden -> d`.
    pub back: Dense<B>,
    /// Logit of the background probability, `hidden -> d`.
    pub mixing: Dense<B>,
    /// Background prior: row 0 the mean of `log beta` (trained), row 1 its
    /// log sd (not trained), `[2, d]`.
    pub prior: Param<Tensor<B, 2>>,
}

/// Outputs of the extra heads, `[n, d]` each.
#[derive(Debug, Clone)]
pub struct MixOut<B: Backend> {
    /// Log background mean.
    pub back: Tensor<B, 2>,
    /// Logit of the background probability.
    pub mixing: Tensor<B, 2>,
    /// Background prior, `[2, d]`.
    pub prior: Tensor<B, 2>,
}

/// Data-derived start of the background prior (log scale).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixInit {
    /// Mean of `log beta`.
    pub mean: f32,
    /// Standard deviation of `log beta`.
    pub sd: f32,
}

impl<B: Backend> MixHeads<B> {
    /// Heads over a `hidden`-wide activation for `d` features: Glorot
    /// weights (`torch = false`, scVAEIT) or PyTorch's default (Multigrate);
    /// the background head's bias and the prior start at `init`, the mixing bias at 0.
    pub fn new(
        hidden: usize,
        d: usize,
        init: MixInit,
        torch: bool,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> Self {
        let dense = |rng: &mut ChaCha8Rng| {
            let mut l = if torch {
                Dense::torch_init(hidden, d, rng, device)
            } else {
                Dense::new(hidden, d, true, rng, device)
            };
            l.bias = Some(Param::from_tensor(crate::nn::tensor1(vec![0.0; d], device)));
            l
        };
        let mut back = dense(rng);
        back.bias = Some(Param::from_tensor(crate::nn::tensor1(
            vec![init.mean; d],
            device,
        )));
        let mixing = dense(rng);
        let mut p = vec![init.mean; d];
        p.extend(std::iter::repeat_n(init.sd.max(1e-3).ln(), d));
        MixHeads {
            back,
            mixing,
            prior: Param::from_tensor(crate::nn::tensor2(p, 2, d, device)),
        }
    }

    /// Sets the background head's bias and the prior to `init`.
    pub fn reset(&mut self, init: MixInit, device: &B::Device) {
        let d = self.prior.val().dims()[1];
        self.back.bias = Some(Param::from_tensor(crate::nn::tensor1(
            vec![init.mean; d],
            device,
        )));
        let mut p = vec![init.mean; d];
        p.extend(std::iter::repeat_n(init.sd.max(1e-3).ln(), d));
        self.prior = Param::from_tensor(crate::nn::tensor2(p, 2, d, device));
    }

    /// # Shapes
    /// - `g`: `[n, hidden]` -> `[n, d]` each
    pub fn forward(&self, g: Tensor<B, 2>) -> MixOut<B> {
        MixOut {
            back: self.back.forward(g.clone()),
            mixing: self.mixing.forward(g),
            prior: self.prior.val(),
        }
    }
}

/// Number of scalars of [`MixHeads`] for `hidden -> d`.
pub fn mix_heads_elements(hidden: usize, d: usize) -> Option<usize> {
    hidden
        .checked_mul(d)?
        .checked_add(d)?
        .checked_mul(2)?
        .checked_add(d.checked_mul(2)?)
}

/// Means of both components and the background probability.
fn parts<B: Backend>(
    h: Tensor<B, 2>,
    mix: &MixOut<B>,
) -> (Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 2>) {
    let beta = mix.back.clone().exp();
    let fore = beta.clone() * (h.clamp_max(15.0).exp() + 1.0);
    (beta, fore, sigmoid(mix.mixing.clone()))
}

/// Per-cell `sum_j mask_ij [log p(x_ij) - penalties_ij]` of the mixture
/// (without the data-only `-lgamma(x + 1)`). `log_lib`: a per-cell log
/// library offset added to the log background mean (the background prior
/// applies to the mean without it).
///
/// # Shapes
/// - `h`, `x`, `mask`: `[n, d]`; `log_r`: `[1 or n, d]`; `log_lib`: `[n, 1]` -> `[n, 1]`
pub fn nb_mixture_masked_ll<B: Backend>(
    h: Tensor<B, 2>,
    mix: &MixOut<B>,
    log_r: Tensor<B, 2>,
    x: Tensor<B, 2>,
    mask: Tensor<B, 2>,
    log_lib: Option<Tensor<B, 2>>,
) -> Tensor<B, 2> {
    let [n, d] = h.dims();
    let r = log_r.exp();
    let back = mix.back.clone();
    let beta = match log_lib {
        Some(off) => (back.clone() + off).exp(),
        None => back.clone().exp(),
    };
    let fore = beta.clone() * (h.clamp_max(15.0).exp() + 1.0);
    let nb1 = super::likelihood::nb_log_prob(x.clone(), beta, r.clone());
    let nb2 = super::likelihood::nb_log_prob(x, fore, r);
    let lp1 = nb1 - softplus(mix.mixing.clone().neg());
    let lp2 = nb2 - softplus(mix.mixing.clone());
    let m = lp1.clone().max_pair(lp2.clone()).detach();
    let ll = m.clone() + ((lp1 - m.clone()).exp() + (lp2 - m).exp() + EPS).log();
    let mu = mix.prior.clone().slice([0..1, 0..d]);
    let log_sd = mix.prior.clone().slice([1..2, 0..d]).detach();
    let z = (back - mu) / log_sd.clone().exp();
    let prior_pen = z.square() * 0.5 + log_sd;
    let push = softplus(mix.mixing.clone().neg()) * BACKGROUND_PUSH;
    debug_assert_eq!(ll.dims(), [n, d]);
    ((ll - prior_pen - push) * mask).sum_dim(1)
}

/// Imputed mean: the foreground `(1 - pi) beta alpha`, with `full` plus
/// the background `pi beta`.
pub fn nb_mixture_mean<B: Backend>(h: Tensor<B, 2>, mix: &MixOut<B>, full: bool) -> Tensor<B, 2> {
    let (back, fore, pi) = parts(h, mix);
    let fg = fore * (pi.clone().neg() + 1.0);
    if full {
        fg + back * pi
    } else {
        fg
    }
}

/// The observation model for posterior-predictive draws.
pub fn nb_mixture_noise<B: Backend>(
    h: Tensor<B, 2>,
    mix: &MixOut<B>,
    log_r: Tensor<B, 2>,
) -> super::Noise {
    let (back, fore, pi) = parts(h, mix);
    super::Noise::NbMixture {
        back: to_vec(back),
        fore: to_vec(fore),
        r: to_vec(log_r.exp()),
        p_back: to_vec(pi),
    }
}

/// totalVI's empirical start of the background prior: per cell, split the
/// `log1p` counts of its features in two groups (1-D 2-means) and take the
/// lower group's mean and sd; average the means over cells, and combine the
/// sds as `sqrt(sum sd^2) / n_cells` (as `_get_totalvi_protein_priors`).
/// `rows`: each cell's counts.
pub fn background_prior<'a>(rows: impl Iterator<Item = &'a [f32]>) -> MixInit {
    let (mut means, mut sq, mut n) = (0f64, 0f64, 0usize);
    for row in rows {
        let v: Vec<f64> = row.iter().map(|&x| (x.max(0.0) as f64).ln_1p()).collect();
        if v.len() < 2 {
            continue;
        }
        let (lo0, hi0) = v
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        if hi0 - lo0 < 1e-9 {
            means += lo0;
            sq += 0.05f64.powi(2);
            n += 1;
            continue;
        }
        let (mut c0, mut c1) = (lo0, hi0);
        for _ in 0..50 {
            let (mut s0, mut k0, mut s1, mut k1) = (0.0, 0usize, 0.0, 0usize);
            for &x in &v {
                if (x - c0).abs() <= (x - c1).abs() {
                    s0 += x;
                    k0 += 1;
                } else {
                    s1 += x;
                    k1 += 1;
                }
            }
            let (n0, n1) = (s0 / k0.max(1) as f64, s1 / k1.max(1) as f64);
            if (n0 - c0).abs() < 1e-9 && (n1 - c1).abs() < 1e-9 {
                break;
            }
            c0 = n0;
            c1 = n1;
        }
        let low: Vec<f64> = v
            .iter()
            .copied()
            .filter(|&x| (x - c0).abs() <= (x - c1).abs())
            .collect();
        let m = low.iter().sum::<f64>() / low.len().max(1) as f64;
        let var = low.iter().map(|x| (x - m).powi(2)).sum::<f64>() / low.len().max(1) as f64;
        means += m;
        sq += var.max(0.05f64.powi(2));
        n += 1;
    }
    if n == 0 {
        return MixInit { mean: 0.0, sd: 1.0 };
    }
    MixInit {
        mean: (means / n as f64) as f32,
        sd: (sq.sqrt() / n as f64) as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuBackend as TB;
    use crate::nn::tensor2;
    use crate::special::lgamma as lgamma_f64;

    fn t(v: &[f32], n: usize, d: usize) -> Tensor<TB, 2> {
        tensor2::<TB>(v.to_vec(), n, d, &Default::default())
    }

    #[test]
    fn mixture_matches_closed_form() {
        let nb = |x: f64, mu: f64, r: f64| {
            lgamma_f64(x + r) - lgamma_f64(r) + r * (r / (r + mu)).ln() + x * (mu / (r + mu)).ln()
        };
        // beta = 2, alpha = 1 + softplus(0.5), pi = sigmoid(0.3), r = 1.5
        let (b, h, m, r) = (2f64, 0.5f64, 0.3f64, 1.5f64);
        let alpha = 1.0 + h.exp();
        let pi = 1.0 / (1.0 + (-m).exp());
        let mix = MixOut {
            back: t(&[b.ln() as f32, b.ln() as f32], 1, 2),
            mixing: t(&[m as f32, m as f32], 1, 2),
            // prior mean = ln 2 (no penalty from the square), sd = 1
            prior: t(&[b.ln() as f32, b.ln() as f32, 0.0, 0.0], 2, 2),
        };
        let x = [0.0f64, 7.0];
        let got = to_vec(nb_mixture_masked_ll(
            t(&[h as f32, h as f32], 1, 2),
            &mix,
            t(&[r.ln() as f32, r.ln() as f32], 1, 2),
            t(&[x[0] as f32, x[1] as f32], 1, 2),
            t(&[1.0, 1.0], 1, 2),
            None,
        ))[0] as f64;
        let push = 2.0 * 1e-3 * (1.0 + (-m).exp()).ln();
        let want: f64 = x
            .iter()
            .map(|&x| (pi * nb(x, b, r).exp() + (1.0 - pi) * nb(x, b * alpha, r).exp()).ln())
            .sum::<f64>()
            - push;
        assert!((got - want).abs() < 1e-3, "{got} vs {want}");
        let mean = to_vec(nb_mixture_mean(t(&[h as f32, h as f32], 1, 2), &mix, false));
        assert!((mean[0] as f64 - (1.0 - pi) * b * alpha).abs() < 1e-4);
    }

    #[test]
    fn library_offset_scales_both_components() {
        // background 2 with a library offset of ln 3 fits like background 6
        // (each at its prior mean, so the penalties are equal)
        let ll = |back: f64, off: Option<f64>| {
            let mix = MixOut {
                back: t(&[back.ln() as f32; 2], 1, 2),
                mixing: t(&[0.3, -0.2], 1, 2),
                prior: t(&[back.ln() as f32, back.ln() as f32, 0.0, 0.0], 2, 2),
            };
            to_vec(nb_mixture_masked_ll(
                t(&[0.5, 1.5], 1, 2),
                &mix,
                t(&[0.4, 0.4], 1, 2),
                t(&[3.0, 40.0], 1, 2),
                t(&[1.0, 1.0], 1, 2),
                off.map(|o| t(&[o.ln() as f32], 1, 1)),
            ))[0]
        };
        let (a, b) = (ll(2.0, Some(3.0)), ll(6.0, None));
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        assert!((ll(2.0, None) - b).abs() > 0.1);
    }

    #[test]
    fn background_prior_finds_the_low_group() {
        let rows: Vec<Vec<f32>> = (0..20)
            .map(|i| {
                let mut r = vec![2.0f32; 30];
                r.extend(vec![200.0 + i as f32; 10]);
                r
            })
            .collect();
        let p = background_prior(rows.iter().map(|r| r.as_slice()));
        assert!((p.mean - 3f32.ln()).abs() < 1e-4, "{p:?}");
        assert!(p.sd > 0.0 && p.sd < 0.05);
    }
}
