//! A search's problem from the scenario: the choices, goals, constraints and futures read from
//! the command line and checked before any simulation, and a plan's evaluation — a point of
//! the batch in every future, read as the goals (robustly over futures) and the constraints'
//! violation.

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::nsga2::{Evaluated, Variable};
use super::{Assessed, Goal, Robustness, Settings, Value, MAX_ITEMS};
use crate::diag::Error;
use crate::ensemble::{Controls, Workload, Workspace};
use crate::model::{Model, Overrides};
use crate::random::{side_rng, Purpose};
use crate::scenario::Loaded;
use crate::study::batch::{Batch, Evaluation};
use crate::study::design::{latin_hypercube, Parameter};
use crate::study::explore;
use crate::study::hypothesis::{parse_hypotheses, Hypothesis, Op};
use crate::study::shard::Piece;

/// A search ready to run: every decision, goal, constraint and future checked.
#[derive(Debug, Clone)]
pub struct Work {
    batch: Batch,
    /// The decision variables (`--vary` ranges).
    pub decisions: Vec<Parameter>,
    /// The uncertain parameters (`--uncertain`).
    pub uncertain: Vec<Parameter>,
    /// The futures: a value per uncertain parameter (one empty future without them).
    pub futures: Vec<Vec<f64>>,
    /// The goals.
    pub goals: Vec<Goal>,
    /// The constraints.
    pub constraints: Vec<Hypothesis>,
    /// Where each goal's outcome is among the batch's.
    goal_at: Vec<usize>,
    /// Where each constraint's outcome is.
    constraint_at: Vec<usize>,
    /// How the search runs.
    pub settings: Settings,
}

/// What `optimize` asks.
#[derive(Debug, Clone)]
pub struct Asking<'a> {
    /// `--vary`: the decision variables' ranges.
    pub varies: &'a [String],
    /// `--objective`.
    pub objectives: &'a [String],
    /// `--constraint`.
    pub constraints: &'a [String],
    /// `--uncertain`.
    pub uncertain: &'a [String],
    /// `--scenarios`: futures drawn (robust search).
    pub scenarios: usize,
    /// `--robust`.
    pub robust: Option<&'a str>,
    /// `--evaluations`.
    pub evaluations: usize,
    /// `--population`.
    pub population: usize,
}

/// Ranges of `--vary`-like arguments, each a range of a value of the scenario (not a run
/// setting).
fn ranges(batch: &Batch, texts: &[String], argument: &str) -> Result<Vec<Parameter>, Error> {
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    let parameters = explore::parameters(batch, texts)?;
    for p in &parameters {
        if p.path.starts_with("simulation.") {
            return Err(Error::Usage(format!(
                "{argument} {}: a run setting is not a choice; give a value of the scenario (a lever's intensity or from, the budget, …)",
                p.path
            )));
        }
        if !matches!(p.spec, crate::study::design::Spec::Range { .. }) {
            return Err(Error::Usage(format!(
                "{argument} {}: give a range LO..HI",
                p.path
            )));
        }
    }
    if parameters.len() > MAX_ITEMS {
        return Err(Error::Usage(format!(
            "{} {argument} given; at most {MAX_ITEMS}",
            parameters.len()
        )));
    }
    Ok(parameters)
}

