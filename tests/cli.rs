//! The command line end to end: every shipped scenario runs and writes every output; errors
//! give the documented exit codes and messages.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use trajectoire::output::{plot, PLOT_NAMES, TABLE_FILES};

use crate::common::scenarios;

fn trajectoire() -> Command {
    Command::cargo_bin("trajectoire").unwrap()
}

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

const HEADERS: [(&str, &str); 4] = [
    (
        "trajectories.csv",
        "territory,index,month,mean,p05,p25,p50,p75,p95",
    ),
    ("perpetuation.csv", "territory,month,share,low,high"),
    ("phases.csv", "territory,phase,month,share"),
    (
        "phase-entries.csv",
        "territory,phase,reached,p05,p25,p50,p75,p95",
    ),
];

fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    (info.width, info.height)
}

#[test]
fn every_shipped_scenario_runs_end_to_end() {
    let mut ran = 0;
    for entry in std::fs::read_dir(scenarios()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.contains("[territory]") && !text.contains("[network]") {
            // The référentiel: a lever library is checked, not run.
            let out = trajectoire().arg("check").arg(&path).assert().success();
            assert!(
                String::from_utf8_lossy(&out.get_output().stdout).contains("valid lever library")
            );
            continue;
        }
        let dir = out_dir(&name);
        let out = trajectoire()
            .args(["run", "--runs", "100", "--threads", "2", "--out"])
            .arg(&dir)
            .arg(&path)
            .assert()
            .success();
        let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(stdout.contains("perpetuation after"), "{name}: {stdout}");
        assert!(stdout.contains("mean spend"), "{name}: {stdout}");
        for file in TABLE_FILES.iter().chain(&["summary.json"]) {
            assert!(dir.join(file).is_file(), "{name}: {file} missing");
        }
        for (file, header) in HEADERS {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            assert_eq!(text.lines().next(), Some(header), "{name}: {file}");
            assert!(
                !text.contains("NaN") && !text.contains("inf"),
                "{name}: {file}"
            );
        }
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["runs"], 100);
        let territories = summary["results"]["territories"].as_array().unwrap().len();
        for plot_name in PLOT_NAMES {
            assert_eq!(
                png_size(&dir.join(format!("{plot_name}.png"))),
                plot::size(plot_name, territories),
                "{name}: {plot_name}"
            );
            let svg = std::fs::read_to_string(dir.join(format!("{plot_name}.svg"))).unwrap();
            assert!(
                svg.starts_with("<svg") && svg.contains("</svg>"),
                "{name}: {plot_name}.svg"
            );
        }
        ran += 1;
    }
    assert_eq!(ran, 5, "four towns and the network");
}

#[test]
fn trajectories_csv_parses_back_to_the_summary_numbers() {
    let dir = out_dir("parse-back");
    trajectoire()
        .args(["run", "--runs", "50", "--no-plots", "--quiet", "--out"])
        .arg(&dir)
        .arg(scenarios().join("malaunay.toml"))
        .assert()
        .success()
        .stdout("");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let mean = &summary["results"]["territories"][0]["series"][0]["mean"];
    let csv = std::fs::read_to_string(dir.join("trajectories.csv")).unwrap();
    let mut rows = 0;
    for line in csv
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("malaunay,engagement,"))
    {
        let cells: Vec<&str> = line.split(',').collect();
        let month: usize = cells[2].parse().unwrap();
        let value: f64 = cells[3].parse().unwrap();
        assert_eq!(
            value,
            mean[month].as_f64().unwrap(),
            "month {month} round-trips exactly"
        );
        rows += 1;
    }
    assert_eq!(rows, 313);
    assert!(
        !dir.join("dashboard.png").exists(),
        "--no-plots writes no plot"
    );
}

