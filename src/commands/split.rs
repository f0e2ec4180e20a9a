//! A command whose work can be split ([`Splittable`]): `run`, `test`, `compare`, `sweep`,
//! `sensitivity`, `transfer`, `discover`. Each says how to prepare its work, estimate it, lay it
//! out in runs or points, gather a part's exact aggregates, save and add them, and write its
//! outputs. Then, written once here for all of them:
//!
//! - on one machine ([`here`]): write(gather(all));
//! - a shard ([`shard`]): save(gather(part)) into `shard-I-of-N.shard`;
//! - a merge (`merge.rs`, through [`merge_as`]): write(load(Σ saved parts)).
//!
//! The files cannot differ between one machine and a merge of shards: they are written by the
//! same `write` from the same exact integers.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::common::{OutputOptions, Report, SimulationOptions};
use crate::diag::Error;
use crate::ensemble::canonical::{decode, encode, Mismatch};
use crate::ensemble::{Controls, Workload, Workspace};
use crate::model::Model;
use crate::output::folder::Staging;
use crate::output::shard::{self as file, Header};
use crate::study::shard::{Layout, Part, Shard};

/// Where a command's outputs come from: how long the simulation took, and the shards merged
/// (for summary.json).
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Seconds of simulation (the sum of the shards' for a merge).
    pub seconds: f64,
    /// The record of the shards merged, if the outputs are a merge's.
    pub shards: Option<serde_json::Value>,
}

/// A command whose work can be split into shards and merged exactly. `Self` is the command's
/// arguments.
pub trait Splittable: Clone + Serialize + DeserializeOwned + Send + Sync {
    /// The command's name.
    const NAME: &'static str;
    /// Whether it writes an output folder (`test` prints only).
    const WRITES: bool = true;
    /// What progress counts on one machine ("runs", "points").
    const UNIT: &'static str = "runs";
    /// The work prepared: everything checked, nothing simulated.
    type Work: Sync;
    /// A part's exact aggregates, in memory.
    type Sums: Send;
    /// Their saved form (a shard's payload).
    type Saved: Serialize + DeserializeOwned;
    /// What the command reports.
    type Report: Report + 'static;

    /// The simulation's options and the output's.
    fn options(&self) -> (&SimulationOptions, &OutputOptions);
    /// The same, to change (a merge writes where it is told; slurm gives each task its shard).
    fn options_mut(&mut self) -> (&mut SimulationOptions, &mut OutputOptions);

    /// Checks the arguments that need no scenario (beyond the options' own checks).
    fn check_arguments(&self) -> Result<(), Error> {
        Ok(())
    }
    /// Loads the files and checks every argument: everything but what [`Splittable::check`]
    /// does after the work is estimated.
    fn prepare(&self) -> Result<Self::Work, Error>;
    /// Checks what takes long to check (every point of a design), once the work is known not
    /// to be too long.
    fn check(&self, _work: &Self::Work) -> Result<(), Error> {
        Ok(())
    }
    /// The work, for its refusal when too long.
    fn workload(&self, work: &Self::Work, threads: usize) -> Workload;
    /// The runs and points of the work.
    fn layout(work: &Self::Work) -> Layout;
    /// The scenarios simulated (the base first).
    fn scenarios(work: &Self::Work) -> Vec<&Model>;
    /// What the command asks of them (outcomes, hypotheses, points, the analysis's settings).
    fn questions(work: &Self::Work) -> serde_json::Value;
    /// The output folder: `--out`, or the command's default.
    fn target(&self, work: &Self::Work) -> PathBuf;

    /// Simulates `part` of the work; `None` if cancelled.
    fn gather(
        &self,
        work: &Self::Work,
        part: &Part,
        workspace: &Workspace,
        controls: &Controls<'_>,
    ) -> Result<Option<Self::Sums>, Error>;
    /// The saved form of a part's sums.
    fn save(work: &Self::Work, sums: Self::Sums) -> Self::Saved;
    /// Checks that saved sums are those of `part` of this work (and have what the plots need
    /// when `plots`).
    fn check_saved(
        work: &Self::Work,
        part: &Part,
        saved: &Self::Saved,
        plots: bool,
    ) -> Result<(), Mismatch>;
    /// Adds a part's saved sums to others of the same work, exactly.
    fn add(work: &Self::Work, sum: &mut Self::Saved, part: Self::Saved) -> Result<(), Mismatch>;
    /// The sums of the whole work from their saved form.
    fn load(work: &Self::Work, saved: Self::Saved, plots: bool) -> Result<Self::Sums, Mismatch>;
    /// Writes the outputs of the whole work's sums (into `folder` when the command writes one)
    /// and reports.
    fn write(
        &self,
        work: Self::Work,
        sums: Self::Sums,
        folder: Option<Staging>,
        provenance: &Provenance,
    ) -> Result<Self::Report, Error>;

    /// Does the command on this machine (see [`here`]); `--shard` is for [`shard`].
    fn execute(&self, controls: &Controls<'_>) -> Result<Self::Report, Error> {
        if self.options().1.shard.is_some() {
            return Err(Error::Usage(format!(
                "{}: --shard writes a shard file, not the outputs: run it as a job (commands::job::Job::execute)",
                Self::NAME
            )));
        }
        here(self, controls)
    }

