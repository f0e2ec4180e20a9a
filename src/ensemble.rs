//! Stage 4 — the ensemble: many runs in parallel, aggregated while they run.
//!
//! Each rayon worker pulls blocks of run indices, steps each block together with its own
//! [`Block`] and adds what it sees to its own [`Accumulator`]; a worker left without blocks
//! takes over part of the runs of the busiest other worker's block, at the month they have
//! reached. Every aggregate is an integer (histogram counts with 1,000 bins over [0, 1], sums
//! in 2⁻⁵² fixed point) or a min/max, so merging accumulators is exact and order-free: the
//! results are byte-identical at any thread count and whichever worker steps which run, and a
//! run set split into shards and merged gives the same numbers. Memory depends on the horizon
//! and the number of indices, never on the number of runs (an ensemble of at most 4,096 runs
//! keeps its blocks' counts in a log instead of histogram rows, at most 8 MiB per territory
//! and worker: see `Log`); accumulators and blocks are kept from
//! one ensemble to the next. A sweep's many small ensembles run whole, side by side, one per
//! worker ([`simulate_each`]).

use std::borrow::Cow;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use wide::f64x4;

use crate::engine::{Block, Engine, LANES};
use crate::model::Model;
use crate::outcome::{mean_interval, median_interval, Estimate, Estimator, Measure, Outcome};

/// Histogram bins over [0, 1] for every index (bin width 0.001).
pub const BINS: usize = 1000;
/// Histogram bins for total spend over [0, largest possible spend].
pub const SPEND_BINS: usize = 10_000;
/// Most runs handed to a worker at a time: one full engine block.
pub const BLOCK: u64 = LANES as u64;
/// Quantile levels reported everywhere.
pub const LEVELS: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];
/// Fixed-point scale of the exact sums: each value in [0, 1] becomes an integer ≤ 2⁵².
const FIXED: f64 = (1u64 << 52) as f64;
/// 97.5% quantile of the standard normal.
pub const Z95: f64 = 1.959_963_984_540_054;

/// How a simulation is driven from outside: progress and cancellation.
pub struct Controls<'a> {
    /// Called with (runs done, runs in all) as blocks finish, from worker threads.
    pub progress: &'a (dyn Fn(u64, u64) + Sync),
    /// Set to stop early; the simulation then returns `None`.
    pub cancel: &'a AtomicBool,
}

/// Per-territory aggregates.
#[derive(Debug, Clone)]
struct TerritoryAcc {
    months: usize,
    phases: usize,
    /// [index][month][bin]: the low 16 bits of each count (see [`Histograms`]).
    counts: Histograms,
    /// Whether any count went into `counts` since they were last cleared.
    rows_used: bool,
    /// Each block's counts, kept one after the other instead of added into `counts` (see
    /// [`Log`]).
    log: Log,
    /// [index][month] sums of value · 2⁵² (see [`fixed`]).
    sums: Vec<u128>,
    min: Vec<f64>,
    max: Vec<f64>,
    /// [month] runs alive.
    alive: Vec<u64>,
    /// [month][phase] runs in phase.
    in_phase: Vec<u64>,
    /// [phase][month] runs whose entry month is month.
    entries: Vec<u64>,
    spend_max: f64,
    spend_counts: Vec<u64>,
    spend_sum: u128,
    spend_min: f64,
    spend_hi: f64,
}

impl TerritoryAcc {
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

/// A small ensemble's histograms, kept as each block's counts one after the other instead of
/// added up into histogram rows. Adding a block's counts into its rows costs every block a
/// sweep of rows that miss the cache (about 0.8 ms: a row per index and month), and the
/// workers' rows must then be merged; written one after the other, each block's counts over
/// the span of bins it uses take no more room and stream through the caches, and are added up
/// only at the end, cell by cell, in counters that stay in L1 (see [`results_of`]). The counts,
/// and so the results, are the same.
#[derive(Debug, Clone, Default)]
struct Log {
    /// Per month a block observed, its month and where its entries start in `entries`.
    segments: Vec<(u32, usize)>,
    /// Per segment, index by index: the block's first bin, its number of bins, and where its
    /// counts start in `counts`.
    entries: Vec<(u16, u16, u32)>,
    /// The blocks' counts over their spans of bins.
    counts: Vec<u16>,
}

impl Log {
    /// Starts the segment of a block's observations at `month`, of `indices` indices.
    fn start(&mut self, month: usize, indices: usize) {
        let at = self.entries.len();
        self.segments.push((month as u32, at));
        self.entries.resize(at + indices, (0, 0, 0));
    }

    /// Records, for index `index` of the segment last started, a block's counts over the bins
    /// `span`, taken from `tally` (which is left at zero there).
    fn record(&mut self, index: usize, span: Range<usize>, tally: &mut Tally) {
        let Some(&(_, at)) = self.segments.last() else {
            return;
        };
        let start = self.counts.len();
        let [c0, c1, c2, c3] = &mut *tally.counts;
        self.counts.extend(
            span.clone()
                .map(|k| std::mem::take(&mut c0[k]) + c1[k] + c2[k] + c3[k]),
        );
        for c in [c1, c2, c3] {
            c[span.clone()].fill(0);
        }
        self.entries[at + index] = (span.start as u16, span.len() as u16, start as u32);
    }

    /// Adds the counts of index `index` in segment `segment` to `out` (indexed by bin).
    fn add_counts(&self, segment: usize, index: usize, out: &mut [u32]) {
        let (first, bins, at) = self.entries[self.segments[segment].1 + index];
        let (first, bins, at) = (usize::from(first), usize::from(bins), at as usize);
        for (o, &n) in out[first..first + bins]
            .iter_mut()
            .zip(&self.counts[at..at + bins])
        {
            *o += u32::from(n);
        }
    }

    /// The segments in month order: `order[starts[m]..starts[m + 1]]` are those of month m.
    fn by_month(&self, months: usize) -> (Vec<usize>, Vec<usize>) {
        let mut starts = vec![0; months + 1];
        for &(m, _) in &self.segments {
            starts[m as usize + 1] += 1;
        }
        for m in 0..months {
            starts[m + 1] += starts[m];
        }
        let mut next = starts.clone();
        let mut order = vec![0; self.segments.len()];
        for (k, &(m, _)) in self.segments.iter().enumerate() {
            order[next[m as usize]] = k;
            next[m as usize] += 1;
        }
        (order, starts)
    }

    /// Moves the segments of `other` after these.
    fn append(&mut self, other: &mut Log) {
        let (entries, counts) = (self.entries.len(), self.counts.len() as u32);
        self.segments
            .extend(other.segments.drain(..).map(|(m, at)| (m, at + entries)));
        self.entries.extend(
            other
                .entries
                .drain(..)
                .map(|(first, bins, at)| (first, bins, at + counts)),
        );
        self.counts.append(&mut other.counts);
    }

    fn clear(&mut self) {
        self.segments.clear();
        self.entries.clear();
        self.counts.clear();
    }

    fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }
}

/// The bins of a cell that can hold counts, from the bin of its least value `min[cell]` to
/// the bin of its greatest `max[cell]`; `None` while it has seen no value.
fn cell_span(min: &[f64], max: &[f64], cell: usize) -> Option<Range<usize>> {
    span_between(min[cell], max[cell])
}

/// The bins from that of `lo` to that of `hi`; `None` if `lo > hi` (no value seen).
fn span_between(lo: f64, hi: f64) -> Option<Range<usize>> {
    (lo <= hi).then(|| bin(lo)..bin(hi) + 1)
}

/// The histograms of one territory, one row of [`BINS`] counts per (index, month) cell, in
/// 16 bits: half the memory of 32-bit counts, so half the pages to clear for every ensemble
/// and half the cache lines swept per block. A count that outgrows 16 bits keeps its higher
/// part in its cell's short list of carries — at most a few bins per cell, since a cell's
/// counts add up to the runs observed. Exact, and merged exactly.
#[derive(Debug, Clone)]
struct Histograms {
    low: Vec<u16>,
    /// Per cell: (bin, count >> 16) for the bins whose count reached 2¹⁶.
    carries: Vec<Vec<(u16, u64)>>,
}

impl Histograms {
    /// Histograms of `cells` cells, all zero; their rows take memory only once counts go in
    /// (an ensemble that logs its counts never needs them: see [`Log`]).
    fn new(cells: usize) -> Histograms {
        Histograms {
            low: Vec::new(),
            carries: vec![Vec::new(); cells],
        }
    }

