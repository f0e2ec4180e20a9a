//! The saved form of aggregates: a versioned [`Header`] saying exactly what was simulated, and
//! the exact integer aggregates, sparse — not the worker's internal layout (16-bit rows with
//! carries, block logs), but every histogram cell as its non-zero (bin, count) pairs. A shard
//! file holds this; `merge` adds shards up after checking that their headers and shapes agree,
//! and reads the results from the sum exactly as from a single machine's accumulator.
//!
//! [`Writer`] and [`Reader`] are the byte encoding (LEB128 integers, little-endian floats,
//! length-prefixed lists), shared with the study layer's aggregates. A [`Reader`] never panics
//! and never allocates more than its input could hold: a truncated or corrupted input is an
//! error that says what it was reading.

mod bytes;

use std::fmt;

pub use bytes::{Reader, Writer};

use super::accumulator::{Accumulator, TerritoryAcc};
use super::histogram::span_between;
use super::{BINS, SPEND_BINS};
use crate::engine::Engine;
use crate::model::Model;

/// Version of the canonical form. Any change to what is saved or how must change it.
pub const FORMAT: u32 = 1;

/// What a saved aggregate is of: two aggregates merge only if everything but their runs
/// agrees.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Header {
    /// [`FORMAT`].
    pub format: u32,
    /// [`crate::random::DRAW_STREAM`]: which draws a run makes from its stream.
    pub draw_stream: u32,
    /// The program's version.
    pub program: String,
    /// SHA-256 of the resolved scenario (the model with its overrides and settings), hex.
    pub fingerprint: String,
    /// Master seed.
    pub seed: u64,
    /// Euler substeps per month.
    pub substeps: u32,
    /// `--deterministic`.
    pub deterministic: bool,
    /// The runs aggregated, as sorted, disjoint ranges (first, count).
    pub runs: Vec<(u64, u64)>,
}

/// Why two saved aggregates cannot be merged, or a saved aggregate read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn mismatch<T>(message: impl Into<String>) -> Result<T, Mismatch> {
    Err(Mismatch(message.into()))
}

impl Header {
    /// The header of runs `first..first + count` of `model`.
    pub fn of(model: &Model, first: u64, count: u64) -> Header {
        Header {
            format: FORMAT,
            draw_stream: crate::random::DRAW_STREAM,
            program: env!("CARGO_PKG_VERSION").to_string(),
            fingerprint: model.fingerprint(),
            seed: model.settings.seed,
            substeps: model.settings.substeps,
            deterministic: model.settings.deterministic,
            runs: vec![(first, count)],
        }
    }

    /// Runs in all.
    pub fn run_count(&self) -> u64 {
        self.runs.iter().map(|r| r.1).sum()
    }

    /// Checks that `other` is of the same simulation (everything but the runs agrees), saying
    /// what differs.
    pub fn agrees_with(&self, other: &Header) -> Result<(), Mismatch> {
        let differs = |what: &str, a: String, b: String| {
            mismatch(format!("{what} differs: {a} here, {b} in the other"))
        };
        if self.format != other.format {
            return differs(
                "the format version",
                self.format.to_string(),
                other.format.to_string(),
            );
        }
        if self.program != other.program {
            return differs(
                "the program version",
                self.program.clone(),
                other.program.clone(),
            );
        }
        if self.draw_stream != other.draw_stream {
            return differs(
                "the draw-stream version",
                self.draw_stream.to_string(),
                other.draw_stream.to_string(),
            );
        }
        if self.fingerprint != other.fingerprint {
            return mismatch(
                "the scenario differs (another file, other values or other overrides)",
            );
        }
        if self.seed != other.seed {
            return differs("the seed", self.seed.to_string(), other.seed.to_string());
        }
        if self.substeps != other.substeps {
            return differs(
                "the number of substeps",
                self.substeps.to_string(),
                other.substeps.to_string(),
            );
        }
        if self.deterministic != other.deterministic {
            return mismatch("one is --deterministic and the other is not");
        }
        Ok(())
    }

