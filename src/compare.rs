//! `trajectoire compare`: a base scenario against other files and what-if variants, on the
//! same seed and run indices (common random numbers), so that differences are paired.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diag::{Diagnostic, Error, Location, Sources};
use crate::ensemble::{self, Controls, Results};
use crate::model::Model;
use crate::outcome::{self, Estimate, Outcome};
use crate::output::{folder::Staging, plot, tables::number};
use crate::{Overrides, Workload};

/// One scenario of a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Its name in tables and legends.
    pub name: String,
    /// Its outcome estimates, in the order of [`Report::outcomes`].
    pub estimates: Vec<Estimate>,
    /// Paired differences with the base (absent for the base).
    pub differences: Option<Vec<Estimate>>,
}

/// The result of a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Outcomes compared (as text).
    pub outcomes: Vec<String>,
    /// The base first, then each file and variant.
    pub scenarios: Vec<Entry>,
    /// Runs per scenario.
    pub runs: u64,
    /// Master seed shared by every scenario.
    pub seed: u64,
    /// Where the files were written.
    #[serde(skip)]
    pub out_dir: PathBuf,
}

/// Parses `NAME: PATH=VALUE, PATH=VALUE`.
fn variant(text: &str) -> Result<(String, Vec<String>), Error> {
    let Some((name, sets)) = text.split_once(':') else {
        return Err(Error::Usage(format!(
            "--variant \"{text}\": write a name, a colon and overrides, e.g. \"no election: shock.municipal-election.probability=0\""
        )));
    };
    let sets: Vec<String> = sets
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if name.trim().is_empty() || sets.is_empty() {
        return Err(Error::Usage(format!(
            "--variant \"{text}\" needs a name and at least one PATH=VALUE"
        )));
    }
    Ok((name.trim().to_string(), sets))
}

/// The default outcomes of MODEL.md §4 for a model: perpetuation, engagement, stabilisation and
/// scale at the horizon, reached() of each phase at the horizon, spend — per territory.
fn default_outcomes(model: &Model) -> Vec<String> {
    let mut out = Vec::new();
    for t in &model.territories {
        let p = if model.territories.len() > 1 {
            format!("{}:", t.id)
        } else {
            String::new()
        };
        for name in ["perpetuation", "engagement", "stabilisation", "scale"] {
            out.push(format!("{p}{name}@end"));
        }
        for phase in t.phases.iter().skip(1) {
            out.push(format!("{p}reached({})@end", phase.id));
        }
        out.push(format!("{p}spend"));
    }
    out
}

/// Compares scenarios; `Ok(None)` when cancelled.
#[allow(clippy::too_many_arguments)]
pub fn compare(
    files: &[PathBuf],
    variants: &[String],
    outcome_texts: &[String],
    overrides: &Overrides,
    out: Option<&Path>,
    plots: bool,
    allow_long: bool,
    controls: &Controls<'_>,
) -> Result<Option<Report>, Error> {
    let base_path = &files[0];
    let base = overrides.load(base_path)?;
    let mut names = vec![base.name.clone()];
    let mut models = vec![base.clone()];
    for file in &files[1..] {
        let mut o = overrides.clone();
        o.runs = Some(base.settings.runs);
        o.seed = Some(base.settings.seed);
        o.substeps = Some(base.settings.substeps);
        let m = o.load(file)?;
        let name = if names.contains(&m.name) {
            file.display().to_string()
        } else {
            m.name.clone()
        };
        names.push(name);
        models.push(m);
    }
    for v in variants {
        let (name, sets) = variant(v)?;
        let mut o = overrides.clone();
        o.sets.extend(sets);
        names.push(name);
        models.push(o.load(base_path)?);
    }
    for m in &mut models[1..] {
        m.settings = base.settings;
    }
    let texts = if outcome_texts.is_empty() {
        default_outcomes(&base)
    } else {
        outcome_texts.to_vec()
    };
    let mut per_model: Vec<Vec<Outcome>> = Vec::new();
    let mut diagnostics = Vec::new();
    for (m, name) in models.iter().zip(&names) {
        let default = (m.territories.len() == 1).then_some(0);
        let mut list = Vec::new();
        for text in &texts {
            match outcome::parse_outcome(text, m, default) {
                Ok(o) => list.push(o),
                Err(e) => diagnostics.push(Diagnostic {
                    location: Location::Expression {
                        argument: "--outcome".into(),
                        text: text.clone(),
                        offset: e.offset,
                    },
                    message: format!("{} (in `{name}`)", e.message),
                    help: e.help,
                }),
            }
        }
        per_model.push(list);
    }
    if !diagnostics.is_empty() {
        return Err(Error::Invalid {
            diagnostics,
            sources: Sources::default(),
        });
    }
    if !allow_long {
        let mut total = base.clone();
        total.settings.runs = base.settings.runs * models.len() as u64;
        Workload::of(&total, rayon::current_num_threads()).check(&total)?;
    }
    let target = out.map_or_else(
        || Path::new("output").join(format!("{}-compare", base.id)),
        Path::to_path_buf,
    );
    let staging = Staging::create(&target)?;
    let start = std::time::Instant::now();
    let Some(cmp) = ensemble::compare(&models, &per_model, controls) else {
        return Ok(None);
    };
    let wall = start.elapsed().as_secs_f64();
    // One comparison per call: what the ensemble kept for later ones serves the outputs.
    ensemble::release_spares();
    let engines: Vec<crate::engine::Engine> =
        models.iter().map(crate::engine::Engine::new).collect();
    let scenarios: Vec<Entry> = names
        .iter()
        .enumerate()
        .map(|(s, name)| Entry {
            name: name.clone(),
            estimates: cmp.scenarios[s].outcome_estimates(&engines[s]),
            differences: (s > 0).then(|| (0..texts.len()).map(|o| cmp.difference(s, o)).collect()),
        })
        .collect();
    let report = Report {
        outcomes: per_model[0].iter().map(|o| o.text.clone()).collect(),
        scenarios,
        runs: base.settings.runs,
        seed: base.settings.seed,
        out_dir: target.clone(),
    };
    std::fs::write(staging.path().join("compare.csv"), csv(&report))
        .map_err(|e| Error::io(staging.path(), e))?;
    let mut json = serde_json::to_vec_pretty(&report).unwrap_or_default();
    json.push(b'\n');
    std::fs::write(staging.path().join("compare.json"), json)
        .map_err(|e| Error::io(staging.path(), e))?;
    if plots {
        let results: Vec<Results> = cmp
            .scenarios
            .iter()
            .zip(&models)
            .map(|(a, m)| a.results(m, wall))
            .collect();
        plot::write_overlays(staging.path(), &base, &names, &results)?;
    }
    staging.commit()?;
    Ok(Some(report))
}

