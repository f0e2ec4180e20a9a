//! `summary.json`: every result, the resolved scenario and how it was run.

use serde::Serialize;

use crate::ensemble::Results;
use crate::model::{Link, Model, Settings, Territory};
use crate::study::hypothesis::Hypothesis;

/// The resolved scenario as `summary.json` records it: the model's fields with the files'
/// hypotheses in their place.
#[derive(Serialize)]
struct Resolved<'a> {
    id: &'a str,
    name: &'a str,
    is_network: bool,
    territories: &'a [Territory],
    links: &'a [Link],
    settings: &'a Settings,
    hypotheses: &'a [Hypothesis],
    overrides: &'a [String],
}

#[derive(Serialize)]
struct Summary<'a> {
    trajectoire_version: &'static str,
    scenario: &'a str,
    name: &'a str,
    settings: &'a Settings,
    runs: u64,
    seed: u64,
    substeps: u32,
    horizon: u32,
    start_year: Option<i32>,
    overrides: &'a [String],
    results: &'a Results,
    model: Resolved<'a>,
    /// The shards merged into these results (absent when simulated on one machine).
    #[serde(skip_serializing_if = "Option::is_none")]
    shards: Option<&'a serde_json::Value>,
}

/// The summary as pretty-printed JSON bytes.
pub fn summary(model: &Model, hypotheses: &[Hypothesis], results: &Results) -> Vec<u8> {
    summary_of(model, hypotheses, results, None)
}

/// [`summary`], with the record of the shards merged into the results when there were some.
pub fn summary_of(
    model: &Model,
    hypotheses: &[Hypothesis],
    results: &Results,
    shards: Option<&serde_json::Value>,
) -> Vec<u8> {
    let s = Summary {
        trajectoire_version: env!("CARGO_PKG_VERSION"),
        scenario: &model.id,
        name: &model.name,
        settings: &model.settings,
        runs: results.runs,
        seed: model.settings.seed,
        substeps: model.settings.substeps,
        horizon: results.horizon,
        start_year: model.start_year(),
        overrides: &model.overrides,
        results,
        model: Resolved {
            id: &model.id,
            name: &model.name,
            is_network: model.is_network,
            territories: &model.territories,
            links: &model.links,
            settings: &model.settings,
            hypotheses,
            overrides: &model.overrides,
        },
        shards,
    };
    pretty(&s)
}

/// Any serialisable value as pretty-printed JSON bytes, ending with a newline.
pub fn pretty(value: &impl Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}
