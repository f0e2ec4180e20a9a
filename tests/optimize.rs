//! `optimize`: a plan's numbers are `sweep`'s at that point (common random numbers); 400
//! evaluations reach 98% of the hypervolume a 21 × 21 grid's front holds; a robust goal is the
//! statistic over the futures of the per-future estimates; the hypervolume equals pymoo's; the
//! same bytes at any thread count; a resumed search is the search continued, and Ctrl-C keeps
//! the checkpoint; plan files are `check`-clean; every refusal comes before any work.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use trajectoire::study::optimize::hypervolume::hypervolume;

use crate::common::{python_with, scenarios};

fn out(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("optimize")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(checkpoint(&dir));
    dir
}

fn checkpoint(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap().to_os_string();
    name.push(".checkpoint.json");
    dir.with_file_name(name)
}

fn trajectoire() -> Command {
    Command::cargo_bin("trajectoire").unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A CSV file as its header and rows.
fn table(file: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text
        .lines()
        .map(|l| l.split(',').map(String::from).collect::<Vec<_>>());
    let header = lines.next().unwrap();
    (header, lines.collect())
}

/// The two-lever problem of Grande-Synthe: keep the transition alive at least cost.
const TWO_LEVERS: [&str; 8] = [
    "--vary",
    "lever.cooperation.intensity=0..2",
    "--vary",
    "lever.narrative.intensity=0..2",
    "--objective",
    "max perpetuation@end",
    "--objective",
    "min spend",
];

fn two_levers(dir: &Path, extra: &[&str]) -> Command {
    let mut c = trajectoire();
    c.arg("optimize")
        .arg(scenarios().join("grande-synthe.toml"))
        .args(TWO_LEVERS)
        .args(["--quiet", "--out", path(dir)])
        .args(extra);
    if !extra.contains(&"--runs") {
        c.args(["--runs", "100"]);
    }
    c
}

/// `sweep`'s estimates at one point, by outcome.
fn sweep_at(sets: &[(String, String)], outcomes: &[&str], runs: &str) -> BTreeMap<String, f64> {
    let dir = out(&format!(
        "sweep-{}",
        sets.iter().map(|s| s.1.as_str()).collect::<String>()
    ));
    let mut c = trajectoire();
    c.arg("sweep").arg(scenarios().join("grande-synthe.toml"));
    for (p, v) in sets {
        c.args(["--vary", &format!("{p}={v}")]);
    }
    for o in outcomes {
        c.args(["--outcome", o]);
    }
    c.args(["--runs", runs, "--no-plots", "--quiet", "--out", path(&dir)])
        .assert()
        .success();
    let (header, rows) = table(&dir.join("sweep.csv"));
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    rows.iter()
        .map(|r| (r[at("outcome")].clone(), r[at("estimate")].parse().unwrap()))
        .collect()
}

#[test]
fn a_plans_numbers_are_sweeps_at_that_point() {
    let dir = out("equals-sweep");
    two_levers(
        &dir,
        &["--evaluations", "40", "--population", "20", "--no-plots"],
    )
    .assert()
    .success();
    let (header, rows) = table(&dir.join("pareto.csv"));
    assert_eq!(
        header[..5],
        [
            "plan",
            "lever.cooperation.intensity",
            "lever.narrative.intensity",
            "perpetuation@312",
            "spend"
        ]
    );
    assert!(!rows.is_empty());
    for row in rows.iter().take(3) {
        let sets = vec![
            (header[1].clone(), row[1].clone()),
            (header[2].clone(), row[2].clone()),
        ];
        let swept = sweep_at(&sets, &["perpetuation@end", "spend"], "100");
        assert_eq!(
            row[3].parse::<f64>().unwrap(),
            swept["perpetuation@312"],
            "{row:?}"
        );
        assert_eq!(row[4].parse::<f64>().unwrap(), swept["spend"], "{row:?}");
    }
}

/// The grid's and the search's fronts as minimised points (−perpetuation, spend).
fn front_points(rows: &[Vec<String>], perpetuation: usize, spend: usize) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|r| {
            vec![
                -r[perpetuation].parse::<f64>().unwrap(),
                r[spend].parse::<f64>().unwrap(),
            ]
        })
        .collect()
}

