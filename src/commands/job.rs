//! A [`Job`]: one of the simulating commands with its arguments, as data. A shard file records
//! the job it is part of (so that `merge` prepares the same work again and writes what the
//! command would have written), and `slurm` writes it back as the command line each task runs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::sensitivity::SensitivityArgs;
use super::sweep::SweepArgs;
use crate::model::Overrides;

/// A simulating command and what it was asked, everything that decides its outputs (not
/// `--threads`, `--quiet` or `--allow-long`, which never change them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Job {
    /// `trajectoire run`.
    Run {
        /// The scenario file.
        file: PathBuf,
        /// `--out`.
        out: Option<PathBuf>,
        /// Not `--no-plots`.
        plots: bool,
        /// `--runs`, `--seed`, `--substeps`, `--deterministic`, `--set`.
        overrides: Overrides,
    },
    /// `trajectoire test`.
    Test {
        /// The scenario file.
        file: PathBuf,
        /// `--expect`.
        expects: Vec<String>,
        /// `--out`: where its shard files go (`test` itself writes no file).
        out: Option<PathBuf>,
        /// The settings and `--set`.
        overrides: Overrides,
    },
    /// `trajectoire compare`.
    Compare {
        /// The base, then the other files.
        files: Vec<PathBuf>,
        /// `--variant`.
        variants: Vec<String>,
        /// `--outcome`.
        outcomes: Vec<String>,
        /// `--out`.
        out: Option<PathBuf>,
        /// Not `--no-plots`.
        plots: bool,
        /// The settings and `--set`.
        overrides: Overrides,
    },
    /// `trajectoire sweep`.
    Sweep {
        /// The scenario file.
        file: PathBuf,
        /// `--vary`, `--design`, `--outcome`, `--expect`.
        args: SweepArgs,
        /// `--out`.
        out: Option<PathBuf>,
        /// Not `--no-plots`.
        plots: bool,
        /// The settings and `--set`.
        overrides: Overrides,
    },
    /// `trajectoire sensitivity`.
    Sensitivity {
        /// The scenario file.
        file: PathBuf,
        /// `--vary`, `--method`, `--levels`, `--no-second-order`, `--bootstrap`, `--outcome`.
        args: SensitivityArgs,
        /// `--out`.
        out: Option<PathBuf>,
        /// Not `--no-plots`.
        plots: bool,
        /// The settings and `--set`.
        overrides: Overrides,
    },
}

impl Job {
    /// The command's name.
    pub fn name(&self) -> &'static str {
        match self {
            Job::Run { .. } => "run",
            Job::Test { .. } => "test",
            Job::Compare { .. } => "compare",
            Job::Sweep { .. } => "sweep",
            Job::Sensitivity { .. } => "sensitivity",
        }
    }

    /// The settings and `--set` overrides.
    pub fn overrides(&self) -> &Overrides {
        match self {
            Job::Run { overrides, .. }
            | Job::Test { overrides, .. }
            | Job::Compare { overrides, .. }
            | Job::Sweep { overrides, .. }
            | Job::Sensitivity { overrides, .. } => overrides,
        }
    }

    /// `--out`, if given.
    pub fn out(&self) -> Option<&Path> {
        match self {
            Job::Run { out, .. }
            | Job::Test { out, .. }
            | Job::Compare { out, .. }
            | Job::Sweep { out, .. }
            | Job::Sensitivity { out, .. } => out.as_deref(),
        }
    }

    /// The same job writing into `out`.
    pub fn with_out(&self, folder: &Path) -> Job {
        let mut job = self.clone();
        match &mut job {
            Job::Run { out, .. }
            | Job::Test { out, .. }
            | Job::Compare { out, .. }
            | Job::Sweep { out, .. }
            | Job::Sensitivity { out, .. } => *out = Some(folder.to_path_buf()),
        }
        job
    }

    /// Whether the job writes plots.
    pub fn plots(&self) -> bool {
        match self {
            Job::Run { plots, .. }
            | Job::Compare { plots, .. }
            | Job::Sweep { plots, .. }
            | Job::Sensitivity { plots, .. } => *plots,
            Job::Test { .. } => false,
        }
    }

    /// The command line's words after the program's name, which `trajectoire` reads back as
    /// this job.
    pub fn argv(&self) -> Vec<String> {
        let mut w = Words(vec![self.name().to_string()]);
        match self {
            Job::Run { file, .. } | Job::Test { file, .. } => w.path(file),
            Job::Compare {
                files,
                variants,
                outcomes,
                ..
            } => {
                files.iter().for_each(|f| w.path(f));
                w.each("--variant", variants);
                w.each("--outcome", outcomes);
            }
            Job::Sweep { file, args, .. } => {
                w.path(file);
                w.each("--vary", &args.varies);
                if let Some(d) = &args.design {
                    w.option("--design", d);
                }
                w.each("--outcome", &args.outcomes);
                w.each("--expect", &args.expects);
            }
            Job::Sensitivity { file, args, .. } => {
                w.path(file);
                w.each("--vary", &args.varies);
                let defaults = SensitivityArgs::default();
                if args.method != defaults.method {
                    w.option("--method", &args.method);
                }
                if args.levels != defaults.levels {
                    w.option("--levels", &args.levels.to_string());
                }
                if !args.second_order {
                    w.flag("--no-second-order");
                }
                if args.bootstrap != defaults.bootstrap {
                    w.option("--bootstrap", &args.bootstrap.to_string());
                }
                w.each("--outcome", &args.outcomes);
            }
        }
        if let Job::Test { expects, .. } = self {
            w.each("--expect", expects);
        }
        let o = self.overrides();
        if let Some(runs) = o.runs {
            w.option("--runs", &runs.to_string());
        }
        if let Some(seed) = o.seed {
            w.option("--seed", &seed.to_string());
        }
        if let Some(substeps) = o.substeps {
            w.option("--substeps", &substeps.to_string());
        }
        if o.deterministic {
            w.flag("--deterministic");
        }
        w.each("--set", &o.sets);
        if let Some(out) = self.out() {
            w.option("--out", &out.to_string_lossy());
        }
        if !self.plots() && !matches!(self, Job::Test { .. }) {
            w.flag("--no-plots");
        }
        w.0
    }

    /// [`Job::argv`] as one line a shell reads back.
    pub fn command_line(&self) -> String {
        shell_line(&self.argv())
    }
}

struct Words(Vec<String>);

impl Words {
    fn flag(&mut self, name: &str) {
        self.0.push(name.into());
    }

    /// An option and its value (`--name=value` when the value begins with `-`, so that it is
    /// not read as an option).
    fn option(&mut self, name: &str, value: &str) {
        if value.starts_with('-') {
            self.0.push(format!("{name}={value}"));
        } else {
            self.0.push(name.into());
            self.0.push(value.into());
        }
    }

    fn each(&mut self, name: &str, values: &[String]) {
        values.iter().for_each(|v| self.option(name, v));
    }

    fn path(&mut self, path: &Path) {
        let p = path.to_string_lossy().into_owned();
        // A file named like an option is given after `./`.
        self.0.push(if p.starts_with('-') {
            format!("./{p}")
        } else {
            p
        });
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
        let job = Job::Run {
            file: "x.toml".into(),
            out: None,
            plots: false,
            overrides: Overrides {
                runs: Some(10),
                sets: vec!["shock.élection.month=-1".into(), "a b=1".into()],
                ..Overrides::default()
            },
        };
        assert_eq!(
            job.command_line(),
            "run x.toml --runs 10 --set 'shock.élection.month=-1' --set 'a b=1' --no-plots"
        );
    }
}
