//! Host kernels for the CPU backends: the fused likelihoods (one pass over a
//! minibatch block computes a per-cell log-likelihood and its analytic
//! gradients) and the sparse first-layer product. They read a minibatch's
//! host buffers in place ([`HostCols`]) and enter the autodiff graph through
//! [`Compute::attach`](crate::backend::Compute::attach) and
//! [`Compute::sparse_matmul`](crate::backend::Compute::sparse_matmul). Which
//! backends use them is decided by [`Compute::HOST`](crate::backend::Compute::HOST);
//! GPU backends keep the tensor-op formulas of [`crate::distributions`].

mod likelihood;
mod sparse;

pub use likelihood::{bernoulli_masked_ll, mg_nb_masked_ll, scvaeit_nb_masked_ll};
pub use sparse::{SparseRows, MAX_DENSITY};

use crate::nn::to_vec;
use burn::tensor::{backend::Backend, Tensor};

/// Host values of a block, read in place: row-major `[n, stride]` of which
/// the block's columns start at `start` (a minibatch's `[n, D]` buffer and a
/// modality's column range, so the fused likelihoods need not copy the block
/// out of a tensor).
#[derive(Debug, Clone, Copy)]
pub struct HostCols<'a> {
    /// `[n, stride]`, row-major.
    pub data: &'a [f32],
    /// Row length of `data`.
    pub stride: usize,
    /// First column of the block.
    pub start: usize,
}

impl<'a> HostCols<'a> {
    /// A contiguous `[n, d]` block.
    pub fn dense(data: &'a [f32], d: usize) -> Self {
        HostCols {
            data,
            stride: d,
            start: 0,
        }
    }

    /// `host` when given, else the two `[n, d]` tensors copied to the host
    /// into `store` (which must outlive the result).
    pub(crate) fn or_copies<B: Backend>(
        host: Option<[Self; 2]>,
        tensors: [Tensor<B, 2>; 2],
        d: usize,
        store: &'a mut Vec<Vec<f32>>,
    ) -> [Self; 2] {
        if let Some(cols) = host {
            return cols;
        }
        *store = tensors.into_iter().map(to_vec).collect();
        [HostCols::dense(&store[0], d), HostCols::dense(&store[1], d)]
    }

    /// The `d` values of row `i`.
    #[inline]
    pub(crate) fn row(&self, i: usize, d: usize) -> &'a [f32] {
        let o = i * self.stride + self.start;
        &self.data[o..o + d]
    }
}
