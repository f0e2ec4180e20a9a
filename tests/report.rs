//! `report`: one self-contained HTML file whose verdicts are `test`'s, whose numbers are the
//! same at any thread count, which fetches nothing and escapes what the file says.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use trajectoire::commands::common::SimulationOptions;
use trajectoire::commands::report::ReportArgs;
use trajectoire::commands::split::Splittable;
use trajectoire::commands::test::TestArgs;
use trajectoire::commands::Controls;

use crate::common::scenarios;

fn out(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("report")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn simulation(runs: u64, threads: usize) -> SimulationOptions {
    SimulationOptions {
        runs: Some(runs),
        threads: Some(threads),
        ..SimulationOptions::default()
    }
}

fn trajectoire() -> Command {
    Command::cargo_bin("trajectoire").unwrap()
}

#[test]
fn the_reports_verdicts_are_tests_and_its_bytes_do_not_depend_on_threads() {
    let controls = Controls::silent();
    let file = scenarios().join("grande-synthe.toml");
    let variants = vec!["no canteens: lever.organic-canteens.intensity=0".to_string()];
    let dir = out("threads");
    let report = |threads: usize, name: &str| {
        ReportArgs {
            file: file.clone(),
            variants: variants.clone(),
            out: Some(dir.join(name)),
            session: None,
            simulation: simulation(400, threads),
        }
        .execute(&controls)
        .unwrap()
    };
    let one = report(1, "one.html");
    let two = report(2, "two.html");
    let (a, b) = (
        std::fs::read(&one.path).unwrap(),
        std::fs::read(&two.path).unwrap(),
    );
    assert!(a == b, "the report differs between 1 and 2 threads");
    assert!(!dir.join("one.html.partial").exists());
    let tested = TestArgs {
        file: file.clone(),
        simulation: simulation(400, 2),
        ..TestArgs::default()
    }
    .execute(&controls)
    .unwrap();
    assert_eq!(one.hypotheses[0].len(), tested.rows.len());
    for (r, t) in one.hypotheses[0].iter().zip(&tested.rows) {
        assert_eq!(r.hypothesis.name, t.hypothesis.name);
        assert_eq!(
            r.estimate.estimate, t.estimate.estimate,
            "{}",
            t.hypothesis.name
        );
        assert_eq!(
            (r.estimate.low, r.estimate.high),
            (t.estimate.low, t.estimate.high)
        );
        assert_eq!(r.verdict, t.verdict);
    }
    // Without the canteens the transition's scale falls short: a verdict turns.
    let html = String::from_utf8(a).unwrap();
    assert!(one.hypotheses[1]
        .iter()
        .zip(&one.hypotheses[0])
        .any(|(v, w)| v.verdict != w.verdict));
    for id in [
        "summary",
        "dashboard",
        "hypotheses",
        "comparisons",
        "plots",
        "phases",
        "territory",
        "reproduce",
    ] {
        assert!(
            html.contains(&format!("<h2 id=\"{id}\"")),
            "no section {id}"
        );
    }
    assert_eq!(html.matches("<figure><svg").count(), 1 + 3 + 5);
    assert!(
        html.contains("trajectoire report"),
        "no command to make it again"
    );
    assert!(html.contains("--runs 400 --seed 2019 --substeps 4 --variant &#39;no canteens: lever.organic-canteens.intensity=0&#39;"));
    // Nothing to fetch: no script, no link, no external source of any kind.
    for outside in ["<script", "<link", "src=", "@import", "url(", "href=\"http"] {
        assert!(!html.contains(outside), "the report has {outside}");
    }
    assert!(html.contains("@media print") && html.contains("size: A4"));
}

#[test]
fn what_a_file_says_is_shown_not_run() {
    let dir = out("escape");
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(scenarios().join("le-mene.toml"))
        .unwrap()
        .replacen(
            "name = \"Le Mené\"",
            "name = \"<script>alert('Le Mené')</script> & co\"",
            1,
        );
    assert!(text.contains("<script>"));
    let file = dir.join("hostile.toml");
    std::fs::write(&file, text).unwrap();
    std::fs::copy(
        scenarios().join("referentiel.toml"),
        dir.join("referentiel.toml"),
    )
    .unwrap();
    let page = dir.join("r.html");
    trajectoire()
        .arg("report")
        .arg(&file)
        .args(["--runs", "50", "--quiet", "--out"])
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("<script"),
        "a name from the file became a script"
    );
    assert!(html.contains("&lt;script&gt;alert(&#39;Le Mené&#39;)&lt;/script&gt; &amp; co"));
}

#[test]
fn a_folder_or_an_unwritable_place_is_refused_before_any_work() {
    let dir = out("refused");
    std::fs::create_dir_all(&dir).unwrap();
    let file = scenarios().join("grande-synthe.toml");
    let said = trajectoire()
        .arg("report")
        .arg(&file)
        .arg("--out")
        .arg(&dir)
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let said = String::from_utf8_lossy(&said);
    assert!(
        said.contains("this is a folder; give the report's file name"),
        "{said}"
    );
    let blocker = dir.join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let said = trajectoire()
        .arg("report")
        .arg(&file)
        .arg("--out")
        .arg(blocker.join("report.html"))
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    let said = String::from_utf8_lossy(&said);
    assert!(said.contains("a-file"), "{said}");
    let said = trajectoire()
        .arg("report")
        .arg(&file)
        .args(["--variant", "half: lever.cooperaton.intensity=0.5", "--out"])
        .arg(dir.join("r.html"))
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let said = String::from_utf8_lossy(&said);
    assert!(said.contains("did you mean `cooperation`?"), "{said}");
    assert!(!dir.join("r.html").exists() && !dir.join("r.html.partial").exists());
}
