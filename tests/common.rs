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

/// An HTTP/1.1 exchange with `Connection: close` with the server at `address`: the status and
/// the body.
pub fn http(
    address: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    // The server may answer (413) and close before the whole body is sent.
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(body));
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        unchunked(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}

fn unchunked(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
