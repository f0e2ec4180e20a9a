//! What a peer group proposes in a workshop session, as it is kept and shown: its choices, its
//! reasons, its prediction and what the simulation gave (each main outcome with its 95%
//! interval, its paired difference with the file as written, the hypotheses' verdicts). The
//! server keeps them (`serve::session`), the facilitator's page and the report show them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Model;

/// The fingerprint a session keeps of its scenario: the model as resolved, whatever runs a
/// request or a command asks (a session outlives `--runs`).
pub fn fingerprint(model: &Model) -> String {
    let mut model = model.clone();
    model.settings.runs = 0;
    model.fingerprint()
}

/// One estimate with its 95% interval, as stored and answered.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Point estimate.
    pub estimate: Option<f64>,
    /// Lower end of the 95% interval.
    pub low: Option<f64>,
    /// Upper end.
    pub high: Option<f64>,
}

impl Interval {
    /// From an estimate (non-finite values become `None`: JSON has no NaN).
    pub fn of(e: &crate::stats::Estimate) -> Interval {
        let f = |x: f64| x.is_finite().then_some(x);
        Interval {
            estimate: f(e.estimate),
            low: f(e.low),
            high: f(e.high),
        }
    }
}

/// A hypothesis's verdict on a proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The hypothesis's name.
    pub name: String,
    /// Its words.
    pub text: String,
    /// Its verdict with the proposal's choices.
    pub verdict: String,
    /// Its estimate.
    pub estimate: Interval,
}

/// What the simulation gave for a proposal.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Simulated {
    /// Each main outcome with the proposal's choices.
    pub results: BTreeMap<String, Interval>,
    /// Each main outcome's paired difference with the file as written.
    pub differences: BTreeMap<String, Interval>,
    /// The hypotheses' verdicts.
    pub verdicts: Vec<Verdict>,
    /// Futures simulated, and their seed.
    pub runs: u64,
    /// The seed.
    pub seed: u64,
}

/// A group's proposal, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// Its number in the session (1, 2, …).
    pub id: i64,
    /// The group that made it.
    pub group: String,
    /// The round it was made in.
    pub round: u32,
    /// Its choices: path → value.
    pub set: BTreeMap<String, f64>,
    /// The group's reasons, as written.
    pub note: String,
    /// The group's prediction of outcomes, made before seeing the result.
    pub prediction: BTreeMap<String, f64>,
    /// What the simulation gave.
    #[serde(flatten)]
    pub simulated: Simulated,
    /// When it was saved, seconds since 1970 (UTC).
    pub saved: i64,
}

/// A round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Round {
    /// 1, 2, …
    pub number: u32,
    /// When it was opened, seconds since 1970.
    pub opened: i64,
    /// Whether the facilitator showed every group the others' proposals of this round.
    pub revealed: bool,
}
