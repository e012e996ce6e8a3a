//! Evaluation: the metrics and the real-data protocols of `benchmarks.md`,
//! shared by the main example, the tests and the benchmarks.

pub mod cluster;
pub mod metrics;
pub mod mosaic;
pub mod reap;
pub mod snare;

/// Peak resident memory of this process in MiB (`VmHWM` from
/// `/proc/self/status`; NaN where that file does not exist).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Builds a model of `cfg` for `data` on the options' device and threads and
/// trains it: (model, wall seconds of `fit`, epochs run).
pub(crate) fn train_timed(
    cfg: &crate::ModelConfig,
    data: &crate::Dataset,
    opts: &mosaic::RunOptions,
    progress: &mut dyn FnMut(&crate::EpochLog) -> std::ops::ControlFlow<()>,
) -> crate::Result<(crate::Model, f64, usize)> {
    let mut model = crate::Model::new(cfg, data)?;
    model.set_device(&opts.device)?;
    model.set_threads(opts.threads)?;
    let t0 = std::time::Instant::now();
    let report = model.fit_with_progress(data, progress)?;
    Ok((model, t0.elapsed().as_secs_f64(), report.epochs_run))
}
