//! Stage 4 — the ensemble: many runs in parallel, aggregated while they run.
//!
//! An [`Ensemble`] is work: the runs `first..first + count` of a master seed, each stepped by
//! one engine (a scenario) or by several on the same runs and draws (a paired comparison). The
//! one scheduler ([`aggregate`], in `schedule`) hands its runs out in blocks to the workers of
//! the current rayon pool; each worker adds what it sees, month by month, to its own
//! [`Aggregate`] — the full results of docs/model.md's ensemble ([`Accumulator`], with its `histogram`s),
//! an outcome's sums (the study layer's), or any pair of them. Every aggregate is an integer
//! (counts, sums in 2⁻⁵² fixed point) or a min/max, so merging is exact and order-free: results
//! are byte-identical at any thread count, whichever worker steps which run, and for runs split
//! into shards and merged ([`canonical`], the saved form). [`each`] runs many ensembles (the
//! points of a sweep) and hands their results out in order; [`Workspace`] keeps the memory one
//! ensemble leaves for the next, owned by the caller; [`Workload`] estimates time and memory
//! before any work. Memory depends on the horizon and the number of indices, never on the
//! number of runs.

mod accumulator;
mod batch;
pub mod canonical;
mod fixed;
mod histogram;
mod results;
mod schedule;
mod workload;
mod workspace;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

pub use accumulator::{Accumulator, EachScenario, Index};
pub use batch::{each, simulate_each, SIDE_BY_SIDE, WHOLE_ON_ONE};
pub use fixed::{fixed, FIXED};
pub use results::{results_of, PhaseEntry, Results, Series, Summary, Survival, TerritoryResults};
pub use schedule::aggregate;
pub use workload::Workload;
pub use workspace::Workspace;

use crate::engine::{Block, Engine, LANES};
use crate::model::Model;

/// Histogram bins over [0, 1] for every index (bin width 0.001).
pub const BINS: usize = 1000;
/// Histogram bins for total spend over [0, largest possible spend].
pub const SPEND_BINS: usize = 10_000;
/// Most runs handed to a worker at a time: one full engine block.
pub const BLOCK: u64 = LANES as u64;
/// Most runs of an ensemble whose histograms are logged block by block rather than added into
/// rows (see `histogram`): four blocks. Larger ones spread the fixed costs of rows over more
/// runs, and a log grows with the runs.
pub const LOG_RUNS: u64 = 4 * BLOCK;

/// How a simulation is driven from outside: progress and cancellation.
pub struct Controls<'a> {
    /// Called with (done, in all) as work finishes — runs for an ensemble, points for a batch —
    /// from worker threads.
    pub progress: &'a (dyn Fn(u64, u64) + Sync),
    /// Set to stop early; the simulation then returns `None`.
    pub cancel: &'a AtomicBool,
}

impl Controls<'static> {
    /// Controls that show nothing and never stop the work.
    pub fn silent() -> Controls<'static> {
        fn nothing(_: u64, _: u64) {}
        static NEVER: AtomicBool = AtomicBool::new(false);
        Controls {
            progress: &nothing,
            cancel: &NEVER,
        }
    }
}

impl Controls<'_> {
    /// Whether the work was asked to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// What a worker adds up while its blocks are stepped. Every method adds: the order in which
/// blocks (and parts of blocks) are observed never changes what the merged aggregate holds.
pub trait Aggregate: Send {
    /// Records month `t` (0 = the start) of a block of runs: `blocks[s]` holds them as stepped
    /// by `engines[s]`, each run counted `weight` times.
    fn observe(&mut self, engines: &[Engine], t: u32, blocks: &[Block], weight: u32);
    /// Records the end of the runs of `blocks`, once they have reached the horizon.
    fn finish(&mut self, engines: &[Engine], blocks: &[Block], weight: u32);
    /// Adds another worker's aggregate of the same ensemble into this one; memory it no longer
    /// needs may go back to the workspace.
    fn merge(&mut self, other: Self, workspace: &Workspace)
    where
        Self: Sized;
}

/// Two aggregates side by side (e.g. full results and the outcomes of hypotheses).
impl<A: Aggregate, B: Aggregate> Aggregate for (A, B) {
    fn observe(&mut self, engines: &[Engine], t: u32, blocks: &[Block], weight: u32) {
        self.0.observe(engines, t, blocks, weight);
        self.1.observe(engines, t, blocks, weight);
    }

    fn finish(&mut self, engines: &[Engine], blocks: &[Block], weight: u32) {
        self.0.finish(engines, blocks, weight);
        self.1.finish(engines, blocks, weight);
    }

    fn merge(&mut self, other: Self, workspace: &Workspace) {
        self.0.merge(other.0, workspace);
        self.1.merge(other.1, workspace);
    }
}

