//! The Multigrate network (spec `multigrate.md` §2) as a burn module, and its
//! training loss (§3).
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
//! expert would be masked anyway; pitfall §7.18).
//!
//! Deviations from the reference, all documented in the README:
//! presence comes from the data's measured flags (a measured cell whose
//! features are all zero is still present; the reference's row-sum tests `> 0`
//! and `!= 0` disagree, §7.1); the loss only counts observed features of
//! a present modality (feature panels); the mixture falls back to the prior
//! for a cell with no modality instead of NaN (§7.10); the continuous
//! covariates add one `C`-wide embedding whatever their number, and the
//! networks' input width is `C (K_cat + [K_cont > 0])` (the reference reserves
//! `C (K_cat + K_cont)`, a shape error for two or more, §7.8).

use crate::backend::Compute;
use crate::config::{AlignmentLoss, AlignmentType, ContCovType, Mix, ModelConfig};
use crate::data::Likelihood;
use crate::distributions::{
    jeffreys, kl_to_standard, mg_masked_log_prob, mg_mean, mmd_pair, MgOutput,
};
use crate::host::{HostCols, SparseRows, MAX_DENSITY};
use crate::nn::{randn, tensor2, Dense, FcSpec, FcStack, Fwd};
use crate::schema::Schema;
use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{backend::Backend, Int, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;
use std::ops::Range;
use std::sync::Arc;

/// One modality of the network.
#[derive(Debug, Clone, PartialEq)]
pub struct MgModality {
    /// Global feature columns.
    pub range: Range<usize>,
    /// Loss.
    pub likelihood: Likelihood,
}

impl MgModality {
    /// Whether the modality has a per-feature dispersion `theta`.
    pub fn has_theta(&self) -> bool {
        matches!(self.likelihood, Likelihood::Nb | Likelihood::Zinb)
    }
}

/// Shapes and settings of a Multigrate network.
#[derive(Debug, Clone, PartialEq)]
pub struct MgLayout {
    /// Modalities in model order.
    pub modalities: Vec<MgModality>,
    /// Total features `D`.
    pub n_features: usize,
    /// Latent dimension `Z`.
    pub latent: usize,
    /// Hidden widths (encoder `[d_m] + hidden + [Z]`, decoder `[Z] + hidden + [hidden.last]`).
    pub hidden: Vec<usize>,
    /// Covariate embedding width `C`.
    pub cond_dim: usize,
    /// Levels of each categorical covariate (one-hot widths, model order).
    pub cat_levels: Vec<usize>,
    /// Number of continuous covariates `K_cont` (their columns follow the one-hot ones).
    pub n_cont: usize,
    /// Transform of the continuous covariates.
    pub cont_type: ContCovType,
    /// Index of the `integrate_on` covariate.
    pub integrate_on: Option<usize>,
    /// Covariate embeddings enter the encoders.
    pub cond_enc: bool,
    /// Covariate embeddings enter the decoders.
    pub cond_dec: bool,
    /// Posterior combination.
    pub mix: Mix,
    /// Layer settings.
    pub fc: FcSpec,
}

impl MgLayout {
    /// Layout for a resolved Multigrate config and its schema.
    pub fn new(cfg: &ModelConfig, schema: &Schema) -> MgLayout {
        let mg = cfg.multigrate.clone().unwrap_or_default();
        let mut col = 0;
        let modalities = schema
            .modalities
            .iter()
            .map(|ms| {
                let mc = cfg
                    .modality(&ms.name)
                    .expect("resolved config lists every modality");
                let r = col..col + ms.features.len();
                col = r.end;
                MgModality {
                    range: r,
                    likelihood: mc.likelihood.expect("resolved"),
                }
            })
            .collect();
        let covs: Vec<&str> = schema.covariates.iter().map(|c| c.name.as_str()).collect();
        MgLayout {
            modalities,
            n_features: col,
            latent: cfg.latent_dim,
            hidden: cfg.hidden.clone(),
            cond_dim: mg.cond_dim,
            cat_levels: schema.covariates.iter().map(|c| c.levels.len()).collect(),
            n_cont: schema.n_continuous(),
            cont_type: mg.cont_cov_type,
            integrate_on: mg
                .integrate_on
                .as_ref()
                .and_then(|g| covs.iter().position(|c| c == g)),
            cond_enc: mg.condition_encoders,
            cond_dec: mg.condition_decoders,
            mix: mg.mix,
            fc: FcSpec {
                norm: mg.normalization,
                activation: mg.activation,
                dropout: mg.dropout,
                bn: (0.01, 1e-3),
            },
        }
    }

    /// Number of `C`-wide covariate embeddings: one per categorical
    /// covariate, plus one for all continuous covariates together.
    fn n_embeddings(&self) -> usize {
        self.cat_levels.len() + (self.n_cont > 0) as usize
    }

    /// Width of the covariate embedding vector `e`.
    pub fn embed_width(&self) -> usize {
        self.cond_dim * self.n_embeddings()
    }

    /// Number of `integrate_on` groups (1 without it).
    pub fn n_groups(&self) -> usize {
        self.integrate_on.map_or(1, |g| self.cat_levels[g])
    }

    /// One-hot columns of covariate `j`.
    pub fn cov_columns(&self, j: usize) -> Range<usize> {
        let start: usize = self.cat_levels[..j].iter().sum();
        start..start + self.cat_levels[j]
    }

    /// Columns of the continuous covariates in the covariate vector.
    pub fn cont_columns(&self) -> Range<usize> {
        let start: usize = self.cat_levels.iter().sum();
        start..start + self.n_cont
    }

    fn enc_dims(&self) -> Vec<usize> {
        let mut d = self.hidden.clone();
        d.push(self.latent);
        d
    }

    fn dec_dims(&self) -> Vec<usize> {
        let mut d = self.hidden.clone();
        d.push(*self.hidden.last().expect("non-empty hidden"));
        d
    }

    /// Number of scalars of a network with this layout (every float
    /// parameter); `None` on overflow. Checked against a checkpoint before
    /// any allocation.
    pub fn expected_elements(&self) -> Option<usize> {
        let mut n = 0usize;
        let mut add = |v: Option<usize>| -> Option<()> {
            n = n.checked_add(v?)?;
            Some(())
        };
        let e = self.cond_dim.checked_mul(self.n_embeddings())?;
        for &l in &self.cat_levels {
            add(l.checked_mul(self.cond_dim))?;
        }
        if self.n_cont > 0 {
            // W_cont [K_cont, C], beta and b [1, K_cont]
            add(self.n_cont.checked_mul(self.cond_dim.checked_add(2)?))?;
        }
        let bn = matches!(self.fc.norm, crate::config::LayerNormKind::Batch);
        let stack = |d_in: usize, dims: &[usize]| -> Option<usize> {
            let mut t = 0usize;
            let mut w = d_in;
            for &o in dims {
                t = t.checked_add(w.checked_mul(o)?.checked_add(o)?)?;
                if bn {
                    t = t.checked_add(o.checked_mul(4)?)?;
                }
                w = o;
            }
            Some(t)
        };
        let z = self.latent;
        let h = *self.hidden.last()?;
        for m in &self.modalities {
            let d = m.range.len();
            let ein = if self.cond_enc { e } else { 0 };
            let din = if self.cond_dec { e } else { 0 };
            add(stack(d.checked_add(ein)?, &self.enc_dims()))?;
            add(z.checked_mul(z)?.checked_add(z)?.checked_mul(2))?;
            add(stack(z.checked_add(din)?, &self.dec_dims()))?;
            let head = h.checked_mul(d)?.checked_add(d)?;
            add(Some(head))?;
            if m.likelihood == Likelihood::Zinb {
                add(Some(head))?;
            }
            if m.has_theta() {
                add(d.checked_mul(self.n_groups()))?;
            }
        }
        Some(n)
    }
}

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
    /// Shapes (not a parameter).
    #[module(skip)]
    pub layout: MgLayout,
}

