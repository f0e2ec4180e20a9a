//! `trajectoire sensitivity`: which parameters matter for which outcomes (Sobol' indices or
//! Morris's elementary effects), with SALib-compatible samples and evaluations.

use std::path::{Path, PathBuf};

use super::{default_out_dir, Controls, Simulation};
use crate::diag::Error;
use crate::ensemble::Workspace;
use crate::output::{explore, folder::Staging, plot};
use crate::study::sensitivity::{Analysis, Method, Prepared};

/// What `sensitivity` is asked.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitivityArgs {
    /// `--vary PATH=LO..HI`, in order.
    pub varies: Vec<String>,
    /// `--method sobol[:N]|morris[:R]`.
    pub method: String,
    /// `--levels` (Morris's grid, default 4).
    pub levels: usize,
    /// Not `--no-second-order`.
    pub second_order: bool,
    /// `--bootstrap` (default 1,000).
    pub bootstrap: usize,
    /// `--outcome` (default: `compare`'s).
    pub outcomes: Vec<String>,
}

impl Default for SensitivityArgs {
    fn default() -> Self {
        SensitivityArgs {
            varies: Vec::new(),
            method: "sobol".into(),
            levels: 4,
            second_order: true,
            bootstrap: 1000,
            outcomes: Vec::new(),
        }
    }
}

/// A finished analysis and where it was written.
#[derive(Debug)]
pub struct SensitivityReport {
    /// The analysis.
    pub analysis: Analysis,
    /// The scenario as given.
    pub model: crate::model::Model,
    /// Output folder.
    pub out_dir: PathBuf,
}

/// Analyses a scenario and writes the outputs into `out` (default
/// `output/<id>-sensitivity/`); `Ok(None)` when cancelled.
pub fn sensitivity(
    path: &Path,
    args: &SensitivityArgs,
    sim: &Simulation,
    out: Option<&Path>,
    plots: bool,
    controls: &Controls<'_>,
) -> Result<Option<SensitivityReport>, Error> {
    let prepared = prepare(path, args, sim)?;
    let staging = Staging::create(&target(&prepared, out))?;
    let Some(analysis) = sim.in_pool(|| prepared.run(&Workspace::new(), controls))?? else {
        return Ok(None);
    };
    write(staging, &prepared, analysis, sim, plots).map(Some)
}

/// The analysis to run: every argument and point checked (and the work, unless
/// `--allow-long`).
pub fn prepare(path: &Path, args: &SensitivityArgs, sim: &Simulation) -> Result<Prepared, Error> {
    sim.check()?;
    let method = Method::parse(&args.method, args.levels, args.second_order)?;
    let loaded = crate::scenario::load(path)?;
    let prepared = Prepared::new(
        loaded,
        &sim.overrides,
        &args.varies,
        method,
        &args.outcomes,
        args.bootstrap,
    )?;
    if !sim.allow_long {
        prepared.workload(sim.threads()).shard(sim.shards).check()?;
    }
    sim.in_pool(|| prepared.check())??;
    Ok(prepared)
}

/// The output folder: `out`, or `output/<id>-sensitivity/`.
pub fn target(prepared: &Prepared, out: Option<&Path>) -> PathBuf {
    out.map_or_else(
        || default_out_dir(prepared.base(), Some("sensitivity")),
        Path::to_path_buf,
    )
}

/// Writes the analysis's samples, evaluations, indices and plots into `staging` and moves it
/// into place.
pub fn write(
    staging: Staging,
    prepared: &Prepared,
    analysis: Analysis,
    sim: &Simulation,
    plots: bool,
) -> Result<SensitivityReport, Error> {
    let model = prepared.base().clone();
    let write = |name: &str, bytes: Vec<u8>| {
        let path = staging.path().join(name);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    };
    write(
        "samples.csv",
        explore::samples_csv(&prepared.parameters, &prepared.points),
    )?;
    write("evaluations.csv", explore::evaluations_csv(&analysis))?;
    write("indices.csv", explore::indices_csv(&analysis))?;
    if let Method::Sobol {
        second_order: true, ..
    } = prepared.method
    {
        write("second-order.csv", explore::second_order_csv(&analysis))?;
    }
    let warnings = analysis.warnings();
    write(
        "sensitivity.json",
        explore::sensitivity_json(&analysis, &warnings, &model),
    )?;
    if plots {
        let pictures = sim
            .in_pool(|| plot::sensitivity::pictures(&analysis, &model))?
            .map_err(|e| Error::io(staging.path(), format!("could not draw the plots: {e}")))?;
        plot::write_pictures(staging.path(), &pictures)?;
    }
    let out_dir = staging.commit()?;
    Ok(SensitivityReport {
        analysis,
        model,
        out_dir,
    })
}