/// `compare.csv`: `outcome,scenario,estimate,low,high,diff,diff_low,diff_high`.
pub fn csv(report: &Report) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let _ = w.write_record([
        "outcome",
        "scenario",
        "estimate",
        "low",
        "high",
        "diff",
        "diff_low",
        "diff_high",
    ]);
    for (o, outcome) in report.outcomes.iter().enumerate() {
        for s in &report.scenarios {
            let e = s.estimates[o];
            let cell = |x: f64| {
                if x.is_finite() {
                    number(x)
                } else {
                    String::new()
                }
            };
            let mut row = vec![
                outcome.clone(),
                s.name.clone(),
                cell(e.estimate),
                cell(e.low),
                cell(e.high),
            ];
            match &s.differences {
                Some(d) => row.extend([cell(d[o].estimate), cell(d[o].low), cell(d[o].high)]),
                None => row.extend([String::new(), String::new(), String::new()]),
            }
            let _ = w.write_record(&row);
        }
    }
    w.into_inner().unwrap_or_default()
}

impl Report {
    /// The comparison as a table for people.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{} scenarios, {} runs each, seed {} (paired: same shocks and noise in every scenario)\n\n",
            self.scenarios.len(),
            self.runs,
            self.seed
        );
        let fmt = |outcome: &str, x: f64| {
            if !x.is_finite() {
                "—".to_string()
            } else if outcome.contains("spend") || outcome.contains("entry(") {
                format!("{x:.0}")
            } else {
                format!("{x:.3}")
            }
        };
        let mut rows: Vec<[String; 4]> = Vec::new();
        for (o, outcome) in self.outcomes.iter().enumerate() {
            for s in &self.scenarios {
                let e = s.estimates[o];
                let diff = match &s.differences {
                    Some(d) => {
                        let sign = if d[o].estimate > 0.0 { "+" } else { "" };
                        format!(
                            "{sign}{} ({} – {})",
                            fmt(outcome, d[o].estimate),
                            fmt(outcome, d[o].low),
                            fmt(outcome, d[o].high)
                        )
                    }
                    None => "base".to_string(),
                };
                rows.push([
                    outcome.clone(),
                    s.name.clone(),
                    format!(
                        "{} ({} – {})",
                        fmt(outcome, e.estimate),
                        fmt(outcome, e.low),
                        fmt(outcome, e.high)
                    ),
                    diff,
                ]);
            }
        }
        let w: Vec<usize> = (0..4)
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].chars().count())
                    .chain([[
                        "outcome",
                        "scenario",
                        "estimate (95%)",
                        "difference with the base (95%)",
                    ][i]
                        .len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        out.push_str(&format!(
            "{:w0$}  {:w1$}  {:w2$}  {}\n",
            "outcome",
            "scenario",
            "estimate (95%)",
            "difference with the base (95%)",
            w0 = w[0],
            w1 = w[1],
            w2 = w[2]
        ));
        for r in &rows {
            out.push_str(&format!(
                "{:w0$}  {:w1$}  {:w2$}  {}\n",
                r[0],
                r[1],
                r[2],
                r[3],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2]
            ));
        }
        out
    }
}
