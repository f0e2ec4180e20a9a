//! The files of a sweep (`sweep.csv`, `sweep.json`) and of a sensitivity analysis
//! (`samples.csv`, `evaluations.csv`, `indices.csv`, `second-order.csv`, `sensitivity.json`).
//! Numbers are printed at full precision (they parse back to the same `f64`).

use serde::Serialize;

use super::json::pretty;
use super::tables::{finish, number, writer};
use crate::model::Model;
use crate::study::design::Parameter;
use crate::study::sensitivity::{Analysis, Method};
use crate::study::sweep::Sweep;

/// A number, or an empty cell when it is not one (no run reached the phase).
fn cell(x: f64) -> String {
    if x.is_finite() {
        number(x)
    } else {
        String::new()
    }
}

/// `sweep.csv`: `point,<PATH 1>,...,<PATH k>,outcome,estimate,low,high`, one row per point
/// (numbered from 1) and outcome.
pub fn sweep_csv(sweep: &Sweep) -> Vec<u8> {
    let mut w = writer();
    let mut header = vec!["point".to_string()];
    header.extend(sweep.parameters.iter().map(|p| p.path.clone()));
    header.extend(["outcome", "estimate", "low", "high"].map(String::from));
    let _ = w.write_record(&header);
    for (i, p) in sweep.points.iter().enumerate() {
        for (outcome, e) in sweep.outcomes.iter().zip(&p.estimates) {
            let mut row = vec![(i + 1).to_string()];
            row.extend(p.values.iter().map(|&x| number(x)));
            row.push(outcome.clone());
            row.extend([cell(e.estimate), cell(e.low), cell(e.high)]);
            let _ = w.write_record(&row);
        }
    }
    finish(w)
}

#[derive(Serialize)]
struct Run<'a, T: Serialize> {
    trajectoire_version: &'static str,
    scenario: &'a str,
    name: &'a str,
    runs: u64,
    seed: u64,
    substeps: u32,
    #[serde(flatten)]
    content: &'a T,
    model: &'a Model,
}

/// `sweep.json`: the sweep (design, parameters, outcomes, each point's estimates), the resolved
/// scenario and how it was run.
pub fn sweep_json(sweep: &Sweep, model: &Model) -> Vec<u8> {
    pretty(&Run {
        trajectoire_version: env!("CARGO_PKG_VERSION"),
        scenario: &model.id,
        name: &model.name,
        runs: sweep.runs,
        seed: sweep.seed,
        substeps: model.settings.substeps,
        content: sweep,
        model,
    })
}

/// `samples.csv`: the parameters' values at every point evaluated, in SALib's order.
pub fn samples_csv(parameters: &[Parameter], points: &[Vec<f64>]) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record(parameters.iter().map(|p| p.path.as_str()));
    for p in points {
        let _ = w.write_record(p.iter().map(|&x| number(x)));
    }
    finish(w)
}

/// `evaluations.csv`: each point's estimate of each outcome (`NaN` where there is none, as
/// NumPy reads it).
pub fn evaluations_csv(analysis: &Analysis) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record(analysis.outcomes.iter().map(|o| o.outcome.as_str()));
    for row in &analysis.evaluations {
        let _ = w.write_record(row.iter().map(|&x| {
            if x.is_finite() {
                number(x)
            } else {
                "NaN".to_string()
            }
        }));
    }
    finish(w)
}

