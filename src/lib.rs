//! # trajectoire
//!
//! Models how a territory's ecological and social transition unfolds — engagement of actor
//! groups, phases, scaling levers, shocks such as elections — and simulates it as an ensemble
//! of stochastic runs, giving the **stabilisation**, **perpetuation** and **change of scale**
//! trajectories with their uncertainty.
//!
//! The pipeline has one type per stage and data flows one way:
//!
//! 1. [`scenario`] — the TOML files as written, with spans ([`scenario::load`]);
//! 2. [`model`] — validated, defaults applied, names resolved ([`model::Model`]);
//! 3. [`engine`] — dense arrays and the monthly step of one run ([`engine::Engine`]);
//! 4. [`ensemble`] — runs in parallel, aggregated exactly ([`ensemble::simulate`]);
//! 5. [`output`] — CSV tables, JSON summary and plots.
//!
//! The library never prints: progress goes through [`ensemble::Controls`], errors are
//! returned as [`diag::Error`] and rendered by the caller with [`diag::Error::render`].
//!
//! ```
//! use std::sync::atomic::AtomicBool;
//! use trajectoire::{ensemble, model::Model};
//! let text = r#"
//! [territory]
//! id = "demo"
//! population = 1000
//! horizon = 24
//! [[actor]]
//! id = "inhabitants"
//! engagement = 0.1
//! fatigue = 0.02
//! "#;
//! let dir = std::env::temp_dir().join("trajectoire-doc");
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("demo.toml");
//! std::fs::write(&path, text).unwrap();
//! let model = Model::load(&path).unwrap();
//! let cancel = AtomicBool::new(false);
//! let controls = ensemble::Controls { progress: &|_, _| {}, cancel: &cancel };
//! let results = ensemble::simulate(&model, &controls).unwrap();
//! // No noise and no shocks: engagement decays exactly as E0 (1 − δh)^(t/h).
//! let e = results.territories[0].series("engagement").unwrap().mean[24];
//! assert!((e - 0.1 * (1.0f64 - 0.02 / 4.0).powi(96)).abs() < 1e-12);
//! ```

pub mod compare;
pub mod diag;
pub mod engine;
pub mod ensemble;
pub mod explain;
pub mod keystream;
pub mod model;
pub mod normal;
pub mod outcome;
pub mod output;
pub mod overrides;
pub mod scenario;
pub mod template;

use std::path::{Path, PathBuf};

use diag::{Diagnostic, Error, Sources};
use ensemble::{Controls, Results};
use model::{bounds, Model};

