//! Stage 7 — the commands of the `trajectoire` program, each a type of its arguments (derived
//! for clap, usable without it) with a function that checks them before any work, does the
//! work and returns a [`Report`] (what was found and where it was written). The library never
//! prints: the program prints the reports, and progress and cancellation come in through
//! [`Controls`].
//!
//! The commands whose work can be split across machines ([`split::Splittable`]: run, test,
//! compare, sweep, sensitivity) are the variants of [`job::Job`]; shards and `merge` are
//! written once for all of them in [`split`].

pub mod calibrate;
pub mod check;
pub mod common;
pub mod compare;
pub mod discover;
pub mod job;
pub mod merge;
pub mod new;
pub mod optimize;
pub mod report;
pub mod run;
pub mod sensitivity;
pub mod serve;
pub mod slurm;
pub mod split;
pub mod sweep;
pub mod test;
pub mod transfer;

use clap::{Parser, Subcommand};

use crate::diag::Error;
pub use crate::ensemble::Controls;
pub use common::{cores, Report, SimulationOptions, MAX_THREADS};

/// Model and simulate a territory's ecological and social transition.
#[derive(Parser, Debug, Clone)]
#[command(name = "trajectoire", version, about, long_about = None)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// A command of the program and its arguments.
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// The commands that can be split in shards (run, test, compare, sweep, sensitivity,
    /// transfer, discover).
    #[command(flatten)]
    Job(job::Job),
    /// Write one self-contained HTML report: the numbers in words, every plot, the phases, the
    /// hypotheses' verdicts and the variants compared (readable offline, printable on A4).
    Report(report::ReportArgs),
    /// Merge the shard files of a split run, test, compare, sweep, sensitivity, transfer or
    /// discover into exactly what the command writes on one machine.
    Merge(merge::MergeArgs),
    /// Write a Slurm job array doing a command in N shards, and the job that merges them once
    /// they all succeed; with --submit, submit both.
    Slurm(slurm::SlurmArgs),
    /// Serve the workshop page: sliders for the scenario's levers, budget and shocks, the
    /// futures redrawn against the file as written. Stops with Ctrl-C.
    Serve(serve::ServeArgs),
    /// Fit a territory's file to its observed history: the posterior of the --vary
    /// parameters (uniform priors over their ranges), 90% intervals, a calibrated file and the
    /// fit plots.
    Calibrate(calibrate::CalibrateArgs),
    /// Plans: the choices that reach the goals at least cost — a many-objective evolutionary
    /// search (NSGA-II) over any numeric --set paths, every plan on the same runs; robust over
    /// uncertain futures with --uncertain.
    Optimize(optimize::OptimizeArgs),
    /// Check a scenario and list every problem with its line and column.
    Check(check::CheckArgs),
    /// Describe a scenario in plain words, with its numbers and equations.
    Explain(check::ExplainArgs),
    /// Write a commented template territory NAME.toml to start from.
    New(new::NewArgs),
}

impl Command {
    /// `--quiet`: the report is not printed.
    pub fn quiet(&self) -> bool {
        match self {
            Command::Job(job) => job.quiet(),
            Command::Report(a) => a.simulation.quiet,
            Command::Calibrate(a) => a.simulation.quiet,
            Command::Optimize(a) => a.simulation.quiet,
            Command::Merge(a) => a.quiet,
            _ => false,
        }
    }

    /// What progress counts, for a progress bar (`None`: the command shows none).
    pub fn unit(&self) -> Option<&'static str> {
        match self {
            Command::Job(job) => Some(job.unit()),
            Command::Report(_) => Some("runs"),
            Command::Calibrate(_) => Some("likelihood evaluations"),
            Command::Optimize(_) => Some("evaluations"),
            Command::Merge(_) => Some("shards"),
            _ => None,
        }
    }

    /// Does the command; `tell` is given what a long-running command has to say while it runs
    /// (the workshop page's address). `Error::Interrupted` when cancelled.
    pub fn execute(
        &self,
        controls: &Controls<'_>,
        tell: &dyn Fn(&str),
    ) -> Result<Box<dyn Report>, Error> {
        Ok(match self {
            Command::Job(job) => job.execute(controls)?,
            Command::Report(a) => Box::new(a.execute(controls)?),
            Command::Merge(a) => Box::new(a.execute(controls)?),
            Command::Slurm(a) => Box::new(a.execute()?),
            Command::Serve(a) => Box::new(a.execute(controls, tell)?),
            Command::Calibrate(a) => Box::new(a.execute(controls)?),
            Command::Optimize(a) => Box::new(a.execute(controls)?),
            Command::Check(a) => Box::new(a.execute()?),
            Command::Explain(a) => Box::new(a.execute()?),
            Command::New(a) => Box::new(a.execute()?),
        })
    }
}
