//! `trajectoire merge SHARD...`: the shard files of one piece of work, checked against each
//! other and against the scenario files as they are now, added up exactly and written as the
//! command that was split would have written them on one machine — the same files, byte for
//! byte, but for `summary.json`'s wall time and its record of the shards.
//!
//! Every shard is read and checked before anything is written; a refusal names the file and
//! what is wrong with it (exit 1).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::compare::CompareReport;
use super::job::Job;
use super::run::RunReport;
use super::sensitivity::SensitivityReport;
use super::shard::{Part, Work};
use super::sweep::SweepReport;
use super::test::TestReport;
use super::{compare, run, sensitivity, sweep, test, Controls, Simulation};
use crate::diag::Error;
use crate::ensemble::Workspace;
use crate::output::folder::Staging;
use crate::output::shard::{self as file, Header};
use crate::study::explore;
use crate::study::shard::Shard;

/// A simulating command's report, whether it ran on one machine or was merged from shards.
#[derive(Debug)]
pub enum Merged {
    /// `run`.
    Run(RunReport),
    /// `test` (no file).
    Test(TestReport),
    /// `compare`.
    Compare(CompareReport),
    /// `sweep`.
    Sweep(SweepReport),
    /// `sensitivity`.
    Sensitivity(SensitivityReport),
}

/// A finished merge.
#[derive(Debug)]
pub struct MergeReport {
    /// The command's report.
    pub merged: Merged,
    /// The job the shards were of.
    pub job: Job,
    /// Shards merged.
    pub shards: u32,
}

/// One shard file, read and checked on its own.
struct Read {
    path: PathBuf,
    header: Header,
    payload: Vec<u8>,
}

fn name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Refuses `other` for disagreeing with `first` about `what`.
fn disagree(other: &Read, first: &Read, what: &str, theirs: String, ours: String) -> Error {
    Error::refused(
        &other.path,
        format!(
            "its {what} is {theirs}, but {}'s is {ours}",
            name(&first.path)
        ),
        "merge the shards of one piece of work only: the same command, scenario, overrides, seed, runs and number of shards",
    )
}

/// Checks that `other` is a shard of the same work as `first`.
fn agree(first: &Read, other: &Read) -> Result<(), Error> {
    let (a, b) = (&first.header, &other.header);
    let checks: [(&str, String, String); 9] = [
        ("program version", b.program.clone(), a.program.clone()),
        (
            "draw-stream version",
            b.draw_stream.to_string(),
            a.draw_stream.to_string(),
        ),
        (
            "aggregates' format",
            b.aggregates.to_string(),
            a.aggregates.to_string(),
        ),
        (
            "command",
            format!("`{}`", b.command),
            format!("`{}`", a.command),
        ),
        ("seed", b.seed.to_string(), a.seed.to_string()),
        ("number of runs", b.runs.to_string(), a.runs.to_string()),
        (
            "number of substeps",
            b.substeps.to_string(),
            a.substeps.to_string(),
        ),
        (
            "number of shards",
            b.shards.to_string(),
            a.shards.to_string(),
        ),
        (
            "number of points",
            b.points.to_string(),
            a.points.to_string(),
        ),
    ];
    for (what, theirs, ours) in checks {
        if theirs != ours {
            return Err(disagree(other, first, what, theirs, ours));
        }
    }
    if b.deterministic != a.deterministic {
        return Err(disagree(
            other,
            first,
            "simulation",
            if b.deterministic {
                "--deterministic"
            } else {
                "with noise"
            }
            .into(),
            if a.deterministic {
                "--deterministic"
            } else {
                "with noise"
            }
            .into(),
        ));
    }
    if b.fingerprint != a.fingerprint {
        return Err(Error::refused(
            &other.path,
            format!(
                "it is a shard of another scenario than {} (other files, values or overrides: their fingerprints differ)",
                name(&first.path)
            ),
            "merge the shards of one piece of work only; run the shards again if the scenario changed while they ran",
        ));
    }
    if b.job != a.job {
        return Err(disagree(
            other,
            first,
            "the command line",
            format!("`{}`", b.command_line),
            format!("`{}`", a.command_line),
        ));
    }
    Ok(())
}

