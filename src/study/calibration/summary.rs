//! Reading a posterior sample: each parameter's mean, median and 90% credible interval, the
//! rank correlations between parameters, and the warnings a town should read before trusting
//! an estimate (a parameter the data barely inform, two the data cannot tell apart, an
//! estimate against the edge of its prior, poor diagnostics, a history the model cannot
//! reproduce).

use serde::Serialize;

use crate::stats::quantile;

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

/// The standard deviation of log-likelihood estimates (n − 1; 0 for fewer than two), ∞ if
/// any is not finite: an evaluation that failed is as noisy as it gets.
pub fn noise(x: &[f64]) -> f64 {
    if x.iter().any(|v| !v.is_finite()) {
        return f64::INFINITY;
    }
    crate::stats::standard_deviation(x)
}

/// Above this share of its prior's 90% interval, a parameter is barely informed.
pub const BARELY_INFORMED: f64 = 0.7;
/// Above this rank correlation (in size), two parameters are told apart poorly.
pub const ENTANGLED: f64 = 0.6;
/// Above this standard deviation, the likelihood estimates are too noisy.
pub const NOISY: f64 = 2.5;

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
        assert_eq!(noise(&[1.0, 3.0]), 2f64.sqrt());
        assert_eq!(noise(&[1.0, f64::NAN]), f64::INFINITY);
    }
}