    /// The union of two headers' runs, refused if they overlap.
    pub fn join_runs(&self, other: &Header) -> Result<Vec<(u64, u64)>, Mismatch> {
        let mut all: Vec<(u64, u64)> = self.runs.iter().chain(&other.runs).copied().collect();
        all.sort_unstable();
        let mut joined: Vec<(u64, u64)> = Vec::new();
        for (first, count) in all {
            match joined.last_mut() {
                Some(last) if first < last.0 + last.1 => {
                    return mismatch(format!(
                        "runs {}..{} are in both",
                        first,
                        (last.0 + last.1).min(first + count)
                    ))
                }
                Some(last) if first == last.0 + last.1 => last.1 += count,
                _ => joined.push((first, count)),
            }
        }
        Ok(joined)
    }
}

/// One histogram cell (an index at a month): its exact sum, least and greatest values, and its
/// non-zero counts by bin, in increasing bin order.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Σ value · 2⁵².
    pub sum: u128,
    /// Least value (+∞ when none).
    pub min: f64,
    /// Greatest value (−∞ when none).
    pub max: f64,
    /// (bin, count), bins increasing, counts > 0.
    pub counts: Vec<(u16, u64)>,
}

/// One territory's aggregates, exact and sparse.
#[derive(Debug, Clone, PartialEq)]
pub struct TerritoryAggregates {
    /// Months 0..=horizon.
    pub months: u32,
    /// Phases.
    pub phases: u32,
    /// Cells, index by index, month by month.
    pub cells: Vec<Cell>,
    /// [month] runs alive.
    pub alive: Vec<u64>,
    /// [month][phase] runs in phase.
    pub in_phase: Vec<u64>,
    /// [phase][month] runs entering the phase at month.
    pub entries: Vec<u64>,
    /// The spend histogram's upper end.
    pub spend_max: f64,
    /// Non-zero (bin, count) of the spend histogram.
    pub spend_counts: Vec<(u16, u64)>,
    /// Σ spend · 1024 (truncated per run).
    pub spend_sum: u128,
    /// Least spend.
    pub spend_min: f64,
    /// Greatest spend.
    pub spend_max_seen: f64,
}

/// The full results of an ensemble's runs (or of some of them), saved.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregates {
    /// What was simulated.
    pub header: Header,
    /// Runs recorded.
    pub runs: u64,
    /// Per territory, in network order.
    pub territories: Vec<TerritoryAggregates>,
}

/// The non-zero entries of a row of counts.
fn sparse(row: &[u64]) -> Vec<(u16, u64)> {
    row.iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(b, &c)| (b as u16, c))
        .collect()
}

impl Accumulator {
    /// The saved form of these aggregates, under `header` (whose runs must be those recorded).
    pub fn canonical(&self, header: Header) -> Aggregates {
        let territories = self
            .territories
            .iter()
            .map(|t| {
                let logs = (!t.log.is_empty()).then(|| t.log.by_month(t.months));
                let mut cells = Vec::with_capacity(t.sums.len());
                let mut row = [0u64; BINS];
                let mut logged = vec![0u32; BINS];
                for index in 0..t.indices() {
                    for month in 0..t.months {
                        let cell = index * t.months + month;
                        cell_counts(t, logs.as_ref(), index, month, &mut row, &mut logged);
                        cells.push(Cell {
                            sum: t.sums[cell],
                            min: t.min[cell],
                            max: t.max[cell],
                            counts: sparse(&row),
                        });
                    }
                }
                TerritoryAggregates {
                    months: t.months as u32,
                    phases: t.phases as u32,
                    cells,
                    alive: t.alive.clone(),
                    in_phase: t.in_phase.clone(),
                    entries: t.entries.clone(),
                    spend_max: t.spend_max,
                    spend_counts: sparse(&t.spend_counts),
                    spend_sum: t.spend_sum,
                    spend_min: t.spend_min,
                    spend_max_seen: t.spend_hi,
                }
            })
            .collect();
        Aggregates {
            header,
            runs: self.runs,
            territories,
        }
    }
}

/// The full counts of one cell of `t` into `row`: its histogram row (with carries) and its
/// log's segments of that month (`logs`: the log's segments by month), `logged` being scratch.
fn cell_counts(
    t: &TerritoryAcc,
    logs: Option<&(Vec<usize>, Vec<usize>)>,
    index: usize,
    month: usize,
    row: &mut [u64; BINS],
    logged: &mut [u32],
) {
    row.fill(0);
    let cell = index * t.months + month;
    if t.rows_used {
        t.counts.add_row(cell, row);
    }
    if let (Some((order, starts)), Some(span)) = (logs, span_between(t.min[cell], t.max[cell])) {
        logged[span.clone()].fill(0);
        for &segment in &order[starts[month]..starts[month + 1]] {
            t.log.add_counts(segment, index, logged);
        }
        for k in span {
            row[k] += u64::from(logged[k]);
        }
    }
}

