//! The one scheduler: the runs of an [`Ensemble`] handed out in blocks to the workers of the
//! current rayon pool, each worker stepping its block month by month (every engine of the
//! ensemble on the same lanes, in lockstep) and adding what it sees to its own [`Aggregate`].
//!
//! Blocks are as large as possible (one per worker for small ensembles). A worker left
//! without blocks takes over part of the runs of the busiest other worker's block, at the
//! month they have reached: on this shared VM one core often runs slower than the other, and
//! the faster worker would otherwise wait for the slower one's last block. Measured against
//! guided block sizes (blocks shrinking towards the end, 0.5.0, benches/README.md): take-over
//! is 9–15% faster on 1,000-run ensembles, whose two blocks guided sizes split in eight. Runs
//! are independent and every aggregate is exact and order-free, so which worker steps which
//! run for which months never changes the results.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::{Aggregate, Controls, Ensemble, Workspace, BLOCK};
use crate::engine::{Block, Engine};

/// Simulates an ensemble on at most `threads` workers of the current rayon pool and returns
/// what each worker aggregated, unmerged (at least one part; see [`Aggregate::merge`]).
/// `make` makes a worker's empty aggregate. Progress counts runs. `None` if cancelled.
pub fn aggregate<A: Aggregate>(
    ensemble: &Ensemble<'_>,
    make: &(dyn Fn() -> A + Sync),
    workspace: &Workspace,
    controls: &Controls<'_>,
    threads: usize,
) -> Option<Vec<A>> {
    let Ensemble {
        engines,
        seed,
        first,
        count,
    } = *ensemble;
    if !engines.iter().any(Engine::is_stochastic) {
        // Every run is the same: simulate one and count it `count` times.
        let mut aggregate = make();
        let mut blocks: Vec<Block> = engines.iter().map(|e| workspace.block(e)).collect();
        let weight = u32::try_from(count).unwrap_or(u32::MAX);
        for (e, b) in engines.iter().zip(&mut blocks) {
            e.start_block(seed, first, 1, b);
        }
        aggregate.observe(engines, 0, &blocks, weight);
        for m in 0..ensemble.horizon() {
            for (e, b) in engines.iter().zip(&mut blocks) {
                e.step_month(m, b);
            }
            aggregate.observe(engines, m + 1, &blocks, weight);
        }
        aggregate.finish(engines, &blocks, weight);
        for (e, b) in engines.iter().zip(blocks) {
            workspace.keep_block(e, b);
        }
        (controls.progress)(count, count);
        return Some(vec![aggregate]);
    }
    let (size, workers) = partition(count, threads);
    let stalls: Vec<Stall> = (0..workers)
        .map(|_| Stall::new(engines.iter().map(|e| workspace.block(e)).collect()))
        .collect();
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let cancelled = || controls.cancel.load(std::sync::atomic::Ordering::Relaxed);
    let horizon = ensemble.horizon();
    let parts = crew(workers, |w| {
        let mut aggregate = make();
        let stall = &stalls[w];
        while !cancelled() {
            // A block of its own, or else part of the runs of the busiest other worker.
            let from = if let Some((lo, lanes)) = next_block(&next, count, size) {
                stall.start(engines, seed, first + lo, lanes as usize, &mut aggregate);
                0
            } else if let Some(month) = take_over(&stalls, w, horizon) {
                month
            } else {
                break;
            };
            stall.step(engines, from..horizon, &mut aggregate, &cancelled);
            let lanes = stall.finish(engines, &mut aggregate);
            let d = done.fetch_add(lanes, Ordering::Relaxed) + lanes;
            (controls.progress)(d, count);
        }
        aggregate
    });
    for stall in stalls {
        let stepping = stall
            .stepping
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        for (e, b) in engines.iter().zip(stepping.blocks) {
            workspace.keep_block(e, b);
        }
    }
    if cancelled() {
        return None;
    }
    Some(parts)
}

/// How `count` runs are handed out to `threads` workers: blocks of as many runs as fit
/// ([`BLOCK`]) but at least one block per thread, never fewer than 16 runs; and as many
/// workers as there are threads, or blocks if fewer (at least one).
fn partition(count: u64, threads: usize) -> (u64, usize) {
    let threads = threads.max(1) as u64;
    let size = count.div_ceil(threads).clamp(16, BLOCK);
    let workers = threads.min(count.div_ceil(size)).max(1);
    (size, workers as usize)
}

/// Takes the next block `(first run, lanes)` of runs `0..count` in blocks of `size`, or `None`
/// when every run is taken.
fn next_block(next: &AtomicU64, count: u64, size: u64) -> Option<(u64, u64)> {
    let lo = next.fetch_add(size, Ordering::Relaxed);
    (lo < count).then(|| (lo, (count - lo).min(size)))
}

