//! The full results of an ensemble, aggregated while it runs: for every territory, index and
//! month, the exact sum of the values (2⁻⁵² fixed point), their least and greatest, and their
//! histogram; runs alive, in each phase, entering each phase; the spend's sum and histogram.
//! Every aggregate is an integer or a min/max, so merging is exact and order-free.

use wide::f64x4;

use super::fixed::{bin, fixed};
use super::histogram::{cell_span, BlockLog, Histograms, Tally};
use super::{Aggregate, Workspace, SPEND_BINS};
use crate::engine::{Block, Engine, LANES};
use crate::model::Territory;

/// Most bytes of a territory's log: past them (a network of many territories, many groups),
/// a worker adds its counts into histogram rows as it goes.
pub(super) const LOG_BYTES: usize = 8 << 20;

/// One of a territory's indices, in the order of its histograms and of `trajectories.csv`:
/// engagement, stabilisation, scale, then the engagement of each group, then the anchored
/// engagement of each group. [`Index::all`] is the one place that order is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    /// The engagement index e.
    Engagement,
    /// The stabilisation index s.
    Stabilisation,
    /// The reach r (change of scale).
    Scale,
    /// E of the territory's group (local index).
    GroupEngagement(usize),
    /// A of the territory's group (local index).
    GroupAnchored(usize),
}

impl Index {
    /// A territory's indices, in order, for `groups` groups.
    pub fn all(groups: usize) -> impl Iterator<Item = Index> + Clone {
        [Index::Engagement, Index::Stabilisation, Index::Scale]
            .into_iter()
            .chain((0..groups).map(Index::GroupEngagement))
            .chain((0..groups).map(Index::GroupAnchored))
    }

    /// How many indices a territory of `groups` groups has.
    pub fn count(groups: usize) -> usize {
        3 + 2 * groups
    }

    /// The name in the outputs: `engagement`, `stabilisation`, `scale`, `engagement:<group>`
    /// or `anchored:<group>`.
    pub fn name(self, territory: &Territory) -> String {
        match self {
            Index::Engagement => "engagement".into(),
            Index::Stabilisation => "stabilisation".into(),
            Index::Scale => "scale".into(),
            Index::GroupEngagement(g) => format!("engagement:{}", territory.groups[g].id),
            Index::GroupAnchored(g) => format!("anchored:{}", territory.groups[g].id),
        }
    }

    /// This index of territory `t` in every lane of a block.
    pub fn values<'b>(self, engine: &Engine, t: usize, b: &'b Block) -> &'b [f64] {
        let first = engine.groups_of(t).start;
        match self {
            Index::Engagement => b.engagement_index(t),
            Index::Stabilisation => b.stabilisation_index(t),
            Index::Scale => b.reach(t),
            Index::GroupEngagement(g) => b.engagement(first + g),
            Index::GroupAnchored(g) => b.anchored(first + g),
        }
    }
}

/// One territory's aggregates.
#[derive(Debug, Clone)]
pub(super) struct TerritoryAcc {
    pub(super) months: usize,
    pub(super) phases: usize,
    /// [index][month][bin]: the low 16 bits of each count (see [`Histograms`]).
    pub(super) counts: Histograms,
    /// Whether any count went into `counts` since they were last cleared.
    pub(super) rows_used: bool,
    /// Each block's counts, kept one after the other instead of added into `counts` (see
    /// [`BlockLog`]).
    pub(super) log: BlockLog,
    /// [index][month] sums of value · 2⁵² (see [`fixed`]).
    pub(super) sums: Vec<u128>,
    pub(super) min: Vec<f64>,
    pub(super) max: Vec<f64>,
    /// [month] runs alive.
    pub(super) alive: Vec<u64>,
    /// [month][phase] runs in phase.
    pub(super) in_phase: Vec<u64>,
    /// [phase][month] runs whose entry month is month.
    pub(super) entries: Vec<u64>,
    /// The spend histogram's upper end: the largest spend a run can reach.
    pub(super) spend_max: f64,
    pub(super) spend_counts: Vec<u64>,
    /// Σ spend · 1024, truncated per run.
    pub(super) spend_sum: u128,
    pub(super) spend_min: f64,
    pub(super) spend_hi: f64,
}

