//! `trajectoire optimize`: the plans that reach the goals at least cost, robustly — a
//! many-objective search over lever intensities, start months or the budget; `pareto.csv`,
//! `plans/`, `convergence.csv`, `optimize.json` (and `scenarios.csv`), the trade-off and
//! convergence plots. A checkpoint of the search is written next to the output folder after
//! every generation; `--resume` continues from it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::calibrate::relative;
use super::common::{out_or_default, write_file, Report, SimulationOptions};
use crate::diag::Error;
use crate::ensemble::{Controls, Workspace};
use crate::model::Model;
use crate::output::{folder::Staging, optimize as files, plot};
use crate::study::optimize::{Asking, State, Work};

/// Runs of an evaluation when `--runs` is not given.
pub const DEFAULT_RUNS: u64 = 200;

/// Plans: the choices that reach the goals at least cost — a many-objective evolutionary search
/// (NSGA-II) over any numeric --set paths, every plan on the same runs; robust over uncertain
/// futures with --uncertain.
#[derive(clap::Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[command(mut_arg("runs", |a| a.help("Runs of each evaluation (default 200): every plan on the same runs")))]
pub struct OptimizeArgs {
    /// Territory or network file (.toml).
    pub file: PathBuf,
    /// A choice and its range: PATH=LO..HI (repeatable), e.g. lever.cooperation.intensity=0..2.
    #[arg(long = "vary", value_name = "PATH=LO..HI")]
    pub varies: Vec<String>,
    /// A goal: "max OUTCOME" or "min OUTCOME", e.g. "max perpetuation@end", "min spend"
    /// (repeatable).
    #[arg(long = "objective", value_name = "max|min OUTCOME")]
    pub objectives: Vec<String>,
    /// A constraint every plan must meet: "OUTCOME OP VALUE", e.g. "scale@end >= 0.3"
    /// (repeatable).
    #[arg(long = "constraint", value_name = "OUTCOME OP VALUE")]
    pub constraints: Vec<String>,
    /// Plans to evaluate in all.
    #[arg(long, default_value_t = 2000)]
    pub evaluations: usize,
    /// Plans in each generation.
    #[arg(long, default_value_t = 40)]
    pub population: usize,
    /// An uncertain parameter and its range: PATH=LO..HI (repeatable); each plan is evaluated
    /// in every future.
    #[arg(long = "uncertain", value_name = "PATH=LO..HI")]
    pub uncertain: Vec<String>,
    /// Uncertain futures drawn (a Latin hypercube).
    #[arg(long, default_value_t = 10)]
    pub scenarios: usize,
    /// How a goal is read over the futures: worst (default), mean, or pQ (the value Q% of
    /// the futures do worse than, e.g. p10).
    #[arg(long)]
    pub robust: Option<String>,
    /// Continue the search saved by an earlier one (the same problem) up to --evaluations.
    #[arg(long)]
    pub resume: bool,
    /// Output folder (default: output/<id>-optimize/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the tables only, no plots.
    #[arg(long)]
    pub no_plots: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub simulation: SimulationOptions,
}

impl Default for OptimizeArgs {
    /// The command line's defaults.
    fn default() -> Self {
        OptimizeArgs {
            file: PathBuf::new(),
            varies: Vec::new(),
            objectives: Vec::new(),
            constraints: Vec::new(),
            evaluations: 2000,
            population: 40,
            uncertain: Vec::new(),
            scenarios: 10,
            robust: None,
            resume: false,
            out: None,
            no_plots: false,
            simulation: SimulationOptions::default(),
        }
    }
}

/// A finished search and where it was written.
#[derive(Debug)]
pub struct OptimizeReport {
    /// The problem.
    pub work: Work,
    /// The search: every plan, the population, the convergence.
    pub state: State,
    /// The scenario as given.
    pub model: Model,
    /// Output folder.
    pub out_dir: PathBuf,
    /// The checkpoint written.
    pub checkpoint: PathBuf,
    /// Seconds of this session's search.
    pub seconds: f64,
}

impl Report for OptimizeReport {
    fn text(&self) -> String {
        format!(
            "{}\nOutputs in {}/\n",
            files::words(&self.work, &self.state),
            self.out_dir.display()
        )
    }
}

/// The checkpoint of a search writing into `target`: `<target>.checkpoint.json`, beside it.
pub fn checkpoint_of(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".checkpoint.json");
    target.with_file_name(name)
}

/// Writes `state` into `path` atomically (a file renamed into place).
fn save(path: &Path, state: &State) -> Result<(), Error> {
    let bytes = serde_json::to_vec(state).map_err(|e| Error::io(path, e))?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".partial-{}", std::process::id()));
    let partial = path.with_file_name(name);
    std::fs::write(&partial, bytes).map_err(|e| Error::io(&partial, e))?;
    std::fs::rename(&partial, path).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        Error::io(path, e)
    })
}

