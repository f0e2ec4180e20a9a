//! The synthetic likelihood of an observed history at one point (Wood 2010). Each of the
//! point's R runs, with an observation error drawn for each observed value (normal, of the
//! observation's sd), is one history the territory could have recorded; together they say how
//! far, and how jointly, a history strays from the point's mean — the same run's engagement
//! at month 24 and at month 36 are correlated, and that correlation counts.
//!
//! A full covariance of d observed values estimated from R runs makes a likelihood whose noise
//! grows as d/√(R − d) (a hundred observations would take thousands of runs per point), so
//! the covariance is taken in two parts (whitened synthetic likelihood, Priddle et al. 2022):
//! its correlations from a reference covariance Σ₀ = L Lᵀ, estimated once per generation
//! of the sampler with many runs at the particles' mean, and its variances from each point's
//! own runs. With z = L⁻¹x the whitened values (of each run, and of the history y),
//!
//! ℓ̂(θ) = −ln det L − ½ Σⱼ [ ln 2π + ln s²ⱼ + c (z_y,ⱼ − z̄ⱼ)² / s²ⱼ ],
//! c = (R − 3)/(R − 1) · R/(R + 1),
//!
//! z̄ⱼ, s²ⱼ the mean and variance of the point's whitened runs. The factor c undoes the bias of
//! the plug-in (E[1/s²] = (R − 1)/(R − 3)·1/σ², and z_y − z̄ has variance σ²(1 + 1/R)). Near
//! the reference, the whitened values are uncorrelated and this is the full synthetic
//! likelihood; as the particles close in on the posterior, the reference follows them.
//!
//! Without randomness in the model (every run the same), R = 1 and the likelihood is the
//! exact normal one of the observation errors.
//!
//! Everything an evaluation needs is in a [`Scratch`] its caller owns and reuses.

use crate::engine::{Block, Engine, LANES};
use crate::random::draw::normal_pair;
use crate::random::observation_rng;
use crate::stats::linalg::{cholesky, dot, forward};
use crate::study::observed::Observation;

/// What is observed, laid out for the runs: each observation's place, grouped by month.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The observations, in file order.
    pub observations: Vec<Observation>,
    /// Observed values y.
    y: Vec<f64>,
    /// Observation variances sd² (the assumed one where the file gives none).
    noise: Vec<f64>,
    /// For month t, `by_month[t]` lists the observations made then.
    by_month: Vec<Vec<usize>>,
}

impl Plan {
    /// The plan of `observations` for a model of `horizon` months; `assumed_sd` stands for a
    /// missing standard error.
    pub fn new(observations: Vec<Observation>, horizon: u32, assumed_sd: f64) -> Plan {
        let mut by_month = vec![Vec::new(); horizon as usize + 1];
        for (j, o) in observations.iter().enumerate() {
            if let Some(slot) = by_month.get_mut(o.month as usize) {
                slot.push(j);
            }
        }
        Plan {
            y: observations.iter().map(|o| o.value).collect(),
            noise: observations
                .iter()
                .map(|o| o.sd.unwrap_or(assumed_sd).powi(2))
                .collect(),
            observations,
            by_month,
        }
    }

    /// Number of observations d.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether nothing is observed.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Observation `j`'s value in every lane of block `b`, into `out` (one per lane).
    pub fn values(&self, j: usize, engine: &Engine, b: &Block, out: &mut [f64]) {
        let o = &self.observations[j];
        o.observable.write(engine, o.territory, b, out);
    }

    /// The observations made at month `t`.
    pub fn at(&self, t: u32) -> &[usize] {
        self.by_month.get(t as usize).map_or(&[], Vec::as_slice)
    }
}

/// The reusable buffers of likelihood evaluations (one per worker).
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    /// Observation j of run r at `x[j * runs + r]`.
    x: Vec<f64>,
    runs: usize,
}

impl Scratch {
    /// Buffers for `d` observations of `runs` runs.
    pub fn new(d: usize, runs: usize) -> Scratch {
        Scratch {
            x: vec![0.0; d * runs],
            runs,
        }
    }
}

