//! The Multigrate network (docs/models.md, Multigrate §2) as a burn module; its
//! training objective (Multigrate §3) is in `objective.rs`, its shapes in `layout.rs`.
//!
//! ```text
//! x [n, D] (modality m: columns r_m), avail [n, D], cov [n, nb] = [one-hot | c]
//! e        = [onehot_j E_j for each covariate j, f(c) W_cont]          [n, K' C]
//!            f(c) = sigmoid(c beta + b) ("sigm") or sigmoid(log1p(c) beta + b) ("logsigm")
//! h_m      = FC_m([x_m, e])        (norm -> act -> dropout per layer) [n, Z]
//! mu_m     = Linear(h_m),  logvar_m = Linear(h_m)                     [n, Z]
//! present  = any feature of m available in the row                    [n, M]
//! PoE:     prec = 1 + sum_m present_m exp(-logvar_m)
//!          mu = sum_m present_m mu_m exp(-logvar_m) / prec, logvar = -ln prec
//! z        = mu + exp(logvar / 2) eps                                  [n, Z]
//! r_m      = head_m(FC'_m([z, e]))                                     [n, d_m]
//! ```
//! A modality that no cell of the minibatch has is not encoded at all (its
//! expert would be masked anyway; Multigrate §7.18).
//!
//! Deviations from the reference, all documented in docs/deviations.md:
//! presence comes from the data's measured flags (a measured cell whose
//! features are all zero is still present; the reference's row-sum tests `> 0`
//! and `!= 0` disagree, Multigrate §7.1); the loss only counts observed features of
//! a present modality (feature panels); the mixture falls back to the prior
//! for a cell with no modality instead of NaN (Multigrate §7.10); the continuous
//! covariates add one `C`-wide embedding whatever their number, and the
//! networks' input width is `C (K_cat + [K_cont > 0])` (the reference reserves
//! `C (K_cat + K_cont)`, a shape error for two or more, Multigrate §7.8).

mod init;
mod layout;
mod objective;

pub(crate) use init::{head_bias, mixture_starts, query_growth, MixStart};
pub use layout::{MgLayout, MgModality};

