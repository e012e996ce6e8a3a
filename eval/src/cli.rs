//! What the example and benchmark binaries of the protocols share: the flags
//! of a protocol run (one clap definition, flattened into each binary's
//! parser, so a bad value is an error everywhere), the model config built
//! from `{"model": ...}` and a JSON patch, per-epoch progress lines, the
//! number of threads used, and the scores' table and JSON object.

use crate::mosaic::RunOptions;
use scmosaic::{EpochLog, Error, ModelConfig, Result};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// Flags every protocol run takes.
#[derive(clap::Args, Debug, Clone)]
pub struct RunFlags {
    /// Training seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Kernel threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Posterior draws averaged by imputation (default: the config's).
    #[arg(long)]
    pub draws: Option<usize>,
    /// Device (`cpu`, `cuda:0`, ...).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Also write the JSON object to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No per-epoch progress.
    #[arg(long)]
    pub quiet: bool,
}

impl RunFlags {
    /// The options of a protocol's `run`.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            threads: self.threads,
            device: self.device.clone(),
            n_draws: self.draws,
        }
    }

    /// The kernel threads a run uses (`--threads`, or all cores for 0).
    pub fn threads_used(&self) -> usize {
        if self.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.threads
        }
    }

    /// A progress callback printing the first, every `every`-th and the last
    /// epoch to stderr (nothing with `--quiet`).
    pub fn progress(&self, every: usize) -> impl FnMut(&EpochLog) -> ControlFlow<()> {
        let quiet = self.quiet;
        move |log: &EpochLog| {
            if !quiet
                && (log.epoch.is_multiple_of(every.max(1))
                    || log.epoch == 1
                    || log.epoch == log.n_epochs)
            {
                eprintln!(
                    "epoch {:>4}/{}  loss {:>10.3}  kl {:>7.3}  ({:.2} s)",
                    log.epoch, log.n_epochs, log.train.total, log.train.kl, log.seconds
                );
            }
            ControlFlow::Continue(())
        }
    }

    /// Prints `json` on one line and writes it to `--json` if given.
    pub fn emit(&self, json: &serde_json::Value) -> Result<()> {
        println!("{json}");
        match &self.json {
            Some(p) => std::fs::write(p, format!("{json}\n")).map_err(|e| Error::Io {
                path: p.display().to_string(),
                source: e,
            }),
            None => Ok(()),
        }
    }
}

/// The JSON value in the file at `path`.
pub fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    serde_json::from_str(&text)
        .map_err(|e| Error::InvalidConfig(format!("{}: {e}", path.display())))
}

/// `{"model": model}` (the model's defaults), merged with the JSON object in
/// `patch` when given (any key of `ModelConfig`).
pub fn model_config(model: &str, patch: Option<&Path>) -> Result<ModelConfig> {
    let cfg = ModelConfig::from_json(&serde_json::json!({ "model": model }).to_string())?;
    match patch {
        Some(p) => cfg.merged(read_json(p)?),
        None => Ok(cfg),
    }
}

/// Prints `title`, then one `name value` line per row (`width` columns for
/// the names, values with 3 decimals).
pub fn print_rows<S: AsRef<str>>(title: &str, rows: &[(S, f64)], width: usize) {
    println!("{title}");
    for (name, v) in rows {
        println!("  {:<width$} {v:>10.3}", name.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Bin {
        #[command(flatten)]
        run: RunFlags,
    }

    #[test]
    fn flags_and_config() {
        let b = Bin::try_parse_from(["bin", "--seed", "3", "--draws", "7", "--quiet"]).unwrap();
        assert_eq!((b.run.seed, b.run.draws, b.run.quiet), (3, Some(7), true));
        assert_eq!(b.run.options().n_draws, Some(7));
        for bad in [
            &["bin", "--seed", "-1"][..],
            &["bin", "--threads", "x"],
            &["bin", "--nope"],
        ] {
            assert!(Bin::try_parse_from(bad).is_err(), "{bad:?}");
        }
        let m = model_config("multigrate", None).unwrap();
        assert_eq!(m.model.as_str(), "multigrate");
        let dir = tempfile::tempdir().unwrap();
        let patch = dir.path().join("patch.json");
        std::fs::write(&patch, r#"{"latent_dim": 5, "train": {"epochs": 2}}"#).unwrap();
        let c = model_config("scvaeit", Some(&patch)).unwrap();
        assert_eq!((c.latent_dim, c.train.epochs), (5, 2));
        std::fs::write(&patch, "{oops").unwrap();
        assert!(model_config("scvaeit", Some(&patch)).is_err());
        assert!(model_config("scvaeit", Some(&dir.path().join("none.json"))).is_err());
    }
}