/// `indices.csv`: `outcome,parameter,S1,S1_low,S1_high,ST,ST_low,ST_high` (Sobol) or
/// `outcome,parameter,mu,mu_star,sigma,mu_star_low,mu_star_high` (Morris); empty cells for an
/// outcome without indices (an estimate that is not a number).
pub fn indices_csv(analysis: &Analysis) -> Vec<u8> {
    let mut w = writer();
    let header: &[&str] = match analysis.method {
        Method::Sobol { .. } => &[
            "outcome",
            "parameter",
            "S1",
            "S1_low",
            "S1_high",
            "ST",
            "ST_low",
            "ST_high",
        ],
        Method::Morris { .. } => &[
            "outcome",
            "parameter",
            "mu",
            "mu_star",
            "sigma",
            "mu_star_low",
            "mu_star_high",
        ],
    };
    let _ = w.write_record(header);
    for o in &analysis.outcomes {
        for (j, p) in analysis.parameters.iter().enumerate() {
            let mut row = vec![o.outcome.clone(), p.path.clone()];
            match (&o.sobol, &o.morris) {
                (Some(s), _) => {
                    let (a, b) = (s.first[j], s.total[j]);
                    row.extend([a.estimate, a.low, a.high, b.estimate, b.low, b.high].map(cell));
                }
                (_, Some(m)) => {
                    let e = m[j];
                    row.extend(
                        [
                            e.mu,
                            e.mu_star.estimate,
                            e.sigma,
                            e.mu_star.low,
                            e.mu_star.high,
                        ]
                        .map(cell),
                    );
                }
                _ => row.extend(vec![String::new(); header.len() - 2]),
            }
            let _ = w.write_record(&row);
        }
    }
    finish(w)
}

/// `second-order.csv`: `outcome,parameter_i,parameter_j,S2,S2_low,S2_high`.
pub fn second_order_csv(analysis: &Analysis) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record([
        "outcome",
        "parameter_i",
        "parameter_j",
        "S2",
        "S2_low",
        "S2_high",
    ]);
    for o in &analysis.outcomes {
        let Some(s) = &o.sobol else { continue };
        for &((i, j), index) in &s.second {
            let _ = w.write_record([
                o.outcome.clone(),
                analysis.parameters[i].path.clone(),
                analysis.parameters[j].path.clone(),
                cell(index.estimate),
                cell(index.low),
                cell(index.high),
            ]);
        }
    }
    finish(w)
}

#[derive(Serialize)]
struct Sensitivity<'a> {
    #[serde(flatten)]
    analysis: &'a Analysis,
    warnings: Vec<String>,
}

/// `sensitivity.json`: the analysis (method, parameters, every index with its interval, the
/// share of each outcome's variance that is run-to-run randomness), its warnings, the resolved
/// scenario and how it was run.
pub fn sensitivity_json(analysis: &Analysis, warnings: &[String], model: &Model) -> Vec<u8> {
    pretty(&Run {
        trajectoire_version: env!("CARGO_PKG_VERSION"),
        scenario: &model.id,
        name: &model.name,
        runs: analysis.runs,
        seed: analysis.seed,
        substeps: model.settings.substeps,
        content: &Sensitivity {
            analysis,
            warnings: warnings.to_vec(),
        },
        model,
    })
}

