//! Training on a thread pool while the progress callback runs on the
//! calling thread (R and Julia callbacks must stay on their thread).

use crate::error::Result;
use crate::train::{EpochLog, Progress, TrainReport};
use std::ops::ControlFlow;
use std::sync::{mpsc, Mutex};

type Trained<M> = (M, Result<TrainReport>);

/// Runs the training loop `fit` on the thread pool while the progress
/// callback runs on the calling thread (R and Julia callbacks must stay on their thread).
pub(crate) fn run_training<M: Send>(
    pool: Option<&rayon::ThreadPool>,
    module: M,
    progress: Progress<'_>,
    fit: impl FnOnce(M, Progress<'_>) -> Trained<M> + Send,
) -> Trained<M> {
    let out: Mutex<Option<Trained<M>>> = Mutex::new(None);
    match pool {
        Some(p) => p.in_place_scope(|s| serve(s, module, &out, progress, fit)),
        None => rayon::in_place_scope(|s| serve(s, module, &out, progress, fit)),
    }
    out.into_inner()
        .expect("not poisoned")
        .expect("training job finished")
}

fn serve<'s, M: Send + 's>(
    s: &rayon::Scope<'s>,
    module: M,
    out: &'s Mutex<Option<Trained<M>>>,
    progress: Progress<'_>,
    fit: impl FnOnce(M, Progress<'_>) -> Trained<M> + Send + 's,
) {
    let (tx_log, rx_log) = mpsc::channel::<EpochLog>();
    let (tx_ctl, rx_ctl) = mpsc::channel::<bool>();
    s.spawn(move |_| {
        let mut cb = |log: &EpochLog| {
            if tx_log.send(log.clone()).is_err() {
                return ControlFlow::Break(());
            }
            match rx_ctl.recv() {
                Ok(true) => ControlFlow::Continue(()),
                _ => ControlFlow::Break(()),
            }
        };
        let r = fit(module, &mut cb);
        *out.lock().expect("not poisoned") = Some(r);
    });
    for log in rx_log.iter() {
        let go = progress(&log).is_continue();
        let _ = tx_ctl.send(go);
    }
}
