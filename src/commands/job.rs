//! A [`Job`]: one of the splittable commands with its arguments, as data. A shard file records
//! the job it is part of (so that `merge` prepares the same work again and writes what the
//! command would have written), and `slurm` writes it back as the command line each task
//! runs ([`Job::argv`], derived from the arguments' clap declaration: no field is spelled out
//! twice).
//!
//! Adding a splittable command is its file (arguments, [`Splittable`] implementation, report)
//! and one line in [`splittable!`]'s list below.

use std::path::PathBuf;

use clap::{FromArgMatches, Subcommand};
use serde::{Deserialize, Serialize};

use super::common::{OutputOptions, Report, SimulationOptions};
use super::split::{self, Splittable};
use crate::diag::Error;
use crate::ensemble::Controls;
use crate::study::shard::Shard;

/// Something done with a job's arguments as their own type.
pub trait Visitor {
    /// What it gives.
    type Output;
    /// Does it with the arguments of command `C`.
    fn visit<C: Splittable + Into<Job>>(self, args: &C) -> Self::Output;
}

macro_rules! splittable {
    ($($(#[$doc:meta])* $variant:ident($args:ty),)*) => {
        /// A splittable command and what it was asked.
        #[derive(Subcommand, Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum Job {
            $($(#[$doc])* $variant($args),)*
        }

        impl Job {
            /// Does `visitor` with the job's arguments as their own type.
            pub fn visit<V: Visitor>(&self, visitor: V) -> V::Output {
                match self {
                    $(Job::$variant(args) => visitor.visit(args),)*
                }
            }

            /// The simulation's options and the output's.
            pub fn options(&self) -> (&SimulationOptions, &OutputOptions) {
                match self {
                    $(Job::$variant(args) => args.options(),)*
                }
            }

            /// The same, to change.
            fn options_mut(&mut self) -> (&mut SimulationOptions, &mut OutputOptions) {
                match self {
                    $(Job::$variant(args) => args.options_mut(),)*
                }
            }
        }

        $(impl From<$args> for Job {
            fn from(args: $args) -> Job {
                Job::$variant(args)
            }
        })*
    };
}

splittable! {
    /// Simulate a territory or network and write tables, a summary and plots.
    Run(super::run::RunArgs),
    /// Test hypotheses: estimate, 95% interval and verdict for each (exit 4 unless all are
    /// supported).
    Test(super::test::TestArgs),
    /// Compare scenarios on the same seed and runs: the first file is the base; every other
    /// file and variant is compared with it (paired differences).
    Compare(super::compare::CompareArgs),
    /// Evaluate a scenario at every point of a design (a grid of values, a Latin hypercube, a
    /// Sobol' sequence), every point on the same runs; a table and a plot per outcome.
    Sweep(super::sweep::SweepArgs),
    /// Global sensitivity analysis: which parameters matter most for which outcomes (Sobol'
    /// indices or Morris elementary effects), with SALib-compatible samples and evaluations.
    Sensitivity(super::sensitivity::SensitivityArgs),
    /// Which methods of the référentiel matter where: for every territory of the files and
    /// every method of the library, the paired effect of having it on each outcome.
    Transfer(super::transfer::TransferArgs),
    /// Scenario discovery: where a goal holds. The design's points are evaluated on the same
    /// runs, then PRIM (as EMA Workbench's) finds boxes of the parameters where it concentrates.
    Discover(super::discover::DiscoverArgs),
}

/// Reads the command's name and what its progress counts.
struct Name;

impl Visitor for Name {
    type Output = (&'static str, &'static str);
    fn visit<C: Splittable + Into<Job>>(self, _: &C) -> Self::Output {
        (C::NAME, C::UNIT)
    }
}

/// Does the job: on this machine, or its shard with `--shard`.
struct Execute<'c, 'a> {
    controls: &'c Controls<'a>,
}

impl Visitor for Execute<'_, '_> {
    type Output = Result<Box<dyn Report>, Error>;
    fn visit<C: Splittable + Into<Job>>(self, args: &C) -> Self::Output {
        match &args.options().1.shard {
            None => Ok(Box::new(split::here(args, self.controls)?)),
            Some(text) => {
                let shard = Shard::parse(text)?;
                let job: Job = args.clone().into();
                let recorded = job.recorded();
                let line = format!("trajectoire {}", recorded.command_line());
                let value = serde_json::to_value(&recorded).unwrap_or_default();
                Ok(Box::new(split::shard(
                    args,
                    shard,
                    line,
                    value,
                    self.controls,
                )?))
            }
        }
    }
}

impl Job {
    /// The command's name.
    pub fn name(&self) -> &'static str {
        self.visit(Name).0
    }

    /// What progress counts on one machine ("runs", "points"); pieces of points for a shard.
    pub fn unit(&self) -> &'static str {
        let unit = self.visit(Name).1;
        match (unit, self.shard()) {
            ("points", Some(_)) => "pieces",
            _ => unit,
        }
    }

    /// `--quiet`.
    pub fn quiet(&self) -> bool {
        self.options().0.quiet
    }

    /// `--shard`, if given.
    pub fn shard(&self) -> Option<&str> {
        self.options().1.shard.as_deref()
    }

    /// Does the job: on this machine, or its shard with `--shard I/N`.
    pub fn execute(&self, controls: &Controls<'_>) -> Result<Box<dyn Report>, Error> {
        self.visit(Execute { controls })
    }

    /// The job as a shard records it: only what decides its results and where it writes (no
    /// `--shard`, `--threads`, `--quiet` or `--allow-long`).
    pub fn recorded(&self) -> Job {
        let mut job = self.clone();
        let (sim, out) = job.options_mut();
        *sim = sim.results_only();
        out.shard = None;
        job
    }

    /// The same job writing into `out`, with `--shard`, `--threads`, `--quiet` and
    /// `--allow-long` left out (slurm gives each task its own).
    pub fn writing_into(&self, out: PathBuf) -> Job {
        let mut job = self.recorded();
        job.options_mut().1.out = Some(out);
        job
    }

    /// `--out`, if given.
    pub fn out(&self) -> Option<&std::path::Path> {
        self.options().1.out.as_deref()
    }

    /// Whether the job writes plots.
    pub fn plots(&self) -> bool {
        !self.options().1.no_plots
    }

    /// The job with merge's options: its output folder, plots and threads.
    pub fn merged_into(&self, out: Option<PathBuf>, plots: bool, threads: Option<usize>) -> Job {
        let mut job = self.clone();
        let (sim, output) = job.options_mut();
        if out.is_some() {
            output.out = out;
        }
        output.no_plots |= !plots;
        sim.threads = threads;
        sim.allow_long = true;
        job
    }

    /// Reads a job from the words after the program's name, as the program reads them.
    pub fn parse<I, T>(words: I) -> Result<Job, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let command = Job::augment_subcommands(clap::Command::new("trajectoire"));
        let argv = std::iter::once(std::ffi::OsString::from("trajectoire"))
            .chain(words.into_iter().map(Into::into));
        let matches = command.try_get_matches_from(argv)?;
        Job::from_arg_matches(&matches)
    }

    /// The command line's words after the program's name, which the program reads back as
    /// this job: every argument given, in the order the command declares them, defaults left
    /// out.
    pub fn argv(&self) -> Vec<String> {
        let value = serde_json::to_value(self).unwrap_or_default();
        let Some((name, fields)) = value.as_object().and_then(|o| o.iter().next()) else {
            return Vec::new();
        };
        let mut given = serde_json::Map::new();
        flatten(fields, &mut given);
        let command = Job::augment_subcommands(clap::Command::new("trajectoire"));
        let Some(sub) = command.find_subcommand(name) else {
            return Vec::new();
        };
        let mut words = vec![name.clone()];
        for arg in sub.get_arguments() {
            let id = arg.get_id().as_str();
            let Some(value) = given.get(id) else {
                continue;
            };
            let values: Vec<String> = match value {
                serde_json::Value::Array(items) => items.iter().map(word).collect(),
                serde_json::Value::Null | serde_json::Value::Bool(false) => continue,
                serde_json::Value::Bool(true) => {
                    if let Some(long) = arg.get_long() {
                        words.push(format!("--{long}"));
                    }
                    continue;
                }
                other => vec![word(other)],
            };
            let defaults: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|d| d.to_string_lossy().into_owned())
                .collect();
            if !defaults.is_empty() && defaults == values {
                continue;
            }
            match arg.get_long() {
                None => words.extend(values.iter().map(|v| positional(v))),
                Some(long) => {
                    for v in values {
                        // `--name=value` when the value begins with `-`, so that it is not read
                        // as an option.
                        if v.starts_with('-') {
                            words.push(format!("--{long}={v}"));
                        } else {
                            words.push(format!("--{long}"));
                            words.push(v);
                        }
                    }
                }
            }
        }
        words
    }

    /// [`Job::argv`] as one line a shell reads back.
    pub fn command_line(&self) -> String {
        shell_line(&self.argv())
    }
}

