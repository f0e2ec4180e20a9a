//! Global sensitivity analysis: which parameters matter for which outcomes, and over time.
//! [`sobol`] gives variance-based indices (first, total and second order) on a Saltelli
//! design; [`morris`] elementary effects on trajectories. Points are laid out as SALib lays
//! them out, so SALib's `analyze` functions on our samples and evaluations give our indices.
//!
//! Every point is an ensemble of runs on the same seed and run indices (common random
//! numbers): a parameter with no effect on an outcome changes no run, so its indices are
//! exactly 0. What remains of run-to-run randomness in each point's estimate is measured: the
//! mean variance of the estimates from runs alone against the variance between points — the
//! share of the outcome's variance that is noise, under which an index says nothing.

pub mod morris;
pub mod sobol;

use serde::Serialize;

use super::batch::Batch;
use super::design::{Parameter, Spec};
use super::explore::{self, PointEstimates};
use super::outcome::{expand_outcomes, Family};
use crate::diag::Error;

use crate::model::{Model, Overrides};
use crate::random::{side_rng, Purpose};
use crate::scenario::Loaded;

/// The method and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "method")]
pub enum Method {
    /// Sobol' indices on N base samples (a power of 2).
    Sobol {
        /// Base samples.
        n: usize,
        /// Whether second-order indices are estimated (N(2k + 2) points, else N(k + 2)).
        second_order: bool,
    },
    /// Elementary effects on r trajectories on a grid of `levels` levels.
    Morris {
        /// Trajectories.
        r: usize,
        /// Grid levels (even).
        levels: usize,
    },
}

impl Method {
    /// Parses `sobol[:N]` or `morris[:R]`, with the grid's `levels` and whether second-order
    /// indices are wanted.
    pub fn parse(text: &str, levels: usize, second_order: bool) -> Result<Method, Error> {
        let (kind, size) = match text.split_once(':') {
            Some((k, n)) => (k, Some(n)),
            None => (text, None),
        };
        let size = |default: usize| -> Result<usize, Error> {
            match size {
                None => Ok(default),
                Some(n) => n.parse::<usize>().ok().filter(|&n| n >= 2).ok_or_else(|| {
                    Error::Usage(format!(
                        "--method {text}: `{n}` is not a size of at least 2"
                    ))
                }),
            }
        };
        match kind {
            "sobol" => {
                let n = size(256)?;
                if !n.is_power_of_two() || n > 1 << 20 {
                    return Err(Error::Usage(format!(
                        "--method {text}: Sobol' base samples must be a power of 2 up to 1048576, e.g. sobol:256 or sobol:1024"
                    )));
                }
                Ok(Method::Sobol { n, second_order })
            }
            "morris" => {
                if levels < 2 || levels % 2 == 1 || levels > 100 {
                    return Err(Error::Usage(format!(
                        "--levels {levels}: Morris's grid needs an even number of levels from 2 to 100 (4 is usual)"
                    )));
                }
                let r = size(20)?;
                if r > 100_000 {
                    return Err(Error::Usage(format!(
                        "--method {text}: at most 100000 trajectories"
                    )));
                }
                Ok(Method::Morris { r, levels })
            }
            _ => Err(Error::Usage(format!(
                "--method {text}: write sobol[:N] (N a power of 2) or morris[:R] (R trajectories)"
            ))),
        }
    }

    /// Points evaluated for `k` parameters.
    pub fn points(&self, k: usize) -> usize {
        match *self {
            Method::Sobol { n, second_order } => n * sobol::step(k, second_order),
            Method::Morris { r, .. } => r * (k + 1),
        }
    }
}

/// An analysis ready to run: parameters and points checked, outcomes parsed.
#[derive(Debug, Clone)]
pub struct Work {
    batch: Batch,
    /// The varied parameters (ranges).
    pub parameters: Vec<Parameter>,
    /// The method.
    pub method: Method,
    /// The points in [0, 1]^k, in SALib's order.
    pub unit: Vec<Vec<f64>>,
    /// The points in the parameters' values.
    pub points: Vec<Vec<f64>>,
    /// The outcomes (families expanded).
    pub outcomes: Vec<String>,
    /// The outcome families among them.
    pub families: Vec<Family>,
    /// Bootstrap resamplings for the intervals.
    pub bootstrap: usize,
}