/// Runs `work(worker)` for workers `0..workers` on the current rayon pool and returns what
/// each returned, in the order they finished.
fn crew<P: Send>(workers: usize, work: impl Fn(usize) -> P + Sync) -> Vec<P> {
    if workers == 1 {
        return vec![work(0)];
    }
    let parts: Mutex<Vec<P>> = Mutex::new(Vec::with_capacity(workers));
    rayon::scope(|scope| {
        for w in 0..workers {
            let (work, parts) = (&work, &parts);
            scope.spawn(move |_| {
                let part = work(w);
                parts.lock().unwrap_or_else(|e| e.into_inner()).push(part);
            });
        }
    });
    parts.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// A worker's blocks (one per engine, the same runs) and the month they have reached, where an
/// idle worker can take runs from them. Aligned to its own cache lines: each worker writes its
/// stall every month, and would otherwise slow down its neighbour's.
#[repr(align(128))]
struct Stall {
    stepping: Mutex<Stepping>,
    /// Workers waiting to take runs from this block: while there are any, its own worker does
    /// not step on (the lock alone would let it take the block back first, month after month).
    wanted: AtomicUsize,
    /// Runs × months left in this block: how much there is to take.
    left: AtomicU64,
}

struct Stepping {
    /// One block per engine of the ensemble, holding the same runs.
    blocks: Vec<Block>,
    /// The month the blocks' runs have reached.
    month: u32,
    /// Whether the blocks hold runs still to step.
    active: bool,
    /// Since when, and from which month, the blocks have held their present runs.
    since: (Instant, u32),
    /// Runs × months stepped per second over the worker's last finished stretch; 0 before.
    pace: f64,
}

impl Stepping {
    /// Runs in the blocks.
    fn lanes(&self) -> usize {
        self.blocks[0].lanes()
    }

    /// Holds its present runs from now on, at the month they have reached.
    fn restart(&mut self) {
        self.since = (Instant::now(), self.month);
    }

    /// Runs × months stepped per second since the blocks have held their present runs, once
    /// they have stepped enough months for that to mean something; 0 before.
    fn current_pace(&self) -> f64 {
        let (start, month) = self.since;
        let months = self.month - month;
        if months < 12 {
            return 0.0;
        }
        let seconds = start.elapsed().as_secs_f64();
        (self.lanes() as f64 * f64::from(months) / seconds).min(f64::MAX)
    }
}

impl Stall {
    fn new(blocks: Vec<Block>) -> Stall {
        Stall {
            stepping: Mutex::new(Stepping {
                blocks,
                month: 0,
                active: false,
                since: (Instant::now(), 0),
                pace: 0.0,
            }),
            wanted: AtomicUsize::new(0),
            left: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Stepping> {
        // Nothing panics while holding the lock.
        self.stepping.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts runs `first_run .. first_run + lanes` of master seed `seed`, observed at
    /// month 0 into `aggregate`.
    fn start<A: Aggregate>(
        &self,
        engines: &[Engine],
        seed: u64,
        first_run: u64,
        lanes: usize,
        aggregate: &mut A,
    ) {
        let mut mine = self.lock();
        for (e, b) in engines.iter().zip(&mut mine.blocks) {
            e.start_block(seed, first_run, lanes, b);
        }
        aggregate.observe(engines, 0, &mine.blocks, 1);
        (mine.month, mine.active) = (0, true);
        mine.restart();
    }

    /// Steps the blocks through `months`, observing each new month into `aggregate`, until
    /// `cancelled()`. Between two months, a worker waiting to take runs takes them.
    fn step<A: Aggregate>(
        &self,
        engines: &[Engine],
        months: Range<u32>,
        aggregate: &mut A,
        cancelled: &dyn Fn() -> bool,
    ) {
        let horizon = engines[0].horizon();
        for m in months {
            let mut mine = self.lock();
            for (e, b) in engines.iter().zip(&mut mine.blocks) {
                e.step_month(m, b);
            }
            aggregate.observe(engines, m + 1, &mine.blocks, 1);
            mine.month = m + 1;
            let left = mine.lanes() as u64 * u64::from(horizon - m - 1);
            self.left.store(left, Ordering::Relaxed);
            drop(mine);
            while self.wanted.load(Ordering::Acquire) > 0 {
                std::thread::yield_now();
            }
            // Checked every simulated month, so Ctrl-C stops well within a second.
            if cancelled() {
                break;
            }
        }
    }

    /// Records the end of the blocks' runs into `aggregate`, and returns how many they are.
    fn finish<A: Aggregate>(&self, engines: &[Engine], aggregate: &mut A) -> u64 {
        let mut mine = self.lock();
        mine.active = false;
        let pace = mine.current_pace();
        if pace > 0.0 {
            mine.pace = pace;
        }
        self.left.store(0, Ordering::Relaxed);
        aggregate.finish(engines, &mine.blocks, 1);
        mine.lanes() as u64
    }
}

/// Fewest runs, counted in runs × months left, worth taking over from another worker: less,
/// and the copy and the fixed costs of a second block for the months left would eat the gain.
/// About 8 runs' whole horizon.
const TAKE_OVER_MIN: u64 = 8;

/// Moves runs of the busiest other worker's blocks into worker `w`'s blocks, if there are
/// enough to be worth it, and returns the month they have reached: half of them, or as many as
/// make both end together at the paces the two have shown.
fn take_over(stalls: &[Stall], w: usize, horizon: u32) -> Option<u32> {
    let (_, victim) = stalls
        .iter()
        .enumerate()
        .filter(|(v, _)| *v != w)
        .max_by_key(|(_, s)| s.left.load(Ordering::Relaxed))?;
    if victim.left.load(Ordering::Relaxed) < 2 * TAKE_OVER_MIN * u64::from(horizon) {
        return None;
    }
    /// Counts a worker waiting on a stall, for as long as it lives (even through a panic: the
    /// stall's own worker waits until no one does).
    struct Waiting<'a>(&'a AtomicUsize);
    impl Drop for Waiting<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::AcqRel);
        }
    }
    victim.wanted.fetch_add(1, Ordering::AcqRel);
    let _waiting = Waiting(&victim.wanted);
    let mut theirs = victim.lock();
    // A worker taking over runs holds no runs of its own: finding it inactive here, another
    // worker that chose it lets go without locking anything else, so two workers choosing
    // each other cannot wait on each other.
    if !theirs.active {
        return None;
    }
    let mut mine = stalls[w].lock();
    let lanes = theirs.lanes();
    let months = u64::from(horizon - theirs.month.min(horizon));
    // As many runs as make both workers end together, at the paces they have shown: half if
    // either is not known yet, never less than a quarter or more than three quarters.
    let (my_pace, their_pace) = (mine.pace, theirs.current_pace());
    let share = if my_pace > 0.0 && their_pace > 0.0 {
        (my_pace / (my_pace + their_pace)).clamp(0.25, 0.75)
    } else {
        0.5
    };
    let moved = ((lanes as f64 * share) as usize).min(lanes);
    if (moved as u64) * months < TAKE_OVER_MIN * u64::from(horizon) {
        return None;
    }
    let Stepping { blocks: to, .. } = &mut *mine;
    for (from, to) in theirs.blocks.iter_mut().zip(to) {
        from.split_off(lanes - moved, to);
    }
    (mine.month, mine.active) = (theirs.month, true);
    mine.restart();
    theirs.restart();
    let kept = (lanes - moved) as u64 * months;
    victim.left.store(kept, Ordering::Relaxed);
    stalls[w]
        .left
        .store(moved as u64 * months, Ordering::Relaxed);
    Some(theirs.month)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ensemble::{results_of, Accumulator};
    use crate::model::Model;

    fn grande_synthe() -> Model {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join("grande-synthe.toml");
        Model::load(&path).unwrap()
    }

    /// An idle worker takes half of a busy worker's runs at the month they have reached; the
    /// two accumulators, merged or read together, hold exactly what one worker stepping every
    /// run would have: with histogram rows and with logs.
    #[test]
    fn runs_taken_over_mid_block_give_the_same_results() {
        for logging in [false, true] {
            taken_over_runs_give_the_same_results(logging);
        }
    }

    fn taken_over_runs_give_the_same_results(logging: bool) {
        let model = grande_synthe();
        let engines = [Engine::new(&model)];
        let (seed, horizon, never) = (model.settings.seed, engines[0].horizon(), || false);
        let stalls = [
            Stall::new(vec![engines[0].new_block()]),
            Stall::new(vec![engines[0].new_block()]),
        ];
        let (mut busy, mut idle) = (
            Accumulator::new(&engines[0], logging),
            Accumulator::new(&engines[0], logging),
        );
        assert_eq!(take_over(&stalls, 1, horizon), None, "nothing started");
        stalls[0].start(&engines, seed, 0, 300, &mut busy);
        stalls[0].step(&engines, 0..50, &mut busy, &never);
        assert_eq!(take_over(&stalls, 1, horizon), Some(50));
        let lanes = |s: &Stall| s.lock().lanes();
        assert_eq!((lanes(&stalls[0]), lanes(&stalls[1])), (150, 150));
        stalls[0].step(&engines, 50..horizon - 2, &mut busy, &never);
        stalls[1].step(&engines, 50..horizon, &mut idle, &never);
        assert_eq!(take_over(&stalls, 1, horizon), None, "too little left");
        stalls[0].step(&engines, horizon - 2..horizon, &mut busy, &never);
        let ended = stalls[0].finish(&engines, &mut busy) + stalls[1].finish(&engines, &mut idle);
        assert_eq!(ended, 300);
        assert_eq!((busy.is_logged(), idle.is_logged()), (logging, logging));
        let controls = Controls::silent();
        let workspace = Workspace::new();
        let ensemble = Ensemble::new(&engines, seed, 0, 300);
        let whole = aggregate(
            &ensemble,
            &|| Accumulator::new(&engines[0], false),
            &workspace,
            &controls,
            1,
        )
        .unwrap();
        let expected = format!("{:?}", whole[0].results(&model, 0.0));
        let together = results_of(&[busy.clone(), idle.clone()], &model, 0.0);
        assert_eq!(format!("{together:?}"), expected);
        busy.absorb(&mut idle);
        assert_eq!(format!("{:?}", busy.results(&model, 0.0)), expected);
    }
}
