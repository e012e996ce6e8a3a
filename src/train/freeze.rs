//! Freezing for query-to-reference mapping (scArches-style surgery): only
//! the named parameters train, and within them the rows that belong to the
//! reference (old covariate levels) are restored after every optimizer step,
//! so the reference part of the model stays bit-identical.

use crate::io::params::MapByPath;
use burn::module::Param;
use burn::tensor::{backend::Backend, Tensor, TensorData};
use std::collections::HashMap;

/// Which parameters train during a query fine-tuning, and which of their rows are kept.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frozen {
    /// Trainable parameter -> rows to keep (1 = keep, per row) and the kept
    /// values (full shape, row-major; only the kept rows matter).
    pub trainable: HashMap<String, (Vec<f32>, Vec<f32>)>,
}

/// Sets `require_grad = false` on every float parameter not in `trainable`.
pub(crate) struct Freezer<'a> {
    frozen: &'a Frozen,
}

/// Writes the kept rows back into the trainable parameters.
pub(crate) struct RowRestorer<'a> {
    frozen: &'a Frozen,
}

impl Frozen {
    pub fn freezer(&self) -> Freezer<'_> {
        Freezer { frozen: self }
    }
    pub fn restorer(&self) -> RowRestorer<'_> {
        RowRestorer { frozen: self }
    }
}

impl<B: Backend> MapByPath<B> for Freezer<'_> {
    fn map<const D: usize>(
        &mut self,
        name: &str,
        param: Param<Tensor<B, D>>,
    ) -> Param<Tensor<B, D>> {
        let train = self.frozen.trainable.contains_key(name);
        let (id, value, mapper) = param.consume();
        let value = if train {
            value
        } else {
            value.set_require_grad(false)
        };
        Param::from_mapped_value(id, value, mapper)
    }
}

impl<B: Backend> MapByPath<B> for RowRestorer<'_> {
    fn map<const D: usize>(
        &mut self,
        name: &str,
        param: Param<Tensor<B, D>>,
    ) -> Param<Tensor<B, D>> {
        let Some((keep, values)) = self.frozen.trainable.get(name) else {
            return param;
        };
        if !keep.iter().any(|&k| k > 0.0) {
            return param;
        }
        let (id, value, mapper) = param.consume();
        let dims = value.dims();
        let rows = dims[0];
        let cols = value.shape().num_elements() / rows.max(1);
        let device = value.device();
        let v2: Tensor<B, 2> = value.reshape([rows, cols]).detach();
        let mask = Tensor::<B, 2>::from_data(TensorData::new(keep.clone(), [rows, 1]), &device);
        let kept =
            Tensor::<B, 2>::from_data(TensorData::new(values.clone(), [rows, cols]), &device);
        let new = v2 * (mask.clone().neg() + 1.0) + kept * mask;
        let new: Tensor<B, D> = new.reshape(dims).require_grad();
        Param::from_mapped_value(id, new, mapper)
    }
}