impl TerritoryAcc {
    fn new(months: usize, phases: usize, indices: usize, spend_max: f64) -> TerritoryAcc {
        TerritoryAcc {
            months,
            phases,
            counts: Histograms::new(indices * months),
            rows_used: false,
            log: BlockLog::default(),
            sums: vec![0; indices * months],
            min: vec![f64::INFINITY; indices * months],
            max: vec![f64::NEG_INFINITY; indices * months],
            alive: vec![0; months],
            in_phase: vec![0; months * phases],
            entries: vec![0; phases * months],
            spend_max,
            spend_counts: vec![0; SPEND_BINS],
            spend_sum: 0,
            spend_min: f64::INFINITY,
            spend_hi: f64::NEG_INFINITY,
        }
    }

    /// Indices of this territory.
    pub(super) fn indices(&self) -> usize {
        self.sums.len() / self.months
    }

    /// Empties these aggregates for another ensemble of an engine whose largest spend is
    /// `spend_max`.
    fn clear(&mut self, spend_max: f64) {
        let TerritoryAcc {
            counts, min, max, ..
        } = self;
        if self.rows_used {
            counts.clear(|cell| cell_span(min, max, cell));
            self.rows_used = false;
        }
        self.log.clear();
        self.sums.fill(0);
        self.min.fill(f64::INFINITY);
        self.max.fill(f64::NEG_INFINITY);
        self.alive.fill(0);
        self.in_phase.fill(0);
        self.entries.fill(0);
        self.spend_max = spend_max;
        self.spend_counts.fill(0);
        self.spend_sum = 0;
        self.spend_min = f64::INFINITY;
        self.spend_hi = f64::NEG_INFINITY;
    }

    /// Adds the aggregates of `other`, of the same territory, leaving its histograms at zero.
    fn absorb(&mut self, other: &mut TerritoryAcc) {
        if other.rows_used {
            let TerritoryAcc {
                counts, min, max, ..
            } = other;
            self.counts.absorb(counts, |cell| cell_span(min, max, cell));
            self.rows_used = true;
            other.rows_used = false;
        }
        self.log.append(&mut other.log);
        let add = |a: &mut [u64], b: &[u64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.alive, &other.alive);
        add(&mut self.in_phase, &other.in_phase);
        add(&mut self.entries, &other.entries);
        add(&mut self.spend_counts, &other.spend_counts);
        self.sums
            .iter_mut()
            .zip(&other.sums)
            .for_each(|(x, y)| *x += y);
        self.min
            .iter_mut()
            .zip(&other.min)
            .for_each(|(x, y)| *x = x.min(*y));
        self.max
            .iter_mut()
            .zip(&other.max)
            .for_each(|(x, y)| *x = x.max(*y));
        self.spend_sum += other.spend_sum;
        self.spend_min = self.spend_min.min(other.spend_min);
        self.spend_hi = self.spend_hi.max(other.spend_hi);
        // Its histograms are all zero now: no span to clear when it is used again.
        other.min.fill(f64::INFINITY);
        other.max.fill(f64::NEG_INFINITY);
    }
}

/// Everything a worker has seen of one scenario's runs: the full results of an ensemble (docs/model.md).
#[derive(Debug, Clone)]
pub struct Accumulator {
    pub(super) runs: u64,
    pub(super) territories: Vec<TerritoryAcc>,
    /// The bins of one index over a block's lanes.
    bins: Vec<u16>,
    /// One index's counts over a block, before they go into its histogram row.
    tally: Tally,
    /// Whether observations go into the territories' logs rather than their histogram rows.
    pub(super) logging: bool,
}

/// The least and the greatest of `values` (not NaN), four lanes at a time with the
/// processor's own min and max (one instruction each; `f64::min` and `max` add two more per
/// four lanes for NaN, which never occurs here: the fuzzer checks it).
fn least_and_greatest(values: &[f64]) -> (f64, f64) {
    let mut quads = values.chunks_exact(4);
    let (mut lo, mut hi) = (f64x4::splat(f64::INFINITY), f64x4::splat(f64::NEG_INFINITY));
    for q in &mut quads {
        let x = f64x4::new([q[0], q[1], q[2], q[3]]);
        (lo, hi) = (lo.fast_min(x), hi.fast_max(x));
    }
    let (lo, hi) = (lo.to_array(), hi.to_array());
    let fold = |init: f64, f: fn(f64, f64) -> f64, quad: [f64; 4]| {
        quad.into_iter()
            .chain(quads.remainder().iter().copied())
            .fold(init, f)
    };
    (
        fold(f64::INFINITY, f64::min, lo),
        fold(f64::NEG_INFINITY, f64::max, hi),
    )
}

