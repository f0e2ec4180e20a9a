//! The workshop: a scenario whose values people move with sliders, always against the scenario
//! as written. A [`Workshop`] keeps the loaded files in memory (nothing is read again) and
//! turns a set of choices (`--set` paths and numbers) into a paired comparison of "as written"
//! and "your choices" on the same runs, with the full results of both, their paired
//! differences month by month, and the hypotheses' verdicts for both.
//!
//! Sliders are the file's own (`[[slider]]` tables: `path`, `min`, `max`, `step`, `label`,
//! `unit`), or by default each lever's intensity, the budget and each due shock's probability.

use serde::Serialize;

use super::compare::{Comparison, Work};
use super::hypothesis::outcomes_with;
use super::hypothesis::Tested;
use super::Study;
use crate::diag::{Diagnostic, Error};
use crate::ensemble::{Controls, Workspace};
use crate::model::set::value_at;
use crate::model::{bounds, Model, Overrides, ShockTiming};
use crate::scenario::{self, Loaded, Scenario, SliderDoc};

/// A value people can move.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slider {
    /// The `--set` path it sets.
    pub path: String,
    /// What people read.
    pub label: String,
    /// Lowest value.
    pub min: f64,
    /// Highest value.
    pub max: f64,
    /// Step.
    pub step: f64,
    /// Unit shown next to the value, as the file's `[[slider]]` table writes it (`None`: the
    /// path's own, see `output::units`).
    pub unit: Option<String>,
    /// The value as written in the file.
    pub value: f64,
    /// Whether the path takes whole numbers.
    pub integer: bool,
    /// For a lever's intensity: what the lever costs a month at intensity 1 (it spends
    /// cost × intensity while active).
    pub cost: Option<f64>,
}

/// A rounded step for a slider over `span`: about a hundredth of it, at 1, 2 or 5 times a
/// power of ten.
fn step_for(span: f64, integer: bool) -> f64 {
    let raw = span / 100.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|k| k * power)
        .find(|s| *s >= raw)
        .unwrap_or(raw);
    if integer {
        step.round().max(1.0)
    } else {
        step
    }
}

/// The default sliders: each lever's intensity, each budget, each due shock's probability.
fn default_sliders(model: &Model) -> Vec<Slider> {
    let mut out = Vec::new();
    for t in &model.territories {
        let (prefix, town) = if model.is_network {
            (format!("{}.", t.id), format!("{}: ", t.name))
        } else {
            (String::new(), String::new())
        };
        for l in &t.levers {
            let max = (2.0 * l.intensity).max(2.0);
            out.push(Slider {
                path: format!("{prefix}lever.{}.intensity", l.id),
                label: format!("{town}{}", l.label),
                min: 0.0,
                max,
                step: step_for(max, false),
                unit: None,
                value: l.intensity,
                integer: false,
                cost: None,
            });
        }
        if let Some(b) = t.budget {
            let max = (2.0 * b).max(1000.0);
            out.push(Slider {
                path: format!("{prefix}territory.budget"),
                label: format!("{town}budget for the levers"),
                min: 0.0,
                max,
                step: step_for(max, true),
                unit: None,
                value: b,
                integer: false,
                cost: None,
            });
        }
        for s in &t.shocks {
            if matches!(s.timing, ShockTiming::Random { .. }) {
                continue;
            }
            out.push(Slider {
                path: format!("{prefix}shock.{}.probability", s.id),
                label: format!("{town}{}: chance it hits", s.label),
                min: 0.0,
                max: 1.0,
                step: 0.05,
                unit: None,
                value: s.probability,
                integer: false,
                cost: None,
            });
        }
    }
    out
}