impl Work {
    /// An analysis of `loaded` with the command line's overrides, varying `varies` (ranges
    /// `PATH=LO..HI`) by `method`, gathering `outcomes` (default: `compare`'s), with
    /// `bootstrap` resamplings. Every problem is found here, before any simulation.
    pub fn new(
        loaded: Loaded,
        overrides: &Overrides,
        varies: &[String],
        method: Method,
        outcomes: &[String],
        bootstrap: usize,
    ) -> Result<Work, Error> {
        let base = overrides.model(&loaded)?;
        let (texts, families) = expand_outcomes(outcomes, &base)?;
        let batch = Batch::new(loaded, overrides.clone(), &texts)?;
        let texts = batch.outcome_texts().to_vec();
        let parameters = explore::parameters(&batch, varies)?;
        for p in &parameters {
            if let Spec::Levels { values } = &p.spec {
                if values.len() < 2 {
                    return Err(Error::Usage(format!(
                        "--vary {}: a sensitivity analysis needs a range LO..HI",
                        p.path
                    )));
                }
            }
        }
        let k = parameters.len();
        if k > 64 {
            return Err(Error::Usage(format!(
                "{k} parameters varied; a sensitivity analysis takes at most 64"
            )));
        }
        if bootstrap > 100_000 {
            return Err(Error::Usage(format!(
                "--bootstrap {bootstrap}: at most 100000 resamplings"
            )));
        }
        let mut rng = side_rng(base.settings.seed, Purpose::Design);
        let unit = match method {
            Method::Sobol { n, second_order } => sobol::sample(n, k, second_order, &mut rng),
            Method::Morris { r, levels } => morris::sample(r, k, levels, &mut rng),
        };
        let points = unit
            .iter()
            .map(|u| parameters.iter().zip(u).map(|(p, &u)| p.at(u)).collect())
            .collect();
        Ok(Work {
            batch,
            parameters,
            method,
            unit,
            points,
            outcomes: texts,
            families,
            bootstrap,
        })
    }

    /// The scenario as given.
    pub fn base(&self) -> &Model {
        self.batch.base()
    }

    /// The points evaluated, with their batch and parameters.
    pub fn points(&self) -> explore::Points<'_> {
        explore::Points {
            batch: &self.batch,
            parameters: &self.parameters,
            values: &self.points,
        }
    }

    /// The indices of every outcome from the points' estimates.
    pub fn analyze(&self, evaluated: &[PointEstimates]) -> Analysis {
        let k = self.parameters.len();
        let seed = self.base().settings.seed;
        let mut rng = side_rng(seed, Purpose::Bootstrap);
        let outcomes = self
            .outcomes
            .iter()
            .enumerate()
            .map(|(o, text)| {
                let y: Vec<f64> = evaluated.iter().map(|p| p.estimates[o].estimate).collect();
                let noise_var: Vec<f64> = evaluated.iter().map(|p| p.noise[o]).collect();
                let noise = Noise::of(&y, &noise_var);
                let usable = y.iter().all(|v| v.is_finite());
                let (sobol, morris) = match (self.method, usable) {
                    (_, false) => (None, None),
                    (Method::Sobol { n, second_order }, true) => (
                        Some(sobol::analyze(
                            &y,
                            n,
                            k,
                            second_order,
                            self.bootstrap,
                            &mut rng,
                        )),
                        None,
                    ),
                    (Method::Morris { levels, .. }, true) => (
                        None,
                        Some(morris::analyze(
                            &self.unit,
                            &y,
                            k,
                            levels,
                            self.bootstrap,
                            &mut rng,
                        )),
                    ),
                };
                OutcomeIndices {
                    outcome: text.clone(),
                    noise,
                    sobol,
                    morris,
                }
            })
            .collect();
        let s = self.base().settings;
        Analysis {
            parameters: self.parameters.clone(),
            method: self.method,
            families: self.families.clone(),
            bootstrap: self.bootstrap,
            runs: s.runs,
            seed: s.seed,
            evaluations: evaluated
                .iter()
                .map(|p| p.estimates.iter().map(|e| e.estimate).collect())
                .collect(),
            outcomes,
        }
    }
}

