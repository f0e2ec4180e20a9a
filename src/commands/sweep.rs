//! `trajectoire sweep`: a scenario at every point of a design; `sweep.csv`, `sweep.json` and
//! a plot per outcome.

use std::path::{Path, PathBuf};

use super::{default_out_dir, Controls, Simulation};
use crate::diag::Error;
use crate::ensemble::Workspace;
use crate::output::{explore, folder::Staging, plot};
use crate::study::design::Design;
use crate::study::sweep::{Prepared, Sweep};

/// What `sweep` is asked.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepArgs {
    /// `--vary PATH=SPEC`, in order.
    pub varies: Vec<String>,
    /// `--design` (default `grid`).
    pub design: Option<String>,
    /// `--outcome` (default: `compare`'s).
    pub outcomes: Vec<String>,
    /// `--expect`: hypotheses whose thresholds the plots draw.
    pub expects: Vec<String>,
}

/// A finished sweep and where it was written.
#[derive(Debug)]
pub struct SweepReport {
    /// The sweep.
    pub sweep: Sweep,
    /// The scenario as given.
    pub model: crate::model::Model,
    /// Output folder.
    pub out_dir: PathBuf,
}

/// Sweeps a scenario and writes the outputs into `out` (default `output/<id>-sweep/`);
/// `Ok(None)` when cancelled. Every argument and every point is checked before any
/// simulation.
pub fn sweep(
    path: &Path,
    args: &SweepArgs,
    sim: &Simulation,
    out: Option<&Path>,
    plots: bool,
    controls: &Controls<'_>,
) -> Result<Option<SweepReport>, Error> {
    let prepared = prepare(path, args, sim)?;
    let staging = Staging::create(&target(&prepared, out))?;
    let Some(sweep) = sim.in_pool(|| prepared.run(&Workspace::new(), controls))?? else {
        return Ok(None);
    };
    write(staging, &prepared, sweep, sim, plots).map(Some)
}

/// The sweep to run: every argument and point checked (and the work, unless `--allow-long`).
pub fn prepare(path: &Path, args: &SweepArgs, sim: &Simulation) -> Result<Prepared, Error> {
    sim.check()?;
    let design = Design::parse(args.design.as_deref().unwrap_or("grid"))?;
    let loaded = crate::scenario::load(path)?;
    let prepared = Prepared::new(
        loaded,
        &sim.overrides,
        &args.varies,
        design,
        &args.outcomes,
        &args.expects,
    )?;
    if !sim.allow_long {
        prepared.workload(sim.threads()).shard(sim.shards).check()?;
    }
    sim.in_pool(|| prepared.check())??;
    Ok(prepared)
}

/// The output folder: `out`, or `output/<id>-sweep/`.
pub fn target(prepared: &Prepared, out: Option<&Path>) -> PathBuf {
    out.map_or_else(
        || default_out_dir(prepared.base(), Some("sweep")),
        Path::to_path_buf,
    )
}

/// Writes the sweep's tables and plots into `staging` and moves it into place.
pub fn write(
    staging: Staging,
    prepared: &Prepared,
    sweep: Sweep,
    sim: &Simulation,
    plots: bool,
) -> Result<SweepReport, Error> {
    let model = prepared.base().clone();
    let write = |name: &str, bytes: Vec<u8>| {
        let path = staging.path().join(name);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    };
    write("sweep.csv", explore::sweep_csv(&sweep))?;
    write("sweep.json", explore::sweep_json(&sweep, &model))?;
    if plots {
        let pictures = sim
            .in_pool(|| plot::sweep::pictures(&sweep, &model))?
            .map_err(|e| Error::io(staging.path(), format!("could not draw the plots: {e}")))?;
        plot::write_pictures(staging.path(), &pictures)?;
    }
    let out_dir = staging.commit()?;
    Ok(SweepReport {
        sweep,
        model,
        out_dir,
    })
}