    /// The rows, made (all zero) if they have not been yet.
    // `vec![0; n]` would be calloc'd: see the comment below for why the zeros are written.
    #[allow(clippy::slow_vector_initialization)]
    fn rows(&mut self) -> &mut [u16] {
        if self.low.is_empty() {
            // Zeros written rather than calloc'd pages: the first touch of a calloc'd page is
            // a read (the fold adds to it), which maps the shared zero page, and the write then
            // faults again; writing the zeros up front costs one fault per page instead of two.
            let cells = self.carries.len();
            self.low.reserve_exact(cells * BINS);
            self.low.resize(cells * BINS, 0);
        }
        &mut self.low
    }

    /// Adds `n` to bin `bin` of `cell`.
    #[inline]
    fn add(&mut self, cell: usize, bin: usize, n: u64) {
        let low = &mut self.rows()[cell * BINS + bin];
        let total = u64::from(*low) + n;
        *low = total as u16;
        if total >> 16 != 0 {
            carry(&mut self.carries[cell], bin, total >> 16);
        }
    }

    /// Adds a block's tally of the bins `span` of `cell`, each counted `weight` times, and
    /// clears the tally there.
    fn add_tally(&mut self, cell: usize, span: Range<usize>, tally: &mut Tally, weight: u32) {
        self.rows();
        let row = &mut self.low[cell * BINS..(cell + 1) * BINS][span.clone()];
        let [c0, c1, c2, c3] = &mut *tally.counts;
        let (c0, c1, c2, c3) = (
            &mut c0[span.clone()],
            &mut c1[span.clone()],
            &mut c2[span.clone()],
            &mut c3[span.clone()],
        );
        if weight == 1 {
            // One pass over the span in SIMD: a block's count in a bin is at most LANES < 2¹⁶,
            // so it is added in 16 bits with wrapping, and kept in the first counter row (the
            // others are cleared). A sum that wrapped is smaller than what was added and
            // carries exactly 2¹⁶ (rare: looked for only if some sum wrapped).
            let mut wrapped = false;
            for k in 0..row.len() {
                let n = c0[k] + c1[k] + c2[k] + c3[k];
                (c0[k], c1[k], c2[k], c3[k]) = (n, 0, 0, 0);
                row[k] = row[k].wrapping_add(n);
                wrapped |= row[k] < n;
            }
            if wrapped {
                for (k, (&low, &n)) in row.iter().zip(c0.iter()).enumerate() {
                    if low < n {
                        carry(&mut self.carries[cell], span.start + k, 1);
                    }
                }
            }
        } else {
            for k in 0..row.len() {
                let n = [c0[k], c1[k], c2[k], c3[k]]
                    .map(u64::from)
                    .iter()
                    .sum::<u64>()
                    * u64::from(weight);
                (c1[k], c2[k], c3[k]) = (0, 0, 0);
                self.add(cell, span.start + k, n);
            }
        }
        c0.fill(0);
    }

    /// Adds another territory's histograms, whose counts of each cell lie in `span(cell)`, and
    /// leaves them at zero (the rows are in cache: clearing them here is nearly free, and the
    /// other histograms can serve another ensemble). Cells are independent: they are merged in
    /// parallel, a few hundred per task.
    fn absorb(
        &mut self,
        other: &mut Histograms,
        span: impl Fn(usize) -> Option<Range<usize>> + Sync,
    ) {
        const CELLS: usize = 256;
        if other.low.is_empty() {
            return;
        }
        self.rows();
        self.low
            .par_chunks_mut(CELLS * BINS)
            .zip(self.carries.par_chunks_mut(CELLS))
            .zip(other.low.par_chunks_mut(CELLS * BINS))
            .zip(other.carries.par_chunks_mut(CELLS))
            .enumerate()
            .for_each(|(task, (((low, mine), other_low), theirs))| {
                for (k, (mine, theirs)) in mine.iter_mut().zip(theirs).enumerate() {
                    let Some(bins) = span(task * CELLS + k) else {
                        continue;
                    };
                    let first = bins.start;
                    let a = &mut low[k * BINS..(k + 1) * BINS][bins.clone()];
                    let b = &mut other_low[k * BINS..(k + 1) * BINS][bins];
                    // Wrapping adds over the row in SIMD; a sum that wrapped is smaller than
                    // what was added, and carries exactly 2¹⁶ (rare: looked for only if some
                    // sum wrapped).
                    let mut wrapped = false;
                    for (a, &b) in a.iter_mut().zip(b.iter()) {
                        *a = a.wrapping_add(b);
                        wrapped |= *a < b;
                    }
                    if wrapped {
                        for (bin, (&a, &b)) in a.iter().zip(b.iter()).enumerate() {
                            if a < b {
                                carry(mine, first + bin, 1);
                            }
                        }
                    }
                    b.fill(0);
                    for (bin, high) in theirs.drain(..) {
                        carry(mine, usize::from(bin), high);
                    }
                }
            });
    }

    /// Sets every count of the cells whose counts lie in `span(cell)` back to zero.
    fn clear(&mut self, span: impl Fn(usize) -> Option<Range<usize>>) {
        for (cell, carries) in self.carries.iter_mut().enumerate() {
            if let Some(bins) = span(cell) {
                if let Some(row) = self.low.get_mut(cell * BINS..(cell + 1) * BINS) {
                    row[bins].fill(0);
                }
                carries.clear();
            }
        }
    }

    /// The counts of `cell` as they are stored, if none of them outgrew 16 bits.
    fn low_row(&self, cell: usize) -> Option<&[u16]> {
        static ZEROS: [u16; BINS] = [0; BINS];
        self.carries[cell].is_empty().then(|| {
            self.low
                .get(cell * BINS..(cell + 1) * BINS)
                .unwrap_or(&ZEROS)
        })
    }

    /// Adds the full counts of `cell` to `out`.
    fn add_row(&self, cell: usize, out: &mut [u64; BINS]) {
        let row = self.low.get(cell * BINS..(cell + 1) * BINS).unwrap_or(&[]);
        for (o, &c) in out.iter_mut().zip(row) {
            *o += u64::from(c);
        }
        for &(bin, high) in &self.carries[cell] {
            out[usize::from(bin)] += high << 16;
        }
    }
}

/// Adds `high` · 2¹⁶ to bin `bin` in a cell's list of carries.
#[cold]
fn carry(carries: &mut Vec<(u16, u64)>, bin: usize, high: u64) {
    match carries.iter_mut().find(|(b, _)| usize::from(*b) == bin) {
        Some((_, h)) => *h += high,
        None => carries.push((bin as u16, high)),
    }
}

/// Counters as long as a histogram row, rounded up to a power of two so that a bin's index
/// (a `u16` below [`BINS`]) masked to it needs no bounds check.
const TALLY: usize = BINS.next_power_of_two();

/// The counts of one index over a block's lanes, per bin, before they go into a histogram
/// row: small enough to stay in L1. Four counters per bin, lane j counting in counter j mod 4:
/// consecutive lanes often share a bin, and four independent counters do not wait on each
/// other's last update. All zero between uses.
#[derive(Debug, Clone)]
struct Tally {
    counts: Box<[[u16; TALLY]; 4]>,
}

// A block's count in one bin, the sum of its four counters, must fit 16 bits.
const _: () = assert!(LANES < 1 << 16);

impl Tally {
    fn new() -> Tally {
        Tally {
            counts: Box::new([[0; TALLY]; 4]),
        }
    }

    /// Counts each lane's bin.
    #[inline]
    fn count(&mut self, bins: &[u16]) {
        let [c0, c1, c2, c3] = &mut *self.counts;
        let mut four = bins.chunks_exact(4);
        for b in &mut four {
            let k = |i: usize| usize::from(b[i]) & (TALLY - 1);
            c0[k(0)] += 1;
            c1[k(1)] += 1;
            c2[k(2)] += 1;
            c3[k(3)] += 1;
        }
        for &b in four.remainder() {
            c0[usize::from(b) & (TALLY - 1)] += 1;
        }
    }
}

/// Per-run outcome aggregates: successes for shares; Σx and Σx² in 2⁻⁵² fixed point for means
/// (values scaled into [0, 1]), so they merge exactly.
#[derive(Debug, Clone, Default)]
struct OutcomeAcc {
    hits: u64,
    sum: u128,
    sum_sq: u128,
}

