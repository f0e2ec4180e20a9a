//! A territory's observed history — survey shares of engaged inhabitants, members of durable
//! structures, households reached — read from CSV and checked against the model, so that a
//! calibration compares like with like. Every problem is reported at `file:line:col` with what
//! is allowed, all of them at once, before anything is simulated.
//!
//! The file: a header `index,month,value,sd` (with a first column `territory` for a network;
//! `year` in place of `month` when the scenario has a `start_year`, meaning January of that
//! year), then one observation per line. `index` is any per-run index of the outputs
//! (`engagement`, `stabilisation`, `scale`, `engagement:<group>`, `anchored:<group>`) or
//! `perpetuation`; `value` is in [0, 1]; `sd`, the observation's standard error, is optional
//! (a column left out or a cell left empty: the calibration says what it assumes). Lines
//! starting with `#` are comments (say where the numbers come from).

use std::path::Path;

use crate::diag::{suggestion, Diagnostic, Error, Sources, Span};
use crate::engine::{Block, Engine};
use crate::ensemble::Index;
use crate::model::Model;

/// What an observation measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observable {
    /// A per-run index of the outputs.
    Index(Index),
    /// The share of futures still alive.
    Perpetuation,
}

impl Observable {
    /// This observable of territory `t` in every lane of block `b`, into `out` (one per
    /// lane): the index, or 1 while alive and 0 once abandoned.
    pub fn write(self, engine: &Engine, t: usize, b: &Block, out: &mut [f64]) {
        let lanes = b.lanes();
        match self {
            Observable::Index(index) => {
                out[..lanes].copy_from_slice(&index.values(engine, t, b)[..lanes])
            }
            Observable::Perpetuation => {
                for (x, a) in out[..lanes].iter_mut().zip(b.alive(t)) {
                    *x = if *a { 1.0 } else { 0.0 };
                }
            }
        }
    }
}

/// One observed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The territory (network order).
    pub territory: usize,
    /// What is observed.
    pub observable: Observable,
    /// The index as written (e.g. `engagement:inhabitants`).
    pub name: String,
    /// The month (0 = the start).
    pub month: u32,
    /// The value, in [0, 1].
    pub value: f64,
    /// Its standard error, if given (> 0).
    pub sd: Option<f64>,
    /// Its line in the file (from 1).
    pub line: usize,
}

