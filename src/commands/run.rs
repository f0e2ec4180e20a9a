//! `trajectoire run`: simulate a territory or a network and write every output.

use std::path::{Path, PathBuf};

use super::{default_out_dir, Controls, Simulation};
use crate::diag::Error;
use crate::ensemble::{self, Results, Workload, Workspace};
use crate::output::{self, folder::Staging};
use crate::study::Study;

/// A finished run: what it simulated, what it found and where it wrote.
#[derive(Debug)]
pub struct RunReport {
    /// The scenario as simulated, with its hypotheses.
    pub study: Study,
    /// Aggregated results.
    pub results: Results,
    /// Output folder.
    pub out_dir: PathBuf,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// Loads, validates, simulates and writes every output atomically (see
/// [`output::folder`]) into `out` (default `output/<id>/`). Returns `Ok(None)` when cancelled:
/// nothing was written and previous outputs are unchanged.
pub fn run(
    path: &Path,
    sim: &Simulation,
    out: Option<&Path>,
    plots: bool,
    controls: &Controls<'_>,
) -> Result<Option<RunReport>, Error> {
    sim.check()?;
    let study = Study::load(path, &sim.overrides)?;
    let model = &study.model;
    if !sim.allow_long {
        Workload::of(model, model.settings.runs, 1, sim.threads(), true).check()?;
    }
    let target = out.map_or_else(|| default_out_dir(model, None), Path::to_path_buf);
    // Created before simulating: an unwritable folder fails now, not after the work.
    let staging = Staging::create(&target)?;
    let results = sim.in_pool(|| {
        // One ensemble: the workspace is dropped with it, and its memory serves the outputs.
        ensemble::simulate(model, &Workspace::new(), controls)
    })?;
    let Some(results) = results else {
        return Ok(None);
    };
    let written = sim.in_pool(|| {
        output::write_all(staging.path(), model, &study.hypotheses, &results, plots)
    })??;
    let out_dir = staging.commit()?;
    let files = written
        .iter()
        .filter_map(|f| f.file_name().map(|n| out_dir.join(n)))
        .collect();
    Ok(Some(RunReport {
        study,
        results,
        out_dir,
        files,
    }))
}
