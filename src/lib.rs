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

pub mod diag;
pub mod engine;
pub mod ensemble;
pub mod explain;
pub mod model;
pub mod output;
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
}

impl Overrides {
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

/// Loads, validates, simulates and writes every output. Returns `Ok(None)` when cancelled.
pub fn run(
    path: &Path,
    overrides: &Overrides,
    out: Option<&Path>,
    plots: bool,
    controls: &Controls<'_>,
) -> Result<Option<RunReport>, Error> {
    let mut model = Model::load(path)?;
    overrides.apply(&mut model)?;
    let out_dir = out.map_or_else(|| default_out_dir(&model), Path::to_path_buf);
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| Error::io(&out_dir, format!("cannot create the output folder: {e}")))?;
    let Some(results) = ensemble::simulate(&model, controls) else {
        return Ok(None);
    };
    let files = output::write_all(&out_dir, &model, &results, plots)?;
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