/// Merges shard files and writes the outputs into `out` (default: the split command's
/// `--out`, or its default folder). `plots: false` leaves the plots out. `Ok(None)` if
/// cancelled: nothing written.
pub fn merge(
    files: &[PathBuf],
    out: Option<&Path>,
    plots: bool,
    threads: Option<usize>,
    controls: &Controls<'_>,
) -> Result<Option<MergeReport>, Error> {
    if files.is_empty() {
        return Err(Error::Usage(
            "give the shard files to merge, e.g. trajectoire merge output/malaunay/shard-*-of-8.shard".into(),
        ));
    }
    let mut read: Vec<Read> = Vec::with_capacity(files.len());
    for path in files {
        let (header, payload) = file::read(path)?;
        read.push(Read {
            path: path.clone(),
            header,
            payload,
        });
    }
    let first = &read[0];
    let program = env!("CARGO_PKG_VERSION");
    if first.header.program != program {
        return Err(Error::refused(
            &first.path,
            format!(
                "it was written by trajectoire {}; this is trajectoire {program}",
                first.header.program
            ),
            "merge shards with the version that wrote them (results may differ between versions)",
        ));
    }
    for other in &read[1..] {
        agree(first, other)?;
    }
    // Each shard once, and every one of them.
    let count = first.header.shards;
    let mut by_index: BTreeMap<u32, usize> = BTreeMap::new();
    for (k, r) in read.iter().enumerate() {
        if r.header.shard == 0 || r.header.shard > count {
            return Err(Error::refused(
                &r.path,
                format!("it says it is shard {} of {count}", r.header.shard),
                "the file is damaged: run this shard again",
            ));
        }
        if let Some(&j) = by_index.get(&r.header.shard) {
            return Err(Error::refused(
                &r.path,
                format!(
                    "shard {} of {count} is given twice: here and as {}",
                    r.header.shard,
                    read[j].path.display()
                ),
                "give each shard once",
            ));
        }
        by_index.insert(r.header.shard, k);
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        let folder = first.path.parent().unwrap_or(Path::new("."));
        return Err(Error::refused(
            folder,
            format!(
                "shard{} {} of {count} {} missing ({} given)",
                if missing.len() == 1 { "" } else { "s" },
                list(&missing),
                if missing.len() == 1 { "is" } else { "are" },
                read.len()
            ),
            format!(
                "give all {count} shards (e.g. shard-*-of-{count}.{}); run the missing ones with --shard I/{count}",
                file::EXTENSION
            ),
        ));
    }
    let job: Job = serde_json::from_value(first.header.job.clone()).map_err(|e| {
        Error::refused(
            &first.path,
            format!("its command cannot be read back ({e})"),
            "merge shards with the version that wrote them",
        )
    })?;
    let sim = Simulation {
        overrides: job.overrides().clone(),
        threads,
        allow_long: true,
        shards: 0,
    };
    let work = Work::prepare(&job, &sim)?;
    if work.fingerprint() != first.header.fingerprint {
        return Err(Error::refused(
            &first.path,
            "the scenario files are not those these shards simulated: they changed since, or are other files of the same name here".to_string(),
            format!(
                "merge in the folder where `{}` ran, with the files as they were; or run the shards again",
                first.header.command_line
            ),
        ));
    }
    let plots = plots && job.plots();
    let target = work.target(out.or(job.out()));
    let staging = match job {
        Job::Test { .. } => None,
        _ => Some(Staging::create(&target)?),
    };
    let mut parts = Vec::with_capacity(read.len());
    for (done, (&index, &k)) in by_index.iter().enumerate() {
        if controls.cancelled() {
            return Ok(None);
        }
        let r = &read[k];
        let shard = Shard { index, count };
        let part = work.read(shard, &r.payload, job.plots()).map_err(|e| {
            Error::refused(
                &r.path,
                format!("its aggregates do not fit shard {shard} of this work: {e}"),
                "the file is damaged or of another version: run this shard again",
            )
        })?;
        parts.push(part);
        (controls.progress)(done as u64 + 1, u64::from(count));
    }
    let record = record(&read, &by_index);
    let seconds: f64 = read.iter().map(|r| r.header.seconds).sum();
    if let Some(staging) = &staging {
        carry_over(staging, &target, files)?;
    }
    let merged =
        finish(&work, parts, staging, &sim, plots, seconds, &record).map_err(|e| match e {
            Finish::Error(e) => e,
            Finish::Mismatch(m) => Error::refused(
                &first.path,
                format!("the shards do not add up: {m}"),
                "run the shards again",
            ),
        })?;
    Ok(Some(MergeReport {
        merged,
        job,
        shards: count,
    }))
}

/// "2, 5 and 7".
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The record of the merged shards written into summary.json.
fn record(read: &[Read], by_index: &BTreeMap<u32, usize>) -> serde_json::Value {
    let shards: Vec<serde_json::Value> = by_index
        .values()
        .map(|&k| {
            let h = &read[k].header;
            serde_json::json!({
                "file": name(&read[k].path),
                "shard": h.shard,
                "part": h.part,
                "seconds": h.seconds,
            })
        })
        .collect();
    serde_json::json!({
        "command_line": read[0].header.command_line,
        "count": read[0].header.shards,
        "shards": shards,
    })
}