/// Command-line settings that override the scenario's `[simulation]` table.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--runs`.
    pub runs: Option<u64>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--substeps`.
    pub substeps: Option<u32>,
    /// `--deterministic`.
    pub deterministic: bool,
    /// `--set PATH=VALUE`, in order.
    pub sets: Vec<String>,
}

impl Overrides {
    /// Loads a scenario file, applies the `--set` overrides to it, validates it (file and
    /// overrides together) and applies the command-line settings.
    pub fn load(&self, path: &Path) -> Result<Model, Error> {
        let mut loaded = scenario::load(path)?;
        overrides::apply(&mut loaded, &self.sets);
        let mut model = Model::from_scenario(loaded)?;
        model.overrides = self.sets.clone();
        self.apply(&mut model)?;
        Ok(model)
    }

    /// Applies the overrides to a model, checking MODEL.md's bounds.
    pub fn apply(&self, model: &mut Model) -> Result<(), Error> {
        let mut diags = Vec::new();
        if let Some(runs) = self.runs {
            if !(bounds::RUNS.0..=bounds::RUNS.1).contains(&runs) {
                diags.push(Diagnostic::argument(
                    "--runs",
                    format!("{runs} runs is outside 1 ..= 10000000"),
                ));
            }
            model.settings.runs = runs;
        }
        if let Some(seed) = self.seed {
            model.settings.seed = seed;
        }
        if let Some(substeps) = self.substeps {
            if !(1..=1000).contains(&substeps) {
                diags.push(Diagnostic::argument(
                    "--substeps",
                    format!("{substeps} substeps is outside 1 ..= 1000"),
                ));
            }
            model.settings.substeps = substeps;
        }
        model.settings.deterministic |= self.deterministic;
        if diags.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid {
                diagnostics: diags,
                sources: Sources::default(),
            })
        }
    }
}

/// The default output folder of a scenario: `output/<id>/`.
pub fn default_out_dir(model: &Model) -> PathBuf {
    Path::new("output").join(&model.id)
}

/// A finished run: where it wrote and what it found.
#[derive(Debug)]
pub struct RunReport {
    /// The model as simulated.
    pub model: Model,
    /// Aggregated results.
    pub results: Results,
    /// Output folder.
    pub out_dir: PathBuf,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// How much work a simulation is, estimated before it starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workload {
    /// Runs × months × substeps × actor groups (all territories).
    pub group_steps: f64,
    /// Estimated wall time on this machine's kind (2 cores), seconds.
    pub seconds: f64,
    /// Estimated peak memory of the aggregates, bytes.
    pub memory_bytes: f64,
}

/// Group-steps per second assumed by [`Workload::of`]: measured on 2 cores (benches/README.md),
/// rounded down.
pub const GROUP_STEPS_PER_SECOND: f64 = 80e6;
/// Work refused without `--allow-long`: more than this many seconds...
pub const LONG_SECONDS: f64 = 600.0;
/// ...or more than this much memory.
pub const LARGE_BYTES: f64 = 8.0 * 1024.0 * 1024.0 * 1024.0;

impl Workload {
    /// The workload of simulating `model` with `threads` worker threads.
    pub fn of(model: &Model, threads: usize) -> Workload {
        let s = model.settings;
        let groups: usize = model.territories.iter().map(|t| t.groups.len()).sum();
        let months = f64::from(model.horizon());
        let group_steps = s.runs as f64 * months * f64::from(s.substeps) * groups as f64;
        let indices: usize = model
            .territories
            .iter()
            .map(|t| 3 + 2 * t.groups.len())
            .sum();
        let per_worker = indices as f64 * (months + 1.0) * ensemble::BINS as f64 * 4.0
            + groups as f64 * engine::LANES as f64 * 8.0 * 10.0;
        let seconds = if ensemble::is_deterministic(model) {
            months * f64::from(s.substeps) * groups as f64 / GROUP_STEPS_PER_SECOND
        } else {
            group_steps / GROUP_STEPS_PER_SECOND
        };
        Workload {
            group_steps,
            seconds,
            memory_bytes: per_worker * threads.max(1) as f64,
        }
    }

    /// Refuses work over [`LONG_SECONDS`] or [`LARGE_BYTES`], saying how to proceed.
    pub fn check(&self, model: &Model) -> Result<(), Error> {
        let s = model.settings;
        let groups: usize = model.territories.iter().map(|t| t.groups.len()).sum();
        let size = format!(
            "{} runs × {} months × {} substeps × {groups} actor groups = {:.2e} group-steps",
            s.runs,
            model.horizon(),
            s.substeps,
            self.group_steps
        );
        if self.seconds > LONG_SECONDS {
            return Err(Error::Usage(format!(
                "this simulation would take about {} ({size}). Use fewer runs (--runs) or substeps (--substeps), or add --allow-long to run it anyway.",
                duration_words(self.seconds)
            )));
        }
        if self.memory_bytes > LARGE_BYTES {
            return Err(Error::Usage(format!(
                "this simulation would need about {:.1} GB of memory for its statistics ({} months of {} territories). Use fewer worker threads (--threads 1), a shorter horizon or fewer groups, or add --allow-long to run it anyway.",
                self.memory_bytes / 1e9,
                model.horizon(),
                model.territories.len()
            )));
        }
        Ok(())
    }
}

fn duration_words(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0} seconds")
    } else if seconds < 7200.0 {
        format!("{:.0} minutes", seconds / 60.0)
    } else {
        format!("{:.1} hours", seconds / 3600.0)
    }
}

/// Loads, validates, simulates and writes every output atomically (see
/// [`output::folder`]). Returns `Ok(None)` when cancelled: nothing was written and previous
/// outputs are unchanged.
pub fn run(
    path: &Path,
    overrides: &Overrides,
    out: Option<&Path>,
    plots: bool,
    allow_long: bool,
    controls: &Controls<'_>,
) -> Result<Option<RunReport>, Error> {
    let model = overrides.load(path)?;
    if !allow_long {
        Workload::of(&model, rayon::current_num_threads()).check(&model)?;
    }
    let target = out.map_or_else(|| default_out_dir(&model), Path::to_path_buf);
    // Created before simulating: an unwritable folder fails now, not after the work.
    let staging = output::folder::Staging::create(&target)?;
    let Some(results) = ensemble::simulate(&model, controls) else {
        return Ok(None);
    };
    // One ensemble per run: the memory kept for later ensembles serves the outputs instead.
    ensemble::release_spares();
    let written = output::write_all(staging.path(), &model, &results, plots)?;
    let out_dir = staging.commit()?;
    let files = written
        .iter()
        .filter_map(|f| f.file_name().map(|n| out_dir.join(n)))
        .collect();
    Ok(Some(RunReport {
        model,
        results,
        out_dir,
        files,
    }))
}

fn month_words(model: &Model, month: f64) -> String {
    match model.start_year() {
        Some(y) => {
            let m = month.round() as i64;
            format!("month {m} ({})", i64::from(y) + m / 12)
        }
        None => format!("month {}", month.round() as i64),
    }
}

/// A short plain-language summary of the results, for people.
pub fn plain_summary(model: &Model, results: &Results) -> String {
    let mut out = String::new();
    let horizon = results.horizon as usize;
    let end = match model.start_year() {
        Some(y) => format!(
            "after {} months (end of {})",
            horizon,
            i64::from(y) + (horizon as i64 - 1) / 12
        ),
        None => format!("after {horizon} months"),
    };
    out.push_str(&format!(
        "{} — {} runs, seed {}, {} substeps a month, {:.1} s\n",
        model.name,
        results.runs,
        model.settings.seed,
        model.settings.substeps,
        results.wall_seconds
    ));
    for (t, territory) in results.territories.iter().zip(&model.territories) {
        out.push_str(&format!("\n{}\n", territory.name));
        let p = t.perpetuation[horizon];
        out.push_str(&format!(
            "  perpetuation {end}: {:.1}% of runs still alive (95% interval {:.1}–{:.1}%)\n",
            100.0 * p.share,
            100.0 * p.low,
            100.0 * p.high
        ));
        for e in &t.phase_entries {
            match e.quantiles {
                Some(q) if e.reached > 0.0 => out.push_str(&format!(
                    "  phase {:<16} reached by {:>3.0}% of runs, median entry {}\n",
                    e.phase,
                    100.0 * e.reached,
                    month_words(model, q[2])
                )),
                _ => out.push_str(&format!("  phase {:<16} never reached\n", e.phase)),
            }
        }
        if let Some(s) = t.series("scale") {
            out.push_str(&format!(
                "  scale {end}: median {:.0}% of the potential reached ({:.0} people; 5–95%: {:.0}–{:.0}%)\n",
                100.0 * s.quantiles[2][horizon],
                s.quantiles[2][horizon] * territory.scale.potential,
                100.0 * s.quantiles[0][horizon],
                100.0 * s.quantiles[4][horizon]
            ));
        }
        out.push_str(&format!(
            "  mean spend on levers: {:.0} € over {horizon} months\n",
            t.spend.mean
        ));
    }
    out
}

/// One hypothesis, tested.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TestRow {
    /// The hypothesis.
    pub hypothesis: outcome::Hypothesis,
    /// Its outcome's estimate and 95% interval.
    pub estimate: outcome::Estimate,
    /// Supported, rejected or inconclusive.
    pub verdict: outcome::Verdict,
    /// For an inconclusive verdict: runs that would likely decide it at the current effect.
    pub runs_needed: Option<u64>,
}

/// The result of `trajectoire test`.
#[derive(Debug, Clone)]
pub struct TestReport {
    /// The model as simulated.
    pub model: Model,
    /// One row per hypothesis: the file's first, then `--expect`'s.
    pub rows: Vec<TestRow>,
}

impl TestReport {
    /// Whether every hypothesis is supported.
    pub fn all_supported(&self) -> bool {
        self.rows
            .iter()
            .all(|r| r.verdict == outcome::Verdict::Supported)
    }

    /// The verdicts as a table for people.
    pub fn table(&self) -> String {
        let s = self.model.settings;
        let mut out = format!(
            "{} — {} runs, seed {}, {} substeps a month\n\n",
            self.model.name, s.runs, s.seed, s.substeps
        );
        let rows: Vec<[String; 4]> = self
            .rows
            .iter()
            .map(|r| {
                let e = r.estimate;
                let digits = match r.hypothesis.outcome.measure {
                    outcome::Measure::Entry(_) | outcome::Measure::Spend => 0,
                    _ => 3,
                };
                let label = if r.hypothesis.name == r.hypothesis.text() {
                    r.hypothesis.text()
                } else {
                    format!("{} ({})", r.hypothesis.name, r.hypothesis.text())
                };
                let (estimate, interval) = if e.n == 0 {
                    ("—".to_string(), "no run reached the phase".to_string())
                } else {
                    (
                        format!("{:.digits$}", e.estimate),
                        format!("{:.digits$} – {:.digits$}", e.low, e.high),
                    )
                };
                let verdict = match (r.verdict, r.runs_needed) {
                    (outcome::Verdict::Inconclusive, Some(n)) if n > bounds::RUNS.1 => {
                        "inconclusive (too close to call: more runs than can be simulated \
                         would be needed)"
                            .to_string()
                    }
                    (outcome::Verdict::Inconclusive, Some(n)) => {
                        format!("inconclusive (about {n} runs would likely decide it)")
                    }
                    (v, _) => v.word().to_string(),
                };
                [label, estimate, interval, verdict]
            })
            .collect();
        let width = |i: usize, head: &str| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([head.len()])
                .max()
                .unwrap_or(0)
        };
        let (w0, w1, w2) = (
            width(0, "hypothesis"),
            width(1, "estimate"),
            width(2, "95% interval"),
        );
        out.push_str(&format!(
            "{:w0$}  {:>w1$}  {:w2$}  verdict\n",
            "hypothesis", "estimate", "95% interval"
        ));
        for r in &rows {
            out.push_str(&format!(
                "{:w0$}  {:>w1$}  {:w2$}  {}\n",
                r[0], r[1], r[2], r[3]
            ));
        }
        let supported = self
            .rows
            .iter()
            .filter(|r| r.verdict == outcome::Verdict::Supported)
            .count();
        out.push_str(&format!(
            "\n{supported} of {} hypotheses supported.\n",
            self.rows.len()
        ));
        out
    }
}

/// Tests the hypotheses of a scenario file and those given as `expects` (`OUTCOME OP NUMBER`).
/// Returns `Ok(None)` when cancelled.
pub fn test(
    path: &Path,
    overrides: &Overrides,
    expects: &[String],
    allow_long: bool,
    controls: &Controls<'_>,
) -> Result<Option<TestReport>, Error> {
    let model = overrides.load(path)?;
    let default = (model.territories.len() == 1).then_some(0);
    let mut hypotheses = model.hypotheses.clone();
    let mut diagnostics = Vec::new();
    for text in expects {
        match outcome::parse_hypothesis(text, None, &model, default) {
            Ok(h) => hypotheses.push(h),
            Err(e) => diagnostics.push(Diagnostic {
                location: diag::Location::Expression {
                    argument: "--expect".into(),
                    text: text.clone(),
                    offset: e.offset,
                },
                message: e.message,
                help: e.help,
            }),
        }
    }
    if !diagnostics.is_empty() {
        return Err(Error::Invalid {
            diagnostics,
            sources: Sources::default(),
        });
    }
    if hypotheses.is_empty() {
        return Err(Error::Usage(
            "nothing to test: add [[hypothesis]] tables to the file or --expect \"perpetuation@end >= 0.7\"".into(),
        ));
    }
    if !allow_long {
        Workload::of(&model, rayon::current_num_threads()).check(&model)?;
    }
    let outcomes: Vec<outcome::Outcome> = hypotheses.iter().map(|h| h.outcome.clone()).collect();
    let Some(acc) =
        ensemble::accumulate_outcomes(&model, &outcomes, 0, model.settings.runs, controls)
    else {
        return Ok(None);
    };
    let estimates = acc.outcome_estimates(&engine::Engine::new(&model));
    drop(acc);
    ensemble::release_spares();
    let rows = hypotheses
        .into_iter()
        .zip(estimates)
        .map(|(hypothesis, estimate)| {
            let (verdict, runs_needed) = if estimate.n == 0 {
                (outcome::Verdict::Inconclusive, None)
            } else {
                outcome::verdict(&hypothesis, &estimate)
            };
            TestRow {
                hypothesis,
                estimate,
                verdict,
                runs_needed,
            }
        })
        .collect();
    Ok(Some(TestReport { model, rows }))
}
