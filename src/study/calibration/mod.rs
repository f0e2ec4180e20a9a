//! Calibration: a territory's file fitted to its observed history, with the uncertainty that
//! is left. The `--vary` ranges are uniform priors; the posterior is sampled by sequential
//! Monte Carlo with likelihood tempering ([`smc`]) on a synthetic likelihood ([`likelihood`]):
//! at each point, the model's own runs say how far a history can stray from its mean, so the
//! observed history counts as one stochastic realisation — the run-to-run spread and the
//! correlation of a run's months are part of the fit, not only the observation errors.
//! [`summary`] reads the posterior (estimates, 90% intervals, correlations, warnings) and
//! [`predictive`] draws its futures for the fit plot. docs/calibration.md says it in full.

pub mod likelihood;
pub mod predictive;
pub mod smc;
pub mod summary;
mod work;

pub use work::*;

use crate::ensemble::{Controls, Workspace};
use crate::random::{side_rng, Purpose};
use likelihood::Whitening;

/// The work as the sampler sees it, with the run's workspace and controls.
struct Evaluator<'a> {
    work: &'a Work,
    workspace: &'a Workspace,
    controls: &'a Controls<'a>,
}

impl smc::Target for Evaluator<'_> {
    type Reference = Whitening;

    fn bounds(&self) -> &[(f64, f64)] {
        &self.work.bounds
    }

    fn reference(&self, at: &[f64], generation: u64) -> Option<Whitening> {
        let cancelled = || self.controls.cancelled();
        self.work
            .reference(at, generation, self.workspace, &cancelled)
    }

    fn log_likelihood(&self, reference: &Whitening, values: &[f64], id: u64) -> Option<f64> {
        if self.controls.cancelled() {
            return None;
        }
        let cancelled = || self.controls.cancelled();
        self.work
            .log_likelihood(reference, values, id, self.workspace, &cancelled)
    }
}

/// A finished calibration.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// The sampler's particles and diagnostics.
    pub sample: smc::Sample,
    /// Each parameter's estimate and interval, in `--vary` order.
    pub estimates: Vec<summary::Estimate>,
    /// Rank correlations of the parameters in the posterior (p × p).
    pub correlations: Vec<Vec<f64>>,
    /// Standard deviation of the log-likelihood estimate at the posterior median, over
    /// [`NOISE_REPEATS`] evaluations.
    pub noise: f64,
    /// The posterior predictive futures of each observed index.
    pub predictive: predictive::Predictive,
}

/// Calibrates: samples the posterior, then reads it. Progress counts likelihood evaluations;
/// `None` if cancelled.
pub fn calibrate(
    work: &Work,
    workspace: &Workspace,
    controls: &Controls<'_>,
) -> Option<Calibration> {
    let settings = work.settings;
    let mut rng = side_rng(settings.seed, Purpose::Calibration);
    let evaluator = Evaluator {
        work,
        workspace,
        controls,
    };
    let report = |done: u64, planned: u64| (controls.progress)(done, planned);
    let (sample, reference) = smc::sample(&evaluator, &settings.tuning, &mut rng, &report)?;
    let estimates = summary::estimates(&sample.values, &work.bounds);
    let correlations = summary::rank_correlations(&sample.values);
    // The noise of the likelihood at the posterior median, on fresh runs.
    let median: Vec<f64> = estimates.iter().map(|e| e.median).collect();
    let first = sample.ids;
    let repeats: Option<Vec<f64>> = (0..NOISE_REPEATS as u64)
        .map(|k| smc::Target::log_likelihood(&evaluator, &reference, &median, first + k))
        .collect();
    let noise = summary::noise(&repeats?);
    let predictive = predictive::draw(
        work,
        &sample.values,
        first + NOISE_REPEATS as u64,
        &mut rng,
        workspace,
        controls,
    )?;
    Some(Calibration {
        sample,
        estimates,
        correlations,
        noise,
        predictive,
    })
}