/// The `[[slider]]` tables of a loaded scenario (a network's own, then each territory's, paths
/// of a territory's prefixed with its id in a network).
fn slider_docs(loaded: &Loaded) -> Vec<(Option<String>, &SliderDoc)> {
    match &loaded.scenario {
        Scenario::Territory(t) => t.sliders.iter().map(|s| (None, s)).collect(),
        Scenario::Network(n) => n
            .sliders
            .iter()
            .map(|s| (None, s))
            .chain(n.territories.iter().flat_map(|t| {
                let id = t.header.id.as_ref().map(|i| i.value.clone());
                t.sliders.iter().map(move |s| (id.clone(), s))
            }))
            .collect(),
        Scenario::Library(_) => Vec::new(),
    }
}

/// The sliders of a scenario: its `[[slider]]` tables, checked (a path the `--set` language
/// takes, min < max, a step that fits, the file's value within), or the default ones.
pub fn sliders(loaded: &Loaded, model: &Model) -> Result<Vec<Slider>, Error> {
    let mut list = written_sliders(loaded, model)?;
    for s in &mut list {
        s.cost = s
            .path
            .strip_suffix(".intensity")
            .filter(|p| p.contains("lever."))
            .and_then(|lever| value_at(model, &format!("{lever}.cost")));
    }
    Ok(list)
}

