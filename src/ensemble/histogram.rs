//! Histograms of the indices: one row of [`BINS`] counts per (index, month) cell, in 16 bits
//! with carries ([`Histograms`]); the counts of one index over a block, kept in L1 before they
//! go into a row ([`Tally`]); and a small ensemble's counts kept block by block ([`BlockLog`]).
//!
//! Each of these earns its keep by measurement (benches/README.md, 0.5.0): 16-bit rows are
//! 7% faster than 32-bit rows on 20,000 runs (half the bytes swept per block); the log makes
//! 1,000-run ensembles 3–6% faster than rows.

use std::ops::Range;

use rayon::prelude::*;

use super::fixed::bin;
use super::BINS;
use crate::engine::LANES;

/// A small ensemble's histograms, kept as each block's counts one after the other instead of
/// added up into histogram rows. Adding a block's counts into its rows costs every block a
/// sweep of rows that miss the cache (about 0.8 ms: a row per index and month), and the
/// workers' rows must then be merged; written one after the other, each block's counts over
/// the span of bins it uses take no more room and stream through the caches, and are added up
/// only at the end, cell by cell, in counters that stay in L1 (see [`results_of`]). The counts,
/// and so the results, are the same.
#[derive(Debug, Clone, Default)]
pub(super) struct BlockLog {
    /// Per month a block observed, its month and where its entries start in `entries`.
    pub(super) segments: Vec<(u32, usize)>,
    /// Per segment, index by index: the block's first bin, its number of bins, and where its
    /// counts start in `counts`.
    pub(super) entries: Vec<(u16, u16, u32)>,
    /// The blocks' counts over their spans of bins.
    pub(super) counts: Vec<u16>,
}

impl BlockLog {
    /// Starts the segment of a block's observations at `month`, of `indices` indices.
    pub(super) fn start(&mut self, month: usize, indices: usize) {
        let at = self.entries.len();
        self.segments.push((month as u32, at));
        self.entries.resize(at + indices, (0, 0, 0));
    }

    /// Records, for index `index` of the segment last started, a block's counts over the bins
    /// `span`, taken from `tally` (which is left at zero there).
    pub(super) fn record(&mut self, index: usize, span: Range<usize>, tally: &mut Tally) {
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
    pub(super) fn add_counts(&self, segment: usize, index: usize, out: &mut [u32]) {
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
    pub(super) fn by_month(&self, months: usize) -> (Vec<usize>, Vec<usize>) {
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
    pub(super) fn append(&mut self, other: &mut BlockLog) {
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

    pub(super) fn clear(&mut self) {
        self.segments.clear();
        self.entries.clear();
        self.counts.clear();
    }

    pub(super) fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }
}

/// The bins of a cell that can hold counts, from the bin of its least value `min[cell]` to
/// the bin of its greatest `max[cell]`; `None` while it has seen no value.
pub(super) fn cell_span(min: &[f64], max: &[f64], cell: usize) -> Option<Range<usize>> {
    span_between(min[cell], max[cell])
}

/// The bins from that of `lo` to that of `hi`; `None` if `lo > hi` (no value seen).
pub(super) fn span_between(lo: f64, hi: f64) -> Option<Range<usize>> {
    (lo <= hi).then(|| bin(lo)..bin(hi) + 1)
}

/// The histograms of one territory, one row of [`BINS`] counts per (index, month) cell, in
/// 16 bits: half the memory of 32-bit counts, so half the pages to clear for every ensemble
/// and half the cache lines swept per block. A count that outgrows 16 bits keeps its higher
/// part in its cell's short list of carries — at most a few bins per cell, since a cell's
/// counts add up to the runs observed. Exact, and merged exactly.
#[derive(Debug, Clone)]
pub(super) struct Histograms {
    pub(super) low: Vec<u16>,
    /// Per cell: (bin, count >> 16) for the bins whose count reached 2¹⁶.
    pub(super) carries: Vec<Vec<(u16, u64)>>,
}

impl Histograms {
    /// Histograms of `cells` cells, all zero; their rows take memory only once counts go in
    /// (an ensemble that logs its counts never needs them: see [`BlockLog`]).
    pub(super) fn new(cells: usize) -> Histograms {
        Histograms {
            low: Vec::new(),
            carries: vec![Vec::new(); cells],
        }
    }

    /// The rows, made (all zero) if they have not been yet.
    // `vec![0; n]` would be calloc'd: see the comment below for why the zeros are written.
    #[allow(clippy::slow_vector_initialization)]
    pub(super) fn rows(&mut self) -> &mut [u16] {
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
    pub(super) fn add(&mut self, cell: usize, bin: usize, n: u64) {
        let low = &mut self.rows()[cell * BINS + bin];
        let total = u64::from(*low) + n;
        *low = total as u16;
        if total >> 16 != 0 {
            carry(&mut self.carries[cell], bin, total >> 16);
        }
    }

    /// Adds a block's tally of the bins `span` of `cell`, each counted `weight` times, and
    /// clears the tally there.
    pub(super) fn add_tally(
        &mut self,
        cell: usize,
        span: Range<usize>,
        tally: &mut Tally,
        weight: u32,
    ) {
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
    pub(super) fn absorb(
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
    pub(super) fn clear(&mut self, span: impl Fn(usize) -> Option<Range<usize>>) {
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
    pub(super) fn low_row(&self, cell: usize) -> Option<&[u16]> {
        static ZEROS: [u16; BINS] = [0; BINS];
        self.carries[cell].is_empty().then(|| {
            self.low
                .get(cell * BINS..(cell + 1) * BINS)
                .unwrap_or(&ZEROS)
        })
    }

    /// Adds the full counts of `cell` to `out`.
    pub(super) fn add_row(&self, cell: usize, out: &mut [u64; BINS]) {
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
pub(super) fn carry(carries: &mut Vec<(u16, u64)>, bin: usize, high: u64) {
    match carries.iter_mut().find(|(b, _)| usize::from(*b) == bin) {
        Some((_, h)) => *h += high,
        None => carries.push((bin as u16, high)),
    }
}

/// Counters as long as a histogram row, rounded up to a power of two so that a bin's index
/// (a `u16` below [`BINS`]) masked to it needs no bounds check.
pub(super) const TALLY: usize = BINS.next_power_of_two();

/// The counts of one index over a block's lanes, per bin, before they go into a histogram
/// row: small enough to stay in L1. Four counters per bin, lane j counting in counter j mod 4:
/// consecutive lanes often share a bin, and four independent counters do not wait on each
/// other's last update. All zero between uses.
#[derive(Debug, Clone)]
pub(super) struct Tally {
    pub(super) counts: Box<[[u16; TALLY]; 4]>,
}

// A block's count in one bin, the sum of its four counters, must fit 16 bits.
const _: () = assert!(LANES < 1 << 16);

impl Tally {
    pub(super) fn new() -> Tally {
        Tally {
            counts: Box::new([[0; TALLY]; 4]),
        }
    }

    /// Counts each lane's bin.
    #[inline]
    pub(super) fn count(&mut self, bins: &[u16]) {
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