/// Reads the checkpoint at `path` and checks it is of this problem.
fn resumed(path: &Path, work: &Work) -> Result<State, Error> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::refused(
            path,
            format!("there is no checkpoint to resume here ({e})"),
            "run the search once without --resume; it saves its state after every generation",
        )
    })?;
    let state: State = serde_json::from_slice(&bytes).map_err(|e| {
        Error::refused(
            path,
            format!("the checkpoint cannot be read ({e})"),
            "run the search again without --resume",
        )
    })?;
    if state.fingerprint != work.fingerprint() {
        return Err(Error::refused(
            path,
            "it is the checkpoint of another problem: the scenario, the choices, goals, constraints, futures or population differ",
            "resume with the arguments the search was started with (only --evaluations may grow), or run without --resume",
        ));
    }
    Ok(state)
}

impl OptimizeArgs {
    /// The search's work: the scenario, the choices, goals, constraints and futures checked.
    pub fn prepare(&self) -> Result<Work, Error> {
        let mut overrides = self.simulation.overrides();
        overrides.runs = overrides.runs.or(Some(DEFAULT_RUNS));
        let loaded = crate::scenario::load(&self.file)?;
        Work::new(
            loaded,
            &overrides,
            &Asking {
                varies: &self.varies,
                objectives: &self.objectives,
                constraints: &self.constraints,
                uncertain: &self.uncertain,
                scenarios: self.scenarios,
                robust: self.robust.as_deref(),
                evaluations: self.evaluations,
                population: self.population,
            },
        )
    }

    /// Searches (or resumes the search) and writes the outputs into `--out`;
    /// `Error::Paused` when cancelled: the checkpoint keeps every generation finished.
    pub fn execute(&self, controls: &Controls<'_>) -> Result<OptimizeReport, Error> {
        let sim = &self.simulation;
        sim.check()?;
        sim.in_pool(|| {
            let work = self.prepare()?;
            if !sim.allow_long {
                work.workload(sim.threads()).check().map_err(|e| match e {
                    Error::Usage(m) => Error::Usage(format!(
                        "{m} ({} evaluations of {} runs{}; fewer --evaluations or --runs go faster)",
                        work.settings.evaluations,
                        work.settings.runs,
                        if work.futures.len() > 1 {
                            format!(" in {} futures", work.futures.len())
                        } else {
                            String::new()
                        }
                    )),
                    other => other,
                })?;
            }
            let target = out_or_default(self.out.as_deref(), work.base(), Some("optimize"));
            let checkpoint = checkpoint_of(&target);
            let start = if self.resume {
                Some(resumed(&checkpoint, &work)?)
            } else {
                None
            };
            // Created before the search: an unwritable folder fails now.
            let staging = Staging::create(&target)?;
            if let Some(parent) = checkpoint.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            let clock = Instant::now();
            let state = work
                .search(start, &Workspace::new(), controls, &mut |s| save(&checkpoint, s))?
                .ok_or_else(|| Error::Paused {
                    checkpoint: checkpoint.clone(),
                })?;
            let seconds = clock.elapsed().as_secs_f64();
            self.write(staging, work, state, checkpoint, seconds)
        })?
    }

    fn write(
        &self,
        staging: Staging,
        work: Work,
        state: State,
        checkpoint: PathBuf,
        seconds: f64,
    ) -> Result<OptimizeReport, Error> {
        let dir = staging.path().to_path_buf();
        let model = work.base().clone();
        write_file(&dir, "pareto.csv", &files::pareto_csv(&work, &state))?;
        write_file(&dir, "convergence.csv", &files::convergence_csv(&state))?;
        write_file(
            &dir,
            "optimize.json",
            &files::json(&work, &state, &model, seconds),
        )?;
        if !work.uncertain.is_empty() {
            write_file(&dir, "scenarios.csv", &files::scenarios_csv(&work))?;
        }
        let plans = dir.join("plans");
        std::fs::create_dir_all(&plans).map_err(|e| Error::io(&plans, e))?;
        // The included libraries, as seen from the plans' folder.
        let home = self.file.parent().unwrap_or(Path::new("."));
        let include = |p: &str| {
            relative(&staging.target().join("plans"), &home.join(p))
                .to_string_lossy()
                .replace('\\', "/")
        };
        let front = state.front();
        for n in files::plan_files(&state, &front) {
            let i = front[n];
            match files::plan_toml(&work, &state, i, n + 1, &include) {
                Some(text) => {
                    let text = text.map_err(|e| Error::io(plans.join("plan.toml"), e))?;
                    write_file(&plans, &format!("plan-{}.toml", n + 1), text.as_bytes())?;
                }
                None => write_file(
                    &plans,
                    &format!("plan-{}.txt", n + 1),
                    files::plan_sets(&work, &state, i).as_bytes(),
                )?,
            }
        }
        if !self.no_plots {
            let pictures = plot::optimize::pictures(&work, &state)
                .map_err(|e| Error::io(&dir, format!("could not draw the plots: {e}")))?;
            plot::write_pictures(&dir, &pictures)?;
        }
        let out_dir = staging.commit()?;
        Ok(OptimizeReport {
            work,
            state,
            model,
            out_dir,
            checkpoint,
            seconds,
        })
    }
}
