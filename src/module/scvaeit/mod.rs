//! The scVAEIT network (docs/models.md, scVAEIT §2) as a burn module; its training objective
//! (scVAEIT §3) is in `objective.rs`, its mask generator in `mask.rs`.
//!
//! ```text
//! x [n, D], avail [n, D] (1 = input may be used), b [n, nb]
//! e      = tanh(mask_embed(1 - avail))                         [n, E]
//! xc     = (x - center) * avail                                [n, D]
//! h_k    = leaky(enc_block_k([xc_k, e_k, b]))   (no bias)       [n, hidden_k]
//! H      = trunk(concat_k h_k)        (Dense -> leaky -> BN)    [n, hidden[-1]]
//! mu     = BN(z_mean(H)),  logvar = z_logvar(H)                 [n, d]
//! z      = mu + exp(logvar / 2) * eps                           [m, d]   (m = n or n*L)
//! G      = decoder([z, e, b])       (Dense -> leaky -> BN)      [m, hidden[0]]
//! g_k    = leaky(dec_block_k(G)) (+ h_k with skip_conn)         [m, hidden_k]
//! out_k  = out_block_k(g_k)  (+ zi_block_k(g_k) for ZINB)       [m, d_k]
//! disp_k = b W_k + theta_k                                      [n or 1, d_k]
//! ```
//! Keras conventions of the reference: LeakyReLU slope 0.3, Glorot-uniform
//! weights, zero biases, BN momentum 0.99 (0.01 here) and epsilon 1e-3.

mod init;
mod mask;
mod objective;

pub(crate) use init::{expected_elements, head_bias, query_growth};

use super::layout::Layout;
use crate::backend::Compute;
use crate::distributions::{BlockOutput, LikelihoodParams};
use crate::host::{HostCols, SparseRows, MAX_DENSITY};
use crate::nn::{tensor1, to_vec, BatchNorm, Dense, Fwd, SplitDense};
use burn::module::{Module, Param};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{backend::Backend, Tensor};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// The scVAEIT network. Besides the weights it holds the data-derived output
/// constants (`center`, `out_lo`, `out_hi`, per feature), which are saved with
/// the weights and never trained.
#[derive(Module, Debug)]
pub struct ScVaeIt<B: Backend> {
    /// Mask embedding, `D -> E` (with bias).
    pub mask_embed: Dense<B>,
    /// Per block: `[x_k, e_k, b] -> hidden_k`, no bias.
    pub enc_blocks: Vec<SplitDense<B>>,
    /// Encoder trunk dense layers.
    pub enc_layers: Vec<Dense<B>>,
    /// Encoder trunk batch norms.
    pub enc_norms: Vec<BatchNorm<B>>,
    /// Latent mean layer.
    pub z_mean: Dense<B>,
    /// Batch norm on the latent mean.
    pub z_mean_norm: BatchNorm<B>,
    /// Latent log-variance layer.
    pub z_logvar: Dense<B>,
    /// First decoder layer over `[z, e, b]`.
    pub dec_first: SplitDense<B>,
    /// Further decoder trunk layers.
    pub dec_layers: Vec<Dense<B>>,
    /// Decoder trunk batch norms (one per decoder layer, first included).
    pub dec_norms: Vec<BatchNorm<B>>,
    /// Per block: `hidden[0] -> hidden_k`.
    pub dec_blocks: Vec<Dense<B>>,
    /// Per block: `hidden_k -> d_k`.
    pub out_blocks: Vec<Dense<B>>,
    /// Per block: zero-inflation logits `hidden_k -> d_k` (ZINB blocks only).
    pub zi_blocks: Vec<Option<Dense<B>>>,
    /// Per block: covariate weights of the dispersion `nb x d_k` (dispersion blocks, nb > 0).
    pub disp_weight: Vec<Option<Param<Tensor<B, 2>>>>,
    /// Per block: per-feature dispersion bias `theta_k` (dispersion blocks).
    pub disp_bias: Vec<Option<Param<Tensor<B, 1>>>>,
    /// Per-feature centre (Gaussian blocks; 0 elsewhere), `[D]`, not trained.
    pub center: Param<Tensor<B, 1>>,
    /// Per-feature lower output bound, `[D]`, not trained.
    pub out_lo: Param<Tensor<B, 1>>,
    /// Per-feature upper output bound, `[D]`, not trained.
    pub out_hi: Param<Tensor<B, 1>>,
    /// Shapes (not a parameter).
    #[module(skip)]
    pub layout: Layout,
}

