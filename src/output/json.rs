//! `summary.json`: every result, the resolved scenario and how it was run.

use serde::Serialize;

use crate::ensemble::Results;
use crate::model::{Model, Settings};

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
    model: &'a Model,
}

/// The summary as pretty-printed JSON bytes.
pub fn summary(model: &Model, results: &Results) -> Vec<u8> {
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
        model,
    };
    let mut bytes = serde_json::to_vec_pretty(&s).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}
