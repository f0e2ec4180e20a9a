//! Plans: the choices (lever intensities, start months, the budget: any numeric `--set` path)
//! that reach the goals at least cost, robustly. A many-objective evolutionary search
//! ([`nsga2`]) over the decision variables, every plan evaluated as a sweep's point is — an
//! ensemble on the scenario's seed and runs (common random numbers), so that two plans differ
//! by their choices, not their luck, and a plan's numbers are exactly `sweep`'s at that point.
//! With uncertain parameters, each plan is evaluated in every one of K futures (a Latin
//! hypercube) and each goal is a statistic over them (the worst, the mean, or a quantile), as
//! EMA Workbench's robust optimisation. Constraints are met by Deb's constrained domination.
//! The search's progress is read by the hypervolume of the plans found ([`hypervolume`]) and
//! by ε-progress ([`archive`]); its state is saved every generation, so that it can resume.

pub mod archive;
pub mod hypervolume;
pub mod nsga2;
mod search;
mod work;

use serde::{Deserialize, Serialize};

use crate::diag::Error;
use archive::Archive;
use nsga2::Evaluated;
pub use search::{evolve, Problem};
pub use work::{Asking, Work};

/// Most decision variables, uncertain parameters, goals or constraints.
pub const MAX_ITEMS: usize = 32;

/// A goal: an outcome to maximise or minimise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    /// The outcome, normalised (`perpetuation@312`).
    pub outcome: String,
    /// Whether more is better.
    pub maximise: bool,
}

impl Goal {
    /// Reads `max OUTCOME` or `min OUTCOME` (the `--objective` argument) against `model`: the
    /// goal's direction and its outcome normalised; a problem points at its character.
    pub fn parse(text: &str, model: &crate::model::Model) -> Result<Goal, Error> {
        let problem = |offset: usize, message: String, help: &str| {
            Error::arguments(vec![crate::study::outcome::ParseError {
                offset,
                message,
                help: Some(help.into()),
            }
            .at("--objective", text)])
        };
        let start = text.len() - text.trim_start().len();
        let t = text.trim();
        let (word, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
        let maximise = match word {
            "max" | "maximise" | "maximize" => true,
            "min" | "minimise" | "minimize" => false,
            _ => {
                return Err(problem(
                    start,
                    format!("`{word}` is not a direction: begin with max or min"),
                    "e.g. --objective \"max perpetuation@end\" or --objective \"min spend\"",
                ))
            }
        };
        let outcome = rest.trim();
        if outcome.is_empty() {
            return Err(problem(
                text.len(),
                format!("give the outcome after `{word}`"),
                &format!("e.g. \"{word} perpetuation@end\""),
            ));
        }
        // Where the outcome begins in `text` (it is a part of it).
        let at = outcome.as_ptr() as usize - text.as_ptr() as usize;
        let default = (model.territories.len() == 1).then_some(0);
        let parsed =
            crate::study::outcome::parse_outcome(outcome, model, default).map_err(|e| {
                problem(
                    at + e.offset,
                    e.message,
                    e.help
                        .as_deref()
                        .unwrap_or("e.g. perpetuation@end or spend"),
                )
            })?;
        Ok(Goal {
            outcome: parsed.text,
            maximise,
        })
    }
}

/// How a goal is read over uncertain futures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Robustness {
    /// The worst future: the lowest of a goal to maximise, the highest of one to minimise.
    Worst,
    /// The mean over futures.
    Mean,
    /// A quantile: the value `q` of the futures do worse than (the q-quantile of a goal to
    /// maximise, the (1 − q)-quantile of one to minimise).
    Quantile(f64),
}

impl Robustness {
    /// Reads `worst`, `mean` or `pQ` (Q a percentage, e.g. p10).
    pub fn parse(text: &str) -> Result<Robustness, Error> {
        match text {
            "worst" => Ok(Robustness::Worst),
            "mean" => Ok(Robustness::Mean),
            _ => text
                .strip_prefix('p')
                .and_then(|q| q.parse::<f64>().ok())
                .filter(|q| *q > 0.0 && *q < 100.0)
                .map(|q| Robustness::Quantile(q / 100.0))
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "--robust {text}: write worst, mean or pQ with Q a percentage, e.g. p10 (the value 90% of the futures do at least as well as)"
                    ))
                }),
        }
    }

    /// The statistic of `values` (over futures) for a goal that is better high (`maximise`).
    pub fn of(self, values: &[f64], maximise: bool) -> f64 {
        if values.iter().any(|v| v.is_nan()) {
            return f64::NAN;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        match (self, maximise) {
            (Robustness::Worst, true) => sorted[0],
            (Robustness::Worst, false) => sorted[sorted.len() - 1],
            (Robustness::Mean, _) => crate::stats::sample::mean(values),
            (Robustness::Quantile(q), true) => crate::stats::quantile(&sorted, q),
            (Robustness::Quantile(q), false) => crate::stats::quantile(&sorted, 1.0 - q),
        }
    }
}

/// How the search runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Plans to evaluate in all.
    pub evaluations: usize,
    /// Plans in the population.
    pub population: usize,
    /// The statistic over uncertain futures (robust search only).
    pub robustness: Option<Robustness>,
    /// Master seed of the search and of every evaluation.
    pub seed: u64,
    /// Runs of each evaluation.
    pub runs: u64,
}

