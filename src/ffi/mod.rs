//! The stable C ABI (`scm_*`), exported from the `cdylib` and `staticlib`.
//!
//! One file per C object: [`error`] (status codes, last-error message),
//! [`version`], [`config`] (`scm_config`), [`dataset`] (`scm_dataset`),
//! [`model`] (`scm_model`). The header `include/scmosaic.h` is generated from
//! these files by cbindgen (`scripts/gen-header.sh`) and checked by
//! `tests/header.rs`.
//!
//! # The contract every function follows
//! - **Status.** Fallible functions return `scm_status` (0 = `SCM_STATUS_OK`).
//!   On failure `scm_last_error_message()` holds the full message for the
//!   calling thread until its next `scm_*` call. Results are written through
//!   out-pointers only on success.
//! - **No crash on bad input.** Every entry point runs inside
//!   `catch_unwind`: an internal panic becomes `SCM_STATUS_PANIC` and a message,
//!   never an abort. NULL pointers give `SCM_STATUS_NULL_ARG`; wrong lengths,
//!   invalid UTF-8, NaN/negative counts, unknown names give the matching code.
//! - **Ownership.** `scm_X_new`/`scm_X_load` return a new handle through an
//!   `scm_X **out` argument; free it with `scm_X_free` (NULL is accepted). Input
//!   buffers are copied during the call; the library never keeps a caller
//!   pointer. Output buffers are caller-allocated after asking for sizes.
//!   Strings come back through `(char *buf, size_t cap, size_t *len)`: `*len`
//!   receives the byte length including the terminating NUL; pass `buf = NULL`
//!   to ask for the size only; a too-small `cap` gives
//!   `SCM_STATUS_BUFFER_TOO_SMALL` (with `*len` set).
//! - **Threads.** Each handle has its own lock: concurrent calls on one handle
//!   run one after another, calls on different handles run in parallel. A call
//!   made on a handle from inside a callback running for that same handle
//!   returns `SCM_STATUS_INVALID_STATE` instead of deadlocking. A handle whose
//!   call panicked is left unusable (`SCM_STATUS_INVALID_STATE`); free it.
//! - **Callbacks** run on the calling thread and must return normally (no
//!   `longjmp`, no foreign exceptions through the library's frames).

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

// Declaration order = order in the generated header.
pub mod error;

pub mod version;

pub mod config;

pub mod dataset;

pub mod model;

use error::{scm_status, FfiError};
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Runs `f`, mapping errors and panics to a status code and the thread's last
/// error message.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), FfiError>) -> scm_status {
    error::clear_last_error();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => scm_status::SCM_STATUS_OK,
        Ok(Err(e)) => e.report(),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            FfiError::new(
                scm_status::SCM_STATUS_PANIC,
                format!("internal error (please report it): {what}"),
            )
            .report()
        }
    }
}

/// A value behind a lock, with re-entrancy detection.
pub(crate) struct Locked<T> {
    value: Mutex<T>,
    /// Id of the thread holding the lock (0 = none).
    owner: AtomicU64,
}

fn thread_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! { static ID: u64 = NEXT.fetch_add(1, Ordering::Relaxed); }
    ID.with(|id| *id)
}

pub(crate) struct Held<'a, T> {
    guard: MutexGuard<'a, T>,
    owner: &'a AtomicU64,
}

impl<T> Drop for Held<'_, T> {
    fn drop(&mut self) {
        self.owner.store(0, Ordering::SeqCst);
    }
}

impl<T> std::ops::Deref for Held<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> std::ops::DerefMut for Held<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> Locked<T> {
    pub(crate) fn new(value: T) -> Self {
        Locked {
            value: Mutex::new(value),
            owner: AtomicU64::new(0),
        }
    }

    /// Takes the lock (waiting for other threads), or fails when this thread
    /// already holds it or an earlier call panicked while holding it.
    pub(crate) fn lock(&self, what: &str) -> Result<Held<'_, T>, FfiError> {
        let me = thread_id();
        if self.owner.load(Ordering::SeqCst) == me {
            return Err(FfiError::state(format!(
                "re-entrant call on the {what} handle from inside one of its own callbacks"
            )));
        }
        let guard = self.value.lock().map_err(|_| {
            FfiError::state(format!(
                "the {what} handle is unusable: an earlier call on it failed with an internal error; free it"
            ))
        })?;
        self.owner.store(me, Ordering::SeqCst);
        Ok(Held {
            guard,
            owner: &self.owner,
        })
    }
}

/// `&T` from a possibly-NULL pointer.
pub(crate) unsafe fn arg<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, FfiError> {
    ptr.as_ref().ok_or_else(|| FfiError::null(name))
}

/// Checks that an out-pointer is non-NULL.
pub(crate) fn out_arg<T>(ptr: *mut T, name: &str) -> Result<(), FfiError> {
    if ptr.is_null() {
        Err(FfiError::null(name))
    } else {
        Ok(())
    }
}

/// A NUL-terminated UTF-8 string argument.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, FfiError> {
    if ptr.is_null() {
        return Err(FfiError::null(name));
    }
    CStr::from_ptr(ptr)
        .to_str()
        .map_err(|e| FfiError::invalid_arg(format!("{name} is not valid UTF-8: {e}")))
}

/// An optional string argument (NULL = none).
pub(crate) unsafe fn opt_str_arg<'a>(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, FfiError> {
    if ptr.is_null() {
        Ok(None)
    } else {
        str_arg(ptr, name).map(Some)
    }
}

