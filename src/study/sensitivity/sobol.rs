//! Variance-based sensitivity (Sobol' indices) with Saltelli's design, the estimators SALib
//! uses: first order by Saltelli et al. (2010), total by Jansen (1999), second order by
//! Saltelli (2002), on outputs standardised as SALib standardises them, with bootstrap
//! intervals.
//!
//! Layout of the evaluated points (SALib's): for each base row i of two N × k matrices A and B
//! (the first and last k coordinates of a scrambled Sobol' sequence in 2k dimensions): A_i,
//! then AB_i^(1)…AB_i^(k) (A_i with coordinate j from B_i), then, with second-order indices,
//! BA_i^(1)…BA_i^(k) (B_i with coordinate j from A_i), then B_i: N(2k + 2) points, or N(k + 2).

use rand::Rng;

use crate::random::draw::below;
use crate::stats::{quantile, standard_deviation};
use crate::study::design::sobol::Sobol;

/// Points per base row.
pub fn step(k: usize, second_order: bool) -> usize {
    if second_order {
        2 * k + 2
    } else {
        k + 2
    }
}

/// The N(2k + 2) (or N(k + 2)) points in [0, 1)^k of a Saltelli design of `n` base rows, in
/// SALib's order.
pub fn sample(n: usize, k: usize, second_order: bool, rng: &mut impl Rng) -> Vec<Vec<f64>> {
    let base = Sobol::scrambled(2 * k, rng).points(n);
    let mut out = Vec::with_capacity(n * step(k, second_order));
    for row in &base {
        let (a, b) = row.split_at(k);
        out.push(a.to_vec());
        for j in 0..k {
            let mut ab = a.to_vec();
            ab[j] = b[j];
            out.push(ab);
        }
        if second_order {
            for j in 0..k {
                let mut ba = b.to_vec();
                ba[j] = a[j];
                out.push(ba);
            }
        }
        out.push(b.to_vec());
    }
    out
}

/// An index with its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Index {
    /// The estimate.
    pub estimate: f64,
    /// The 2.5th percentile of the bootstrap estimates.
    pub low: f64,
    /// The 97.5th percentile.
    pub high: f64,
    /// SALib's half-width: 1.96 × the bootstrap estimates' standard deviation.
    pub conf: f64,
}

/// The Sobol' indices of one output.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Indices {
    /// First order, per parameter.
    pub first: Vec<Index>,
    /// Total, per parameter.
    pub total: Vec<Index>,
    /// Second order, per pair (j, k) with j < k, in that order; empty without.
    pub second: Vec<((usize, usize), Index)>,
    /// Whether the output did not vary at all (every index is then 0).
    pub constant: bool,
}

/// The outputs split as SALib splits them: A, B, AB (per parameter), BA (per parameter).
struct Split {
    a: Vec<f64>,
    b: Vec<f64>,
    ab: Vec<Vec<f64>>,
    ba: Vec<Vec<f64>>,
}

fn split(y: &[f64], n: usize, k: usize, second_order: bool) -> Split {
    let s = step(k, second_order);
    let col = |c: usize| (0..n).map(|i| y[i * s + c]).collect::<Vec<f64>>();
    Split {
        a: col(0),
        b: col(s - 1),
        ab: (0..k).map(|j| col(1 + j)).collect(),
        ba: if second_order {
            (0..k).map(|j| col(1 + k + j)).collect()
        } else {
            Vec::new()
        },
    }
}

/// Means over the rows `rows` (a bootstrap sample, or every row).
struct Sums<'a> {
    rows: &'a [usize],
}

