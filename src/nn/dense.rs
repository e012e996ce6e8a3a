use super::{glorot_uniform, tensor1, tensor2, torch_uniform};
use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor};
use rand_chacha::ChaCha8Rng;

/// Fully connected layer `y = x W + b`, `W: [d_in, d_out]` (Keras layout).
#[derive(Module, Debug)]
pub struct Dense<B: Backend> {
    /// `[d_in, d_out]`.
    pub weight: Param<Tensor<B, 2>>,
    /// `[d_out]`.
    pub bias: Option<Param<Tensor<B, 1>>>,
}

impl<B: Backend> Dense<B> {
    /// Glorot-uniform weights, zero bias.
    pub fn new(
        d_in: usize,
        d_out: usize,
        bias: bool,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> Self {
        let w = glorot_uniform(d_in, d_out, rng);
        Dense {
            weight: Param::from_tensor(tensor2(w, d_in, d_out, device)),
            bias: bias.then(|| Param::from_tensor(tensor1(vec![0.0; d_out], device))),
        }
    }

    /// PyTorch's default initialisation (weights and bias uniform in `±1/sqrt(d_in)`).
    pub fn torch_init(d_in: usize, d_out: usize, rng: &mut ChaCha8Rng, device: &B::Device) -> Self {
        let w = torch_uniform(d_in, d_in * d_out, rng);
        let b = torch_uniform(d_in, d_out, rng);
        Dense {
            weight: Param::from_tensor(tensor2(w, d_in, d_out, device)),
            bias: Some(Param::from_tensor(tensor1(b, device))),
        }
    }

    /// # Shapes
    /// - `x`: `[n, d_in]` -> `[n, d_out]`
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let y = x.matmul(self.weight.val());
        match &self.bias {
            Some(b) => y + b.val().unsqueeze::<2>(),
            None => y,
        }
    }
}

/// Replaces the bias of `layers[k]` by `biases[k]` where given (length
/// `d_out` of that layer).
pub fn set_biases<B: Backend>(
    layers: &mut [Dense<B>],
    biases: &[Option<Vec<f32>>],
    device: &B::Device,
) {
    for (layer, b) in layers.iter_mut().zip(biases) {
        if let Some(b) = b {
            layer.bias = Some(Param::from_tensor(tensor1(b.clone(), device)));
        }
    }
}

/// A dense layer over the concatenation of several inputs, stored as one
/// weight block per input: `y = sum_i x_i W_i + b`. Equivalent to one dense
/// layer on `[x_1, x_2, ...]` (same Glorot initialisation over the total
/// fan-in), but never materialises the concatenation, and no gradient is
/// computed for inputs that are data rather than activations.
#[derive(Module, Debug)]
pub struct SplitDense<B: Backend> {
    /// One `[d_in_i, d_out]` block per non-empty input, in input order.
    pub parts: Vec<Param<Tensor<B, 2>>>,
    /// `[d_out]`.
    pub bias: Option<Param<Tensor<B, 1>>>,
}

/// The row blocks of a `[sum d_ins, d_out]` row-major weight matrix, one
/// parameter per non-empty input.
fn split_rows<B: Backend>(
    w: &[f32],
    d_ins: &[usize],
    d_out: usize,
    device: &B::Device,
) -> Vec<Param<Tensor<B, 2>>> {
    let mut parts = Vec::new();
    let mut row = 0;
    for &d in d_ins {
        if d > 0 {
            let block = w[row * d_out..(row + d) * d_out].to_vec();
            parts.push(Param::from_tensor(tensor2(block, d, d_out, device)));
        }
        row += d;
    }
    parts
}

impl<B: Backend> SplitDense<B> {
    /// `d_ins`: widths of the inputs; zero-width inputs get no block and must
    /// be left out of [`SplitDense::forward`]'s list.
    pub fn new(
        d_ins: &[usize],
        d_out: usize,
        bias: bool,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> Self {
        let fan_in: usize = d_ins.iter().sum();
        let w = glorot_uniform(fan_in, d_out, rng);
        let parts = split_rows(&w, d_ins, d_out, device);
        SplitDense {
            parts,
            bias: bias.then(|| Param::from_tensor(tensor1(vec![0.0; d_out], device))),
        }
    }

    /// PyTorch's default initialisation over the total fan-in, with bias.
    pub fn torch_init(
        d_ins: &[usize],
        d_out: usize,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> Self {
        let fan_in: usize = d_ins.iter().sum();
        let w = torch_uniform(fan_in, fan_in * d_out, rng);
        let b = torch_uniform(fan_in, d_out, rng);
        let parts = split_rows(&w, d_ins, d_out, device);
        SplitDense {
            parts,
            bias: Some(Param::from_tensor(tensor1(b, device))),
        }
    }

    /// # Shapes
    /// - `inputs[i]`: `[n, d_in_i]` for each non-empty input -> `[n, d_out]`
    pub fn forward(&self, inputs: &[Tensor<B, 2>]) -> Tensor<B, 2> {
        assert!(!inputs.is_empty(), "SplitDense: no inputs");
        let first = inputs[0].clone().matmul(self.parts[0].val());
        self.forward_from(first, &inputs[1..])
    }

    /// Like [`SplitDense::forward`] with the first input's product
    /// `x_1 W_1` already computed (e.g. by [`sparse_matmul`](super::sparse_matmul)).
    ///
    /// # Shapes
    /// - `first`: `[n, d_out]`; `rest[i]`: `[n, d_in_{i+2}]` -> `[n, d_out]`
    pub fn forward_from(&self, first: Tensor<B, 2>, rest: &[Tensor<B, 2>]) -> Tensor<B, 2> {
        assert_eq!(
            rest.len() + 1,
            self.parts.len(),
            "SplitDense: {} inputs for {} weight blocks",
            rest.len() + 1,
            self.parts.len()
        );
        let mut y = first;
        for (x, w) in rest.iter().zip(&self.parts[1..]) {
            y = y + x.clone().matmul(w.val());
        }
        match &self.bias {
            Some(b) => y + b.val().unsqueeze::<2>(),
            None => y,
        }
    }
}
