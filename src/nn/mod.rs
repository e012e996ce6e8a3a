//! Layers shared by the models: dense layers initialised from the crate's
//! own seeded RNG (so the same seed gives the same weights on every backend),
//! a dense layer over several concatenated inputs, and a batch norm whose
//! running statistics are updated explicitly by the training loop.

mod batchnorm;
mod dense;
mod fc;

pub use batchnorm::{BatchNorm, BnMode, BnStats};
pub use dense::{set_biases, Dense, SplitDense};
pub use fc::{dropout, layer_norm, FcSpec, FcStack, Fwd};

use burn::tensor::{backend::Backend, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Glorot-uniform (Keras default) weights `[fan_in, fan_out]`.
pub(crate) fn glorot_uniform(fan_in: usize, fan_out: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let limit = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt() as f32;
    (0..fan_in * fan_out)
        .map(|_| rng.random_range(-limit..limit))
        .collect()
}

/// PyTorch's default `nn.Linear` initialisation: uniform in `±1/sqrt(fan_in)`.
pub(crate) fn torch_uniform(fan_in: usize, n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt() as f32;
    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
}

/// Standard normal values (PyTorch's `nn.Embedding` / `torch.randn` initialisation).
pub(crate) fn randn(n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..n)
        .map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal))
        .collect()
}

/// A 1-D tensor from host values.
pub(crate) fn tensor1<B: Backend>(v: Vec<f32>, device: &B::Device) -> Tensor<B, 1> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), device)
}

/// A 2-D tensor from row-major host values.
pub(crate) fn tensor2<B: Backend>(
    v: Vec<f32>,
    rows: usize,
    cols: usize,
    device: &B::Device,
) -> Tensor<B, 2> {
    debug_assert_eq!(v.len(), rows * cols);
    Tensor::from_data(TensorData::new(v, [rows, cols]), device)
}

/// Host copy of a tensor's values (row-major).
pub(crate) fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("f32 tensor data")
}

/// Each row of `t` repeated `l` times in place (row `i` becomes rows
/// `i l .. (i + 1) l`), for decoding `l` posterior draws per cell.
///
/// # Shapes
/// - `t`: `[n, c]` -> `[n l, c]`
pub(crate) fn repeat_rows<B: Backend>(t: Tensor<B, 2>, l: usize) -> Tensor<B, 2> {
    let [n, c] = t.dims();
    t.unsqueeze_dim::<3>(1).repeat_dim(1, l).reshape([n * l, c])
}