impl Aggregates {
    /// Adds `other`'s aggregates (of the same simulation, other runs) into these, exactly.
    pub fn merge(&mut self, other: &Aggregates) -> Result<(), Mismatch> {
        self.header.agrees_with(&other.header)?;
        let runs = self.header.join_runs(&other.header)?;
        if self.territories.len() != other.territories.len() {
            return mismatch("the number of territories differs");
        }
        for (a, b) in self.territories.iter().zip(&other.territories) {
            if (a.months, a.phases, a.cells.len(), a.spend_max)
                != (b.months, b.phases, b.cells.len(), b.spend_max)
            {
                return mismatch("the shape of the aggregates differs (months, phases, indices)");
            }
        }
        for (a, b) in self.territories.iter_mut().zip(&other.territories) {
            for (x, y) in a.cells.iter_mut().zip(&b.cells) {
                x.sum += y.sum;
                x.min = x.min.min(y.min);
                x.max = x.max.max(y.max);
                x.counts = add_sparse(&x.counts, &y.counts);
            }
            for (x, y) in [
                (&mut a.alive, &b.alive),
                (&mut a.in_phase, &b.in_phase),
                (&mut a.entries, &b.entries),
            ] {
                x.iter_mut().zip(y).for_each(|(x, y)| *x += y);
            }
            a.spend_counts = add_sparse(&a.spend_counts, &b.spend_counts);
            a.spend_sum += b.spend_sum;
            a.spend_min = a.spend_min.min(b.spend_min);
            a.spend_max_seen = a.spend_max_seen.max(b.spend_max_seen);
        }
        self.runs += other.runs;
        self.header.runs = runs;
        Ok(())
    }

    /// These aggregates as an accumulator of `engine`, from which the results are read exactly
    /// as from the accumulator they were saved from. Refused if they do not have its shape.
    pub fn accumulator(&self, engine: &Engine) -> Result<Accumulator, Mismatch> {
        let mut acc = Accumulator::new(engine, false);
        if acc.territories.len() != self.territories.len() {
            return mismatch("the number of territories differs from the scenario's");
        }
        for (t, s) in acc.territories.iter_mut().zip(&self.territories) {
            if (t.months, t.phases, t.sums.len(), t.spend_max.to_bits())
                != (
                    s.months as usize,
                    s.phases as usize,
                    s.cells.len(),
                    s.spend_max.to_bits(),
                )
                || s.alive.len() != t.alive.len()
                || s.in_phase.len() != t.in_phase.len()
                || s.entries.len() != t.entries.len()
            {
                return mismatch("the aggregates do not have the scenario's shape");
            }
            for (cell, c) in s.cells.iter().enumerate() {
                t.sums[cell] = c.sum;
                t.min[cell] = c.min;
                t.max[cell] = c.max;
                for &(bin, count) in &c.counts {
                    t.counts.add(cell, usize::from(bin), count);
                    t.rows_used = true;
                }
            }
            t.alive.copy_from_slice(&s.alive);
            t.in_phase.copy_from_slice(&s.in_phase);
            t.entries.copy_from_slice(&s.entries);
            for &(bin, count) in &s.spend_counts {
                t.spend_counts[usize::from(bin)] = count;
            }
            t.spend_sum = s.spend_sum;
            t.spend_min = s.spend_min;
            t.spend_hi = s.spend_max_seen;
        }
        acc.runs = self.runs;
        Ok(acc)
    }