/// The fields of nested objects (flattened argument groups) into one map.
fn flatten(value: &serde_json::Value, into: &mut serde_json::Map<String, serde_json::Value>) {
    if let Some(fields) = value.as_object() {
        for (k, v) in fields {
            if v.is_object() {
                flatten(v, into);
            } else {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// A value as a word.
fn word(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A positional word: a file named like an option is given after `./`.
fn positional(value: &str) -> String {
    if value.starts_with('-') {
        format!("./{value}")
    } else {
        value.to_string()
    }
}

/// A word as a POSIX shell reads it back: bare when it is made of safe characters, else in
/// single quotes.
pub fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_./=:@,+-%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Words as one shell line.
pub fn shell_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| shell_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(shell_word("scenarios/a.toml"), "scenarios/a.toml");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
        assert_eq!(shell_word(""), "''");
        let job = Job::parse([
            "run",
            "x.toml",
            "--runs",
            "10",
            "--set=shock.élection.month=-1",
            "--set",
            "a b=1",
            "--no-plots",
        ])
        .unwrap();
        assert_eq!(
            job.command_line(),
            "run x.toml --runs 10 --set 'shock.élection.month=-1' --set 'a b=1' --no-plots"
        );
    }

    /// Every splittable command, with every kind of argument given: its job's words read back
    /// as the same job (slurm's tasks and a merge rely on it), and the same words again.
    #[test]
    fn every_job_reads_back_from_its_words() {
        let lines: [&[&str]; 9] = [
            &["run", "a.toml"],
            &[
                "run",
                "./-x.toml",
                "--runs",
                "10",
                "--seed",
                "3",
                "--substeps",
                "2",
                "--threads",
                "2",
                "--deterministic",
                "--quiet",
                "--allow-long",
                "--set",
                "a=1",
                "--set=b=-2",
                "--out",
                "o u t",
                "--no-plots",
                "--shard",
                "1/2",
            ],
            &[
                "test",
                "a.toml",
                "--expect",
                "perpetuation@end >= 0.5",
                "--out",
                "d",
            ],
            &[
                "compare",
                "a.toml",
                "b.toml",
                "--variant",
                "v: x=1, y=2",
                "--outcome",
                "spend",
                "--outcome",
                "scale@12",
            ],
            &[
                "sweep",
                "a.toml",
                "--vary",
                "x=0..1:3",
                "--vary",
                "y=-1,2",
                "--design",
                "lhs:4",
                "--outcome",
                "scale@0..12:6",
                "--expect",
                "scale@12 > 0.1",
            ],
            &["sensitivity", "a.toml", "--vary", "x=0..1"],
            &[
                "sensitivity",
                "a.toml",
                "--vary",
                "x=0..1",
                "--method",
                "morris:4",
                "--levels",
                "6",
                "--no-second-order",
                "--bootstrap",
                "10",
                "--outcome",
                "spend",
            ],
            &[
                "sensitivity",
                "a.toml",
                "--vary",
                "x=0..1",
                "--method",
                "sobol",
                "--levels",
                "4",
            ],
            &["compare", "a.toml", "--variant", "n: lever.x.from=-3"],
        ];
        for words in lines {
            let job = Job::parse(words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
            let again = job.argv();
            let back = Job::parse(&again).unwrap_or_else(|e| panic!("{again:?}: {e}"));
            assert_eq!(back, job, "{words:?} → {again:?}");
            assert_eq!(back.argv(), again);
            // Through JSON (a shard's header) as well.
            let json = serde_json::to_value(&job).unwrap();
            assert_eq!(serde_json::from_value::<Job>(json).unwrap(), job);
        }
        // Defaults are left out of the words; what only says how to run is left out of the
        // record.
        let job = Job::parse([
            "sensitivity",
            "a.toml",
            "--vary",
            "x=0..1",
            "--method",
            "sobol",
        ])
        .unwrap();
        assert_eq!(job.argv(), ["sensitivity", "a.toml", "--vary", "x=0..1"]);
        let job = Job::parse([
            "run",
            "a.toml",
            "--threads",
            "3",
            "--quiet",
            "--shard",
            "2/5",
            "--out",
            "d",
        ])
        .unwrap();
        assert_eq!(job.recorded().argv(), ["run", "a.toml", "--out", "d"]);
        assert_eq!(job.unit(), "runs");
        assert_eq!(
            Job::parse(["sweep", "a", "--shard", "1/2"]).unwrap().unit(),
            "pieces"
        );
    }
}
