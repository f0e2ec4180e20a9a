//! The results of an ensemble (docs/model.md, The ensemble): for every territory, each index's mean and
//! quantiles month by month, perpetuation with its Wilson interval, the share of runs in each
//! phase, phase entries, spend. Read from the accumulators of the workers, exactly as from the
//! one they would merge into.

use std::borrow::Cow;

use rayon::prelude::*;
use serde::Serialize;

use super::accumulator::{Accumulator, Index, TerritoryAcc};
use super::fixed::FIXED;
use super::histogram::span_between;
use super::BINS;
use crate::model::Model;
use crate::stats::{histogram_quantile, integer_quantile, span_quantiles, wilson, LEVELS};

/// Mean and five quantiles of one index over months.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// `engagement`, `stabilisation`, `scale`, `engagement:<group>` or `anchored:<group>`.
    pub index: String,
    /// Mean over runs, month 0..=horizon.
    pub mean: Vec<f64>,
    /// 5th, 25th, 50th, 75th, 95th percentiles, each month 0..=horizon.
    pub quantiles: [Vec<f64>; 5],
}

/// Share of runs still alive at a month, with its Wilson 95% interval.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Survival {
    /// Share alive.
    pub share: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// How many runs reached a phase and when.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseEntry {
    /// Phase id.
    pub phase: String,
    /// Share of runs that entered it.
    pub reached: f64,
    /// Quantiles of the entry month among those, if any did.
    pub quantiles: Option<[f64; 5]>,
}

/// Mean and quantiles of a quantity.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Summary {
    /// Mean.
    pub mean: f64,
    /// 5th, 25th, 50th, 75th, 95th percentiles.
    pub quantiles: [f64; 5],
}

/// Results for one territory.
#[derive(Debug, Clone, Serialize)]
pub struct TerritoryResults {
    /// Territory id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Index series: engagement, stabilisation, scale, then engagement and anchored per group.
    pub series: Vec<Series>,
    /// Perpetuation, month 0..=horizon.
    pub perpetuation: Vec<Survival>,
    /// Phase ids.
    pub phases: Vec<String>,
    /// Share of runs in each phase: `phase_share[phase][month]`.
    pub phase_share: Vec<Vec<f64>>,
    /// Entry of each phase.
    pub phase_entries: Vec<PhaseEntry>,
    /// Total spend over the horizon, €.
    pub spend: Summary,
}

impl TerritoryResults {
    /// The series of an index by name.
    pub fn series(&self, index: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.index == index)
    }
}

/// Results of an ensemble.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// Runs simulated.
    pub runs: u64,
    /// Months simulated.
    pub horizon: u32,
    /// Per territory, in network order.
    pub territories: Vec<TerritoryResults>,
    /// Wall time of the simulation, seconds.
    pub wall_seconds: f64,
}

impl Accumulator {
    /// Turns the aggregates into results.
    pub fn results(&self, model: &Model, wall_seconds: f64) -> Results {
        results_of(std::slice::from_ref(self), model, wall_seconds)
    }
}

/// Adds up, element by element, one array of aggregates from every part.
fn summed<'a>(
    parts: &[&'a TerritoryAcc],
    field: impl Fn(&'a TerritoryAcc) -> &'a [u64],
) -> Cow<'a, [u64]> {
    match parts {
        [one] => Cow::Borrowed(field(one)),
        _ => {
            let mut total = field(parts[0]).to_vec();
            for part in &parts[1..] {
                total.iter_mut().zip(field(part)).for_each(|(t, x)| *t += x);
            }
            Cow::Owned(total)
        }
    }
}