    /// The bytes of these aggregates (see [`Writer`]).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.write(&mut w);
        w.bytes
    }

    /// Reads aggregates written by [`Aggregates::encode`], checking every length and range.
    pub fn decode(bytes: &[u8]) -> Result<Aggregates, Mismatch> {
        let mut r = Reader::new(bytes);
        let aggregates = Aggregates::read(&mut r)?;
        r.end()?;
        Ok(aggregates)
    }

    /// Writes these aggregates into `w`.
    pub fn write(&self, w: &mut Writer) {
        w.header(&self.header);
        w.u64(self.runs);
        w.len(self.territories.len());
        for t in &self.territories {
            w.u64(u64::from(t.months));
            w.u64(u64::from(t.phases));
            w.len(t.cells.len());
            for c in &t.cells {
                w.u128(c.sum);
                w.f64(c.min);
                w.f64(c.max);
                w.sparse(&c.counts);
            }
            w.u64s(&t.alive);
            w.u64s(&t.in_phase);
            w.u64s(&t.entries);
            w.f64(t.spend_max);
            w.sparse(&t.spend_counts);
            w.u128(t.spend_sum);
            w.f64(t.spend_min);
            w.f64(t.spend_max_seen);
        }
    }

    /// Reads aggregates written by [`Aggregates::write`] from `r`, checking every length and
    /// range.
    pub fn read(r: &mut Reader<'_>) -> Result<Aggregates, Mismatch> {
        let header = r.header()?;
        let runs = r.u64("the number of runs")?;
        let n = r.len("the territories", 1)?;
        let mut territories = Vec::with_capacity(n);
        for _ in 0..n {
            let months = r.small("the months", 1, 1201)?;
            let phases = r.small("the phases", 1, 257)?;
            let cells = r.len("the cells", 26)?;
            let mut list = Vec::with_capacity(cells);
            for _ in 0..cells {
                list.push(Cell {
                    sum: r.u128("a cell's sum")?,
                    min: r.f64("a cell's least value")?,
                    max: r.f64("a cell's greatest value")?,
                    counts: r.sparse("a cell's counts", BINS)?,
                });
            }
            let alive = r.u64s("the runs alive")?;
            let in_phase = r.u64s("the runs in each phase")?;
            let entries = r.u64s("the phase entries")?;
            let months_n = months as usize;
            if alive.len() != months_n
                || in_phase.len() != months_n * phases as usize
                || entries.len() != months_n * phases as usize
                || cells % months_n != 0
            {
                return mismatch(
                    "the aggregates' lengths do not agree with their months and phases",
                );
            }
            for cell in &list {
                check_cell(cell, runs)?;
            }
            territories.push(TerritoryAggregates {
                months,
                phases,
                cells: list,
                alive,
                in_phase,
                entries,
                spend_max: r.f64("the spend histogram's end")?,
                spend_counts: r.sparse("the spend counts", SPEND_BINS)?,
                spend_sum: r.u128("the spend's sum")?,
                spend_min: r.f64("the least spend")?,
                spend_max_seen: r.f64("the greatest spend")?,
            });
        }
        for t in &territories {
            check_spend(t, runs)?;
        }
        Ok(Aggregates {
            header,
            runs,
            territories,
        })
    }
}

/// Refuses a cell that no runs could have made: a least or greatest value outside [0, 1],
/// counts outside the bins between them, or counts that do not add up to the runs.
fn check_cell(cell: &Cell, runs: u64) -> Result<(), Mismatch> {
    let empty = cell.min == f64::INFINITY && cell.max == f64::NEG_INFINITY;
    let ranged =
        (0.0..=1.0).contains(&cell.min) && (0.0..=1.0).contains(&cell.max) && cell.min <= cell.max;
    if !(empty || ranged) {
        return mismatch("a cell's least and greatest values are not values of an index");
    }
    let span = span_between(cell.min, cell.max).unwrap_or(0..0);
    let mut total: u64 = 0;
    for &(bin, count) in &cell.counts {
        if !span.contains(&usize::from(bin)) {
            return mismatch("a cell counts runs outside its least and greatest values");
        }
        total = total.saturating_add(count);
    }
    if total != runs || (empty && runs > 0) {
        return mismatch("a cell's counts do not add up to the runs");
    }
    // Σ value · 2⁵² of `runs` values in [0, 1].
    if cell.sum > u128::from(runs) << 52 {
        return mismatch("a cell's sum is larger than its runs allow");
    }
    Ok(())
}

/// Refuses spend aggregates that no runs could have made.
fn check_spend(t: &TerritoryAggregates, runs: u64) -> Result<(), Mismatch> {
    let finite = t.spend_max.is_finite() && t.spend_max > 0.0;
    let empty = t.spend_min == f64::INFINITY && t.spend_max_seen == f64::NEG_INFINITY;
    let ranged =
        t.spend_min >= 0.0 && t.spend_min <= t.spend_max_seen && t.spend_max_seen.is_finite();
    let total = t
        .spend_counts
        .iter()
        .fold(0u64, |a, &(_, c)| a.saturating_add(c));
    let bounded = |xs: &[u64]| xs.iter().all(|&x| x <= runs);
    if !finite
        || !(empty || ranged)
        || total != runs
        || !bounded(&t.alive)
        || !bounded(&t.in_phase)
        || !bounded(&t.entries)
    {
        return mismatch("the spend or phase aggregates are not those of the runs");
    }
    Ok(())
}

