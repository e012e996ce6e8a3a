//! Checkpoints: safetensors files holding weights and metadata.

pub(crate) mod checkpoint;
pub(crate) mod params;

pub use checkpoint::FORMAT_VERSION;
pub use params::NamedTensor;
