//! burn-flex (the default CPU backend): the host kernels serve it, and its
//! training form `Autodiff<Flex>` has two custom autodiff nodes.
//!
//! - The sparse first-layer product ([`Compute::sparse_matmul`]): forward
//!   `Y[i] = sum_j X[i, j] W[j]` over the non-zeros, backward
//!   `dW[j] = sum_i X[i, j] dY[i]` by columns (the data gets no gradient).
//!   Plain `Flex` (inference) runs the forward product without a graph.
//! - Attaching the fused likelihoods' host values and gradients
//!   ([`Compute::attach`]): the forward is the value alone and the backward
//!   scales the host gradient rows in place, without the surrogate's tensor
//!   operations (`compute.rs`).

use super::compute::surrogate;
use super::Compute;
use crate::host::SparseRows;
use crate::nn::to_vec;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::BackendTypes;
use burn::tensor::{Tensor, TensorData, TensorPrimitive};
use std::sync::Arc;

/// The training backend.
type Ad = Autodiff<Flex>;
/// Its float primitive (a tensor with an autodiff node).
type AdPrim = <Ad as BackendTypes>::FloatTensorPrimitive;
/// burn-flex's float primitive.
type FlexPrim = <Flex as BackendTypes>::FloatTensorPrimitive;

/// A burn-flex tensor from row-major host values.
fn flex_tensor(values: Vec<f32>, shape: [usize; 2]) -> FlexPrim {
    Tensor::<Flex, 2>::from_data(TensorData::new(values, shape), &Default::default())
        .into_primitive()
        .tensor()
}

fn prim<B: burn::tensor::backend::Backend>(t: Tensor<B, 2>) -> B::FloatTensorPrimitive {
    t.into_primitive().tensor()
}

fn tensor<B: burn::tensor::backend::Backend>(p: B::FloatTensorPrimitive) -> Tensor<B, 2> {
    Tensor::from_primitive(TensorPrimitive::Float(p))
}

impl Compute for Flex {
    const HOST: bool = true;

    fn sparse_matmul(x: &Arc<SparseRows>, w: &Tensor<Flex, 2>) -> Option<Tensor<Flex, 2>> {
        let [d, h] = w.dims();
        (d == x.n_cols()).then(|| {
            tensor(flex_tensor(
                x.matmul(&to_vec(w.clone()), h),
                [x.n_rows(), h],
            ))
        })
    }

    fn ad_sparse_matmul(x: &Arc<SparseRows>, w: &Tensor<Ad, 2>) -> Option<Tensor<Ad, 2>> {
        let [d, h] = w.dims();
        if d != x.n_cols() {
            return None;
        }
        let y = flex_tensor(x.matmul(&to_vec(w.clone()), h), [x.n_rows(), h]);
        let p: AdPrim = prim(w.clone());
        let out = match SparseMatmulBackward
            .prepare::<NoCheckpointing>([p.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((x.clone(), h), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        };
        Some(tensor(out))
    }

    fn ad_attach(
        value: Vec<f32>,
        parts: Vec<(Tensor<Ad, 2>, Vec<f32>)>,
        device: &<Flex as BackendTypes>::Device,
    ) -> Tensor<Ad, 2> {
        if parts.is_empty() || parts.len() > 2 {
            return surrogate(value, parts, device);
        }
        let n = value.len();
        let out = flex_tensor(value, [n, 1]);
        let mut prims = Vec::with_capacity(parts.len());
        let mut grads = Vec::with_capacity(parts.len());
        for (t, g) in parts {
            let [rows, d] = t.dims();
            prims.push(prim(t));
            grads.push((g, d, rows == 1 && n != 1));
        }
        let state = State { grads };
        let result = match <[AdPrim; 2]>::try_from(prims) {
            Ok(two) => node(out, two, state),
            Err(one) => node(out, [one.into_iter().next().expect("one part")], state),
        };
        tensor(result)
    }
}

#[derive(Debug)]
struct SparseMatmulBackward;

impl Backward<Flex, 1> for SparseMatmulBackward {
    type State = (Arc<SparseRows>, usize);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let up = grads.consume::<Flex>(&ops.node);
        let [Some(parent)] = ops.parents else { return };
        let (x, h) = ops.state;
        let up = crate::nn::to_vec(Tensor::<Flex, 2>::from_primitive(TensorPrimitive::Float(
            up,
        )));
        let gw = x.t_matmul(&up, h);
        grads.register::<Flex>(parent.id, flex_tensor(gw, [x.n_cols(), h]));
    }
}

/// Gradient rows for the parents: the `[n, d]` host gradient and
/// whether the parent is one row shared by all cells.
#[derive(Debug, Clone)]
struct State {
    grads: Vec<(Vec<f32>, usize, bool)>,
}

#[derive(Debug)]
struct AttachBackward<const N: usize>;

impl<const N: usize> Backward<Flex, N> for AttachBackward<N> {
    type State = State;