/// The sliders as the file writes them (the default ones when it writes none).
fn written_sliders(loaded: &Loaded, model: &Model) -> Result<Vec<Slider>, Error> {
    let docs = slider_docs(loaded);
    if docs.is_empty() {
        return Ok(default_sliders(model));
    }
    let mut out = Vec::new();
    let mut diagnostics = Vec::new();
    for (prefix, doc) in docs {
        let mut problem = |span, message: String, help: &str| {
            diagnostics.push(Diagnostic::at(span, message).with_help(help.to_string()));
        };
        let Some(path) = &doc.path else {
            problem(
                doc.span,
                "this [[slider]] has no `path`".into(),
                "add the --set path it moves, e.g. `path = \"lever.citergie.intensity\"`",
            );
            continue;
        };
        let full = match &prefix {
            Some(id) if model.is_network && !path.value.starts_with(&format!("{id}.")) => {
                format!("{id}.{}", path.value)
            }
            _ => path.value.clone(),
        };
        let integer = match crate::model::set::whole_numbers(loaded, &full, "--set") {
            Ok(i) => i,
            Err(Error::Invalid { diagnostics: d, .. }) => {
                let why = d.first().map_or(String::new(), |d| d.message.clone());
                let help = d.first().and_then(|d| d.help.clone()).unwrap_or_else(|| {
                    "use a path as --set takes it, e.g. lever.ID.intensity or territory.budget"
                        .into()
                });
                problem(
                    path.span,
                    format!("`{}` is not a value a slider can move: {why}", path.value),
                    &help,
                );
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(value) = value_at(model, &full) else {
            problem(
                path.span,
                format!(
                    "`{}` has no number in this scenario to start from",
                    path.value
                ),
                "write the value in the file first, or choose another path",
            );
            continue;
        };
        let (Some(min), Some(max)) = (&doc.min, &doc.max) else {
            problem(
                doc.span,
                "this [[slider]] needs `min` and `max`".into(),
                "e.g. `min = 0` and `max = 2`",
            );
            continue;
        };
        if min.value >= max.value {
            problem(
                max.span,
                format!("`max` ({}) is not above `min` ({})", max.value, min.value),
                "make max larger than min",
            );
            continue;
        }
        if value < min.value || value > max.value {
            problem(
                min.span,
                format!(
                    "the file's value of `{}` ({value}) is outside {} ..= {}",
                    path.value, min.value, max.value
                ),
                "widen the slider's range so that it holds the value as written",
            );
            continue;
        }
        let step = match &doc.step {
            Some(s) if s.value > 0.0 && s.value <= max.value - min.value => s.value,
            Some(s) => {
                problem(
                    s.span,
                    format!("`step` ({}) must be above 0 and at most max − min", s.value),
                    "e.g. a hundredth of the range",
                );
                continue;
            }
            None => step_for(max.value - min.value, integer),
        };
        out.push(Slider {
            label: doc
                .label
                .as_ref()
                .map_or_else(|| path.value.clone(), |l| l.value.clone()),
            unit: doc.unit.as_ref().map(|u| u.value.clone()),
            path: full,
            min: min.value,
            max: max.value,
            step,
            value,
            integer,
            cost: None,
        });
    }
    if diagnostics.is_empty() {
        Ok(out)
    } else {
        Err(scenario::invalid(diagnostics, loaded.sources.clone()))
    }
}

/// A scenario open for a workshop.
#[derive(Debug, Clone)]
pub struct Workshop {
    loaded: Loaded,
    /// The scenario as written, with its hypotheses.
    pub study: Study,
    /// What people can move.
    pub sliders: Vec<Slider>,
    /// Runs when a request does not say.
    pub runs: u64,
    /// Most runs a request may ask for.
    pub max_runs: u64,
    /// The outcomes compared: the main ones and the hypotheses'.
    pub outcomes: Vec<String>,
}

/// What a set of choices gives, against the scenario as written.
#[derive(Debug, Clone)]
pub struct Reading {
    /// "as written" and "your choices", paired, with full results and differences over time.
    pub comparison: Comparison,
    /// The scenario with the choices.
    pub model: Model,
    /// Each hypothesis tested as written and with the choices.
    pub hypotheses: Vec<(Tested, Tested)>,
    /// The choices, as `--set` overrides.
    pub sets: Vec<String>,
}

/// The names of the two scenarios of a reading.
pub const NAMES: [&str; 2] = ["as written", "your choices"];

impl Workshop {
    /// Opens a scenario file: loaded, validated, its hypotheses and sliders checked. `runs`
    /// (default: the file's) and `max_runs` bound what requests ask.
    pub fn open(
        path: &std::path::Path,
        runs: Option<u64>,
        max_runs: u64,
    ) -> Result<Workshop, Error> {
        let loaded = scenario::load(path)?;
        let overrides = Overrides {
            runs,
            ..Overrides::default()
        };
        let study = Study::of(&loaded, &overrides)?;
        let sliders = sliders(&loaded, &study.model)?;
        let outcomes = outcomes_with(&study.model, &study.hypotheses);
        let runs = study.model.settings.runs;
        if !(bounds::RUNS.0..=bounds::RUNS.1).contains(&max_runs) || runs > max_runs {
            return Err(Error::Usage(format!(
                "--max-runs {max_runs}: give from 1 to 10000000, at least the runs of a request ({runs})"
            )));
        }
        Ok(Workshop {
            loaded,
            study,
            sliders,
            runs,
            max_runs,
            outcomes,
        })
    }

    /// The scenario's files as loaded (path and text), the first the one given.
    pub fn files(&self) -> Vec<(std::path::PathBuf, String)> {
        (0..self.loaded.sources.len())
            .map(|i| {
                let f = self.loaded.sources.get(i);
                (f.path.clone(), f.text.clone())
            })
            .filter(|(p, _)| p.as_os_str() != "--set")
            .collect()
    }

    /// The scenario as loaded.
    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }

    /// The choices as `--set` overrides, checked against the scenario (every problem with its
    /// message and "did you mean", as `--set` gives them), and `runs` against the bounds.
    pub fn prepare(&self, choices: &[(String, f64)], runs: Option<u64>) -> Result<Work, Error> {
        self.prepare_named(
            &[
                (NAMES[0].to_string(), Vec::new()),
                (NAMES[1].to_string(), choices.to_vec()),
            ],
            runs,
        )
    }

    /// Several named sets of choices (the first the base of the paired differences, e.g. the
    /// file as written with no choices), checked as [`Workshop::prepare`] does.
    pub fn prepare_named(
        &self,
        named: &[(String, Vec<(String, f64)>)],
        runs: Option<u64>,
    ) -> Result<Work, Error> {
        let runs = runs.unwrap_or(self.runs);
        if runs == 0 || runs > self.max_runs {
            return Err(Error::Usage(format!(
                "{runs} runs: this page allows from 1 to {} runs",
                self.max_runs
            )));
        }
        let base = Overrides {
            runs: Some(runs),
            ..Overrides::default()
        };
        let mut models = Vec::with_capacity(named.len());
        for (_, choices) in named {
            let sets: Vec<String> = choices
                .iter()
                .map(|(path, x)| {
                    let integer = self
                        .sliders
                        .iter()
                        .find(|s| &s.path == path)
                        .is_some_and(|s| s.integer);
                    format!("{path}={}", super::design::value_text(*x, integer))
                })
                .collect();
            models.push(
                Overrides {
                    sets,
                    ..base.clone()
                }
                .model(&self.loaded)?,
            );
        }
        Work::of(
            named.iter().map(|(n, _)| n.clone()).collect(),
            models,
            &self.outcomes,
        )
    }

    /// Runs the choices against the scenario as written; `Ok(None)` if cancelled.
    pub fn read(
        &self,
        choices: &[(String, f64)],
        runs: Option<u64>,
        workspace: &Workspace,
        controls: &Controls<'_>,
    ) -> Result<Option<Reading>, Error> {
        let prepared = self.prepare(choices, runs)?;
        let Some(comparison) = prepared.run(true, workspace, controls) else {
            return Ok(None);
        };
        let hypotheses = comparison
            .tested(&self.study.hypotheses, 0)
            .into_iter()
            .zip(comparison.tested(&self.study.hypotheses, 1))
            .collect();
        let model = prepared.models[1].clone();
        Ok(Some(Reading {
            sets: model.overrides.clone(),
            comparison,
            model,
            hypotheses,
        }))
    }
}

/// An error of a request as the page shows it.
pub fn problems(e: &Error) -> Vec<(String, Option<String>)> {
    match e {
        Error::Invalid { diagnostics, .. } => diagnostics
            .iter()
            .filter(|d| d.location != crate::diag::Location::Note)
            .map(|d| (d.message.clone(), d.help.clone()))
            .collect(),
        Error::Usage(message) => vec![(message.clone(), None)],
        other => vec![(
            other
                .render(false)
                .trim()
                .trim_start_matches("error: ")
                .to_string(),
            None,
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(file: &str) -> (Loaded, Model) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(file);
        let loaded = scenario::load(&path).unwrap();
        let model = Model::from_scenario(&loaded).unwrap();
        (loaded, model)
    }

    /// Values at paths are the model's, defaults and library levers included.
    #[test]
    fn values_at_paths_are_the_models() {
        let (_, m) = model("grande-synthe.toml");
        assert_eq!(value_at(&m, "territory.budget"), Some(10000.0));
        assert_eq!(value_at(&m, "lever.cooperation.intensity"), Some(0.25));
        assert_eq!(value_at(&m, "lever.narrative.intensity"), Some(1.0));
        assert_eq!(
            value_at(&m, "shock.municipal-election.probability"),
            Some(0.45)
        );
        assert_eq!(
            value_at(&m, "shock.municipal-election.hits.elected"),
            Some(0.45)
        );
        assert_eq!(value_at(&m, "actor.elected.engagement"), Some(0.5));
        assert_eq!(value_at(&m, "lever.nothing.intensity"), None);
        let (_, n) = model("villes-pairs.toml");
        assert_eq!(
            value_at(&n, "link.malaunay.loos-en-gohelle.exchange"),
            Some(0.004)
        );
        assert_eq!(
            value_at(&n, "grande-synthe.territory.budget"),
            Some(10000.0)
        );
    }

    #[test]
    fn steps_are_round() {
        assert_eq!(step_for(2.0, false), 0.02);
        assert_eq!(step_for(20000.0, true), 200.0);
        assert_eq!(step_for(1.0, false), 0.01);
    }
}