/// A minibatch as the network sees it.
#[derive(Debug, Clone)]
pub struct MgBatch<B: Backend> {
    /// Transformed values, `[n, D]` (0 where unavailable).
    pub x: Tensor<B, 2>,
    /// 1 where a feature is observed, `[n, D]`.
    pub avail: Tensor<B, 2>,
    /// Covariates, `[n, nb]`: one-hot categorical columns, then the
    /// continuous values (None without covariates).
    pub cov: Option<Tensor<B, 2>>,
    /// 1 where the cell has the modality, `[n, M]`.
    pub present: Tensor<B, 2>,
    /// The same on the host, row-major `[n, M]`.
    pub present_host: Vec<bool>,
    /// `x` and `avail` on the host, row-major `[n, D]`, on CPU backends (read
    /// in place by the sparse first layer and the fused likelihoods instead of
    /// copying each modality out of the tensors).
    pub host: Option<Arc<[Vec<f32>; 2]>>,
}

impl<B: Compute> MgBatch<B> {
    /// A batch from host buffers `x`, `avail` (`[n, D]`) and one-hot `cov`
    /// (`[n, nb]`); a modality is present in a row when any of its features is available.
    pub fn from_host(
        x: Vec<f32>,
        avail: Vec<f32>,
        cov: Option<(Vec<f32>, usize)>,
        n: usize,
        layout: &MgLayout,
        device: &B::Device,
    ) -> Self {
        let d = layout.n_features;
        let m = layout.modalities.len();
        let mut present_host = vec![false; n * m];
        for i in 0..n {
            for (k, md) in layout.modalities.iter().enumerate() {
                present_host[i * m + k] = avail[i * d + md.range.start..i * d + md.range.end]
                    .iter()
                    .any(|&a| a > 0.0);
            }
        }
        let present = tensor2(
            present_host.iter().map(|&p| p as u8 as f32).collect(),
            n,
            m,
            device,
        );
        let host = B::HOST.then(|| Arc::new([x.clone(), avail.clone()]));
        MgBatch {
            x: tensor2(x, n, d, device),
            avail: tensor2(avail, n, d, device),
            cov: cov.map(|(c, nb)| tensor2(c, n, nb, device)),
            present,
            present_host,
            host,
        }
    }