#[test]
fn four_hundred_evaluations_hold_98_percent_of_a_21_by_21_grids_hypervolume() {
    let grid = out("grid");
    trajectoire()
        .arg("sweep")
        .arg(scenarios().join("grande-synthe.toml"))
        .args(["--vary", "lever.cooperation.intensity=0..2:21"])
        .args(["--vary", "lever.narrative.intensity=0..2:21"])
        .args(["--outcome", "perpetuation@end", "--outcome", "spend"])
        .args([
            "--runs",
            "100",
            "--no-plots",
            "--quiet",
            "--out",
            path(&grid),
        ])
        .assert()
        .success();
    let (header, rows) = table(&grid.join("sweep.csv"));
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut points: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for r in &rows {
        let p: usize = r[at("point")].parse().unwrap();
        let v: f64 = r[at("estimate")].parse().unwrap();
        let e = points.entry(p).or_insert_with(|| vec![0.0, 0.0]);
        match r[at("outcome")].as_str() {
            "perpetuation@312" => e[0] = -v,
            "spend" => e[1] = v,
            other => panic!("{other}"),
        }
    }
    assert_eq!(points.len(), 441);
    let all: Vec<Vec<f64>> = points.into_values().collect();
    let grid_front: Vec<Vec<f64>> = all
        .iter()
        .filter(|p| !all.iter().any(|q| q[0] <= p[0] && q[1] <= p[1] && q != *p))
        .cloned()
        .collect();
    // The reference point: the grid front's worst plus a tenth of its range.
    let reference: Vec<f64> = (0..2)
        .map(|k| {
            let lo = grid_front
                .iter()
                .map(|p| p[k])
                .fold(f64::INFINITY, f64::min);
            let hi = grid_front
                .iter()
                .map(|p| p[k])
                .fold(f64::NEG_INFINITY, f64::max);
            hi + 0.1 * (hi - lo)
        })
        .collect();
    let dir = out("search-400");
    two_levers(&dir, &["--evaluations", "400", "--no-plots"])
        .assert()
        .success();
    let (header, rows) = table(&dir.join("pareto.csv"));
    let found = front_points(&rows, 3, 4);
    assert_eq!(header[3], "perpetuation@312");
    let share = hypervolume(&found, &reference) / hypervolume(&grid_front, &reference);
    assert!(
        share >= 0.98,
        "400 evaluations hold {:.1}% of the grid's hypervolume",
        100.0 * share
    );
}

#[test]
fn the_hypervolume_is_pymoos_and_the_front_nondominated() {
    let dir = out("pymoo");
    trajectoire()
        .arg("optimize")
        .arg(scenarios().join("grande-synthe.toml"))
        .args(["--vary", "lever.cooperation.intensity=0..2"])
        .args(["--vary", "lever.narrative.intensity=0..2"])
        .args(["--vary", "lever.organic-canteens.intensity=0..2"])
        .args([
            "--objective",
            "max perpetuation@end",
            "--objective",
            "max scale@end",
        ])
        .args(["--objective", "min spend", "--evaluations", "200"])
        .args(["--runs", "50", "--no-plots", "--quiet", "--out", path(&dir)])
        .assert()
        .success();
    let Some(python) = python_with("pymoo, numpy", "the pymoo cross-check of optimize") else {
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/hv_check.py");
    let o = Process::new(python).arg(script).arg(&dir).output().unwrap();
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && said.starts_with("OK"),
        "{said}{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_robust_goal_is_the_worst_of_the_futures() {
    let dir = out("robust");
    trajectoire()
        .arg("optimize")
        .arg(scenarios().join("grande-synthe.toml"))
        .args(["--vary", "lever.cooperation.intensity=0..2"])
        .args([
            "--objective",
            "max perpetuation@end",
            "--objective",
            "min spend",
        ])
        .args(["--uncertain", "actor.inhabitants.fatigue=0.01..0.06"])
        .args([
            "--scenarios",
            "3",
            "--evaluations",
            "20",
            "--population",
            "10",
        ])
        .args(["--runs", "60", "--no-plots", "--quiet", "--out", path(&dir)])
        .assert()
        .success();
    let (sh, futures) = table(&dir.join("scenarios.csv"));
    assert_eq!(sh, ["scenario", "actor.inhabitants.fatigue"]);
    assert_eq!(futures.len(), 3);
    // A Latin hypercube: one future in each third of the range.
    let mut thirds: Vec<usize> = futures
        .iter()
        .map(|f| ((f[1].parse::<f64>().unwrap() - 0.01) / 0.05 * 3.0) as usize)
        .collect();
    thirds.sort_unstable();
    assert_eq!(thirds, [0, 1, 2]);
    let (_, rows) = table(&dir.join("pareto.csv"));
    let row = &rows[0];
    let mut perpetuation = Vec::new();
    let mut spend = Vec::new();
    for f in &futures {
        let sets = vec![
            ("lever.cooperation.intensity".to_string(), row[1].clone()),
            ("actor.inhabitants.fatigue".to_string(), f[1].clone()),
        ];
        let at = sweep_at(&sets, &["perpetuation@end", "spend"], "60");
        perpetuation.push(at["perpetuation@312"]);
        spend.push(at["spend"]);
    }
    let worst_alive = perpetuation.iter().copied().fold(f64::INFINITY, f64::min);
    let worst_spend = spend.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(
        row[2].parse::<f64>().unwrap(),
        worst_alive,
        "{row:?} {perpetuation:?}"
    );
    assert_eq!(
        row[3].parse::<f64>().unwrap(),
        worst_spend,
        "{row:?} {spend:?}"
    );
}

fn files_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for name in ["pareto.csv", "convergence.csv"] {
        out.insert(name.to_string(), std::fs::read(dir.join(name)).unwrap());
    }
    for e in std::fs::read_dir(dir.join("plans")).unwrap() {
        let e = e.unwrap();
        out.insert(
            format!("plans/{}", e.file_name().to_string_lossy()),
            std::fs::read(e.path()).unwrap(),
        );
    }
    out
}

