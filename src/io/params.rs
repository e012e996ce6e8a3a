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

/// A mapper of float parameters that is told each one's dotted module path.
pub(crate) trait MapByPath<B: Backend> {
    /// The new value of the parameter at `path`.
    fn map<const D: usize>(
        &mut self,
        path: &str,
        param: Param<Tensor<B, D>>,
    ) -> Param<Tensor<B, D>>;
}

/// A visitor of float parameters that is told each one's dotted module path.
pub(crate) trait VisitByPath<B: Backend> {
    /// Sees the parameter at `path`.
    fn visit<const D: usize>(&mut self, path: &str, param: &Param<Tensor<B, D>>);
}

/// Adapts [`MapByPath`] / [`VisitByPath`] to burn's module mapper and
/// visitor by tracking the module path.
struct Paths<'a, T> {
    path: Vec<String>,
    inner: &'a mut T,
}

impl<B: Backend, T: MapByPath<B>> ModuleMapper<B> for Paths<'_, T> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        self.inner.map(&self.path.join("."), param)
    }
}

impl<B: Backend, T: VisitByPath<B>> ModuleVisitor<B> for Paths<'_, T> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.inner.visit(&self.path.join("."), param)
    }
}

/// Maps every float parameter of `module` with `f`, by module path.
pub(crate) fn map_by_path<B: Backend, M: Module<B>, T: MapByPath<B>>(module: M, f: &mut T) -> M {
    module.map(&mut Paths {
        path: Vec::new(),
        inner: f,
    })
}

/// Visits every float parameter of `module` with `f`, by module path.
pub(crate) fn visit_by_path<B: Backend, M: Module<B>, T: VisitByPath<B>>(module: &M, f: &mut T) {
    module.visit(&mut Paths {
        path: Vec::new(),
        inner: f,
    })
}

struct Collector(Vec<NamedTensor>);

impl<B: Backend> VisitByPath<B> for Collector {
    fn visit<const D: usize>(&mut self, path: &str, param: &Param<Tensor<B, D>>) {
        let t = param.val();
        let shape = t.dims().to_vec();
        self.0.push(NamedTensor {
            name: path.to_string(),
            shape,
            values: crate::nn::to_vec(t),
        });
    }
}

/// All float parameters of a module, in visiting order.
pub fn export<B: Backend, M: Module<B>>(module: &M) -> Vec<NamedTensor> {
    let mut c = Collector(Vec::new());
    visit_by_path(module, &mut c);
    c.0
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
    tensors: HashMap<String, NamedTensor>,
    errors: Vec<String>,
}

impl<B: Backend> MapByPath<B> for Applier {
    fn map<const D: usize>(
        &mut self,
        name: &str,
        param: Param<Tensor<B, D>>,
    ) -> Param<Tensor<B, D>> {
        let Some(t) = self.tensors.remove(name) else {
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
        tensors: tensors.into_iter().map(|t| (t.name.clone(), t)).collect(),
        errors: Vec::new(),
    };
    let module = map_by_path(module, &mut a);
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
