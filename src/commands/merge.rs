//! `trajectoire merge SHARD...`: the shard files of one piece of work, checked against each
//! other and against the scenario files as they are now, added up exactly and written as the
//! command that was split would have written them on one machine — the same files, byte for
//! byte, but for `summary.json`'s wall time and its record of the shards. Shards of the same
//! work merge whatever folder each was written to.
//!
//! Every shard is read and checked before anything is written; a refusal names the file and
//! what is wrong with it (exit 1).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::common::{check_threads, Report};
use super::job::{Job, Visitor};
use super::split::{merge_as, name, Provenance, ShardFile, Splittable};
use crate::diag::Error;
use crate::ensemble::Controls;
use crate::output::folder::Staging;
use crate::output::shard as file;

/// Merge the shard files of a split run, test, compare, sweep, sensitivity, transfer or
/// discover into exactly what the command writes on one machine.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MergeArgs {
    /// The shard files (shard-I-of-N.shard), all N of them.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Output folder (default: the split command's).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the tables only, no plots.
    #[arg(long)]
    pub no_plots: bool,
    /// Worker threads for the plots (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

/// A finished merge.
#[derive(Debug)]
pub struct MergeReport {
    /// The command's report.
    pub report: Box<dyn Report>,
    /// The job the shards were of.
    pub job: Job,
    /// Shards merged.
    pub shards: u32,
}

impl Report for MergeReport {
    fn text(&self) -> String {
        self.report.text()
    }

    fn exit_code(&self) -> u8 {
        self.report.exit_code()
    }
}

/// Refuses `other` for disagreeing with `first` about `what`.
fn disagree(other: &ShardFile, first: &ShardFile, d: file::Difference) -> Error {
    let message = match d.what {
        "scenario" => format!(
            "it is a shard of another scenario than {} (other files, values or overrides: their fingerprints differ)",
            name(&first.path)
        ),
        "questions" => format!(
            "it answers other questions than {} (other outcomes, hypotheses, points or settings of the analysis)",
            name(&first.path)
        ),
        what => format!(
            "its {what} is {}, but {}'s is {}",
            d.theirs,
            name(&first.path),
            d.ours
        ),
    };
    Error::refused(
        &other.path,
        message,
        "merge the shards of one piece of work only: the same command, scenario, overrides, seed, runs and number of shards (where each was written does not matter)",
    )
}

/// The merge visitor: the job's own type's merge.
struct Merge<'m, 'c, 'a> {
    files: &'m [&'m ShardFile],
    plots: bool,
    provenance: &'m Provenance,
    carry: &'m (dyn Fn(&Staging, &Path) -> Result<(), Error> + Sync),
    controls: &'c Controls<'a>,
}

impl Visitor for Merge<'_, '_, '_> {
    type Output = Result<Box<dyn Report>, Error>;
    fn visit<C: Splittable + Into<Job>>(self, args: &C) -> Self::Output {
        let report = merge_as(
            args,
            self.files,
            self.plots,
            self.provenance,
            self.carry,
            self.controls,
        )?;
        Ok(Box::new(report))
    }
}

impl MergeArgs {
    /// Merges the shard files and writes the outputs into `--out` (default: the split
    /// command's `--out`, or its default folder). `Error::Interrupted` if cancelled: nothing
    /// written.
    pub fn execute(&self, controls: &Controls<'_>) -> Result<MergeReport, Error> {
        check_threads(self.threads)?;
        if self.shards.is_empty() {
            return Err(Error::Usage(
                "give the shard files to merge, e.g. trajectoire merge output/malaunay/shard-*-of-8.shard".into(),
            ));
        }
        let mut read: Vec<ShardFile> = Vec::with_capacity(self.shards.len());
        for path in &self.shards {
            let (header, payload) = file::read(path)?;
            read.push(ShardFile {
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
            first
                .header
                .same_work(&other.header)
                .map_err(|d| disagree(other, first, d))?;
        }
        let by_index = each_once(&read)?;
        // The work as shard 1 records it (where it wrote is where the merge writes, unless
        // told otherwise).
        let first = &read[by_index[&1]];
        let job: Job = serde_json::from_value(first.header.job.clone()).map_err(|e| {
            Error::refused(
                &first.path,
                format!("its command cannot be read back ({e})"),
                "merge shards with the version that wrote them",
            )
        })?;
        let plots = !self.no_plots && job.plots();
        let merged = job.merged_into(self.out.clone(), plots, self.threads);
        let files: Vec<&ShardFile> = by_index.values().map(|&k| &read[k]).collect();
        let provenance = Provenance {
            seconds: read.iter().map(|r| r.header.seconds).sum(),
            shards: Some(record(&files)),
        };
        let carry = |staging: &Staging, target: &Path| carry_over(staging, target, &self.shards);
        let report = merged.visit(Merge {
            files: &files,
            plots,
            provenance: &provenance,
            carry: &carry,
            controls,
        })?;
        Ok(MergeReport {
            report,
            job,
            shards: first.header.shards,
        })
    }
}

/// Each shard's place in `read`, by index: every shard once, and every one of them.
fn each_once(read: &[ShardFile]) -> Result<BTreeMap<u32, usize>, Error> {
    let first = &read[0];
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
    Ok(by_index)
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
fn record(files: &[&ShardFile]) -> serde_json::Value {
    let shards: Vec<serde_json::Value> = files
        .iter()
        .map(|f| {
            let h = &f.header;
            serde_json::json!({
                "file": name(&f.path),
                "shard": h.shard,
                "part": h.part,
                "seconds": h.seconds,
            })
        })
        .collect();
    serde_json::json!({
        "command_line": files[0].header.command_line,
        "count": files[0].header.shards,
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