/// Whether a line is left out: blank, or a comment (`#` first: where the numbers come from).
fn skipped(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Largest observed-data file read.
const MAX_BYTES: u64 = 10 << 20;

/// Reads and checks an observed-data file against `model`.
pub fn read(path: &Path, model: &Model) -> Result<Vec<Observation>, Error> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if size > MAX_BYTES {
        return Err(Error::io(
            path,
            "is larger than 10 MB; an observed history is a few hundred lines",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::io(path, "is not UTF-8 text: save it as UTF-8 CSV"))?;
    parse(path, &text, model)
}

/// The columns of the file, by position.
struct Columns {
    territory: Option<usize>,
    index: usize,
    month: usize,
    /// `year` in place of `month`.
    years: bool,
    value: usize,
    sd: Option<usize>,
}

/// Checks the text of an observed-data file (`path` names it in messages).
pub fn parse(path: &Path, text: &str, model: &Model) -> Result<Vec<Observation>, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut sources = Sources::default();
    let file = sources.add(path.to_path_buf(), text.to_string());
    let mut problems = Vec::new();
    // Byte offset of each line's start.
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let lines: Vec<&str> = text.lines().collect();
    let at = |line: usize, field: usize, width: usize| {
        let start = starts.get(line).copied().unwrap_or(text.len());
        let offset: usize = lines[line]
            .split(',')
            .take(field)
            .map(|f| f.len() + 1)
            .sum();
        let from = (start + offset).min(text.len());
        Span::new(file, from..(from + width.max(1)).min(text.len().max(from)))
    };
    let invalid = |problems: Vec<Diagnostic>, sources: Sources| Error::Invalid {
        diagnostics: problems,
        sources,
    };
    let Some(header_line) = lines.iter().position(|l| !skipped(l)) else {
        return Err(invalid(
            vec![Diagnostic::file(path, "the file is empty").with_help(header_help(model))],
            sources,
        ));
    };
    let names: Vec<&str> = lines[header_line].split(',').map(str::trim).collect();
    let columns = match columns(&names, model) {
        Ok(c) => c,
        Err((field, message, help)) => {
            let width = names.get(field).map_or(1, |n| n.len());
            problems.push(Diagnostic::at(at(header_line, field, width), message).with_help(help));
            return Err(invalid(problems, sources));
        }
    };
    let territory_ids: Vec<&str> = model.territories.iter().map(|t| t.id.as_str()).collect();
    let horizon = model.horizon();
    let start_year = model.start_year();
    let mut observations: Vec<Observation> = Vec::new();
    for (l, line) in lines.iter().enumerate().skip(header_line + 1) {
        if skipped(line) {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != names.len() {
            problems.push(
                Diagnostic::at(
                    at(l, 0, line.len()),
                    format!(
                        "this line has {} fields where the header has {}",
                        fields.len(),
                        names.len()
                    ),
                )
                .with_help(format!(
                    "write {} values separated by commas: {}",
                    names.len(),
                    names.join(",")
                )),
            );
            continue;
        }
        let field = |k: usize| (fields[k], at(l, k, fields[k].len()));
        let mut ok = true;
        let mut fail = |span: Span, message: String, help: String| {
            problems.push(Diagnostic::at(span, message).with_help(help));
            ok = false;
        };
        // The territory.
        let territory = match columns.territory {
            None => 0,
            Some(k) => {
                let (id, span) = field(k);
                match territory_ids.iter().position(|t| *t == id) {
                    Some(t) => t,
                    None => {
                        fail(
                            span,
                            format!("unknown territory `{id}`"),
                            suggestion(id, territory_ids.iter().copied()).unwrap_or_default(),
                        );
                        continue;
                    }
                }
            }
        };
        let t = &model.territories[territory];
        // The index.
        let (name, span) = field(columns.index);
        let known: Vec<(String, Observable)> = Index::all(t.groups.len())
            .map(|i| (i.name(t), Observable::Index(i)))
            .chain([("perpetuation".to_string(), Observable::Perpetuation)])
            .collect();
        let observable = known.iter().find(|(n, _)| n == name).map(|(_, o)| *o);
        if observable.is_none() {
            let what = match name.split_once(':') {
                Some((_, group)) if !t.groups.iter().any(|g| g.id == group) => {
                    format!("unknown group `{group}` in `{name}`")
                }
                _ => format!("unknown index `{name}`"),
            };
            fail(
                span,
                what,
                suggestion(name, known.iter().map(|(n, _)| n.as_str())).unwrap_or_default(),
            );
        }
        // The month.
        let (when, span) = field(columns.month);
        let month = match (when.parse::<i64>(), columns.years, start_year) {
            (Ok(y), true, Some(start)) => {
                Some(y.saturating_sub(i64::from(start)).saturating_mul(12))
            }
            (Ok(m), false, _) => Some(m),
            _ => None,
        };
        let month = match month {
            Some(m) if (0..=i64::from(horizon)).contains(&m) => Some(m as u32),
            Some(_) if columns.years => {
                let (first, last) = (
                    start_year.unwrap_or(0),
                    start_year.unwrap_or(0) + (horizon / 12) as i32,
                );
                fail(span, format!("year {when} is outside the simulation"), format!("give a year from {first} to {last} (the simulation covers {horizon} months from January {first})"));
                None
            }
            Some(_) => {
                fail(
                    span,
                    format!("month {when} is outside the simulation"),
                    format!("give a month from 0 to {horizon} (0 is the start)"),
                );
                None
            }
            None => {
                let unit = if columns.years { "year" } else { "month" };
                fail(
                    span,
                    format!("`{when}` is not a whole {unit}"),
                    format!(
                        "write the {unit} as a whole number, e.g. {}",
                        if columns.years { "2015" } else { "48" }
                    ),
                );
                None
            }
        };
        // The value and its standard error.
        let (v, span) = field(columns.value);
        let value = v.parse::<f64>().ok().filter(|x| x.is_finite());
        match value {
            Some(x) if (0.0..=1.0).contains(&x) => {}
            Some(x) => fail(
                span,
                format!("the value {x} is outside [0, 1]"),
                "indices and perpetuation are shares from 0 to 1: write 35% as 0.35".into(),
            ),
            None => fail(
                span,
                format!("`{v}` is not a number"),
                "write the value as a decimal number from 0 to 1, e.g. 0.35".into(),
            ),
        }
        let sd = match columns.sd.map(field) {
            None | Some(("", _)) => None,
            Some((s, span)) => match s.parse::<f64>().ok().filter(|x| x.is_finite()) {
                Some(x) if x > 0.0 => Some(x),
                Some(_) => {
                    fail(
                        span,
                        format!("the standard error {s} is not positive"),
                        "give the observation's standard error (> 0), or leave the cell empty"
                            .into(),
                    );
                    None
                }
                None => {
                    fail(span, format!("`{s}` is not a number"), "give the observation's standard error as a decimal number (> 0), or leave the cell empty".into());
                    None
                }
            },
        };
        if !ok {
            continue;
        }
        let (Some(observable), Some(month), Some(value)) = (observable, month, value) else {
            continue;
        };
        if let Some(first) = observations
            .iter()
            .find(|o| o.territory == territory && o.name == name && o.month == month)
        {
            problems.push(
                Diagnostic::at(
                    at(l, 0, line.len()),
                    format!("`{name}` at month {month} is observed twice"),
                )
                .with_help(format!(
                    "line {} has it already: keep one observation per index and month",
                    first.line
                )),
            );
            continue;
        }
        observations.push(Observation {
            territory,
            observable,
            name: name.to_string(),
            month,
            value,
            sd,
            line: l + 1,
        });
    }
    if problems.is_empty() && observations.is_empty() {
        problems.push(
            Diagnostic::file(path, "the file has a header but no observation").with_help(
                "add one line per observation, e.g. engagement:inhabitants,48,0.12,0.02",
            ),
        );
    }
    if problems.is_empty() {
        Ok(observations)
    } else {
        Err(invalid(problems, sources))
    }
}

/// The header this model's observed data takes.
fn header_help(model: &Model) -> String {
    let time = if model.start_year().is_some() {
        "month (or year)"
    } else {
        "month"
    };
    if model.is_network {
        format!("begin with the header territory,index,{time},value,sd")
    } else {
        format!("begin with the header index,{time},value,sd")
    }
}

/// The columns of a header, or the field at fault, what is wrong and what to do.
fn columns(names: &[&str], model: &Model) -> Result<Columns, (usize, String, String)> {
    let allowed = ["territory", "index", "month", "year", "value", "sd"];
    for (k, name) in names.iter().enumerate() {
        if !allowed.contains(name) {
            let help = suggestion(name, allowed).unwrap_or_default();
            return Err((
                k,
                format!("unknown column `{name}`"),
                format!("{help}; {}", header_help(model)),
            ));
        }
        if names[..k].contains(name) {
            return Err((
                k,
                format!("the column `{name}` is given twice"),
                header_help(model),
            ));
        }
    }
    let find = |n: &str| names.iter().position(|x| *x == n);
    let missing = |what: &str| {
        (
            0,
            format!("the header has no `{what}` column"),
            header_help(model),
        )
    };
    let territory = find("territory");
    if model.is_network && territory.is_none() {
        return Err(missing("territory"));
    }
    let (month, years) = match (find("month"), find("year")) {
        (Some(_), Some(y)) => return Err((y, "give `month` or `year`, not both".into(), header_help(model))),
        (Some(m), None) => (m, false),
        (None, Some(y)) if model.start_year().is_none() => {
            return Err((y, "`year` needs the scenario's start_year, which it does not have".into(), "give months from the start (0 = the start) in a `month` column, or add start_year to the scenario".into()))
        }
        (None, Some(y)) => (y, true),
        (None, None) => return Err(missing("month")),
    };
    Ok(Columns {
        territory,
        index: find("index").ok_or_else(|| missing("index"))?,
        month,
        years,
        value: find("value").ok_or_else(|| missing("value"))?,
        sd: find("sd"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn town() -> Model {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        crate::model::Overrides::default()
            .load(&dir.join("grande-synthe.toml"))
            .unwrap()
    }

    fn errors(text: &str) -> String {
        parse(Path::new("obs.csv"), text, &town())
            .unwrap_err()
            .render(false)
    }

    #[test]
    fn a_history_is_read_with_months_from_years() {
        let m = town();
        let start = m.start_year().unwrap();
        let text = format!(
            "\u{feff}# survey 2005\nindex,year,value,sd\nengagement:inhabitants,{},0.12,0.02\r\nperpetuation,{},1,\n  # counted\nscale,{start},0.0,0.01\n",
            start + 4,
            start + 10
        );
        let obs = parse(Path::new("obs.csv"), &text, &m).unwrap();
        assert_eq!(obs.len(), 3);
        assert_eq!(
            (obs[0].month, obs[0].value, obs[0].sd),
            (48, 0.12, Some(0.02))
        );
        assert_eq!(
            (obs[1].observable, obs[1].month, obs[1].sd),
            (Observable::Perpetuation, 120, None)
        );
        assert_eq!((obs[2].month, obs[2].line), (0, 6));
        let g = m.territories[0]
            .groups
            .iter()
            .position(|g| g.id == "inhabitants")
            .unwrap();
        assert_eq!(
            obs[0].observable,
            Observable::Index(Index::GroupEngagement(g))
        );
        // A year past any integer (found by the fuzz): outside the simulation, no overflow.
        let huge = parse(
            Path::new("obs.csv"),
            "index,year,value\nscale,9223372036854775807,0.1\n",
            &m,
        )
        .unwrap_err()
        .render(false);
        assert!(huge.contains("is outside the simulation"), "{huge}");
    }

    #[test]
    fn every_problem_is_reported_where_it_is_with_what_is_allowed() {
        let e = errors("index,month,value,sd\nengagment,12,0.1,0.01\nanchored:inhabitans,500,1.5,-1\nscale,x,NaN,0\nscale,12,0.2\nscale,24,0.2,0.01\nscale,24,0.3,0.01\n");
        for expected in [
            "obs.csv:2:1: unknown index `engagment`",
            "did you mean `engagement`?",
            "obs.csv:3:1: unknown group `inhabitans` in `anchored:inhabitans`",
            "did you mean `anchored:inhabitants`?",
            "obs.csv:3:21: month 500 is outside the simulation",
            "obs.csv:3:25: the value 1.5 is outside [0, 1]",
            "obs.csv:3:29: the standard error -1 is not positive",
            "obs.csv:4:7: `x` is not a whole month",
            "obs.csv:4:9: `NaN` is not a number",
            "obs.csv:4:13: the standard error 0 is not positive",
            "obs.csv:5:1: this line has 3 fields where the header has 4",
            "obs.csv:7:1: `scale` at month 24 is observed twice",
            "line 6 has it already",
        ] {
            assert!(e.contains(expected), "missing `{expected}` in:\n{e}");
        }
        assert!(
            e.contains("10 problems found; nothing was simulated."),
            "{e}"
        );
    }

    #[test]
    fn a_network_names_its_territories() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let net = crate::model::Overrides::default()
            .load(&dir.join("villes-pairs.toml"))
            .unwrap();
        let path = Path::new("net.csv");
        let obs = parse(
            path,
            "territory,index,month,value
malaunay,scale,12,0.1
le-mene,perpetuation,24,0.9
",
            &net,
        )
        .unwrap();
        assert_eq!((obs[0].territory, obs[1].territory), (2, 1));
        let e = parse(
            path,
            "territory,index,month,value
malaunai,scale,12,0.1
",
            &net,
        )
        .unwrap_err()
        .render(false);
        assert!(
            e.contains("net.csv:2:1: unknown territory `malaunai`")
                && e.contains("did you mean `malaunay`?"),
            "{e}"
        );
        let e = parse(
            path,
            "index,month,value
scale,12,0.1
",
            &net,
        )
        .unwrap_err()
        .render(false);
        assert!(
            e.contains("no `territory` column") && e.contains("territory,index,month"),
            "{e}"
        );
        let e = errors(
            "index,year,value
scale,1990,0.1
",
        );
        assert!(
            e.contains("obs.csv:2:7: year 1990 is outside the simulation"),
            "{e}"
        );
    }

    #[test]
    fn headers_are_checked() {
        for (text, expected) in [
            ("", "the file is empty"),
            ("index,month,valeu,sd\n", "unknown column `valeu`"),
            ("index,month,value,sd\n", "has a header but no observation"),
            ("index,value,sd\nscale,0.1,0.1\n", "no `month` column"),
            ("month,value\n1,0.1\n", "no `index` column"),
            ("index,month,year,value\n", "not both"),
            ("index,month,month,value\n", "given twice"),
        ] {
            let e = errors(text);
            assert!(e.contains(expected), "`{text}`: {e}");
        }
    }
}
