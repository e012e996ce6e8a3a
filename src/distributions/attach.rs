//! Attaching host-computed values and gradients to the autodiff graph.
//!
//! The fused likelihoods (`fused.rs`) compute, per cell `i`, a value `v_i`
//! and its gradients `g_k = dv/dt_k` with respect to a few input tensors
//! `t_k` (`[n, d]`, or `[1, d]` for parameters shared by all cells). The
//! result must be a tensor `[n, 1]` whose value is `v` and whose backward
//! pass sends `up_i g_k[i, j]` to `t_k` (`up`: the incoming gradient `[n, 1]`;
//! summed over cells for a `[1, d]` input).
//!
//! - Any backend: `v + S - detach(S)` with `S = sum_j t_k g_k` (exact value,
//!   exact gradient; costs a multiply and a row sum of `[n, d]` forward and a
//!   broadcast multiply backward).
//! - `Autodiff<Flex>` (the default CPU training backend): a custom autodiff
//!   node whose forward is the value alone and whose backward scales the
//!   host gradients in place, without the surrogate's tensor ops.

use crate::nn::tensor2;
use burn::tensor::{backend::Backend, Tensor};

/// `[n, 1]` tensor with value `value` and gradient `up_i parts[k].1[i, ..]`
/// flowing to `parts[k].0` (see the module docs).
///
/// # Shapes
/// - `value`: `[n]`; each part: a tensor `[n or 1, d]` and its gradient
///   `[n, d]` (row `i` holds the derivative of `value[i]`) -> `[n, 1]`
pub(crate) fn attach<B: Backend>(
    value: Vec<f32>,
    parts: Vec<(Tensor<B, 2>, Vec<f32>)>,
    device: &B::Device,
) -> Tensor<B, 2> {
    #[cfg(feature = "flex")]
    let (value, parts) = match flex::attach::<B>(value, parts) {
        Ok(t) => return t,
        Err(back) => back,
    };
    surrogate(value, parts, device)
}

/// The backend-independent form: `v + S - detach(S)`.
fn surrogate<B: Backend>(
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

#[cfg(feature = "flex")]
mod flex {
    use crate::backend::flex_node::{flex_tensor, from_ad, to_ad, Ad, AdPrim, FlexPrim};
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::Flex;
    use burn::tensor::backend::Backend;
    use burn::tensor::{Tensor, TensorPrimitive};
    use std::any::TypeId;

    type Parts<B> = Vec<(Tensor<B, 2>, Vec<f32>)>;

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

    /// The custom node when `B` is `Autodiff<Flex>` and there are one or two
    /// parts; otherwise the inputs back.
    pub(super) fn attach<B: Backend>(
        value: Vec<f32>,
        parts: Parts<B>,
    ) -> Result<Tensor<B, 2>, (Vec<f32>, Parts<B>)> {
        if TypeId::of::<B>() != TypeId::of::<Ad>() || parts.is_empty() || parts.len() > 2 {
            return Err((value, parts));
        }
        let n = value.len();
        let out = flex_tensor(value, [n, 1]);
        let mut prims = Vec::with_capacity(parts.len());
        let mut grads = Vec::with_capacity(parts.len());
        for (t, g) in parts {
            let [rows, d] = t.dims();
            prims.push(to_ad(t).expect("B is Autodiff<Flex>"));
            grads.push((g, d, rows == 1 && n != 1));
        }
        let state = State { grads };
        let result = match <[AdPrim; 2]>::try_from(prims) {
            Ok(two) => node(out, two, state),
            Err(one) => node(out, [one.into_iter().next().expect("one part")], state),
        };
        Ok(from_ad(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuBackend;
    use crate::nn::to_vec;
    use burn::backend::Autodiff;

    type AD = Autodiff<CpuBackend>;

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
                attach(value.clone(), parts, &dev)
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