/// Output-scale constants computed from the training data (length `D` each).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputConstants {
    /// Gaussian centres (0 for other likelihoods).
    pub center: Vec<f32>,
    /// Lower bounds.
    pub lo: Vec<f32>,
    /// Upper bounds.
    pub hi: Vec<f32>,
}

/// Encoder output.
#[derive(Debug, Clone)]
pub struct Encoded<B: Backend> {
    /// Posterior mean (after batch norm), `[n, d]`.
    pub mu: Tensor<B, 2>,
    /// Posterior log-variance, `[n, d]`.
    pub logvar: Tensor<B, 2>,
    /// Mask embedding, `[n, E]`.
    pub embed: Tensor<B, 2>,
    /// Per-block encoder activations (used by skip connections), `[n, hidden_k]`.
    pub skip: Vec<Tensor<B, 2>>,
}

impl<B: Compute> ScVaeIt<B> {
    /// A freshly initialised network (weights from `rng`).
    pub fn new(
        layout: Layout,
        consts: &OutputConstants,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> Self {
        let l = &layout;
        let (mom, eps) = l.bn;
        let mask_embed = Dense::new(l.n_features, l.n_embed, true, rng, device);
        let enc_blocks = l
            .blocks
            .iter()
            .map(|b| SplitDense::new(&[b.len, b.embed_len, l.n_cov], b.hidden, false, rng, device))
            .collect();
        let mut enc_layers = Vec::new();
        let mut enc_norms = Vec::new();
        let mut width: usize = l.blocks.iter().map(|b| b.hidden).sum();
        for &w in &l.hidden {
            enc_layers.push(Dense::new(width, w, true, rng, device));
            enc_norms.push(BatchNorm::new(w, mom, eps, device));
            width = w;
        }
        let z_mean = Dense::new(width, l.latent, true, rng, device);
        let z_mean_norm = BatchNorm::new(l.latent, mom, eps, device);
        let z_logvar = Dense::new(width, l.latent, true, rng, device);
        let rev: Vec<usize> = l.hidden.iter().rev().copied().collect();
        let dec_first = SplitDense::new(&[l.latent, l.n_embed, l.n_cov], rev[0], true, rng, device);
        let mut dec_norms = vec![BatchNorm::new(rev[0], mom, eps, device)];
        let mut dec_layers = Vec::new();
        for pair in rev.windows(2) {
            dec_layers.push(Dense::new(pair[0], pair[1], true, rng, device));
            dec_norms.push(BatchNorm::new(pair[1], mom, eps, device));
        }
        let g = *rev.last().expect("non-empty hidden");
        let mut dec_blocks = Vec::new();
        let mut out_blocks = Vec::new();
        let mut zi_blocks = Vec::new();
        let mut disp_weight = Vec::new();
        let mut disp_bias = Vec::new();
        for b in &l.blocks {
            dec_blocks.push(Dense::new(g, b.hidden, true, rng, device));
            out_blocks.push(Dense::new(b.hidden, b.len, true, rng, device));
            zi_blocks.push(
                (b.likelihood == crate::data::Likelihood::Zinb)
                    .then(|| Dense::new(b.hidden, b.len, true, rng, device)),
            );
            let has_disp = matches!(
                b.likelihood,
                crate::data::Likelihood::Nb
                    | crate::data::Likelihood::Zinb
                    | crate::data::Likelihood::Gaussian
            );
            disp_weight.push((has_disp && l.n_cov > 0).then(|| {
                let w = crate::nn::glorot_uniform(l.n_cov, b.len, rng);
                Param::from_tensor(crate::nn::tensor2(w, l.n_cov, b.len, device))
            }));
            disp_bias.push(has_disp.then(|| Param::from_tensor(tensor1(vec![0.0; b.len], device))));
        }
        let constant =
            |v: &Vec<f32>| Param::from_tensor(tensor1(v.clone(), device)).set_require_grad(false);
        ScVaeIt {
            mask_embed,
            enc_blocks,
            enc_layers,
            enc_norms,
            z_mean,
            z_mean_norm,
            z_logvar,
            dec_first,
            dec_layers,
            dec_norms,
            dec_blocks,
            out_blocks,
            zi_blocks,
            disp_weight,
            disp_bias,
            center: constant(&consts.center),
            out_lo: constant(&consts.lo),
            out_hi: constant(&consts.hi),
            layout,
        }
    }

    fn leaky(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        leaky_relu(x, self.layout.leaky)
    }

    /// Encodes `x` under the availability mask `avail`.
    ///
    /// `host`: the same `x` and `avail` as row-major `[n, D]` host buffers;
    /// blocks whose masked values are sparse enough then multiply only their
    /// non-zeros in the first layer ([`Compute::sparse_matmul`], CPU backends).
    ///
    /// # Shapes
    /// - `x`, `avail`: `[n, D]` (1 = usable), `cov`: `[n, nb]`
    /// - returns `mu`, `logvar`: `[n, d]`; `embed`: `[n, E]`; `skip[k]`: `[n, hidden_k]`
    pub fn encode(
        &self,
        x: &Tensor<B, 2>,
        avail: Tensor<B, 2>,
        cov: Option<&Tensor<B, 2>>,
        host: Option<[&[f32]; 2]>,
        fwd: &mut Fwd<'_, B>,
    ) -> Encoded<B> {
        let [n, _] = x.dims();
        let embed = self.mask_embed.forward(avail.clone().neg() + 1.0).tanh(); // [n, E]
        let center = host.map(|_| to_vec(self.center.val()));
        let mut xc = None; // [n, D], computed when a block needs the dense product
        let mut skip = Vec::with_capacity(self.layout.blocks.len());
        for (b, layer) in self.layout.blocks.iter().zip(&self.enc_blocks) {
            let mut rest = vec![embed.clone().slice([0..n, b.embed_range()])];
            if let Some(c) = cov {
                rest.push(c.clone());
            }
            let sparse = host.zip(center.as_ref()).and_then(|([xh, ah], c)| {
                let cols = |data| HostCols {
                    data,
                    stride: self.layout.n_features,
                    start: b.start,
                };
                let c = Some(&c[b.range()]);
                let rows = SparseRows::gather(cols(xh), cols(ah), c, n, b.len, MAX_DENSITY)?;
                B::sparse_matmul(&Arc::new(rows), &layer.parts[0].val()) // [n, hidden_k]
            });
            let first = sparse.unwrap_or_else(|| {
                let xc = xc.get_or_insert_with(|| {
                    (x.clone() - self.center.val().unsqueeze::<2>()) * avail.clone()
                });
                xc.clone()
                    .slice([0..n, b.range()])
                    .matmul(layer.parts[0].val())
            });
            skip.push(self.leaky(layer.forward_from(first, &rest))); // [n, hidden_k]
        }
        let mut h = Tensor::cat(skip.clone(), 1); // [n, sum hidden_k]
        for (layer, norm) in self.enc_layers.iter().zip(&self.enc_norms) {
            h = norm.forward(self.leaky(layer.forward(h)), fwd.stats);
        }
        let mu = self
            .z_mean_norm
            .forward(self.z_mean.forward(h.clone()), fwd.stats); // [n, d]
        let logvar = self.z_logvar.forward(h); // [n, d]
        Encoded {
            mu,
            logvar,
            embed,
            skip,
        }
    }

    /// Decodes latent samples into the outputs of the requested blocks.
    ///
    /// # Shapes
    /// - `z`: `[m, d]`, `embed`: `[m, E]`, `cov`: `[m, nb]`, `skip[k]`: `[m, hidden_k]`
    /// - returns, per entry of `blocks`, outputs `[m, d_k]` (dispersion `[1 or m, d_k]`)
    pub fn decode(
        &self,
        z: Tensor<B, 2>,
        embed: Tensor<B, 2>,
        cov: Option<&Tensor<B, 2>>,
        skip: Option<&[Tensor<B, 2>]>,
        blocks: &[usize],
        fwd: &mut Fwd<'_, B>,
    ) -> Vec<BlockOutput<B>> {
        let mut inputs = vec![z, embed];
        if let Some(c) = cov {
            inputs.push(c.clone());
        }
        let mut g =
            self.dec_norms[0].forward(self.leaky(self.dec_first.forward(&inputs)), fwd.stats);
        for (layer, norm) in self.dec_layers.iter().zip(&self.dec_norms[1..]) {
            g = norm.forward(self.leaky(layer.forward(g)), fwd.stats);
        }
        blocks
            .iter()
            .map(|&k| {
                let mut gk = self.leaky(self.dec_blocks[k].forward(g.clone())); // [m, hidden_k]
                if self.layout.skip_conn {
                    if let Some(s) = skip {
                        gk = gk + s[k].clone();
                    }
                }
                let h = self.out_blocks[k].forward(gk.clone()); // [m, d_k]
                let zi_logit = self.zi_blocks[k].as_ref().map(|l| l.forward(gk));
                let disp = self.disp_bias[k].as_ref().map(|theta| {
                    let t = theta.val().unsqueeze::<2>(); // [1, d_k]
                    match (&self.disp_weight[k], cov) {
                        (Some(w), Some(c)) => c.clone().matmul(w.val()) + t, // [m, d_k]
                        _ => t,
                    }
                });
                BlockOutput { h, zi_logit, disp }
            })
            .collect()
    }

    /// The likelihood constants of block `k`.
    pub fn likelihood(&self, k: usize) -> LikelihoodParams<B> {
        let b = &self.layout.blocks[k];
        let slice = |p: &Param<Tensor<B, 1>>| p.val().slice([b.range()]).unsqueeze::<2>();
        LikelihoodParams {
            kind: b.likelihood,
            lo: slice(&self.out_lo),
            hi: slice(&self.out_hi),
            center: slice(&self.center),
            max_disp: self.layout.max_disp,
        }
    }

    pub(super) fn all_blocks(&self) -> Vec<usize> {
        (0..self.layout.blocks.len()).collect()
    }

    /// One encoder/decoder pass: encode `x` with `input` as availability,
    /// decode every block, and return the per-block log-likelihood of `x`
    /// over the entries of `output`, summed over features and averaged over cells.
    ///
    /// `host`: the same `x`, `input` and `output` as row-major `[n, D]` host
    /// buffers (read in place by the sparse first layer and the fused likelihoods).
    ///
    /// # Shapes
    /// - `x`, `input`, `output`: `[n, D]`, `eps`: `[n, d]`
    /// - returns `(mu [n, d], logvar [n, d], per-block log-likelihood [1] each)`
    #[allow(clippy::too_many_arguments)]
    pub(super) fn pass(
        &self,
        x: &Tensor<B, 2>,
        input: Tensor<B, 2>,
        output: &Tensor<B, 2>,
        host: Option<[&[f32]; 3]>,
        cov: Option<&Tensor<B, 2>>,
        eps: Tensor<B, 2>,
        fwd: &mut Fwd<'_, B>,
    ) -> (Tensor<B, 2>, Tensor<B, 2>, Vec<Tensor<B, 1>>) {
        let [n, _] = x.dims();
        let enc = self.encode(x, input, cov, host.map(|[x, input, _]| [x, input]), fwd);
        let z = (enc.mu.clone() + (enc.logvar.clone() * 0.5).exp() * eps).clamp(-1e6, 1e6);
        let blocks = self.all_blocks();
        let outs = self.decode(z, enc.embed, cov, Some(&enc.skip), &blocks, fwd);
        let ll = outs
            .iter()
            .enumerate()
            .map(|(k, out)| {
                let r = self.layout.blocks[k].range();
                let cols = host.map(|[x, _, output]| {
                    [x, output].map(|data| HostCols {
                        data,
                        stride: self.layout.n_features,
                        start: r.start,
                    })
                });
                let xk = x.clone().slice([0..n, r.clone()]);
                let mk = output.clone().slice([0..n, r]);
                self.likelihood(k).masked_log_prob(out, xk, mk, cols).sum() / n as f64
            })
            .collect();
        (enc.mu, enc.logvar, ll)
    }
}
