//! Outcomes (docs/model.md, Outcomes and hypotheses): an outcome reduces a run to one number (`perpetuation@144`,
//! `engagement:elected@end`, `reached(take-off)@60`, `entry(take-off)`, `spend`); the ensemble
//! gives its estimate and a 95% interval (see `collect`). This module is the language: an
//! outcome written as text, resolved against a model's names.

use serde::Serialize;

use crate::diag::{suggestion, Diagnostic, Error, Location};
use crate::model::Model;

/// What an outcome measures in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "measure", content = "index")]
pub enum Measure {
    /// 1 if alive at T.
    Perpetuation,
    /// Engagement index at T.
    Engagement,
    /// Stabilisation index at T.
    Stabilisation,
    /// Scale (reach) at T.
    Scale,
    /// E of a group (global index) at T.
    GroupEngagement(usize),
    /// A of a group (global index) at T.
    GroupAnchored(usize),
    /// 1 if the phase (index in its territory) was entered by T.
    Reached(usize),
    /// Entry month of the phase, among runs that reach it.
    Entry(usize),
    /// Total spend over the horizon.
    Spend,
}

/// How an outcome's estimate and interval are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Estimator {
    /// Share of runs, Wilson interval.
    Share,
    /// Mean over runs, t-interval.
    Mean,
    /// Median over the runs that have a value, order-statistic interval.
    Median,
}

/// A parsed outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// As written (normalised: `@end` replaced by the month).
    pub text: String,
    /// Territory index.
    pub territory: usize,
    /// What is measured.
    pub measure: Measure,
    /// Month T (the horizon for `entry` and `spend`).
    pub month: u32,
}

impl Outcome {
    /// The estimator the model gives this outcome (docs/model.md).
    pub fn estimator(&self) -> Estimator {
        match self.measure {
            Measure::Perpetuation | Measure::Reached(_) => Estimator::Share,
            Measure::Entry(_) => Estimator::Median,
            _ => Estimator::Mean,
        }
    }
}

/// A problem in an outcome or hypothesis expression, at a character offset.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// Byte offset in the expression.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: Option<String>,
}

pub(super) fn fail<T>(
    offset: usize,
    message: impl Into<String>,
    help: Option<String>,
) -> Result<T, ParseError> {
    Err(ParseError {
        offset,
        message: message.into(),
        help,
    })
}

const NAMES: [&str; 8] = [
    "perpetuation",
    "engagement",
    "stabilisation",
    "scale",
    "anchored",
    "reached",
    "entry",
    "spend",
];

