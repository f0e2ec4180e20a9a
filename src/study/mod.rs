//! Stage 5 — the study layer: questions asked of ensembles. An [`outcome`] reduces a run to a
//! number and [`collect`] gathers its estimate while the runs go (an ensemble
//! [`Aggregate`](crate::ensemble::Aggregate)); a [`hypothesis`] compares an outcome with a
//! number for a verdict; [`compare`] pairs scenarios run by run on the same draws; [`batch`]
//! evaluates many variants of one scenario (the points of a sweep) with common random numbers.
//! On it: [`design`] places points (grids, Latin hypercubes, scrambled Sobol' sequences),
//! [`explore`] checks and evaluates them, [`sweep`] and [`sensitivity`] (Sobol' indices,
//! Morris's elementary effects) are what the `sweep` and `sensitivity` commands compute.
//! [`observed`] reads a territory's history and [`calibration`] fits the scenario to it (a
//! synthetic likelihood sampled by tempering SMC), for the `calibrate` command.
//!
//! [`proposal`] is what a peer group proposes in a workshop session.
//!
//! [`Study`] is what a command studies: a validated model and the hypotheses its files state.

pub mod batch;
pub mod calibration;
pub mod collect;
pub mod compare;
pub mod design;
pub mod discover;
pub mod explore;
pub mod hypothesis;
pub mod observed;
pub mod optimize;
pub mod outcome;
pub mod prim;
pub mod proposal;
pub mod sensitivity;
pub mod shard;
pub mod sweep;
pub mod transfer;
pub mod workshop;

use std::path::Path;

use crate::diag::{Diagnostic, Error, Span};
use crate::model::{Model, Overrides};
use crate::scenario::{self, HypothesisDoc, Loaded, Scenario};
use hypothesis::{parse_hypothesis, Hypothesis};

/// A validated model and the hypotheses its files state (`[[hypothesis]]` tables).
#[derive(Debug, Clone)]
pub struct Study {
    /// The model, with the command line's overrides applied.
    pub model: Model,
    /// The files' hypotheses, in file order (a network's own first, then each territory's).
    pub hypotheses: Vec<Hypothesis>,
}

impl Study {
    /// Loads a scenario file with the command line's overrides, and parses its hypotheses.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Study, Error> {
        Study::of(&scenario::load(path)?, overrides)
    }

    /// The study of an already loaded scenario with these overrides.
    pub fn of(loaded: &Loaded, overrides: &Overrides) -> Result<Study, Error> {
        let model = overrides.model(loaded)?;
        let hypotheses = hypotheses(loaded, &model)?;
        Ok(Study { model, hypotheses })
    }
}

/// The hypotheses written in a loaded scenario, parsed against its model; every problem is
/// reported at its place in the file.
pub fn hypotheses(loaded: &Loaded, model: &Model) -> Result<Vec<Hypothesis>, Error> {
    let docs: Vec<(&HypothesisDoc, Option<usize>)> = match &loaded.scenario {
        Scenario::Territory(t) => t.hypotheses.iter().map(|h| (h, Some(0))).collect(),
        Scenario::Network(n) => n
            .hypotheses
            .iter()
            .map(|h| (h, None))
            .chain(
                n.territories
                    .iter()
                    .enumerate()
                    .flat_map(|(i, t)| t.hypotheses.iter().map(move |h| (h, Some(i)))),
            )
            .collect(),
        Scenario::Library(_) => Vec::new(),
    };
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for (doc, default) in docs {
        let Some(expect) = &doc.expect else {
            diags.push(
                Diagnostic::at(doc.span, "this [[hypothesis]] has no `expect`")
                    .with_help("add e.g. `expect = \"perpetuation@144 >= 0.7\"`"),
            );
            continue;
        };
        let name = doc.name.as_ref().map(|n| n.value.as_str());
        match parse_hypothesis(&expect.value, name, model, default) {
            Ok(h) => out.push(h),
            Err(e) => {
                // The text starts after the opening quote.
                let at = expect.span.start + 1 + e.offset;
                let span = Span {
                    file: expect.span.file,
                    start: at,
                    end: at + 1,
                };
                diags.push(Diagnostic::at(span, e.message).with_optional_help(e.help));
            }
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(scenario::invalid(diags, loaded.sources.clone()))
    }
}
