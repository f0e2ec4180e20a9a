//! Sequential Monte Carlo with adaptive likelihood tempering (Del Moral, Doucet & Jasra 2006,
//! 2012): particles drawn from the uniform prior are carried to the posterior through
//! π_φ(θ) ∝ prior(θ) · L(θ)^φ, φ rising from 0 to 1. Each step picks the next φ so that the
//! reweighted particles keep an effective sample size of half their number, resamples them
//! (systematic resampling), and moves each by random-walk Metropolis–Hastings steps whose
//! proposal is the particles' own covariance scaled by 2.38²/p (Roberts & Rosenthal 2001),
//! as many steps as make it likely that each particle has moved (Drovandi & Pettitt 2011).
//!
//! L is the synthetic likelihood ([`super::likelihood`]), a noisy estimate. Each
//! Metropolis–Hastings step scores the particle and its proposal afresh, on the same new runs
//! (Monte Carlo within Metropolis, O'Neill et al. 2000, with common random numbers): the
//! noise of their difference mostly cancels, and no particle keeps a lucky estimate that
//! would pin it in place (the stickiness of pseudo-marginal chains on a noisy synthetic
//! likelihood, Price et al. 2018). The price is twice the evaluations per step and a chain
//! that is not exactly reversible; the coverage tests measure what that costs.
//!
//! Reproducible at any thread count: every draw of the algorithm comes from one side stream
//! of the master seed, made in order by one thread; evaluation k simulates runs
//! k·R .. (k+1)·R of the master seed whichever thread does it; results are gathered in order.

use crate::random::draw::{normal, uniform};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

/// How the sampler is tuned.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tuning {
    /// Particles N.
    pub particles: usize,
    /// Effective sample size kept at each step, as a share of N.
    pub ess_share: f64,
    /// Chance that a particle has moved at least once, which sets the number of
    /// Metropolis–Hastings steps of a generation.
    pub move_chance: f64,
    /// Most Metropolis–Hastings steps in a generation.
    pub max_moves: usize,
    /// Most generations.
    pub max_generations: usize,
}

impl Tuning {
    /// The defaults, for `particles` particles.
    pub fn new(particles: usize) -> Tuning {
        Tuning {
            particles,
            ess_share: 0.5,
            move_chance: 0.9,
            max_moves: 10,
            max_generations: 200,
        }
    }
}

/// One step of the tempering.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generation {
    /// φ reached.
    pub temperature: f64,
    /// Effective sample size of the reweighted particles, before resampling.
    pub ess: f64,
    /// Share of Metropolis–Hastings proposals accepted.
    pub acceptance: f64,
    /// Metropolis–Hastings steps made.
    pub moves: usize,
    /// Likelihood evaluations made (proposals outside the prior are refused unseen).
    pub evaluations: u64,
}

/// The sampler's result: equally weighted particles from the posterior.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Particle i's values at `values[i]`.
    pub values: Vec<Vec<f64>>,
    /// Each particle's log-likelihood estimate.
    pub log_likelihoods: Vec<f64>,
    /// The steps.
    pub generations: Vec<Generation>,
    /// Likelihood evaluations in all (the initial ones included).
    pub evaluations: u64,
    /// Evaluation ids used (a pair scored on the same runs shares one): later draws use
    /// runs from this id on.
    pub ids: u64,
    /// Distinct particles at the end.
    pub distinct: usize,
}

/// What the sampler needs of the problem: the prior box and a likelihood, which may depend on
/// a reference point the sampler renews each generation (the particles' mean).
pub trait Target: Sync {
    /// What the likelihood of a generation is computed against.
    type Reference: Sync;
    /// The prior's lower and upper ends, per parameter.
    fn bounds(&self) -> &[(f64, f64)];
    /// The reference of generation `generation`, at the particles' mean `at`; `None` if
    /// cancelled.
    fn reference(&self, at: &[f64], generation: u64) -> Option<Self::Reference>;
    /// The log-likelihood estimate at `values` from evaluation `id` (its own runs); `None` if
    /// cancelled.
    fn log_likelihood(&self, reference: &Self::Reference, values: &[f64], id: u64) -> Option<f64>;
}

