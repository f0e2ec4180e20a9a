//! `--shard I/N`: a command's work prepared exactly as the command prepares it, the I-th of N
//! parts of it simulated (see [`crate::study::shard`]), and its exact aggregates written into
//! `DIR/shard-I-of-N.shard` (see [`crate::output::shard`]) for `merge`.
//!
//! [`Work`] is what merge and the shards share: the prepared command, its fingerprint (of the
//! resolved scenarios with their overrides, the outcomes and the points), its parts, and the
//! saved form of each part's aggregates.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::job::Job;
use super::{compare, default_out_dir, run, sensitivity, sweep, test, Controls, Simulation};
use crate::diag::Error;
use crate::ensemble::canonical::{Header as Saved, Mismatch, Reader, Writer};
use crate::ensemble::{self, Workload, Workspace};
use crate::output::shard::{self as file, Header};
use crate::study::collect::Outcomes;
use crate::study::explore;
use crate::study::shard::{Piece, Shard};
use crate::study::Study;

/// A command's work, prepared: everything checked, nothing simulated.
#[derive(Debug)]
pub enum Work {
    /// `run`.
    Run(Study),
    /// `test`: the scenario and every hypothesis (the file's, then `--expect`'s).
    Test(Study),
    /// `compare`.
    Compare(crate::study::compare::Prepared),
    /// `sweep`.
    Sweep(crate::study::sweep::Prepared),
    /// `sensitivity`.
    Sensitivity(crate::study::sensitivity::Prepared),
}

/// A shard written.
#[derive(Debug, Clone)]
pub struct ShardReport {
    /// Which shard.
    pub shard: Shard,
    /// Its part of the work, in words.
    pub part: String,
    /// The file written.
    pub path: PathBuf,
}

impl Work {
    /// Prepares `job` as its command would (loading its files, checking every argument and
    /// point), with the job's settings and overrides and `sim`'s threads; checks the work
    /// unless `--allow-long`.
    pub fn prepare(job: &Job, sim: &Simulation) -> Result<Work, Error> {
        // The job's settings and overrides, whatever `sim` holds.
        let sim = &Simulation {
            overrides: job.overrides().clone(),
            ..sim.clone()
        };
        let work = match job {
            Job::Run { file, .. } => Work::Run(run::prepare(file, sim)?),
            Job::Test { file, expects, .. } => Work::Test(test::prepare(file, sim, expects)?),
            Job::Compare {
                files,
                variants,
                outcomes,
                ..
            } => Work::Compare(compare::prepare(files, variants, outcomes, sim)?),
            Job::Sweep { file, args, .. } => Work::Sweep(sweep::prepare(file, args, sim)?),
            Job::Sensitivity { file, args, .. } => {
                Work::Sensitivity(sensitivity::prepare(file, args, sim)?)
            }
        };
        if !sim.allow_long {
            if let Some(w) = work.ensemble_workload(sim, job.plots()) {
                w.shard(sim.shards).check()?;
            }
        }
        Ok(work)
    }

    /// The work of an ensemble command (sweeps and analyses check theirs when prepared).
    fn ensemble_workload(&self, sim: &Simulation, plots: bool) -> Option<Workload> {
        match self {
            Work::Run(study) => Some(run::workload(study, sim)),
            Work::Test(study) => Some(test::workload(study, sim)),
            Work::Compare(p) => Some(compare::workload(p, sim, plots)),
            Work::Sweep(_) | Work::Sensitivity(_) => None,
        }
    }

    /// The scenario as given (the base of a comparison, sweep or analysis).
    pub fn model(&self) -> &crate::model::Model {
        match self {
            Work::Run(s) | Work::Test(s) => &s.model,
            Work::Compare(p) => &p.models[0],
            Work::Sweep(p) => p.base(),
            Work::Sensitivity(p) => p.base(),
        }
    }

