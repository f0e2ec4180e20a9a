//! Reading a posterior sample: each parameter's mean, median and 90% credible interval, the
//! rank correlations between parameters, and the warnings a town should read before trusting
//! an estimate (a parameter the data barely inform, two the data cannot tell apart, an
//! estimate against the edge of its prior, poor diagnostics, a history the model cannot
//! reproduce).

use serde::Serialize;

use super::predictive::Predictive;
use super::smc::Sample;
use super::Problem;
use crate::study::design::value_text;

/// One parameter's posterior, against its prior.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The prior's lower end.
    pub prior_low: f64,
    /// The prior's upper end.
    pub prior_high: f64,
    /// Posterior mean.
    pub mean: f64,
    /// Posterior median.
    pub median: f64,
    /// 5% quantile: the 90% credible interval's lower end.
    pub low: f64,
    /// 95% quantile: its upper end.
    pub high: f64,
}

impl Estimate {
    /// The interval's width as a share of the prior's own 90% interval (1: the data said
    /// nothing).
    pub fn width_share(&self) -> f64 {
        (self.high - self.low) / (0.9 * (self.prior_high - self.prior_low))
    }
}

/// Quantile `q` of sorted values (linear between order statistics).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = q * (sorted.len() - 1) as f64;
    let i = h.floor() as usize;
    let j = (i + 1).min(sorted.len() - 1);
    sorted[i] + (h - i as f64) * (sorted[j] - sorted[i])
}

/// Each parameter's estimate from equally weighted particles.
pub fn estimates(values: &[Vec<f64>], bounds: &[(f64, f64)]) -> Vec<Estimate> {
    bounds
        .iter()
        .enumerate()
        .map(|(j, &(prior_low, prior_high))| {
            let mut x: Vec<f64> = values.iter().map(|v| v[j]).collect();
            x.sort_by(f64::total_cmp);
            Estimate {
                prior_low,
                prior_high,
                mean: x.iter().sum::<f64>() / x.len() as f64,
                median: quantile(&x, 0.5),
                low: quantile(&x, 0.05),
                high: quantile(&x, 0.95),
            }
        })
        .collect()
}

/// Ranks from 1, ties given their average rank.
fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut out = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = rank;
        }
        i = j + 1;
    }
    out
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa > 0.0 && sbb > 0.0 {
        sab / (saa * sbb).sqrt()
    } else {
        0.0
    }
}

/// Spearman's rank correlation of every pair of parameters (1 on the diagonal).
pub fn rank_correlations(values: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let p = values.first().map_or(0, Vec::len);
    let ranked: Vec<Vec<f64>> = (0..p)
        .map(|j| ranks(&values.iter().map(|v| v[j]).collect::<Vec<f64>>()))
        .collect();
    (0..p)
        .map(|j| {
            (0..p)
                .map(|k| {
                    if j == k {
                        1.0
                    } else {
                        pearson(&ranked[j], &ranked[k])
                    }
                })
                .collect()
        })
        .collect()
}

/// The sample standard deviation (n − 1); 0 for fewer than two finite values, ∞ if any is
/// not finite.
pub fn standard_deviation(x: &[f64]) -> f64 {
    if x.iter().any(|v| !v.is_finite()) {
        return f64::INFINITY;
    }
    if x.len() < 2 {
        return 0.0;
    }
    let m = x.iter().sum::<f64>() / x.len() as f64;
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

/// Above this share of its prior's 90% interval, a parameter is barely informed.
pub const BARELY_INFORMED: f64 = 0.7;
/// Above this rank correlation (in size), two parameters are told apart poorly.
pub const ENTANGLED: f64 = 0.6;
/// Above this standard deviation, the likelihood estimates are too noisy.
pub const NOISY: f64 = 2.5;

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

/// The warnings of a calibration, in plain words.
pub fn warnings(
    problem: &Problem,
    sample: &Sample,
    estimates: &[Estimate],
    correlations: &[Vec<f64>],
    noise: f64,
    predictive: &Predictive,
) -> Vec<String> {
    let mut out = Vec::new();
    let paths: Vec<&str> = problem
        .parameters()
        .iter()
        .map(|p| p.path.as_str())
        .collect();
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
            (problem.settings().runs * 2).max(100)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_ranks_by_hand() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&x, 0.5), 3.0);
        assert_eq!(quantile(&x, 0.25), 2.0);
        assert!((quantile(&x, 0.05) - 1.2).abs() < 1e-12);
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
        // A monotone but not linear relation: rank correlation 1 and -1.
        let v: Vec<Vec<f64>> = (1..20)
            .map(|i| {
                let x = f64::from(i);
                vec![x, x.powi(3), 1.0 / x]
            })
            .collect();
        let r = rank_correlations(&v);
        assert!(
            (r[0][1] - 1.0).abs() < 1e-12 && (r[0][2] + 1.0).abs() < 1e-12,
            "{r:?}"
        );
        assert_eq!(standard_deviation(&[1.0, 3.0]), 2f64.sqrt());
        assert_eq!(words(0.012345), "0.0123");
        assert_eq!(words(1234.7), "1235");
        assert_eq!(words(0.5), "0.5");
    }
}
