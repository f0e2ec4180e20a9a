//! A transfer's files and words: `transfer.csv` (one row per territory, method and outcome),
//! `transfer.json`, and per territory the methods ranked by their effect, with what each costs.

use serde::Serialize;

use super::json::pretty;
use super::tables::{finish, number, writer};
use super::text::{difference_range, difference_verdict};
use crate::study::transfer::{Effect, Status, Transfer};

/// `transfer.csv`: `territory,lever,status,outcome,with,without,effect,low,high`, then
/// `extra_spend` (€ over the horizon, with minus without), `per_100k_euros` (the effect per
/// 100,000 € of extra spend, where the method costs more), `file` and `note`.
pub fn csv(t: &Transfer) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record([
        "territory",
        "lever",
        "status",
        "outcome",
        "with",
        "without",
        "effect",
        "low",
        "high",
        "extra_spend",
        "per_100k_euros",
        "file",
        "note",
    ]);
    let cell = |x: Option<f64>| match x {
        Some(x) if x.is_finite() => number(x),
        _ => String::new(),
    };
    for e in &t.effects {
        let _ = w.write_record([
            e.territory.clone(),
            e.lever.clone(),
            e.status.word().to_string(),
            e.outcome.clone(),
            cell(e.with.map(|x| x.estimate)),
            cell(e.without.map(|x| x.estimate)),
            cell(e.effect.map(|x| x.estimate)),
            cell(e.effect.map(|x| x.low)),
            cell(e.effect.map(|x| x.high)),
            cell(e.extra_spend),
            cell(e.per_100k),
            e.file.clone(),
            e.notes.join("; "),
        ]);
    }
    finish(w)
}

/// `transfer.json`: the settings, the notes, the methods and every effect.
pub fn json(t: &Transfer) -> Vec<u8> {
    #[derive(Serialize)]
    struct File<'a> {
        trajectoire_version: &'a str,
        #[serde(flatten)]
        transfer: &'a Transfer,
    }
    pretty(&File {
        trajectoire_version: env!("CARGO_PKG_VERSION"),
        transfer: t,
    })
}

/// Whether an interval excludes zero.
pub fn decided(e: &crate::stats::Estimate) -> bool {
    e.low > 0.0 || e.high < 0.0
}

/// In words, territory by territory: the methods ranked by their effect on the territory's
/// first outcome, each with its effects and what it costs; then the notes.
pub fn words(t: &Transfer) -> String {
    let mut out = String::new();
    let mut territories: Vec<(&str, &str)> = Vec::new();
    for e in &t.effects {
        if !territories.contains(&(&e.file, &e.territory)) {
            territories.push((&e.file, &e.territory));
        }
    }
    for (file, territory) in territories {
        let mine: Vec<&Effect> = t
            .effects
            .iter()
            .filter(|e| e.file == file && e.territory == territory)
            .collect();
        // Ranked on the first outcome some method changes for sure (perpetuation is often
        // certain either way).
        let mut order: Vec<&str> = Vec::new();
        for e in &mine {
            if !order.contains(&e.outcome.as_str()) {
                order.push(&e.outcome);
            }
        }
        let Some(first) = order
            .iter()
            .find(|o| {
                mine.iter()
                    .any(|e| e.outcome == **o && e.effect.is_some_and(|d| decided(&d)))
            })
            .or(order.first())
            .map(|o| o.to_string())
        else {
            continue;
        };
        out.push_str(&format!(
            "\n{territory} ({file}) — the methods of the référentiel ranked by their effect on {first} ({} runs each, paired):\n",
            t.runs
        ));
        let mut ranked: Vec<&Effect> = mine
            .iter()
            .copied()
            .filter(|e| e.outcome == first)
            .collect();
        ranked.sort_by(|a, b| {
            let key = |e: &Effect| e.effect.map_or(f64::NEG_INFINITY, |x| x.estimate);
            key(b).total_cmp(&key(a))
        });
        for (rank, e) in ranked.iter().enumerate() {
            let how = match e.status {
                Status::Used => "used here; the effect of keeping it (with it minus without it):",
                Status::Added => {
                    "not used here; the effect of adding it (with it minus without it):"
                }
                Status::NotApplicable => "not applicable",
            };
            let label = t
                .methods
                .iter()
                .find(|m| m.id == e.lever)
                .map_or(e.lever.as_str(), |m| m.label.as_str());
            out.push_str(&format!("  {}. {} ({label}) — {how}\n", rank + 1, e.lever));
            if e.status == Status::NotApplicable {
                continue;
            }
            for f in mine.iter().filter(|f| f.lever == e.lever) {
                let Some(d) = f.effect else { continue };
                out.push_str(&format!(
                    "       {}: {} ({}{})",
                    f.outcome,
                    difference_range(&f.outcome, &d),
                    difference_verdict(&f.outcome, &d),
                    if decided(&d) { " with it" } else { "" }
                ));
                if let Some(p) = f.per_100k.filter(|_| decided(&d)) {
                    let (x, unit) = if !crate::study::outcome::is_share(&f.outcome) {
                        (p, "")
                    } else {
                        (100.0 * p, " points")
                    };
                    let x = format!("{x:+.2}").replace('-', "−");
                    out.push_str(&format!("; {x}{unit} per 100,000 € more"));
                }
                out.push('\n');
            }
        }
    }
    if !t.notes.is_empty() {
        out.push_str("\nNotes:\n");
        for n in &t.notes {
            out.push_str(&format!("  - {n}\n"));
        }
    }
    out.push_str(
        "\nAn effect is the method's: with it minus without it, everything else as in the file, on the same runs; its 95% interval rests on the runs' paired differences. An effect whose interval holds zero is not shown to exist at these runs.\n",
    );
    out
}
