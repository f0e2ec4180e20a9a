//! `report.html`: one self-contained page to take home from a workshop — the numbers in words,
//! the dashboard and every plot as inline SVG (drawn by the same code as the files), the phase
//! table, the hypotheses with their verdicts, the comparisons with the variants, the territory
//! explained as `explain` does, and how to make the same report again. No script, no external
//! resource (fonts, styles and pictures are in the file), laid out for A4 when printed.

use std::fmt::Write;

use super::{explain, plot, text};
use crate::ensemble::Results;
use crate::model::Model;
use crate::study::compare::Comparison;
use crate::study::hypothesis::{Tested, Verdict};
use crate::study::outcome::default_outcomes;
use crate::study::proposal::{Proposal, Round};

/// What a report shows.
pub struct Contents<'a> {
    /// The scenario as simulated (the base).
    pub model: &'a Model,
    /// The base and each variant, with their full results and paired series.
    pub comparison: &'a Comparison,
    /// The hypotheses' verdicts in each scenario (`hypotheses[s]`).
    pub hypotheses: &'a [Vec<Tested>],
    /// The file the report is of, as given.
    pub file: &'a str,
    /// The command that makes the same report again.
    pub command: &'a str,
    /// A workshop session of peer groups, when the report is of one.
    pub session: Option<&'a Session<'a>>,
}

/// A workshop session as the report shows it.
#[derive(Debug, Clone)]
pub struct Session<'a> {
    /// The groups, in order.
    pub groups: &'a [String],
    /// The rounds.
    pub rounds: &'a [Round],
    /// Every proposal, in the order they were made.
    pub proposals: &'a [Proposal],
    /// The session's file, as given.
    pub file: &'a str,
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --ink: #1b1b1b; --muted: #5c5c5c; --line: #d9d9d9; --navy: #08306b; }
* { box-sizing: border-box; }
body { font: 16px/1.5 "DejaVu Sans", system-ui, sans-serif; color: var(--ink); margin: 0 auto;
  max-width: 62rem; padding: 1.5rem; }
h1 { font-size: 1.9rem; margin: 0 0 .2rem; color: var(--navy); }
h2 { font-size: 1.35rem; margin: 2.2rem 0 .6rem; border-bottom: 2px solid var(--navy);
  padding-bottom: .2rem; color: var(--navy); }
h3 { font-size: 1.1rem; margin: 1.4rem 0 .4rem; }
h4 { font-size: 1rem; margin: 1rem 0 .3rem; }
.muted { color: var(--muted); }
.lede { color: var(--muted); margin: 0 0 1rem; }
nav ol { columns: 2; margin: .5rem 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .93rem; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left;
  vertical-align: top; }
