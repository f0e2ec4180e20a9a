//! Text for people: the plain-language summary of a run, the verdicts of `test`, the table of
//! `compare`. What the command line prints; the library never prints it itself.

use crate::ensemble::Results;
use crate::model::{bounds, Model};
use crate::study::compare::Comparison;
use crate::study::hypothesis::{Tested, Verdict};
use crate::study::outcome::Measure;

fn month_words(model: &Model, month: f64) -> String {
    match model.start_year() {
        Some(y) => {
            let m = month.round() as i64;
            format!("month {m} ({})", i64::from(y) + m / 12)
        }
        None => format!("month {}", month.round() as i64),
    }
}

/// A short plain-language summary of a run's results.
pub fn summary(model: &Model, results: &Results) -> String {
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

/// The verdicts of `trajectoire test` as a table for people.
pub fn verdicts(model: &Model, rows: &[Tested]) -> String {
    let s = model.settings;
    let mut out = format!(
        "{} — {} runs, seed {}, {} substeps a month\n\n",
        model.name, s.runs, s.seed, s.substeps
    );
    let table: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            let e = r.estimate;
            let digits = match r.hypothesis.outcome.measure {
                Measure::Entry(_) | Measure::Spend => 0,
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
                (Verdict::Inconclusive, Some(n)) if n > bounds::RUNS.1 => {
                    "inconclusive (too close to call: more runs than can be simulated \
                     would be needed)"
                        .to_string()
                }
                (Verdict::Inconclusive, Some(n)) => {
                    format!("inconclusive (about {n} runs would likely decide it)")
                }
                (v, _) => v.word().to_string(),
            };
            [label, estimate, interval, verdict]
        })
        .collect();
    let width = |i: usize, head: &str| {
        table
            .iter()
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
    for r in &table {
        out.push_str(&format!(
            "{:w0$}  {:>w1$}  {:w2$}  {}\n",
            r[0], r[1], r[2], r[3]
        ));
    }
    let supported = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Supported)
        .count();
    out.push_str(&format!(
        "\n{supported} of {} hypotheses supported.\n",
        rows.len()
    ));
    out
}

