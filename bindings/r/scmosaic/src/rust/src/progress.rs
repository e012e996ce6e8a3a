//! Training progress on the R console and Ctrl-C detection.
//!
//! Both run inside the progress callback of `Model::fit_with_progress`, which
//! scmosaic calls on the thread that called `fit` (R's main thread); the
//! training itself runs on worker threads.

use extendr_api::prelude::*;
use scmosaic::EpochLog;
use std::time::Instant;

extern "C" {
    /// `src/entrypoint.c`: runs `R_CheckUserInterrupt` inside `R_ToplevelExec`,
    /// so a pending interrupt is consumed there (no longjmp through Rust
    /// frames); returns 1 when the user pressed Ctrl-C (Esc in RStudio).
    fn scmosaic_r_interrupt_pending() -> std::os::raw::c_int;
    /// `src/entrypoint.c`: `R_FlushConsole()`.
    fn scmosaic_r_flush_console();
}

/// Whether the user asked R to interrupt. Call on R's main thread only.
pub(crate) fn interrupt_pending() -> bool {
    // SAFETY: called from the progress callback, which runs on R's main thread.
    unsafe { scmosaic_r_interrupt_pending() != 0 }
}

fn flush() {
    // SAFETY: R's main thread (see above).
    unsafe { scmosaic_r_flush_console() }
}

/// How progress is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Nothing.
    Silent,
    /// One line redrawn with `\r` (interactive sessions).
    Bar,
    /// A line at every tenth of the epochs (logs, knitr, Rscript).
    Lines,
}

impl Mode {
    pub(crate) fn from_code(code: i32) -> Mode {
        match code {
            1 => Mode::Bar,
            2 => Mode::Lines,
            _ => Mode::Silent,
        }
    }
}

pub(crate) struct ProgressBar {
    mode: Mode,
    /// The model's name as users know it ("scVAEIT", "Multigrate").
    label: &'static str,
    /// Epochs trained before this call.
    start: usize,
    started: Instant,
    last_tenth: usize,
    width: usize,
    drawn: bool,
}

fn fmt_secs(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.0}s")
    } else if s < 3600.0 {
        format!("{}m{:02.0}s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!("{}h{:02.0}m", (s / 3600.0).floor(), (s % 3600.0) / 60.0)
    }
}

impl ProgressBar {
    pub(crate) fn new(mode: Mode, label: &'static str, start: usize) -> Self {
        ProgressBar {
            mode,
            label,
            start,
            started: Instant::now(),
            last_tenth: 0,
            width: 0,
            drawn: false,
        }
    }

    pub(crate) fn update(&mut self, log: &EpochLog) {
        if self.mode == Mode::Silent {
            return;
        }
        let total = log.n_epochs.saturating_sub(self.start).max(1);
        let done = log.epoch.saturating_sub(self.start).min(total);
        let elapsed = self.started.elapsed().as_secs_f64();
        let eta = elapsed / done.max(1) as f64 * (total - done) as f64;
        let valid = log
            .validation
            .as_ref()
            .map(|v| format!("  valid {:.2}", v.total))
            .unwrap_or_default();
        let stats = format!(
            "epoch {}/{}  loss {:.2}{valid}  {} elapsed, ~{} left",
            log.epoch,
            log.n_epochs,
            log.train.total,
            fmt_secs(elapsed),
            fmt_secs(eta)
        );
        match self.mode {
            Mode::Bar => {
                const W: usize = 24;
                let filled = W * done / total;
                let bar: String = (0..W).map(|i| if i < filled { '=' } else { ' ' }).collect();
                let line = format!("{} [{bar}] {stats}", self.label);
                let pad = self.width.saturating_sub(line.len());
                self.width = line.len();
                rprint!("\r{line}{}", " ".repeat(pad));
                self.drawn = true;
            }
            Mode::Lines => {
                let tenth = 10 * done / total;
                if done == 1 || tenth > self.last_tenth || done == total {
                    self.last_tenth = tenth;
                    rprintln!("{} {stats}", self.label);
                }
            }
            Mode::Silent => {}
        }
        flush();
    }

    pub(crate) fn finish(&mut self) {
        if self.mode == Mode::Bar && self.drawn {
            rprintln!();
            flush();
        }
    }
}
