//! Error type shared by the whole crate.
//!
//! Every fallible public function returns [`Result`]. The variants are coarse
//! categories (they map one-to-one onto the C ABI's status codes in a later
//! layer); the message carries the detail a user needs to fix the input.

use std::fmt;

/// Result alias used throughout scmosaic.
pub type Result<T> = std::result::Result<T, Error>;

/// Errors reported by scmosaic.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input data are malformed: wrong shapes, NaN/Inf, negative counts,
    /// duplicate or mismatched feature names, empty modalities.
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A name (modality, feature, covariate level, device) is not known.
    #[error("not found: {0}")]
    NotFound(String),
    /// A checkpoint could not be read: truncated, corrupt, wrong format or
    /// an unsupported format version.
    #[error("invalid checkpoint: {0}")]
    Checkpoint(String),
    /// The requested device or backend is not available in this build or on
    /// this machine.
    #[error("device unavailable: {0}")]
    Device(String),
    /// The operation is not valid in the model's current state.
    #[error("invalid state: {0}")]
    State(String),
    /// Training diverged (a loss became NaN or infinite).
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// An operating-system I/O error, with the path involved.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or folder being accessed.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn data(msg: impl fmt::Display) -> Self {
        Error::InvalidData(msg.to_string())
    }
    pub(crate) fn config(msg: impl fmt::Display) -> Self {
        Error::InvalidConfig(msg.to_string())
    }
    pub(crate) fn checkpoint(msg: impl fmt::Display) -> Self {
        Error::Checkpoint(msg.to_string())
    }
    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