/// The reference of a generation: the Cholesky factor L of a covariance Σ₀ of the observed
/// values, and the history whitened by it.
#[derive(Debug, Clone, PartialEq)]
pub struct Whitening {
    /// L, lower triangle, row-major d × d.
    l: Vec<f64>,
    /// L⁻¹ y.
    y: Vec<f64>,
    /// ln det L.
    log_det: f64,
}

/// Simulates runs `first..first + R` of master seed `seed` (R the runs `scratch` was made
/// for) of `engine` and records every observed value into `scratch`, each with its
/// observation error drawn from stream `errors` ([`observation_rng`]) when R > 1. `false` if
/// cancelled (`cancelled` is asked once a month).
#[allow(clippy::too_many_arguments)]
pub fn simulate(
    plan: &Plan,
    engine: &Engine,
    seed: u64,
    first: u64,
    errors: u64,
    block: &mut Block,
    scratch: &mut Scratch,
    cancelled: &dyn Fn() -> bool,
) -> bool {
    let runs = scratch.runs;
    let mut done = 0;
    while done < runs {
        let lanes = (runs - done).min(LANES);
        let mut stopped = false;
        engine.run_block(seed, first + done as u64, lanes, block, |t, b| {
            for &j in plan.at(t) {
                let column = &mut scratch.x[j * runs + done..j * runs + done + lanes];
                plan.values(j, engine, b, column);
            }
            if cancelled() {
                stopped = true;
                return false;
            }
            true
        });
        if stopped {
            return false;
        }
        done += lanes;
    }
    if runs > 1 {
        let mut rng = observation_rng(seed, errors);
        for (j, v) in plan.noise.iter().enumerate() {
            let sd = v.sqrt();
            // Both normals of each Box–Muller pair (the draws are a tenth of the time).
            for pair in scratch.x[j * runs..(j + 1) * runs].chunks_mut(2) {
                let (a, b) = normal_pair(&mut rng);
                pair[0] += sd * a;
                if let Some(x) = pair.get_mut(1) {
                    *x += sd * b;
                }
            }
        }
    }
    true
}

/// ln 2π.
const LN_TAU: f64 = 1.837_877_066_409_345_5;

impl Whitening {
    /// The reference of the runs recorded in `scratch` (many runs, with their observation
    /// errors): their covariance's Cholesky factor; the observation errors' alone (diagonal)
    /// should it not be positive definite.
    pub fn of(plan: &Plan, scratch: &Scratch) -> Whitening {
        let d = plan.len();
        let runs = scratch.runs;
        let x = &scratch.x;
        let mean: Vec<f64> = (0..d)
            .map(|j| x[j * runs..(j + 1) * runs].iter().sum::<f64>() / runs as f64)
            .collect();
        let centred: Vec<f64> = (0..d)
            .flat_map(|j| {
                let m = mean[j];
                x[j * runs..(j + 1) * runs].iter().map(move |v| v - m)
            })
            .collect();
        let mut l = vec![0.0; d * d];
        let denominator = (runs.max(2) - 1) as f64;
        for j in 0..d {
            let a = &centred[j * runs..(j + 1) * runs];
            for k in 0..=j {
                let b = &centred[k * runs..(k + 1) * runs];
                l[j * d + k] = dot(a, b) / denominator;
            }
        }
        if runs < 2 || !cholesky(&mut l, d) {
            l.iter_mut().for_each(|v| *v = 0.0);
            for j in 0..d {
                l[j * d + j] = plan.noise[j].sqrt();
            }
        }
        let mut y = plan.y.clone();
        forward(&l, d, &mut y, 1);
        let log_det = (0..d).map(|j| l[j * d + j].ln()).sum();
        Whitening { l, y, log_det }
    }
}

