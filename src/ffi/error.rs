//! Status codes and the per-thread last error message.

use crate::Error;
use std::cell::RefCell;
use std::ffi::{c_char, CString};

/// Result of every fallible `scm_*` function. The values are part of the ABI:
/// they are never renumbered or reused.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum scm_status {
    /// Success.
    SCM_STATUS_OK = 0,
    /// A required pointer argument was NULL.
    SCM_STATUS_NULL_ARG = 1,
    /// An argument is out of range: a length that does not match, invalid
    /// UTF-8, an unknown option or likelihood name.
    SCM_STATUS_INVALID_ARG = 2,
    /// Input data are malformed: wrong shapes, NaN/Inf, negative counts,
    /// duplicate or mismatched feature names.
    SCM_STATUS_INVALID_DATA = 3,
    /// A configuration value is unknown, out of range or inconsistent.
    SCM_STATUS_INVALID_CONFIG = 4,
    /// A modality, feature, covariate level or device name is not known.
    SCM_STATUS_NOT_FOUND = 5,
    /// A checkpoint is truncated, corrupt or of an unsupported version.
    SCM_STATUS_CHECKPOINT = 6,
    /// The device is not available in this build or on this machine.
    SCM_STATUS_DEVICE = 7,
    /// The call is not valid in the handle's state (e.g. the handle is
    /// unusable after an internal error, or a re-entrant call from a callback).
    SCM_STATUS_INVALID_STATE = 8,
    /// Training diverged (a loss became NaN or infinite).
    SCM_STATUS_NUMERICAL = 9,
    /// An operating-system I/O error (the message names the path).
    SCM_STATUS_IO = 10,
    /// The output buffer is too small (the required size was written).
    SCM_STATUS_BUFFER_TOO_SMALL = 11,
    /// An internal error (a bug) was caught at the ABI boundary.
    SCM_STATUS_PANIC = -1,
}

/// An error on its way out through the ABI.
#[derive(Debug)]
pub(crate) struct FfiError {
    status: scm_status,
    message: String,
}

impl FfiError {
    pub(crate) fn new(status: scm_status, message: impl Into<String>) -> Self {
        FfiError {
            status,
            message: message.into(),
        }
    }
    #[cold]
    pub(crate) fn null(name: &str) -> Self {
        Self::new(
            scm_status::SCM_STATUS_NULL_ARG,
            format!("argument '{name}' is NULL"),
        )
    }
    #[cold]
    pub(crate) fn invalid_arg(msg: impl Into<String>) -> Self {
        Self::new(scm_status::SCM_STATUS_INVALID_ARG, msg)
    }
    #[cold]
    pub(crate) fn state(msg: impl Into<String>) -> Self {
        Self::new(scm_status::SCM_STATUS_INVALID_STATE, msg)
    }
    /// Stores the message for this thread and returns the status.
    pub(crate) fn report(self) -> scm_status {
        set_last_error(&self.message);
        self.status
    }
}

impl From<Error> for FfiError {
    #[cold]
    fn from(e: Error) -> Self {
        use scm_status::*;
        let status = match &e {
            Error::InvalidData(_) => SCM_STATUS_INVALID_DATA,
            Error::InvalidConfig(_) => SCM_STATUS_INVALID_CONFIG,
            Error::NotFound(_) => SCM_STATUS_NOT_FOUND,
            Error::Checkpoint(_) => SCM_STATUS_CHECKPOINT,
            Error::Device(_) => SCM_STATUS_DEVICE,
            Error::State(_) => SCM_STATUS_INVALID_STATE,
            Error::Numerical(_) => SCM_STATUS_NUMERICAL,
            Error::Io { .. } => SCM_STATUS_IO,
        };
        FfiError::new(status, e.to_string())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn set_last_error(msg: &str) {
    let c = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

pub(crate) fn clear_last_error() {
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        if !e.as_bytes().is_empty() {
            *e = CString::default();
        }
    });
}

/// The message of the last failed `scm_*` call on this thread, or `""` when
/// the last call succeeded. The pointer stays valid until this thread's next
/// `scm_*` call; copy the text to keep it. Never NULL.
#[no_mangle]
pub extern "C" fn scm_last_error_message() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// A static description of a status code (never NULL; unknown codes give
/// `"unknown status"`).
#[no_mangle]
pub extern "C" fn scm_status_str(status: i32) -> *const c_char {
    let s: &'static [u8] = match status {
        0 => b"ok\0",
        1 => b"NULL argument\0",
        2 => b"invalid argument\0",
        3 => b"invalid data\0",
        4 => b"invalid configuration\0",
        5 => b"not found\0",
        6 => b"invalid checkpoint\0",
        7 => b"device unavailable\0",
        8 => b"invalid state\0",
        9 => b"numerical failure\0",
        10 => b"I/O error\0",
        11 => b"buffer too small\0",
        -1 => b"internal error\0",
        _ => b"unknown status\0",
    };
    s.as_ptr() as *const c_char
}
