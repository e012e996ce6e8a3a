//! The fully connected stack of Multigrate (scvi `FCLayers`, docs/models.md, Multigrate §2): every
//! layer, the output layer included, is
//! `Linear -> [BatchNorm | LayerNorm without affine] -> activation -> Dropout`.
//! Weights use PyTorch's default initialisation (uniform in `±1/sqrt(fan_in)`
//! for weights and biases) drawn from the crate's seeded RNG.

use super::{BatchNorm, BnStats, Dense, SplitDense};
use crate::config::{Activation, LayerNormKind};
use burn::module::Module;
use burn::tensor::activation::leaky_relu;
use burn::tensor::{backend::Backend, Tensor, TensorData};
use rand::RngCore;
use rand_chacha::ChaCha8Rng;

/// LayerNorm epsilon (PyTorch default).
const LN_EPS: f64 = 1e-5;
/// LeakyReLU slope (PyTorch default).
const LEAKY: f64 = 0.01;

/// Settings shared by the layers of a stack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FcSpec {
    /// Normalization after each linear map.
    pub norm: LayerNormKind,
    /// Activation.
    pub activation: Activation,
    /// Dropout probability (training only).
    pub dropout: f64,
    /// Batch-norm momentum and epsilon.
    pub bn: (f64, f64),
}

/// Per-forward state: batch-norm statistics and, in training, the dropout RNG.
pub struct Fwd<'a, B: Backend> {
    /// Batch-norm mode and recorded statistics.
    pub stats: &'a mut BnStats<B>,
    /// Dropout masks are drawn from this stream; `None` disables dropout.
    pub dropout: Option<&'a mut ChaCha8Rng>,
}

/// A stack of fully connected layers whose first layer reads several inputs.
#[derive(Module, Debug)]
pub struct FcStack<B: Backend> {
    /// First layer over the (not concatenated) inputs.
    pub first: SplitDense<B>,
    /// Further layers.
    pub layers: Vec<Dense<B>>,
    /// One batch norm per layer (first included) with `norm = batch`.
    pub norms: Vec<Option<BatchNorm<B>>>,
    /// Settings (not a parameter).
    #[module(skip)]
    pub spec: FcSpec,
}

impl<B: Backend> FcStack<B> {
    /// `d_ins`: widths of the first layer's inputs; `dims`: output width of
    /// each layer.
    pub fn new(
        d_ins: &[usize],
        dims: &[usize],
        spec: FcSpec,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> Self {
        assert!(!dims.is_empty(), "FcStack needs at least one layer");
        let first = SplitDense::torch_init(d_ins, dims[0], rng, device);
        let layers = dims
            .windows(2)
            .map(|w| Dense::torch_init(w[0], w[1], rng, device))
            .collect();
        let norms = dims
            .iter()
            .map(|&w| {
                (spec.norm == LayerNormKind::Batch)
                    .then(|| BatchNorm::new(w, spec.bn.0, spec.bn.1, device))
            })
            .collect();
        FcStack {
            first,
            layers,
            norms,
            spec,
        }
    }

    fn post(&self, y: Tensor<B, 2>, k: usize, fwd: &mut Fwd<'_, B>) -> Tensor<B, 2> {
        let y = match self.spec.norm {
            LayerNormKind::Batch => self.norms[k]
                .as_ref()
                .expect("batch norm per layer")
                .forward(y, fwd.stats),
            LayerNormKind::Layer => layer_norm(y),
            LayerNormKind::None => y,
        };
        let y = match self.spec.activation {
            Activation::LeakyRelu => leaky_relu(y, LEAKY),
            Activation::Tanh => y.tanh(),
        };
        match fwd.dropout.as_deref_mut() {
            Some(rng) if self.spec.dropout > 0.0 => dropout(y, self.spec.dropout, rng),
            _ => y,
        }
    }

    /// # Shapes
    /// - `inputs[i]`: `[n, d_ins[i]]` (non-empty inputs only) -> `[n, dims.last()]`
    pub fn forward(&self, inputs: &[Tensor<B, 2>], fwd: &mut Fwd<'_, B>) -> Tensor<B, 2> {
        self.after_first(self.first.forward(inputs), fwd)
    }

    /// Like [`FcStack::forward`] with the first input's product `x_1 W_1`
    /// already computed (e.g. by [`sparse_matmul`](super::sparse_matmul)).
    ///
    /// # Shapes
    /// - `first`: `[n, dims[0]]`; `rest[i]`: `[n, d_ins[i + 1]]` -> `[n, dims.last()]`
    pub fn forward_from(
        &self,
        first: Tensor<B, 2>,
        rest: &[Tensor<B, 2>],
        fwd: &mut Fwd<'_, B>,
    ) -> Tensor<B, 2> {
        self.after_first(self.first.forward_from(first, rest), fwd)
    }

    /// The rest of the stack after the first layer's affine output `y`.
    fn after_first(&self, y: Tensor<B, 2>, fwd: &mut Fwd<'_, B>) -> Tensor<B, 2> {
        let mut h = self.post(y, 0, fwd);
        for (k, layer) in self.layers.iter().enumerate() {
            h = self.post(layer.forward(h), k + 1, fwd);
        }
        h
    }
}

/// Row-wise LayerNorm without learnable scale and shift.
///
/// # Shapes
/// - `x`: `[n, w]` -> `[n, w]`
pub fn layer_norm<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    let mean = x.clone().mean_dim(1); // [n, 1]
    let centred = x - mean;
    let var = centred.clone().square().mean_dim(1); // [n, 1], biased (PyTorch)
    centred / (var + LN_EPS).sqrt()
}

/// Inverted dropout with a mask drawn on the host from `rng` (the same seed
/// gives the same masks on every backend).
pub fn dropout<B: Backend>(x: Tensor<B, 2>, p: f64, rng: &mut ChaCha8Rng) -> Tensor<B, 2> {
    let [n, w] = x.dims();
    let keep = 1.0 / (1.0 - p) as f32;
    let threshold = (p * u32::MAX as f64) as u32;
    let mask: Vec<f32> = (0..n * w)
        .map(|_| {
            if rng.next_u32() >= threshold {
                keep
            } else {
                0.0
            }
        })
        .collect();
    let mask = Tensor::<B, 2>::from_data(TensorData::new(mask, [n, w]), &x.device());
    x * mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuBackend as TB;
    use crate::nn::{tensor2, to_vec};
    use rand::SeedableRng;

    #[test]
    fn layer_norm_standardizes_rows() {
        let x = tensor2::<TB>(
            vec![1.0, 2.0, 3.0, 10.0, 10.0, 16.0],
            2,
            3,
            &Default::default(),
        );
        let y = to_vec(layer_norm(x));
        for row in y.chunks(3) {
            let m: f32 = row.iter().sum::<f32>() / 3.0;
            let v: f32 = row.iter().map(|a| (a - m) * (a - m)).sum::<f32>() / 3.0;
            assert!(m.abs() < 1e-5 && (v - 1.0).abs() < 1e-3, "{row:?}");
        }
    }

    #[test]
    fn dropout_keeps_expected_fraction_and_scale() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let x = tensor2::<TB>(vec![1.0; 20_000], 100, 200, &Default::default());
        let y = to_vec(dropout(x, 0.2, &mut rng));
        let kept = y.iter().filter(|&&v| v > 0.0).count() as f64 / y.len() as f64;
        assert!((kept - 0.8).abs() < 0.02, "{kept}");
        assert!(y.iter().all(|&v| v == 0.0 || (v - 1.25).abs() < 1e-6));
    }
}
