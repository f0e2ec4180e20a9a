//! Outcomes and hypotheses (MODEL.md §4): an outcome reduces a run to one number
//! (`perpetuation@144`, `engagement:elected@end`, `reached(take-off)@60`, `entry(take-off)`,
//! `spend`), the ensemble gives its estimate and a 95% interval, and a hypothesis compares it
//! with a number (`perpetuation@144 >= 0.7`) for a verdict.

use serde::Serialize;

use crate::diag::suggestion;
use crate::ensemble::Z95;
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
    /// The estimator MODEL.md §4 gives this outcome.
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

fn fail<T>(
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

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    /// `>=`
    #[serde(rename = ">=")]
    AtLeast,
    /// `>`
    #[serde(rename = ">")]
    Above,
    /// `<=`
    #[serde(rename = "<=")]
    AtMost,
    /// `<`
    #[serde(rename = "<")]
    Below,
}

impl Op {
    fn holds(self, x: f64, threshold: f64) -> bool {
        match self {
            Op::AtLeast => x >= threshold,
            Op::Above => x > threshold,
            Op::AtMost => x <= threshold,
            Op::Below => x < threshold,
        }
    }

    /// As written.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::AtLeast => ">=",
            Op::Above => ">",
            Op::AtMost => "<=",
            Op::Below => "<",
        }
    }
}

/// A hypothesis: an outcome, a comparison and a number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hypothesis {
    /// A name for people.
    pub name: String,
    /// The outcome.
    pub outcome: Outcome,
    /// The comparison.
    pub op: Op,
    /// The number.
    pub threshold: f64,
}

impl Hypothesis {
    /// As text, normalised.
    pub fn text(&self) -> String {
        format!(
            "{} {} {}",
            self.outcome.text,
            self.op.symbol(),
            self.threshold
        )
    }
}

/// Parses `OUTCOME OP NUMBER` (see [`parse_outcome`] for `default`).
pub fn parse_hypothesis(
    text: &str,
    name: Option<&str>,
    model: &Model,
    default: Option<usize>,
) -> Result<Hypothesis, ParseError> {
    let ops = [
        (">=", Op::AtLeast),
        ("<=", Op::AtMost),
        (">", Op::Above),
        ("<", Op::Below),
    ];
    let Some((at, symbol, op)) = ops
        .iter()
        .filter_map(|(s, op)| text.find(s).map(|i| (i, *s, *op)))
        .min_by_key(|(i, s, _)| (*i, std::cmp::Reverse(s.len())))
    else {
        return fail(
            text.len(),
            "a hypothesis needs a comparison: >=, >, <= or <",
            Some("e.g. `perpetuation@144 >= 0.7`".into()),
        );
    };
    let outcome = parse_outcome(&text[..at], model, default)?;
    let number_text = &text[at + symbol.len()..];
    let number_at = at + symbol.len() + (number_text.len() - number_text.trim_start().len());
    let threshold = match number_text.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => x,
        _ => {
            return fail(
                number_at,
                format!("`{}` is not a number", number_text.trim()),
                Some("write a number after the comparison, e.g. 0.7".into()),
            )
        }
    };
    Ok(Hypothesis {
        name: name.map_or_else(|| text.trim().to_string(), str::to_string),
        outcome,
        op,
        threshold,
    })
}

/// An outcome's estimate with its 95% interval over `n` runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Point estimate.
    pub estimate: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Runs it rests on (for `entry`, the runs that reached the phase).
    pub n: u64,
}

/// A hypothesis's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The whole interval satisfies it.
    Supported,
    /// None of the interval does.
    Rejected,
    /// The interval straddles the threshold.
    Inconclusive,
}

