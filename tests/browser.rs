//! The workshop page and a report in a real headless Chromium (Debian's, driven by
//! playwright-core from npm: `tests/browser/`). Run when `TRAJECTOIRE_BROWSER=1`, as `.ci/run`
//! sets after installing both; skipped with a note otherwise, since a machine without Chromium
//! cannot run them.

use std::path::Path;
use std::process::Command;

fn wanted() -> bool {
    if std::env::var("TRAJECTOIRE_BROWSER").as_deref() == Ok("1") {
        return true;
    }
    crate::common::skipped(
        "browser tests",
        "set TRAJECTOIRE_BROWSER=1 (with chromium and `npm ci` in tests/browser)",
    );
    false
}

fn node(script: &str, args: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("node")
        .arg(root.join("tests/browser").join(script))
        .args(args)
        .current_dir(root)
        .output()
        .expect("node is not installed");
    let said = String::from_utf8_lossy(&out.stdout);
    eprintln!("{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{script} failed:\n{said}");
}

#[test]
fn the_workshop_page_works_in_chromium() {
    if wanted() {
        node("page.mjs", &[env!("CARGO_BIN_EXE_trajectoire")]);
    }
}

#[test]
fn three_groups_and_a_facilitator_hold_a_session_in_chromium() {
    if !wanted() {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-session");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let session = dir.join("session.sqlite");
    node(
        "session.mjs",
        &[env!("CARGO_BIN_EXE_trajectoire"), session.to_str().unwrap()],
    );
}

#[test]
fn a_report_reads_and_prints_in_chromium_offline() {
    if !wanted() {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-report");
    let page = dir.join("report.html");
    let status = Command::new(env!("CARGO_BIN_EXE_trajectoire"))
        .args([
            "report",
            "scenarios/villes-pairs.toml",
            "--runs",
            "300",
            "--quiet",
        ])
        .args([
            "--variant",
            "more exchange: link.malaunay.loos-en-gohelle.exchange=0.02",
        ])
        .arg("--out")
        .arg(&page)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success());
    node(
        "report.mjs",
        &[
            page.to_str().unwrap(),
            "",
            dir.join("report.pdf").to_str().unwrap(),
        ],
    );
}
