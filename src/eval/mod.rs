//! Evaluation: the metrics and the real-data protocols of `benchmarks.md`,
//! shared by the main example, the tests and the benchmarks.

pub mod cluster;
pub mod metrics;
pub mod reap;
