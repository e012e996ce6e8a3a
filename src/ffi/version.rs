//! ABI and library versions.

use std::ffi::c_char;

/// The ABI version this header describes. Compare it with
/// `scm_abi_version()` at load time: a different value means the header and
/// the loaded library do not match. It changes only when an existing function
/// changes incompatibly; additions keep it.
pub const SCM_ABI_VERSION: u32 = 1;

/// The ABI version of the loaded library (see `SCM_ABI_VERSION`).
#[no_mangle]
pub extern "C" fn scm_abi_version() -> u32 {
    SCM_ABI_VERSION
}

/// The version of the loaded library (SemVer, e.g. `"0.1.0"`); a static string.
#[no_mangle]
pub extern "C" fn scm_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}
