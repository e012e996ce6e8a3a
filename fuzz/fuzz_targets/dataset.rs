//! Dataset construction from arbitrary buffers, then a tiny train/embed/impute.
#![no_main]
#[path = "../harness.rs"]
mod harness;
libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::dataset(data));
