//! Sweeps and sensitivity analyses end to end: a point is exactly `compare`'s variant, the
//! same bytes at any thread count, the documented files, exact zeros for a parameter without
//! effect, SALib's own estimators agreeing with ours, and bad input refused before any work.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use trajectoire::commands::common::{OutputOptions, SimulationOptions};
use trajectoire::commands::compare::CompareArgs;
use trajectoire::commands::split::Splittable;
use trajectoire::commands::sweep::SweepArgs;
use trajectoire::commands::Controls;

use crate::common::scenarios;

fn trajectoire() -> Command {
    Command::cargo_bin("trajectoire").unwrap()
}

fn out(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("explore")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn simulation(runs: u64) -> SimulationOptions {
    SimulationOptions {
        runs: Some(runs),
        ..SimulationOptions::default()
    }
}

fn into(dir: PathBuf) -> OutputOptions {
    OutputOptions {
        out: Some(dir),
        no_plots: true,
        shard: None,
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A point of a sweep gives exactly the numbers `compare` gives the same overrides.
#[test]
fn a_sweep_point_equals_compare_with_the_same_overrides() {
    let file = scenarios().join("grande-synthe.toml");
    let controls = Controls::silent();
    let outcomes = strings(&[
        "perpetuation@end",
        "stabilisation@200",
        "reached(acceleration)@end",
        "entry(take-off)",
        "spend",
    ]);
    let args = SweepArgs {
        file: file.clone(),
        varies: strings(&[
            "lever.cooperation.intensity=0.5,1.5",
            "territory.budget=8000,12000",
        ]),
        outcomes: outcomes.clone(),
        simulation: simulation(300),
        output: into(out("equals-compare")),
        ..SweepArgs::default()
    };
    let swept = args.execute(&controls).unwrap().sweep;
    assert_eq!(swept.points.len(), 4);
    let variants = strings(&[
        "a: lever.cooperation.intensity=0.5, territory.budget=8000",
        "b: lever.cooperation.intensity=0.5, territory.budget=12000",
        "c: lever.cooperation.intensity=1.5, territory.budget=8000",
        "d: lever.cooperation.intensity=1.5, territory.budget=12000",
    ]);
    let compared = CompareArgs {
        files: vec![file],
        variants,
        outcomes,
        simulation: simulation(300),
        output: into(out("equals-compare-c")),
    }
    .execute(&controls)
    .unwrap()
    .comparison;
    assert_eq!(compared.outcomes, swept.outcomes);
    for (i, point) in swept.points.iter().enumerate() {
        let variant = &compared.scenarios[i + 1];
        for (o, (a, b)) in point.estimates.iter().zip(&variant.estimates).enumerate() {
            let same = |x: f64, y: f64| x == y || (x.is_nan() && y.is_nan());
            assert!(
                same(a.estimate, b.estimate) && same(a.low, b.low) && same(a.high, b.high),
                "point {i}, {}: {a:?} against {b:?}",
                swept.outcomes[o]
            );
        }
    }
}

/// The same sweep on 1 and 2 threads writes the same bytes; the table has the documented
/// header and a row per point and outcome.
#[test]
fn sweeps_give_the_same_bytes_at_one_and_two_threads() {
    let file = scenarios().join("malaunay.toml");
    let run = |threads: &str, name: &str| {
        let dir = out(name);
        trajectoire()
            .args([
                "sweep",
                "--quiet",
                "--no-plots",
                "--runs",
                "60",
                "--threads",
                threads,
            ])
            .args([
                "--vary",
                "lever.citergie.intensity=0..2",
                "--vary",
                "actor.staff.fatigue=0.01..0.04",
            ])
            .args([
                "--design",
                "lhs:20",
                "--outcome",
                "perpetuation@end",
                "--outcome",
                "engagement@0..312:104",
            ])
            .arg("--out")
            .arg(&dir)
            .arg(&file)
            .assert()
            .success();
        (
            std::fs::read(dir.join("sweep.csv")).unwrap(),
            std::fs::read(dir.join("sweep.json")).unwrap(),
        )
    };
    let one = run("1", "threads-1");
    let two = run("2", "threads-2");
    assert!(one == two, "sweep outputs differ between 1 and 2 threads");
    let text = String::from_utf8(one.0).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("point,lever.citergie.intensity,actor.staff.fatigue,outcome,estimate,low,high")
    );
    let rows: Vec<&str> = lines.collect();
    // 20 points × (1 + 4 months of the family) outcomes.
    assert_eq!(rows.len(), 20 * 5);
    assert!(rows[1].contains(",engagement@0,"), "{}", rows[1]);
    assert!(rows[4].contains(",engagement@312,"), "{}", rows[4]);
    let json: serde_json::Value = serde_json::from_slice(&one.1).unwrap();
    assert_eq!(json["points"].as_array().unwrap().len(), 20);
    assert_eq!(json["design"]["design"], "lhs");
    assert_eq!(
        json["families"][0]["months"],
        serde_json::json!([0, 104, 208, 312])
    );
    // Latin hypercube: each of the 20 strata of each range holds one point.
    let points = json["points"].as_array().unwrap();
    let mut strata: Vec<usize> = points
        .iter()
        .map(|p| (p["values"][0].as_f64().unwrap() / 2.0 * 20.0) as usize)
        .collect();
    strata.sort_unstable();
    assert_eq!(strata, (0..20).collect::<Vec<_>>());
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

/// Common random numbers: a parameter that changes no run (a group's size is reported only)
/// gets S1 = ST = 0 and μ* = σ = 0 exactly, intervals included; the files have the
/// documented headers.
#[test]
fn a_parameter_without_effect_gets_exactly_zero() {
    let file = scenarios().join("grande-synthe.toml");
    for (method, name) in [("sobol:32", "zero-sobol"), ("morris:12", "zero-morris")] {
        let dir = out(name);
        trajectoire()
            .args([
                "sensitivity",
                "--quiet",
                "--no-plots",
                "--runs",
                "80",
                "--method",
                method,
            ])
            .args([
                "--vary",
                "actor.elected.size=10..100",
                "--vary",
                "lever.cooperation.intensity=0..2",
            ])
            .args([
                "--outcome",
                "stabilisation@end",
                "--outcome",
                "scale@end",
                "--bootstrap",
                "100",
            ])
            .arg("--out")
            .arg(&dir)
            .arg(&file)
            .assert()
            .success();
        let indices = read_csv(&dir.join("indices.csv"));
        let samples = read_csv(&dir.join("samples.csv"));
        assert_eq!(
            samples[0],
            ["actor.elected.size", "lever.cooperation.intensity"]
        );
        let evaluations = read_csv(&dir.join("evaluations.csv"));
        assert_eq!(evaluations[0], ["stabilisation@312", "scale@312"]);
        assert_eq!(evaluations.len(), samples.len());
        if method.starts_with("sobol") {
            assert_eq!(samples.len() - 1, 32 * (2 * 2 + 2));
            assert_eq!(
                indices[0].join(","),
                "outcome,parameter,S1,S1_low,S1_high,ST,ST_low,ST_high"
            );
            let second = read_csv(&dir.join("second-order.csv"));
            assert_eq!(
                second[0].join(","),
                "outcome,parameter_i,parameter_j,S2,S2_low,S2_high"
            );
        } else {
            assert_eq!(samples.len() - 1, 12 * 3);
            assert_eq!(
                indices[0].join(","),
                "outcome,parameter,mu,mu_star,sigma,mu_star_low,mu_star_high"
            );
        }
        for row in &indices[1..] {
            let values: Vec<f64> = row[2..].iter().map(|v| v.parse().unwrap()).collect();
            if row[1] == "actor.elected.size" {
                assert!(values.iter().all(|&v| v == 0.0), "{method}: {row:?}");
            } else {
                assert!(values[1] > 0.0, "{method}: the lever matters: {row:?}");
            }
        }
    }
}

/// SALib's own `sobol.analyze` and `morris.analyze`, run on our samples and evaluations,
/// give our indices (tests/python/salib_check.py). Needs Python with SALib: CI installs it and sets
/// TRAJECTOIRE_PYTHON_CHECKS=1, which makes a missing SALib a failure rather than a skip.
#[test]
fn salib_gives_the_same_indices() {
    let Some(python) = crate::common::python_with("SALib, numpy", "the SALib cross-check") else {
        return;
    };
    let file = scenarios().join("malaunay.toml");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/salib_check.py");
    for (method, name) in [("sobol:64", "salib-sobol"), ("morris:16", "salib-morris")] {
        let dir = out(name);
        trajectoire()
            .args([
                "sensitivity",
                "--quiet",
                "--no-plots",
                "--runs",
                "60",
                "--method",
                method,
            ])
            .args([
                "--vary",
                "lever.citergie.intensity=0..2",
                "--vary",
                "actor.staff.fatigue=0.01..0.04",
            ])
            .args([
                "--vary",
                "lever.citergie.from=100..140",
                "--bootstrap",
                "50",
            ])
            .args([
                "--outcome",
                "engagement@end",
                "--outcome",
                "scale@100..300:100",
                "--outcome",
                "spend",
            ])
            .arg("--out")
            .arg(&dir)
            .arg(&file)
            .assert()
            .success();
        let check = std::process::Command::new(&python)
            .arg(&script)
            .arg(&dir)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&check.stdout);
        assert!(
            check.status.success(),
            "{method}: {said}{}",
            String::from_utf8_lossy(&check.stderr)
        );
        assert!(said.contains("SALib agrees"), "{said}");
    }
}

/// Misspelt paths, ranges outside what a path accepts, points that break the scenario's rules,
/// reversed and empty ranges and no --vary at all are refused with the documented exit code
/// and a message that says what to do, before any simulation, and nothing is written.
#[test]
fn bad_explorations_are_refused_before_any_work() {
    let file = scenarios().join("grande-synthe.toml");
    let cases: &[(&[&str], i32, &[&str])] = &[
        (
            &["sweep", "--vary", "lever.cooperaton.intensity=0..1:3"],
            1,
            &["unknown lever `cooperaton`", "did you mean `cooperation`"],
        ),
        (
            &["sweep", "--vary", "actor.staff.fatigue=0..20:3"],
            1,
            &[
                "the value 20 is not allowed",
                "outside 0 ..= 10",
                "monthly rate",
            ],
        ),
        (
            &["sweep", "--vary", "actor.elected.anchored=0.1..0.9:5"],
            1,
            &["actor.elected.anchored", "0.9", "above `engagement`"],
        ),
        (
            &[
                "sweep",
                "--vary",
                "actor.elected.anchored=0.1,0.3",
                "--vary",
                "actor.elected.engagement=0.2,0.6",
            ],
            1,
            &[
                "point 3 of the design",
                "actor.elected.anchored=0.3, actor.elected.engagement=0.2",
                "above `engagement`",
            ],
        ),
        (
            &["sweep", "--vary", "lever.cooperation.intensity=2..1:3"],
            1,
            &["empty or reversed", "column 29"],
        ),
        (
            &["sweep", "--vary", "lever.cooperation.intensity=1..1:3"],
            1,
            &["empty or reversed"],
        ),
        (&["sweep"], 2, &["nothing to vary", "--vary PATH=SPEC"]),
        (
            &["sweep", "--vary", "lever.cooperation.intensity=0..1"],
            1,
            &["a grid needs values"],
        ),
        (
            &["sweep", "--vary", "lever.cooperation.from=1..12:4"],
            2,
            &["takes whole numbers", "4.66"],
        ),
        (
            &[
                "sensitivity",
                "--vary",
                "lever.cooperation.intensity=0..1",
                "--method",
                "sobol:100",
            ],
            2,
            &["power of 2"],
        ),
        (
            &[
                "sensitivity",
                "--vary",
                "lever.cooperation.intensity=0..1",
                "--method",
                "morris",
                "--levels",
                "5",
            ],
            2,
            &["even number of levels"],
        ),
        (
            &[
                "sweep",
                "--vary",
                "lever.cooperation.intensity=0..1:3",
                "--outcome",
                "engagement@0..900:12",
            ],
            1,
            &["not a range of months within 0..312"],
        ),
    ];
    for (k, (args, code, words)) in cases.iter().enumerate() {
        let dir = out(&format!("bad-{k}"));
        let output = trajectoire()
            .args(*args)
            .args(["--runs", "10", "--out"])
            .arg(&dir)
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(*code), "{args:?}: {stderr}");
        for w in *words {
            assert!(stderr.contains(w), "{args:?}: `{w}` not in:\n{stderr}");
        }
        assert!(!dir.exists(), "{args:?}: something was written");
    }
}
