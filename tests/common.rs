//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};

use trajectoire::engine::{Engine, Snapshot};
use trajectoire::ensemble::{self, Controls, Results};
use trajectoire::model::Model;

/// Says that a test was skipped, and why, where `cargo test` shows it (straight to the
/// process's standard error: the test harness keeps what `eprintln!` says of a passing test).
pub fn skipped(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// The Python the cross-checks run: `TRAJECTOIRE_PYTHON` (the virtual environment `.ci/python`
/// makes), else `python3`.
pub fn python() -> String {
    std::env::var("TRAJECTOIRE_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// The Python of the cross-checks if it can import `modules` (e.g. "SALib, numpy"); else
/// `None`, having said the check `what` is skipped — or a failure when
/// `TRAJECTOIRE_PYTHON_CHECKS` is set (CI sets it: there every cross-check must run).
pub fn python_with(modules: &str, what: &str) -> Option<String> {
    let python = python();
    let found = std::process::Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(python);
    }
    assert!(
        std::env::var_os("TRAJECTOIRE_PYTHON_CHECKS").is_none(),
        "TRAJECTOIRE_PYTHON_CHECKS is set but {python} cannot import {modules} (for {what})"
    );
    skipped(
        what,
        &format!("{python} cannot import {modules} (.ci/python makes a Python that can; set TRAJECTOIRE_PYTHON to it)"),
    );
    None
}

/// Folder with the shipped scenarios.
pub fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// A model from TOML text (as if it were `test.toml` in the scenarios folder).
pub fn model(text: &str) -> Model {
    match Model::parse(&scenarios().join("test.toml"), text) {
        Ok(m) => m,
        Err(e) => panic!("invalid test scenario:\n{}", e.render(false)),
    }
}

/// Steps run `run` and returns, per month, a copy of its state.
pub fn trajectory(model: &Model, run: u64) -> Vec<Snapshot> {
    Engine::new(model).trajectory(model.settings.seed, run)
}

/// Simulates an ensemble on a pool of `threads` threads.
pub fn simulate(model: &Model, threads: usize) -> Results {
    simulate_in(model, threads, &ensemble::Workspace::new())
}

/// Simulates an ensemble on a pool of `threads` threads, with a workspace kept by the caller.
pub fn simulate_in(model: &Model, threads: usize, workspace: &ensemble::Workspace) -> Results {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let controls = Controls::silent();
    pool.install(|| ensemble::simulate(model, workspace, &controls))
        .unwrap()
}

/// A one-group territory with the given actor keys and extra tables.
pub fn one_group(actor: &str, extra: &str, horizon: u32, substeps: u32) -> String {
    format!(
        r#"
[territory]
id = "t"
population = 1000
horizon = {horizon}
[simulation]
runs = 1
substeps = {substeps}
[[actor]]
id = "g"
{actor}
{extra}
"#
    )
}
