//! Checkpoint loading from arbitrary bytes (`scm_model_from_buffer`).
#![no_main]
#[path = "../harness.rs"]
mod harness;
libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::checkpoint(data));