impl Work {
    /// A search over `loaded` with the command line's overrides. Everything is checked here,
    /// before any simulation.
    pub fn new(loaded: Loaded, overrides: &Overrides, asking: &Asking<'_>) -> Result<Work, Error> {
        let base = overrides.model(&loaded)?;
        if asking.objectives.is_empty() {
            return Err(Error::Usage(
                "nothing to optimise: add --objective \"max perpetuation@end\" (and others, e.g. --objective \"min spend\")".into(),
            ));
        }
        let mut goals = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        for text in asking.objectives {
            let goal = Goal::parse(text, &base)?;
            if goals.iter().any(|g: &Goal| g.outcome == goal.outcome) {
                return Err(Error::Usage(format!(
                    "--objective \"{text}\": {} is already a goal",
                    goal.outcome
                )));
            }
            goals.push(goal);
        }
        let constraints = parse_hypotheses(asking.constraints, &base, "--constraint")?;
        for o in goals
            .iter()
            .map(|g| &g.outcome)
            .chain(constraints.iter().map(|c| &c.outcome.text))
        {
            if !texts.contains(o) {
                texts.push(o.clone());
            }
        }
        let at = |t: &str| texts.iter().position(|x| x == t).unwrap_or(0);
        let goal_at = goals.iter().map(|g| at(&g.outcome)).collect();
        let constraint_at = constraints.iter().map(|c| at(&c.outcome.text)).collect();
        if goals.len() > MAX_ITEMS || constraints.len() > MAX_ITEMS {
            return Err(Error::Usage(format!(
                "at most {MAX_ITEMS} objectives and {MAX_ITEMS} constraints"
            )));
        }
        let batch = Batch::new(loaded, overrides.clone(), &texts)?;
        if asking.varies.is_empty() {
            return Err(Error::Usage(
                "nothing to choose: add --vary PATH=LO..HI, e.g. --vary lever.cooperation.intensity=0..2".into(),
            ));
        }
        let decisions = ranges(&batch, asking.varies, "--vary")?;
        let uncertain = ranges(&batch, asking.uncertain, "--uncertain")?;
        if let Some(p) = decisions
            .iter()
            .find(|d| uncertain.iter().any(|u| u.path == d.path))
        {
            return Err(Error::Usage(format!(
                "`{}` is both a choice (--vary) and uncertain (--uncertain): give it once",
                p.path
            )));
        }
        let robustness = match (asking.robust, uncertain.is_empty()) {
            (Some(r), false) => Some(Robustness::parse(r)?),
            (Some(_), true) => {
                return Err(Error::Usage(
                    "--robust needs uncertain parameters: add --uncertain PATH=LO..HI and --scenarios K".into(),
                ))
            }
            (None, false) => Some(Robustness::Worst),
            (None, true) => None,
        };
        if !uncertain.is_empty() && !(2..=1000).contains(&asking.scenarios) {
            return Err(Error::Usage(format!(
                "--scenarios {}: give from 2 to 1000 uncertain futures",
                asking.scenarios
            )));
        }
        let population = asking.population;
        if !(4..=10_000).contains(&population) {
            return Err(Error::Usage(format!(
                "--population {population}: give from 4 to 10000 plans"
            )));
        }
        if asking.evaluations < population || asking.evaluations > 10_000_000 {
            return Err(Error::Usage(format!(
                "--evaluations {}: give at least the population ({population}) and at most 10,000,000",
                asking.evaluations
            )));
        }
        let futures = if uncertain.is_empty() {
            vec![Vec::new()]
        } else {
            let mut rng = side_rng(base.settings.seed, Purpose::Futures);
            latin_hypercube(asking.scenarios, uncertain.len(), &mut rng)
                .into_iter()
                .map(|u| uncertain.iter().zip(u).map(|(p, u)| p.at(u)).collect())
                .collect()
        };
        let settings = Settings {
            evaluations: asking.evaluations,
            population,
            robustness,
            seed: base.settings.seed,
            runs: base.settings.runs,
        };
        Ok(Work {
            batch,
            decisions,
            uncertain,
            futures,
            goals,
            constraints,
            goal_at,
            constraint_at,
            settings,
        })
    }

    /// The scenario as given.
    pub fn base(&self) -> &Model {
        self.batch.base()
    }

    /// The scenario as loaded.
    pub fn loaded(&self) -> &Loaded {
        self.batch.loaded()
    }

    /// The work of every evaluation, for the refusal of too long a search.
    pub fn workload(&self, threads: usize) -> Workload {
        self.batch
            .workload(self.settings.evaluations * self.futures.len(), threads)
    }

