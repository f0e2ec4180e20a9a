//! A calibration's work: the scenario, the parameters and their priors, the observed history,
//! the settings; and what a point of the parameters' space gives — its model, the reference
//! covariance of a generation, the synthetic log-likelihood.

use std::sync::Mutex;

use serde::Serialize;

use super::likelihood::{self, Plan, Scratch, Whitening};
use super::smc;
use crate::diag::Error;
use crate::engine::Engine;
use crate::ensemble::Workspace;
use crate::model::{Model, Overrides};
use crate::scenario::Loaded;
use crate::study::batch::Batch;
use crate::study::design::{Parameter, Spec};
use crate::study::explore;
use crate::study::observed::Observation;

/// Runs per likelihood evaluation when `--runs` is not given.
pub const DEFAULT_RUNS: u64 = 100;
/// Fewest runs per likelihood evaluation.
pub const MIN_RUNS: u64 = 10;
/// Fewest runs of a generation's reference covariance (or ten per observation, if more).
pub const PILOT_RUNS: usize = 1000;
/// The first run (and observation-error stream) of the references, far above every
/// evaluation's.
const PILOT_FIRST: u64 = 1 << 40;
/// Particles when `--particles` is not given.
pub const DEFAULT_PARTICLES: usize = 400;
/// Most runs per evaluation.
pub const MAX_RUNS: u64 = 20_000;
/// Most particles.
pub const MAX_PARTICLES: usize = 100_000;
/// The standard error assumed for an observation whose file gives none: two points of share,
/// the precision of a survey of about 600 people, or of a count rounded to a few percent.
pub const ASSUMED_SD: f64 = 0.02;
/// Most observations fitted at once (the likelihood's covariance grows as their square).
pub const MAX_OBSERVATIONS: usize = 2000;
/// Likelihood evaluations repeated at the posterior median to measure their noise.
pub const NOISE_REPEATS: usize = 10;

/// How a calibration is run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Settings {
    /// Particles of the sampler.
    pub particles: usize,
    /// Runs per likelihood evaluation (1 when the model has no randomness).
    pub runs: u64,
    /// Master seed.
    pub seed: u64,
    /// The standard error taken for observations without one.
    pub assumed_sd: f64,
    /// The sampler's tuning.
    pub tuning: smc::Tuning,
}

/// A calibration to run: the scenario, the parameters and their priors, the history.
#[derive(Debug)]
pub struct Work {
    batch: Batch,
    parameters: Vec<Parameter>,
    pub(super) bounds: Vec<(f64, f64)>,
    plan: Plan,
    pub(super) settings: Settings,
    scratches: Mutex<Vec<Scratch>>,
}

impl Work {
    /// Checks everything before anything is simulated: the scenario (one territory), each
    /// `--vary` (a range of a continuous value), the observations (already read against the
    /// scenario), the sizes.
    pub fn new(
        loaded: Loaded,
        overrides: &Overrides,
        varies: &[String],
        observations: Vec<Observation>,
        particles: Option<usize>,
    ) -> Result<Work, Error> {
        let batch = Batch::new(loaded, overrides.clone(), &[])?;
        let base = batch.base();
        if base.is_network {
            return Err(Error::Usage(
                "calibrate fits one territory's file: give the territory's .toml (a network's calibration is not available yet)".into(),
            ));
        }
        let parameters = explore::parameters(&batch, varies)?;
        for p in &parameters {
            if !matches!(p.spec, Spec::Range { .. }) {
                return Err(Error::Usage(format!(
                    "--vary {}: calibrate takes a range LO..HI, its uniform prior (not a list or LO..HI:N)",
                    p.path
                )));
            }
            let (low, high) = p.bounds();
            if low >= high {
                return Err(Error::Usage(format!(
                    "--vary {}: the range {low}..{high} is empty; give LO < HI",
                    p.path
                )));
            }
            if p.integer {
                return Err(Error::Usage(format!(
                    "--vary {}: this path takes whole numbers (months); calibrate fits continuous values (rates, shares, intensities)",
                    p.path
                )));
            }
            if p.path.starts_with("simulation.") {
                return Err(Error::Usage(format!(
                    "--vary {}: the simulation's settings are not parameters of the territory; use --runs and --seed",
                    p.path
                )));
            }
        }
        if observations.is_empty() {
            return Err(Error::Usage(
                "the observed file holds no observation: add lines index,month,value,sd".into(),
            ));
        }
        if observations.len() > MAX_OBSERVATIONS {
            return Err(Error::Usage(format!(
                "{} observations: a calibration fits at most {MAX_OBSERVATIONS}; keep one a year or a quarter per index",
                observations.len()
            )));
        }
        let particles = particles.unwrap_or(DEFAULT_PARTICLES);
        if !(10..=MAX_PARTICLES).contains(&particles) {
            return Err(Error::Usage(format!(
                "--particles {particles}: give from 10 to {MAX_PARTICLES} (default {DEFAULT_PARTICLES})"
            )));
        }
        let runs = overrides.runs.unwrap_or(DEFAULT_RUNS);
        let stochastic = Engine::new(base).is_stochastic();
        if stochastic && !(MIN_RUNS..=MAX_RUNS).contains(&runs) {
            return Err(Error::Usage(format!(
                "--runs {runs}: the runs of each likelihood evaluation (their spread is the model's own): give from {MIN_RUNS} to {MAX_RUNS} (default {DEFAULT_RUNS})"
            )));
        }
        let runs = if stochastic { runs } else { 1 };
        let settings = Settings {
            particles,
            runs,
            seed: base.settings.seed,
            assumed_sd: ASSUMED_SD,
            tuning: smc::Tuning::new(particles),
        };
        let plan = Plan::new(observations, base.horizon(), ASSUMED_SD);
        Ok(Work {
            bounds: parameters.iter().map(Parameter::bounds).collect(),
            batch,
            parameters,
            plan,
            settings,
            scratches: Mutex::new(Vec::new()),
        })
    }