/// The particles' mean.
fn mean_of(values: &[Vec<f64>]) -> Vec<f64> {
    let p = values.first().map_or(0, Vec::len);
    (0..p)
        .map(|j| values.iter().map(|v| v[j]).sum::<f64>() / values.len() as f64)
        .collect()
}

/// Weights exp(δ (ℓᵢ − max ℓ)), 0 for a particle of −∞; none if every one is −∞.
fn weights(log_likelihoods: &[f64], delta: f64) -> Option<impl Iterator<Item = f64> + '_> {
    let top = log_likelihoods
        .iter()
        .copied()
        .filter(|l| l.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    top.is_finite().then(move || {
        log_likelihoods.iter().map(move |&l| {
            if l.is_finite() {
                (delta * (l - top)).exp()
            } else {
                0.0
            }
        })
    })
}

/// The effective sample size of weights exp(δ ℓᵢ): (Σw)² / Σw².
fn ess_at(log_likelihoods: &[f64], delta: f64) -> f64 {
    let Some(w) = weights(log_likelihoods, delta) else {
        return 0.0;
    };
    let (s, s2) = w.fold((0.0, 0.0), |(s, s2), w| (s + w, s2 + w * w));
    s * s / s2
}

/// The next temperature after `phi`: the largest step keeping the effective sample size at
/// `target` (1 if it stays above even there), by bisection.
fn next_temperature(log_likelihoods: &[f64], phi: f64, target: f64) -> f64 {
    let room = 1.0 - phi;
    if ess_at(log_likelihoods, room) >= target {
        return 1.0;
    }
    let (mut lo, mut hi) = (0.0, room);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if ess_at(log_likelihoods, mid) >= target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    // A step of at least a hair, so the tempering always advances.
    (phi + lo.max(room * 1e-12)).min(1.0)
}

/// Systematic resampling of weights exp(δ ℓᵢ): the indices of the particles kept.
fn resample(log_likelihoods: &[f64], delta: f64, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let n = log_likelihoods.len();
    let weights: Vec<f64> = match weights(log_likelihoods, delta) {
        Some(w) => w.collect(),
        None => vec![1.0; n],
    };
    let total: f64 = weights.iter().sum();
    let u = uniform(rng);
    let mut out = Vec::with_capacity(n);
    let mut cumulative = 0.0;
    let mut i = 0;
    for k in 0..n {
        let point = (u + k as f64) / n as f64 * total;
        while i + 1 < n && cumulative + weights[i] <= point {
            cumulative += weights[i];
            i += 1;
        }
        out.push(i);
    }
    out
}

/// The Cholesky factor (row-major p × p) of the particles' covariance scaled by 2.38²/p, with
/// a floor on each variance so that a collapsed dimension still moves.
fn proposal(values: &[Vec<f64>], bounds: &[(f64, f64)]) -> Vec<f64> {
    let p = bounds.len();
    let n = values.len() as f64;
    let mean: Vec<f64> = (0..p)
        .map(|j| values.iter().map(|v| v[j]).sum::<f64>() / n)
        .collect();
    let mut c = vec![0.0; p * p];
    for j in 0..p {
        for k in 0..=j {
            let s: f64 = values
                .iter()
                .map(|v| (v[j] - mean[j]) * (v[k] - mean[k]))
                .sum();
            c[j * p + k] = s / (n - 1.0).max(1.0) * 2.38 * 2.38 / p as f64;
        }
        let width = bounds[j].1 - bounds[j].0;
        c[j * p + j] += (1e-6 * width).powi(2);
    }
    if !crate::stats::linalg::cholesky(&mut c, p) {
        // Not positive definite (rounding): fall back to the diagonal.
        c.iter_mut().for_each(|x| *x = 0.0);
        for j in 0..p {
            let width = bounds[j].1 - bounds[j].0;
            c[j * p + j] = 0.1 * width;
        }
    }
    c
}

fn inside(values: &[f64], bounds: &[(f64, f64)]) -> bool {
    values
        .iter()
        .zip(bounds)
        .all(|(x, (lo, hi))| *x >= *lo && *x <= *hi)
}

