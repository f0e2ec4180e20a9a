//! What every command shares: the simulation's options on the command line
//! ([`SimulationOptions`]), where a command writes ([`OutputOptions`]), and what it gives back
//! ([`Report`]: the words the program prints and its exit code).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diag::Error;
use crate::model::{Model, Overrides};

/// Most worker threads accepted by `--threads`.
pub const MAX_THREADS: usize = 256;

/// The options of every command that simulates.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationOptions {
    /// Number of simulated runs (overrides [simulation] runs).
    #[arg(long)]
    pub runs: Option<u64>,
    /// Master seed (overrides [simulation] seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Euler substeps per month (overrides [simulation] substeps).
    #[arg(long)]
    pub substeps: Option<u32>,
    /// Worker threads (default: all cores; at most 256). Never changes the results.
    #[arg(long)]
    pub threads: Option<usize>,
    /// No noise; shocks hit only when certain; random shocks never fire.
    #[arg(long)]
    pub deterministic: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Run even if the estimated time (over 10 minutes) or memory (over 8 GB) is large.
    #[arg(long)]
    pub allow_long: bool,
    /// What-if override PATH=VALUE, e.g. lever.participation.intensity=0.5 (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
}

impl SimulationOptions {
    /// The settings and `--set` overrides applied to the scenario.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            runs: self.runs,
            seed: self.seed,
            substeps: self.substeps,
            deterministic: self.deterministic,
            sets: self.sets.clone(),
        }
    }

    /// These options with only what decides the results: no threads, quiet or allow-long.
    pub fn results_only(&self) -> SimulationOptions {
        SimulationOptions {
            threads: None,
            quiet: false,
            allow_long: false,
            ..self.clone()
        }
    }

    /// Checks the options that need no scenario: the thread count and the settings' bounds.
    pub fn check(&self) -> Result<(), Error> {
        check_threads(self.threads)?;
        self.overrides().check()
    }

    /// Worker threads to use.
    pub fn threads(&self) -> usize {
        self.threads.unwrap_or_else(cores)
    }

    /// Runs `work` on a pool of [`SimulationOptions::threads`] worker threads.
    pub fn in_pool<T: Send>(&self, work: impl FnOnce() -> T + Send) -> Result<T, Error> {
        in_pool(self.threads(), work)
    }
}

/// Where a command writes, and whether it splits its work.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputOptions {
    /// Output folder (default: output/<id>/ for run, output/<id>-<command>/ for the others).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the tables only, no plots.
    #[arg(long)]
    pub no_plots: bool,
    /// Do the I-th of N equal parts of the work and write DIR/shard-I-of-N.shard (DIR: --out
    /// or the default folder) for `trajectoire merge`, instead of the outputs.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

/// What a command gives back: what it found and where it wrote, which the program prints.
pub trait Report: std::fmt::Debug + Send {
    /// What the program prints when the command is done (nothing under `--quiet`).
    fn text(&self) -> String;

    /// The program's exit code: 0, unless the report says otherwise (`test` exits 4 when a
    /// hypothesis is not supported).
    fn exit_code(&self) -> u8 {
        0
    }
}

/// A report that is a few words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words(pub String);

impl Report for Words {
    fn text(&self) -> String {
        self.0.clone()
    }
}

/// Refuses a thread count outside 1..=[`MAX_THREADS`].
pub fn check_threads(threads: Option<usize>) -> Result<(), Error> {
    match threads {
        Some(n) if n == 0 || n > MAX_THREADS => Err(Error::Usage(format!(
            "--threads {n}: give from 1 to {MAX_THREADS} worker threads (this machine has {} cores; more threads than cores never run faster, and the results are the same at any count)",
            cores()
        ))),
        _ => Ok(()),
    }
}

/// Runs `work` on a pool of `threads` worker threads.
pub fn in_pool<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> Result<T, Error> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the worker threads: {e}")))?;
    Ok(pool.install(work))
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

/// `out`, or the default folder of `model` for `kind`.
pub fn out_or_default(out: Option<&Path>, model: &Model, kind: Option<&str>) -> PathBuf {
    out.map_or_else(|| default_out_dir(model, kind), Path::to_path_buf)
}

/// Writes `bytes` into the file `name` of `folder`.
pub fn write_file(folder: &Path, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let path = folder.join(name);
    std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
}
