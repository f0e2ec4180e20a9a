//! `trajectoire check` and `trajectoire explain`: a scenario validated, or told in words.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::common::{Report, Words};
use crate::diag::Error;
use crate::model::{check_library, Model};
use crate::output::explain::explain as explain_model;
use crate::scenario::{self, Scenario};
use crate::study::hypotheses;

/// Check a scenario and list every problem with its line and column.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckArgs {
    /// Territory or network file (.toml).
    pub file: PathBuf,
    /// Also check an observed history (CSV: index,month,value,sd) against the scenario.
    #[arg(long, value_name = "OBS.csv")]
    pub observed: Option<PathBuf>,
}

/// Describe a scenario in plain words, with its numbers and equations.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExplainArgs {
    /// Territory or network file (.toml).
    pub file: PathBuf,
}

/// What `check` found: the file valid, and its observed history.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The file.
    pub scenario: CheckReport,
    /// The observed history, with `--observed`.
    pub observed: Option<ObservedReport>,
}

impl Report for Checked {
    fn text(&self) -> String {
        let mut s = format!("{}\n", self.scenario.sentence());
        if let Some(o) = &self.observed {
            s.push_str(&format!("{}\n", o.sentence()));
        }
        s
    }
}

impl CheckArgs {
    /// Checks the file (and the observed history, with `--observed`).
    pub fn execute(&self) -> Result<Checked, Error> {
        let scenario = check(&self.file)?;
        let observed = match &self.observed {
            Some(o) => Some(check_observed(&self.file, o)?),
            None => None,
        };
        Ok(Checked { scenario, observed })
    }
}

impl ExplainArgs {
    /// The scenario in words.
    pub fn execute(&self) -> Result<Words, Error> {
        explain(&self.file).map(Words)
    }
}

/// What `check` found valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckReport {
    /// A lever library with this many levers.
    Library {
        /// The file.
        path: PathBuf,
        /// Its levers.
        levers: usize,
    },
    /// A territory or network.
    Scenario {
        /// The file.
        path: PathBuf,
        /// Territories.
        territories: usize,
        /// Actor groups of every territory.
        groups: usize,
        /// Months simulated.
        horizon: u32,
    },
}

impl CheckReport {
    /// The report in a sentence.
    pub fn sentence(&self) -> String {
        match self {
            CheckReport::Library { path, levers } => format!(
                "{}: valid lever library — {levers} levers to `use` from territory files.",
                path.display()
            ),
            CheckReport::Scenario {
                path,
                territories,
                groups,
                horizon,
            } => format!(
                "{}: valid — {territories} territor{}, {groups} actor groups, {horizon} months.",
                path.display(),
                if *territories == 1 { "y" } else { "ies" },
            ),
        }
    }
}

/// Validates a scenario or lever library, hypotheses included; every problem is reported.
pub fn check(path: &Path) -> Result<CheckReport, Error> {
    let loaded = scenario::load(path)?;
    if let Scenario::Library(_) = loaded.scenario {
        let levers = check_library(&loaded)?;
        return Ok(CheckReport::Library {
            path: path.to_path_buf(),
            levers,
        });
    }
    let model = Model::from_scenario(&loaded)?;
    hypotheses(&loaded, &model)?;
    crate::study::workshop::sliders(&loaded, &model)?;
    Ok(CheckReport::Scenario {
        path: path.to_path_buf(),
        territories: model.territories.len(),
        groups: model.group_count(),
        horizon: model.horizon(),
    })
}

/// An observed history checked against a scenario (see [`crate::study::observed`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedReport {
    /// The observed-data file.
    pub path: PathBuf,
    /// Observations.
    pub observations: usize,
    /// Distinct indices observed (per territory).
    pub indices: usize,
    /// First and last month observed.
    pub months: (u32, u32),
    /// Observations without a standard error.
    pub without_sd: usize,
}

impl ObservedReport {
    /// The report in a sentence.
    pub fn sentence(&self) -> String {
        let mut s = format!(
            "{}: valid — {} observations of {} ind{}, months {} to {}",
            self.path.display(),
            self.observations,
            self.indices,
            if self.indices == 1 { "ex" } else { "ices" },
            self.months.0,
            self.months.1
        );
        if self.without_sd > 0 {
            s.push_str(&format!("; {} without a standard error", self.without_sd));
        }
        s.push('.');
        s
    }
}

/// Checks the scenario, then the observed history `observed` against it: every problem at
/// its line and column.
pub fn check_observed(path: &Path, observed: &Path) -> Result<ObservedReport, Error> {
    check(path)?;
    let model = Model::load(path)?;
    let obs = crate::study::observed::read(observed, &model)?;
    let mut seen: Vec<(usize, &str)> = obs.iter().map(|o| (o.territory, o.name.as_str())).collect();
    seen.sort_unstable();
    seen.dedup();
    Ok(ObservedReport {
        path: observed.to_path_buf(),
        observations: obs.len(),
        indices: seen.len(),
        months: (
            obs.iter().map(|o| o.month).min().unwrap_or(0),
            obs.iter().map(|o| o.month).max().unwrap_or(0),
        ),
        without_sd: obs.iter().filter(|o| o.sd.is_none()).count(),
    })
}

/// A scenario in plain words: groups and who influences whom, phases, levers, shocks,
/// equations.
pub fn explain(path: &Path) -> Result<String, Error> {
    Ok(explain_model(&Model::load(path)?))
}