/// The results of the runs that the accumulators `parts` (of the same engine, at least one)
/// recorded between them: those of the accumulator they would merge into, to the bit. A log
/// (see [`BlockLog`]) is counted here, cell by cell; histogram rows are read where they are.
pub fn results_of(parts: &[Accumulator], model: &Model, wall_seconds: f64) -> Results {
    let all_runs: u64 = parts.iter().map(|p| p.runs).sum();
    let runs = all_runs.max(1);
    let territories = model
        .territories
        .iter()
        .enumerate()
        .map(|(ti, t)| {
            let accs: Vec<&TerritoryAcc> = parts.iter().map(|p| &p.territories[ti]).collect();
            let (months, phases) = (accs[0].months, accs[0].phases);
            let names: Vec<String> = Index::all(t.groups.len()).map(|i| i.name(t)).collect();
            let logs: Vec<_> = accs
                .iter()
                .map(|a| (!a.log.is_empty()).then(|| a.log.by_month(months)))
                .collect();
            // The quantiles of every cell are most of the time here. Cells are independent:
            // shared out among the threads a few months at a time, each month's indices
            // together (a log holds a month's observations of every index side by side).
            let indices = names.len();
            let quantiles: Vec<Vec<[f64; 5]>> = (0..months)
                .into_par_iter()
                .with_min_len(4)
                .map_init(
                    || vec![0; BINS],
                    |counts, month| {
                        (0..indices)
                            .map(|i| cell_quantiles(&accs, &logs, i, month, counts))
                            .collect()
                    },
                )
                .collect();
            let series = names
                .into_iter()
                .enumerate()
                .map(|(i, index)| Series {
                    index,
                    mean: (i * months..(i + 1) * months)
                        .map(|cell| {
                            let sum: u128 = accs.iter().map(|a| a.sums[cell]).sum();
                            (sum as f64 / FIXED / runs as f64).clamp(0.0, 1.0)
                        })
                        .collect(),
                    quantiles: std::array::from_fn(|q| quantiles.iter().map(|v| v[i][q]).collect()),
                })
                .collect();
            let perpetuation = summed(&accs, |a| &a.alive)
                .iter()
                .map(|&k| {
                    let (low, high) = wilson(k, runs);
                    Survival {
                        share: k as f64 / runs as f64,
                        low,
                        high,
                    }
                })
                .collect();
            let in_phase = summed(&accs, |a| &a.in_phase);
            let phase_share = (0..phases)
                .map(|k| {
                    (0..months)
                        .map(|m| in_phase[m * phases + k] as f64 / runs as f64)
                        .collect()
                })
                .collect();
            let entries = summed(&accs, |a| &a.entries);
            let phase_entries = t
                .phases
                .iter()
                .enumerate()
                .map(|(k, p)| {
                    let counts = &entries[k * months..(k + 1) * months];
                    let reached: u64 = counts.iter().sum();
                    let quantiles = (reached > 0)
                        .then(|| LEVELS.map(|l| integer_quantile(counts, l).unwrap_or(0.0)));
                    PhaseEntry {
                        phase: p.id.clone(),
                        reached: reached as f64 / runs as f64,
                        quantiles,
                    }
                })
                .collect();
            let spend_sum: u128 = accs.iter().map(|a| a.spend_sum).sum();
            let spend_min = accs.iter().fold(f64::INFINITY, |m, a| m.min(a.spend_min));
            let spend_hi = accs
                .iter()
                .fold(f64::NEG_INFINITY, |m, a| m.max(a.spend_hi));
            let spend_counts = summed(&accs, |a| &a.spend_counts);
            let spend = Summary {
                mean: spend_sum as f64 / 1024.0 / runs as f64,
                quantiles: LEVELS.map(|l| {
                    histogram_quantile(
                        &spend_counts,
                        0.0,
                        accs[0].spend_max.max(f64::MIN_POSITIVE),
                        spend_min.min(spend_hi),
                        spend_hi.max(spend_min),
                        l,
                    )
                }),
            };
            TerritoryResults {
                id: t.id.clone(),
                name: t.name.clone(),
                series,
                perpetuation,
                phases: t.phases.iter().map(|p| p.id.clone()).collect(),
                phase_share,
                phase_entries,
                spend,
            }
        })
        .collect();
    Results {
        runs: all_runs,
        horizon: model.horizon(),
        territories,
        wall_seconds,
    }
}

/// The quantiles at [`LEVELS`] of the cell of index `index` at `month`, over what the parts
/// recorded between them: their histogram rows and their logs (`logs[p]`, part p's segments
/// by month, if it has any). `counts` is scratch space for [`BINS`] counts.
fn cell_quantiles(
    parts: &[&TerritoryAcc],
    logs: &[Option<(Vec<usize>, Vec<usize>)>],
    index: usize,
    month: usize,
    counts: &mut [u32],
) -> [f64; 5] {
    let cell = index * parts[0].months + month;
    let min = parts.iter().fold(f64::INFINITY, |m, a| m.min(a.min[cell]));
    let max = parts
        .iter()
        .fold(f64::NEG_INFINITY, |m, a| m.max(a.max[cell]));
    // Only the bins between the cell's least and greatest values can count anything.
    let Some(span) = span_between(min, max) else {
        return [0.0; 5];
    };
    let (first, q) = (span.start, &LEVELS);
    let rows = parts.iter().filter(|a| a.rows_used).count();
    if let ([part], None) = (parts, &logs[0]) {
        // One part's rows with no count past 16 bits (every cell of a small ensemble): read
        // the counts where they are.
        if let Some(low) = part.counts.low_row(cell) {
            return span_quantiles(&low[span], first, BINS, 0.0, 1.0, min, max, q);
        }
    }
    // The logs' counts, added up over the cell's span (they add up to the runs logged, far
    // below 2³²).
    counts[span.clone()].fill(0);
    for (part, log) in parts.iter().zip(logs) {
        let Some((order, starts)) = log else {
            continue;
        };
        for &segment in &order[starts[month]..starts[month + 1]] {
            part.log.add_counts(segment, index, counts);
        }
    }
    if rows == 0 {
        return span_quantiles(&counts[span.clone()], first, BINS, 0.0, 1.0, min, max, q);
    }
    let mut all = [0u64; BINS];
    for part in parts.iter().filter(|a| a.rows_used) {
        part.counts.add_row(cell, &mut all);
    }
    for k in span.clone() {
        all[k] += u64::from(counts[k]);
    }
    span_quantiles(&all[span.clone()], first, BINS, 0.0, 1.0, min, max, q)
}