#[test]
fn the_same_bytes_at_any_thread_count_and_resumed_searches_continue() {
    let one = out("threads-1");
    two_levers(
        &one,
        &[
            "--evaluations",
            "120",
            "--population",
            "20",
            "--threads",
            "1",
        ],
    )
    .args(["--no-plots"])
    .assert()
    .success();
    let two = out("threads-2");
    two_levers(
        &two,
        &[
            "--evaluations",
            "120",
            "--population",
            "20",
            "--threads",
            "2",
        ],
    )
    .args(["--no-plots"])
    .assert()
    .success();
    assert_eq!(files_of(&one), files_of(&two));
    // 60 evaluations, then resumed to 120: the search of 120 at once.
    let resumed = out("resumed");
    two_levers(
        &resumed,
        &["--evaluations", "60", "--population", "20", "--no-plots"],
    )
    .assert()
    .success();
    assert!(checkpoint(&resumed).exists());
    two_levers(
        &resumed,
        &["--evaluations", "120", "--population", "20", "--no-plots"],
    )
    .arg("--resume")
    .assert()
    .success();
    assert_eq!(files_of(&one), files_of(&resumed));
    // Another problem's checkpoint is refused, naming it.
    let refused = two_levers(&resumed, &["--evaluations", "120", "--population", "24"])
        .arg("--resume")
        .assert()
        .failure();
    let said = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(said.contains("checkpoint of another problem"), "{said}");
    assert!(said.contains(".checkpoint.json"), "{said}");
}

#[test]
fn ctrl_c_keeps_the_checkpoint_and_the_search_resumes_to_the_same_front() {
    let whole = out("whole");
    let args = [
        "--evaluations",
        "300",
        "--population",
        "20",
        "--no-plots",
        "--runs",
        "300",
    ];
    two_levers(&whole, &args).assert().success();
    let cut = out("cut");
    let child = Process::new(assert_cmd::cargo::cargo_bin("trajectoire"))
        .arg("optimize")
        .arg(scenarios().join("grande-synthe.toml"))
        .args(TWO_LEVERS)
        .args(args)
        .args(["--quiet", "--out", path(&cut)])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for a generation or two to be saved, then interrupt.
    let saved = checkpoint(&cut);
    for _ in 0..200 {
        if saved.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(150));
    let ok = Process::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(&format!("kept in {}", saved.display())) && stderr.contains("--resume"),
        "the message says where the search is kept and how to go on: {stderr}"
    );
    assert!(!cut.exists(), "an interrupted search writes no outputs");
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    let done = state["plans"].as_array().unwrap().len();
    assert!((20..300).contains(&done), "{done} plans in the checkpoint");
    two_levers(&cut, &args).arg("--resume").assert().success();
    assert_eq!(files_of(&whole), files_of(&cut));
}

