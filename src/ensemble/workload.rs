//! How much work an ensemble (or a batch of them) is, estimated before it starts, and the
//! refusal of work too long or too large to run without `--allow-long`.

use super::accumulator::{Index, LOG_BYTES};
use super::{BINS, LOG_RUNS, SPEND_BINS};
use crate::diag::Error;
use crate::engine::Engine;
use crate::model::Model;

/// Group-steps per second assumed by [`Workload::of`]: measured on 2 cores (benches/README.md),
/// rounded down.
pub const GROUP_STEPS_PER_SECOND: f64 = 80e6;
/// Work refused without `--allow-long`: more than this many seconds...
pub const LONG_SECONDS: f64 = 600.0;
/// ...or more than this much memory.
pub const LARGE_BYTES: f64 = 8.0 * 1024.0 * 1024.0 * 1024.0;

/// How much work a simulation is, estimated before it starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workload {
    /// Runs × months × substeps × actor groups (all territories and scenarios).
    pub group_steps: f64,
    /// Estimated wall time on this machine's kind (2 cores), seconds.
    pub seconds: f64,
    /// Estimated peak memory of the blocks and aggregates, bytes.
    pub memory_bytes: f64,
    /// The runs, months, substeps and groups behind `group_steps`, for messages.
    size: (u64, u32, u32, usize),
}

impl Workload {
    /// The workload of `runs` runs in all (every point of a batch together) of `scenarios`
    /// scenarios shaped like `model`, on `threads` workers; `full` when each scenario keeps its
    /// full results (histograms of every index and month), not only outcomes.
    pub fn of(model: &Model, runs: u64, scenarios: usize, threads: usize, full: bool) -> Workload {
        let s = model.settings;
        let engine = Engine::new(model);
        let groups = model.group_count() * scenarios.max(1);
        let months = model.horizon();
        let steps =
            |runs: u64| runs as f64 * f64::from(months) * f64::from(s.substeps) * groups as f64;
        let group_steps = steps(runs);
        let seconds = if engine.is_stochastic() {
            group_steps
        } else {
            steps(1)
        } / GROUP_STEPS_PER_SECOND;
        let cells = |groups: usize| (Index::count(groups) * (months as usize + 1)) as f64;
        let aggregates: f64 = if full {
            model
                .territories
                .iter()
                .map(|t| {
                    let cells = cells(t.groups.len());
                    // Sums (16 bytes), least and greatest (16), then the histograms: 16-bit rows,
                    // or a log of at most LOG_BYTES.
                    let histograms = if s.runs <= LOG_RUNS {
                        (LOG_BYTES as f64).min(cells * BINS as f64 * 2.0)
                    } else {
                        cells * BINS as f64 * 2.0
                    };
                    cells * 32.0 + histograms + SPEND_BINS as f64 * 8.0
                })
                .sum()
        } else {
            0.0
        };
        let per_worker = (engine.block_bytes() as f64 + aggregates) * scenarios.max(1) as f64;
        Workload {
            group_steps,
            seconds,
            memory_bytes: per_worker * threads.max(1) as f64,
            size: (runs, months, s.substeps, groups),
        }
    }

    /// The workload of one of `shards` equal parts of this work (the memory is a worker's, the
    /// same in every part).
    pub fn shard(mut self, shards: u32) -> Workload {
        let n = f64::from(shards.max(1));
        self.group_steps /= n;
        self.seconds /= n;
        self.size.0 = self.size.0.div_ceil(u64::from(shards.max(1)));
        self
    }

    /// Refuses work over [`LONG_SECONDS`] or [`LARGE_BYTES`], saying how to proceed.
    pub fn check(&self) -> Result<(), Error> {
        let (runs, months, substeps, groups) = self.size;
        let size = format!(
            "{runs} runs × {months} months × {substeps} substeps × {groups} actor groups = {:.2e} group-steps",
            self.group_steps
        );
        if self.seconds > LONG_SECONDS {
            return Err(Error::Usage(format!(
                "this simulation would take about {} ({size}). Use fewer runs (--runs) or substeps (--substeps), or add --allow-long to run it anyway.",
                duration_words(self.seconds)
            )));
        }
        if self.memory_bytes > LARGE_BYTES {
            return Err(Error::Usage(format!(
                "this simulation would need about {:.1} GB of memory for its blocks and statistics ({months} months, {groups} actor groups). Use fewer worker threads (--threads 1), a shorter horizon or fewer groups, or add --allow-long to run it anyway.",
                self.memory_bytes / 1e9,
            )));
        }
        Ok(())
    }
}

/// A duration for people: seconds, minutes or hours.
pub fn duration_words(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0} seconds")
    } else if seconds < 7200.0 {
        format!("{:.0} minutes", seconds / 60.0)
    } else {
        format!("{:.1} hours", seconds / 3600.0)
    }
}