impl Sums<'_> {
    fn mean(&self, f: impl Fn(usize) -> f64) -> f64 {
        self.rows.iter().map(|&i| f(i)).sum::<f64>() / self.rows.len() as f64
    }

    /// The population variance of A and B together.
    fn variance(&self, s: &Split) -> f64 {
        let m = (self.mean(|i| s.a[i]) + self.mean(|i| s.b[i])) / 2.0;
        (self.mean(|i| (s.a[i] - m).powi(2)) + self.mean(|i| (s.b[i] - m).powi(2))) / 2.0
    }

    fn first(&self, s: &Split, j: usize, var: f64) -> f64 {
        ratio(self.mean(|i| s.b[i] * (s.ab[j][i] - s.a[i])), var)
    }

    fn total(&self, s: &Split, j: usize, var: f64) -> f64 {
        ratio(0.5 * self.mean(|i| (s.a[i] - s.ab[j][i]).powi(2)), var)
    }

    fn second(&self, s: &Split, j: usize, k: usize, var: f64) -> f64 {
        let v = ratio(
            self.mean(|i| s.ba[j][i] * s.ab[k][i] - s.a[i] * s.b[i]),
            var,
        );
        v - self.first(s, j, var) - self.first(s, k, var)
    }
}

/// x / var, 0 where the variance vanishes (as SALib does).
fn ratio(x: f64, var: f64) -> f64 {
    if var > f64::EPSILON {
        x / var
    } else {
        0.0
    }
}

/// The indices of outputs `y` (one per point of [`sample`]'s layout) of a design of `n` base
/// rows and `k` parameters, each with a bootstrap interval from `resamples` resamplings of the
/// base rows drawn with `rng`.
pub fn analyze(
    y: &[f64],
    n: usize,
    k: usize,
    second_order: bool,
    resamples: usize,
    rng: &mut impl Rng,
) -> Indices {
    let count = y.len() as f64;
    let mean = y.iter().sum::<f64>() / count;
    let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / count).sqrt();
    let constant = sd.is_nan() || sd <= 0.0 || y.iter().all(|&v| v == y[0]);
    let standard: Vec<f64> = if constant {
        vec![0.0; y.len()]
    } else {
        y.iter().map(|v| (v - mean) / sd).collect()
    };
    let s = split(&standard, n, k, second_order);
    let all: Vec<usize> = (0..n).collect();
    let whole = Sums { rows: &all };
    let var = whole.variance(&s);
    let pairs: Vec<(usize, usize)> = if second_order {
        (0..k)
            .flat_map(|j| (j + 1..k).map(move |l| (j, l)))
            .collect()
    } else {
        Vec::new()
    };
    // Each resample: the same rows for every index, as SALib draws one matrix of rows.
    let mut first_b = vec![Vec::with_capacity(resamples); k];
    let mut total_b = vec![Vec::with_capacity(resamples); k];
    let mut second_b = vec![Vec::with_capacity(resamples); pairs.len()];
    let mut rows = vec![0usize; n];
    for _ in 0..resamples {
        for r in rows.iter_mut() {
            *r = below(rng, n as u64) as usize;
        }
        let sample = Sums { rows: &rows };
        let v = sample.variance(&s);
        for j in 0..k {
            first_b[j].push(sample.first(&s, j, v));
            total_b[j].push(sample.total(&s, j, v));
        }
        for (p, &(j, l)) in pairs.iter().enumerate() {
            second_b[p].push(sample.second(&s, j, l, v));
        }
    }
    let index = |estimate: f64, replicates: &mut Vec<f64>| {
        if constant {
            return Index {
                estimate: 0.0,
                low: 0.0,
                high: 0.0,
                conf: 0.0,
            };
        }
        let (low, high, conf) = interval(replicates);
        Index {
            estimate,
            low,
            high,
            conf,
        }
    };
    Indices {
        first: (0..k)
            .map(|j| index(whole.first(&s, j, var), &mut first_b[j]))
            .collect(),
        total: (0..k)
            .map(|j| index(whole.total(&s, j, var), &mut total_b[j]))
            .collect(),
        second: pairs
            .iter()
            .enumerate()
            .map(|(p, &(j, l))| ((j, l), index(whole.second(&s, j, l, var), &mut second_b[p])))
            .collect(),
        constant,
    }
}

