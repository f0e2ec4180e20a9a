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
    let study = prepare(path, sim)?;
    let model = &study.model;
    if !sim.allow_long {
        workload(&study, sim).check()?;
    }
    // Created before simulating: an unwritable folder fails now, not after the work.
    let staging = Staging::create(&target(&study, out))?;
    let results = sim.in_pool(|| {
        // One ensemble: the workspace is dropped with it, and its memory serves the outputs.
        ensemble::simulate(model, &Workspace::new(), controls)
    })?;
    let Some(results) = results else {
        return Ok(None);
    };
    write(staging, study, results, sim, plots, None).map(Some)
}

/// The study of `run`: the scenario loaded and validated with the options checked.
pub fn prepare(path: &Path, sim: &Simulation) -> Result<Study, Error> {
    sim.check()?;
    Study::load(path, &sim.overrides)
}

/// The work of the whole run.
pub fn workload(study: &Study, sim: &Simulation) -> Workload {
    let model = &study.model;
    Workload::of(model, model.settings.runs, 1, sim.threads(), true)
}

/// The output folder: `out`, or `output/<id>/`.
pub fn target(study: &Study, out: Option<&Path>) -> PathBuf {
    out.map_or_else(|| default_out_dir(&study.model, None), Path::to_path_buf)
}

/// Writes every output of `results` into `staging` and moves it into place; `shards`: the
/// record of the shards merged, if any, for summary.json.
pub fn write(
    staging: Staging,
    study: Study,
    results: Results,
    sim: &Simulation,
    plots: bool,
    shards: Option<&serde_json::Value>,
) -> Result<RunReport, Error> {
    let written = sim.in_pool(|| {
        output::write_all(
            staging.path(),
            &study.model,
            &study.hypotheses,
            &results,
            plots,
            shards,
        )
    })??;
    let out_dir = staging.commit()?;
    let files = written
        .iter()
        .filter_map(|f| f.file_name().map(|n| out_dir.join(n)))
        .collect();
    Ok(RunReport {
        study,
        results,
        out_dir,
        files,
    })
}
