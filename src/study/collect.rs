//! Gathering outcomes while the runs go: each run's value of each outcome, added up exactly —
//! successes for shares, Σx and Σx² in 2⁻⁵² fixed point for means (values scaled into
//! [0, 1]), entry months counted for medians — so that estimates are the same at any thread
//! count and for shards merged. [`Outcomes`] is an ensemble aggregate that keeps nothing else:
//! far less than the full results, which is what sweeps and tests need.

use std::ops::Range;

use crate::engine::{Block, Engine, LANES};
use serde::{Deserialize, Serialize};

use crate::ensemble::canonical::Mismatch;
use crate::ensemble::{aggregate, fixed, merged, Aggregate, Controls, Ensemble, Workspace, FIXED};
use crate::model::Model;
use crate::stats::{mean_interval, median_interval, wilson, Estimate};

use super::outcome::{Estimator, Measure, Outcome};

/// Simulates runs `runs` of a model on at most `threads` workers of the current pool and
/// gathers `outcomes` (nothing else). `None` if cancelled.
pub fn gather(
    model: &Model,
    outcomes: &[Outcome],
    runs: Range<u64>,
    threads: usize,
    workspace: &Workspace,
    controls: &Controls<'_>,
) -> Option<Outcomes> {
    let engines = [Engine::new(model)];
    let ensemble = Ensemble::new(
        &engines,
        model.settings.seed,
        runs.start,
        runs.end - runs.start,
    );
    let make = || Outcomes::new(&engines[0], outcomes);
    let parts = aggregate(&ensemble, &make, workspace, controls, threads)?;
    merged(parts, workspace)
}

/// The largest magnitude of an outcome's per-run values, by which they are scaled into [0, 1].
pub fn outcome_scale(o: &Outcome, engine: &Engine) -> f64 {
    match o.measure {
        Measure::Spend => engine.max_spend(o.territory).max(f64::MIN_POSITIVE),
        Measure::Entry(_) => f64::from(engine.horizon()).max(1.0),
        _ => 1.0,
    }
}

/// Writes the per-lane values of outcome `o` into `out` if block `b` holds them now: at month
/// `t = Some(T)` for outcomes at month T, at the end of the runs (`t = None`) for `reached`,
/// `entry` (NaN where the phase was not reached) and `spend`. Shares are 1 or 0.
pub fn outcome_values(
    o: &Outcome,
    engine: &Engine,
    b: &Block,
    t: Option<u32>,
    out: &mut [f64],
) -> bool {
    let lanes = b.lanes();
    let out = &mut out[..lanes];
    let copy = |out: &mut [f64], v: &[f64]| out.copy_from_slice(v);
    match (o.measure, t) {
        (Measure::Perpetuation, Some(m)) if m == o.month => {
            for (x, a) in out.iter_mut().zip(b.alive(o.territory)) {
                *x = if *a { 1.0 } else { 0.0 };
            }
        }
        (Measure::Engagement, Some(m)) if m == o.month => {
            copy(out, b.engagement_index(o.territory))
        }
        (Measure::Stabilisation, Some(m)) if m == o.month => {
            copy(out, b.stabilisation_index(o.territory))
        }
        (Measure::Scale, Some(m)) if m == o.month => copy(out, b.reach(o.territory)),
        (Measure::GroupEngagement(g), Some(m)) if m == o.month => copy(out, b.engagement(g)),
        (Measure::GroupAnchored(g), Some(m)) if m == o.month => copy(out, b.anchored(g)),
        (Measure::Reached(k), None) => {
            let (_, offset) = engine.phases_of(o.territory);
            for (x, e) in out.iter_mut().zip(b.entry_month(offset + k)) {
                *x = if *e >= 0 && *e <= o.month as i32 {
                    1.0
                } else {
                    0.0
                };
            }
        }
        (Measure::Entry(k), None) => {
            let (_, offset) = engine.phases_of(o.territory);
            for (x, e) in out.iter_mut().zip(b.entry_month(offset + k)) {
                *x = if *e >= 0 { f64::from(*e) } else { f64::NAN };
            }
        }
        (Measure::Spend, None) => copy(out, b.spend(o.territory)),
        _ => return false,
    }
    true
}

/// Exact sums of one outcome's per-run values: successes for shares; Σx and Σx² of values
/// scaled into [0, 1], in 2⁻⁵² fixed point, for means; for medians, the runs by entry month.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutcomeSums {
    /// Runs with value 1 (shares).
    pub hits: u64,
    /// Σ fixed(x).
    pub sum: u128,
    /// Σ fixed(x²).
    pub sum_sq: u128,
    /// [month] runs whose value is that month (medians of `entry`).
    pub months: Vec<u64>,
    /// Runs with a value (not NaN).
    pub n: u64,
}