/// How much of an outcome's variance over the points is run-to-run randomness.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Noise {
    /// Mean over points of the variance of a point's estimate from runs alone.
    pub within: f64,
    /// Variance of the estimates between points.
    pub between: f64,
    /// within / between (1 when the estimates do not vary): the share of the variance that is
    /// noise.
    pub share: f64,
}

impl Noise {
    fn of(y: &[f64], noise: &[f64]) -> Noise {
        let n = y.len().max(1) as f64;
        let mean = y.iter().sum::<f64>() / n;
        let between = y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let within = noise.iter().sum::<f64>() / n;
        let share = if between > 0.0 {
            (within / between).min(1.0)
        } else {
            1.0
        };
        Noise {
            within,
            between,
            share,
        }
    }
}

/// The indices of one outcome.
#[derive(Debug, Clone, Serialize)]
pub struct OutcomeIndices {
    /// The outcome, as written.
    pub outcome: String,
    /// Run-to-run randomness against the variance between points.
    pub noise: Noise,
    /// Sobol' indices (Sobol method; absent where an estimate is not a number).
    pub sobol: Option<sobol::Indices>,
    /// Elementary effects per parameter (Morris method).
    pub morris: Option<Vec<morris::Effects>>,
}

/// A finished analysis.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// The varied parameters.
    pub parameters: Vec<Parameter>,
    /// The method.
    pub method: Method,
    /// Outcome families, for indices over time.
    pub families: Vec<Family>,
    /// Bootstrap resamplings.
    pub bootstrap: usize,
    /// Runs per point.
    pub runs: u64,
    /// Master seed of every point.
    pub seed: u64,
    /// Each point's estimate of each outcome: `evaluations[point][outcome]`.
    #[serde(skip)]
    pub evaluations: Vec<Vec<f64>>,
    /// Per outcome.
    pub outcomes: Vec<OutcomeIndices>,
}

impl Analysis {
    /// The level under which an index of outcome `o` could be run-to-run randomness alone:
    /// for Sobol' indices the share of the variance that is noise; for μ* the elementary
    /// effect noise alone could make, 1.96 × √(2 × the mean noise variance) / Δ.
    pub fn noise_floor(&self, o: usize) -> f64 {
        let noise = self.outcomes[o].noise;
        match self.method {
            Method::Sobol { .. } => noise.share,
            Method::Morris { levels, .. } => {
                crate::stats::Z95 * (2.0 * noise.within).sqrt() / morris::delta(levels)
            }
        }
    }

    /// The parameters ranked by what they explain of outcome `o`, most first: (parameter, total
    /// effect (Sobol) or μ* (Morris), whether it is under the noise floor).
    pub fn ranking(&self, o: usize) -> Vec<(usize, f64, bool)> {
        let floor = self.noise_floor(o);
        let out = &self.outcomes[o];
        let mut r: Vec<(usize, f64, bool)> = match (&out.sobol, &out.morris) {
            (Some(s), _) => s
                .total
                .iter()
                .enumerate()
                .map(|(j, i)| (j, i.estimate, i.estimate < floor))
                .collect(),
            (_, Some(m)) => m
                .iter()
                .enumerate()
                .map(|(j, e)| (j, e.mu_star.estimate, e.mu_star.estimate < floor))
                .collect(),
            _ => Vec::new(),
        };
        r.sort_by(|a, b| b.1.total_cmp(&a.1));
        r
    }
}

impl Analysis {}