/// An aggregate kept only when asked for (e.g. full results for plots).
impl<A: Aggregate> Aggregate for Option<A> {
    fn observe(&mut self, engines: &[Engine], t: u32, blocks: &[Block], weight: u32) {
        if let Some(a) = self {
            a.observe(engines, t, blocks, weight);
        }
    }

    fn finish(&mut self, engines: &[Engine], blocks: &[Block], weight: u32) {
        if let Some(a) = self {
            a.finish(engines, blocks, weight);
        }
    }

    fn merge(&mut self, other: Self, workspace: &Workspace) {
        match (self.as_mut(), other) {
            (Some(a), Some(b)) => a.merge(b, workspace),
            (None, other) => *self = other,
            (Some(_), None) => {}
        }
    }
}

/// Merges the parts the scheduler returned into the first; `None` if there are none.
pub fn merged<A: Aggregate>(parts: Vec<A>, workspace: &Workspace) -> Option<A> {
    let mut parts = parts.into_iter();
    let mut merged = parts.next()?;
    for part in parts {
        merged.merge(part, workspace);
    }
    Some(merged)
}

/// The work of one ensemble: runs `first..first + count` of master seed `seed`, each stepped
/// by every engine (one per scenario, all with the same horizon).
#[derive(Debug, Clone, Copy)]
pub struct Ensemble<'e> {
    /// The scenarios, compiled; a run is stepped by each on the same draws.
    pub engines: &'e [Engine],
    /// Master seed.
    pub seed: u64,
    /// First run index.
    pub first: u64,
    /// Number of runs.
    pub count: u64,
}

impl<'e> Ensemble<'e> {
    /// The ensemble of runs `first..first + count` of `engines` (at least one, all with the
    /// same horizon: a comparison checks it before).
    pub fn new(engines: &'e [Engine], seed: u64, first: u64, count: u64) -> Ensemble<'e> {
        assert!(
            !engines.is_empty() && engines.iter().all(|e| e.horizon() == engines[0].horizon()),
            "an ensemble's engines share their horizon"
        );
        Ensemble {
            engines,
            seed,
            first,
            count,
        }
    }

    /// Months every run is stepped.
    pub fn horizon(&self) -> u32 {
        self.engines[0].horizon()
    }
}

/// Whether every run of this model is the same (nothing draws), so one is simulated.
pub fn is_deterministic(model: &Model) -> bool {
    !Engine::new(model).is_stochastic()
}

/// Simulates runs `first..first + count` of a model into one accumulator of its full results,
/// on the current rayon pool. Returns `None` if cancelled.
pub fn accumulate(
    model: &Model,
    first: u64,
    count: u64,
    workspace: &Workspace,
    controls: &Controls<'_>,
) -> Option<Accumulator> {
    let engines = [Engine::new(model)];
    let ensemble = Ensemble::new(&engines, model.settings.seed, first, count);
    let logging = count <= LOG_RUNS;
    let make = || workspace.accumulator(&engines[0], logging);
    let threads = rayon::current_num_threads();
    let parts = aggregate(&ensemble, &make, workspace, controls, threads)?;
    merged(parts, workspace)
}

/// Simulates the model's runs and returns its full results, or `None` if cancelled.
pub fn simulate(model: &Model, workspace: &Workspace, controls: &Controls<'_>) -> Option<Results> {
    simulate_on(model, workspace, controls, rayon::current_num_threads())
}

/// [`simulate`] on at most `threads` workers of the current pool.
pub fn simulate_on(
    model: &Model,
    workspace: &Workspace,
    controls: &Controls<'_>,
    threads: usize,
) -> Option<Results> {
    let start = Instant::now();
    let parts = accumulate_parts(model, 0..model.settings.runs, workspace, controls, threads)?;
    let results = results_of(&parts, model, start.elapsed().as_secs_f64());
    parts
        .into_iter()
        .for_each(|p| workspace.keep_accumulator(p));
    Some(results)
}

/// Simulates runs `runs` of a model on at most `threads` workers of the current pool into the
/// accumulators of its full results, as they are best read: logged ones as each worker left
/// them, rows merged into one. `None` if cancelled.
pub fn accumulate_parts(
    model: &Model,
    runs: std::ops::Range<u64>,
    workspace: &Workspace,
    controls: &Controls<'_>,
    threads: usize,
) -> Option<Vec<Accumulator>> {
    let engines = [Engine::new(model)];
    let count = runs.end - runs.start;
    let ensemble = Ensemble::new(&engines, model.settings.seed, runs.start, count);
    let logging = count <= LOG_RUNS;
    let make = || workspace.accumulator(&engines[0], logging);
    let mut parts = aggregate(&ensemble, &make, workspace, controls, threads)?;
    // Logs are read where they are; rows are faster to read merged.
    if !parts.iter().any(Accumulator::is_logged) {
        parts = vec![merged(parts, workspace)?];
    }
    Some(parts)
}
