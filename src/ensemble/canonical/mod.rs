//! The saved form of aggregates: the exact integer aggregates of some runs, sparse — not the
//! worker's internal layout (16-bit rows with carries, block logs), but every histogram cell as
//! its non-zero (bin, count) pairs. A shard file holds this (with a header saying what it is
//! of: `output::shard`); `merge` adds shards up and reads the results from the sum exactly as
//! from a single machine's accumulator.
//!
//! The types derive serde, and their bytes are postcard's compact encoding (variable-length
//! integers, little-endian floats, length-prefixed lists). [`Aggregates::decode`] never panics
//! and never allocates more than its input could hold, then checks that the aggregates are ones
//! runs could have made ([`Aggregates::check`]): a truncated, corrupted or forged input is an
//! error that says what is wrong.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::accumulator::{Accumulator, TerritoryAcc};
use super::histogram::span_between;
use super::{BINS, SPEND_BINS};
use crate::engine::Engine;

/// Why saved aggregates cannot be used: they are not those of the work, or not of any runs.
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

/// A sparse row saved as the gaps between successive bins and their counts: small numbers,
/// which postcard's variable-length integers keep to a byte or two (a quarter smaller shards
/// than absolute bins, after compression).
mod gaps {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(row: &[(u16, u64)], s: S) -> Result<S::Ok, S::Error> {
        let mut last = 0u16;
        let gaps: Vec<(u16, u64)> = row
            .iter()
            .map(|&(bin, count)| {
                let gap = bin.wrapping_sub(last);
                last = bin;
                (gap, count)
            })
            .collect();
        gaps.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(u16, u64)>, D::Error> {
        let gaps = Vec::<(u16, u64)>::deserialize(d)?;
        let mut bin = 0u16;
        gaps.into_iter()
            .enumerate()
            .map(|(k, (gap, count))| {
                bin = bin
                    .checked_add(gap)
                    .filter(|_| k == 0 || gap > 0)
                    .ok_or_else(|| D::Error::custom("bins out of order"))?;
                Ok((bin, count))
            })
            .collect()
    }
}

/// The bytes of a saved value (postcard).
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising into memory fails only for types postcard cannot write (none of ours).
    postcard::to_allocvec(value).unwrap_or_default()
}

/// Reads a value saved by [`encode`], refusing anything malformed or followed by more bytes.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, Mismatch> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => mismatch(format!(
            "{} bytes follow the end of the content",
            rest.len()
        )),
        Err(e) => mismatch(format!("the content ends early or is corrupted ({e})")),
    }
}

/// One histogram cell (an index at a month): its exact sum, least and greatest values, and its
/// non-zero counts by bin, in increasing bin order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Σ value · 2⁵².
    pub sum: u128,
    /// Least value (+∞ when none).
    pub min: f64,
    /// Greatest value (−∞ when none).
    pub max: f64,
    /// (bin, count), bins increasing, counts > 0.
    #[serde(with = "gaps")]
    pub counts: Vec<(u16, u64)>,
}

/// One territory's aggregates, exact and sparse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[serde(with = "gaps")]
    pub spend_counts: Vec<(u16, u64)>,
    /// Σ spend · 1024 (truncated per run).
    pub spend_sum: u128,
    /// Least spend.
    pub spend_min: f64,
    /// Greatest spend.
    pub spend_max_seen: f64,
}

/// The full results of an ensemble's runs (or of some of them), saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregates {
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
    /// The saved form of these aggregates.
    pub fn canonical(&self) -> Aggregates {
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

    /// The bytes of these aggregates (see [`encode`]).
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Reads aggregates written by [`Aggregates::encode`], checking them ([`Aggregates::check`]).
    pub fn decode(bytes: &[u8]) -> Result<Aggregates, Mismatch> {
        let aggregates: Aggregates = decode(bytes)?;
        aggregates.check()?;
        Ok(aggregates)
    }

    /// Refuses aggregates that no runs could have made: lengths that do not agree with their
    /// months and phases, cells whose values are not an index's or whose counts do not add up
    /// to the runs, spend and phase counts beyond the runs.
    pub fn check(&self) -> Result<(), Mismatch> {
        for t in &self.territories {
            let months = t.months as usize;
            if !(1..=1201).contains(&t.months)
                || !(1..=256).contains(&t.phases)
                || t.alive.len() != months
                || t.in_phase.len() != months * t.phases as usize
                || t.entries.len() != months * t.phases as usize
                || t.cells.len() % months != 0
            {
                return mismatch(
                    "the aggregates' lengths do not agree with their months and phases",
                );
            }
            for cell in &t.cells {
                check_cell(cell, self.runs)?;
            }
            check_spend(t, self.runs)?;
        }
        Ok(())
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
    if !sparse_row(&cell.counts, BINS) {
        return mismatch("a cell's counts are not a sparse row of the histogram's bins");
    }
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
    if !sparse_row(&t.spend_counts, SPEND_BINS)
        || !finite
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

/// Whether `row` is a sparse row of `bins` bins: bins increasing and below `bins`, counts not 0.
fn sparse_row(row: &[(u16, u64)], bins: usize) -> bool {
    row.iter()
        .all(|&(bin, count)| usize::from(bin) < bins && count > 0)
        && row.windows(2).all(|w| w[0].0 < w[1].0)
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
    use crate::model::Model;

    fn model(file: &str) -> Model {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(file);
        Model::load(&path).unwrap()
    }

    fn accumulated(model: &Model, first: u64, count: u64) -> Accumulator {
        let controls = Controls::silent();
        accumulate(model, first, count, &Workspace::new(), &controls).unwrap()
    }

    /// Saved, encoded, decoded, merged and read back, the aggregates of runs split in three
    /// (a logged part, parts with rows) give the results of the whole, to the bit; the encoding
    /// round-trips.
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
                let a = accumulated(&m, first, count).canonical();
                let back = Aggregates::decode(&a.encode()).unwrap();
                assert_eq!(back, a);
                back
            })
            .collect();
        let mut sum = saved.remove(2);
        for s in &saved {
            sum.merge(s).unwrap();
        }
        assert_eq!(sum.runs, 5000);
        assert_eq!(sum, whole.canonical());
        let back = sum.accumulator(&engine).unwrap();
        assert_eq!(format!("{:?}", back.results(&m, 0.0)), expected);
    }

    /// Merging refuses aggregates of another shape; decoding refuses truncated and altered
    /// bytes without panicking, and aggregates no runs could have made.
    #[test]
    fn mismatches_and_corruption_are_refused() {
        let m = model("malaunay.toml");
        let a = accumulated(&m, 0, 40).canonical();
        let other = accumulated(&model("grande-synthe.toml"), 0, 40).canonical();
        let e = a.clone().merge(&other).unwrap_err();
        assert!(e.0.contains("shape"), "{e}");
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
        // A count in a bin out of the histogram, unordered bins, one run too many.
        let mut forged = a.clone();
        forged.territories[0].spend_counts.push((u16::MAX, 1));
        assert!(forged.check().is_err());
        let mut forged = a.clone();
        forged.territories[0].cells[5].counts.reverse();
        assert!(forged.check().is_err() || forged.territories[0].cells[5].counts.len() < 2);
        let mut forged = a.clone();
        forged.runs += 1;
        assert!(forged.check().is_err());
        assert!(a.check().is_ok());
    }
    #[test]
    fn sparse_rows_add() {
        assert_eq!(
            add_sparse(&[(1, 2), (5, 1)], &[(0, 1), (5, 3), (9, 9)]),
            vec![(0, 1), (1, 2), (5, 4), (9, 9)]
        );
    }
}