    /// The problem's fingerprint: the resolved scenario, the choices, goals, constraints,
    /// futures and the search's settings but its number of evaluations (a search resumed may
    /// go further).
    pub fn fingerprint(&self) -> String {
        let problem = serde_json::json!({
            "scenario": self.base().fingerprint(),
            "decisions": self.decisions,
            "uncertain": self.uncertain,
            "futures": self.futures,
            "goals": self.goals,
            "constraints": self.constraints,
            "population": self.settings.population,
            "robustness": self.settings.robustness,
        });
        let bytes = serde_json::to_vec(&problem).unwrap_or_default();
        Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The decision variables as the search sees them.
    pub fn variables(&self) -> Vec<Variable> {
        self.decisions
            .iter()
            .map(|p| {
                let (low, high) = p.bounds();
                Variable {
                    low,
                    high,
                    integer: p.integer,
                }
            })
            .collect()
    }

    /// The overrides of plan `x` in future `future`.
    pub fn sets(&self, x: &[f64], future: usize) -> Vec<String> {
        let mut sets = explore::sets(&self.decisions, x);
        sets.extend(explore::sets(&self.uncertain, &self.futures[future]));
        sets
    }

    /// Evaluates plans `xs` in every future, on the current pool: each a point of the batch
    /// on the scenario's seed and runs. A plan the scenario's rules refuse is infeasible.
    /// Progress counts points. `Ok(None)` if cancelled.
    pub fn assess(
        &self,
        xs: &[Vec<f64>],
        workspace: &Workspace,
        controls: &Controls<'_>,
    ) -> Result<Option<Vec<Assessed>>, Error> {
        let k = self.futures.len();
        let sets = |i: usize| self.sets(&xs[i / k], i % k);
        let valid: Vec<bool> = (0..xs.len() * k)
            .into_par_iter()
            .map(|i| self.batch.point(&sets(i)).is_ok())
            .collect();
        let plan_valid: Vec<bool> = (0..xs.len())
            .map(|p| (0..k).all(|f| valid[p * k + f]))
            .collect();
        let points: Vec<usize> = (0..xs.len() * k).filter(|&i| plan_valid[i / k]).collect();
        let runs = self.settings.runs;
        let pieces: Vec<Piece> = points
            .iter()
            .map(|&i| Piece {
                point: i,
                runs: 0..runs,
            })
            .collect();
        let mut estimates: Vec<Option<Vec<crate::stats::Estimate>>> = vec![None; xs.len() * k];
        let mut emit = |e: Evaluation| estimates[e.point] = Some(e.outcomes.estimates());
        let done = self
            .batch
            .evaluate(&pieces, &sets, &mut emit, workspace, controls)?;
        if done.is_none() {
            return Ok(None);
        }
        Ok(Some(
            xs.iter()
                .enumerate()
                .map(|(p, x)| self.assessed(x, &estimates[p * k..(p + 1) * k]))
                .collect(),
        ))
    }

    /// A plan's goals and constraints from its estimates in every future (`None`: invalid).
    fn assessed(&self, x: &[f64], futures: &[Option<Vec<crate::stats::Estimate>>]) -> Assessed {
        if futures.iter().any(Option::is_none) {
            return Assessed {
                goals: self
                    .goals
                    .iter()
                    .map(|_| Value {
                        value: f64::NAN,
                        low: f64::NAN,
                        high: f64::NAN,
                    })
                    .collect(),
                constraints: vec![f64::NAN; self.constraints.len()],
                plan: Evaluated {
                    x: x.to_vec(),
                    f: vec![f64::INFINITY; self.goals.len()],
                    cv: f64::INFINITY,
                },
            };
        }
        let at = |o: usize| -> Vec<crate::stats::Estimate> {
            futures.iter().flatten().map(|e| e[o]).collect()
        };
        let goals: Vec<Value> = self
            .goals
            .iter()
            .zip(&self.goal_at)
            .map(|(g, &o)| {
                let values = at(o);
                match self.settings.robustness {
                    None => Value {
                        value: values[0].estimate,
                        low: values[0].low,
                        high: values[0].high,
                    },
                    Some(r) => {
                        let v: Vec<f64> = values.iter().map(|e| e.estimate).collect();
                        Value {
                            value: r.of(&v, g.maximise),
                            low: v.iter().copied().fold(f64::INFINITY, f64::min),
                            high: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                        }
                    }
                }
            })
            .collect();
        let constraints: Vec<f64> = self
            .constraints
            .iter()
            .zip(&self.constraint_at)
            .map(|(c, &o)| {
                let v: Vec<f64> = at(o).iter().map(|e| e.estimate).collect();
                let higher = matches!(c.op, Op::AtLeast | Op::Above);
                self.settings
                    .robustness
                    .unwrap_or(Robustness::Mean)
                    .of(&v, higher)
            })
            .collect();
        let cv = self
            .constraints
            .iter()
            .zip(&constraints)
            .map(|(c, &v)| violation(c, v))
            .sum();
        let f = self
            .goals
            .iter()
            .zip(&goals)
            .map(|(g, v)| match (v.value.is_finite(), g.maximise) {
                (false, _) => f64::INFINITY,
                (true, true) => 0.0 - v.value,
                (true, false) => v.value,
            })
            .collect();
        Assessed {
            goals,
            constraints,
            plan: Evaluated {
                x: x.to_vec(),
                f,
                cv,
            },
        }
    }
}

/// A constraint's normalised violation by outcome value `v`: 0 when it holds, else how far it
/// misses over the threshold's size (1 when there is no value).
fn violation(c: &Hypothesis, v: f64) -> f64 {
    if !v.is_finite() {
        return 1.0;
    }
    let scale = if c.threshold != 0.0 {
        c.threshold.abs()
    } else {
        1.0
    };
    let miss = match c.op {
        Op::AtLeast | Op::Above => c.threshold - v,
        Op::AtMost | Op::Below => v - c.threshold,
    };
    (miss / scale).max(0.0)
}