    /// Whether the command writes plots.
    fn plots(&self) -> bool {
        !self.options().1.no_plots
    }
    /// `--out`.
    fn out(&self) -> Option<&Path> {
        self.options().1.out.as_deref()
    }
}

/// The two option accessors of arguments whose fields `simulation` and `output` are the
/// simulation's and the output's options.
macro_rules! options_in_fields {
    () => {
        fn options(&self) -> (&SimulationOptions, &OutputOptions) {
            (&self.simulation, &self.output)
        }

        fn options_mut(&mut self) -> (&mut SimulationOptions, &mut OutputOptions) {
            (&mut self.simulation, &mut self.output)
        }
    };
}
pub(crate) use options_in_fields;

/// The steps of a command whose work is points of a batch (`work.points()`: an
/// [`crate::study::explore::Points`]): estimated, checked, laid out, gathered, saved, added
/// and loaded as points.
macro_rules! work_on_points {
    () => {
        fn check(&self, work: &Self::Work) -> Result<(), Error> {
            work.points().check()
        }

        fn workload(&self, work: &Self::Work, threads: usize) -> Workload {
            work.points().workload(threads)
        }

        fn layout(work: &Self::Work) -> Layout {
            work.points().layout()
        }

        fn scenarios(work: &Self::Work) -> Vec<&Model> {
            vec![work.points().base()]
        }

        fn gather(
            &self,
            work: &Self::Work,
            part: &Part,
            workspace: &Workspace,
            controls: &Controls<'_>,
        ) -> Result<Option<PointSums>, Error> {
            work.points().gather(part, workspace, controls)
        }

        fn save(_: &Self::Work, sums: PointSums) -> SavedPoints {
            Points::save(sums)
        }

        fn check_saved(
            work: &Self::Work,
            part: &Part,
            saved: &SavedPoints,
            _: bool,
        ) -> Result<(), Mismatch> {
            work.points().check_saved(part, saved)
        }

        fn add(_: &Self::Work, sum: &mut SavedPoints, part: SavedPoints) -> Result<(), Mismatch> {
            Points::add(sum, part)
        }

        fn load(work: &Self::Work, saved: SavedPoints, _: bool) -> Result<PointSums, Mismatch> {
            work.points().load(saved)
        }
    };
}
pub(crate) use work_on_points;

/// Checks the options and the arguments, then prepares the work, refuses it when too long (its
/// part of `shards` when split) and checks the rest. On the current pool.
fn prepared<C: Splittable>(args: &C, shards: u32) -> Result<C::Work, Error> {
    let (sim, _) = args.options();
    let work = args.prepare()?;
    if !sim.allow_long {
        args.workload(&work, sim.threads()).shard(shards).check()?;
    }
    args.check(&work)?;
    Ok(work)
}

fn checked<C: Splittable>(args: &C) -> Result<(), Error> {
    args.options().0.check()?;
    args.check_arguments()
}

/// The command on this machine: its whole work gathered, then written. `Error::Interrupted`
/// if cancelled (nothing written).
pub fn here<C: Splittable>(args: &C, controls: &Controls<'_>) -> Result<C::Report, Error> {
    checked(args)?;
    args.options().0.in_pool(|| {
        let work = prepared(args, 1)?;
        // Created before simulating: an unwritable folder fails now, not after the work.
        let folder = C::WRITES
            .then(|| Staging::create(&args.target(&work)))
            .transpose()?;
        let start = Instant::now();
        let whole = C::layout(&work).whole();
        let sums = args
            .gather(&work, &whole, &Workspace::new(), controls)?
            .ok_or(Error::Interrupted)?;
        let provenance = Provenance {
            seconds: start.elapsed().as_secs_f64(),
            shards: None,
        };
        args.write(work, sums, folder, &provenance)
    })?
}

