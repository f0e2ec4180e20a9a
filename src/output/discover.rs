//! A discovery's files and words: `cases.csv` (every point, its estimate and whether the goal
//! holds there), `trajectory.csv` (every step of every box's search), `boxes.csv` (each box,
//! its limits and how far to trust them), `discover.json`, and the boxes in sentences.

use serde::Serialize;

use super::calibration::words as number_words;
use super::json::pretty;
use super::tables::{finish, number, writer};
use crate::model::Model;
use crate::study::discover::{Discovery, REPRODUCIBLE};
use crate::study::prim::Step;

fn cell(x: f64) -> String {
    if x.is_finite() {
        number(x)
    } else {
        String::new()
    }
}

/// `cases.csv`: `point,<PATH 1>,...,<PATH k>,<OUTCOME>,y` — each point's values, the goal's
/// outcome estimated there, and 1 where the goal holds (empty where there is no estimate).
pub fn cases_csv(d: &Discovery) -> Vec<u8> {
    let mut w = writer();
    let mut header = vec!["point".to_string()];
    header.extend(d.parameters.iter().map(|p| p.path.clone()));
    header.push(d.goal.outcome.text.clone());
    header.push("y".into());
    let _ = w.write_record(&header);
    for (i, (p, case)) in d.points.iter().zip(&d.cases).enumerate() {
        let mut row = vec![(i + 1).to_string()];
        row.extend(p.values.iter().map(|&x| number(x)));
        row.push(cell(p.estimates[0].estimate));
        row.push(match case {
            Some(true) => "1".into(),
            Some(false) => "0".into(),
            None => String::new(),
        });
        let _ = w.write_record(&row);
    }
    finish(w)
}

/// `trajectory.csv`: `box,step,coverage,density,mass,restricted` (the number of restricted
/// parameters), then `low:<PATH>,high:<PATH>` for each parameter, then `phase` (start, peel,
/// paste), `n` and `k` (the box's points and points where the goal holds), `accepted` and
/// `dimensions` (the restricted parameters). Boxes and steps numbered from 1 and 0.
pub fn trajectory_csv(d: &Discovery) -> Vec<u8> {
    let mut w = writer();
    let mut header: Vec<String> = ["box", "step", "coverage", "density", "mass", "restricted"]
        .map(String::from)
        .to_vec();
    for p in &d.parameters {
        header.push(format!("low:{}", p.path));
        header.push(format!("high:{}", p.path));
    }
    header.extend(["phase", "n", "k", "accepted", "dimensions"].map(String::from));
    let _ = w.write_record(&header);
    for (b, found) in d.boxes.iter().enumerate() {
        for (i, s) in found.found.steps.iter().enumerate() {
            let mut row = vec![
                (b + 1).to_string(),
                i.to_string(),
                number(s.coverage),
                number(s.density),
                number(s.mass),
                s.restricted.len().to_string(),
            ];
            for &(lo, hi) in &s.limits {
                row.extend([number(lo), number(hi)]);
            }
            row.extend([
                format!("{:?}", s.phase).to_lowercase(),
                s.n.to_string(),
                s.k.to_string(),
                u8::from(found.found.accepted).to_string(),
                dimensions(d, s).join(";"),
            ]);
            let _ = w.write_record(&row);
        }
    }
    finish(w)
}

fn dimensions(d: &Discovery, s: &Step) -> Vec<String> {
    s.restricted
        .iter()
        .map(|&c| d.parameters[c].path.clone())
        .collect()
}

/// `boxes.csv`: one row per box and parameter:
/// `box,coverage,density,mass,accepted,parameter,restricted,low,high,qp_low,qp_high,reproduce_coverage,reproduce_density`
/// — the box's limits, Bryant & Lempert's quasi-p value of each restricted side (empty where
/// the side is not restricted), and the share of boxes found again on half the points that
/// restrict the parameter (at the step closest in coverage, and in density).
pub fn boxes_csv(d: &Discovery) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record([
        "box",
        "coverage",
        "density",
        "mass",
        "accepted",
        "parameter",
        "restricted",
        "low",
        "high",
        "qp_low",
        "qp_high",
        "reproduce_coverage",
        "reproduce_density",
    ]);
    for (b, found) in d.boxes.iter().enumerate() {
        let s = found.found.last();
        for (c, p) in d.parameters.iter().enumerate() {
            let qp = s
                .quasi_p
                .iter()
                .find(|(k, _)| *k == c)
                .map_or([None, None], |(_, q)| *q);
            let (lo, hi) = s.limits[c];
            let (rc, rd) = found.reproduced[c];
            let _ = w.write_record([
                (b + 1).to_string(),
                number(s.coverage),
                number(s.density),
                number(s.mass),
                u8::from(found.found.accepted).to_string(),
                p.path.clone(),
                u8::from(s.restricted.contains(&c)).to_string(),
                number(lo),
                number(hi),
                qp[0].map_or_else(String::new, number),
                qp[1].map_or_else(String::new, number),
                number(rc),
                number(rd),
            ]);
        }
    }
    finish(w)
}

