//! Stage 7 — the commands: one function per command of the `trajectoire` program, each
//! checking every argument before any work, doing it, and returning a report (what was found
//! and where it was written). The library never prints: the program prints the reports, and
//! progress and cancellation come in through [`Controls`].

pub mod calibrate;
pub mod check;
pub mod compare;
pub mod job;
pub mod merge;
pub mod new;
pub mod report;
pub mod run;
pub mod sensitivity;
pub mod serve;
pub mod shard;
pub mod slurm;
pub mod sweep;
pub mod test;

use std::path::{Path, PathBuf};

use crate::diag::Error;
pub use crate::ensemble::Controls;
use crate::model::{Model, Overrides};

/// Most worker threads accepted by `--threads`.
pub const MAX_THREADS: usize = 256;

/// The options every simulating command shares.
#[derive(Debug, Clone, Default)]
pub struct Simulation {
    /// `--runs`, `--seed`, `--substeps`, `--deterministic`, `--set`.
    pub overrides: Overrides,
    /// `--threads` (default: every core).
    pub threads: Option<usize>,
    /// `--allow-long`: run work estimated at over 10 minutes or 8 GB.
    pub allow_long: bool,
    /// The parts the work is split into (N of `--shard I/N`; 0 or 1: not split), by which the
    /// estimated time of the part done here is divided.
    pub shards: u32,
}

impl Simulation {
    /// Checks the options that need no scenario: the thread count and the settings' bounds.
    pub fn check(&self) -> Result<(), Error> {
        if let Some(n) = self.threads {
            if n == 0 || n > MAX_THREADS {
                return Err(Error::Usage(format!(
                    "--threads {n}: give from 1 to {MAX_THREADS} worker threads (this machine has {} cores; more threads than cores never run faster, and the results are the same at any count)",
                    cores()
                )));
            }
        }
        self.overrides.check()
    }

    /// Worker threads to use.
    pub fn threads(&self) -> usize {
        self.threads.unwrap_or_else(cores)
    }

    /// Runs `work` on a pool of [`Simulation::threads`] worker threads.
    pub fn in_pool<T: Send>(&self, work: impl FnOnce() -> T + Send) -> Result<T, Error> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads())
            .build()
            .map_err(|e| Error::Usage(format!("cannot start the worker threads: {e}")))?;
        Ok(pool.install(work))
    }
}

/// The cores of this machine.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The default output folder of a scenario: `output/<id>/`, or `output/<id>-<kind>/`.
pub fn default_out_dir(model: &Model, kind: Option<&str>) -> PathBuf {
    match kind {
        None => Path::new("output").join(&model.id),
        Some(kind) => Path::new("output").join(format!("{}-{kind}", model.id)),
    }
}