    fn backward(self, ops: Ops<State, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let up = grads.consume::<Flex>(&ops.node);
        let up = crate::nn::to_vec(Tensor::<Flex, 2>::from_primitive(TensorPrimitive::Float(
            up,
        )));
        let n = up.len();
        for (parent, (mut g, d, shared)) in ops.parents.iter().zip(ops.state.grads) {
            let Some(node) = parent else { continue };
            let grad = if shared {
                let mut row = vec![0f32; d];
                for (gi, &u) in g.chunks(d).zip(&up) {
                    for (r, &v) in row.iter_mut().zip(gi) {
                        *r += u * v;
                    }
                }
                flex_tensor(row, [1, d])
            } else {
                for (gi, &u) in g.chunks_mut(d).zip(&up) {
                    gi.iter_mut().for_each(|v| *v *= u);
                }
                flex_tensor(g, [n, d])
            };
            grads.register::<Flex>(node.id, grad);
        }
    }
}

fn node<const N: usize>(value: FlexPrim, tensors: [AdPrim; N], state: State) -> AdPrim {
    let nodes = tensors.map(|t| t.node.clone());
    match AttachBackward::<N>
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(state, value),
        OpsKind::UnTracked(prep) => prep.finish(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::tensor2;

    type AD = Autodiff<Flex>;

    /// The custom node and the surrogate give the same value and gradients,
    /// for a per-cell `[n, d]` input and a shared `[1, d]` one, and for an
    /// upstream gradient that differs per cell.
    #[test]
    fn custom_node_matches_the_surrogate() {
        let dev = Default::default();
        let (n, d) = (3, 4);
        let a0: Vec<f32> = (0..n * d).map(|i| i as f32 * 0.1).collect();
        let b0: Vec<f32> = (0..d).map(|i| 1.0 - i as f32 * 0.2).collect();
        let ga: Vec<f32> = (0..n * d).map(|i| (i as f32).sin()).collect();
        let gb: Vec<f32> = (0..n * d).map(|i| (i as f32 * 0.7).cos()).collect();
        let value = vec![0.5f32, -1.0, 2.0];
        let weights = tensor2::<AD>(vec![1.0, 2.0, -3.0], n, 1, &dev);
        let run = |custom: bool| {
            let a = tensor2::<AD>(a0.clone(), n, d, &dev).require_grad();
            let b = tensor2::<AD>(b0.clone(), 1, d, &dev).require_grad();
            // non-leaf inputs, as in the models
            let (a2, b2) = (a.clone() * 1.0, b.clone() + 0.0);
            let parts = vec![(a2, ga.clone()), (b2, gb.clone())];
            let out = if custom {
                <AD as Compute>::attach(value.clone(), parts, &dev)
            } else {
                surrogate(value.clone(), parts, &dev)
            };
            let v = to_vec(out.clone());
            let grads = (out * weights.clone()).sum().backward();
            (
                v,
                to_vec(a.grad(&grads).unwrap()),
                to_vec(b.grad(&grads).unwrap()),
            )
        };
        let (v1, ga1, gb1) = run(true);
        let (v0, ga0, gb0) = run(false);
        let close = |x: &[f32], y: &[f32]| x.iter().zip(y).all(|(a, b)| (a - b).abs() < 1e-5);
        assert_eq!(v1, v0);
        assert!(close(&ga1, &ga0), "{ga1:?} vs {ga0:?}");
        assert!(close(&gb1, &gb0), "{gb1:?} vs {gb0:?}");
        // and the expected numbers: d/da = w_i g_a[i, j], d/db = sum_i w_i g_b[i, j]
        assert!((ga1[d + 1] - 2.0 * ga[d + 1]).abs() < 1e-6);
        let want = gb[0] - 3.0 * gb[2 * d] + 2.0 * gb[d];
        assert!((gb1[0] - want).abs() < 1e-5);
    }
}
