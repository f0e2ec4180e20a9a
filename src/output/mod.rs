//! Stage 6 — outputs: one module per format, each a function from results to bytes, text or
//! pictures: [`tables`] (tidy CSV), [`json`] (`summary.json`), [`compare`] (a comparison's
//! CSV and JSON), [`text`] (what the command line prints), [`explain`] (a scenario in plain
//! words), [`report`] (one self-contained HTML page), [`plot`] (PNG and SVG, drawn in memory). [`folder`] writes a set of files
//! atomically; [`write_all`] writes a run's whole set into a folder.

pub mod calibration;
pub mod compare;
pub mod discover;
pub mod explain;
pub mod explore;
pub mod folder;
pub mod json;
pub mod optimize;
pub mod plot;
pub mod report;
pub mod shard;
pub mod tables;
pub mod text;
pub mod toml;
pub mod transfer;
pub mod units;

use std::path::{Path, PathBuf};

use crate::diag::Error;
use crate::ensemble::Results;
use crate::model::Model;
use crate::study::hypothesis::Hypothesis;

/// File names of the tables, in the order they are written.
pub const TABLE_FILES: [&str; 4] = [
    "trajectories.csv",
    "perpetuation.csv",
    "phases.csv",
    "phase-entries.csv",
];

/// Base names of the plots; each is written as `.png` and `.svg`.
pub const PLOT_NAMES: [&str; 6] = [
    "stabilisation",
    "perpetuation",
    "scale",
    "engagement-by-group",
    "phases",
    "dashboard",
];

/// Writes every output file into `dir` (which must exist) and returns their paths. The tables
/// and the summary are formatted side by side (rayon), then written in a fixed order.
pub fn write_all(
    dir: &Path,
    model: &Model,
    hypotheses: &[Hypothesis],
    results: &Results,
    plots: bool,
    shards: Option<&serde_json::Value>,
) -> Result<Vec<PathBuf>, Error> {
    let (tables, summary) = rayon::join(
        || {
            [
                tables::trajectories(results),
                tables::perpetuation(results),
                tables::phases(results),
                tables::phase_entries(results),
            ]
        },
        || json::summary_of(model, hypotheses, results, shards),
    );
    let files = TABLE_FILES
        .into_iter()
        .zip(tables)
        .chain([("summary.json", summary)]);
    let mut written = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        written.push(path);
    }
    if plots {
        written.extend(plot::write_all(dir, model, results)?);
    }
    Ok(written)
}