/// The 2.5th and 97.5th percentiles of bootstrap replicates (type 7), and 1.96 times their
/// standard deviation (SALib's confidence half-width); zeros without replicates.
pub fn interval(replicates: &mut [f64]) -> (f64, f64, f64) {
    let n = replicates.len();
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    replicates.sort_by(f64::total_cmp);
    let sd = standard_deviation(replicates);
    (
        quantile(replicates, 0.025),
        quantile(replicates, 0.975),
        crate::stats::Z95 * sd,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::f64::consts::PI;

    fn rng(seed: u64) -> rand_chacha::ChaCha8Rng {
        rand_chacha::ChaCha8Rng::seed_from_u64(seed)
    }

    fn check(name: &str, got: &[Index], truth: &[f64]) {
        for (j, (g, t)) in got.iter().zip(truth).enumerate() {
            assert!(
                g.low <= *t && *t <= g.high,
                "{name} of x{}: {t} outside [{}, {}] (estimate {})",
                j + 1,
                g.low,
                g.high,
                g.estimate
            );
        }
    }

    /// Ishigami (a = 7, b = 0.1) at N = 8,192: every true index inside its bootstrap interval.
    #[test]
    fn ishigami_indices_are_recovered() {
        let (n, k) = (8192, 3);
        let x = sample(n, k, true, &mut rng(1));
        let y: Vec<f64> = x
            .iter()
            .map(|u| {
                let [a, b, c] = [0, 1, 2].map(|j| -PI + 2.0 * PI * u[j]);
                a.sin() + 7.0 * b.sin().powi(2) + 0.1 * c.powi(4) * a.sin()
            })
            .collect();
        let s = analyze(&y, n, k, true, 1000, &mut rng(2));
        check("S1", &s.first, &[0.3139, 0.4424, 0.0]);
        check("ST", &s.total, &[0.5576, 0.4424, 0.2437]);
        // S13 = ST1 − S1 = 0.2437; S12 = S23 = 0.
        let truth = [0.0, 0.2437, 0.0];
        for ((_, index), t) in s.second.iter().zip(truth) {
            assert!(index.low <= t && t <= index.high, "{index:?} against {t}");
        }
    }

    /// Sobol's G function (a = 0, 1, 4.5, 9, 99, 99, 99, 99) at N = 8,192.
    #[test]
    fn g_function_indices_are_recovered() {
        let a = [0.0, 1.0, 4.5, 9.0, 99.0, 99.0, 99.0, 99.0];
        let (n, k) = (8192, a.len());
        let x = sample(n, k, false, &mut rng(3));
        let y: Vec<f64> = x
            .iter()
            .map(|u| {
                u.iter()
                    .zip(a)
                    .map(|(x, a)| ((4.0 * x - 2.0).abs() + a) / (1.0 + a))
                    .product()
            })
            .collect();
        let s = analyze(&y, n, k, false, 1000, &mut rng(4));
        let s1 = [
            0.7162, 0.1790, 0.0237, 0.0072, 7.2e-5, 7.2e-5, 7.2e-5, 7.2e-5,
        ];
        let st = [
            0.7871, 0.2422, 0.0343, 0.0105, 1.05e-4, 1.05e-4, 1.05e-4, 1.05e-4,
        ];
        check("S1", &s.first, &s1);
        check("ST", &s.total, &st);
        assert!(s.second.is_empty());
    }

    /// A parameter the output does not depend on gets exactly 0, with an interval of 0 width.
    #[test]
    fn a_parameter_without_effect_gets_zero() {
        let (n, k) = (256, 3);
        let x = sample(n, k, true, &mut rng(5));
        let y: Vec<f64> = x.iter().map(|u| u[0] + 2.0 * u[1] * u[1]).collect();
        let s = analyze(&y, n, k, true, 200, &mut rng(6));
        let none = s.first[2];
        assert_eq!((none.estimate, none.low, none.high), (0.0, 0.0, 0.0));
        let none = s.total[2];
        assert_eq!((none.estimate, none.low, none.high), (0.0, 0.0, 0.0));
        assert!(s.first[1].estimate > 0.3);
        let flat = analyze(&vec![0.5; y.len()], n, k, true, 10, &mut rng(7));
        assert!(flat.constant);
        assert!(flat.total.iter().all(|i| i.estimate == 0.0));
    }
}