/// Everything a worker has seen.
#[derive(Debug, Clone)]
pub struct Accumulator {
    runs: u64,
    territories: Vec<TerritoryAcc>,
    outcomes: Vec<Outcome>,
    outcome_accs: Vec<OutcomeAcc>,
    /// Per-lane outcome values of the block being observed.
    scratch: Vec<f64>,
    /// The bins of one index over a block's lanes.
    bins: Vec<u16>,
    /// One index's counts over a block, before they go into its histogram row.
    tally: Tally,
    /// Whether observations go into the territories' logs rather than their histogram rows.
    logging: bool,
}

/// Histogram indices of territory `t`: engagement, stabilisation, scale, then engagement and
/// anchored per group.
fn indices(engine: &Engine, t: usize) -> usize {
    3 + 2 * engine.groups_of(t).len()
}

/// Accumulators and blocks of finished ensembles, kept for the next ensembles of the same
/// shape. A sweep runs thousands of small ensembles, and making each worker's accumulator and
/// block anew (about 6.4 MB for the reference territory: every page faulted in, written, and
/// given back to the system at the end) cost a 1,000-run ensemble on 2 threads about a
/// millisecond of its twenty. At most as many of each are kept as the pool that returns them
/// has threads; [`release_spares`] frees them.
struct Spares {
    accumulators: Vec<Accumulator>,
    blocks: Vec<Block>,
}

static SPARES: Mutex<Spares> = Mutex::new(Spares {
    accumulators: Vec::new(),
    blocks: Vec::new(),
});

fn spares() -> MutexGuard<'static, Spares> {
    // Nothing panics while holding the lock; and a list left half-updated is still a list.
    SPARES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Takes a spare that `fits`, if there is one.
fn take<T>(spares: &mut Vec<T>, fits: impl Fn(&T) -> bool) -> Option<T> {
    let i = spares.iter().position(fits)?;
    Some(spares.swap_remove(i))
}

/// Keeps a spare, unless there are already as many as the current pool has threads (the
/// newest replace the oldest: they are the likeliest to fit the next ensemble).
fn keep<T>(spares: &mut Vec<T>, spare: T) {
    if spares.len() >= rayon::current_num_threads() {
        spares.remove(0);
    }
    spares.push(spare);
}

/// A block for `engine`: a spare one if one fits, else a new one.
fn block_for(engine: &Engine) -> Block {
    let spare = take(&mut spares().blocks, |b| engine.fits(b));
    spare.unwrap_or_else(|| engine.new_block())
}

/// Keeps a block for later ensembles.
fn recycle_block(block: Block) {
    keep(&mut spares().blocks, block);
}

/// Frees the accumulators and blocks that finished ensembles left for later ones. A program
/// that is done simulating, or about to simulate models of another shape, can give their
/// memory back; the next ensemble then makes its own again.
pub fn release_spares() {
    let (accumulators, blocks) = {
        let mut s = spares();
        (
            std::mem::take(&mut s.accumulators),
            std::mem::take(&mut s.blocks),
        )
    };
    drop((accumulators, blocks));
}