impl OutcomeSums {
    /// Adds values in [0, 1] (and their squares), each counted `weight` times.
    pub fn add_fixed(&mut self, values: impl Iterator<Item = f64>, weight: u64) {
        let (mut sum, mut sum_sq, mut n) = (0u128, 0u128, 0u64);
        for x in values {
            sum += u128::from(fixed(x));
            sum_sq += u128::from(fixed(x * x));
            n += 1;
        }
        self.sum += sum * u128::from(weight);
        self.sum_sq += sum_sq * u128::from(weight);
        self.n += n * weight;
    }

    /// Adds another's sums.
    pub fn add(&mut self, other: &OutcomeSums) {
        self.hits += other.hits;
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
        self.n += other.n;
        self.months
            .iter_mut()
            .zip(&other.months)
            .for_each(|(a, b)| *a += b);
    }

    /// The mean and t-interval of the values these sums were made of, scaled back by `scale`.
    pub fn mean(&self, scale: f64) -> Estimate {
        let e = mean_interval(self.n, self.sum as f64 / FIXED, self.sum_sq as f64 / FIXED);
        Estimate {
            estimate: e.estimate * scale,
            low: e.low * scale,
            high: e.high * scale,
            n: self.n,
        }
    }

    /// Whether these sums could be those of `runs` runs: at most that many with a value, at
    /// most as many successes, and runs by month adding up to those with a value.
    fn possible(&self, runs: u64) -> bool {
        let by_month = self.months.iter().fold(0u64, |a, &m| a.saturating_add(m));
        self.n <= runs
            && self.hits <= self.n
            && (self.months.is_empty() || by_month == self.n)
            && self.sum <= u128::from(self.n) << 52
            && self.sum_sq <= u128::from(self.n) << 52
    }
}

/// The saved form of [`Outcomes`]: the runs and every outcome's sums (a shard's payload).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedOutcomes {
    /// Runs recorded.
    pub runs: u64,
    /// Each outcome's sums, in order.
    pub sums: Vec<OutcomeSums>,
}

impl SavedOutcomes {
    /// Adds another's sums (of the same outcomes, other runs).
    pub fn add(&mut self, other: &SavedOutcomes) -> Result<(), Mismatch> {
        if self.sums.len() != other.sums.len()
            || self
                .sums
                .iter()
                .zip(&other.sums)
                .any(|(a, b)| a.months.len() != b.months.len())
        {
            return Err(Mismatch("the outcomes' sums differ in shape".into()));
        }
        self.runs += other.runs;
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            a.add(b);
        }
        Ok(())
    }

    /// Refuses sums of another number of runs than `runs`.
    pub fn has_runs(&self, runs: u64) -> Result<(), Mismatch> {
        if self.runs == runs {
            Ok(())
        } else {
            Err(Mismatch(format!(
                "it holds {} runs where its part has {runs}",
                self.runs
            )))
        }
    }
}

/// The outcomes of one scenario's runs, gathered run by run (observing the ensemble's first
/// scenario).
#[derive(Debug, Clone)]
pub struct Outcomes {
    outcomes: Vec<Outcome>,
    /// Each outcome's scale (see [`outcome_scale`]).
    scales: Vec<f64>,
    sums: Vec<OutcomeSums>,
    runs: u64,
    /// Per-lane values of the block being observed (allocated when first observed).
    values: Vec<f64>,
}

impl Outcomes {
    /// Empty sums of `outcomes` of `engine`'s runs.
    pub fn new(engine: &Engine, outcomes: &[Outcome]) -> Outcomes {
        let months = engine.horizon() as usize + 1;
        Outcomes {
            scales: outcomes.iter().map(|o| outcome_scale(o, engine)).collect(),
            sums: outcomes
                .iter()
                .map(|o| OutcomeSums {
                    months: vec![
                        0;
                        if o.estimator() == Estimator::Median {
                            months
                        } else {
                            0
                        }
                    ],
                    ..OutcomeSums::default()
                })
                .collect(),
            outcomes: outcomes.to_vec(),
            runs: 0,
            values: Vec::new(),
        }
    }

    /// Runs recorded.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// The outcomes gathered.
    pub fn outcomes(&self) -> &[Outcome] {
        &self.outcomes
    }

    /// Adds the values of a block at month `t` (`None`: the end of its runs).
    pub(super) fn observe_block(&mut self, engine: &Engine, t: Option<u32>, b: &Block, w: u32) {
        let weight = u64::from(w);
        let lanes = b.lanes();
        self.values.resize(LANES, 0.0);
        for ((o, sums), &scale) in self.outcomes.iter().zip(&mut self.sums).zip(&self.scales) {
            if !outcome_values(o, engine, b, t, &mut self.values) {
                continue;
            }
            let values = &self.values[..lanes];
            match o.estimator() {
                Estimator::Share => {
                    sums.hits += values.iter().filter(|v| **v > 0.5).count() as u64 * weight;
                    sums.n += lanes as u64 * weight;
                }
                Estimator::Mean => {
                    sums.add_fixed(values.iter().map(|v| (v / scale).clamp(0.0, 1.0)), weight);
                }
                Estimator::Median => {
                    for &v in values.iter().filter(|v| !v.is_nan()) {
                        sums.months[v as usize] += weight;
                        sums.n += weight;
                    }
                }
            }
        }
    }