/// Parses an outcome such as `malaunay:perpetuation@144` against a model. Without a territory
/// prefix the outcome is about `default` (required in a network when `default` is `None`).
pub fn parse_outcome(
    text: &str,
    model: &Model,
    default: Option<usize>,
) -> Result<Outcome, ParseError> {
    let trimmed_start = text.len() - text.trim_start().len();
    let body = text.trim();
    let mut rest = body;
    let mut offset = trimmed_start;
    // Territory prefix.
    let ids: Vec<&str> = model.territories.iter().map(|t| t.id.as_str()).collect();
    let mut territory = default.unwrap_or(0);
    if let Some((head, tail)) = rest.split_once(':') {
        let head_is_name =
            NAMES.contains(&head) || head.starts_with("reached(") || head.starts_with("entry(");
        if !head_is_name {
            match ids.iter().position(|id| *id == head) {
                Some(t) => territory = t,
                None => {
                    return fail(
                        offset,
                        format!("unknown territory `{head}`"),
                        suggestion(head, ids.iter().copied()),
                    )
                }
            }
            rest = tail;
            offset += head.len() + 1;
        }
    }
    if model.territories.len() > 1 && offset == trimmed_start && default.is_none() {
        return fail(
            offset,
            "in a network, an outcome starts with the territory id",
            Some(format!("e.g. `{}:{rest}`", ids[0])),
        );
    }
    let t = &model.territories[territory];
    // Month.
    let (name_part, month) = match rest.split_once('@') {
        Some((name, when)) => {
            let at = offset + name.len() + 1;
            let month = if when == "end" {
                t.horizon
            } else {
                match when.parse::<u32>() {
                    Ok(m) if m <= t.horizon => m,
                    Ok(m) => {
                        return fail(
                            at,
                            format!("month {m} is after the horizon ({})", t.horizon),
                            Some(format!("use a month from 0 to {}, or @end", t.horizon)),
                        )
                    }
                    Err(_) => {
                        return fail(
                            at,
                            format!("`{when}` is not a month"),
                            Some("write @ and a whole number of months, e.g. @144, or @end".into()),
                        )
                    }
                }
            };
            (name, Some(month))
        }
        None => (rest, None),
    };
    let phase_arg = |inner: &str, at: usize| -> Result<usize, ParseError> {
        let ids: Vec<&str> = t.phases.iter().map(|p| p.id.as_str()).collect();
        ids.iter().position(|p| *p == inner).map_or_else(
            || {
                fail(
                    at,
                    format!("unknown phase `{inner}`"),
                    suggestion(inner, ids.iter().copied()),
                )
            },
            Ok,
        )
    };
    let group_arg = |inner: &str, at: usize| -> Result<usize, ParseError> {
        let ids: Vec<&str> = t.groups.iter().map(|g| g.id.as_str()).collect();
        let start: usize = model.territories[..territory]
            .iter()
            .map(|x| x.groups.len())
            .sum();
        ids.iter().position(|g| *g == inner).map_or_else(
            || {
                fail(
                    at,
                    format!("unknown actor group `{inner}`"),
                    suggestion(inner, ids.iter().copied()),
                )
            },
            |g| Ok(start + g),
        )
    };
    let measure = if let Some(inner) = name_part
        .strip_prefix("reached(")
        .and_then(|x| x.strip_suffix(')'))
    {
        Measure::Reached(phase_arg(inner, offset + 8)?)
    } else if let Some(inner) = name_part
        .strip_prefix("entry(")
        .and_then(|x| x.strip_suffix(')'))
    {
        Measure::Entry(phase_arg(inner, offset + 6)?)
    } else if let Some(group) = name_part.strip_prefix("engagement:") {
        Measure::GroupEngagement(group_arg(group, offset + 11)?)
    } else if let Some(group) = name_part.strip_prefix("anchored:") {
        Measure::GroupAnchored(group_arg(group, offset + 9)?)
    } else {
        match name_part {
            "perpetuation" => Measure::Perpetuation,
            "engagement" => Measure::Engagement,
            "stabilisation" => Measure::Stabilisation,
            "scale" => Measure::Scale,
            "spend" => Measure::Spend,
            other => {
                let word = other.split(['(', ':']).next().unwrap_or(other);
                return fail(
                    offset,
                    format!("unknown outcome `{other}`"),
                    suggestion(word, NAMES).map(|s| {
                        format!("{s} Outcomes: perpetuation@T, engagement@T, stabilisation@T, scale@T, engagement:GROUP@T, anchored:GROUP@T, reached(PHASE)@T, entry(PHASE), spend")
                    }),
                );
            }
        }
    };
    let month = match (measure, month) {
        (Measure::Entry(_) | Measure::Spend, None) => t.horizon,
        (Measure::Entry(_) | Measure::Spend, Some(_)) => {
            return fail(
                offset + name_part.len(),
                format!("`{name_part}` takes no month: it covers the whole run"),
                Some(format!("write `{name_part}` without @")),
            )
        }
        (_, Some(m)) => m,
        (_, None) => {
            return fail(
                offset + name_part.len(),
                format!("`{name_part}` needs a month"),
                Some(format!(
                    "write e.g. `{name_part}@{}` or `{name_part}@end`",
                    t.horizon
                )),
            )
        }
    };
    let prefix = if model.territories.len() > 1 {
        format!("{}:", t.id)
    } else {
        String::new()
    };
    let text = match measure {
        Measure::Entry(_) | Measure::Spend => format!("{prefix}{name_part}"),
        _ => format!("{prefix}{name_part}@{month}"),
    };
    Ok(Outcome {
        text,
        territory,
        measure,
        month,
    })
}

/// Whether an outcome's values are shares or indices in [0, 1] (everything but spend, in euros,
/// and entry months), from its text.
pub fn is_share(text: &str) -> bool {
    !(text.contains("spend") || text.contains("entry("))
}

/// The default outcomes of a model (docs/model.md): perpetuation, engagement, stabilisation and
/// scale at the horizon, reached() of each phase at the horizon, spend — per territory.
pub fn default_outcomes(model: &Model) -> Vec<String> {
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

impl ParseError {
    /// This problem as a diagnostic of the command-line argument `argument` (`--outcome`)
    /// whose text is `text`.
    pub fn at(self, argument: &str, text: &str) -> Diagnostic {
        Diagnostic {
            location: Location::Expression {
                argument: argument.into(),
                text: text.to_string(),
                offset: self.offset,
            },
            message: self.message,
            help: self.help,
        }
    }
}

/// Parses outcome texts against a model, every problem reported against the `--outcome`
/// argument (with `context` added to its message, if any).
pub fn parse_outcomes(
    texts: &[String],
    model: &Model,
    context: Option<&str>,
) -> Result<Vec<Outcome>, Vec<Diagnostic>> {
    let default = (model.territories.len() == 1).then_some(0);
    let mut list = Vec::new();
    let mut diagnostics = Vec::new();
    for text in texts {
        match parse_outcome(text, model, default) {
            Ok(o) => list.push(o),
            Err(mut e) => {
                if let Some(c) = context {
                    e.message = format!("{} (in `{c}`)", e.message);
                }
                diagnostics.push(e.at("--outcome", text));
            }
        }
    }
    if diagnostics.is_empty() {
        Ok(list)
    } else {
        Err(diagnostics)
    }
}

/// The outcomes of `--outcome` arguments (default: [`default_outcomes`] of `base`), families
/// expanded: the texts and the families.
pub fn expand_outcomes(
    texts: &[String],
    base: &Model,
) -> Result<(Vec<String>, Vec<Family>), Error> {
    let texts = if texts.is_empty() {
        default_outcomes(base)
    } else {
        texts.to_vec()
    };
    expand_families(&texts, base.horizon())
        .map_err(|(k, e)| Error::arguments(vec![e.at("--outcome", &texts[k])]))
}

/// An outcome family `INDEX@A..B:STEP` (`engagement@0..180:60`): one outcome per month
/// A, A + STEP, … up to B (`end` for the horizon), for indices over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Family {
    /// As written.
    pub text: String,
    /// The outcome without its month (`engagement`, `malaunay:perpetuation`).
    pub name: String,
    /// Its months.
    pub months: Vec<u32>,
    /// Where each month's outcome is in the expanded list.
    pub outcomes: Vec<usize>,
}

