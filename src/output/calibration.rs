//! The files of a calibration: `parameters.csv` (each parameter's prior, posterior mean,
//! median and 90% credible interval), `posterior.csv` (the particles), `calibration.json`
//! (method, settings, diagnostics, what was assumed) and `calibrated.toml` (the scenario with
//! the posterior medians written in). Numbers are printed at full precision.

use serde::Serialize;

use super::json::pretty;
use super::tables::{finish, number, writer};
use super::toml::{with_choices, Choice};
use crate::study::calibration::smc::Generation;
use crate::study::calibration::summary::{Estimate, BARELY_INFORMED, ENTANGLED, NOISY};
use crate::study::calibration::{Calibration, Settings, Work};
use crate::study::design::value_text;

/// `parameters.csv`: `parameter,prior_low,prior_high,mean,median,low,high`.
pub fn parameters_csv(problem: &Work, calibration: &Calibration) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record([
        "parameter",
        "prior_low",
        "prior_high",
        "mean",
        "median",
        "low",
        "high",
    ]);
    for (p, e) in problem.parameters().iter().zip(&calibration.estimates) {
        let mut row = vec![p.path.clone()];
        row.extend([e.prior_low, e.prior_high, e.mean, e.median, e.low, e.high].map(number));
        let _ = w.write_record(&row);
    }
    finish(w)
}

/// `posterior.csv`: `sample,weight,<PATH 1>,...`, one row per particle (numbered from 1; the
/// particles are equally weighted).
pub fn posterior_csv(problem: &Work, calibration: &Calibration) -> Vec<u8> {
    let mut w = writer();
    let mut header = vec!["sample".to_string(), "weight".to_string()];
    header.extend(problem.parameters().iter().map(|p| p.path.clone()));
    let _ = w.write_record(&header);
    let values = &calibration.sample.values;
    let weight = number(1.0 / values.len() as f64);
    for (i, v) in values.iter().enumerate() {
        let mut row = vec![(i + 1).to_string(), weight.clone()];
        row.extend(v.iter().map(|&x| number(x)));
        let _ = w.write_record(&row);
    }
    finish(w)
}

#[derive(Serialize)]
struct Parameter<'a> {
    path: &'a str,
    #[serde(flatten)]
    estimate: &'a Estimate,
}

#[derive(Serialize)]
struct Diagnostics<'a> {
    generations: usize,
    evaluations: u64,
    runs_simulated: u64,
    effective_sample_sizes: Vec<f64>,
    acceptance_rates: Vec<f64>,
    temperatures: Vec<f64>,
    distinct_particles: usize,
    likelihood_noise_sd: f64,
    predictive_draws: usize,
    observations_inside_90pct_predictive: usize,
    steps: &'a [Generation],
    wall_seconds: f64,
}

#[derive(Serialize)]
struct File<'a> {
    trajectoire_version: &'static str,
    scenario: &'a str,
    name: &'a str,
    observed: &'a str,
    observations: usize,
    method: &'static str,
    likelihood: &'static str,
    assumptions: Vec<String>,
    settings: &'a Settings,
    parameters: Vec<Parameter<'a>>,
    rank_correlations: &'a [Vec<f64>],
    diagnostics: Diagnostics<'a>,
    warnings: &'a [String],
}

/// What the calibration assumed, in plain words (also printed by `calibrate`).
pub fn assumptions(problem: &Work) -> Vec<String> {
    let s = problem.settings();
    let history = if s.runs == 1 {
        "the model has no randomness here (--deterministic, or no volatility and no random shock): one run at each point, and the history is scored by its observation errors alone (the exact normal likelihood)".to_string()
    } else {
        format!(
            "the history is one stochastic realisation of the model: at each point, {} runs, each with its observation errors drawn, give the mean and the spread of the observed values; how they go together (every pair of months and indices) comes from {} runs at the particles' mean, renewed each generation; the history is scored as one draw of the normal distribution they make (the estimates' bias corrected)",
            s.runs,
            problem.pilot_runs()
        )
    };
    let mut out = vec![
        "priors: uniform over each --vary range, independent".to_string(),
        history,
        "observation errors: independent, normal, of standard deviation sd".to_string(),
    ];
    let missing = problem.without_sd();
    if missing > 0 {
        out.push(format!(
            "{missing} observation(s) give no sd: each is taken as {} (two points of share, the precision of a survey of about 600 people)",
            s.assumed_sd
        ));
    }
    out
}