impl Verdict {
    /// As a word.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Supported => "supported",
            Verdict::Rejected => "rejected",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// The verdict on `h` given `e`, and for an inconclusive one the runs that would likely decide
/// it at the current effect (the interval's half-width shrinks as 1/√n).
pub fn verdict(h: &Hypothesis, e: &Estimate) -> (Verdict, Option<u64>) {
    let (lo, hi) = (
        h.op.holds(e.low, h.threshold),
        h.op.holds(e.high, h.threshold),
    );
    if lo && hi {
        return (Verdict::Supported, None);
    }
    let strict_none = match h.op {
        Op::AtLeast | Op::Above => !h.op.holds(e.high, h.threshold),
        Op::AtMost | Op::Below => !h.op.holds(e.low, h.threshold),
    };
    if strict_none {
        return (Verdict::Rejected, None);
    }
    let effect = (e.estimate - h.threshold).abs();
    let half = (e.high - e.low) / 2.0;
    let needed = (effect > 0.0 && half > 0.0 && e.n > 0).then(|| {
        let n = e.n as f64 * (half / effect).powi(2) * 1.1;
        n.ceil().min(1e12) as u64
    });
    (Verdict::Inconclusive, needed)
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom: exact table values for
/// df ≤ 4, else the Cornish–Fisher expansion to fourth order (error under 3 × 10⁻⁴ at df = 5,
/// under 10⁻⁵ from df = 10).
pub fn t_quantile(df: f64) -> f64 {
    const SMALL: [f64; 4] = [12.706_204_736, 4.302_652_730, 3.182_446_305, 2.776_445_105];
    if df < 1.0 {
        return f64::INFINITY;
    }
    if df < 5.0 {
        return SMALL[(df as usize).clamp(1, 4) - 1];
    }
    let z = Z95;
    let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
    z + (z3 + z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df.powi(2))
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92160.0 * df.powi(4))
}

/// Mean and t-interval from n, Σx and Σx².
pub fn mean_interval(n: u64, sum: f64, sum_sq: f64) -> Estimate {
    if n == 0 {
        return Estimate {
            estimate: 0.0,
            low: 0.0,
            high: 0.0,
            n,
        };
    }
    let nf = n as f64;
    let mean = sum / nf;
    if n == 1 {
        return Estimate {
            estimate: mean,
            low: mean,
            high: mean,
            n,
        };
    }
    let var = ((sum_sq - nf * mean * mean) / (nf - 1.0)).max(0.0);
    let half = t_quantile(nf - 1.0) * (var / nf).sqrt();
    Estimate {
        estimate: mean,
        low: mean - half,
        high: mean + half,
        n,
    }
}

/// Median of integer values given by their counts, with a distribution-free 95% interval from
/// order statistics (ranks n/2 ± 1.96 √n / 2).
pub fn median_interval(counts: &[u64]) -> Option<Estimate> {
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return None;
    }
    let nth = |rank: u64| crate::ensemble::order_statistic(counts, rank);
    let nf = n as f64;
    let half = Z95 * nf.sqrt() / 2.0;
    let lo_rank = ((nf / 2.0 - half).floor().max(1.0) as u64) - 1;
    let hi_rank = ((nf / 2.0 + half).ceil() as u64).clamp(1, n) - 1;
    Some(Estimate {
        estimate: crate::ensemble::integer_quantile(counts, 0.5).unwrap_or(0.0),
        low: nth(lo_rank),
        high: nth(hi_rank),
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantile_matches_tables() {
        // Student's t 97.5% quantiles from standard tables.
        for (df, t) in [
            (5.0, 2.570_582),
            (10.0, 2.228_139),
            (30.0, 2.042_272),
            (100.0, 1.983_972),
        ] {
            assert!(
                (t_quantile(df) - t).abs() < 2e-3,
                "df {df}: {}",
                t_quantile(df)
            );
        }
        assert!((t_quantile(1e9) - Z95).abs() < 1e-6);
    }

    #[test]
    fn mean_interval_is_hand_computable() {
        // Values 1, 2, 3: mean 2, sd 1, half-width t(2) / √3.
        let e = mean_interval(3, 6.0, 14.0);
        assert_eq!(e.estimate, 2.0);
        assert!((e.high - 2.0 - 4.302_652_730 / 3f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn median_interval_brackets_the_median() {
        // Values 0..=99 once each.
        let counts = vec![1u64; 100];
        let e = median_interval(&counts).unwrap();
        assert_eq!(e.estimate, 49.5);
        assert!(
            e.low <= 49.5 && e.high >= 49.5 && e.high - e.low <= 22.0,
            "{e:?}"
        );
    }
}