    /// Where the command writes (`out`, or its default folder): for a shard, the folder of its
    /// shard files.
    pub fn target(&self, out: Option<&Path>) -> PathBuf {
        match self {
            Work::Run(s) => run::target(s, out),
            Work::Test(s) => out.map_or_else(
                || default_out_dir(&s.model, Some("test")),
                Path::to_path_buf,
            ),
            Work::Compare(p) => compare::target(p, out),
            Work::Sweep(p) => sweep::target(p, out),
            Work::Sensitivity(p) => sensitivity::target(p, out),
        }
    }

    /// SHA-256 of everything the results depend on: the resolved scenarios with their
    /// overrides and settings, the hypotheses and outcomes, and the points.
    pub fn fingerprint(&self) -> String {
        let mut d = Sha256::new();
        let mut part = |bytes: Vec<u8>| {
            d.update((bytes.len() as u64).to_le_bytes());
            d.update(bytes);
        };
        match self {
            Work::Run(s) | Work::Test(s) => {
                part(s.model.fingerprint().into_bytes());
                part(json(&s.hypotheses));
            }
            Work::Compare(p) => {
                p.models
                    .iter()
                    .for_each(|m| part(m.fingerprint().into_bytes()));
                part(json(&p.names));
                let texts: Vec<&str> = p.outcomes[0].iter().map(|o| o.text.as_str()).collect();
                part(json(&texts));
            }
            Work::Sweep(p) => {
                part(p.base().fingerprint().into_bytes());
                part(json(&p.outcomes));
                part(json(&p.points));
                part(json(&p.expects));
            }
            Work::Sensitivity(p) => {
                part(p.base().fingerprint().into_bytes());
                part(json(&p.outcomes));
                part(json(&p.points));
            }
        }
        d.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Runs of the whole work (per point for a batch) and its points.
    fn size(&self) -> (u64, u64) {
        let runs = self.model().settings.runs;
        match self {
            Work::Sweep(p) => (runs, p.points.len() as u64),
            Work::Sensitivity(p) => (runs, p.points.len() as u64),
            _ => (runs, 1),
        }
    }

    /// The points of a sweep or analysis (`None` for an ensemble command).
    fn points(&self) -> Option<Points<'_>> {
        let (batch, parameters, points) = match self {
            Work::Sweep(p) => (p.batch(), &p.parameters, &p.points),
            Work::Sensitivity(p) => (p.batch(), &p.parameters, &p.points),
            _ => return None,
        };
        Some(Points {
            batch,
            parameters,
            values: points,
        })
    }

    /// The pieces of a batch that `shard` does (empty for an ensemble command).
    fn pieces(&self, shard: Shard) -> Vec<Piece> {
        let Some(Points {
            batch,
            parameters,
            values,
        }) = self.points()
        else {
            return Vec::new();
        };
        let whole = explore::whole(batch, parameters, values);
        let runs: Vec<u64> = whole.iter().map(|p| p.runs.end).collect();
        shard.pieces(&runs)
    }

    /// Runs in all (every point's runs for a batch).
    pub fn total_runs(&self) -> u64 {
        match self {
            Work::Sweep(_) | Work::Sensitivity(_) => self
                .pieces(Shard::whole())
                .iter()
                .map(|p| p.runs.end - p.runs.start)
                .sum(),
            _ => self.size().0,
        }
    }