    /// The scenario as given (no parameter changed).
    pub fn base(&self) -> &Model {
        self.batch.base()
    }

    /// The scenario as loaded.
    pub fn loaded(&self) -> &Loaded {
        self.batch.loaded()
    }

    /// The parameters, in `--vary` order.
    pub fn parameters(&self) -> &[Parameter] {
        &self.parameters
    }

    /// The observations.
    pub fn observations(&self) -> &[Observation] {
        &self.plan.observations
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Observations whose file gives no standard error.
    pub fn without_sd(&self) -> usize {
        self.plan
            .observations
            .iter()
            .filter(|o| o.sd.is_none())
            .count()
    }

    /// Runs simulated by `evaluations` likelihood evaluations.
    pub fn runs_of(&self, evaluations: u64) -> u64 {
        evaluations * self.settings.runs
    }

    /// The model at `values`; `None` where the scenario's rules refuse them together (such a
    /// point has zero prior).
    pub fn model_at(&self, values: &[f64]) -> Option<Model> {
        let sets = explore::sets(&self.parameters, values);
        self.batch.point(&sets).ok().map(|(m, _)| m)
    }

    /// Simulates runs `first..` of the model at `values` into `scratch`, with observation
    /// errors from stream `errors`; `Some(false)` where the scenario's rules refuse the
    /// values; `None` if cancelled.
    #[allow(clippy::too_many_arguments)]
    fn simulate(
        &self,
        values: &[f64],
        first: u64,
        errors: u64,
        scratch: &mut Scratch,
        workspace: &Workspace,
        cancelled: &dyn Fn() -> bool,
    ) -> Option<bool> {
        let Some(model) = self.model_at(values) else {
            return Some(false);
        };
        let engine = Engine::new(&model);
        let mut block = workspace.block(&engine);
        let done = likelihood::simulate(
            &self.plan,
            &engine,
            self.settings.seed,
            first,
            errors,
            &mut block,
            scratch,
            cancelled,
        );
        workspace.keep_block(&engine, block);
        done.then_some(true)
    }

    /// The reference of generation `generation`: [`PILOT_RUNS`] (or more) runs at `at`, their
    /// own run numbers and observation errors, far from every evaluation's; `None` if
    /// cancelled.
    pub fn reference(
        &self,
        at: &[f64],
        generation: u64,
        workspace: &Workspace,
        cancelled: &dyn Fn() -> bool,
    ) -> Option<Whitening> {
        let runs = self.pilot_runs();
        let mut scratch = Scratch::new(self.plan.len(), runs);
        let first = PILOT_FIRST + generation * runs as u64;
        if runs > 1 {
            let ok = self.simulate(
                at,
                first,
                PILOT_FIRST + generation,
                &mut scratch,
                workspace,
                cancelled,
            )?;
            if !ok {
                // The particles' mean broke the scenario's rules (a non-convex region):
                // whiten by the observation errors alone.
                scratch = Scratch::new(self.plan.len(), 1);
            }
        }
        Some(Whitening::of(&self.plan, &scratch))
    }

    /// Runs of a generation's reference.
    pub fn pilot_runs(&self) -> usize {
        if self.settings.runs == 1 {
            1
        } else {
            PILOT_RUNS.max(10 * self.plan.len())
        }
    }

    /// The log-likelihood estimate at `values` against `reference`, from evaluation `id`
    /// (runs id·R .. (id+1)·R of the master seed, observation errors of stream id); −∞
    /// outside the scenario's rules; `None` if cancelled.
    pub fn log_likelihood(
        &self,
        reference: &Whitening,
        values: &[f64],
        id: u64,
        workspace: &Workspace,
        cancelled: &dyn Fn() -> bool,
    ) -> Option<f64> {
        let runs = self.settings.runs as usize;
        let taken = self
            .scratches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let mut scratch = taken.unwrap_or_else(|| Scratch::new(self.plan.len(), runs));
        let done = self.simulate(
            values,
            id * runs as u64,
            id,
            &mut scratch,
            workspace,
            cancelled,
        );
        let value = match done {
            None => None,
            Some(false) => Some(f64::NEG_INFINITY),
            Some(true) => Some(likelihood::log_likelihood(
                &self.plan,
                reference,
                &mut scratch,
            )),
        };
        self.scratches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(scratch);
        value
    }
}
