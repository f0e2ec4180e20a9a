//! Shards: the work of a command split into N equal parts that separate machines (the tasks of
//! a Slurm job array) do apart and `merge` adds up exactly. The part of shard I of N is fixed
//! by I, N and the work alone, so a merge can check that the parts it is given cover the work
//! once, and a shard split never changes a result: every aggregate is exact (integer counts and
//! 2⁻⁵² fixed-point sums) and a run's draws depend only on the seed and its index.
//!
//! - An ensemble (`run`, `test`, `compare`): a contiguous range of run indices,
//!   `⌊(I−1)R/N⌋..⌊IR/N⌋`.
//! - A batch of points (`sweep`, `sensitivity`): with at least as many points as shards, the
//!   points `⌊(I−1)P/N⌋..⌊IP/N⌋`, each whole; with fewer, the points' runs laid end to end and
//!   cut the same way, so that each shard does the same number of runs (a point's runs then
//!   come from several shards).

use std::fmt;
use std::ops::Range;

use crate::diag::Error;

/// Most shards a piece of work may be split into.
pub const MAX_SHARDS: u32 = 100_000;

/// Shard I of N (I in 1..=N).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shard {
    /// I, from 1.
    pub index: u32,
    /// N.
    pub count: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How a command's work is laid out, for splitting it: one ensemble of runs, or points of a
/// batch with their runs each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// An ensemble of this many runs (`run`, `test`, `compare`).
    Runs(u64),
    /// Points with these runs each (`sweep`, `sensitivity`, `transfer`, `discover`).
    Points(Vec<u64>),
}

/// A shard's part of the work (or all of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// These runs of the ensemble.
    Runs(Range<u64>),
    /// These pieces of the points, in point order.
    Pieces(Vec<Piece>),
}

impl Layout {
    /// The part of `shard` (all of it for [`Shard::whole`]).
    pub fn part(&self, shard: Shard) -> Part {
        match self {
            Layout::Runs(runs) => Part::Runs(shard.runs(*runs)),
            Layout::Points(runs) => Part::Pieces(shard.pieces(runs)),
        }
    }

    /// All of the work.
    pub fn whole(&self) -> Part {
        self.part(Shard::whole())
    }

    /// Runs in all (every point's).
    pub fn total_runs(&self) -> u64 {
        match self {
            Layout::Runs(runs) => *runs,
            Layout::Points(runs) => runs.iter().sum(),
        }
    }

    /// The points (1 for an ensemble).
    pub fn points(&self) -> u64 {
        match self {
            Layout::Runs(_) => 1,
            Layout::Points(runs) => runs.len() as u64,
        }
    }

    /// The part of `shard`, in words ("runs 250 to 499 of 1000", "points 3 to 5 of 9").
    pub fn describe(&self, shard: Shard) -> String {
        match (self, self.part(shard)) {
            (Layout::Runs(runs), Part::Runs(r)) => {
                format!("runs {} to {} of {runs}", r.start, r.end.saturating_sub(1))
            }
            (Layout::Points(runs), Part::Pieces(pieces)) => {
                let points = runs.len();
                let (Some(first), Some(last)) = (pieces.first(), pieces.last()) else {
                    return "nothing".into();
                };
                let whole = |p: &Piece| p.runs.start == 0 && p.runs.end == runs[p.point];
                if pieces.iter().all(whole) {
                    format!(
                        "points {} to {} of {points}",
                        first.point + 1,
                        last.point + 1
                    )
                } else if first.point == last.point {
                    format!(
                        "runs {} to {} of point {} of {points}",
                        first.runs.start,
                        first.runs.end - 1,
                        first.point + 1
                    )
                } else {
                    format!(
                        "point {} runs {} to point {} run {} of {points} points",
                        first.point + 1,
                        first.runs.start,
                        last.point + 1,
                        last.runs.end - 1
                    )
                }
            }
            _ => "nothing".into(),
        }
    }
}

impl Part {
    /// Runs in the part.
    pub fn runs(&self) -> u64 {
        match self {
            Part::Runs(r) => r.end - r.start,
            Part::Pieces(pieces) => pieces.iter().map(|p| p.runs.end - p.runs.start).sum(),
        }
    }
}

/// A point's runs done by one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The point's index (from 0).
    pub point: usize,
    /// Its runs.
    pub runs: Range<u64>,
}

/// `⌊k·total/n⌋`, without overflow.
fn cut(k: u64, total: u64, n: u64) -> u64 {
    (u128::from(k) * u128::from(total) / u128::from(n)) as u64
}

