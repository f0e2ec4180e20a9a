//! # trajectoire
//!
//! Models how a territory's ecological and social transition unfolds — engagement of actor
//! groups, phases, scaling levers, shocks such as elections — and simulates it as an ensemble
//! of stochastic runs, giving the **stabilisation**, **perpetuation** and **change of scale**
//! trajectories with their uncertainty.
//!
//! The pipeline has one type per stage and data flows one way (no module imports a later
//! one):
//!
//! 1. [`scenario`] — the TOML files as written, with spans ([`scenario::load`]), and the
//!    `--set` language that edits them;
//! 2. [`model`] — validated, defaults applied, names resolved ([`model::Model`]);
//! 3. [`random`] and [`engine`] — each run's random stream, the model compiled into dense
//!    arrays and the monthly step of a block of runs ([`engine::Engine`]);
//! 4. [`ensemble`] — runs in parallel, aggregated exactly ([`ensemble::simulate`],
//!    [`ensemble::aggregate`]), saved and merged ([`ensemble::canonical`]);
//! 5. [`study`] — outcomes, hypotheses, paired comparisons, batches of points, sweeps,
//!    sensitivity analyses, calibration to an observed history;
//! 6. [`output`] — CSV tables, JSON, text, plots;
//! 7. [`serve`] — the workshop page, a thin web skin over the study layer; [`commands`] — one
//!    function per command of the program, each returning a report.
//!
//! [`stats`] (intervals, quantiles) and [`diag`] (errors, rendered in one place) are leaves
//! used by every stage. The library never prints: progress and cancellation go through
//! [`ensemble::Controls`], errors are returned as [`diag::Error`] and rendered by the caller
//! with [`diag::Error::render`]. docs/architecture.md describes the layout file by file.
//!
//! ```
//! use trajectoire::{ensemble, model::Model};
//! let text = r#"
//! [territory]
//! id = "demo"
//! population = 1000
//! horizon = 24
//! [[actor]]
//! id = "inhabitants"
//! engagement = 0.1
//! fatigue = 0.02
//! "#;
//! let dir = std::env::temp_dir().join("trajectoire-doc");
//! std::fs::create_dir_all(&dir).unwrap();
//! let model = Model::parse(&dir.join("demo.toml"), text).unwrap();
//! let controls = ensemble::Controls::silent();
//! let workspace = ensemble::Workspace::new();
//! let results = ensemble::simulate(&model, &workspace, &controls).unwrap();
//! // No noise and no shocks: engagement decays exactly as E0 (1 − δh)^(t/h).
//! let e = results.territories[0].series("engagement").unwrap().mean[24];
//! assert!((e - 0.1 * (1.0f64 - 0.02 / 4.0).powi(96)).abs() < 1e-12);
//! ```

pub mod commands;
pub mod diag;
pub mod engine;
pub mod ensemble;
pub mod model;
pub mod output;
pub mod random;
pub mod scenario;
pub mod serve;
pub mod stats;
pub mod study;

pub use model::Overrides;