/// Evaluates the log-likelihood at every point of `points`, evaluation ids from `*next`
/// (advanced past them); `None` if cancelled.
fn evaluate_all<T: Target>(
    target: &T,
    reference: &T::Reference,
    points: &[Vec<f64>],
    next: &mut u64,
) -> Option<Vec<f64>> {
    let first = *next;
    *next += points.len() as u64;
    points
        .par_iter()
        .enumerate()
        .map(|(i, v)| target.log_likelihood(reference, v, first + i as u64))
        .collect()
}

/// Samples the posterior of `target`. `report(evaluations done, evaluations planned)` is told
/// the progress; `None` if cancelled.
pub fn sample<T: Target>(
    target: &T,
    tuning: &Tuning,
    rng: &mut ChaCha8Rng,
    report: &dyn Fn(u64, u64),
) -> Option<(Sample, T::Reference)> {
    let bounds = target.bounds();
    let p = bounds.len();
    let n = tuning.particles;
    let mut values: Vec<Vec<f64>> = (0..n)
        .map(|_| {
            bounds
                .iter()
                .map(|(lo, hi)| lo + uniform(rng) * (hi - lo))
                .collect()
        })
        .collect();
    let mut next = 0;
    report(0, n as u64);
    let mut reference = target.reference(&mean_of(&values), 0)?;
    let mut log_likelihoods = evaluate_all(target, &reference, &values, &mut next)?;
    let mut evaluations = next;
    let per_step = 2 * n as u64;
    let mut planned = evaluations + per_step * tuning.max_moves as u64;
    report(evaluations, planned);
    let mut generations = Vec::new();
    let mut phi = 0.0;
    while phi < 1.0 && generations.len() < tuning.max_generations {
        let finite = log_likelihoods.iter().filter(|l| l.is_finite()).count();
        let goal = tuning.ess_share * finite as f64;
        let to = next_temperature(&log_likelihoods, phi, goal);
        let delta = to - phi;
        let ess = ess_at(&log_likelihoods, delta);
        let kept = resample(&log_likelihoods, delta, rng);
        values = kept.iter().map(|&i| values[i].clone()).collect();
        log_likelihoods = kept.iter().map(|&i| log_likelihoods[i]).collect();
        phi = to;
        reference = target.reference(&mean_of(&values), generations.len() as u64 + 1)?;
        let chol = proposal(&values, bounds);
        let start = evaluations;
        let (mut proposed, mut accepted) = (0usize, 0usize);
        let mut moves = 0;
        let mut steps = tuning.max_moves;
        while moves < steps {
            // Proposals and uniforms drawn in particle order, before any evaluation.
            let mut proposals = Vec::with_capacity(n);
            let mut uniforms = Vec::with_capacity(n);
            for v in &values {
                let z: Vec<f64> = (0..p).map(|_| normal(rng)).collect();
                let step: Vec<f64> = (0..p)
                    .map(|j| (0..=j).map(|k| chol[j * p + k] * z[k]).sum::<f64>())
                    .collect();
                proposals.push(
                    v.iter()
                        .zip(&step)
                        .map(|(x, s)| x + s)
                        .collect::<Vec<f64>>(),
                );
                uniforms.push(uniform(rng));
            }
            let candidates: Vec<usize> =
                (0..n).filter(|&i| inside(&proposals[i], bounds)).collect();
            // Each candidate and its particle are scored on the same fresh runs (one
            // evaluation id for the pair): their difference is then far less noisy than
            // either, and no particle keeps a lucky estimate for long.
            let first = next;
            next += candidates.len() as u64;
            evaluations += 2 * candidates.len() as u64;
            let scores: Option<Vec<(f64, f64)>> = candidates
                .par_iter()
                .enumerate()
                .map(|(k, &i)| {
                    let id = first + k as u64;
                    Some((
                        target.log_likelihood(&reference, &values[i], id)?,
                        target.log_likelihood(&reference, &proposals[i], id)?,
                    ))
                })
                .collect();
            for (&i, &(current, l)) in candidates.iter().zip(&scores?) {
                log_likelihoods[i] = current;
                let ratio = phi * (l - current);
                if l.is_finite() && (!current.is_finite() || (1.0 - uniforms[i]).ln() < ratio) {
                    values[i] = proposals[i].clone();
                    log_likelihoods[i] = l;
                    accepted += 1;
                }
            }
            proposed += n;
            moves += 1;
            if moves == 1 {
                let rate = accepted as f64 / n as f64;
                steps = if rate <= 0.0 {
                    tuning.max_moves
                } else if rate >= 1.0 {
                    1
                } else {
                    ((1.0 - tuning.move_chance).ln() / (1.0 - rate).ln()).ceil() as usize
                }
                .clamp(1, tuning.max_moves);
                planned = evaluations + per_step * (steps - 1) as u64;
            }
            report(evaluations, planned.max(evaluations));
        }
        generations.push(Generation {
            temperature: phi,
            ess,
            acceptance: accepted as f64 / proposed.max(1) as f64,
            moves,
            evaluations: evaluations - start,
        });
        planned = evaluations + per_step * tuning.max_moves as u64;
    }
    let mut sorted: Vec<&Vec<f64>> = values.iter().collect();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    sorted.dedup();
    let distinct = sorted.len();
    let sample = Sample {
        values,
        log_likelihoods,
        generations,
        evaluations,
        ids: next,
        distinct,
    };
    Some((sample, reference))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// A Gaussian likelihood with a known posterior: x ~ N(0.3, 0.05²) on a prior [0, 1],
    /// y ~ N(2, 0.4²) on [-5, 5], correlated 0.6 — the sampler must find its moments.
    struct Gaussian;

    impl Target for Gaussian {
        type Reference = ();
        fn bounds(&self) -> &[(f64, f64)] {
            &[(0.0, 1.0), (-5.0, 5.0)]
        }
        fn reference(&self, _: &[f64], _: u64) -> Option<()> {
            Some(())
        }
        fn log_likelihood(&self, _: &(), v: &[f64], _: u64) -> Option<f64> {
            let (a, b) = ((v[0] - 0.3) / 0.05, (v[1] - 2.0) / 0.4);
            let r: f64 = 0.6;
            Some(-0.5 * (a * a - 2.0 * r * a * b + b * b) / (1.0 - r * r))
        }
    }

    #[test]
    fn tempering_finds_a_known_gaussian_posterior() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (s, ()) = sample(&Gaussian, &Tuning::new(2000), &mut rng, &|_, _| {}).unwrap();
        let n = s.values.len() as f64;
        let mean = |j: usize| s.values.iter().map(|v| v[j]).sum::<f64>() / n;
        let (m0, m1) = (mean(0), mean(1));
        let sd = |j: usize, m: f64| {
            (s.values.iter().map(|v| (v[j] - m).powi(2)).sum::<f64>() / n).sqrt()
        };
        let (s0, s1) = (sd(0, m0), sd(1, m1));
        let r = s
            .values
            .iter()
            .map(|v| (v[0] - m0) * (v[1] - m1))
            .sum::<f64>()
            / n
            / (s0 * s1);
        assert!((m0 - 0.3).abs() < 0.006, "{m0}");
        assert!((m1 - 2.0).abs() < 0.05, "{m1}");
        assert!((s0 - 0.05).abs() < 0.006, "{s0}");
        assert!((s1 - 0.4).abs() < 0.05, "{s1}");
        assert!((r - 0.6).abs() < 0.08, "{r}");
        assert_eq!(s.generations.last().unwrap().temperature, 1.0);
        assert!(s.distinct > 1000, "{}", s.distinct);
    }

    #[test]
    fn resampling_keeps_particles_in_proportion_to_their_weights() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // Weights 1, 3 (ln 3 apart), and 0 for a −∞ particle.
        let l = [0.0, 3f64.ln(), f64::NEG_INFINITY, 0.0];
        let kept = resample(&l, 1.0, &mut rng);
        let count = |i| kept.iter().filter(|&&k| k == i).count();
        // Shares 1/5, 3/5, 0, 1/5 of 4 particles: systematic resampling keeps each within one.
        assert!(count(1) >= 2 && count(1) <= 3, "{kept:?}");
        assert_eq!(count(2), 0, "{kept:?}");
        assert_eq!(kept.len(), 4);
    }
}