    /// The values of outcome `o` in every lane of a block at month `t`, if they are known then.
    pub(super) fn values_of(
        &mut self,
        o: usize,
        engine: &Engine,
        b: &Block,
        t: Option<u32>,
    ) -> Option<&[f64]> {
        self.values.resize(LANES, 0.0);
        outcome_values(&self.outcomes[o], engine, b, t, &mut self.values)
            .then(|| &self.values[..b.lanes()])
    }

    /// Estimates and 95% intervals of the outcomes, in the order given: shares with Wilson
    /// intervals, means with t-intervals, medians with order-statistic intervals (NaN and
    /// `n = 0` when no run has a value).
    pub fn estimates(&self) -> Vec<Estimate> {
        let n = self.runs;
        self.outcomes
            .iter()
            .zip(&self.sums)
            .zip(&self.scales)
            .map(|((o, sums), &scale)| match o.estimator() {
                Estimator::Share => {
                    let (low, high) = wilson(sums.hits, n);
                    Estimate {
                        estimate: sums.hits as f64 / n.max(1) as f64,
                        low,
                        high,
                        n,
                    }
                }
                Estimator::Mean => Estimate {
                    n,
                    ..sums.mean(scale)
                },
                Estimator::Median => median_interval(&sums.months).unwrap_or(Estimate {
                    estimate: f64::NAN,
                    low: f64::NAN,
                    high: f64::NAN,
                    n: 0,
                }),
            })
            .collect()
    }

    /// The variance of each estimate from run-to-run randomness alone: p(1 − p)/n for a share,
    /// s²/n for a mean, and for a median the square of its interval's half-width over 1.96.
    pub fn noise_variances(&self) -> Vec<f64> {
        let n = self.runs.max(1) as f64;
        self.outcomes
            .iter()
            .zip(&self.sums)
            .zip(&self.scales)
            .zip(self.estimates())
            .map(|(((o, sums), &scale), e)| match o.estimator() {
                Estimator::Share => e.estimate * (1.0 - e.estimate) / n,
                Estimator::Mean => {
                    if sums.n < 2 {
                        return 0.0;
                    }
                    let m = sums.n as f64;
                    let (s, s2) = (sums.sum as f64 / FIXED, sums.sum_sq as f64 / FIXED);
                    let var = ((s2 - s * s / m) / (m - 1.0)).max(0.0);
                    var * scale * scale / m
                }
                Estimator::Median => {
                    if e.n == 0 {
                        return f64::NAN;
                    }
                    ((e.high - e.low) / (2.0 * crate::stats::Z95)).powi(2)
                }
            })
            .collect()
    }

    /// These sums without the memory observing blocks needs (kept many at a time).
    pub fn compact(mut self) -> Outcomes {
        self.values = Vec::new();
        self
    }

    /// Adds another's sums (of the same outcomes).
    pub fn add(&mut self, other: &Outcomes) {
        self.runs += other.runs;
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            a.add(b);
        }
    }

    /// The saved form of the sums.
    pub fn saved(&self) -> SavedOutcomes {
        SavedOutcomes {
            runs: self.runs,
            sums: self.sums.clone(),
        }
    }

    /// These (empty) sums with `saved`'s in their place, refused if they are not sums of the
    /// same outcomes or not those of any runs.
    pub fn loaded(mut self, saved: SavedOutcomes) -> Result<Outcomes, Mismatch> {
        if saved.sums.len() != self.sums.len() {
            return Err(Mismatch(format!(
                "it holds {} outcomes where {} are expected",
                saved.sums.len(),
                self.sums.len()
            )));
        }
        for (mine, theirs) in self.sums.iter().zip(&saved.sums) {
            if theirs.months.len() != mine.months.len() {
                return Err(Mismatch(
                    "an outcome's months do not fit the scenario".into(),
                ));
            }
            if !theirs.possible(saved.runs) {
                return Err(Mismatch(
                    "an outcome's sums are not those of any runs".into(),
                ));
            }
        }
        self.runs = saved.runs;
        self.sums = saved.sums;
        Ok(self)
    }
}

impl Aggregate for Outcomes {
    fn observe(&mut self, engines: &[Engine], t: u32, blocks: &[Block], weight: u32) {
        self.observe_block(&engines[0], Some(t), &blocks[0], weight);
    }

    fn finish(&mut self, engines: &[Engine], blocks: &[Block], weight: u32) {
        self.runs += blocks[0].lanes() as u64 * u64::from(weight);
        self.observe_block(&engines[0], None, &blocks[0], weight);
    }

    fn merge(&mut self, other: Self, _: &Workspace) {
        self.add(&other);
    }
}