    /// `shard`'s part in words.
    pub fn part(&self, shard: Shard) -> String {
        let (runs, points) = self.size();
        match self {
            Work::Sweep(_) | Work::Sensitivity(_) => {
                let pieces = self.pieces(shard);
                let (Some(first), Some(last)) = (pieces.first(), pieces.last()) else {
                    return "nothing".into();
                };
                let whole = |p: &Piece| p.runs.start == 0 && p.runs.end == runs;
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
            _ => {
                let r = shard.runs(runs);
                format!("runs {} to {} of {runs}", r.start, r.end - 1)
            }
        }
    }

    /// Simulates `shard`'s part of the work and returns its aggregates' saved form; `None` if
    /// cancelled. `plots`: whether a comparison keeps the full results its plots need.
    pub fn gather(
        &self,
        shard: Shard,
        plots: bool,
        sim: &Simulation,
        controls: &Controls<'_>,
    ) -> Result<Option<Vec<u8>>, Error> {
        let ws = Workspace::new();
        let mut w = Writer::default();
        let runs = shard.runs(self.size().0);
        let done = match self {
            Work::Run(study) => {
                let model = &study.model;
                sim.in_pool(|| {
                    let count = runs.end - runs.start;
                    ensemble::accumulate(model, runs.start, count, &ws, controls).map(|acc| {
                        acc.canonical(Saved::of(model, runs.start, count))
                            .write(&mut w)
                    })
                })?
            }
            Work::Test(study) => sim
                .in_pool(|| test::gather_runs(study, runs.clone(), &ws, controls))?
                .map(|o| o.write(&mut w)),
            Work::Compare(p) => sim
                .in_pool(|| p.gather(plots, runs.clone(), &ws, controls))?
                .map(|sums| sums.write(&mut w, &p.models, runs.clone())),
            Work::Sweep(_) | Work::Sensitivity(_) => {
                let pieces = self.pieces(shard);
                let Some(p) = self.points() else {
                    return Ok(None);
                };
                let gathered = sim.in_pool(|| {
                    explore::gather_pieces(p.batch, p.parameters, p.values, &pieces, &ws, controls)
                })??;
                gathered.map(|list| {
                    w.len(list.len());
                    for (piece, outcomes) in pieces.iter().zip(&list) {
                        w.u64(piece.point as u64);
                        w.u64(piece.runs.start);
                        w.u64(piece.runs.end - piece.runs.start);
                        outcomes.write(&mut w);
                    }
                })
            }
        };
        Ok(done.map(|()| w.bytes))
    }

    /// Reads `shard`'s saved aggregates, checking that they are of its part of this work.
    pub fn read(&self, shard: Shard, bytes: &[u8], plots: bool) -> Result<Part, Mismatch> {
        let mut r = Reader::new(bytes);
        let runs = shard.runs(self.size().0);
        let count = runs.end - runs.start;
        let expect_runs = |got: u64| {
            if got == count {
                Ok(())
            } else {
                Err(Mismatch(format!(
                    "it holds {got} runs where shard {shard} has {count}"
                )))
            }
        };
        let part = match self {
            Work::Run(_) => {
                let saved = crate::ensemble::canonical::Aggregates::read(&mut r)?;
                if saved.header.runs != vec![(runs.start, count)] || saved.runs != count {
                    return Err(Mismatch(format!(
                        "its runs are not those of shard {shard} ({} to {})",
                        runs.start,
                        runs.end - 1
                    )));
                }
                Part::Run(saved)
            }
            Work::Test(study) => {
                let engine = crate::engine::Engine::new(&study.model);
                let mut o = Outcomes::new(&engine, &test::outcomes(study));
                o.read(&mut r)?;
                expect_runs(o.runs())?;
                Part::Outcomes(o)
            }
            Work::Compare(p) => {
                let sums = p.read(&mut r, plots)?;
                expect_runs(sums.runs())?;
                Part::Compare(sums)
            }
            Work::Sweep(_) | Work::Sensitivity(_) => {
                let expected = self.pieces(shard);
                let Some(points) = self.points() else {
                    return Err(Mismatch("not a batch".into()));
                };
                let n = r.len("the pieces", 3)?;
                if n != expected.len() {
                    return Err(Mismatch(format!(
                        "it holds {n} pieces of points where shard {shard} has {}",
                        expected.len()
                    )));
                }
                let mut pieces = Vec::with_capacity(n);
                for piece in expected {
                    let point = r.u64("a piece's point")?;
                    let first = r.u64("a piece's first run")?;
                    let count = r.u64("a piece's runs")?;
                    if (point, first, count)
                        != (
                            piece.point as u64,
                            piece.runs.start,
                            piece.runs.end - piece.runs.start,
                        )
                    {
                        return Err(Mismatch(format!(
                            "its pieces are not those of shard {shard}"
                        )));
                    }
                    let mut o = points.empty_outcomes(piece.point)?;
                    o.read(&mut r)?;
                    if o.runs() != count {
                        return Err(Mismatch("a piece's runs do not add up".into()));
                    }
                    pieces.push((piece.point, o));
                }
                Part::Pieces(pieces)
            }
        };
        r.end()?;
        Ok(part)
    }
}

/// The points of a sweep or analysis.
struct Points<'w> {
    batch: &'w crate::study::batch::Batch,
    parameters: &'w [crate::study::design::Parameter],
    values: &'w [Vec<f64>],
}