#[test]
fn check_reports_every_problem_with_position_and_caret() {
    let dir = out_dir("check");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("typo.toml");
    std::fs::write(&file, "[territory]\nid = \"t\"\npopulation = 100\nhorizon = 12\n[[actor]]\nid = \"g\"\nfatige = 0.1\nengagement = 2\n").unwrap();
    let out = trajectoire().arg("check").arg(&file).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("typo.toml:7:1"), "{stderr}");
    assert!(stderr.contains("did you mean `fatigue`?"), "{stderr}");
    assert!(stderr.contains("typo.toml:8:14"), "{stderr}");
    assert!(
        stderr.contains("fatige = 0.1"),
        "the offending line is shown: {stderr}"
    );
    assert!(stderr.contains("2 problems found"), "{stderr}");
}

#[test]
fn exit_codes_follow_the_documentation() {
    // 2: usage.
    trajectoire().args(["run", "--bogus"]).assert().code(2);
    trajectoire().arg("run").assert().code(2);
    // 1: invalid scenario (a missing file is a scenario problem: it names the file).
    let out = trajectoire()
        .args(["check", "no-such-file.toml"])
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr)
        .contains("no-such-file.toml: cannot be read"));
    trajectoire()
        .args(["run", "--runs", "0"])
        .arg(scenarios().join("malaunay.toml"))
        .assert()
        .code(1);
    // 3: the output folder cannot be created.
    let dir = out_dir("io");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("file"), "").unwrap();
    let out = trajectoire()
        .args(["run", "--runs", "10", "--quiet", "--no-plots", "--out"])
        .arg(dir.join("file").join("sub"))
        .arg(scenarios().join("malaunay.toml"))
        .assert()
        .code(3);
    assert!(String::from_utf8_lossy(&out.get_output().stderr)
        .contains("cannot create the output folder"));
}

#[test]
fn new_writes_a_template_that_checks_explains_and_runs() {
    let dir = out_dir("new");
    std::fs::create_dir_all(&dir).unwrap();
    trajectoire()
        .current_dir(&dir)
        .args(["new", "my-town"])
        .assert()
        .success();
    assert!(dir.join("my-town.toml").is_file());
    trajectoire()
        .current_dir(&dir)
        .args(["new", "my-town"])
        .assert()
        .code(3);
    trajectoire()
        .current_dir(&dir)
        .args(["new", "My Town"])
        .assert()
        .code(2);
    trajectoire()
        .current_dir(&dir)
        .args(["check", "my-town.toml"])
        .assert()
        .success();
    let out = trajectoire()
        .current_dir(&dir)
        .args(["explain", "my-town.toml"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for words in [
        "Actor groups",
        "influenced by",
        "Phases",
        "Levers",
        "Shocks",
        "Equations",
        "dE_g",
    ] {
        assert!(text.contains(words), "explain lacks {words}: {text}");
    }
    trajectoire()
        .current_dir(&dir)
        .args([
            "run",
            "my-town.toml",
            "--runs",
            "20",
            "--no-plots",
            "--quiet",
        ])
        .assert()
        .success();
    assert!(
        dir.join("output/my-town/trajectories.csv").is_file(),
        "default folder output/<id>/"
    );
}

/// `check --observed`: an observed history checked against the scenario, its problems at
/// file:line:col (exit 1), or a sentence saying what it holds.
#[test]
fn check_reads_an_observed_history() {
    let dir = out_dir("observed");
    std::fs::create_dir_all(&dir).unwrap();
    let file = scenarios().join("grande-synthe.toml");
    let good = dir.join("good.csv");
    std::fs::write(
        &good,
        "index,month,value,sd\nengagement:inhabitants,48,0.12,0.02\nengagement:inhabitants,96,0.2,\nperpetuation,120,1,0.05\n",
    )
    .unwrap();
    let o = trajectoire()
        .args([
            "check",
            &file.to_string_lossy(),
            "--observed",
            &good.to_string_lossy(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("good.csv: valid — 3 observations of 2 indices, months 48 to 120; 1 without a standard error."),
        "{stdout}"
    );
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "index,month,value,sd\nengagement:inhabitant,48,0.12,0.02\n",
    )
    .unwrap();
    let o = trajectoire()
        .args([
            "check",
            &file.to_string_lossy(),
            "--observed",
            &bad.to_string_lossy(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("bad.csv:2:1: unknown group `inhabitant`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean `engagement:inhabitants`?"),
        "{stderr}"
    );
}