impl Accumulator {
    /// A new empty accumulator for this engine; with `logging`, its histograms are kept block
    /// by block (see [`BlockLog`]), for ensembles of at most [`super::LOG_RUNS`] runs.
    pub fn new(engine: &Engine, logging: bool) -> Accumulator {
        let months = engine.horizon() as usize + 1;
        let territories = (0..engine.territory_count())
            .map(|t| {
                let indices = Index::count(engine.groups_of(t).len());
                let (phases, _) = engine.phases_of(t);
                TerritoryAcc::new(months, phases, indices, engine.max_spend(t))
            })
            .collect();
        Accumulator {
            runs: 0,
            territories,
            bins: vec![0; LANES],
            tally: Tally::new(),
            logging,
        }
    }

    /// Whether this accumulator has the shape of `engine`'s: the same territories, each with
    /// as many months, indices and phases.
    pub fn fits(&self, engine: &Engine) -> bool {
        let months = engine.horizon() as usize + 1;
        self.territories.len() == engine.territory_count()
            && self.territories.iter().enumerate().all(|(t, acc)| {
                acc.months == months
                    && acc.phases == engine.phases_of(t).0
                    && acc.sums.len() == Index::count(engine.groups_of(t).len()) * months
            })
    }

    /// Empties this accumulator for another ensemble of `engine` (of its shape).
    pub(super) fn reset(&mut self, engine: &Engine, logging: bool) {
        self.runs = 0;
        for (t, territory) in self.territories.iter_mut().enumerate() {
            territory.clear(engine.max_spend(t));
        }
        self.logging = logging;
    }

    /// Records the state of every run of a block at month `t`, each counted `weight` times.
    /// Each histogram row is touched once for the whole block, while it is in cache.
    pub fn observe(&mut self, engine: &Engine, t: u32, b: &Block, weight: u32) {
        let t = t as usize;
        for (ti, acc) in self.territories.iter_mut().enumerate() {
            let groups = engine.groups_of(ti).len();
            // A log records each run once, and has a size it keeps to.
            let logging = self.logging
                && weight == 1
                && b.lanes() > 0
                && acc.log.counts.len() * 2 < LOG_BYTES;
            if logging {
                acc.log.start(t, Index::count(groups));
            }
            let (bins, tally) = (&mut self.bins, &mut self.tally);
            for (index, which) in Index::all(groups).enumerate() {
                let values = which.values(engine, ti, b);
                if values.is_empty() {
                    continue;
                }
                let cell = index * acc.months + t;
                // First the arithmetic, over lanes in SIMD: the exact sum and the bins.
                let mut sum = 0u64;
                for (&x, k) in values.iter().zip(bins.iter_mut()) {
                    // ≤ 1,024 values of at most 2⁵² each: no overflow in u64.
                    sum += fixed(x);
                    *k = bin(x) as u16;
                }
                let (lo, hi) = least_and_greatest(values);
                acc.sums[cell] += u128::from(sum) * u128::from(weight);
                acc.min[cell] = acc.min[cell].min(lo);
                acc.max[cell] = acc.max[cell].max(hi);
                // Then the counts, in a tally kept in L1, folded into the histogram row (or
                // the log) over the block's span of bins only: each row is touched once for
                // the whole block.
                tally.count(&bins[..values.len()]);
                let span = bin(lo)..bin(hi) + 1;
                if logging {
                    acc.log.record(index, span, tally);
                } else {
                    acc.counts.add_tally(cell, span, tally, weight);
                    acc.rows_used = true;
                }
            }
            let alive = b.alive(ti).iter().filter(|a| **a).count() as u64;
            acc.alive[t] += alive * u64::from(weight);
            // One counting pass per phase: incrementing a counter per lane would chain every
            // lane's update on the previous one when most runs share a phase.
            let phase = b.phase(ti);
            let counts = &mut acc.in_phase[t * acc.phases..(t + 1) * acc.phases];
            if counts.len() <= 8 {
                for (k, count) in counts.iter_mut().enumerate() {
                    let k = k as u32;
                    let n = phase.iter().map(|&p| u64::from(p == k)).sum::<u64>();
                    *count += n * u64::from(weight);
                }
            } else {
                for &k in phase {
                    counts[k as usize] += u64::from(weight);
                }
            }
        }
    }