/// Plain warnings: outcomes without indices, outcomes that do not vary, outcomes whose
/// variance is mostly run-to-run randomness, and indices under the noise floor. The months
/// of a family are told together, in one line per kind of warning.
pub fn sensitivity_warnings(analysis: &Analysis) -> Vec<String> {
    // Per outcome: which warnings, and the parameters under the floor.
    #[derive(Default, Clone)]
    struct Found {
        none: bool,
        constant: bool,
        noisy: Option<f64>,
        under: Vec<usize>,
        floor: f64,
    }
    let found: Vec<Found> = (0..analysis.outcomes.len())
        .map(|o| {
            let result = &analysis.outcomes[o];
            let mut f = Found::default();
            if result.sobol.is_none() && result.morris.is_none() {
                f.none = true;
            } else if result.sobol.as_ref().is_some_and(|s| s.constant)
                || result.noise.between == 0.0
            {
                f.constant = true;
            } else {
                if result.noise.share >= 0.2 {
                    f.noisy = Some(result.noise.share);
                }
                f.floor = analysis.noise_floor(o);
                f.under = analysis
                    .ranking(o)
                    .iter()
                    .filter(|(_, value, below)| *below && *value > 0.0)
                    .map(|&(j, _, _)| j)
                    .collect();
            }
            f
        })
        .collect();
    let floor_text = |x: f64| {
        let x = if x >= 0.001 {
            format!("{x:.3}")
        } else {
            format!("{x:.1e}")
        };
        match analysis.method {
            Method::Sobol { .. } => x,
            Method::Morris { .. } => format!("μ* {x}"),
        }
    };
    const NONE: &str = "no indices — at some points no run has a value (e.g. no run reached the phase), so the estimate there is not a number";
    const CONSTANT: &str = "the same at every point — no parameter changes it (every index is 0)";
    let mut out = Vec::new();
    let months = |list: &[u32]| {
        let words: Vec<String> = list.iter().map(u32::to_string).collect();
        format!(
            "month{} {}",
            if list.len() == 1 { "" } else { "s" },
            words.join(", ")
        )
    };
    let mut told = vec![false; analysis.outcomes.len()];
    for family in &analysis.families {
        let members: Vec<(u32, usize)> = family
            .months
            .iter()
            .copied()
            .zip(family.outcomes.iter().copied())
            .collect();
        for (kind, text) in [(0, NONE), (1, CONSTANT)] {
            let hit: Vec<u32> = members
                .iter()
                .filter(|(_, o)| {
                    if kind == 0 {
                        found[*o].none
                    } else {
                        found[*o].constant
                    }
                })
                .map(|(m, _)| *m)
                .collect();
            if !hit.is_empty() {
                out.push(format!("{} in {}: {text}", family.name, months(&hit)));
            }
        }
        let noisy: Vec<(u32, f64)> = members
            .iter()
            .filter_map(|(m, o)| found[*o].noisy.map(|s| (*m, s)))
            .collect();
        if !noisy.is_empty() {
            let worst = noisy.iter().map(|x| x.1).fold(0.0, f64::max);
            let list: Vec<u32> = noisy.iter().map(|x| x.0).collect();
            out.push(format!(
                "{} in {}: run-to-run randomness is up to {:.0}% of the variance between points; indices of that size say nothing — use more runs (--runs)",
                family.name,
                months(&list),
                100.0 * worst
            ));
        }
        let under: Vec<String> = (0..analysis.parameters.len())
            .filter_map(|j| {
                let list: Vec<u32> = members
                    .iter()
                    .filter(|(_, o)| found[*o].under.contains(&j))
                    .map(|(m, _)| *m)
                    .collect();
                (!list.is_empty())
                    .then(|| format!("{} ({})", analysis.parameters[j].path, months(&list)))
            })
            .collect();
        if !under.is_empty() {
            out.push(format!(
                "{}: under the noise floor, not told apart from run-to-run randomness: {}",
                family.name,
                under.join("; ")
            ));
        }
        for &(_, o) in &members {
            told[o] = true;
        }
    }
    for (o, f) in found.iter().enumerate() {
        if told[o] {
            continue;
        }
        let name = &analysis.outcomes[o].outcome;
        if f.none {
            out.push(format!("{name}: {NONE}"));
        }
        if f.constant {
            out.push(format!("{name}: {CONSTANT}"));
        }
        if let Some(share) = f.noisy {
            out.push(format!(
                "{name}: run-to-run randomness is {:.0}% of the variance between points; indices of that size say nothing — use more runs (--runs)",
                100.0 * share
            ));
        }
        if !f.under.is_empty() {
            let names: Vec<&str> = f
                .under
                .iter()
                .map(|&j| analysis.parameters[j].path.as_str())
                .collect();
            out.push(format!(
                "{name}: {} {} under the noise floor ({}): not told apart from run-to-run randomness",
                names.join(", "),
                if names.len() == 1 { "is" } else { "are" },
                floor_text(f.floor)
            ));
        }
    }
    out
}
