//! The synthetic likelihood of an observed history at one point (Wood 2010): the point's runs
//! give the mean μ(θ) and covariance S(θ) of the observed values, taken jointly — the same
//! run's engagement at month 24 and month 36 are correlated, and that correlation counts —
//! and the history y is scored as one draw of N(μ(θ), S(θ) + D), D = diag(sd²) the
//! observation errors:
//!
//! ℓ(θ) = −½ [ d ln 2π + ln det Σ + (y − μ)ᵀ Σ⁻¹ (y − μ) ],   Σ = S + D.
//!
//! Everything an evaluation needs is in a [`Scratch`] its caller owns and reuses: the runs'
//! values, the covariance and its Cholesky factor. Nothing is allocated per evaluation.

use crate::engine::{Block, Engine, LANES};
use crate::study::observed::{Observable, Observation};

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
        let lanes = b.lanes();
        match o.observable {
            Observable::Index(index) => {
                out[..lanes].copy_from_slice(&index.values(engine, o.territory, b)[..lanes])
            }
            Observable::Perpetuation => {
                for (x, a) in out[..lanes].iter_mut().zip(b.alive(o.territory)) {
                    *x = if *a { 1.0 } else { 0.0 };
                }
            }
        }
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
    mean: Vec<f64>,
    /// Σ, then its Cholesky factor (lower triangle, row-major d × d).
    sigma: Vec<f64>,
    residual: Vec<f64>,
    runs: usize,
}

impl Scratch {
    /// Buffers for `d` observations of `runs` runs.
    pub fn new(d: usize, runs: usize) -> Scratch {
        Scratch {
            x: vec![0.0; d * runs],
            mean: vec![0.0; d],
            sigma: vec![0.0; d * d],
            residual: vec![0.0; d],
            runs,
        }
    }

    /// Observation j's values over the runs.
    pub fn column(&self, j: usize) -> &[f64] {
        &self.x[j * self.runs..(j + 1) * self.runs]
    }
}

/// Simulates `runs` runs (`first..first + runs` of master seed `seed`) of `engine` and records
/// every observed value into `scratch` (which must have been made for `runs` runs). `false`
/// if cancelled (`cancelled` is asked once a month).
pub fn simulate(
    plan: &Plan,
    engine: &Engine,
    seed: u64,
    first: u64,
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
    true
}

/// ln 2π.
const LN_TAU: f64 = 1.837_877_066_409_345_5;

/// The synthetic log-likelihood of the plan's observed values from the runs recorded in
/// `scratch`; −∞ when Σ is not positive definite (it always is when every sd > 0).
pub fn log_likelihood(plan: &Plan, scratch: &mut Scratch) -> f64 {
    let d = plan.len();
    let runs = scratch.runs;
    let Scratch {
        x,
        mean,
        sigma,
        residual,
        ..
    } = scratch;
    for j in 0..d {
        let column = &x[j * runs..(j + 1) * runs];
        mean[j] = column.iter().sum::<f64>() / runs as f64;
    }
    // Centre in place: the covariance is then a sum of products.
    for j in 0..d {
        let m = mean[j];
        for v in &mut x[j * runs..(j + 1) * runs] {
            *v -= m;
        }
    }
    let denominator = if runs > 1 { (runs - 1) as f64 } else { 1.0 };
    for j in 0..d {
        let a = &x[j * runs..(j + 1) * runs];
        for k in 0..=j {
            let b = &x[k * runs..(k + 1) * runs];
            let s = if runs > 1 {
                dot(a, b) / denominator
            } else {
                0.0
            };
            sigma[j * d + k] = s;
        }
        sigma[j * d + j] += plan.noise[j];
    }
    if !cholesky(sigma, d) {
        return f64::NEG_INFINITY;
    }
    for j in 0..d {
        residual[j] = plan.y[j] - mean[j];
    }
    // Solve L z = (y − μ): then (y − μ)ᵀ Σ⁻¹ (y − μ) = |z|².
    let mut log_det = 0.0;
    for j in 0..d {
        let row = &sigma[j * d..j * d + j];
        let s = residual[j] - dot(row, &residual[..j]);
        let l = sigma[j * d + j];
        residual[j] = s / l;
        log_det += 2.0 * l.ln();
    }
    let quadratic = dot(residual, residual);
    -0.5 * (d as f64 * LN_TAU + log_det + quadratic)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    // Four partial sums: the same order at every call, so the same bits.
    let mut s = [0.0; 4];
    let chunks = a.len() / 4;
    for i in 0..chunks {
        for k in 0..4 {
            s[k] += a[4 * i + k] * b[4 * i + k];
        }
    }
    let mut tail = 0.0;
    for i in 4 * chunks..a.len() {
        tail += a[i] * b[i];
    }
    (s[0] + s[1]) + (s[2] + s[3]) + tail
}