    fn n(&self) -> usize {
        self.x.dims()[0]
    }

    /// Modality `m`'s columns of the host `x` and `avail` (CPU backends).
    fn host_cols(&self, m: &MgModality) -> Option<[HostCols<'_>; 2]> {
        let bufs = self.host.as_deref()?;
        Some(bufs.each_ref().map(|data| HostCols {
            data,
            stride: self.x.dims()[1],
            start: m.range.start,
        }))
    }

    /// Rows that have modality `m`.
    pub fn rows_with(&self, m: usize, n_mod: usize) -> Vec<usize> {
        (0..self.n())
            .filter(|&i| self.present_host[i * n_mod + m])
            .collect()
    }
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

/// Per-step scalar weights.
#[derive(Debug, Clone)]
pub struct MgWeights {
    /// `loss_coefs["recon"]`.
    pub recon: f64,
    /// `loss_coefs["kl"]` times the warm-up factor of the epoch.
    pub kl: f64,
    /// `loss_coefs["integ"]`.
    pub integ: f64,
    /// Per-modality `loss_coefs["m"]`.
    pub modality: Vec<f64>,
    /// Alignment penalty.
    pub alignment: Option<AlignmentLoss>,
    /// What it compares.
    pub alignment_type: AlignmentType,
    /// MMD with the moments kernel instead of the Gaussian one.
    pub moments: bool,
}

/// Inputs of one training step.
#[derive(Debug, Clone)]
pub struct MgStep<B: Backend> {
    /// The minibatch.
    pub batch: MgBatch<B>,
    /// Library size per cell and modality (raw row sums), `[n, M]`.
    pub libs: Tensor<B, 2>,
    /// Noise of the joint sample, `[n, Z]`.
    pub eps: Tensor<B, 2>,
    /// Noise of each modality's marginal sample (marginal alignment only), `[n, Z]` each.
    pub eps_marginal: Vec<Tensor<B, 2>>,
    /// `integrate_on` code of each row (empty without it).
    pub groups: Vec<u32>,
}

fn rows<B: Backend>(t: &Tensor<B, 2>, idx: &[usize]) -> Tensor<B, 2> {
    let n = t.dims()[0];
    if idx.len() == n && idx.iter().enumerate().all(|(i, &r)| i == r) {
        return t.clone();
    }
    let ids: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    let ids = Tensor::<B, 1, Int>::from_data(TensorData::new(ids, [idx.len()]), &t.device());
    t.clone().select(0, ids)
}

/// Sample from a diagonal Gaussian.
fn sample<B: Backend>(mu: Tensor<B, 2>, lv: Tensor<B, 2>, eps: Tensor<B, 2>) -> Tensor<B, 2> {
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

impl<B: Compute> MultiVae<B> {
    /// A freshly initialised network (PyTorch default initialisation from `rng`).
    pub fn new(layout: MgLayout, rng: &mut ChaCha8Rng, device: &B::Device) -> Self {
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
    pub fn encode(&self, batch: &MgBatch<B>, fwd: &mut Fwd<'_, B>) -> MgEncoded<B> {
        let l = &self.layout;
        let n = batch.n();
        let n_mod = l.modalities.len();
        let embed = self.embed_covariates(batch.cov.as_ref());
        let mut marginals = Vec::with_capacity(n_mod);
        for (k, m) in l.modalities.iter().enumerate() {
            if !(0..n).any(|i| batch.present_host[i * n_mod + k]) {
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
                .host_cols(m)
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
                    zi_logit: self.zi_heads[k].as_ref().map(|zh| zh.forward(g)),
                }
            })
            .collect()
    }

    /// Log inverse dispersion of modality `k` per row.
    ///
    /// # Shapes
    /// - `cov`: `[n, nb]` -> `[n, d_k]` (or `[1, d_k]` without `integrate_on`)
    fn log_theta(&self, k: usize, cov: Option<&Tensor<B, 2>>) -> Option<Tensor<B, 2>> {
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

    /// Alignment penalty `D(z, groups)` summed over pairs of groups (rows in `idx`).
    fn group_penalty(
        &self,
        w: &MgWeights,
        rows_idx: &[usize],
        groups: &[u32],
        sample: &Tensor<B, 2>,
        mu: &Tensor<B, 2>,
        lv: &Tensor<B, 2>,
    ) -> Option<Tensor<B, 1>> {
        let n_groups = self.layout.n_groups();
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_groups];
        for &r in rows_idx {
            members[groups[r] as usize].push(r);
        }
        let present: Vec<&Vec<usize>> = members.iter().filter(|m| !m.is_empty()).collect();
        let mut total: Option<Tensor<B, 1>> = None;
        for a in 0..present.len() {
            for b in a + 1..present.len() {
                let t = self.pair_penalty(w, present[a], present[b], sample, mu, lv, mu, lv);
                total = Some(match total {
                    Some(s) => s + t,
                    None => t,
                });
            }
        }
        total
    }

    #[allow(clippy::too_many_arguments)]
    fn pair_penalty(
        &self,
        w: &MgWeights,
        ia: &[usize],
        ib: &[usize],
        sample: &Tensor<B, 2>,
        mu_a: &Tensor<B, 2>,
        lv_a: &Tensor<B, 2>,
        mu_b: &Tensor<B, 2>,
        lv_b: &Tensor<B, 2>,
    ) -> Tensor<B, 1> {
        match w.alignment {
            Some(AlignmentLoss::Jeffreys) => {
                let k = ia.len().min(ib.len());
                jeffreys(
                    rows(mu_a, &ia[..k]),
                    rows(lv_a, &ia[..k]),
                    rows(mu_b, &ib[..k]),
                    rows(lv_b, &ib[..k]),
                )
            }
            _ => mmd_pair(rows(sample, ia), rows(sample, ib), w.moments),
        }
    }

    /// The training objective of one minibatch (spec §3).
    #[allow(clippy::needless_range_loop)] // pairs of modalities index three parallel lists
    ///
    /// Returns `total` and the logged parts `[M + 3]`: per-modality
    /// reconstruction (mean over the batch's cells, masked), KL of the joint
    /// posterior (unweighted, mean), alignment penalty (unweighted), total.
    pub fn loss(
        &self,
        step: &MgStep<B>,
        w: &MgWeights,
        fwd: &mut Fwd<'_, B>,
    ) -> crate::module::LossOutput<B> {
        let l = &self.layout;
        let b = &step.batch;
        let n = b.n();
        let n_mod = l.modalities.len();
        let device = b.x.device();
        let enc = self.encode(b, fwd);
        let z = sample(enc.mu.clone(), enc.logvar.clone(), step.eps.clone());
        let mods: Vec<usize> = (0..n_mod).filter(|&k| enc.marginals[k].is_some()).collect();
        let outs = self.decode(z.clone(), enc.embed.as_ref(), &mods, fwd);
        let mut recon_cell = Tensor::<B, 2>::zeros([n, 1], &device);
        let mut parts: Vec<Tensor<B, 1>> = vec![Tensor::zeros([1], &device); n_mod];
        for (&k, out) in mods.iter().zip(&outs) {
            let m = &l.modalities[k];
            let x = b.x.clone().slice([0..n, m.range.clone()]);
            let avail = b.avail.clone().slice([0..n, m.range.clone()]);
            let sf = m
                .has_theta()
                .then(|| step.libs.clone().slice([0..n, k..k + 1]));
            let lt = self.log_theta(k, b.cov.as_ref());
            let host = b.host_cols(m);
            let nll = mg_masked_log_prob(m.likelihood, out, x, avail, sf, lt, host).neg(); // [n, 1]
            let nll = nll * b.present.clone().slice([0..n, k..k + 1]);
            parts[k] = nll.clone().mean().reshape([1]);
            recon_cell = recon_cell + nll * w.modality[k];
        }
        let kl_cell = kl_to_standard(enc.mu.clone(), enc.logvar.clone()); // [n, 1]
        let kl = kl_cell.clone().mean().reshape([1]);
        let mut total = (recon_cell * w.recon + kl_cell * w.kl).mean().reshape([1]);
        let mut integ = Tensor::<B, 1>::zeros([1], &device);
        if w.integ > 0.0 && w.alignment.is_some() {
            let add = |acc: &mut Tensor<B, 1>, t: Option<Tensor<B, 1>>| {
                if let Some(t) = t {
                    *acc = acc.clone() + t;
                }
            };
            let all: Vec<usize> = (0..n).collect();
            let groups: Vec<u32> = if step.groups.is_empty() {
                vec![0; n]
            } else {
                step.groups.clone()
            };
            if matches!(
                w.alignment_type,
                AlignmentType::Latent | AlignmentType::Both
            ) {
                let t = self.group_penalty(w, &all, &groups, &z, &enc.mu, &enc.logvar);
                add(&mut integ, t);
            }
            if matches!(
                w.alignment_type,
                AlignmentType::Marginal | AlignmentType::Both
            ) {
                let samples: Vec<Option<Tensor<B, 2>>> = enc
                    .marginals
                    .iter()
                    .zip(&step.eps_marginal)
                    .map(|(mg, e)| {
                        mg.as_ref()
                            .map(|(m, v)| sample(m.clone(), v.clone(), e.clone()))
                    })
                    .collect();
                for i in 0..n_mod {
                    let (Some((mi, vi)), Some(si)) = (&enc.marginals[i], &samples[i]) else {
                        continue;
                    };
                    for j in i + 1..n_mod {
                        let (Some((mj, vj)), Some(sj)) = (&enc.marginals[j], &samples[j]) else {
                            continue;
                        };
                        let both: Vec<usize> = (0..n)
                            .filter(|&r| {
                                b.present_host[r * n_mod + i] && b.present_host[r * n_mod + j]
                            })
                            .collect();
                        if both.len() < 2 {
                            continue;
                        }
                        let t = match w.alignment {
                            Some(AlignmentLoss::Jeffreys) => jeffreys(
                                rows(mi, &both),
                                rows(vi, &both),
                                rows(mj, &both),
                                rows(vj, &both),
                            ),
                            _ => mmd_pair(rows(si, &both), rows(sj, &both), w.moments),
                        };
                        add(&mut integ, Some(t));
                    }
                    let with_i = b.rows_with(i, n_mod);
                    let t = self.group_penalty(w, &with_i, &groups, si, mi, vi);
                    add(&mut integ, t);
                }
            }
            total = total + integ.clone() * w.integ;
        }
        parts.push(kl);
        parts.push(integ);
        parts.push(total.clone());
        crate::module::LossOutput {
            total,
            parts: Tensor::cat(parts, 0).detach(),
        }
    }

    /// Decoder means of modalities `mods` at the posterior mean (`draws =
    /// None`) or for posterior samples (`Some((L, eps))`, `eps`: `[n L, Z]`),
    /// on each modality's own scale ([`mg_mean`]). Returns per modality `[n, L, d_m]`.
    pub fn impute(
        &self,
        batch: &MgBatch<B>,
        dec_cov: Option<&Tensor<B, 2>>,
        mods: &[usize],
        draws: Option<(usize, Tensor<B, 2>)>,
        fwd: &mut Fwd<'_, B>,
    ) -> Vec<Tensor<B, 3>> {
        let n = batch.n();
        let enc = self.encode(batch, fwd);
        let embed = self.embed_covariates(dec_cov);
        let (z, embed, l) = match draws {
            None => (enc.mu, embed, 1),
            Some((l, eps)) => {
                let tile = |t: Tensor<B, 2>| -> Tensor<B, 2> {
                    let [_, c] = t.dims();
                    t.unsqueeze_dim::<3>(1).repeat_dim(1, l).reshape([n * l, c])
                };
                let z = sample(tile(enc.mu), tile(enc.logvar), eps);
                (z, embed.map(tile), l)
            }
        };
        let outs = self.decode(z, embed.as_ref(), mods, fwd);
        outs.iter()
            .zip(mods)
            .map(|(o, &k)| {
                let d = self.layout.modalities[k].range.len();
                mg_mean(self.layout.modalities[k].likelihood, o).reshape([n, l, d])
            })
            .collect()
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