/// The command's output folder and the runs of its whole work, everything checked as when it
/// is split into `shards` (for slurm, before anything reaches the queue).
pub fn prepare_split<C: Splittable>(args: &C, shards: u32) -> Result<(PathBuf, u64), Error> {
    checked(args)?;
    args.options().0.in_pool(|| {
        let work = prepared(args, shards)?;
        Ok((args.target(&work), C::layout(&work).total_runs()))
    })?
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

impl Report for ShardReport {
    fn text(&self) -> String {
        format!(
            "Shard {} ({}) written to {}\n",
            self.shard,
            self.part,
            self.path.display()
        )
    }
}

/// Does shard `shard` of the command and writes its file into the command's folder (`--out` or
/// its default). `Error::Interrupted` if cancelled: nothing is written.
pub fn shard<C: Splittable>(
    args: &C,
    shard: Shard,
    command_line: String,
    job: serde_json::Value,
    controls: &Controls<'_>,
) -> Result<ShardReport, Error> {
    checked(args)?;
    args.options().0.in_pool(|| {
        let work = prepared(args, shard.count)?;
        let layout = C::layout(&work);
        shard.check(layout.total_runs())?;
        let dir = args.target(&work);
        // An unwritable folder fails now, before the work.
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let started = Instant::now();
        let part = layout.part(shard);
        let sums = args
            .gather(&work, &part, &Workspace::new(), controls)?
            .ok_or(Error::Interrupted)?;
        let payload = encode(&C::save(&work, sums));
        let settings = C::scenarios(&work)[0].settings;
        let header = Header {
            format: file::FORMAT,
            program: env!("CARGO_PKG_VERSION").to_string(),
            draw_stream: crate::random::DRAW_STREAM,
            command: C::NAME.to_string(),
            command_line,
            job,
            scenario: scenario_fingerprint::<C>(&work),
            questions: questions_fingerprint::<C>(&work),
            seed: settings.seed,
            substeps: settings.substeps,
            deterministic: settings.deterministic,
            runs: settings.runs,
            points: layout.points(),
            shard: shard.index,
            shards: shard.count,
            part: layout.describe(shard),
            payload_bytes: 0,
            seconds: started.elapsed().as_secs_f64(),
        };
        let path = file::write(&dir, &header, &payload)?;
        Ok(ShardReport {
            shard,
            part: header.part,
            path,
        })
    })?
}

/// SHA-256 of length-prefixed parts, hex.
fn sha256(parts: impl IntoIterator<Item = Vec<u8>>) -> String {
    let mut d = Sha256::new();
    for bytes in parts {
        d.update((bytes.len() as u64).to_le_bytes());
        d.update(bytes);
    }
    d.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The fingerprint of the resolved scenarios of the work.
pub fn scenario_fingerprint<C: Splittable>(work: &C::Work) -> String {
    sha256(
        C::scenarios(work)
            .into_iter()
            .map(|m| m.fingerprint().into_bytes()),
    )
}

/// The fingerprint of what the work asks of its scenarios.
pub fn questions_fingerprint<C: Splittable>(work: &C::Work) -> String {
    sha256([serde_json::to_vec(&C::questions(work)).unwrap_or_default()])
}

/// A shard file read and checked on its own.
#[derive(Debug)]
pub struct ShardFile {
    /// Where it was read.
    pub path: PathBuf,
    /// What it is of.
    pub header: Header,
    /// Its saved sums (inflated, not decoded).
    pub payload: Vec<u8>,
}

/// A file's name, for messages.
pub fn name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Adds up shards of `args`'s work (checked against each other, in shard order) and writes
/// what the command writes on one machine, recording them as `provenance`. `plots`: whether
/// the merge writes plots.
pub fn merge_as<C: Splittable>(
    args: &C,
    files: &[&ShardFile],
    plots: bool,
    provenance: &Provenance,
    carry: &(dyn Fn(&Staging, &Path) -> Result<(), Error> + Sync),
    controls: &Controls<'_>,
) -> Result<C::Report, Error> {
    let first = files[0];
    args.options().0.in_pool(|| {
        let work = args.prepare()?;
        args.check(&work)?;
        let again = [
            (&first.header.scenario, scenario_fingerprint::<C>(&work), "the scenario files are not those these shards simulated: they changed since, or are other files of the same name here"),
            (&first.header.questions, questions_fingerprint::<C>(&work), "the command does not ask what these shards answered (it reads its arguments differently here)"),
        ];
        for (saved, now, why) in again {
            if *saved != now {
                return Err(Error::refused(
                    &first.path,
                    why.to_string(),
                    format!(
                        "merge in the folder where `{}` ran, with the files as they were; or run the shards again",
                        first.header.command_line
                    ),
                ));
            }
        }
        let target = args.target(&work);
        let folder = C::WRITES.then(|| Staging::create(&target)).transpose()?;
        if let Some(folder) = &folder {
            carry(folder, &target)?;
        }
        let layout = C::layout(&work);
        let mut sum: Option<C::Saved> = None;
        for (done, f) in files.iter().enumerate() {
            if controls.cancelled() {
                return Err(Error::Interrupted);
            }
            let shard = Shard {
                index: f.header.shard,
                count: f.header.shards,
            };
            let part = layout.part(shard);
            let saved: C::Saved = decode(&f.payload)
                .and_then(|saved| C::check_saved(&work, &part, &saved, plots).map(|()| saved))
                .map_err(|e| {
                    Error::refused(
                        &f.path,
                        format!("its aggregates do not fit shard {shard} of this work: {e}"),
                        "the file is damaged or of another version: run this shard again",
                    )
                })?;
            match &mut sum {
                None => sum = Some(saved),
                Some(sum) => C::add(&work, sum, saved).map_err(|e| adding(&f.path, e))?,
            }
            (controls.progress)(done as u64 + 1, files.len() as u64);
        }
        let sum = sum.ok_or_else(|| Error::Usage("no shards to merge".into()))?;
        let sums = C::load(&work, sum, plots).map_err(|e| adding(&first.path, e))?;
        args.write(work, sums, folder, provenance)
    })?
}

fn adding(path: &Path, e: Mismatch) -> Error {
    Error::refused(
        path,
        format!("the shards do not add up: {e}"),
        "run the shards again",
    )
}
