//! `trajectoire compare`: a base scenario against other files and what-if variants, paired run
//! by run; a table, `compare.csv`, `compare.json` and overlay plots.

use std::path::{Path, PathBuf};

use super::{default_out_dir, Controls, Simulation};
use crate::diag::Error;
use crate::ensemble::{Workload, Workspace};
use crate::output::{self, folder::Staging, plot};
use crate::study::compare::{Comparison, Prepared};

/// A finished comparison and where it was written.
#[derive(Debug)]
pub struct CompareReport {
    /// The comparison.
    pub comparison: Comparison,
    /// Output folder.
    pub out_dir: PathBuf,
}

/// Compares scenarios (see [`Prepared::new`]) and writes the outputs into `out` (default
/// `output/<base id>-compare/`); `Ok(None)` when cancelled.
pub fn compare(
    files: &[PathBuf],
    variants: &[String],
    outcomes: &[String],
    sim: &Simulation,
    out: Option<&Path>,
    plots: bool,
    controls: &Controls<'_>,
) -> Result<Option<CompareReport>, Error> {
    let prepared = prepare(files, variants, outcomes, sim)?;
    if !sim.allow_long {
        workload(&prepared, sim, plots).check()?;
    }
    let staging = Staging::create(&target(&prepared, out))?;
    let comparison = sim.in_pool(|| prepared.run(plots, &Workspace::new(), controls))?;
    let Some(comparison) = comparison else {
        return Ok(None);
    };
    write(staging, &prepared, comparison, sim).map(Some)
}

/// The comparison to run: every scenario loaded and checked.
pub fn prepare(
    files: &[PathBuf],
    variants: &[String],
    outcomes: &[String],
    sim: &Simulation,
) -> Result<Prepared, Error> {
    if files.len() < 2 && variants.is_empty() {
        return Err(Error::Usage(
            "compare needs a second file or a --variant \"NAME: PATH=VALUE\"".into(),
        ));
    }
    sim.check()?;
    Prepared::new(files, variants, outcomes, &sim.overrides)
}

/// The work of the whole comparison.
pub fn workload(prepared: &Prepared, sim: &Simulation, plots: bool) -> Workload {
    let base = &prepared.models[0];
    let n = prepared.models.len();
    Workload::of(base, base.settings.runs, n, sim.threads(), plots)
}

/// The output folder: `out`, or `output/<base id>-compare/`.
pub fn target(prepared: &Prepared, out: Option<&Path>) -> PathBuf {
    out.map_or_else(
        || default_out_dir(&prepared.models[0], Some("compare")),
        Path::to_path_buf,
    )
}

/// Writes the comparison's tables (and its plots, when it has full results) into `staging`
/// and moves it into place.
pub fn write(
    staging: Staging,
    prepared: &Prepared,
    comparison: Comparison,
    sim: &Simulation,
) -> Result<CompareReport, Error> {
    let write = |name: &str, bytes: Vec<u8>| {
        let path = staging.path().join(name);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    };
    write("compare.csv", output::compare::csv(&comparison))?;
    write("compare.json", output::compare::json(&comparison))?;
    if let Some(results) = &comparison.results {
        let series = comparison.series.as_deref();
        let base = &prepared.models[0];
        sim.in_pool(|| {
            plot::write_overlays(staging.path(), base, &prepared.names, results, series)
        })??;
    }
    let out_dir = staging.commit()?;
    Ok(CompareReport {
        comparison,
        out_dir,
    })
}