/// In-place Cholesky factorisation of the symmetric matrix whose lower triangle is in `a`
/// (row-major n × n): afterwards the lower triangle holds L with L Lᵀ = A. `false` if A is
/// not positive definite.
pub fn cholesky(a: &mut [f64], n: usize) -> bool {
    for j in 0..n {
        for k in 0..j {
            let (head, tail) = a.split_at_mut(j * n);
            let row_k = &head[k * n..k * n + k];
            let row_j = &tail[..k];
            let s = tail[k] - dot(row_j, row_k);
            tail[k] = s / head[k * n + k];
        }
        let row = &a[j * n..j * n + j];
        let s = a[j * n + j] - dot(row, row);
        if s.is_nan() || s <= 0.0 || !s.is_finite() {
            return false;
        }
        a[j * n + j] = s.sqrt();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_reproduces_a_hand_factored_matrix() {
        // A = L Lᵀ with L = [[2, 0, 0], [1, 3, 0], [0.5, -1, 1.5]].
        let l = [[2.0, 0.0, 0.0], [1.0, 3.0, 0.0], [0.5, -1.0, 1.5]];
        let mut a = vec![0.0; 9];
        for i in 0..3 {
            for j in 0..=i {
                a[i * 3 + j] = (0..3).map(|k| l[i][k] * l[j][k]).sum();
            }
        }
        assert!(cholesky(&mut a, 3));
        for i in 0..3 {
            for j in 0..=i {
                assert!((a[i * 3 + j] - l[i][j]).abs() < 1e-12, "{i},{j}");
            }
        }
        let mut singular = vec![1.0, 0.0, 1.0, 1.0];
        assert!(!cholesky(&mut singular, 2));
    }

    #[test]
    fn log_likelihood_is_the_gaussian_density_of_the_runs_mean_and_covariance() {
        // Two observations, three runs: x₁ = (0.1, 0.2, 0.3), x₂ = (0.2, 0.2, 0.5).
        let plan = Plan {
            observations: Vec::new(),
            y: vec![0.25, 0.3],
            noise: vec![0.01, 0.04],
            by_month: Vec::new(),
        };
        let mut s = Scratch::new(2, 3);
        s.x = vec![0.1, 0.2, 0.3, 0.2, 0.2, 0.5];
        let ll = log_likelihood(&plan, &mut s);
        // By hand: μ = (0.2, 0.3); S = [[0.01, 0.015], [0.015, 0.03]]; Σ = S + diag(0.01, 0.04)
        // = [[0.02, 0.015], [0.015, 0.07]]; det = 0.0014 − 0.000225 = 0.001175;
        // r = (0.05, 0); rᵀΣ⁻¹r = 0.0025 · 0.07 / det.
        let det: f64 = 0.02 * 0.07 - 0.015 * 0.015;
        let q = 0.05 * 0.05 * 0.07 / det;
        let expected = -0.5 * (2.0 * (2.0 * std::f64::consts::PI).ln() + det.ln() + q);
        assert!((ll - expected).abs() < 1e-12, "{ll} vs {expected}");
    }
}