/// The sum of two sparse rows of counts.
fn add_sparse(a: &[(u16, u64)], b: &[(u16, u64)]) -> Vec<(u16, u64)> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(&(x, c)), Some(&(y, d))) if x == y => {
                out.push((x, c + d));
                i += 1;
                j += 1;
            }
            (Some(&(x, c)), Some(&(y, _))) if x < y => {
                out.push((x, c));
                i += 1;
            }
            (Some(&(x, c)), None) => {
                out.push((x, c));
                i += 1;
            }
            (_, Some(&(y, d))) => {
                out.push((y, d));
                j += 1;
            }
            (None, None) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ensemble::{accumulate, Controls, Workspace};
    use std::sync::atomic::AtomicBool;

    fn model(file: &str) -> Model {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(file);
        Model::load(&path).unwrap()
    }

    fn accumulated(model: &Model, first: u64, count: u64) -> Accumulator {
        let cancel = AtomicBool::new(false);
        let controls = Controls {
            progress: &|_, _| {},
            cancel: &cancel,
        };
        accumulate(model, first, count, &Workspace::new(), &controls).unwrap()
    }

    /// Saved, encoded, decoded, merged and read back, the aggregates of runs split in three
    /// (a logged part, parts with rows) give the results of the whole, to the bit; the header
    /// records the runs; the encoding round-trips.
    #[test]
    fn saved_shards_merge_into_the_whole() {
        let m = model("grande-synthe.toml");
        let engine = Engine::new(&m);
        let whole = accumulated(&m, 0, 5000);
        let expected = format!("{:?}", whole.results(&m, 0.0));
        let parts = [(0, 700), (700, 4100), (4800, 200)];
        let mut saved: Vec<Aggregates> = parts
            .iter()
            .map(|&(first, count)| {
                let a = accumulated(&m, first, count).canonical(Header::of(&m, first, count));
                let back = Aggregates::decode(&a.encode()).unwrap();
                assert_eq!(back, a);
                back
            })
            .collect();
        let mut sum = saved.remove(2);
        for s in &saved {
            sum.merge(s).unwrap();
        }
        assert_eq!(sum.header.runs, vec![(0, 5000)]);
        assert_eq!(sum, whole.canonical(Header::of(&m, 0, 5000)));
        let back = sum.accumulator(&engine).unwrap();
        assert_eq!(format!("{:?}", back.results(&m, 0.0)), expected);
    }

    /// Merging refuses what is not the same simulation, or the same runs twice; decoding
    /// refuses truncated and altered bytes without panicking.
    #[test]
    fn mismatches_and_corruption_are_refused() {
        let m = model("malaunay.toml");
        let a = accumulated(&m, 0, 40).canonical(Header::of(&m, 0, 40));
        let b = accumulated(&m, 40, 40).canonical(Header::of(&m, 40, 40));
        let mut twice = a.clone();
        let e = twice.merge(&a).unwrap_err();
        assert!(e.0.contains("runs 0..40 are in both"), "{e}");
        let mut other_seed = m.clone();
        other_seed.settings.seed += 1;
        let c = accumulated(&other_seed, 40, 40).canonical(Header::of(&other_seed, 40, 40));
        let e = a.clone().merge(&c).unwrap_err();
        assert!(e.0.contains("scenario differs"), "{e}");
        let mut ok = a.clone();
        ok.merge(&b).unwrap();
        assert_eq!(ok.header.runs, vec![(0, 80)]);
        let bytes = a.encode();
        for cut in (0..bytes.len()).step_by(97) {
            assert!(Aggregates::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut state = 7u64;
        for _ in 0..300 {
            let mut bad = bytes.clone();
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            let at = (state >> 33) as usize % bad.len();
            bad[at] ^= 1 << ((state >> 20) % 8);
            let _ = Aggregates::decode(&bad);
        }
    }

    #[test]
    fn sparse_rows_add() {
        assert_eq!(
            add_sparse(&[(1, 2), (5, 1)], &[(0, 1), (5, 3), (9, 9)]),
            vec![(0, 1), (1, 2), (5, 4), (9, 9)]
        );
    }
}