#[test]
fn plan_files_are_check_clean_and_hold_the_plans_choices() {
    let dir = out("plans");
    two_levers(&dir, &["--evaluations", "40", "--population", "20"])
        .assert()
        .success();
    let (_, rows) = table(&dir.join("pareto.csv"));
    let first = dir.join("plans/plan-1.toml");
    trajectoire()
        .args(["check", path(&first)])
        .assert()
        .success();
    let text = std::fs::read_to_string(&first).unwrap();
    let model = trajectoire::scenario::load(&first)
        .and_then(|l| trajectoire::model::Overrides::default().model(&l))
        .unwrap();
    let lever = |id: &str| {
        model.territories[0]
            .levers
            .iter()
            .find(|l| l.id == id)
            .unwrap()
            .intensity
    };
    assert_eq!(
        lever("cooperation"),
        rows[0][1].parse::<f64>().unwrap(),
        "{text}"
    );
    assert_eq!(
        lever("narrative"),
        rows[0][2].parse::<f64>().unwrap(),
        "{text}"
    );
    for picture in ["tradeoff.png", "convergence.png"] {
        let bytes = std::fs::read(dir.join(picture)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{picture}");
    }
}

#[test]
fn bad_questions_are_refused_before_any_work_naming_the_argument() {
    let file = scenarios().join("grande-synthe.toml");
    let cases: [(&[&str], &str); 10] = [
        (
            &["--vary", "lever.cooperation.intensity=0..2"],
            "--objective",
        ),
        (
            &[
                "--vary",
                "lever.cooperation.intensity=0..2",
                "--objective",
                "most perpetuation@end",
            ],
            "--objective \"most perpetuation@end\", column 1: `most` is not a direction",
        ),
        (
            &[
                "--vary",
                "lever.cooperation.intensity=0..2",
                "--objective",
                "max perpetuation@never",
            ],
            "--objective \"max perpetuation@never\", column 18:",
        ),
        (&["--objective", "max spend"], "--vary"),
        (
            &[
                "--vary",
                "lever.cooperation.label=0..2",
                "--objective",
                "max spend",
            ],
            "lever.cooperation.label",
        ),
        (
            &[
                "--vary",
                "lever.cooperation.intensity=2..2",
                "--objective",
                "max spend",
            ],
            "lever.cooperation.intensity",
        ),
        (
            &[
                "--vary",
                "lever.cooperation.intensity=0..2",
                "--objective",
                "max spend",
                "--robust",
                "worst",
            ],
            "--uncertain",
        ),
        (
            &[
                "--vary",
                "lever.cooperation.intensity=0..2",
                "--objective",
                "max spend",
                "--constraint",
                "scale@end => 0.3",
            ],
            "--constraint \"scale@end => 0.3\", column 11: `=>` is not a comparison here: write `>=`",
        ),
        (
            &[
                "--vary",
                "lever.cooperation.intensity=0..2",
                "--objective",
                "max spend",
                "--uncertain",
                "actor.inhabitants.fatigue=0.01..0.05",
                "--robust",
                "p150",
            ],
            "--robust p150",
        ),
        (
            &[
                "--vary",
                "lever.cooperation.intensity=0..2",
                "--objective",
                "max spend",
            ],
            "--resume",
        ),
    ];
    for (n, (args, named)) in cases.iter().enumerate() {
        let dir = out(&format!("refused-{n}"));
        let mut c = trajectoire();
        c.arg("optimize")
            .arg(&file)
            .args(*args)
            .args(["--out", path(&dir)]);
        if *named == "--resume" {
            c.arg("--resume");
        }
        let o = c.assert().failure();
        let said = String::from_utf8_lossy(&o.get_output().stderr).into_owned();
        let wanted = if *named == "--resume" {
            "no checkpoint"
        } else {
            named
        };
        assert!(said.contains(wanted), "case {n}: {said}");
        // An argument's text pointed at, character by character, is an invalid argument (1);
        // a missing or contradictory argument is a usage error (2); a missing checkpoint a
        // refused input (1).
        let code = if said.contains("column") || *named == "--resume" {
            1
        } else {
            2
        };
        assert_eq!(o.get_output().status.code(), Some(code), "case {n}: {said}");
        assert!(!dir.exists(), "case {n} made its folder");
        assert!(!checkpoint(&dir).exists(), "case {n} wrote a checkpoint");
    }
    // A long search needs --allow-long, and says its size.
    let o = trajectoire()
        .arg("optimize")
        .arg(&file)
        .args(TWO_LEVERS)
        .args(["--evaluations", "10000000", "--runs", "100000"])
        .assert()
        .failure();
    let said = String::from_utf8_lossy(&o.get_output().stderr).into_owned();
    assert!(said.contains("--allow-long"), "{said}");
}