    /// Records the end of every run of a block, each counted `weight` times.
    pub fn finish_block(&mut self, engine: &Engine, b: &Block, weight: u32) {
        self.runs += b.lanes() as u64 * u64::from(weight);
        for (ti, acc) in self.territories.iter_mut().enumerate() {
            let (phases, offset) = engine.phases_of(ti);
            for k in 0..phases {
                for &month in b.entry_month(offset + k) {
                    if month >= 0 {
                        acc.entries[k * acc.months + month as usize] += u64::from(weight);
                    }
                }
            }
            for &spend in b.spend(ti) {
                let bin = if acc.spend_max > 0.0 {
                    ((spend / acc.spend_max * SPEND_BINS as f64) as usize).min(SPEND_BINS - 1)
                } else {
                    0
                };
                acc.spend_counts[bin] += u64::from(weight);
                acc.spend_sum += ((spend * 1024.0) as u128) * u128::from(weight);
                acc.spend_min = acc.spend_min.min(spend);
                acc.spend_hi = acc.spend_hi.max(spend);
            }
        }
    }

    /// Adds another accumulator of the same engine into this one, exactly and in any order,
    /// and leaves `other` empty (its histograms at zero), ready for another ensemble.
    pub fn absorb(&mut self, other: &mut Accumulator) {
        self.runs += other.runs;
        other.runs = 0;
        for (a, b) in self.territories.iter_mut().zip(&mut other.territories) {
            a.absorb(b);
        }
    }

    /// Bytes of memory this accumulator takes.
    pub fn bytes(&self) -> usize {
        let vec = |n: usize, size: usize| n * size;
        self.territories
            .iter()
            .map(|t| {
                vec(t.counts.low.capacity(), 2)
                    + vec(t.counts.carries.len(), 24)
                    + vec(t.log.counts.capacity(), 2)
                    + vec(t.log.entries.capacity(), 8)
                    + vec(t.log.segments.capacity(), 16)
                    + vec(t.sums.len(), 16)
                    + vec(t.min.len() + t.max.len(), 8)
                    + vec(t.alive.len() + t.in_phase.len() + t.entries.len(), 8)
                    + vec(t.spend_counts.len(), 8)
            })
            .sum::<usize>()
            + self.bins.len() * 2
            + std::mem::size_of::<Tally>()
            + 4 * 2 * super::histogram::TALLY
    }

    /// Runs recorded.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// Whether some territory's histograms are kept block by block (see [`BlockLog`]).
    pub(super) fn is_logged(&self) -> bool {
        self.territories.iter().any(|t| !t.log.is_empty())
    }
}

/// One scenario's full results: the accumulator observes the first scenario's blocks.
impl Aggregate for Accumulator {
    fn observe(&mut self, engines: &[Engine], t: u32, blocks: &[Block], weight: u32) {
        Accumulator::observe(self, &engines[0], t, &blocks[0], weight);
    }

    fn finish(&mut self, engines: &[Engine], blocks: &[Block], weight: u32) {
        self.finish_block(&engines[0], &blocks[0], weight);
    }

    fn merge(&mut self, mut other: Self, workspace: &Workspace) {
        self.absorb(&mut other);
        workspace.keep_accumulator(other);
    }
}

/// Every scenario's full results, one accumulator per scenario of the ensemble.
#[derive(Debug, Clone)]
pub struct EachScenario(pub Vec<Accumulator>);

impl Aggregate for EachScenario {
    fn observe(&mut self, engines: &[Engine], t: u32, blocks: &[Block], weight: u32) {
        for ((acc, engine), block) in self.0.iter_mut().zip(engines).zip(blocks) {
            acc.observe(engine, t, block, weight);
        }
    }

    fn finish(&mut self, engines: &[Engine], blocks: &[Block], weight: u32) {
        for ((acc, engine), block) in self.0.iter_mut().zip(engines).zip(blocks) {
            acc.finish_block(engine, block, weight);
        }
    }

    fn merge(&mut self, other: Self, workspace: &Workspace) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            Aggregate::merge(a, b, workspace);
        }
    }
}