use crate::backend::Compute;
use crate::batch::Batch;
use crate::config::{ContCovType, Mix};
use crate::data::Likelihood;
use crate::distributions::{
    mg_mean, mg_noise, nb_mixture_mean, nb_mixture_noise, MgOutput, MixHeads, MixInit, Noise,
};
use crate::host::{SparseRows, MAX_DENSITY};
use crate::module::network::Decode;
use crate::nn::{randn, repeat_rows, tensor2, Dense, FcStack, Fwd};
use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{backend::Backend, Int, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// The Multigrate network.
#[derive(Module, Debug)]
pub struct MultiVae<B: Backend> {
    /// Per categorical covariate: embedding table `[levels, C]` (init N(0, 1)).
    pub cat_embed: Vec<Param<Tensor<B, 2>>>,
    /// Continuous covariates (None without them): embedding `W_cont`
    /// `[K_cont, C]` (init N(0, 1)).
    pub cont_embed: Option<Param<Tensor<B, 2>>>,
    /// Continuous covariates: slope `beta` of the generalized sigmoid `[1, K_cont]` (init 1).
    pub cont_beta: Option<Param<Tensor<B, 2>>>,
    /// Continuous covariates: offset `b` of the generalized sigmoid `[1, K_cont]` (init 0).
    pub cont_bias: Option<Param<Tensor<B, 2>>>,
    /// Per modality: encoder stack `[x_m, e] -> Z`.
    pub encoders: Vec<FcStack<B>>,
    /// Per modality: mean head `Z -> Z`.
    pub mus: Vec<Dense<B>>,
    /// Per modality: log-variance head `Z -> Z`.
    pub logvars: Vec<Dense<B>>,
    /// Per modality: decoder stack `[z, e] -> hidden`.
    pub decoders: Vec<FcStack<B>>,
    /// Per modality: output head `hidden -> d_m`.
    pub heads: Vec<Dense<B>>,
    /// Per modality: zero-inflation head (ZINB only).
    pub zi_heads: Vec<Option<Dense<B>>>,
    /// Per modality: log inverse dispersion `[groups, d_m]` (NB/ZINB only; the
    /// reference stores it transposed, `[d_m, groups]`).
    pub theta: Vec<Option<Param<Tensor<B, 2>>>>,
    /// Per modality: the background heads and prior of an NB mixture
    /// (`nb_mixture` modalities only; none in checkpoints without them).
    pub mix_heads: Vec<Option<MixHeads<B>>>,
    /// Shapes (not a parameter).
    #[module(skip)]
    pub layout: MgLayout,
}

/// Encoder output.
#[derive(Debug, Clone)]
pub struct MgEncoded<B: Backend> {
    /// Per modality (None when no cell of the batch has it): mean and log-variance `[n, Z]`.
    pub marginals: Vec<Option<(Tensor<B, 2>, Tensor<B, 2>)>>,
    /// Joint posterior mean `[n, Z]`.
    pub mu: Tensor<B, 2>,
    /// Joint posterior log-variance `[n, Z]`.
    pub logvar: Tensor<B, 2>,
    /// Covariate embedding `[n, K C]` (None without covariates).
    pub embed: Option<Tensor<B, 2>>,
}

pub(super) fn rows<B: Backend>(t: &Tensor<B, 2>, idx: &[usize]) -> Tensor<B, 2> {
    let n = t.dims()[0];
    if idx.len() == n && idx.iter().enumerate().all(|(i, &r)| i == r) {
        return t.clone();
    }
    let ids: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    let ids = Tensor::<B, 1, Int>::from_data(TensorData::new(ids, [idx.len()]), &t.device());
    t.clone().select(0, ids)
}

/// Sample from a diagonal Gaussian.
pub(super) fn sample<B: Backend>(
    mu: Tensor<B, 2>,
    lv: Tensor<B, 2>,
    eps: Tensor<B, 2>,
) -> Tensor<B, 2> {
    mu + (lv * 0.5).exp() * eps
}

/// Combines the experts of the present modalities (`present`: `[n, M]`, 1 =
/// present; `marginals[m]`: mean and log-variance `[n, Z]`, None = no cell
/// has it) into the joint posterior's mean and log-variance `[n, Z]`.
///
/// Product: `prec = 1 + sum_m p_m exp(-lv_m)`, `mu = sum_m p_m mu_m exp(-lv_m) / prec`,
/// `lv = -ln prec` (the N(0, 1) prior expert included, so a cell without any
/// modality gets the prior). Mixture: weights `w_m = p_m / sum p`, `mu = sum w mu_m`,
/// `var = sum w^2 var_m`; the prior for a cell without any modality.
pub fn combine_experts<B: Backend>(
    mix: Mix,
    marginals: &[Option<(Tensor<B, 2>, Tensor<B, 2>)>],
    present: &Tensor<B, 2>,
    z: usize,
) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let [n, _] = present.dims();
    let device = present.device();
    match mix {
        Mix::Product => {
            let mut prec = Tensor::<B, 2>::ones([n, z], &device);
            let mut num = Tensor::<B, 2>::zeros([n, z], &device);
            for (k, mg) in marginals.iter().enumerate() {
                if let Some((mu_k, lv_k)) = mg {
                    let p = present.clone().slice([0..n, k..k + 1]); // [n, 1]
                    let w = lv_k.clone().neg().exp() * p; // [n, Z]
                    num = num + mu_k.clone() * w.clone();
                    prec = prec + w;
                }
            }
            (num / prec.clone(), prec.log().neg())
        }
        Mix::Mixture => {
            let count = present.clone().sum_dim(1); // [n, 1]
            let any = count.clone().greater_elem(0.0).float(); // [n, 1]
            let inv = count.clamp_min(1.0).recip(); // [n, 1]
            let mut mu = Tensor::<B, 2>::zeros([n, z], &device);
            // Cells without any modality get the prior's variance 1.
            let mut var = (any.neg() + 1.0).repeat_dim(1, z);
            for (k, mg) in marginals.iter().enumerate() {
                if let Some((mu_k, lv_k)) = mg {
                    let w = present.clone().slice([0..n, k..k + 1]) * inv.clone();
                    mu = mu + mu_k.clone() * w.clone();
                    var = var + lv_k.clone().exp() * w.square();
                }
            }
            (mu, var.log())
        }
    }
}

