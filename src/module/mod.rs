//! Networks as burn modules (pure computation; no data handling).

mod layout;
mod multigrate;
mod scvaeit;

pub use layout::{BlockLayout, Layout};
pub use multigrate::{MgBatch, MgEncoded, MgLayout, MgModality, MgStep, MgWeights, MultiVae};
pub use scvaeit::{
    Encoded, Inputs, LossOutput, LossWeights, OutputConstants, ScVaeIt, StepHost, StepInput,
};