th { background: #f3f5f8; }
td.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0 1.5rem; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: .9rem; margin-top: .3rem; }
.verdict { font-weight: bold; padding: .05rem .45rem; border-radius: .3rem; white-space: nowrap; }
.supported { background: #dff0d8; color: #1e5c1e; }
.rejected { background: #f6dada; color: #8a1f1f; }
.inconclusive { background: #fcf0cf; color: #6b4f00; }
.explain ul { padding-left: 1.2rem; }
.explain .detail { color: var(--muted); margin: .1rem 0 .4rem; }
pre, code { font-family: "DejaVu Sans Mono", monospace; font-size: .85rem; }
pre { background: #f6f6f6; padding: .6rem; white-space: pre-wrap; word-break: break-all; }
pre.equations { word-break: normal; overflow-x: auto; }
footer { margin-top: 2.5rem; color: var(--muted); font-size: .85rem; }
@page { size: A4; margin: 16mm 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  nav { display: none; }
  h2 { break-before: page; }
  h2.first { break-before: avoid; }
  figure, table, tr, .explain li { break-inside: avoid; }
  h2, h3, h4 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"#;

/// The report as one HTML document.
pub fn html(c: &Contents<'_>) -> Result<String, String> {
    let model = c.model;
    let comparison = c.comparison;
    let results = comparison
        .results
        .as_deref()
        .ok_or("the comparison has no results")?;
    let base = &results[0];
    let variants = comparison.scenarios.len() > 1;
    let mut h = String::new();
    let title = format!("{} — trajectoire report", model.name);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"trajectoire {}\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        env!("CARGO_PKG_VERSION"),
        escape(&title)
    );
    let _ = write!(
        h,
        "<header>\n<h1>{}</h1>\n<p class=\"lede\">What the model says about this transition: {} simulated futures, \
         each with its own shocks and chance, summed up with their 95% intervals. The file's parameters are \
         hypotheses about the territory; the numbers are what follows from them, not a forecast.</p>\n</header>\n",
        escape(&model.name),
        base.runs
    );
    let mut sections = vec![
        ("summary", "In short"),
        ("dashboard", "The three trajectories"),
    ];
    if !c.hypotheses.first().is_none_or(Vec::is_empty) {
        sections.push(("hypotheses", "Hypotheses"));
    }
    if c.session.is_some() {
        sections.push(("session", "The workshop session"));
    }
    if variants {
        sections.push(("comparisons", "Choices compared"));
    }
    sections.extend([
        ("plots", "Each trajectory in detail"),
        ("phases", "Phases"),
        ("territory", "The territory in words"),
        ("reproduce", "How this report was made"),
    ]);
    h.push_str("<nav aria-label=\"Contents\"><ol>\n");
    for (id, name) in &sections {
        let _ = writeln!(h, "<li><a href=\"#{id}\">{name}</a></li>");
    }
    h.push_str("</ol></nav>\n<main>\n");
    summary(&mut h, model, comparison);
    section(&mut h, "dashboard", "The three trajectories", false);
    figure(
        &mut h,
        &plot::standard_svg("dashboard", model, base)?,
        "Stabilisation, perpetuation and change of scale month by month, with the phases reached. \
         Lines are medians (perpetuation: the share of futures where the transition is alive); \
         bands hold 50% and 90% of the futures (perpetuation: its 95% interval).",
    );
    if let Some(first) = c.hypotheses.first().filter(|v| !v.is_empty()) {
        hypotheses(&mut h, first, c.hypotheses, comparison);
    }
    if let Some(session) = c.session {
        workshop_session(&mut h, model, session);
    }
    if variants {
        comparisons(&mut h, model, comparison, results)?;
    }
    section(&mut h, "plots", "Each trajectory in detail", false);
    let captions = [
        ("stabilisation", "Stabilisation: the share of engagement that is anchored (weighted across groups)."),
        ("perpetuation", "Perpetuation: the share of futures in which the transition is still alive, with its 95% interval."),
        ("scale", "Change of scale: the share of the territory's potential reached."),
        ("engagement-by-group", "Engagement of each actor group: the median, and the band that holds the middle half of the futures (25–75%)."),
        ("phases", "The share of futures in each phase, month by month."),
    ];
    for (name, caption) in captions {
        figure(&mut h, &plot::standard_svg(name, model, base)?, caption);
    }
    phases(&mut h, model, base);
    section(&mut h, "territory", "The territory in words", false);
    h.push_str("<div class=\"explain\">\n");
    explained(&mut h, &explain::explain(model));
    h.push_str("</div>\n");
    reproduce(&mut h, c);
    h.push_str("</main>\n");
    let _ = write!(
        h,
        "<footer>Made by trajectoire {}. Same file, same command → the same numbers, on any machine.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    Ok(h)
}

/// Every round of a session: each proposal with its choices, its reasons, and its prediction
/// against what the simulation gave.
fn workshop_session(h: &mut String, model: &Model, s: &Session<'_>) {
    section(h, "session", "The workshop session", false);
    let proposed = s.proposals.len();
    let _ = writeln!(
        h,
        "<p>{} groups ({}), {} round{}, {}; each proposal was simulated against the file as \
         written on the same futures, with the session's runs, when it was made (the section \
         <em>Choices compared</em> simulates the last round's proposals again with this \
         report's runs, so its numbers may differ slightly). The reasons are the groups' own \
         words. The session's file: <code>{}</code>.</p>",
        s.groups.len(),
        escape(&s.groups.join(", ")),
        s.rounds.len(),
        if s.rounds.len() == 1 { "" } else { "s" },
        match proposed {
            0 => "no proposal yet".to_string(),
            1 => "1 proposal".to_string(),
            n => format!("{n} proposals"),
        },
        escape(s.file)
    );
    let main = default_outcomes(model);
    for round in s.rounds {
        let _ = writeln!(h, "<h3>Round {}</h3>", round.number);
        let made: Vec<&Proposal> = s
            .proposals
            .iter()
            .filter(|p| p.round == round.number)
            .collect();
        if made.is_empty() {
            h.push_str("<p class=\"muted\">No proposal in this round.</p>\n");
            continue;
        }
        h.push_str("<ol class=\"proposals\">\n");
        for p in made {
            let _ = writeln!(
                h,
                "<li><p><strong>{}</strong> — proposal {}</p>",
                escape(&p.group),
                p.id
            );
            if p.set.is_empty() {
                h.push_str("<p>The file as written (no choice moved).</p>\n");
            } else {
                h.push_str("<ul>\n");
                for (path, x) in &p.set {
                    let _ = writeln!(
                        h,
                        "<li><code>{}</code> = {}</li>",
                        escape(path),
                        escape(&format!("{x}"))
                    );
                }
                h.push_str("</ul>\n");
            }
            if !p.note.is_empty() {
                let _ = writeln!(h, "<blockquote>{}</blockquote>", escape(&p.note));
            }
            h.push_str("<table>\n<thead><tr><th scope=\"col\">At the end</th><th scope=\"col\">Predicted</th><th scope=\"col\">Simulated (95%)</th><th scope=\"col\">Difference with the file as written (95%)</th></tr></thead>\n<tbody>\n");
            for outcome in &main {
                let Some(r) = p.simulated.results.get(outcome) else {
                    continue;
                };
                let words = |x: Option<f64>| {
                    x.map_or_else(|| "–".to_string(), |x| text::value_words(outcome, x, model))
                };
                let predicted = p.prediction.get(outcome).map_or_else(
                    || "–".to_string(),
                    |&x| text::value_words(outcome, x, model),
                );
                let difference = p.simulated.differences.get(outcome).map_or_else(
                    || "–".to_string(),
                    |d| {
                        format!(
                            "{} ({} to {})",
                            signed(d.estimate, outcome, model),
                            signed(d.low, outcome, model),
                            signed(d.high, outcome, model)
                        )
                    },
                );
                let (what, _) = text::outcome_words(outcome, model);
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{} ({} to {})</td><td class=\"n\">{}</td></tr>",
                    escape(&capitalised(&what)),
                    escape(&predicted),
                    escape(&words(r.estimate)),
                    escape(&words(r.low)),
                    escape(&words(r.high)),
                    escape(&difference)
                );
            }
            h.push_str("</tbody>\n</table>\n");
            if !p.simulated.verdicts.is_empty() {
                h.push_str("<ul>\n");
                for v in &p.simulated.verdicts {
                    let _ = writeln!(
                        h,
                        "<li>{}: <strong>{}</strong></li>",
                        escape(&v.name),
                        escape(&v.verdict)
                    );
                }
                h.push_str("</ul>\n");
            }
            h.push_str("</li>\n");
        }
        h.push_str("</ol>\n");
    }
}

/// A difference in the outcome's words, with its sign.
fn signed(x: Option<f64>, outcome: &str, model: &Model) -> String {
    match x {
        None => "–".to_string(),
        Some(x) if x > 0.0 => format!("+{}", text::value_words(outcome, x, model)),
        Some(x) if x < 0.0 => format!("−{}", text::value_words(outcome, -x, model)),
        Some(_) => "±0".to_string(),
    }
}

fn section(h: &mut String, id: &str, title: &str, first: bool) {
    let class = if first { " class=\"first\"" } else { "" };
    let _ = writeln!(h, "<h2 id=\"{id}\"{class}>{title}</h2>");
}

fn figure(h: &mut String, svg: &str, caption: &str) {
    // The SVG's own XML declaration has no place inside HTML.
    let body = svg.find("<svg").map_or(svg, |i| &svg[i..]);
    let _ = writeln!(
        h,
        "<figure>{body}<figcaption>{}</figcaption></figure>",
        escape(caption)
    );
}

/// "97.1% (95% from 95.2% to 98.4%)".
fn with_interval(outcome: &str, e: &crate::stats::Estimate, model: &Model) -> String {
    if !e.low.is_finite() || !e.high.is_finite() {
        return escape(&text::value_words(outcome, e.estimate, model));
    }
    format!(
        "{} <span class=\"muted\">(95% from {} to {})</span>",
        escape(&text::value_words(outcome, e.estimate, model)),
        escape(&text::value_words(outcome, e.low, model)),
        escape(&text::value_words(outcome, e.high, model))
    )
}

fn summary(h: &mut String, model: &Model, c: &Comparison) {
    section(h, "summary", "In short", true);
    let main = default_outcomes(model).len();
    let mut territory = String::new();
    h.push_str("<table>\n<thead><tr><th scope=\"col\">At the end of the period</th><th scope=\"col\">Value</th></tr></thead>\n<tbody>\n");
    for (o, outcome) in c.outcomes.iter().enumerate().take(main) {
        let (mut what, name) = text::outcome_words(outcome, model);
        if let Some(rest) = what.strip_prefix(&format!("{name}: ")) {
            what = rest.to_string();
        }
        if model.territories.len() > 1 && name != territory {
            let _ = writeln!(
                h,
                "<tr><th colspan=\"2\" scope=\"rowgroup\">{}</th></tr>",
                escape(&name)
            );
            territory = name;
        }
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(&capitalised(&what)),
            with_interval(outcome, &c.scenarios[0].estimates[o], model)
        );
    }
    h.push_str("</tbody></table>\n");
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

fn verdict(t: &Tested) -> String {
    let class = match t.verdict {
        Verdict::Supported => "supported",
        Verdict::Rejected => "rejected",
        Verdict::Inconclusive => "inconclusive",
    };
    format!(
        "<span class=\"verdict {class}\">{}</span>",
        t.verdict.word()
    )
}

fn hypotheses(h: &mut String, base: &[Tested], all: &[Vec<Tested>], c: &Comparison) {
    section(h, "hypotheses", "Hypotheses", false);
    h.push_str(
        "<p>Each hypothesis is <em>supported</em> when the whole 95% interval of its outcome is on \
         its side of the threshold, <em>rejected</em> when the whole interval is on the other side, \
         and <em>inconclusive</em> otherwise: more runs, or a clearer question, would decide it.</p>\n",
    );
    h.push_str("<table>\n<thead><tr><th scope=\"col\">Hypothesis</th><th scope=\"col\">Statement</th><th scope=\"col\">Estimate</th><th scope=\"col\">Verdict</th>");
    for s in &c.scenarios[1..] {
        let _ = write!(h, "<th scope=\"col\">{}</th>", escape(&s.name));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for (i, t) in base.iter().enumerate() {
        let o = &t.hypothesis.outcome.text;
        let e = &t.estimate;
        let estimate = if e.estimate.is_finite() {
            format!(
                "{} ({}–{})",
                number(o, e.estimate),
                number(o, e.low),
                number(o, e.high)
            )
        } else {
            "no value".into()
        };
        let mut note = String::new();
        if let Some(n) = t.runs_needed {
            note = format!("<br><small>about {n} runs would likely decide it</small>");
        }
        let _ = write!(
            h,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"n\">{}</td><td>{}{note}</td>",
            escape(&t.hypothesis.name),
            escape(&t.hypothesis.text()),
            escape(&estimate),
            verdict(t)
        );
        for other in &all[1..] {
            let cell = other.get(i).map(verdict).unwrap_or_default();
            let _ = write!(h, "<td>{cell}</td>");
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");
}

/// An outcome's value as a number in the hypotheses' own scale.
fn number(outcome: &str, x: f64) -> String {
    if !x.is_finite() {
        "—".into()
    } else if !crate::study::outcome::is_share(outcome) {
        format!("{x:.0}")
    } else {
        format!("{x:.3}")
    }
}

fn comparisons(
    h: &mut String,
    model: &Model,
    c: &Comparison,
    results: &[Results],
) -> Result<(), String> {
    section(h, "comparisons", "Choices compared", false);
    h.push_str(
        "<p>Every variant is simulated on the same futures as the file as written (the same \
         shocks and the same chance, run by run), so a difference is the effect of the choice \
         alone. Its 95% interval comes from the runs' paired differences.</p>\n",
    );
    let main = default_outcomes(model).len();
    h.push_str("<table>\n<thead><tr><th scope=\"col\">Outcome</th><th scope=\"col\">Scenario</th><th scope=\"col\">Value</th><th scope=\"col\">Difference with the file as written</th></tr></thead>\n<tbody>\n");
    for (o, outcome) in c.outcomes.iter().enumerate().take(main) {
        let (what, name) = text::outcome_words(outcome, model);
        let label = if model.territories.len() > 1 {
            format!("{name}: {what}")
        } else {
            what
        };
        for (s, entry) in c.scenarios.iter().enumerate() {
            let first = if s == 0 {
                format!(
                    "<td rowspan=\"{}\">{}</td>",
                    c.scenarios.len(),
                    escape(&capitalised(&label))
                )
            } else {
                String::new()
            };
            let difference = match &entry.differences {
                Some(d) => format!(
                    "{} — {}",
                    escape(&text::difference_range(outcome, &d[o])),
                    text::difference_verdict(outcome, &d[o])
                ),
                None => "the base".into(),
            };
            let _ = writeln!(
                h,
                "<tr>{first}<td>{}</td><td class=\"n\">{}</td><td>{difference}</td></tr>",
                if s == 0 {
                    format!("{} (as written)", escape(&entry.name))
                } else {
                    escape(&entry.name)
                },
                with_interval(outcome, &entry.estimates[o], model)
            );
        }
    }
    h.push_str("</tbody></table>\n");
    let names: Vec<String> = c.scenarios.iter().map(|s| s.name.clone()).collect();
    let captions = [
        "Stabilisation",
        "Perpetuation (the share of futures where the transition is alive)",
        "Change of scale",
    ];
    let overlays = plot::overlays(model, &names, results, c.series.as_deref(), true)?;
    for ((_, picture), what) in overlays.iter().zip(captions) {
        let caption = format!(
            "{what}: each scenario's median, and its band, on top; below, each variant's paired difference with the file as written, with its 95% band."
        );
        figure(h, &picture.svg, &caption);
    }
    Ok(())
}

fn phases(h: &mut String, model: &Model, results: &Results) {
    section(h, "phases", "Phases", false);
    h.push_str(
        "<p>How many of the simulated futures enter each phase by the end, and when: the median \
         month of entry, with the earliest and latest 5% left out.</p>\n",
    );
    for (t, territory) in results.territories.iter().zip(&model.territories) {
        if model.territories.len() > 1 {
            let _ = writeln!(h, "<h3>{}</h3>", escape(&territory.name));
        }
        h.push_str("<table>\n<thead><tr><th scope=\"col\">Phase</th><th scope=\"col\">Futures that enter it</th><th scope=\"col\">Median entry</th><th scope=\"col\">90% of entries between</th></tr></thead>\n<tbody>\n");
        for (e, phase) in t.phase_entries.iter().zip(&territory.phases) {
            let (median, range) = match e.quantiles {
                Some(q) if e.reached > 0.0 => (
                    text::value_words("entry()", q[2], model),
                    format!(
                        "{} and {}",
                        text::value_words("entry()", q[0], model),
                        text::value_words("entry()", q[4], model)
                    ),
                ),
                _ => ("never entered".into(), String::new()),
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{:.1}%</td><td>{}</td><td>{}</td></tr>",
                escape(&phase.label),
                100.0 * e.reached,
                escape(&median),
                escape(&range)
            );
        }
        h.push_str("</tbody></table>\n");
    }
}

/// `explain`'s text as HTML: "== name ==" titles, section lines ending in ":", "  - " items
/// and their deeper-indented details.
fn explained(h: &mut String, text: &str) {
    let mut open_list = false;
    let mut open_item = false;
    let close_item = |h: &mut String, open_item: &mut bool| {
        if *open_item {
            h.push_str("</li>\n");
            *open_item = false;
        }
    };
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim();
        if body.is_empty() {
            continue;
        }
        if indent == 0 && body.starts_with("Equations") {
            // A title that may run over lines to its ':', then the equations, kept as laid out.
            close_item(h, &mut open_item);
            if open_list {
                h.push_str("</ul>\n");
                open_list = false;
            }
            let mut title = body.to_string();
            while !title.ends_with(':') {
                match lines.next_if(|l| !l.starts_with(' ') && !l.trim().is_empty()) {
                    Some(more) => {
                        title.push(' ');
                        title.push_str(more.trim());
                    }
                    None => break,
                }
            }
            let _ = writeln!(h, "<h4>{}</h4>", escape(title.trim_end_matches(':')));
            let mut block = Vec::new();
            while let Some(l) = lines.next_if(|l| l.starts_with("  ")) {
                block.push(escape(&l[2..]));
            }
            let _ = writeln!(h, "<pre class=\"equations\">{}</pre>", block.join("\n"));
            continue;
        }
        if indent >= 2 && body.starts_with("- ") {
            if !open_list {
                h.push_str("<ul>\n");
                open_list = true;
            }
            close_item(h, &mut open_item);
            let _ = write!(h, "<li>{}", escape(&body[2..]));
            open_item = true;
            continue;
        }
        if indent >= 4 && open_item {
            let _ = write!(h, "<p class=\"detail\">{}</p>", escape(body));
            continue;
        }
        close_item(h, &mut open_item);
        if open_list {
            h.push_str("</ul>\n");
            open_list = false;
        }
        if let Some(title) = body.strip_prefix("== ").and_then(|b| b.strip_suffix(" ==")) {
            let _ = writeln!(h, "<h3>{}</h3>", escape(title));
        } else if indent == 0 && body.ends_with(':') || body.ends_with("):") {
            let _ = writeln!(h, "<h4>{}</h4>", escape(body.trim_end_matches(':')));
        } else {
            let _ = writeln!(h, "<p>{}</p>", escape(body));
        }
    }
    close_item(h, &mut open_item);
    if open_list {
        h.push_str("</ul>\n");
    }
}

fn reproduce(h: &mut String, c: &Contents<'_>) {
    let model = c.model;
    let s = &model.settings;
    section(h, "reproduce", "How this report was made", false);
    h.push_str("<table>\n<tbody>\n");
    let horizon = model.horizon();
    let mut rows = vec![
        (
            "Program",
            format!("trajectoire {}", env!("CARGO_PKG_VERSION")),
        ),
        ("Scenario file", c.file.to_string()),
        (
            "Scenario fingerprint (SHA-256 of the resolved scenario)",
            model.fingerprint(),
        ),
        ("Runs", s.runs.to_string()),
        ("Seed", s.seed.to_string()),
        ("Euler substeps a month", s.substeps.to_string()),
        ("Months simulated", horizon.to_string()),
    ];
    if !model.overrides.is_empty() {
        rows.push(("Changes to the file (--set)", model.overrides.join(", ")));
    }
    for entry in &c.comparison.scenarios[1..] {
        rows.push(("Variant", entry.name.clone()));
    }
    for (k, v) in rows {
        let _ = writeln!(
            h,
            "<tr><th scope=\"row\">{}</th><td><code>{}</code></td></tr>",
            escape(k),
            escape(&v)
        );
    }
    h.push_str("</tbody></table>\n<p>The same command on the same file makes the same report, number for number:</p>\n");
    let _ = writeln!(h, "<pre>{}</pre>", escape(c.command));
}

#[cfg(test)]
mod tests {
    use super::{escape, explained};

    #[test]
    fn equations_keep_their_layout_under_a_title_of_several_lines() {
        let mut h = String::new();
        explained(
            &mut h,
            "Equations (each month: a,\nthen b):\n  dE = x\n  dA = y\nAfter.\n",
        );
        assert_eq!(
            h,
            "<h4>Equations (each month: a, then b)</h4>\n<pre class=\"equations\">dE = x\ndA = y</pre>\n<p>After.</p>\n"
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn explain_lines_become_titles_lists_and_details() {
        let mut h = String::new();
        explained(
            &mut h,
            "== Town (t) ==\nA town.\n\nActor groups (E0 engaged):\n  - Elected: weight 1\n      influenced by: staff\n  - Staff\nShocks:\n  - none\n",
        );
        assert_eq!(
            h,
            "<h3>Town (t)</h3>\n<p>A town.</p>\n<h4>Actor groups (E0 engaged)</h4>\n<ul>\n<li>Elected: weight 1<p class=\"detail\">influenced by: staff</p></li>\n<li>Staff</li>\n</ul>\n<h4>Shocks</h4>\n<ul>\n<li>none</li>\n</ul>\n"
        );
    }
}
