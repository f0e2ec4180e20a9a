//! `trajectoire calibrate`: a territory's file fitted to its observed history — the
//! posterior of the `--vary` parameters, its summary, the calibrated file and the fit plots.

use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use super::{default_out_dir, Controls, Simulation};
use crate::diag::Error;
use crate::ensemble::{Workload, Workspace};
use crate::output::{calibration as files, folder::Staging, plot};
use crate::study::calibration::{self, Calibration, Problem};
use crate::study::observed;

/// What `calibrate` is asked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CalibrateArgs {
    /// `--observed OBS.csv`.
    pub observed: PathBuf,
    /// `--vary PATH=LO..HI`, in order: the uniform priors.
    pub varies: Vec<String>,
    /// `--particles` (default [`calibration::DEFAULT_PARTICLES`]).
    pub particles: Option<usize>,
}

/// A finished calibration and where it was written.
#[derive(Debug)]
pub struct CalibrateReport {
    /// What was calibrated.
    pub problem: Problem,
    /// The posterior and its reading.
    pub calibration: Calibration,
    /// The observed file as given.
    pub observed: String,
    /// Seconds from the first simulation to the last.
    pub wall_seconds: f64,
    /// Output folder.
    pub out_dir: PathBuf,
}

/// Calibrates a scenario and writes the outputs into `out` (default
/// `output/<id>-calibration/`); `Ok(None)` when cancelled (nothing written). Every argument
/// and every observation is checked before any simulation.
pub fn calibrate(
    path: &Path,
    args: &CalibrateArgs,
    sim: &Simulation,
    out: Option<&Path>,
    plots: bool,
    controls: &Controls<'_>,
) -> Result<Option<CalibrateReport>, Error> {
    let problem = prepare(path, args, sim)?;
    let target = out.map_or_else(
        || default_out_dir(problem.base(), Some("calibration")),
        Path::to_path_buf,
    );
    let staging = Staging::create(&target)?;
    let start = Instant::now();
    let done = sim.in_pool(|| calibration::calibrate(&problem, &Workspace::new(), controls))?;
    let Some(calibration) = done else {
        return Ok(None);
    };
    let report = CalibrateReport {
        problem,
        calibration,
        observed: args.observed.display().to_string(),
        wall_seconds: start.elapsed().as_secs_f64(),
        out_dir: target,
    };
    write(staging, path, report, sim, plots).map(Some)
}

/// The calibration to run: the options, the scenario, the parameters and the observations
/// checked.
pub fn prepare(path: &Path, args: &CalibrateArgs, sim: &Simulation) -> Result<Problem, Error> {
    sim.check()?;
    let loaded = crate::scenario::load(path)?;
    let base = sim.overrides.model(&loaded)?;
    let observations = observed::read(&args.observed, &base)?;
    let problem = Problem::new(
        loaded,
        &sim.overrides,
        &args.varies,
        observations,
        args.particles,
    )?;
    if !sim.allow_long {
        // About what a calibration takes (see benches/README.md): each particle evaluated
        // once, then twice a step for some 7 steps in each of some 6 generations.
        let s = problem.settings();
        let runs = (s.particles as u64)
            .saturating_mul(85)
            .saturating_mul(s.runs);
        Workload::of(problem.base(), runs, 1, sim.threads(), false)
            .check()
            .map_err(|e| match e {
                Error::Usage(m) => Error::Usage(format!(
                    "{m} (a calibration with {} particles of {} runs an evaluation; fewer --particles or --runs go faster)",
                    s.particles, s.runs
                )),
                other => other,
            })?;
    }
    Ok(problem)
}

/// `to` as a path relative to the folder `from` (both made absolute); `to` itself when no
/// relative path joins them.
pub fn relative(from: &Path, to: &Path) -> PathBuf {
    let absolute = |p: &Path| -> Option<PathBuf> {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(p)
        };
        // Canonical where it exists (symbolic links resolved), as written below that.
        let mut existing = p.clone();
        let mut tail = Vec::new();
        while !existing.exists() {
            tail.push(existing.file_name()?.to_os_string());
            existing = existing.parent()?.to_path_buf();
        }
        let mut c = existing.canonicalize().ok()?;
        c.extend(tail.into_iter().rev());
        Some(c)
    };
    let (Some(from), Some(target)) = (absolute(from), absolute(to)) else {
        return to.to_path_buf();
    };
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = target.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return target;
    }
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    out.extend(&b[common..]);
    out
}

/// Writes the calibration's files and plots into `staging` and moves it into place.
fn write(
    staging: Staging,
    scenario: &Path,
    report: CalibrateReport,
    sim: &Simulation,
    plots: bool,
) -> Result<CalibrateReport, Error> {
    let dir = staging.path().to_path_buf();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    };
    let (problem, calibration) = (&report.problem, &report.calibration);
    write(
        "parameters.csv",
        &files::parameters_csv(problem, calibration),
    )?;
    write("posterior.csv", &files::posterior_csv(problem, calibration))?;
    write(
        "calibration.json",
        &files::calibration_json(problem, calibration, &report.observed, report.wall_seconds),
    )?;
    // The included libraries, as seen from the output folder.
    let home = scenario.parent().unwrap_or(Path::new("."));
    let include = |p: &str| {
        let to = home.join(p);
        relative(staging.target(), &to)
            .to_string_lossy()
            .replace('\\', "/")
    };
    let toml = files::calibrated_toml(problem, calibration, &report.observed, &include)
        .map_err(|e| Error::io(dir.join("calibrated.toml"), e))?;
    write("calibrated.toml", toml.as_bytes())?;
    if plots {
        let pictures = sim
            .in_pool(|| plot::calibration::pictures(problem, calibration))?
            .map_err(|e| Error::io(&dir, format!("could not draw the plots: {e}")))?;
        plot::write_pictures(&dir, &pictures)?;
    }
    let out_dir = staging.commit()?;
    Ok(CalibrateReport { out_dir, ..report })
}

#[cfg(test)]
mod tests {
    use super::relative;
    use std::path::Path;

    #[test]
    fn relative_paths_climb_out_of_the_output_folder() {
        let cwd = std::env::current_dir().unwrap();
        let from = cwd.join("output/malaunay-calibration");
        let to = cwd.join("scenarios/referentiel.toml");
        assert_eq!(
            relative(&from, &to),
            Path::new("../../scenarios/referentiel.toml")
        );
    }
}
