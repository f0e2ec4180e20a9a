//! `compare.csv` and `compare.json`: a comparison's estimates and paired differences.

use super::json::pretty;
use super::tables::{finish, number, writer};
use crate::study::compare::Comparison;

/// `compare.csv`: `outcome,scenario,estimate,low,high,diff,diff_low,diff_high`.
pub fn csv(report: &Comparison) -> Vec<u8> {
    let mut w = writer();
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
    finish(w)
}

/// `compare.json`: the comparison, pretty-printed.
pub fn json(report: &Comparison) -> Vec<u8> {
    pretty(report)
}
