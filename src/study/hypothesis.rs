//! Hypotheses (docs/model.md, Outcomes and hypotheses): an outcome, a comparison and a number
//! (`perpetuation@144 >= 0.7`), and the verdict its estimate gives — supported, rejected or
//! inconclusive, with the runs that would likely decide it.

use serde::Serialize;

use super::outcome::{default_outcomes, fail, parse_outcome, Outcome, ParseError};
use crate::diag::Error;
use crate::model::Model;
use crate::stats::Estimate;

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
    /// Whether `x` compares so with `threshold`.
    pub fn holds(self, x: f64, threshold: f64) -> bool {
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
    // Comparisons written the other way round, or as symbols, are named for what they are.
    for (wrong, right) in [("=>", ">="), ("=<", "<="), ("≥", ">="), ("≤", "<=")] {
        if let Some(at) = text.find(wrong) {
            return fail(
                at,
                format!("`{wrong}` is not a comparison here: write `{right}`"),
                Some("the comparisons are >=, >, <= and <, e.g. `perpetuation@144 >= 0.7`".into()),
            );
        }
    }
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

/// The default outcomes of a model and, after them, those of its hypotheses (each once).
pub fn outcomes_with(model: &Model, hypotheses: &[Hypothesis]) -> Vec<String> {
    let mut outcomes = default_outcomes(model);
    for h in hypotheses {
        if !outcomes.contains(&h.outcome.text) {
            outcomes.push(h.outcome.text.clone());
        }
    }
    outcomes
}

/// Parses hypotheses given as the command-line argument `argument` (`--expect`), every problem
/// reported at its character.
pub fn parse_hypotheses(
    texts: &[String],
    model: &Model,
    argument: &str,
) -> Result<Vec<Hypothesis>, Error> {
    let default = (model.territories.len() == 1).then_some(0);
    let mut hypotheses = Vec::new();
    let mut diagnostics = Vec::new();
    for text in texts {
        match parse_hypothesis(text, None, model, default) {
            Ok(h) => hypotheses.push(h),
            Err(e) => diagnostics.push(e.at(argument, text)),
        }
    }
    if diagnostics.is_empty() {
        Ok(hypotheses)
    } else {
        Err(Error::arguments(diagnostics))
    }
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

/// One hypothesis, tested.
#[derive(Debug, Clone, Serialize)]
pub struct Tested {
    /// The hypothesis.
    pub hypothesis: Hypothesis,
    /// Its outcome's estimate and 95% interval.
    pub estimate: Estimate,
    /// Supported, rejected or inconclusive.
    pub verdict: Verdict,
    /// For an inconclusive verdict: runs that would likely decide it at the current effect.
    pub runs_needed: Option<u64>,
}

impl Tested {
    /// The verdict on `hypothesis` given its outcome's estimate (inconclusive when no run has a
    /// value, e.g. no run reached the phase).
    pub fn new(hypothesis: Hypothesis, estimate: Estimate) -> Tested {
        let (verdict, runs_needed) = if estimate.n == 0 {
            (Verdict::Inconclusive, None)
        } else {
            verdict(&hypothesis, &estimate)
        };
        Tested {
            hypothesis,
            estimate,
            verdict,
            runs_needed,
        }
    }
}
