//! Module parameters <-> named host tensors, by module path
//! (`enc_blocks.0.parts.1`, `z_mean_norm.running_mean`, ...).
//!
//! Used for checkpoints and for moving a model between backends/devices.

use crate::error::{Error, Result};
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{backend::Backend, Tensor, TensorData};
use std::collections::HashMap;

/// One parameter on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Dotted module path.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub values: Vec<f32>,
}

struct Collector {
    path: Vec<String>,
    out: Vec<NamedTensor>,
}

impl<B: Backend> ModuleVisitor<B> for Collector {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let t = param.val();
        let shape = t.dims().to_vec();
        self.out.push(NamedTensor {
            name: self.path.join("."),
            shape,
            values: crate::nn::to_vec(t),
        });
    }
}

/// All float parameters of a module, in visiting order.
pub fn export<B: Backend, M: Module<B>>(module: &M) -> Vec<NamedTensor> {
    let mut c = Collector {
        path: Vec::new(),
        out: Vec::new(),
    };
    module.visit(&mut c);
    c.out
}

struct TrainableCounter(usize);

impl<B: Backend> ModuleVisitor<B> for TrainableCounter {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let t = param.val();
        if t.is_require_grad() {
            self.0 += t.shape().num_elements();
        }
    }
}

/// Number of scalars in parameters that require a gradient (no data copied).
pub fn count_trainable<B: Backend, M: Module<B>>(module: &M) -> usize {
    let mut c = TrainableCounter(0);
    module.visit(&mut c);
    c.0
}

struct Applier {
    path: Vec<String>,
    tensors: HashMap<String, NamedTensor>,
    errors: Vec<String>,
}

impl<B: Backend> ModuleMapper<B> for Applier {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let name = self.path.join(".");
        let Some(t) = self.tensors.remove(&name) else {
            self.errors.push(format!("tensor '{name}' is missing"));
            return param;
        };
        let (id, value, mapper) = param.consume();
        let want = value.dims().to_vec();
        if t.shape != want {
            self.errors.push(format!(
                "tensor '{name}' has shape {:?}, the model expects {want:?}",
                t.shape
            ));
            return Param::from_mapped_value(id, value, mapper);
        }
        let grad = value.is_require_grad();
        let mut new =
            Tensor::<B, D>::from_data(TensorData::new(t.values, t.shape), &value.device());
        if grad {
            new = new.require_grad();
        }
        Param::from_mapped_value(id, new, mapper)
    }
}

/// Replaces every float parameter of `module` by the tensor of the same
/// name. Errors list missing, extra and mis-shaped tensors.
pub fn import<B: Backend, M: Module<B>>(module: M, tensors: Vec<NamedTensor>) -> Result<M> {
    let mut a = Applier {
        path: Vec::new(),
        tensors: tensors.into_iter().map(|t| (t.name.clone(), t)).collect(),
        errors: Vec::new(),
    };
    let module = module.map(&mut a);
    let mut extra: Vec<&String> = a.tensors.keys().collect();
    extra.sort();
    for name in extra {
        a.errors.push(format!("unexpected tensor '{name}'"));
    }
    if !a.errors.is_empty() {
        let n = a.errors.len();
        let mut msg = a.errors.into_iter().take(5).collect::<Vec<_>>().join("; ");
        if n > 5 {
            msg.push_str(&format!("; and {} more", n - 5));
        }
        return Err(Error::checkpoint(format!(
            "weights do not fit the model: {msg}"
        )));
    }
    Ok(module)
}