/// Per modality the decoder output, the decoding covariates per row, and
/// the number of draws per cell.
type Draws<B> = (Vec<MgOutput<B>>, Option<Tensor<B, 2>>, usize);

impl<B: Compute> MultiVae<B> {
    /// A freshly initialised network (PyTorch default initialisation from
    /// `rng`); `mix_start`: per modality, the data-derived start of an NB
    /// mixture's background (see [`MixInit`]; `None` for other modalities).
    pub fn new(
        layout: MgLayout,
        mix_start: &[Option<MixInit>],
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> Self {
        let l = &layout;
        let e = l.embed_width();
        let cat_embed = l
            .cat_levels
            .iter()
            .map(|&n| {
                Param::from_tensor(tensor2(randn(n * l.cond_dim, rng), n, l.cond_dim, device))
            })
            .collect();
        let k = l.n_cont;
        let cont_param =
            |v: Vec<f32>, r: usize, c: usize| Some(Param::from_tensor(tensor2(v, r, c, device)));
        let (cont_embed, cont_beta, cont_bias) = if k > 0 {
            (
                cont_param(randn(k * l.cond_dim, rng), k, l.cond_dim),
                cont_param(vec![1.0; k], 1, k),
                cont_param(vec![0.0; k], 1, k),
            )
        } else {
            (None, None, None)
        };
        let (mut encoders, mut mus, mut logvars) = (Vec::new(), Vec::new(), Vec::new());
        let (mut decoders, mut heads, mut zi_heads, mut theta) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let h = *l.hidden.last().expect("non-empty hidden");
        for m in &l.modalities {
            let d = m.range.len();
            let ein = if l.cond_enc { e } else { 0 };
            let din = if l.cond_dec { e } else { 0 };
            encoders.push(FcStack::new(&[d, ein], &l.enc_dims(), l.fc, rng, device));
            mus.push(Dense::torch_init(l.latent, l.latent, rng, device));
            logvars.push(Dense::torch_init(l.latent, l.latent, rng, device));
            decoders.push(FcStack::new(
                &[l.latent, din],
                &l.dec_dims(),
                l.fc,
                rng,
                device,
            ));
            heads.push(Dense::torch_init(h, d, rng, device));
            zi_heads.push(
                (m.likelihood == Likelihood::Zinb).then(|| Dense::torch_init(h, d, rng, device)),
            );
            let g = l.n_groups();
            theta.push(
                m.has_theta()
                    .then(|| Param::from_tensor(tensor2(randn(g * d, rng), g, d, device))),
            );
        }
        // drawn after every other parameter, so networks without a mixture
        // draw exactly what they drew before mixtures existed
        let mix_heads = l
            .modalities
            .iter()
            .enumerate()
            .map(|(k, m)| {
                m.nb_mixture.map(|mix| {
                    let start = mix_start
                        .get(k)
                        .copied()
                        .flatten()
                        .unwrap_or(MixInit { mean: 0.0, sd: 1.0 });
                    let start = MixInit {
                        sd: mix.prior_sd as f32,
                        ..start
                    };
                    MixHeads::new(h, m.range.len(), start, true, rng, device)
                })
            })
            .collect();
        MultiVae {
            cat_embed,
            cont_embed,
            cont_beta,
            cont_bias,
            encoders,
            mus,
            logvars,
            decoders,
            heads,
            zi_heads,
            theta,
            mix_heads,
            layout,
        }
    }

    /// Covariate embedding `e`: one `C`-vector per categorical covariate,
    /// then one for all continuous covariates, `f(c) @ W_cont`.
    ///
    /// # Shapes
    /// - `cov`: `[n, nb]` (one-hot | continuous) -> `[n, K' C]`
    pub fn embed_covariates(&self, cov: Option<&Tensor<B, 2>>) -> Option<Tensor<B, 2>> {
        let cov = cov?;
        let [n, _] = cov.dims();
        let mut parts: Vec<Tensor<B, 2>> = self
            .cat_embed
            .iter()
            .enumerate()
            .map(|(j, table)| {
                cov.clone()
                    .slice([0..n, self.layout.cov_columns(j)])
                    .matmul(table.val())
            })
            .collect();
        if let (Some(w), Some(beta), Some(bias)) =
            (&self.cont_embed, &self.cont_beta, &self.cont_bias)
        {
            let c = cov.clone().slice([0..n, self.layout.cont_columns()]); // [n, K_cont]
            let c = match self.layout.cont_type {
                ContCovType::Logsigm => c.log1p(),
                _ => c,
            };
            let s = sigmoid(c * beta.val() + bias.val()); // [n, K_cont]
            parts.push(s.matmul(w.val())); // [n, C]
        }
        (!parts.is_empty()).then(|| Tensor::cat(parts, 1))
    }

    /// Encodes a batch: marginal posteriors of the present modalities and their combination.
    ///
    /// # Shapes
    /// - `batch.x`: `[n, D]` -> `mu`, `logvar`: `[n, Z]`
    pub(crate) fn encode(&self, batch: &Batch<B>, fwd: &mut Fwd<'_, B>) -> MgEncoded<B> {
        let l = &self.layout;
        let n = batch.n();
        let n_mod = l.modalities.len();
        let embed = self.embed_covariates(batch.cov.as_ref());
        let mut marginals = Vec::with_capacity(n_mod);
        for (k, m) in l.modalities.iter().enumerate() {
            if !batch.any_with(k) {
                marginals.push(None);
                continue;
            }
            let mut rest = Vec::new();
            if l.cond_enc {
                if let Some(e) = &embed {
                    rest.push(e.clone());
                }
            }
            // x is 0 where unavailable; sparse blocks multiply only their non-zeros
            let w = self.encoders[k].first.parts[0].val();
            let first = batch
                .host_cols(&m.range)
                .and_then(|[x, a]| SparseRows::gather(x, a, None, n, m.range.len(), MAX_DENSITY))
                .and_then(|rows| B::sparse_matmul(&Arc::new(rows), &w))
                .unwrap_or_else(|| batch.x.clone().slice([0..n, m.range.clone()]).matmul(w));
            let h = self.encoders[k].forward_from(first, &rest, fwd); // [n, Z]
            marginals.push(Some((
                self.mus[k].forward(h.clone()),
                self.logvars[k].forward(h),
            )));
        }
        let (mu, logvar) = combine_experts(l.mix, &marginals, &batch.present, l.latent);
        MgEncoded {
            marginals,
            mu,
            logvar,
            embed,
        }
    }

    /// Decodes latent values into the outputs of modalities `mods`.
    ///
    /// # Shapes
    /// - `z`: `[n, Z]`, `embed`: `[n, K C]` -> per modality `h`: `[n, d_m]`
    pub fn decode(
        &self,
        z: Tensor<B, 2>,
        embed: Option<&Tensor<B, 2>>,
        mods: &[usize],
        fwd: &mut Fwd<'_, B>,
    ) -> Vec<MgOutput<B>> {
        let mut inputs = vec![z];
        if self.layout.cond_dec {
            if let Some(e) = embed {
                inputs.push(e.clone());
            }
        }
        mods.iter()
            .map(|&k| {
                let g = self.decoders[k].forward(&inputs, fwd);
                MgOutput {
                    h: self.heads[k].forward(g.clone()),
                    mix: self.mix_heads[k].as_ref().map(|mh| mh.forward(g.clone())),
                    zi_logit: self.zi_heads[k].as_ref().map(|zh| zh.forward(g)),
                }
            })
            .collect()
    }

    /// Log inverse dispersion of modality `k` per row.
    ///
    /// # Shapes
    /// - `cov`: `[n, nb]` -> `[n, d_k]` (or `[1, d_k]` without `integrate_on`)
    pub(super) fn log_theta(&self, k: usize, cov: Option<&Tensor<B, 2>>) -> Option<Tensor<B, 2>> {
        let theta = self.theta[k].as_ref()?.val(); // [G, d_k]
        match (self.layout.integrate_on, cov) {
            (Some(g), Some(c)) => {
                let [n, _] = c.dims();
                Some(
                    c.clone()
                        .slice([0..n, self.layout.cov_columns(g)])
                        .matmul(theta),
                )
            }
            _ => Some(theta),
        }
    }

    /// Decoder means of modalities `d.targets` at the posterior mean (`d.draws
    /// = None`) or for posterior samples (`Some((L, eps))`, `eps`: `[n L, Z]`),
    /// on each modality's own scale ([`mg_mean`]; an NB mixture's mean is on
    /// the raw-count scale). Returns per modality `[n, L, d_m]`.
    pub(crate) fn decode_means(
        &self,
        batch: &Batch<B>,
        d: Decode<B>,
        fwd: &mut Fwd<'_, B>,
    ) -> Vec<Tensor<B, 3>> {
        let n = batch.n();
        let mods = d.targets.clone();
        let (outs, _, l) = self.decode_draws(batch, d, fwd);
        outs.iter()
            .zip(&mods)
            .map(|(o, &k)| {
                let m = &self.layout.modalities[k];
                let d = m.range.len();
                let mean = match (&o.mix, m.nb_mixture) {
                    (Some(mix), Some(s)) => nb_mixture_mean(o.h.clone(), mix, s.full_mean),
                    _ => mg_mean(m.likelihood, o),
                };
                mean.reshape([n, l, d])
            })
            .collect()
    }

    /// The observation model of each of `d.targets` per decoded row (rows
    /// cell-major `[n L]`), for posterior-predictive draws.
    pub(crate) fn observation(
        &self,
        batch: &Batch<B>,
        d: Decode<B>,
        fwd: &mut Fwd<'_, B>,
    ) -> Vec<Noise> {
        let mods = d.targets.clone();
        let (outs, cov, _) = self.decode_draws(batch, d, fwd);
        outs.iter()
            .zip(&mods)
            .map(|(o, &k)| {
                let lt = self.log_theta(k, cov.as_ref());
                match &o.mix {
                    Some(mix) => nb_mixture_noise(o.h.clone(), mix, lt.expect("dispersion")),
                    None => mg_noise(self.layout.modalities[k].likelihood, o, lt),
                }
            })
            .collect()
    }

    /// Encodes, then decodes the posterior mean (`d.draws = None`) or `L`
    /// posterior samples (rows cell-major `[n L]`); also returns the
    /// decoding covariates per row and `L`.
    fn decode_draws(&self, b: &Batch<B>, d: Decode<B>, fwd: &mut Fwd<'_, B>) -> Draws<B> {
        let enc = self.encode(b, fwd);
        let embed = self.embed_covariates(d.cov.as_ref());
        let (z, embed, cov, l) = match d.draws {
            None => (enc.mu, embed, d.cov, 1),
            Some((l, eps)) => {
                let tile = |t: Tensor<B, 2>| repeat_rows(t, l);
                let z = sample(tile(enc.mu), tile(enc.logvar), eps);
                (z, embed.map(tile), d.cov.map(tile), l)
            }
        };
        (self.decode(z, embed.as_ref(), &d.targets, fwd), cov, l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuBackend as TB;
    use crate::nn::to_vec;

    fn t(v: &[f32], n: usize, d: usize) -> Tensor<TB, 2> {
        tensor2::<TB>(v.to_vec(), n, d, &Default::default())
    }

    /// Closed-form product of Gaussians (prior N(0, 1) included).
    fn product(experts: &[(f64, f64)]) -> (f64, f64) {
        let mut prec = 1.0;
        let mut num = 0.0;
        for &(m, v) in experts {
            prec += 1.0 / v;
            num += m / v;
        }
        (num / prec, 1.0 / prec)
    }

    #[test]
    fn product_of_experts_matches_closed_form() {
        // 4 cells x 1 latent dim, 2 modalities: both, only 0, only 1, none.
        let (mu0, v0) = ([1.0f32, -2.0, 0.5, 3.0], [0.5f32, 2.0, 1.5, 0.1]);
        let (mu1, v1) = ([-1.0f32, 4.0, 2.0, -3.0], [0.25f32, 1.0, 0.2, 0.3]);
        let ln = |v: &[f32]| v.iter().map(|x| x.ln()).collect::<Vec<f32>>();
        let marg = vec![
            Some((t(&mu0, 4, 1), t(&ln(&v0), 4, 1))),
            Some((t(&mu1, 4, 1), t(&ln(&v1), 4, 1))),
        ];
        let present = t(&[1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0], 4, 2);
        let (mu, lv) = combine_experts(Mix::Product, &marg, &present, 1);
        let (mu, lv) = (to_vec(mu), to_vec(lv));
        let p = |c: usize| -> Vec<(f64, f64)> {
            let mut e = Vec::new();
            if c <= 1 {
                e.push((mu0[c] as f64, v0[c] as f64));
            }
            if c == 0 || c == 2 {
                e.push((mu1[c] as f64, v1[c] as f64));
            }
            e
        };
        for c in 0..4 {
            let (m, v) = product(&p(c));
            assert!(
                (mu[c] as f64 - m).abs() < 1e-5,
                "cell {c}: mu {} vs {m}",
                mu[c]
            );
            assert!(
                (lv[c] as f64 - v.ln()).abs() < 1e-5,
                "cell {c}: lv {} vs {}",
                lv[c],
                v.ln()
            );
        }
        // the cell without any modality gets exactly the prior
        assert_eq!((mu[3], lv[3]), (0.0, 0.0));
        // a modality absent from the whole batch (None) is the same as masked out
        let only0 = vec![Some((t(&mu0, 4, 1), t(&ln(&v0), 4, 1))), None];
        let (m2, _) = combine_experts(
            Mix::Product,
            &only0,
            &t(&[1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0], 4, 2),
            1,
        );
        let m2 = to_vec(m2);
        assert!((m2[0] as f64 - product(&[(1.0, 0.5)]).0).abs() < 1e-6);
        // mixture: weighted average law; no modality -> prior (not NaN)
        let (mm, mv) = combine_experts(Mix::Mixture, &marg, &present, 1);
        let (mm, mv) = (to_vec(mm), to_vec(mv));
        let want_mu = 0.5 * (mu0[0] + mu1[0]);
        let want_var = 0.25 * (v0[0] + v1[0]);
        assert!((mm[0] - want_mu).abs() < 1e-6 && (mv[0] - want_var.ln()).abs() < 1e-5);
        assert!((mm[1] - mu0[1]).abs() < 1e-6 && (mv[1] - v0[1].ln()).abs() < 1e-5);
        assert_eq!((mm[3], mv[3]), (0.0, 0.0));
    }
}