/// A comparison as a table for people.
pub fn comparison(c: &Comparison) -> String {
    let mut out = format!(
        "{} scenarios, {} runs each, seed {} (paired: same shocks and noise in every scenario)\n\n",
        c.scenarios.len(),
        c.runs,
        c.seed
    );
    let fmt = |outcome: &str, x: f64| {
        if !x.is_finite() {
            "—".to_string()
        } else if !crate::study::outcome::is_share(outcome) {
            format!("{x:.0}")
        } else {
            format!("{x:.3}")
        }
    };
    let mut rows: Vec<[String; 4]> = Vec::new();
    for (o, outcome) in c.outcomes.iter().enumerate() {
        for s in &c.scenarios {
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

/// An outcome given as text in words, and the name of its territory ("" if it cannot be read).
pub fn outcome_words(text: &str, model: &Model) -> (String, String) {
    let default = (model.territories.len() == 1).then_some(0);
    match crate::study::outcome::parse_outcome(text, model, default) {
        Ok(parsed) => (
            describe(&parsed, model),
            model.territories[parsed.territory].name.clone(),
        ),
        Err(_) => (text.to_string(), String::new()),
    }
}

/// An outcome in words, e.g. "share of futures still alive in month 144 (2013)".
pub fn describe(o: &crate::study::outcome::Outcome, model: &Model) -> String {
    let t = &model.territories[o.territory];
    let when = month_words(model, f64::from(o.month));
    let first = model.territories[..o.territory]
        .iter()
        .map(|t| t.groups.len())
        .sum::<usize>();
    let group = |g: usize| t.groups[g - first].label.clone();
    let what = match o.measure {
        Measure::Perpetuation => {
            format!("share of futures where the transition is alive in {when}")
        }
        Measure::Engagement => format!("engagement in {when}"),
        Measure::Stabilisation => format!("anchored engagement (stabilisation) in {when}"),
        Measure::Scale => format!("share of the potential reached in {when}"),
        Measure::GroupEngagement(g) => format!("engagement of {} in {when}", group(g)),
        Measure::GroupAnchored(g) => format!("anchored engagement of {} in {when}", group(g)),
        Measure::Reached(k) => format!(
            "share of futures that reached {} by {when}",
            t.phases[k].label
        ),
        Measure::Entry(k) => format!("month {} begins (median)", t.phases[k].label),
        Measure::Spend => "total spend on levers (€)".to_string(),
    };
    if model.territories.len() > 1 {
        format!("{}: {what}", t.name)
    } else {
        what
    }
}

/// A sweep for people: its size, and for each outcome its range over the points and where.
pub fn sweep(s: &crate::study::sweep::Sweep, model: &Model) -> String {
    let mut out = format!(
        "{} — {} points × {} runs, seed {} (every point on the same runs: differences are paired)\n\n",
        model.name,
        s.points.len(),
        s.runs,
        s.seed
    );
    let default = (model.territories.len() == 1).then_some(0);
    for (o, text) in s.outcomes.iter().enumerate() {
        let estimates: Vec<(usize, f64)> = s
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| (i, p.estimates[o].estimate))
            .filter(|(_, x)| x.is_finite())
            .collect();
        let label = crate::study::outcome::parse_outcome(text, model, default)
            .map_or_else(|_| text.clone(), |parsed| describe(&parsed, model));
        let Some(&(lo_i, lo)) = estimates.iter().min_by(|a, b| a.1.total_cmp(&b.1)) else {
            out.push_str(&format!("{text} — {label}: no value at any point\n"));
            continue;
        };
        let &(hi_i, hi) = estimates
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or(&(lo_i, lo));
        let at = |i: usize| {
            s.parameters
                .iter()
                .zip(&s.points[i].values)
                .map(|(p, x)| {
                    format!(
                        "{}={}",
                        p.path,
                        crate::study::design::value_text(*x, p.integer)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let digits = if !crate::study::outcome::is_share(text) {
            0
        } else {
            3
        };
        out.push_str(&format!(
            "{text} — {label}\n  lowest {lo:.digits$} at {}\n  highest {hi:.digits$} at {}\n",
            at(lo_i),
            at(hi_i)
        ));
    }
    out
}

/// A sensitivity analysis for people: for each outcome, what matters most, in order, and the
/// warnings.
pub fn sensitivity(a: &crate::study::sensitivity::Analysis, model: &Model) -> String {
    use crate::study::sensitivity::Method;
    let (method, size) = match a.method {
        Method::Sobol { n, .. } => ("Sobol' indices", format!("{n} base samples")),
        Method::Morris { r, levels } => (
            "elementary effects (Morris)",
            format!("{r} trajectories on {levels} levels"),
        ),
    };
    let mut out = format!(
        "{} — {method}, {size}: {} points × {} runs, seed {}\n",
        model.name,
        a.evaluations.len(),
        a.runs,
        a.seed
    );
    let default = (model.territories.len() == 1).then_some(0);
    let in_family = |o: usize| {
        a.families
            .iter()
            .any(|f| f.contains(o) && f.outcomes.last() != Some(&o))
    };
    for (o, result) in a.outcomes.iter().enumerate() {
        if in_family(o) {
            continue;
        }
        let label = crate::study::outcome::parse_outcome(&result.outcome, model, default)
            .map_or_else(
                |_| result.outcome.clone(),
                |parsed| describe(&parsed, model),
            );
        out.push_str(&format!(
            "\nWhat matters most for {} ({label}):\n",
            result.outcome
        ));
        let ranking = a.ranking(o);
        if ranking.is_empty() {
            out.push_str("  no indices (see the warnings)\n");
            continue;
        }
        for (rank, &(j, value, below)) in ranking.iter().enumerate() {
            let path = &a.parameters[j].path;
            let line = match (&result.sobol, &result.morris) {
                (Some(s), _) => {
                    let (first, total) = (s.first[j], s.total[j]);
                    format!(
                        "{path} — explains {:.0}% of the variance with its interactions (total effect {:.3}, 95%: {:.3}–{:.3}), {:.0}% alone",
                        100.0 * total.estimate.max(0.0),
                        total.estimate,
                        total.low,
                        total.high,
                        100.0 * first.estimate.max(0.0)
                    )
                }
                (_, Some(m)) => format!(
                    "{path} — mean absolute effect μ* {:.4} (95%: {:.4}–{:.4}), spread σ {:.4}",
                    value, m[j].mu_star.low, m[j].mu_star.high, m[j].sigma
                ),
                _ => String::new(),
            };
            let note = if value == 0.0 {
                " (no effect at all)"
            } else if below {
                " (under the noise floor)"
            } else {
                ""
            };
            out.push_str(&format!("  {}. {line}{note}\n", rank + 1));
        }
        out.push_str(&format!(
            "  run-to-run randomness: {:.1}% of this outcome's variance between points\n",
            100.0 * result.noise.share
        ));
    }
    let warnings = super::explore::sensitivity_warnings(a);
    if !warnings.is_empty() {
        out.push_str("\nWarnings:\n");
        for w in warnings {
            out.push_str(&format!("  - {w}\n"));
        }
    }
    out
}

/// A value of an outcome for people: a share as a percentage, spend in euros, a month in words.
pub fn value_words(outcome: &str, x: f64, model: &Model) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    if outcome.contains("spend") {
        if x.abs() >= 1e6 {
            format!("{:.2} M€", x / 1e6)
        } else {
            format!("{:.0} €", x)
        }
    } else if outcome.contains("entry(") {
        month_words(model, x)
    } else {
        format!("{:.1}%", 100.0 * x)
    }
}

/// A difference as a signed number (with a true minus sign) and its unit; `scale` fixes the
/// unit's scale (M€ or €) so that a range is written in one unit.
fn difference_parts(outcome: &str, d: f64, scale: Option<f64>) -> (String, &'static str) {
    let signed = |x: f64, digits: usize| {
        let body = format!("{:.*}", digits, x.abs());
        let zero = body.chars().all(|c| c == '0' || c == '.');
        let sign = if zero {
            ""
        } else if x > 0.0 {
            "+"
        } else {
            "−"
        };
        format!("{sign}{body}")
    };
    if outcome.contains("spend") {
        if scale.unwrap_or(d.abs()) >= 1e6 {
            (signed(d / 1e6, 2), "M€")
        } else {
            (signed(d, 0), "€")
        }
    } else if outcome.contains("entry(") {
        (signed(d, 0), "months")
    } else {
        (signed(100.0 * d, 1), "points")
    }
}

/// A difference and its interval in one unit: "−30.6 points, 95% from −33.9 to −28.1".
pub fn difference_range(outcome: &str, d: &crate::stats::Estimate) -> String {
    let scale = Some(d.estimate.abs().max(d.low.abs()).max(d.high.abs()));
    let (value, unit) = difference_parts(outcome, d.estimate, scale);
    let (low, _) = difference_parts(outcome, d.low, scale);
    let (high, _) = difference_parts(outcome, d.high, scale);
    format!("{value} {unit}, 95% from {low} to {high}")
}

/// Which way a paired difference goes, in a word or a few: "higher", "lower" (or "more",
/// "less" for spend and entry months) when its 95% interval excludes zero, "no change at
/// all", "no clear difference at these runs", or "no comparison" when there is no value.
pub fn difference_verdict(outcome: &str, d: &crate::stats::Estimate) -> &'static str {
    let counted = !crate::study::outcome::is_share(outcome);
    if !d.low.is_finite() || !d.high.is_finite() {
        "no comparison (no run has a value in one of them)"
    } else if d.low > 0.0 {
        if counted {
            "more"
        } else {
            "higher"
        }
    } else if d.high < 0.0 {
        if counted {
            "less"
        } else {
            "lower"
        }
    } else if d.low == 0.0 && d.high == 0.0 {
        "no change at all"
    } else {
        "no clear difference at these runs"
    }
}

/// What a paired difference says, in a sentence: "Perpetuation …: 94.3% → 97.1% (+2.8 points,
/// 95% from +1.9 to +3.7): higher with your choices."
pub fn difference_sentence(
    outcome: &str,
    what: &str,
    written: &crate::stats::Estimate,
    chosen: &crate::stats::Estimate,
    difference: &crate::stats::Estimate,
    model: &Model,
) -> String {
    let mut verdict = difference_verdict(outcome, difference).to_string();
    if ["higher", "lower", "more", "less"].contains(&verdict.as_str()) {
        verdict.push_str(" with your choices");
    }
    let mut first = what.to_string();
    if let Some(c) = first.get(..1) {
        first = c.to_uppercase() + &first[1..];
    }
    format!(
        "{first}: {} → {} ({}): {verdict}.",
        value_words(outcome, written.estimate, model),
        value_words(outcome, chosen.estimate, model),
        difference_range(outcome, difference),
    )
}

#[cfg(test)]
mod tests {
    use super::difference_range;
    use crate::stats::Estimate;

    fn e(estimate: f64, low: f64, high: f64) -> Estimate {
        Estimate {
            estimate,
            low,
            high,
            n: 100,
        }
    }

    #[test]
    fn a_range_is_written_once_in_one_unit_with_true_minus_signs() {
        assert_eq!(
            difference_range("perpetuation@144", &e(-0.306, -0.339, -0.281)),
            "−30.6 points, 95% from −33.9 to −28.1"
        );
        assert_eq!(
            difference_range("stabilisation@144", &e(0.0004, -0.0001, 0.001)),
            "0.0 points, 95% from 0.0 to +0.1"
        );
        assert_eq!(
            difference_range("spend", &e(1.5e6, 0.9e6, 2.1e6)),
            "+1.50 M€, 95% from +0.90 to +2.10"
        );
        assert_eq!(
            difference_range("entry(scale)", &e(-12.0, -20.0, 3.0)),
            "−12 months, 95% from −20 to +3"
        );
    }
}
