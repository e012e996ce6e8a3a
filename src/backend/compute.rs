//! What a backend contributes beyond burn's tensor operations: whether the
//! host kernels serve it, and its form of the two operations they need (a
//! sparse-times-dense product and attaching host-computed values and
//! gradients to the autodiff graph).
//!
//! Every backend the crate builds implements [`Compute`]; the defaults are
//! the backend-independent forms, so a backend only overrides what it does
//! better (burn-flex: custom autodiff nodes, see `flex.rs`). `Autodiff<B>`
//! takes its forms from `B`'s `ad_*` hooks.

use crate::host::SparseRows;
use crate::nn::tensor2;
use burn::backend::Autodiff;
use burn::tensor::{backend::Backend, Tensor};
use std::sync::Arc;

/// A compute backend of scmosaic (see the module docs).
pub trait Compute: Backend {
    /// Whether minibatches keep host copies of their inputs and the fused
    /// host kernels ([`crate::host`]) compute the likelihoods (CPU backends).
    const HOST: bool = false;

    /// `X W` over the non-zeros of a host block `x` (`[n, d]`) with `w`
    /// (`[d, h]`; a gradient flows to `w` only), or `None` when this backend
    /// has no sparse path (the caller then uses the dense product).
    fn sparse_matmul(x: &Arc<SparseRows>, w: &Tensor<Self, 2>) -> Option<Tensor<Self, 2>> {
        let _ = (x, w);
        None
    }

    /// A `[n, 1]` tensor whose value is `value` and whose backward pass sends
    /// `up_i g[i, ..]` to each part's tensor `t` (`up`: the incoming gradient;
    /// summed over cells for a `[1, d]` tensor).
    ///
    /// # Shapes
    /// - `value`: `[n]`; each part: a tensor `[n or 1, d]` and its gradient
    ///   `[n, d]` (row `i` holds the derivative of `value[i]`) -> `[n, 1]`
    fn attach(
        value: Vec<f32>,
        parts: Vec<(Tensor<Self, 2>, Vec<f32>)>,
        device: &Self::Device,
    ) -> Tensor<Self, 2> {
        surrogate(value, parts, device)
    }

    /// [`Compute::sparse_matmul`] of `Autodiff<Self>`.
    fn ad_sparse_matmul(
        x: &Arc<SparseRows>,
        w: &Tensor<Autodiff<Self>, 2>,
    ) -> Option<Tensor<Autodiff<Self>, 2>> {
        let _ = (x, w);
        None
    }

    /// [`Compute::attach`] of `Autodiff<Self>`.
    fn ad_attach(
        value: Vec<f32>,
        parts: Vec<(Tensor<Autodiff<Self>, 2>, Vec<f32>)>,
        device: &Self::Device,
    ) -> Tensor<Autodiff<Self>, 2> {
        surrogate(value, parts, device)
    }
}

impl<B: Compute> Compute for Autodiff<B> {
    const HOST: bool = B::HOST;

    fn sparse_matmul(x: &Arc<SparseRows>, w: &Tensor<Self, 2>) -> Option<Tensor<Self, 2>> {
        B::ad_sparse_matmul(x, w)
    }

    fn attach(
        value: Vec<f32>,
        parts: Vec<(Tensor<Self, 2>, Vec<f32>)>,
        device: &Self::Device,
    ) -> Tensor<Self, 2> {
        B::ad_attach(value, parts, device)
    }
}

#[cfg(feature = "ndarray")]
impl Compute for burn::backend::NdArray {
    const HOST: bool = true;
}

#[cfg(feature = "cuda")]
impl Compute for burn::backend::Cuda {}

/// The backend-independent [`Compute::attach`]: `v + S - detach(S)` with
/// `S = sum_k sum_j t_k g_k` (exact value, exact gradient; costs a multiply
/// and a row sum of `[n, d]` forward and a broadcast multiply backward).
pub(crate) fn surrogate<B: Backend>(
    value: Vec<f32>,
    parts: Vec<(Tensor<B, 2>, Vec<f32>)>,
    device: &B::Device,
) -> Tensor<B, 2> {
    let n = value.len();
    let v = tensor2::<B>(value, n, 1, device);
    let mut s: Option<Tensor<B, 2>> = None;
    for (t, g) in parts {
        let d = g.len() / n.max(1);
        let term = (t * tensor2::<B>(g, n, d, device)).sum_dim(1);
        s = Some(match s {
            Some(s) => s + term,
            None => term,
        });
    }
    match s {
        Some(s) => s.clone() - s.detach() + v,
        None => v,
    }
}