impl Points<'_> {
    /// The empty outcomes' sums of point `point`.
    fn empty_outcomes(&self, point: usize) -> Result<Outcomes, Mismatch> {
        let values = self.values.get(point).ok_or_else(|| {
            Mismatch(format!(
                "it holds point {}, which the design has not",
                point + 1
            ))
        })?;
        let (model, outcomes) = self
            .batch
            .point(&explore::sets(self.parameters, values))
            .map_err(|_| Mismatch(format!("its point {} cannot be simulated", point + 1)))?;
        Ok(Outcomes::new(
            &crate::engine::Engine::new(&model),
            &outcomes,
        ))
    }
}

/// One shard's aggregates, read back.
#[derive(Debug)]
pub enum Part {
    /// `run`: the full results of its runs.
    Run(crate::ensemble::canonical::Aggregates),
    /// `test`: the hypotheses' outcomes over its runs.
    Outcomes(Outcomes),
    /// `compare`: the comparison's sums over its runs.
    Compare(crate::study::compare::Sums),
    /// `sweep`, `sensitivity`: each piece's point and outcomes.
    Pieces(Vec<(usize, Outcomes)>),
}

/// A value's JSON bytes (for fingerprints).
fn json<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Does shard `shard` of `job` and writes its file into the command's folder (`--out` or its
/// default). `Ok(None)` if cancelled: nothing is written.
pub fn shard(
    job: &Job,
    shard: Shard,
    sim: &Simulation,
    controls: &Controls<'_>,
) -> Result<Option<ShardReport>, Error> {
    let sim = Simulation {
        shards: shard.count,
        ..sim.clone()
    };
    let work = Work::prepare(job, &sim)?;
    shard.check(work.total_runs())?;
    let dir = work.target(job.out());
    // An unwritable folder fails now, before the work.
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let started = Instant::now();
    let Some(payload) = work.gather(shard, job.plots(), &sim, controls)? else {
        return Ok(None);
    };
    let header = header(job, &work, shard, started.elapsed().as_secs_f64());
    let path = file::write(&dir, &header, &payload)?;
    Ok(Some(ShardReport {
        shard,
        part: header.part,
        path,
    }))
}

/// The header of `shard` of `job`.
fn header(job: &Job, work: &Work, shard: Shard, seconds: f64) -> Header {
    let settings = work.model().settings;
    let (runs, points) = work.size();
    Header {
        format: file::FORMAT,
        program: env!("CARGO_PKG_VERSION").to_string(),
        draw_stream: crate::random::DRAW_STREAM,
        aggregates: crate::ensemble::canonical::FORMAT,
        command: job.name().to_string(),
        command_line: format!("trajectoire {}", job.command_line()),
        job: serde_json::to_value(job).unwrap_or_default(),
        fingerprint: work.fingerprint(),
        seed: settings.seed,
        substeps: settings.substeps,
        deterministic: settings.deterministic,
        runs,
        points,
        shard: shard.index,
        shards: shard.count,
        part: work.part(shard),
        payload_bytes: 0,
        seconds,
    }
}
