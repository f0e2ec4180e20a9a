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
    if files.len() < 2 && variants.is_empty() {
        return Err(Error::Usage(
            "compare needs a second file or a --variant \"NAME: PATH=VALUE\"".into(),
        ));
    }
    sim.check()?;
    let prepared = Prepared::new(files, variants, outcomes, &sim.overrides)?;
    let base = &prepared.models[0];
    if !sim.allow_long {
        let n = prepared.models.len();
        Workload::of(base, base.settings.runs, n, sim.threads(), plots).check()?;
    }
    let target = out.map_or_else(|| default_out_dir(base, Some("compare")), Path::to_path_buf);
    let staging = Staging::create(&target)?;
    let comparison = sim.in_pool(|| prepared.run(plots, &Workspace::new(), controls))?;
    let Some(comparison) = comparison else {
        return Ok(None);
    };
    let write = |name: &str, bytes: Vec<u8>| {
        let path = staging.path().join(name);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    };
    write("compare.csv", output::compare::csv(&comparison))?;
    write("compare.json", output::compare::json(&comparison))?;
    if let Some(results) = &comparison.results {
        let series = comparison.series.as_deref();
        sim.in_pool(|| {
            plot::write_overlays(staging.path(), base, &prepared.names, results, series)
        })??;
    }
    let out_dir = staging.commit()?;
    Ok(Some(CompareReport {
        comparison,
        out_dir,
    }))
}
