//! Networks as burn modules (pure computation; no data handling).

mod layout;
mod scvaeit;

pub use layout::{BlockLayout, Layout};
pub use scvaeit::{Encoded, Inputs, LossOutput, LossWeights, OutputConstants, ScVaeIt, StepInput};