/// Shard files inside the output folder would go with the folder it replaces: they are
/// copied into the new one, at the same places.
fn carry_over(staging: &Staging, target: &Path, files: &[PathBuf]) -> Result<(), Error> {
    let Ok(target) = target.canonicalize() else {
        return Ok(());
    };
    for path in files {
        let Ok(full) = path.canonicalize() else {
            continue;
        };
        if let Ok(relative) = full.strip_prefix(&target) {
            let to = staging.path().join(relative);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            std::fs::copy(&full, &to).map_err(|e| Error::io(&to, e))?;
        }
    }
    Ok(())
}

enum Finish {
    Error(Error),
    Mismatch(crate::ensemble::canonical::Mismatch),
}

impl From<Error> for Finish {
    fn from(e: Error) -> Self {
        Finish::Error(e)
    }
}

impl From<crate::ensemble::canonical::Mismatch> for Finish {
    fn from(m: crate::ensemble::canonical::Mismatch) -> Self {
        Finish::Mismatch(m)
    }
}

/// Adds the parts up (in shard order) and writes what the command writes.
fn finish(
    work: &Work,
    parts: Vec<Part>,
    staging: Option<Staging>,
    sim: &Simulation,
    plots: bool,
    seconds: f64,
    record: &serde_json::Value,
) -> Result<Merged, Finish> {
    let ws = Workspace::new();
    let staged = |s: Option<Staging>| s.ok_or_else(|| Finish::Mismatch(mismatch("no folder")));
    let mut parts = parts.into_iter();
    match (work, parts.next()) {
        (Work::Run(study), Some(Part::Run(mut sum))) => {
            for p in parts {
                let Part::Run(p) = p else {
                    return Err(mismatch("a part of another command").into());
                };
                sum.merge(&p)?;
            }
            let engine = crate::engine::Engine::new(&study.model);
            let results = sum.accumulator(&engine)?.results(&study.model, seconds);
            let report = run::write(
                staged(staging)?,
                study.clone(),
                results,
                sim,
                plots,
                Some(record),
            )?;
            Ok(Merged::Run(report))
        }
        (Work::Test(study), Some(Part::Outcomes(mut sum))) => {
            for p in parts {
                let Part::Outcomes(p) = p else {
                    return Err(mismatch("a part of another command").into());
                };
                sum.add(&p);
            }
            Ok(Merged::Test(test::verdicts(study.clone(), &sum)))
        }
        (Work::Compare(prepared), Some(Part::Compare(mut sum))) => {
            for p in parts {
                let Part::Compare(p) = p else {
                    return Err(mismatch("a part of another command").into());
                };
                sum.add(p, &ws);
            }
            let mut comparison = prepared.finish(sum);
            if !plots {
                comparison.results = None;
                comparison.series = None;
            }
            let report = compare::write(staged(staging)?, prepared, comparison, sim)?;
            Ok(Merged::Compare(report))
        }
        (Work::Sweep(_) | Work::Sensitivity(_), Some(first)) => {
            let (values, merged) = points(work, std::iter::once(first).chain(parts))?;
            let estimates = values
                .iter()
                .zip(&merged)
                .map(|(v, o)| explore::estimates_of(v, o))
                .collect();
            match work {
                Work::Sweep(p) => {
                    let sweep = p.sweep_of(estimates);
                    let report = sweep::write(staged(staging)?, p, sweep, sim, plots)?;
                    Ok(Merged::Sweep(report))
                }
                Work::Sensitivity(p) => {
                    let analysis = p.analyze(&estimates);
                    let report = sensitivity::write(staged(staging)?, p, analysis, sim, plots)?;
                    Ok(Merged::Sensitivity(report))
                }
                _ => Err(mismatch("a part of another command").into()),
            }
        }
        _ => Err(mismatch("a part of another command").into()),
    }
}

fn mismatch(text: &str) -> crate::ensemble::canonical::Mismatch {
    crate::ensemble::canonical::Mismatch(text.into())
}

/// Every point's outcomes, added up from the pieces, each point covered exactly.
fn points(
    work: &Work,
    parts: impl Iterator<Item = Part>,
) -> Result<(Vec<Vec<f64>>, Vec<crate::study::collect::Outcomes>), Finish> {
    let values = match work {
        Work::Sweep(p) => p.points.clone(),
        Work::Sensitivity(p) => p.points.clone(),
        _ => return Err(mismatch("not a batch").into()),
    };
    let mut sums: Vec<Option<crate::study::collect::Outcomes>> =
        (0..values.len()).map(|_| None).collect();
    for part in parts {
        let Part::Pieces(pieces) = part else {
            return Err(mismatch("a part of another command").into());
        };
        for (point, outcomes) in pieces {
            match sums.get_mut(point) {
                Some(Some(sum)) => sum.add(&outcomes),
                Some(slot) => *slot = Some(outcomes),
                None => return Err(mismatch("a point outside the design").into()),
            }
        }
    }
    let merged: Option<Vec<_>> = sums.into_iter().collect();
    let merged = merged.ok_or_else(|| mismatch("a point has no runs"))?;
    Ok((values, merged))
}