/// `calibration.json`.
pub fn calibration_json(
    problem: &Work,
    calibration: &Calibration,
    observed: &str,
    wall_seconds: f64,
) -> Vec<u8> {
    let model = problem.base();
    let sample = &calibration.sample;
    let steps = &sample.generations;
    pretty(&File {
        trajectoire_version: env!("CARGO_PKG_VERSION"),
        scenario: &model.id,
        name: &model.name,
        observed,
        observations: problem.observations().len(),
        method: "sequential Monte Carlo with adaptive likelihood tempering (Del Moral, Doucet & Jasra 2012), random-walk Metropolis-Hastings moves",
        likelihood: "synthetic likelihood (Wood 2010): normal, with the mean and full covariance of the observed values over each point's runs, plus the observation errors",
        assumptions: assumptions(problem),
        settings: problem.settings(),
        parameters: problem
            .parameters()
            .iter()
            .zip(&calibration.estimates)
            .map(|(p, e)| Parameter {
                path: &p.path,
                estimate: e,
            })
            .collect(),
        rank_correlations: &calibration.correlations,
        diagnostics: Diagnostics {
            generations: steps.len(),
            evaluations: sample.evaluations,
            runs_simulated: problem.runs_of(sample.evaluations),
            effective_sample_sizes: steps.iter().map(|g| g.ess).collect(),
            acceptance_rates: steps.iter().map(|g| g.acceptance).collect(),
            temperatures: steps.iter().map(|g| g.temperature).collect(),
            distinct_particles: sample.distinct,
            likelihood_noise_sd: if calibration.noise.is_finite() {
                calibration.noise
            } else {
                -1.0
            },
            predictive_draws: calibration.predictive.draws,
            observations_inside_90pct_predictive: calibration.predictive.inside,
            steps,
            wall_seconds,
        },
        warnings: &warnings(problem, calibration),
    })
}

/// `calibrated.toml`: the scenario's text with each parameter set to its posterior median, a
/// comment giving its interval, and a note at the top; `include` paths rewritten by
/// `include` (the file is saved in the output folder).
pub fn calibrated_toml(
    problem: &Work,
    calibration: &Calibration,
    observed: &str,
    include: &dyn Fn(&str) -> String,
) -> Result<String, String> {
    let loaded = problem.loaded();
    let source = loaded.sources.get(0);
    let choices: Vec<Choice> = problem
        .parameters()
        .iter()
        .zip(&calibration.estimates)
        .map(|(p, e)| Choice {
            path: p.path.clone(),
            value: e.median,
            integer: false,
            note: format!(
                "calibrated: posterior median, 90% interval {} to {}, prior {} to {}",
                words(e.low),
                words(e.high),
                words(e.prior_low),
                words(e.prior_high)
            ),
        })
        .collect();
    let s = problem.settings();
    let heading = format!(
        "# Calibrated by `trajectoire calibrate` against {observed} ({} observations; seed {},\n# {} particles, {} runs per evaluation): the posterior medians, written into the file:\n",
        problem.observations().len(),
        s.seed,
        s.particles,
        s.runs
    );
    with_choices(&source.text, &choices, &heading, include)
}

/// A whole number with thousands separated by commas.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What `calibrate` prints: the estimates in plain words, the fit, what was assumed, the
/// warnings and where the files are.
pub fn summary_text(
    problem: &Work,
    calibration: &Calibration,
    observed: &str,
    wall_seconds: f64,
    out_dir: &std::path::Path,
) -> String {
    let s = problem.settings();
    let sample = &calibration.sample;
    let d = problem.observations().len();
    let mut out = format!(
        "Calibrated {} against {observed}: {d} observations, {} parameter(s), {} particles, {} generations, {} likelihood evaluations of {} each, in {:.0} s.\n",
        problem.base().name,
        problem.parameters().len(),
        s.particles,
        sample.generations.len(),
        count(sample.evaluations),
        if s.runs == 1 {
            "one run".to_string()
        } else {
            format!("{} runs", s.runs)
        },
        wall_seconds
    );
    for (p, e) in problem.parameters().iter().zip(&calibration.estimates) {
        out.push_str(&format!(
            "  {}: about {} (90% sure between {} and {}; the range given was {} to {})\n",
            p.path,
            words(e.median),
            words(e.low),
            words(e.high),
            words(e.prior_low),
            words(e.prior_high)
        ));
    }
    let inside = calibration.predictive.inside;
    out.push_str(&format!(
        "Fit: {inside} of {d} observations ({:.0}%) lie inside their 90% predictive interval (about 90% is expected of a good fit).\n",
        100.0 * inside as f64 / d.max(1) as f64
    ));
    for a in assumptions(problem) {
        out.push_str(&format!("Assumed: {a}.\n"));
    }
    for w in warnings(problem, calibration) {
        out.push_str(&format!("Warning: {w}.\n"));
    }
    out.push_str(&format!(
        "Written to {}/: parameters.csv, posterior.csv, calibrated.toml, calibration.json and the fit and posterior plots.\n",
        out_dir.display()
    ));
    out
}