/// The largest magnitude of an outcome's per-run values, by which they are scaled into [0, 1].
fn outcome_scale(o: &Outcome, engine: &Engine) -> f64 {
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

/// Adds values in [0, 1] (and their squares) to an outcome's fixed-point sums.
fn add_fixed(acc: &mut OutcomeAcc, values: impl Iterator<Item = f64>, weight: u64) {
    let (mut sum, mut sum_sq) = (0u128, 0u128);
    for x in values {
        sum += u128::from(fixed(x));
        sum_sq += u128::from(fixed(x * x));
    }
    acc.sum += sum * u128::from(weight);
    acc.sum_sq += sum_sq * u128::from(weight);
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

/// 2⁵²: adding it to a number in [0, 2⁵²] leaves that number rounded to an integer in the
/// low bits of the sum's representation.
const MAGIC: f64 = (1u64 << 52) as f64;

/// x · 2⁵² rounded to the nearest integer, for x ∈ [0, 1]: the exact fixed-point value summed
/// for means. Plain float arithmetic and an integer subtraction (no float-to-integer
/// conversion, which Rust saturates and x86 cannot do on packed doubles), so loops over lanes
/// vectorise. (At x = 1 the sum is 2⁵³, whose representation is 2⁵² above 2⁵²'s: still right.)
#[inline(always)]
fn fixed(x: f64) -> u64 {
    (x * FIXED + MAGIC).to_bits() - MAGIC.to_bits()
}

/// The histogram bin of x ∈ [0, 1]: ⌊1000·x⌋, and 999 for x = 1. Same float-only trick as
/// [`fixed`]: round to nearest through 2⁵², step down when that rounded up.
#[inline(always)]
fn bin(x: f64) -> usize {
    let y = x * BINS as f64;
    let nearest = (y + MAGIC) - MAGIC;
    let floor = if nearest > y { nearest - 1.0 } else { nearest };
    let capped = if floor > (BINS - 1) as f64 {
        (BINS - 1) as f64
    } else {
        floor
    };
    // 2⁵²'s representation ends in 52 zero bits: the sum's low bits are the integer.
    (capped + MAGIC).to_bits() as u16 as usize
}

impl Accumulator {
    /// An empty accumulator for this engine.
    pub fn new(engine: &Engine) -> Accumulator {
        Accumulator::with_outcomes(engine, &[])
    }

    /// An empty accumulator that also collects these outcomes run by run: one a finished
    /// ensemble left, if it has this engine's shape, or a new one.
    pub fn with_outcomes(engine: &Engine, outcomes: &[Outcome]) -> Accumulator {
        let spare = take(&mut spares().accumulators, |a| a.fits(engine));
        let mut acc = match spare {
            Some(mut acc) => {
                acc.runs = 0;
                for (t, territory) in acc.territories.iter_mut().enumerate() {
                    territory.clear(engine.max_spend(t));
                }
                acc
            }
            None => Accumulator::allocate(engine),
        };
        acc.outcomes = outcomes.to_vec();
        acc.outcome_accs = vec![OutcomeAcc::default(); outcomes.len()];
        acc.logging = false;
        acc
    }

    /// Whether this accumulator has the shape of `engine`'s: the same territories, each with
    /// as many months, indices and phases.
    fn fits(&self, engine: &Engine) -> bool {
        let months = engine.horizon() as usize + 1;
        self.territories.len() == engine.territory_count()
            && self.territories.iter().enumerate().all(|(t, acc)| {
                acc.months == months
                    && acc.phases == engine.phases_of(t).0
                    && acc.sums.len() == indices(engine, t) * months
            })
    }

    /// A new empty accumulator for this engine.
    fn allocate(engine: &Engine) -> Accumulator {
        let months = engine.horizon() as usize + 1;
        let territories = (0..engine.territory_count())
            .map(|t| {
                let indices = indices(engine, t);
                let (phases, _) = engine.phases_of(t);
                TerritoryAcc {
                    months,
                    phases,
                    counts: Histograms::new(indices * months),
                    rows_used: false,
                    log: Log::default(),
                    sums: vec![0; indices * months],
                    min: vec![f64::INFINITY; indices * months],
                    max: vec![f64::NEG_INFINITY; indices * months],
                    alive: vec![0; months],
                    in_phase: vec![0; months * phases],
                    entries: vec![0; phases * months],
                    spend_max: engine.max_spend(t),
                    spend_counts: vec![0; SPEND_BINS],
                    spend_sum: 0,
                    spend_min: f64::INFINITY,
                    spend_hi: f64::NEG_INFINITY,
                }
            })
            .collect();
        Accumulator {
            runs: 0,
            territories,
            outcomes: Vec::new(),
            outcome_accs: Vec::new(),
            scratch: Vec::new(),
            bins: vec![0; LANES],
            tally: Tally::new(),
            logging: false,
        }
    }

    /// Adds a block's per-lane values of outcome `i` (NaN where a run has none).
    fn add_outcome(&mut self, engine: &Engine, i: usize, values: &[f64], weight: u32) {
        let o = &self.outcomes[i];
        let acc = &mut self.outcome_accs[i];
        match o.estimator() {
            Estimator::Share => {
                acc.hits += values.iter().filter(|v| **v > 0.5).count() as u64 * u64::from(weight);
            }
            Estimator::Mean => {
                let scale = outcome_scale(o, engine);
                add_fixed(
                    acc,
                    values.iter().map(|v| (v / scale).clamp(0.0, 1.0)),
                    u64::from(weight),
                );
            }
            // Medians come from the entry-month histograms.
            Estimator::Median => {}
        }
    }

    fn observe_outcomes(&mut self, engine: &Engine, t: Option<u32>, b: &Block, weight: u32) {
        let mut values = std::mem::take(&mut self.scratch);
        values.resize(LANES, 0.0);
        for i in 0..self.outcomes.len() {
            if outcome_values(&self.outcomes[i], engine, b, t, &mut values) {
                self.add_outcome(engine, i, &values[..b.lanes()], weight);
            }
        }
        self.scratch = values;
    }

    /// Estimates and 95% intervals of the collected outcomes, in the order given.
    pub fn outcome_estimates(&self, engine: &Engine) -> Vec<Estimate> {
        let n = self.runs;
        self.outcomes
            .iter()
            .zip(&self.outcome_accs)
            .map(|(o, acc)| match o.estimator() {
                Estimator::Share => {
                    let (low, high) = wilson(acc.hits, n);
                    Estimate {
                        estimate: acc.hits as f64 / n.max(1) as f64,
                        low,
                        high,
                        n,
                    }
                }
                Estimator::Mean => {
                    let scale = outcome_scale(o, engine);
                    let e = mean_interval(n, acc.sum as f64 / FIXED, acc.sum_sq as f64 / FIXED);
                    Estimate {
                        estimate: e.estimate * scale,
                        low: e.low * scale,
                        high: e.high * scale,
                        n,
                    }
                }
                Estimator::Median => {
                    let Measure::Entry(k) = o.measure else {
                        unreachable!("only entry() has a median estimator")
                    };
                    let acc = &self.territories[o.territory];
                    median_interval(&acc.entries[k * acc.months..(k + 1) * acc.months]).unwrap_or(
                        Estimate {
                            estimate: f64::NAN,
                            low: f64::NAN,
                            high: f64::NAN,
                            n: 0,
                        },
                    )
                }
            })
            .collect()
    }

    /// Records the state of every run of a block at month `t`, each counted `weight` times.
    /// Each histogram row is touched once for the whole block, while it is in cache.
    pub fn observe(&mut self, engine: &Engine, t: u32, b: &Block, weight: u32) {
        if !self.outcomes.is_empty() {
            self.observe_outcomes(engine, Some(t), b, weight);
        }
        let t = t as usize;
        for (ti, acc) in self.territories.iter_mut().enumerate() {
            let groups = engine.groups_of(ti);
            let n = groups.len();
            // A log records each run once, and has a size it keeps to.
            let logging = self.logging
                && weight == 1
                && b.lanes() > 0
                && acc.log.counts.len() * 2 < LOG_BYTES;
            if logging {
                acc.log.start(t, 3 + 2 * n);
            }
            let (bins, tally) = (&mut self.bins, &mut self.tally);
            let mut put = |index: usize, values: &[f64]| {
                if values.is_empty() {
                    return;
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
            };
            put(0, b.engagement_index(ti));
            put(1, b.stabilisation_index(ti));
            put(2, b.reach(ti));
            for (k, g) in groups.enumerate() {
                put(3 + k, b.engagement(g));
                put(3 + n + k, b.anchored(g));
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
        if !self.outcomes.is_empty() {
            self.observe_outcomes(engine, None, b, weight);
        }
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

    /// Adds another accumulator of the same engine into this one. Exact and order-free. The
    /// other one is kept for later ensembles (see [`release_spares`]).
    pub fn merge(&mut self, mut other: Accumulator) {
        self.runs += other.runs;
        for (a, b) in self.outcome_accs.iter_mut().zip(&other.outcome_accs) {
            a.hits += b.hits;
            a.sum += b.sum;
            a.sum_sq += b.sum_sq;
        }
        for (a, b) in self.territories.iter_mut().zip(&mut other.territories) {
            a.absorb(b);
        }
        other.recycle();
    }

    /// Keeps this accumulator's memory for a later ensemble of the same shape (see
    /// [`release_spares`]).
    pub fn recycle(self) {
        keep(&mut spares().accumulators, self);
    }

    /// Runs recorded.
    pub fn runs(&self) -> u64 {
        self.runs
    }
}

/// Quantile `q` of a histogram over [lo, hi] with `counts.len()` bins, interpolated linearly
/// inside the bin and clamped to the observed [min, max].
fn histogram_quantile(counts: &[u64], lo: f64, hi: f64, min: f64, max: f64, q: f64) -> f64 {
    histogram_quantiles(counts, lo, hi, min, max, &[q])[0]
}

/// [`histogram_quantile`] at several increasing levels in one pass over the bins.
fn histogram_quantiles<T: Copy + Into<u64>, const N: usize>(
    counts: &[T],
    lo: f64,
    hi: f64,
    min: f64,
    max: f64,
    levels: &[f64; N],
) -> [f64; N] {
    span_quantiles(counts, 0, counts.len(), lo, hi, min, max, levels)
}

/// [`histogram_quantiles`] of a histogram of `bins` bins over [lo, hi] given only by its bins
/// `first..first + counts.len()`, outside which every count is zero.
#[allow(clippy::too_many_arguments)]
fn span_quantiles<T: Copy + Into<u64>, const N: usize>(
    counts: &[T],
    first: usize,
    bins: usize,
    lo: f64,
    hi: f64,
    min: f64,
    max: f64,
    levels: &[f64; N],
) -> [f64; N] {
    let total: u64 = counts.iter().map(|&c| c.into()).sum();
    if total == 0 || N == 0 {
        return [0.0; N];
    }
    let width = (hi - lo) / bins as f64;
    let targets = levels.map(|q| q * total as f64);
    // The cumulative count is an integer below 2⁵³, so `cumulative ≥ target` as floats is
    // `cumulative ≥ ⌈target⌉` as integers; and the first bin where the cumulative count
    // reaches a threshold of at least 1 holds counts. So the scan adds integers, 16 bins at a
    // time, and looks at single bins only in the few chunks where a threshold is crossed.
    let threshold = |k: usize| (targets[k].ceil() as u64).max(1);
    let mut out = [max; N];
    let mut k = 0;
    let mut next_threshold = threshold(0);
    let mut cumulative = 0u64;
    const CHUNK: usize = 16;
    'chunks: for (chunk_index, chunk) in counts.chunks(CHUNK).enumerate() {
        let chunk_total: u64 = chunk.iter().map(|&c| c.into()).sum();
        if cumulative + chunk_total < next_threshold {
            cumulative += chunk_total;
            continue;
        }
        for (j, &c) in chunk.iter().enumerate() {
            let c: u64 = c.into();
            let next = cumulative + c;
            while next >= next_threshold {
                let i = first + chunk_index * CHUNK + j;
                let fraction = ((targets[k] - cumulative as f64) / c as f64).clamp(0.0, 1.0);
                out[k] = (lo + (i as f64 + fraction) * width).clamp(min, max);
                k += 1;
                if k == N {
                    break 'chunks;
                }
                next_threshold = threshold(k);
            }
            cumulative = next;
        }
    }
    out
}

#[cfg(test)]
fn histogram_quantile_old(counts: &[u64], lo: f64, hi: f64, min: f64, max: f64, q: f64) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let target = q * total as f64;
    let width = (hi - lo) / counts.len() as f64;
    let mut cumulative = 0.0;
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let next = cumulative + c as f64;
        if next >= target {
            let fraction = ((target - cumulative) / c as f64).clamp(0.0, 1.0);
            return (lo + (i as f64 + fraction) * width).clamp(min, max);
        }
        cumulative = next;
    }
    max
}

/// The value of rank `rank` (0-based) among integer values given by their counts.
pub fn order_statistic(counts: &[u64], rank: u64) -> f64 {
    let mut seen = 0;
    for (value, &c) in counts.iter().enumerate() {
        seen += c;
        if seen > rank {
            return value as f64;
        }
    }
    counts.len().saturating_sub(1) as f64
}

/// Exact quantile (linear interpolation between order statistics, "type 7") of integer values
/// given by their counts.
pub fn integer_quantile(counts: &[u64], q: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let position = q * (total - 1) as f64;
    let lower = position.floor() as u64;
    let fraction = position - lower as f64;
    let a = order_statistic(counts, lower);
    let b = if fraction > 0.0 {
        order_statistic(counts, lower + 1)
    } else {
        a
    };
    Some(a + fraction * (b - a))
}

/// Wilson score interval for `k` successes out of `n`.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n_f = n as f64;
    let p = k as f64 / n_f;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = Z95 * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

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
/// (see [`Log`]) is counted here, cell by cell; histogram rows are read where they are.
fn results_of(parts: &[Accumulator], model: &Model, wall_seconds: f64) -> Results {
    let all_runs: u64 = parts.iter().map(|p| p.runs).sum();
    let runs = all_runs.max(1);
    let territories = model
        .territories
        .iter()
        .enumerate()
        .map(|(ti, t)| {
            let accs: Vec<&TerritoryAcc> = parts.iter().map(|p| &p.territories[ti]).collect();
            let (months, phases) = (accs[0].months, accs[0].phases);
            let mut names = vec![
                "engagement".to_string(),
                "stabilisation".to_string(),
                "scale".to_string(),
            ];
            names.extend(t.groups.iter().map(|g| format!("engagement:{}", g.id)));
            names.extend(t.groups.iter().map(|g| format!("anchored:{}", g.id)));
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

/// Whether every run of this model is the same (nothing draws), so one is simulated.
pub fn is_deterministic(model: &Model) -> bool {
    !Engine::new(model).is_stochastic()
}

/// Simulates runs `first..first + count` of a model into one accumulator, on the current rayon
/// pool. Returns `None` if cancelled.
pub fn accumulate(
    model: &Model,
    first: u64,
    count: u64,
    controls: &Controls<'_>,
) -> Option<Accumulator> {
    accumulate_outcomes(model, &[], first, count, controls)
}

/// [`accumulate`], also collecting `outcomes` run by run.
pub fn accumulate_outcomes(
    model: &Model,
    outcomes: &[Outcome],
    first: u64,
    count: u64,
    controls: &Controls<'_>,
) -> Option<Accumulator> {
    let threads = rayon::current_num_threads();
    let parts = accumulate_parts(model, outcomes, first, count, controls, threads, false)?;
    merged(parts)
}

/// Merges accumulators into one; `None` if there are none.
fn merged(mut parts: Vec<Accumulator>) -> Option<Accumulator> {
    let mut merged = parts.pop()?;
    for part in parts {
        merged.merge(part);
    }
    Some(merged)
}

/// Most runs of an ensemble whose histograms are logged (see [`Log`]): four blocks. Larger
/// ones spread the fixed costs of rows over more runs, and a log grows with the runs.
const LOG_RUNS: u64 = 4 * BLOCK;

/// Most bytes of a territory's log: past them (a network of many territories, many groups),
/// a worker adds its counts into histogram rows as it goes.
const LOG_BYTES: usize = 8 << 20;

/// [`accumulate_outcomes`] on at most `threads` workers of the current pool, returning each
/// worker's accumulator unmerged (at least one). With
/// `log_if_small`, an ensemble of at most [`LOG_RUNS`] runs logs its histograms (see [`Log`]).
fn accumulate_parts(
    model: &Model,
    outcomes: &[Outcome],
    first: u64,
    count: u64,
    controls: &Controls<'_>,
    threads: usize,
    log_if_small: bool,
) -> Option<Vec<Accumulator>> {
    let engine = Engine::new(model);
    let logging = log_if_small && count <= LOG_RUNS;
    let seed = model.settings.seed;
    if !engine.is_stochastic() {
        // Every run is the same: simulate one and count it `count` times.
        let mut acc = Accumulator::with_outcomes(&engine, outcomes);
        let mut block = block_for(&engine);
        let weight = u32::try_from(count).unwrap_or(u32::MAX);
        engine.run_block(seed, first, 1, &mut block, |t, b| {
            acc.observe(&engine, t, b, weight);
            true
        });
        acc.finish_block(&engine, &block, weight);
        recycle_block(block);
        (controls.progress)(count, count);
        return Some(vec![acc]);
    }
    let (size, workers) = partition(count, threads);
    let stalls: Vec<Stall> = (0..workers)
        .map(|_| Stall::new(block_for(&engine)))
        .collect();
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let cancelled = || controls.cancel.load(Ordering::Relaxed);
    let horizon = engine.horizon();
    let merged = crew(
        workers,
        |w| {
            let mut acc = Accumulator::with_outcomes(&engine, outcomes);
            acc.logging = logging;
            let stall = &stalls[w];
            while !cancelled() {
                // A block of its own, or else part of the runs of the busiest other worker.
                let from = if let Some((lo, lanes)) = next_block(&next, count, size) {
                    stall.start(&engine, seed, first + lo, lanes as usize, &mut acc);
                    0
                } else if let Some(month) = take_over(&stalls, w, horizon) {
                    month
                } else {
                    break;
                };
                stall.step(&engine, from..horizon, &mut acc, &cancelled);
                let lanes = stall.finish(&engine, &mut acc);
                let d = done.fetch_add(lanes, Ordering::Relaxed) + lanes;
                (controls.progress)(d, count);
            }
            vec![acc]
        },
        |parts, more| parts.extend(more),
    );
    for stall in stalls {
        let stepping = stall
            .stepping
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        recycle_block(stepping.block);
    }
    if cancelled() {
        return None;
    }
    merged
}

/// How `count` runs are handed out to `threads` workers: blocks of as many runs as fit
/// ([`BLOCK`]) but at least one block per thread, never fewer than 16 runs; and as many
/// workers as there are threads, or blocks if fewer (at least one).
fn partition(count: u64, threads: usize) -> (u64, usize) {
    let threads = threads.max(1) as u64;
    let size = count.div_ceil(threads).clamp(16, BLOCK);
    let workers = threads.min(count.div_ceil(size)).max(1);
    (size, workers as usize)
}

/// Takes the next block `(first run, lanes)` of runs `0..count` in blocks of `size`, or `None`
/// when every run is taken.
fn next_block(next: &AtomicU64, count: u64, size: u64) -> Option<(u64, u64)> {
    let lo = next.fetch_add(size, Ordering::Relaxed);
    (lo < count).then(|| (lo, (count - lo).min(size)))
}

/// A worker's block and the month it has reached, where an idle worker can take runs from it.
/// Aligned to its own cache lines: each worker writes its stall every month, and would
/// otherwise slow down its neighbour's.
#[repr(align(128))]
struct Stall {
    stepping: Mutex<Stepping>,
    /// Workers waiting to take runs from this block: while there are any, its own worker does
    /// not step on (the lock alone would let it take the block back first, month after month).
    wanted: AtomicUsize,
    /// Runs × months left in this block: how much there is to take.
    left: AtomicU64,
}

struct Stepping {
    block: Block,
    /// The month the block's runs have reached.
    month: u32,
    /// Whether the block holds runs still to step.
    active: bool,
    /// Since when, and from which month, the block has held its present runs.
    since: (Instant, u32),
    /// Runs × months stepped per second over the worker's last finished stretch; 0 before.
    pace: f64,
}

impl Stepping {
    /// Holds its present runs from now on, at the month they have reached.
    fn restart(&mut self) {
        self.since = (Instant::now(), self.month);
    }

    /// Runs × months stepped per second since the block has held its present runs, once it
    /// has stepped enough months for that to mean something; 0 before.
    fn current_pace(&self) -> f64 {
        let (start, month) = self.since;
        let months = self.month - month;
        if months < 12 {
            return 0.0;
        }
        let seconds = start.elapsed().as_secs_f64();
        (self.block.lanes() as f64 * f64::from(months) / seconds).min(f64::MAX)
    }
}

impl Stall {
    fn new(block: Block) -> Stall {
        Stall {
            stepping: Mutex::new(Stepping {
                block,
                month: 0,
                active: false,
                since: (Instant::now(), 0),
                pace: 0.0,
            }),
            wanted: AtomicUsize::new(0),
            left: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Stepping> {
        // Nothing panics while holding the lock.
        self.stepping.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts runs `first_run .. first_run + lanes` of master seed `seed`, observed at
    /// month 0 into `acc`.
    fn start(
        &self,
        engine: &Engine,
        seed: u64,
        first_run: u64,
        lanes: usize,
        acc: &mut Accumulator,
    ) {
        let mut mine = self.lock();
        engine.start_block(seed, first_run, lanes, &mut mine.block);
        acc.observe(engine, 0, &mine.block, 1);
        (mine.month, mine.active) = (0, true);
        mine.restart();
    }

    /// Steps the block through `months`, observing each new month into `acc`, until
    /// `cancelled()`. Between two months, a worker waiting to take runs takes them.
    fn step(
        &self,
        engine: &Engine,
        months: Range<u32>,
        acc: &mut Accumulator,
        cancelled: &dyn Fn() -> bool,
    ) {
        let horizon = engine.horizon();
        for m in months {
            let mut mine = self.lock();
            engine.step_month(m, &mut mine.block);
            acc.observe(engine, m + 1, &mine.block, 1);
            mine.month = m + 1;
            let left = mine.block.lanes() as u64 * u64::from(horizon - m - 1);
            self.left.store(left, Ordering::Relaxed);
            drop(mine);
            while self.wanted.load(Ordering::Acquire) > 0 {
                std::thread::yield_now();
            }
            // Checked every simulated month, so Ctrl-C stops well within a second.
            if cancelled() {
                break;
            }
        }
    }

    /// Records the end of the block's runs into `acc`, and returns how many they are.
    fn finish(&self, engine: &Engine, acc: &mut Accumulator) -> u64 {
        let mut mine = self.lock();
        mine.active = false;
        let pace = mine.current_pace();
        if pace > 0.0 {
            mine.pace = pace;
        }
        self.left.store(0, Ordering::Relaxed);
        acc.finish_block(engine, &mine.block, 1);
        mine.block.lanes() as u64
    }
}

/// Fewest runs, counted in runs × months left, worth taking over from another worker: less,
/// and the copy and the fixed costs of a second block for the months left would eat the gain.
/// About 8 runs' whole horizon.
const TAKE_OVER_MIN: u64 = 8;

/// Moves runs of the busiest other worker's block into worker `w`'s block, if there are enough
/// to be worth it, and returns the month they have reached: half of them, or as many as make
/// both end together at the paces the two have shown. Blocks are as large as
/// possible, two per ensemble of 2,000 runs or fewer on 2 threads; when one core runs slower
/// than the other (common on shared machines) the faster worker would otherwise wait for the
/// slower one's last block: a 1,000-run ensemble waited about 6 ms of its 23. Runs are
/// independent and every aggregate is exact and order-free, so which worker steps which run
/// for which months never changes the results.
fn take_over(stalls: &[Stall], w: usize, horizon: u32) -> Option<u32> {
    let (_, victim) = stalls
        .iter()
        .enumerate()
        .filter(|(v, _)| *v != w)
        .max_by_key(|(_, s)| s.left.load(Ordering::Relaxed))?;
    if victim.left.load(Ordering::Relaxed) < 2 * TAKE_OVER_MIN * u64::from(horizon) {
        return None;
    }
    /// Counts a worker waiting on a stall, for as long as it lives (even through a panic: the
    /// stall's own worker waits until no one does).
    struct Waiting<'a>(&'a AtomicUsize);
    impl Drop for Waiting<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::AcqRel);
        }
    }
    victim.wanted.fetch_add(1, Ordering::AcqRel);
    let _waiting = Waiting(&victim.wanted);
    let mut theirs = victim.lock();
    // A worker taking over runs holds no runs of its own: finding it inactive here, another
    // worker that chose it lets go without locking anything else, so two workers choosing
    // each other cannot wait on each other.
    if !theirs.active {
        return None;
    }
    let mut mine = stalls[w].lock();
    let lanes = theirs.block.lanes();
    let months = u64::from(horizon - theirs.month.min(horizon));
    // As many runs as make both workers end together, at the paces they have shown: half if
    // either is not known yet, never less than a quarter or more than three quarters.
    let (my_pace, their_pace) = (mine.pace, theirs.current_pace());
    let share = if my_pace > 0.0 && their_pace > 0.0 {
        (my_pace / (my_pace + their_pace)).clamp(0.25, 0.75)
    } else {
        0.5
    };
    let moved = ((lanes as f64 * share) as usize).min(lanes);
    if (moved as u64) * months < TAKE_OVER_MIN * u64::from(horizon) {
        return None;
    }
    theirs.block.split_off(lanes - moved, &mut mine.block);
    (mine.month, mine.active) = (theirs.month, true);
    mine.restart();
    theirs.restart();
    let kept = (lanes - moved) as u64 * months;
    victim.left.store(kept, Ordering::Relaxed);
    stalls[w]
        .left
        .store(moved as u64 * months, Ordering::Relaxed);
    Some(theirs.month)
}

/// Runs `work(worker)` for workers `0..workers` on the current rayon pool and merges what they
/// return with `merge`, as they finish. `None` only for no worker.
fn crew<P: Send>(
    workers: usize,
    work: impl Fn(usize) -> P + Sync,
    merge: impl Fn(&mut P, P) + Sync,
) -> Option<P> {
    if workers == 1 {
        return Some(work(0));
    }
    let merged: Mutex<Option<P>> = Mutex::new(None);
    rayon::scope(|scope| {
        for w in 0..workers {
            let (work, merge, merged) = (&work, &merge, &merged);
            scope.spawn(move |_| {
                let part = work(w);
                let mut slot = merged.lock().unwrap_or_else(|e| e.into_inner());
                match slot.take() {
                    Some(mut m) => {
                        merge(&mut m, part);
                        *slot = Some(m);
                    }
                    None => *slot = Some(part),
                }
            });
        }
    });
    merged.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// Runs `count` runs in blocks on the current rayon pool: each worker makes its own part with
/// `new_part`, steps blocks `(first run, lanes)` into it with `step` (see [`partition`]), and
/// the parts are merged with `merge`. The partition never changes the results: every aggregate
/// is exact and order-free. Reports progress; `None` if cancelled.
fn for_blocks<P: Send>(
    count: u64,
    controls: &Controls<'_>,
    new_part: impl Fn() -> P + Sync,
    step: impl Fn(&mut P, u64, usize) + Sync,
    merge: impl Fn(&mut P, P) + Sync,
) -> Option<P> {
    let (size, workers) = partition(count, rayon::current_num_threads());
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let merged = crew(
        workers,
        |_| {
            let mut part = new_part();
            while !controls.cancel.load(Ordering::Relaxed) {
                let Some((lo, lanes)) = next_block(&next, count, size) else {
                    break;
                };
                step(&mut part, lo, lanes as usize);
                let d = done.fetch_add(lanes, Ordering::Relaxed) + lanes;
                (controls.progress)(d, count);
            }
            part
        },
        merge,
    );
    if controls.cancel.load(Ordering::Relaxed) {
        return None;
    }
    merged
}

/// Simulates the model's runs and returns the aggregated results, or `None` if cancelled.
pub fn simulate(model: &Model, controls: &Controls<'_>) -> Option<Results> {
    simulate_on(model, controls, rayon::current_num_threads())
}

/// [`simulate`] on at most `threads` workers of the current pool.
fn simulate_on(model: &Model, controls: &Controls<'_>, threads: usize) -> Option<Results> {
    let start = Instant::now();
    let mut parts = accumulate_parts(model, &[], 0, model.settings.runs, controls, threads, true)?;
    // Logs are read where they are; rows are faster to read merged.
    let logged = parts
        .iter()
        .any(|p| p.territories.iter().any(|t| !t.log.is_empty()));
    if !logged {
        parts = vec![merged(parts)?];
    }
    let results = results_of(&parts, model, start.elapsed().as_secs_f64());
    parts.into_iter().for_each(Accumulator::recycle);
    Some(results)
}

/// Most runs of an ensemble that [`simulate_each`] runs whole on one worker: four blocks.
pub const WHOLE_ON_ONE: u64 = 4 * BLOCK;

/// Fewest ensembles of at most [`WHOLE_ON_ONE`] runs per thread for [`simulate_each`] to run
/// them side by side: with fewer, the workers left idle while the last ones finish would cost
/// more than splitting each ensemble across them.
pub const SIDE_BY_SIDE: usize = 8;

/// Simulates the ensembles of several models, as a sweep or a sensitivity analysis does, and
/// returns their results in the models' order, or `None` if cancelled. Each one's results are
/// those [`simulate`] gives (but for its wall time, which is that ensemble's own).
///
/// Split across workers, a 1,000-run ensemble spends part of its time in fixed costs — a
/// block per worker, the workers' logs of histogram counts read together, the slower worker
/// waited for — that an ensemble run whole on one worker does not pay. So ensembles of at
/// most [`WHOLE_ON_ONE`] runs, when there are at least [`SIDE_BY_SIDE`] of them per thread,
/// run whole, each on one worker, side by side. The others run one after another, each on
/// every worker. Progress counts the runs of all the models.
pub fn simulate_each(models: &[Model], controls: &Controls<'_>) -> Option<Vec<Results>> {
    let total: u64 = models.iter().map(|m| m.settings.runs).sum();
    let done = AtomicU64::new(0);
    // Each ensemble reports its own runs done; the batch reports the sum.
    let run_one = |model: &Model, threads: usize| {
        let reported = AtomicU64::new(0);
        let progress = |d: u64, _: u64| {
            let new = d.saturating_sub(reported.fetch_max(d, Ordering::Relaxed));
            let all = done.fetch_add(new, Ordering::Relaxed) + new;
            (controls.progress)(all, total);
        };
        let inner = Controls {
            progress: &progress,
            cancel: controls.cancel,
        };
        simulate_on(model, &inner, threads)
    };
    let threads = rayon::current_num_threads();
    let small = |m: &Model| m.settings.runs <= WHOLE_ON_ONE;
    let side_by_side = models.iter().filter(|m| small(m)).count() >= SIDE_BY_SIDE * threads;
    let whole = |m: &Model| side_by_side && small(m);
    let mut wholes: Vec<Option<Results>> = models
        .par_iter()
        .map(|m| if whole(m) { run_one(m, 1) } else { None })
        .collect();
    if controls.cancel.load(Ordering::Relaxed) {
        return None;
    }
    models
        .iter()
        .zip(&mut wholes)
        .map(|(m, r)| {
            if whole(m) {
                r.take()
            } else {
                run_one(m, threads)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 16-bit counts with carries give the same counts as plain 64-bit counters, through adds
    /// of every size (up to 2⁴⁰ at once), tallies and merges.
    #[test]
    fn histograms_count_exactly_past_16_bits() {
        let cells = 3;
        let (mut a, mut b) = (Histograms::new(cells), Histograms::new(cells));
        let mut truth = vec![0u64; cells * BINS];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for step in 0..200_000 {
            let r = next();
            let (cell, bin) = ((r % cells as u64) as usize, ((r >> 8) % 7) as usize * 100);
            let n = match step % 5 {
                0 => 1,
                1 => r >> 50,
                2 => 70_000,
                3 => (r >> 20) & 0xFF_FFFF_FFFF,
                _ => 65_535,
            };
            let target = if step % 2 == 0 { &mut a } else { &mut b };
            target.add(cell, bin, n);
            truth[cell * BINS + bin] += n;
        }
        // Tallies counted 7 times, and once (the 16-bit path, with its carries).
        let mut tally = Tally::new();
        for (k, c) in tally.counts.iter_mut().enumerate() {
            c[997] = 16_000;
            c[999] = k as u16 + 1;
        }
        a.add_tally(1, 997..1000, &mut tally, 7);
        assert!(tally.counts.iter().flatten().all(|&t| t == 0), "cleared");
        truth[BINS + 997] += 64_000 * 7;
        truth[BINS + 999] += 10 * 7;
        for round in 0..400u32 {
            let bins: Vec<u16> = (0..LANES as u32)
                .map(|j| [3, 500, 999][((j ^ round) % 3) as usize])
                .collect();
            let cell = (round % 2) as usize * 2;
            tally.count(&bins);
            a.add_tally(cell, 3..1000, &mut tally, 1);
            for &k in &bins {
                truth[cell * BINS + usize::from(k)] += 1;
            }
        }
        assert!(tally.counts.iter().flatten().all(|&t| t == 0), "cleared");
        // Merged over each cell's span of non-zero bins only, as accumulators merge.
        let mut row = [0u64; BINS];
        let spans: Vec<_> = (0..cells)
            .map(|cell| {
                row.fill(0);
                b.add_row(cell, &mut row);
                let first = row.iter().position(|&c| c > 0)?;
                let last = row.iter().rposition(|&c| c > 0)?;
                Some(first..last + 1)
            })
            .collect();
        a.absorb(&mut b, |cell| spans[cell].clone());
        assert!(b.low.iter().all(|&c| c == 0), "absorbed counts cleared");
        assert!(
            b.carries.iter().all(Vec::is_empty),
            "absorbed carries cleared"
        );
        for cell in 0..cells {
            row.fill(0);
            a.add_row(cell, &mut row);
            assert_eq!(
                &row[..],
                &truth[cell * BINS..(cell + 1) * BINS],
                "cell {cell}"
            );
        }
    }

    fn grande_synthe() -> Model {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join("grande-synthe.toml");
        Model::load(&path).unwrap()
    }

    /// An idle worker takes half of a busy worker's runs at the month they have reached; the
    /// two accumulators, merged or read together, hold exactly what one worker stepping every
    /// run would have: with histogram rows and with logs.
    #[test]
    fn runs_taken_over_mid_block_give_the_same_results() {
        for logging in [false, true] {
            taken_over_runs_give_the_same_results(logging);
        }
    }

    fn taken_over_runs_give_the_same_results(logging: bool) {
        let model = grande_synthe();
        let engine = Engine::new(&model);
        let (seed, horizon, never) = (model.settings.seed, engine.horizon(), || false);
        let stalls = [
            Stall::new(engine.new_block()),
            Stall::new(engine.new_block()),
        ];
        let (mut busy, mut idle) = (Accumulator::new(&engine), Accumulator::new(&engine));
        (busy.logging, idle.logging) = (logging, logging);
        assert_eq!(take_over(&stalls, 1, horizon), None, "nothing started");
        stalls[0].start(&engine, seed, 0, 300, &mut busy);
        stalls[0].step(&engine, 0..50, &mut busy, &never);
        assert_eq!(take_over(&stalls, 1, horizon), Some(50));
        let lanes = |s: &Stall| s.lock().block.lanes();
        assert_eq!((lanes(&stalls[0]), lanes(&stalls[1])), (150, 150));
        stalls[0].step(&engine, 50..horizon - 2, &mut busy, &never);
        stalls[1].step(&engine, 50..horizon, &mut idle, &never);
        assert_eq!(take_over(&stalls, 1, horizon), None, "too little left");
        stalls[0].step(&engine, horizon - 2..horizon, &mut busy, &never);
        let ended = stalls[0].finish(&engine, &mut busy) + stalls[1].finish(&engine, &mut idle);
        assert_eq!(ended, 300);
        let logged = |a: &Accumulator| a.territories.iter().any(|t| !t.log.is_empty());
        assert_eq!((logged(&busy), logged(&idle)), (logging, logging));
        let cancel = AtomicBool::new(false);
        let controls = Controls {
            progress: &|_, _| {},
            cancel: &cancel,
        };
        let whole = accumulate(&model, 0, 300, &controls).unwrap();
        let expected = format!("{:?}", whole.results(&model, 0.0));
        let together = results_of(&[busy.clone(), idle.clone()], &model, 0.0);
        assert_eq!(format!("{together:?}"), expected);
        busy.merge(idle);
        assert_eq!(format!("{:?}", busy.results(&model, 0.0)), expected);
    }

    /// Histograms logged block by block, read alone, together, merged, or with rows, give the
    /// results of the same runs counted into rows.
    #[test]
    fn logged_histograms_give_the_results_of_rows() {
        let model = grande_synthe();
        let engine = Engine::new(&model);
        let seed = model.settings.seed;
        let observed = |logging: bool, blocks: &[(u64, usize)]| {
            let mut acc = Accumulator::new(&engine);
            acc.logging = logging;
            let mut block = engine.new_block();
            for &(first, lanes) in blocks {
                engine.run_block(seed, first, lanes, &mut block, |t, b| {
                    acc.observe(&engine, t, b, 1);
                    true
                });
                acc.finish_block(&engine, &block, 1);
            }
            acc
        };
        let text = |r: Results| format!("{r:?}");
        let rows = text(observed(false, &[(0, 300), (300, 433)]).results(&model, 0.0));
        let one_log = observed(true, &[(0, 300), (300, 433)]);
        assert!(one_log.territories.iter().all(|t| !t.rows_used));
        assert_eq!(text(one_log.results(&model, 0.0)), rows);
        let (a, b) = (observed(true, &[(0, 300)]), observed(true, &[(300, 433)]));
        assert_eq!(text(results_of(&[a.clone(), b.clone()], &model, 0.0)), rows);
        let mut merged = a;
        merged.merge(b);
        assert_eq!(text(merged.results(&model, 0.0)), rows);
        // A log read with rows, and merged into rows.
        let (log, mut counted) = (observed(true, &[(0, 300)]), observed(false, &[(300, 433)]));
        assert_eq!(
            text(results_of(&[log.clone(), counted.clone()], &model, 0.0)),
            rows
        );
        counted.merge(log);
        assert_eq!(text(counted.results(&model, 0.0)), rows);
    }

    #[test]
    fn wilson_matches_a_hand_computed_value() {
        // 8 of 10: centre (0.8 + 1.92/20)/(1 + 3.84/10), known interval ≈ [0.490, 0.943].
        let (lo, hi) = wilson(8, 10);
        assert!((lo - 0.4901).abs() < 1e-3, "{lo}");
        assert!((hi - 0.9433).abs() < 1e-3, "{hi}");
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }

    #[test]
    fn integer_quantile_interpolates_order_statistics() {
        // Values 1, 2, 3, 4 once each.
        let counts = [0, 1, 1, 1, 1];
        assert_eq!(integer_quantile(&counts, 0.5), Some(2.5));
        assert_eq!(integer_quantile(&counts, 0.0), Some(1.0));
        assert_eq!(integer_quantile(&counts, 1.0), Some(4.0));
        assert_eq!(integer_quantile(&[0, 0], 0.5), None);
    }

    #[test]
    fn one_pass_quantiles_equal_the_per_level_ones() {
        // A deterministic pseudo-random set of histograms, sparse and dense.
        let mut state = 12345u64;
        for round in 0..200 {
            let mut counts = vec![0u64; 1000];
            let fill = if round % 2 == 0 { 5 } else { 400 };
            for _ in 0..fill {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                counts[(state >> 33) as usize % 1000] += (state >> 60) + 1;
            }
            let got = histogram_quantiles(&counts, 0.0, 1.0, 0.0, 1.0, &LEVELS);
            for (g, l) in got.iter().zip(LEVELS) {
                assert_eq!(*g, histogram_quantile_old(&counts, 0.0, 1.0, 0.0, 1.0, l));
            }
            // The same from the span of non-zero bins only, at the extreme levels too.
            let first = counts.iter().position(|&c| c > 0).unwrap_or(0);
            let last = counts.iter().rposition(|&c| c > 0).unwrap_or(0);
            let levels = [0.0, 0.05, 0.5, 0.95, 1.0];
            let span = &counts[first..=last];
            let got = span_quantiles(span, first, 1000, 0.0, 1.0, 0.0, 1.0, &levels);
            for (g, l) in got.iter().zip(levels) {
                let old = histogram_quantile_old(&counts, 0.0, 1.0, 0.0, 1.0, l);
                assert_eq!(*g, old, "round {round}, level {l}");
            }
        }
    }

    #[test]
    fn histogram_quantile_is_clamped_to_observed_range() {
        let mut counts = vec![0u64; 1000];
        counts[300] = 10;
        // All ten values are 0.3004: the median must be that value, not the bin centre.
        assert_eq!(
            histogram_quantile(&counts, 0.0, 1.0, 0.3004, 0.3004, 0.5),
            0.3004
        );
        let q = histogram_quantile(&counts, 0.0, 1.0, 0.3, 0.301, 0.5);
        assert!((q - 0.3005).abs() < 1e-12);
    }
}

/// Paired differences of outcomes between scenarios run on the same run indices.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Each scenario's own aggregates (with its outcomes), in the order given.
    pub scenarios: Vec<Accumulator>,
    /// `paired[s - 1][o]`: differences scenario s − scenario 0 of outcome o, as fixed-point
    /// sums of (d / scale + 1) / 2 ∈ [0, 1], with the number of pairs.
    paired: Vec<Vec<(OutcomeAcc, u64)>>,
    scales: Vec<f64>,
}

impl Comparison {
    /// The mean paired difference (scenario s − the first) of outcome o, with its t-interval.
    pub fn difference(&self, s: usize, o: usize) -> Estimate {
        let (acc, n) = &self.paired[s - 1][o];
        let u = mean_interval(*n, acc.sum as f64 / FIXED, acc.sum_sq as f64 / FIXED);
        let scale = self.scales[o];
        let back = |x: f64| (2.0 * x - 1.0) * scale;
        Estimate {
            estimate: back(u.estimate),
            low: back(u.low),
            high: back(u.high),
            n: *n,
        }
    }
}

/// Runs every model on the same run indices and seed (the first model's settings), block by
/// block in lockstep, aggregating each one and the paired differences of `outcomes[s]` (one
/// list per model, the same outcomes in the same order). `None` if cancelled.
pub fn compare(
    models: &[Model],
    outcomes: &[Vec<Outcome>],
    controls: &Controls<'_>,
) -> Option<Comparison> {
    let engines: Vec<Engine> = models.iter().map(Engine::new).collect();
    let settings = models[0].settings;
    let count = settings.runs;
    let n_out = outcomes[0].len();
    let scales: Vec<f64> = (0..n_out)
        .map(|o| {
            engines
                .iter()
                .zip(outcomes)
                .map(|(e, os)| outcome_scale(&os[o], e))
                .fold(f64::MIN_POSITIVE, f64::max)
        })
        .collect();
    struct Part {
        cmp: Comparison,
        blocks: Vec<Block>,
        /// values[s][o][lane]
        values: Vec<Vec<Vec<f64>>>,
        diffs: Vec<f64>,
    }
    let part = for_blocks(
        count,
        controls,
        || Part {
            cmp: Comparison {
                scenarios: engines
                    .iter()
                    .zip(outcomes)
                    .map(|(e, o)| Accumulator::with_outcomes(e, o))
                    .collect(),
                paired: vec![vec![(OutcomeAcc::default(), 0); n_out]; models.len() - 1],
                scales: scales.clone(),
            },
            blocks: engines.iter().map(block_for).collect(),
            values: vec![vec![vec![0.0; LANES]; n_out]; models.len()],
            diffs: Vec::with_capacity(LANES),
        },
        |part, lo, lanes| {
            for (s, engine) in engines.iter().enumerate() {
                let acc = &mut part.cmp.scenarios[s];
                let vals = &mut part.values[s];
                let os = &outcomes[s];
                engine.run_block(settings.seed, lo, lanes, &mut part.blocks[s], |t, block| {
                    acc.observe(engine, t, block, 1);
                    for (o, v) in os.iter().zip(vals.iter_mut()) {
                        outcome_values(o, engine, block, Some(t), v);
                    }
                    !controls.cancel.load(Ordering::Relaxed)
                });
                acc.finish_block(engine, &part.blocks[s], 1);
                for (o, v) in os.iter().zip(vals.iter_mut()) {
                    outcome_values(o, engine, &part.blocks[s], None, v);
                }
            }
            for s in 1..models.len() {
                for (o, scale) in scales.iter().enumerate() {
                    let pairs = part.values[s][o][..lanes]
                        .iter()
                        .zip(&part.values[0][o][..lanes]);
                    part.diffs.clear();
                    part.diffs.extend(
                        pairs
                            .filter(|(x, y)| !x.is_nan() && !y.is_nan())
                            .map(|(x, y)| (((x - y) / scale + 1.0) / 2.0).clamp(0.0, 1.0)),
                    );
                    let (acc, n) = &mut part.cmp.paired[s - 1][o];
                    *n += part.diffs.len() as u64;
                    add_fixed(acc, part.diffs.iter().copied(), 1);
                }
            }
        },
        |m, part| {
            for (a, b) in m.cmp.scenarios.iter_mut().zip(part.cmp.scenarios) {
                a.merge(b);
            }
            part.blocks.into_iter().for_each(recycle_block);
            for (a, b) in m
                .cmp
                .paired
                .iter_mut()
                .flatten()
                .zip(part.cmp.paired.iter().flatten())
            {
                a.0.hits += b.0.hits;
                a.0.sum += b.0.sum;
                a.0.sum_sq += b.0.sum_sq;
                a.1 += b.1;
            }
        },
    )?;
    part.blocks.into_iter().for_each(recycle_block);
    Some(part.cmp)
}
