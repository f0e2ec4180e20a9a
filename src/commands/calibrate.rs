//! `trajectoire calibrate`: a territory's file fitted to its observed history — the
//! posterior of the `--vary` parameters, its summary, the calibrated file and the fit plots.

use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::common::{out_or_default, write_file, Report, SimulationOptions};
use crate::diag::Error;
use crate::ensemble::{Controls, Workload, Workspace};
use crate::output::{calibration as files, folder::Staging, plot};
use crate::study::calibration::{self, Calibration, Work};
use crate::study::observed;

/// Fit a territory's file to its observed history: the posterior of the --vary parameters
/// (uniform priors over their ranges), 90% intervals, a calibrated file and the fit plots.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[command(mut_arg("runs", |a| a.help("Runs per likelihood evaluation (default 100): their spread is the model's own")))]
pub struct CalibrateArgs {
    /// Territory file (.toml).
    pub file: PathBuf,
    /// The observed history (CSV: index,month,value,sd; see `check --observed`).
    #[arg(long, value_name = "OBS.csv")]
    pub observed: PathBuf,
    /// A parameter and its prior range: PATH=LO..HI (repeatable).
    #[arg(long = "vary", value_name = "PATH=LO..HI")]
    pub varies: Vec<String>,
    /// Particles of the sampler (default 400).
    #[arg(long)]
    pub particles: Option<usize>,
    /// Output folder (default: output/<id>-calibration/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the tables only, no plots.
    #[arg(long)]
    pub no_plots: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub simulation: SimulationOptions,
}

/// A finished calibration and where it was written.
#[derive(Debug)]
pub struct CalibrateReport {
    /// What was calibrated.
    pub problem: Work,
    /// The posterior and its reading.
    pub calibration: Calibration,
    /// The observed file as given.
    pub observed: String,
    /// Seconds from the first simulation to the last.
    pub wall_seconds: f64,
    /// Output folder.
    pub out_dir: PathBuf,
}

impl Report for CalibrateReport {
    fn text(&self) -> String {
        files::summary_text(
            &self.problem,
            &self.calibration,
            &self.observed,
            self.wall_seconds,
            &self.out_dir,
        )
    }
}

impl CalibrateArgs {
    /// Calibrates the scenario and writes the outputs into `--out` (default
    /// `output/<id>-calibration/`); `Error::Interrupted` when cancelled (nothing written).
    /// Every argument and every observation is checked before any simulation.
    pub fn execute(&self, controls: &Controls<'_>) -> Result<CalibrateReport, Error> {
        let sim = &self.simulation;
        sim.check()?;
        sim.in_pool(|| {
            let problem = self.prepare()?;
            let target = out_or_default(self.out.as_deref(), problem.base(), Some("calibration"));
            let staging = Staging::create(&target)?;
            let start = Instant::now();
            let calibration = calibration::calibrate(&problem, &Workspace::new(), controls)
                .ok_or(Error::Interrupted)?;
            let report = CalibrateReport {
                problem,
                calibration,
                observed: self.observed.display().to_string(),
                wall_seconds: start.elapsed().as_secs_f64(),
                out_dir: target,
            };
            write(staging, &self.file, report, !self.no_plots)
        })?
    }

    /// The calibration to run: the options, the scenario, the parameters and the observations
    /// checked.
    pub fn prepare(&self) -> Result<Work, Error> {
        let sim = &self.simulation;
        let overrides = sim.overrides();
        let loaded = crate::scenario::load(&self.file)?;
        let base = overrides.model(&loaded)?;
        let observations = observed::read(&self.observed, &base)?;
        let problem = Work::new(
            loaded,
            &overrides,
            &self.varies,
            observations,
            self.particles,
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
    plots: bool,
) -> Result<CalibrateReport, Error> {
    let dir = staging.path().to_path_buf();
    let write = |name: &str, bytes: &[u8]| write_file(&dir, name, bytes);
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
        let pictures = plot::calibration::pictures(problem, calibration)
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