impl Shard {
    /// Reads `--shard I/N`.
    pub fn parse(text: &str) -> Result<Shard, Error> {
        let usage = |why: &str| {
            Error::Usage(format!(
                "--shard {text}: {why}; write I/N with 1 ≤ I ≤ N ≤ {MAX_SHARDS}, e.g. --shard 3/8 for the third of eight parts"
            ))
        };
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| usage("there is no `/`"))?;
        let number = |s: &str| s.trim().parse::<u32>().ok();
        let (Some(index), Some(count)) = (number(i), number(n)) else {
            return Err(usage("I and N must be whole numbers"));
        };
        if count == 0 || count > MAX_SHARDS {
            return Err(usage("N is out of range"));
        }
        if index == 0 || index > count {
            return Err(usage("I must be from 1 to N"));
        }
        Ok(Shard { index, count })
    }

    /// The whole work as one shard.
    pub fn whole() -> Shard {
        Shard { index: 1, count: 1 }
    }

    /// Refuses a split into more parts than the work has runs (a part would be empty).
    pub fn check(&self, runs: u64) -> Result<(), Error> {
        if u64::from(self.count) > runs {
            return Err(Error::Usage(format!(
                "--shard {self}: the work has {runs} runs, fewer than {} shards; give at most {runs} shards or more runs",
                self.count
            )));
        }
        Ok(())
    }

    /// This shard's runs of an ensemble of `total` runs.
    pub fn runs(&self, total: u64) -> Range<u64> {
        let n = u64::from(self.count);
        let i = u64::from(self.index);
        cut(i - 1, total, n)..cut(i, total, n)
    }

    /// This shard's pieces of a batch whose point p has `runs[p]` runs, in point order.
    pub fn pieces(&self, runs: &[u64]) -> Vec<Piece> {
        let points = runs.len() as u64;
        let n = u64::from(self.count);
        if points >= n {
            return self
                .runs(points)
                .map(|p| Piece {
                    point: p as usize,
                    runs: 0..runs[p as usize],
                })
                .collect();
        }
        let total: u64 = runs.iter().sum();
        let mine = self.runs(total);
        let mut pieces = Vec::new();
        let mut offset = 0;
        for (point, &r) in runs.iter().enumerate() {
            let (lo, hi) = (mine.start.max(offset), mine.end.min(offset + r));
            if lo < hi {
                pieces.push(Piece {
                    point,
                    runs: lo - offset..hi - offset,
                });
            }
            offset += r;
        }
        pieces
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_work_once() {
        for n in 1..=9u32 {
            let shards = (1..=n).map(|index| Shard { index, count: n });
            let runs: Vec<Range<u64>> = shards.clone().map(|s| s.runs(1001)).collect();
            assert_eq!(runs[0].start, 0);
            assert_eq!(runs.last().unwrap().end, 1001);
            assert!(runs.windows(2).all(|w| w[0].end == w[1].start));
            assert!(runs.iter().all(|r| r.end - r.start >= 1001 / u64::from(n)));
            for points in [vec![5, 5, 5], vec![100; 20], vec![7, 3, 9, 1]] {
                let mut covered: Vec<Vec<Range<u64>>> = vec![Vec::new(); points.len()];
                for s in shards.clone() {
                    for p in s.pieces(&points) {
                        covered[p.point].push(p.runs);
                    }
                }
                for (p, ranges) in covered.iter().enumerate() {
                    assert_eq!(ranges[0].start, 0, "n {n}, point {p}");
                    assert_eq!(ranges.last().unwrap().end, points[p]);
                    assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
                }
            }
        }
        // Four points of ten runs over ten shards: four runs each, the fourth shard's
        // the 13th to 16th runs laid end to end, runs 2..6 of the second point; the third
        // shard's runs 8..12 span two points.
        let shard = |index| Shard { index, count: 10 };
        let piece = |point, runs| Piece { point, runs };
        assert_eq!(shard(4).pieces(&[10; 4]), vec![piece(1, 2..6)]);
        assert_eq!(
            shard(3).pieces(&[10; 4]),
            vec![piece(0, 8..10), piece(1, 0..2)]
        );
    }

    #[test]
    fn shard_arguments_are_checked() {
        assert_eq!(Shard::parse("3/8").unwrap(), Shard { index: 3, count: 8 });
        for bad in ["0/4", "5/4", "1/0", "a/4", "3", "1/100001", "-1/4", ""] {
            let e = Shard::parse(bad).unwrap_err().to_string();
            assert!(e.contains("--shard") && e.contains("I/N"), "{bad}: {e}");
        }
        assert!(Shard::parse("4/4").unwrap().check(3).is_err());
        assert!(Shard::parse("4/4").unwrap().check(4).is_ok());
    }
}