/// `discover.json`: the settings, every point, and every box with its steps.
pub fn json(d: &Discovery, model: &Model) -> Vec<u8> {
    #[derive(Serialize)]
    struct File<'a> {
        trajectoire_version: &'static str,
        scenario: &'a str,
        name: &'a str,
        goal: String,
        points_without_estimate: usize,
        #[serde(flatten)]
        discovery: &'a Discovery,
        warnings: Vec<String>,
    }
    pretty(&File {
        trajectoire_version: env!("CARGO_PKG_VERSION"),
        scenario: &model.id,
        name: &model.name,
        goal: d.goal.text(),
        points_without_estimate: d.cases.iter().filter(|c| c.is_none()).count(),
        discovery: d,
        warnings: warnings(d),
    })
}

/// The goal as people read it: `perpetuation@312 ≥ 0.9`.
pub fn goal(d: &Discovery) -> String {
    d.goal.text().replace(">=", "≥").replace("<=", "≤")
}

/// A limit in words: 3 significant digits, whole numbers as such.
fn value(x: f64, integer: bool) -> String {
    if integer || x.fract() == 0.0 {
        crate::study::design::value_text(x, integer)
    } else {
        number_words(x)
    }
}

/// A box's restrictions in words: "lever.x.intensity ≥ 0.8, territory.budget ≤ 12000".
pub fn restrictions(d: &Discovery, s: &Step, init: &[(f64, f64)]) -> String {
    let parts: Vec<String> = s
        .restricted
        .iter()
        .map(|&c| {
            let p = &d.parameters[c];
            let (lo, hi) = s.limits[c];
            let (a, b) = (lo != init[c].0, hi != init[c].1);
            let (lo, hi) = (value(lo, p.integer), value(hi, p.integer));
            match (a, b) {
                (true, true) => format!("{lo} ≤ {} ≤ {hi}", p.path),
                (true, false) => format!("{} ≥ {lo}", p.path),
                _ => format!("{} ≤ {hi}", p.path),
            }
        })
        .collect();
    parts.join(", ")
}

/// What to be careful about: no box, a box under the threshold, a box that does not come back
/// on half the points, a restriction that may be chance, points without an estimate.
pub fn warnings(d: &Discovery) -> Vec<String> {
    let mut out = Vec::new();
    let missing = d.cases.iter().filter(|c| c.is_none()).count();
    if missing > 0 {
        out.push(format!(
            "{missing} of the {} points have no estimate of {} (no run has a value there): they are left out of the search",
            d.cases.len(),
            d.goal.outcome.text
        ));
    }
    let holds = d.cases.iter().filter(|c| **c == Some(true)).count();
    if holds == 0 {
        out.push(format!(
            "{} holds at none of the points: there is nothing to find; widen the ranges or change --where",
            goal(d)
        ));
    }
    if let Some(first) = d.boxes.first() {
        if !first.found.accepted {
            out.push(format!(
                "no box reaches the threshold: the best found holds {} only in {:.0}% of its points (below {:.0}%); the goal is not concentrated in a box of these parameters, or the --threshold is too high",
                goal(d),
                100.0 * first.found.last().density,
                100.0 * d.settings.threshold
            ));
        }
    }
    for (b, found) in d.boxes.iter().enumerate() {
        if !found.found.accepted {
            continue;
        }
        let s = found.found.last();
        for &c in &s.restricted {
            // EMA's two readings of a resampled box (its step closest in coverage, and in
            // density): a limit neither brings back is not reproducible.
            let (rc, rd) = found.reproduced[c];
            if rc.max(rd) < REPRODUCIBLE {
                out.push(format!(
                    "box {}: {} is restricted in only {:.0}% of the boxes found again on half the points: this limit may not be reproducible",
                    b + 1,
                    d.parameters[c].path,
                    100.0 * rc.max(rd)
                ));
            }
            if let Some((_, q)) = s.quasi_p.iter().find(|(k, _)| *k == c) {
                for (side, qp) in ["lower", "upper"].iter().zip(q) {
                    if let Some(qp) = qp.filter(|&x| x > 0.05) {
                        out.push(format!(
                            "box {}: the {side} limit of {} may be chance (quasi-p {qp:.2}, above 0.05)",
                            b + 1,
                            d.parameters[c].path
                        ));
                    }
                }
            }
        }
    }
    out
}

/// The boxes in sentences, then the warnings.
pub fn words(d: &Discovery) -> String {
    let n = d.cases.iter().filter(|c| c.is_some()).count();
    let holds = d.cases.iter().filter(|c| **c == Some(true)).count();
    let goal = goal(d);
    let mut out = format!(
        "{goal} holds at {holds} of {n} points ({:.0}%), {} runs each.\n",
        100.0 * holds as f64 / n.max(1) as f64,
        d.runs
    );
    let init: Vec<(f64, f64)> = d
        .boxes
        .first()
        .map(|b| b.found.steps[0].limits.clone())
        .unwrap_or_default();
    for (b, found) in d.boxes.iter().enumerate() {
        let s = found.found.last();
        if !found.found.accepted {
            if b > 0 {
                out.push_str(&format!(
                    "No further box reaches {:.0}% among the {} points left.\n",
                    100.0 * d.settings.threshold,
                    found.found.searched.len()
                ));
            }
            continue;
        }
        out.push_str(&format!(
            "Box {}: {goal} holds in {:.0}% of the points inside this box ({}) and the box holds {:.0}% of all points where it holds ({} of {} points, {:.0}% of them).\n",
            b + 1,
            100.0 * s.density,
            restrictions(d, s, &init),
            100.0 * s.coverage,
            s.n,
            n,
            100.0 * s.mass
        ));
    }
    for w in warnings(d) {
        out.push_str(&format!("Warning: {w}.\n"));
    }
    out
}