/// The synthetic log-likelihood of the plan's observed values from the runs recorded in
/// `scratch` (R ≥ 4, or R = 1), whitened by `reference`; −∞ when a whitened value does not
/// vary over the runs.
pub fn log_likelihood(plan: &Plan, reference: &Whitening, scratch: &mut Scratch) -> f64 {
    let d = plan.len();
    let runs = scratch.runs;
    if runs == 1 {
        // Every run the same: the observation errors are the whole spread.
        let mut ll = 0.0;
        for j in 0..d {
            let r = plan.y[j] - scratch.x[j];
            ll -= 0.5 * (LN_TAU + plan.noise[j].ln() + r * r / plan.noise[j]);
        }
        return ll;
    }
    forward(&reference.l, d, &mut scratch.x, runs);
    let r = runs as f64;
    let c = (r - 3.0) / (r - 1.0) * r / (r + 1.0);
    let mut ll = -reference.log_det;
    for j in 0..d {
        let z = &scratch.x[j * runs..(j + 1) * runs];
        let mean = z.iter().sum::<f64>() / r;
        let var = z.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (r - 1.0);
        if var.is_nan() || var <= 0.0 || c <= 0.0 {
            return f64::NEG_INFINITY;
        }
        let e = reference.y[j] - mean;
        ll -= 0.5 * (LN_TAU + var.ln() + c * e * e / var);
    }
    ll
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_likelihood_is_the_whitened_bias_corrected_density_of_the_runs() {
        // Two observations, six runs (already with their observation errors).
        let plan = Plan {
            observations: Vec::new(),
            y: vec![0.25, 0.3],
            noise: vec![0.01, 0.04],
            by_month: Vec::new(),
        };
        let a = [0.1, 0.2, 0.3, 0.15, 0.25, 0.2];
        let b = [0.2, 0.2, 0.5, 0.1, 0.4, 0.3];
        // A reference Σ₀ = L Lᵀ with L = [[0.1, 0], [0.05, 0.2]].
        let reference = Whitening {
            l: vec![0.1, 0.0, 0.05, 0.2],
            y: vec![0.25 / 0.1, (0.3 - 0.05 * 2.5) / 0.2],
            log_det: (0.1f64 * 0.2).ln(),
        };
        let mut s = Scratch::new(2, 6);
        s.x = a.iter().chain(&b).copied().collect();
        let ll = log_likelihood(&plan, &reference, &mut s);
        // By hand: z₁ = a / 0.1, z₂ = (b − 0.05 z₁) / 0.2; their means and variances (n − 1).
        let z1: Vec<f64> = a.iter().map(|v| v / 0.1).collect();
        let z2: Vec<f64> = b
            .iter()
            .zip(&z1)
            .map(|(v, z)| (v - 0.05 * z) / 0.2)
            .collect();
        let c = 3.0 / 5.0 * 6.0 / 7.0;
        let term = |z: &[f64], y: f64| {
            let m = z.iter().sum::<f64>() / 6.0;
            let v = z.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 5.0;
            (2.0 * std::f64::consts::PI).ln() + v.ln() + c * (y - m) * (y - m) / v
        };
        let expected = -(0.1f64 * 0.2).ln() - 0.5 * (term(&z1, 2.5) + term(&z2, 0.875));
        assert!((ll - expected).abs() < 1e-12, "{ll} vs {expected}");
        // The reference of these runs: their covariance's factor, and y whitened by it.
        let mut s = Scratch::new(2, 6);
        s.x = a.iter().chain(&b).copied().collect();
        let w = Whitening::of(&plan, &s);
        assert!((w.l[0] * w.l[0] - 0.005).abs() < 1e-12, "{:?}", w.l);
        assert!((w.y[0] - 0.25 / w.l[0]).abs() < 1e-12);
        // One run (a model without randomness): the observation errors alone.
        let mut one = Scratch::new(2, 1);
        one.x = vec![0.2, 0.3];
        let exact = -0.5
            * (2.0 * (2.0 * std::f64::consts::PI).ln()
                + (0.01f64 * 0.04).ln()
                + 0.05 * 0.05 / 0.01);
        assert!((log_likelihood(&plan, &reference, &mut one) - exact).abs() < 1e-12);
    }
}
