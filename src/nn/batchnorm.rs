use super::tensor1;
use burn::module::{Module, Param, ParamId};
use burn::tensor::{backend::Backend, Tensor};

/// Which statistics a batch norm uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BnMode {
    /// Minibatch statistics; they are recorded so the training loop can
    /// update the running averages after the optimizer step.
    Train,
    /// Running averages (inference; output independent of the minibatch).
    Eval,
}

/// Minibatch statistics recorded by batch norms during one forward pass,
/// applied to the running averages with [`BnStats`] after the step.
#[derive(Debug)]
pub struct BnStats<B: Backend> {
    pub(crate) mode: BnMode,
    pub(crate) records: Vec<BnRecord<B>>,
}

/// The statistics of one batch-norm call in training mode.
#[derive(Debug)]
pub(crate) struct BnRecord<B: Backend> {
    pub mean_id: ParamId,
    pub var_id: ParamId,
    /// Batch mean, `[channels]` (detached).
    pub mean: Tensor<B, 1>,
    /// Batch (biased) variance, `[channels]` (detached).
    pub var: Tensor<B, 1>,
    pub momentum: f64,
}

impl<B: Backend> BnStats<B> {
    /// A context for one forward pass in the given mode.
    pub fn new(mode: BnMode) -> Self {
        BnStats {
            mode,
            records: Vec::new(),
        }
    }
}

/// Batch normalisation over the rows of a `[n, channels]` input, with
/// learnable scale and shift. The running mean/variance are non-trainable
/// parameters (saved in checkpoints); they are updated by
/// `train::apply_bn_updates` from the statistics recorded in [`BnStats`],
/// so the module itself stays immutable during the forward pass.
#[derive(Module, Debug)]
pub struct BatchNorm<B: Backend> {
    /// Scale, `[channels]`.
    pub gamma: Param<Tensor<B, 1>>,
    /// Shift, `[channels]`.
    pub beta: Param<Tensor<B, 1>>,
    /// Running mean, `[channels]` (no gradient).
    pub running_mean: Param<Tensor<B, 1>>,
    /// Running (biased) variance, `[channels]` (no gradient).
    pub running_var: Param<Tensor<B, 1>>,
    /// Running-average weight of a new minibatch (Keras momentum 0.99 = 0.01 here).
    pub momentum: f64,
    /// Variance epsilon.
    pub epsilon: f64,
}

impl<B: Backend> BatchNorm<B> {
    /// Identity-initialised batch norm.
    pub fn new(channels: usize, momentum: f64, epsilon: f64, device: &B::Device) -> Self {
        BatchNorm {
            gamma: Param::from_tensor(tensor1(vec![1.0; channels], device)),
            beta: Param::from_tensor(tensor1(vec![0.0; channels], device)),
            running_mean: Param::from_tensor(tensor1(vec![0.0; channels], device))
                .set_require_grad(false),
            running_var: Param::from_tensor(tensor1(vec![1.0; channels], device))
                .set_require_grad(false),
            momentum,
            epsilon,
        }
    }

    /// # Shapes
    /// - `x`: `[n, channels]` -> `[n, channels]`
    pub fn forward(&self, x: Tensor<B, 2>, stats: &mut BnStats<B>) -> Tensor<B, 2> {
        let (mean, var) = match stats.mode {
            BnMode::Train => {
                let mean = x.clone().mean_dim(0); // [1, C]
                let var = (x.clone() - mean.clone()).square().mean_dim(0); // [1, C]
                stats.records.push(BnRecord {
                    mean_id: self.running_mean.id,
                    var_id: self.running_var.id,
                    mean: mean.clone().detach().squeeze_dim::<1>(0),
                    var: var.clone().detach().squeeze_dim::<1>(0),
                    momentum: self.momentum,
                });
                (mean, var)
            }
            BnMode::Eval => (
                self.running_mean.val().unsqueeze::<2>(),
                self.running_var.val().unsqueeze::<2>(),
            ),
        };
        let scale = self.gamma.val().unsqueeze::<2>() / (var + self.epsilon).sqrt(); // [1, C]
        (x - mean) * scale + self.beta.val().unsqueeze::<2>()
    }
}