/// Checks a buffer argument: non-NULL, and `len` elements addressable.
fn check_buffer(null: bool, len: usize, size: usize, name: &str) -> Result<(), FfiError> {
    if null {
        return Err(FfiError::null(name));
    }
    if len
        .checked_mul(size)
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(FfiError::invalid_arg(format!(
            "{name}: length {len} is too large"
        )));
    }
    Ok(())
}

/// A slice argument of exactly `len` elements (NULL is an error, also for `len == 0`).
pub(crate) unsafe fn slice_arg<'a, T>(
    ptr: *const T,
    len: usize,
    name: &str,
) -> Result<&'a [T], FfiError> {
    check_buffer(ptr.is_null(), len, std::mem::size_of::<T>(), name)?;
    Ok(std::slice::from_raw_parts(ptr, len))
}

/// A mutable output slice of exactly `len` elements.
pub(crate) unsafe fn slice_out<'a, T>(
    ptr: *mut T,
    len: usize,
    name: &str,
) -> Result<&'a mut [T], FfiError> {
    check_buffer(ptr.is_null(), len, std::mem::size_of::<T>(), name)?;
    Ok(std::slice::from_raw_parts_mut(ptr, len))
}

/// An array of `n` NUL-terminated UTF-8 strings.
pub(crate) unsafe fn strings_arg(
    ptr: *const *const c_char,
    n: usize,
    name: &str,
) -> Result<Vec<String>, FfiError> {
    let ptrs = slice_arg(ptr, n, name)?;
    ptrs.iter()
        .enumerate()
        .map(|(i, &p)| str_arg(p, &format!("{name}[{i}]")).map(str::to_string))
        .collect()
}

/// Writes a string into a caller buffer (see the module docs for the protocol).
pub(crate) unsafe fn write_str(
    s: &str,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> Result<(), FfiError> {
    out_arg(len, "len")?;
    if s.as_bytes().contains(&0) {
        return Err(FfiError::invalid_arg("the string contains a NUL byte"));
    }
    let need = s.len() + 1;
    *len = need;
    if buf.is_null() {
        return Ok(());
    }
    if cap < need {
        return Err(FfiError::new(
            scm_status::SCM_STATUS_BUFFER_TOO_SMALL,
            format!("the buffer holds {cap} bytes but {need} are needed"),
        ));
    }
    std::ptr::copy_nonoverlapping(s.as_ptr(), buf as *mut u8, s.len());
    *buf.add(s.len()) = 0;
    Ok(())
}

/// Boxes a handle and writes it to `out`.
pub(crate) unsafe fn emit<T>(out: *mut *mut T, value: T) {
    *out = Box::into_raw(Box::new(value));
}

/// Frees a handle made by [`emit`] (NULL is a no-op).
pub(crate) unsafe fn release<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // Dropping never unwinds into C: a panic in a destructor is caught here.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(ptr))));
    }
}

#[cfg(test)]
mod tests {
    use super::error::{scm_last_error_message, scm_status};
    use super::*;

    fn last_error() -> String {
        unsafe { CStr::from_ptr(scm_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let st = guard(|| panic!("boom {}", 42));
        assert_eq!(st, scm_status::SCM_STATUS_PANIC);
        assert!(last_error().contains("boom 42"), "{}", last_error());
        // The next successful call clears the message.
        assert_eq!(guard(|| Ok(())), scm_status::SCM_STATUS_OK);
        assert_eq!(last_error(), "");
    }

    #[test]
    fn a_handle_whose_call_panicked_is_unusable_not_a_crash() {
        let h = Locked::new(5u32);
        let st = guard(|| {
            let _held = h.lock("model")?;
            panic!("inside the lock")
        });
        assert_eq!(st, scm_status::SCM_STATUS_PANIC);
        let st = guard(|| h.lock("model").map(|_| ()));
        assert_eq!(st, scm_status::SCM_STATUS_INVALID_STATE);
        assert!(last_error().contains("unusable"), "{}", last_error());
    }

    #[test]
    fn reentrant_lock_is_an_error_and_other_threads_wait() {
        let h = std::sync::Arc::new(Locked::new(0u32));
        {
            let _held = h.lock("model").unwrap();
            let e = h.lock("model").err().expect("re-entrant lock must fail");
            assert_eq!(e.report(), scm_status::SCM_STATUS_INVALID_STATE);
            let h2 = h.clone();
            let t = std::thread::spawn(move || {
                *h2.lock("model").unwrap() += 1;
            });
            std::thread::sleep(std::time::Duration::from_millis(20));
            assert!(!t.is_finished(), "another thread must wait for the lock");
            drop(_held);
            t.join().unwrap();
        }
        assert_eq!(*h.lock("model").unwrap(), 1);
    }

    #[test]
    fn string_protocol() {
        let mut len = 0usize;
        let mut buf = [0 as c_char; 4];
        unsafe {
            write_str("abc", std::ptr::null_mut(), 0, &mut len).unwrap();
            assert_eq!(len, 4);
            let e = write_str("abcd", buf.as_mut_ptr(), buf.len(), &mut len).unwrap_err();
            assert_eq!(e.report(), scm_status::SCM_STATUS_BUFFER_TOO_SMALL);
            assert_eq!(len, 5);
            write_str("abc", buf.as_mut_ptr(), buf.len(), &mut len).unwrap();
            assert_eq!(CStr::from_ptr(buf.as_ptr()).to_str().unwrap(), "abc");
        }
    }
}