/// A goal's value for a plan: the estimate (or the statistic over futures) and its range (the
/// 95% interval, or the futures' lowest and highest).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Value {
    /// The estimate, or the statistic over futures.
    pub value: f64,
    /// The 95% interval's lower end, or the lowest over futures.
    pub low: f64,
    /// The upper end, or the highest.
    pub high: f64,
}

/// A plan assessed: its goals, its constraints and how the search sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessed {
    /// Each goal's value.
    pub goals: Vec<Value>,
    /// Each constraint's outcome (the statistic over futures in a robust search).
    pub constraints: Vec<f64>,
    /// The decision values, the goals as minimised (a goal to maximise negated; +∞ when it
    /// has no value) and the constraints' normalised violation.
    pub plan: Evaluated,
}

impl Assessed {
    /// Whether every constraint holds.
    pub fn feasible(&self) -> bool {
        self.plan.cv <= 0.0
    }
}

/// One generation of the search, for `convergence.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// Its number (0: the first population).
    pub generation: usize,
    /// Plans evaluated so far.
    pub evaluations: usize,
    /// Hypervolume of the feasible plans found so far, up to the reference point.
    pub hypervolume: f64,
    /// The same as a share of the box from the first population's best to the reference
    /// point (1 would be every goal at its first best at once).
    pub hypervolume_share: f64,
    /// ε-progress so far: plans that entered an ε-box no plan held.
    pub epsilon_progress: u64,
    /// Plans on the front (feasible, none better on every goal).
    pub front: usize,
    /// Feasible plans found so far.
    pub feasible: usize,
}

/// The search's state after a generation: what `--resume` continues from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The problem it is the search of (see [`Work::fingerprint`]).
    pub fingerprint: String,
    /// Every plan evaluated, in order.
    pub plans: Vec<Assessed>,
    /// The population: places in `plans`.
    pub population: Vec<usize>,
    /// The hypervolume's reference point (fixed after the first generation).
    pub reference: Vec<f64>,
    /// The first population's best of each goal (as minimised).
    pub ideal: Vec<f64>,
    /// The ε-box archive.
    pub archive: Archive,
    /// The front so far (see [`State::front`]), in the order plans joined it.
    pub nondominated: Vec<usize>,
    /// Every generation so far.
    pub convergence: Vec<Generation>,
}

impl State {
    /// Offers plan `id` (the last evaluated) to the ε-archive and to the front.
    fn admit(&mut self, id: usize) {
        let plans = &self.plans;
        self.archive.add(id, |k| &plans[k].plan);
        let p = &plans[id];
        if !p.feasible() || p.plan.f.iter().any(|x| !x.is_finite()) {
            return;
        }
        let f = p.plan.f.as_slice();
        // Beaten or equalled by a plan of the front (the first evaluation of equal ones stays).
        if self.nondominated.iter().any(|&j| {
            let g = plans[j].plan.f.as_slice();
            g == f || hypervolume::dominates(g, f)
        }) {
            return;
        }
        self.nondominated
            .retain(|&j| !hypervolume::dominates(f, &plans[j].plan.f));
        self.nondominated.push(id);
    }

    /// The front: the feasible plans no other feasible plan beats on every goal (one of equal
    /// ones: the first evaluated), in the order of the first goal (best first), as places in
    /// `plans`.
    pub fn front(&self) -> Vec<usize> {
        let mut front = self.nondominated.clone();
        front.sort_by(|&a, &b| {
            self.plans[a].plan.f[0]
                .total_cmp(&self.plans[b].plan.f[0])
                .then(a.cmp(&b))
        });
        front
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::draw::{below, uniform};

    /// The front kept plan by plan is the front of every plan at once: the feasible plans no
    /// feasible plan beats, one of each set of equal goals (the first), on goals drawn on a
    /// coarse grid so that ties and repeats are common.
    #[test]
    fn the_front_kept_plan_by_plan_is_the_front_of_all() {
        let mut rng = crate::random::run_rng(7, 0);
        for _ in 0..50 {
            let plans: Vec<Assessed> = (0..120)
                .map(|_| Assessed {
                    goals: Vec::new(),
                    constraints: Vec::new(),
                    plan: Evaluated {
                        x: Vec::new(),
                        f: (0..3).map(|_| below(&mut rng, 6) as f64).collect(),
                        cv: if uniform(&mut rng) < 0.2 { 0.5 } else { 0.0 },
                    },
                })
                .collect();
            let mut state = State {
                fingerprint: String::new(),
                plans: plans.clone(),
                population: Vec::new(),
                reference: vec![10.0; 3],
                ideal: vec![0.0; 3],
                archive: Archive::new(vec![1.0; 3]),
                nondominated: Vec::new(),
                convergence: Vec::new(),
            };
            for id in 0..plans.len() {
                state.admit(id);
            }
            let mut expected: Vec<usize> = (0..plans.len())
                .filter(|&i| plans[i].feasible())
                .filter(|&i| {
                    !(0..plans.len()).any(|j| {
                        plans[j].feasible()
                            && (hypervolume::dominates(&plans[j].plan.f, &plans[i].plan.f)
                                || (j < i && plans[j].plan.f == plans[i].plan.f))
                    })
                })
                .collect();
            expected.sort_by(|&a, &b| {
                plans[a].plan.f[0]
                    .total_cmp(&plans[b].plan.f[0])
                    .then(a.cmp(&b))
            });
            assert_eq!(state.front(), expected);
        }
    }
}
