//! Elementary effects (Morris 1991), with Campolongo, Cariboni & Saltelli's (2007) μ*: r
//! trajectories of k + 1 points on a grid of L levels over [0, 1]^k, each moving one parameter
//! at a time by Δ = L / (2(L − 1)); for each parameter, the effects
//! (f(higher) − f(lower)) / Δ of its moves, their mean μ, mean absolute value μ* and standard
//! deviation σ, with a bootstrap interval for μ*. The same quantities as SALib's
//! `morris.analyze` on the same points.

use rand::Rng;

use super::sobol::{interval, Index};
use crate::random::draw::{below, uniform};

/// The step of a grid of `levels` levels: L / (2(L − 1)).
pub fn delta(levels: usize) -> f64 {
    levels as f64 / (2.0 * (levels as f64 - 1.0))
}

/// `r` trajectories of `k + 1` points each on a grid of `levels` levels (an even number),
/// trajectory after trajectory: a random start x* on the grid's lower levels (so that x* + Δ
/// stays in [0, 1]), each coordinate starting at x* or x* + Δ at random, then moving to the
/// other, one coordinate at a time in a random order (Morris's B* matrix).
pub fn sample(r: usize, k: usize, levels: usize, rng: &mut impl Rng) -> Vec<Vec<f64>> {
    // In grid levels (whole numbers), so that a level is always the same number in [0, 1]
    // whichever way a trajectory reached it; Δ is L/2 levels.
    let half = levels / 2;
    let unit = |level: usize| level as f64 / (levels - 1) as f64;
    let mut out = Vec::with_capacity(r * (k + 1));
    for _ in 0..r {
        let start: Vec<usize> = (0..k).map(|_| below(rng, half as u64) as usize).collect();
        let up: Vec<bool> = (0..k).map(|_| uniform(rng) < 0.5).collect();
        let mut level: Vec<usize> = start
            .iter()
            .zip(&up)
            .map(|(&s, &up)| if up { s } else { s + half })
            .collect();
        let mut order: Vec<usize> = (0..k).collect();
        for i in (1..k).rev() {
            order.swap(i, below(rng, i as u64 + 1) as usize);
        }
        out.push(level.iter().map(|&l| unit(l)).collect());
        for &j in &order {
            level[j] = if up[j] {
                level[j] + half
            } else {
                level[j] - half
            };
            out.push(level.iter().map(|&l| unit(l)).collect());
        }
    }
    out
}

/// The elementary-effect measures of one parameter.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Effects {
    /// Mean elementary effect.
    pub mu: f64,
    /// Mean absolute elementary effect, with its bootstrap interval.
    pub mu_star: Index,
    /// Standard deviation of the elementary effects (n − 1 in the denominator).
    pub sigma: f64,
}

/// The measures of each parameter from outputs `y` at the points `x` (in [0, 1]^k, as
/// [`sample`] lays them out) of `r` trajectories, with `resamples` bootstrap resamplings of
/// each parameter's effects for μ*'s interval.
pub fn analyze(
    x: &[Vec<f64>],
    y: &[f64],
    k: usize,
    levels: usize,
    resamples: usize,
    rng: &mut impl Rng,
) -> Vec<Effects> {
    let step = delta(levels);
    let mut effects = vec![Vec::new(); k];
    for (xs, ys) in x.chunks_exact(k + 1).zip(y.chunks_exact(k + 1)) {
        for i in 0..k {
            let (before, after) = (&xs[i], &xs[i + 1]);
            let Some(j) = (0..k).find(|&j| after[j] != before[j]) else {
                continue;
            };
            let effect = if after[j] > before[j] {
                (ys[i + 1] - ys[i]) / step
            } else {
                (ys[i] - ys[i + 1]) / step
            };
            effects[j].push(effect);
        }
    }
    effects
        .iter()
        .map(|e| {
            let n = e.len().max(1) as f64;
            let mu = e.iter().sum::<f64>() / n;
            let mu_star = e.iter().map(|v| v.abs()).sum::<f64>() / n;
            let sigma = if e.len() > 1 {
                (e.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
            } else {
                0.0
            };
            let mut replicates: Vec<f64> = (0..resamples)
                .map(|_| {
                    (0..e.len())
                        .map(|_| e[below(rng, e.len() as u64) as usize].abs())
                        .sum::<f64>()
                        / n
                })
                .collect();
            let (low, high, conf) = if e.is_empty() {
                (0.0, 0.0, 0.0)
            } else {
                interval(&mut replicates)
            };
            Effects {
                mu,
                mu_star: Index {
                    estimate: mu_star,
                    low,
                    high,
                    conf,
                },
                sigma,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// A linear function of the parameters' real values: μ* = |coefficient × range| and σ = 0
    /// exactly; a parameter it ignores gets μ* = 0 exactly.
    #[test]
    fn linear_functions_give_their_coefficients() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let (r, k, levels) = (30, 3, 4);
        // Ranges whose grid values (thirds of them) are whole numbers: every effect of a
        // parameter is then the same number, so σ is exactly 0.
        let ranges = [(0.0, 3.0), (-3.0, 3.0), (10.0, 13.0)];
        let coefficients = [2.0, -5.0, 0.0];
        let x = sample(r, k, levels, &mut rng);
        assert_eq!(x.len(), r * (k + 1));
        let y: Vec<f64> = x
            .iter()
            .map(|u| {
                u.iter()
                    .zip(ranges)
                    .zip(coefficients)
                    .map(|((u, (lo, hi)), c)| c * (lo + u * (hi - lo)))
                    .sum()
            })
            .collect();
        let e = analyze(&x, &y, k, levels, 100, &mut rng);
        for (j, ((lo, hi), c)) in ranges.iter().zip(coefficients).enumerate() {
            let expected = (c * (hi - lo)).abs();
            assert!(
                (e[j].mu_star.estimate - expected).abs() <= 1e-12 * expected.max(1.0),
                "μ* of x{j}: {} against {expected}",
                e[j].mu_star.estimate
            );
        }
        for (j, e) in e.iter().enumerate() {
            assert_eq!(e.sigma, 0.0, "σ of x{j}");
        }
        assert_eq!(e[2].mu_star.estimate, 0.0);
        assert!((e[1].mu + 30.0).abs() < 1e-12, "μ of x1: {}", e[1].mu);
    }

    /// Every trajectory stays on the grid, in [0, 1], and moves each coordinate once by Δ.
    #[test]
    fn trajectories_move_each_parameter_once_by_delta() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let (k, levels) = (5, 6);
        let x = sample(40, k, levels, &mut rng);
        for t in x.chunks_exact(k + 1) {
            let mut moved = vec![0; k];
            for w in t.windows(2) {
                let changed: Vec<usize> = (0..k).filter(|&j| w[0][j] != w[1][j]).collect();
                assert_eq!(changed.len(), 1);
                let j = changed[0];
                assert!(((w[1][j] - w[0][j]).abs() - delta(levels)).abs() < 1e-12);
                moved[j] += 1;
            }
            assert!(moved.iter().all(|&m| m == 1));
            for p in t {
                for &u in p {
                    assert!((-1e-12..=1.0 + 1e-12).contains(&u));
                    let level = u * (levels - 1) as f64;
                    assert!((level - level.round()).abs() < 1e-9, "off the grid: {u}");
                }
            }
        }
    }
}