impl Family {
    /// Whether outcome `o` of the expanded list is one of this family's months.
    pub fn contains(&self, o: usize) -> bool {
        self.outcomes.contains(&o)
    }
}

/// Expands the families among `texts` into one outcome text per month, keeping the others as
/// they are and each outcome once (a family's month already in the list is that outcome);
/// returns the expanded texts and the families. A malformed family is an error at its
/// character, with what to write instead.
pub fn expand_families(
    texts: &[String],
    horizon: u32,
) -> Result<(Vec<String>, Vec<Family>), (usize, ParseError)> {
    let mut out = Vec::new();
    let mut families = Vec::new();
    for (k, text) in texts.iter().enumerate() {
        let place = |out: &mut Vec<String>, text: String| match out.iter().position(|t| *t == text)
        {
            Some(i) => i,
            None => {
                out.push(text);
                out.len() - 1
            }
        };
        let Some((name, months)) = text.split_once('@') else {
            place(&mut out, text.clone());
            continue;
        };
        let Some((range, step)) = months.split_once(':').filter(|_| months.contains("..")) else {
            place(&mut out, text.clone());
            continue;
        };
        let at = name.len() + 1;
        let help = || {
            Some(format!(
                "write {name}@A..B:STEP with months A ≤ B ≤ {horizon} (or B = end) and a step of at least 1, e.g. {name}@0..{horizon}:12"
            ))
        };
        let month = |s: &str| -> Option<u32> {
            if s.trim() == "end" {
                Some(horizon)
            } else {
                s.trim().parse().ok().filter(|m| *m <= horizon)
            }
        };
        let (a, b) = range.split_once("..").unwrap_or((range, ""));
        let (Some(a), Some(b)) = (month(a), month(b)) else {
            return Err((
                k,
                ParseError {
                    offset: at,
                    message: format!("`{range}` is not a range of months within 0..{horizon}"),
                    help: help(),
                },
            ));
        };
        let step = match step.trim().parse::<u32>() {
            Ok(s) if s >= 1 && a <= b => s,
            _ => {
                return Err((
                    k,
                    ParseError {
                        offset: at + range.len() + 1,
                        message: format!("`{range}:{step}` is not a range and a step of months"),
                        help: help(),
                    },
                ))
            }
        };
        let months: Vec<u32> = (a..=b).step_by(step as usize).collect();
        let outcomes = months
            .iter()
            .map(|m| place(&mut out, format!("{name}@{m}")))
            .collect();
        families.push(Family {
            text: text.clone(),
            name: name.to_string(),
            months,
            outcomes,
        });
    }
    Ok((out, families))
}

#[cfg(test)]
mod family_tests {
    use super::*;

    #[test]
    fn families_expand_to_one_outcome_a_month() {
        let texts = vec![
            "engagement@0..180:60".to_string(),
            "spend".to_string(),
            "malaunay:scale@300..end:6".to_string(),
        ];
        let (out, families) = expand_families(&texts, 312).unwrap();
        assert_eq!(
            out,
            [
                "engagement@0",
                "engagement@60",
                "engagement@120",
                "engagement@180",
                "spend",
                "malaunay:scale@300",
                "malaunay:scale@306",
                "malaunay:scale@312"
            ]
        );
        assert_eq!(families[1].outcomes, vec![5, 6, 7]);
        assert_eq!(families[0].months, vec![0, 60, 120, 180]);
        // A family's month already asked for is that outcome, not a second one.
        let (out, families) =
            expand_families(&["scale@312".into(), "scale@0..312:156".into()], 312).unwrap();
        assert_eq!(out, ["scale@312", "scale@0", "scale@156"]);
        assert_eq!(families[0].outcomes, vec![1, 2, 0]);
        let (k, e) = expand_families(&["engagement@0..400:10".into()], 312).unwrap_err();
        assert_eq!((k, e.offset), (0, 11));
        let (_, e) = expand_families(&["engagement@20..10:5".into()], 312).unwrap_err();
        assert!(e.message.contains("step"), "{}", e.message);
    }
}
