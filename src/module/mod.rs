//! Networks as burn modules, and the seam through which the pipeline uses
//! them ([`network`]): each model family is one folder with its network, its
//! layout and its training objective.

mod layout;
pub(crate) mod multigrate;
pub(crate) mod network;
pub(crate) mod scvaeit;

pub use layout::{BlockLayout, Layout};
pub use multigrate::{MgEncoded, MgLayout, MgModality, MultiVae};
pub use scvaeit::{Encoded, OutputConstants, ScVaeIt};