/// The warnings of a calibration, in plain words.
pub fn warnings(work: &Work, calibration: &Calibration) -> Vec<String> {
    let (sample, estimates, correlations, noise, predictive) = (
        &calibration.sample,
        &calibration.estimates,
        &calibration.correlations,
        calibration.noise,
        &calibration.predictive,
    );
    let mut out = Vec::new();
    let paths: Vec<&str> = work.parameters().iter().map(|p| p.path.as_str()).collect();
    for (path, e) in paths.iter().zip(estimates) {
        let share = e.width_share();
        if share >= BARELY_INFORMED {
            out.push(format!(
                "the data say little about {path}: its 90% interval covers {:.0}% of what the prior alone allows; its estimate is mostly the range you gave",
                100.0 * share.min(1.0)
            ));
        }
        let width = e.prior_high - e.prior_low;
        let near_low = e.low - e.prior_low < 0.01 * width;
        let near_high = e.prior_high - e.high < 0.01 * width;
        if share < 0.5 && (near_low || near_high) {
            let edge = if near_low { e.prior_low } else { e.prior_high };
            out.push(format!(
                "{path} piles up against the edge of its range ({}): the data would take it further; widen the --vary range if that value is possible",
                words(edge)
            ));
        }
    }
    for j in 0..paths.len() {
        for k in 0..j {
            let r = correlations[j][k];
            if r.abs() >= ENTANGLED {
                let how = if r < 0.0 {
                    "more of one does what less of the other does"
                } else {
                    "they move together"
                };
                out.push(format!(
                    "the data cannot tell {} and {} apart well (rank correlation {r:.2}: {how}); they fix a combination of the two more than either: read their intervals together, not one by one",
                    paths[k], paths[j]
                ));
            }
        }
    }
    let n = sample.values.len();
    if sample.distinct * 2 < n {
        out.push(format!(
            "the effective sample size is low: only {} of the {n} particles are distinct, so the posterior is poorly explored; give more --particles",
            sample.distinct
        ));
    }
    if let Some(last) = sample.generations.last() {
        if last.acceptance < 0.05 {
            out.push(format!(
                "the sampler's last moves were rarely accepted ({:.1}%): the posterior is poorly explored; give more --runs (smoother likelihood) or more --particles",
                100.0 * last.acceptance
            ));
        }
        if last.temperature < 1.0 {
            out.push(format!(
                "the sampler stopped after {} generations before reaching the posterior: the intervals are too wide",
                sample.generations.len()
            ));
        }
    }
    if noise > NOISY {
        out.push(format!(
            "the likelihood estimates are noisy (standard deviation {noise:.1} at the posterior median; below {NOISY} is good): give more --runs, e.g. --runs {}",
            (work.settings().runs * 2).max(100)
        ));
    }
    let d = predictive.intervals.len();
    if d > 0 && (predictive.inside as f64) < 0.7 * d as f64 {
        out.push(format!(
            "only {} of the {d} observations fall inside their 90% predictive interval: the model, with only these parameters free, does not reproduce this history; look at the fit plot",
            predictive.inside
        ));
    }
    out
}

/// A number in a sentence: 3 significant digits, as the `--set` language reads it.
pub fn words(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return value_text(x, false);
    }
    let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{x:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn numbers_in_sentences_have_three_significant_digits() {
        assert_eq!(words(0.012345), "0.0123");
        assert_eq!(words(1234.7), "1235");
        assert_eq!(words(0.5), "0.5");
    }
}
