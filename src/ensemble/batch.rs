//! Many ensembles — the points of a sweep, of a sensitivity analysis, of a calibration — run
//! one after another or side by side, their results handed out in order as they finish.
//!
//! Split across workers, a 1,000-run ensemble spends part of its time in fixed costs — a
//! block per worker, the workers' aggregates read together, the slower worker waited for —
//! that an ensemble run whole on one worker does not pay. So when every job has at most
//! [`WHOLE_ON_ONE`] runs and there are at least [`SIDE_BY_SIDE`] jobs per thread, each runs
//! whole on one worker, side by side; otherwise they run one after another, each on every
//! worker. Either way results come out in job order, and at most a few jobs per worker are
//! finished and waiting to be handed out: memory does not depend on the number of jobs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use super::{simulate_on, Controls, Results, Workspace, BLOCK};
use crate::model::Model;

/// Most runs of an ensemble that [`each`] runs whole on one worker: four blocks.
pub const WHOLE_ON_ONE: u64 = 4 * BLOCK;

/// Fewest jobs of at most [`WHOLE_ON_ONE`] runs per thread for [`each`] to run them side by
/// side: with fewer, the workers left idle while the last ones finish would cost more than
/// splitting each ensemble across them.
pub const SIDE_BY_SIDE: usize = 8;

/// Jobs finished but not yet handed out, per thread, before a worker waits.
const AHEAD: usize = 4;

/// Runs jobs `0..n` and gives each one's result to `emit`, in job order, as soon as it and
/// every job before it are done. `runs(i)` is job i's number of runs; `job(i, threads,
/// controls)` runs it on at most `threads` workers of the current pool (`None` if
/// cancelled). Progress counts jobs. Returns `None` if cancelled (some results may have been
/// emitted).
pub fn each<R: Send>(
    n: usize,
    runs: &(dyn Fn(usize) -> u64 + Sync),
    job: &(dyn Fn(usize, usize, &Controls<'_>) -> Option<R> + Sync),
    emit: &mut (dyn FnMut(usize, R) + Send),
    controls: &Controls<'_>,
) -> Option<()> {
    let threads = rayon::current_num_threads();
    let quiet = |_: u64, _: u64| {};
    let inner = Controls {
        progress: &quiet,
        cancel: controls.cancel,
    };
    let side_by_side =
        threads > 1 && n >= SIDE_BY_SIDE * threads && (0..n).all(|i| runs(i) <= WHOLE_ON_ONE);
    if !side_by_side {
        for i in 0..n {
            let result = job(i, threads, &inner)?;
            emit(i, result);
            (controls.progress)(i as u64 + 1, n as u64);
        }
        return Some(());
    }
    struct Queue<'e, R> {
        /// The next job to hand out.
        next: usize,
        /// Jobs done, waiting for those before them.
        done: BTreeMap<usize, R>,
        emit: &'e mut (dyn FnMut(usize, R) + Send),
    }
    let queue = Mutex::new(Queue {
        next: 0,
        done: BTreeMap::new(),
        emit,
    });
    let moved = Condvar::new();
    let claimed = AtomicUsize::new(0);
    let finished = AtomicU64::new(0);
    let lock = || queue.lock().unwrap_or_else(|e| e.into_inner());
    rayon::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|_| loop {
                let i = claimed.fetch_add(1, Ordering::Relaxed);
                if i >= n || controls.cancelled() {
                    break;
                }
                // Not too far ahead of the jobs still to hand out: the job `next` is being run
                // by a worker that is not waiting, so this always ends.
                {
                    let mut q = lock();
                    while i >= q.next + AHEAD * threads && !controls.cancelled() {
                        // Woken when a job is handed out; the timeout only rechecks Ctrl-C.
                        let timeout = std::time::Duration::from_millis(50);
                        q = moved
                            .wait_timeout(q, timeout)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                }
                let Some(result) = job(i, 1, &inner) else {
                    break;
                };
                let mut q = lock();
                q.done.insert(i, result);
                let Queue { next, done, emit } = &mut *q;
                while let Some(result) = done.remove(next) {
                    emit(*next, result);
                    *next += 1;
                }
                drop(q);
                moved.notify_all();
                let f = finished.fetch_add(1, Ordering::Relaxed) + 1;
                (controls.progress)(f, n as u64);
            });
        }
    });
    if controls.cancelled() {
        return None;
    }
    Some(())
}

/// Simulates the ensembles of several models, as a sweep of full results would, and returns
/// their results in the models' order, or `None` if cancelled. Each one's results are those
/// [`super::simulate`] gives (but for its wall time, which is that ensemble's own).
pub fn simulate_each(
    models: &[Model],
    workspace: &Workspace,
    controls: &Controls<'_>,
) -> Option<Vec<Results>> {
    let mut out = Vec::with_capacity(models.len());
    let mut emit = |_: usize, r: Results| out.push(r);
    each(
        models.len(),
        &|i| models[i].settings.runs,
        &|i, threads, inner| simulate_on(&models[i], workspace, inner, threads),
        &mut emit,
        controls,
    )?;
    Some(out)
}
