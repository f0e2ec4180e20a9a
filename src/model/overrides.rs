//! The command line's settings over a scenario: `--runs`, `--seed`, `--substeps`,
//! `--deterministic` and the `--set PATH=VALUE` overrides, applied when a model is loaded.

use std::path::Path;

use super::{bounds, Model};
use crate::diag::{Diagnostic, Error};
use crate::scenario::{self, Loaded};

/// Command-line settings that override the scenario's `[simulation]` table and its values.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// `--runs`.
    pub runs: Option<u64>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--substeps`.
    pub substeps: Option<u32>,
    /// `--deterministic`.
    pub deterministic: bool,
    /// `--set PATH=VALUE`, in order.
    pub sets: Vec<String>,
}

impl Overrides {
    /// Loads a scenario file, applies the `--set` overrides to it, validates it (file and
    /// overrides together) and applies the command-line settings.
    pub fn load(&self, path: &Path) -> Result<Model, Error> {
        self.model(&scenario::load(path)?)
    }

    /// The model of an already loaded scenario with these overrides: the `--set` overrides
    /// applied to a copy of it, then validated, then the settings applied. Loading once and
    /// calling this for many overrides gives what [`Overrides::load`] would for each.
    pub fn model(&self, loaded: &Loaded) -> Result<Model, Error> {
        let mut model = if self.sets.is_empty() {
            Model::from_scenario(loaded)?
        } else {
            let mut edited = loaded.clone();
            crate::model::set::apply(&mut edited, &self.sets);
            Model::from_scenario(&edited)?
        };
        model.overrides = self.sets.clone();
        self.apply(&mut model)?;
        Ok(model)
    }

    /// [`Overrides::model`] with further overrides `varied` applied after the `--set` ones,
    /// shown in messages as `argument` (e.g. `--vary`: a point of a sweep). The model records
    /// both.
    pub fn model_varied(
        &self,
        loaded: &Loaded,
        varied: &[String],
        argument: &str,
    ) -> Result<Model, Error> {
        let mut edited = loaded.clone();
        crate::model::set::apply(&mut edited, &self.sets);
        crate::model::set::apply_as(&mut edited, varied, argument);
        let mut model = Model::from_scenario(&edited)?;
        model.overrides = self.sets.iter().chain(varied).cloned().collect();
        self.apply(&mut model)?;
        Ok(model)
    }

    /// Checks the settings against the model's bounds (docs/model.md), before anything is loaded.
    pub fn check(&self) -> Result<(), Error> {
        let mut diags = Vec::new();
        if let Some(runs) = self.runs {
            if !(bounds::RUNS.0..=bounds::RUNS.1).contains(&runs) {
                diags.push(
                    Diagnostic::argument(
                        "--runs",
                        format!("{runs} runs is outside 1 ..= 10000000"),
                    )
                    .with_help("give a number of runs from 1 to 10,000,000"),
                );
            }
        }
        if let Some(substeps) = self.substeps {
            if !(1..=1000).contains(&substeps) {
                diags.push(
                    Diagnostic::argument(
                        "--substeps",
                        format!("{substeps} substeps is outside 1 ..= 1000"),
                    )
                    .with_help("give a number of Euler substeps a month from 1 to 1000"),
                );
            }
        }
        if diags.is_empty() {
            Ok(())
        } else {
            Err(Error::arguments(diags))
        }
    }

    /// Applies the settings to a model, checking the model's bounds (docs/model.md).
    pub fn apply(&self, model: &mut Model) -> Result<(), Error> {
        self.check()?;
        if let Some(runs) = self.runs {
            model.settings.runs = runs;
        }
        if let Some(seed) = self.seed {
            model.settings.seed = seed;
        }
        if let Some(substeps) = self.substeps {
            model.settings.substeps = substeps;
        }
        model.settings.deterministic |= self.deterministic;
        Ok(())
    }
}
