//! `compare` and `--set`: paired differences, overrides equal to edits, outputs and errors.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use trajectoire::commands::common::{OutputOptions, SimulationOptions};
use trajectoire::commands::compare::CompareArgs;
use trajectoire::commands::split::Splittable;
use trajectoire::commands::Controls;
use trajectoire::output::tables;
use trajectoire::study::compare::Comparison;

use crate::common::{scenarios, simulate};

fn out(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("compare")
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

fn controls_compare(
    files: &[PathBuf],
    variants: &[&str],
    outcomes: &[&str],
    runs: u64,
    dir: &Path,
) -> Comparison {
    let args = CompareArgs {
        files: files.to_vec(),
        variants: variants.iter().map(|s| s.to_string()).collect(),
        outcomes: outcomes.iter().map(|s| s.to_string()).collect(),
        simulation: simulation(runs),
        output: OutputOptions {
            out: Some(dir.to_path_buf()),
            no_plots: true,
            shard: None,
        },
    };
    args.execute(&Controls::silent()).unwrap().comparison
}

#[test]
fn a_scenario_compared_with_itself_differs_by_exactly_zero() {
    let file = scenarios().join("grande-synthe.toml");
    let report = controls_compare(&[file.clone(), file], &[], &[], 300, &out("self"));
    let d = report.scenarios[1].differences.as_ref().unwrap();
    assert_eq!(d.len(), report.outcomes.len());
    for (o, e) in report.outcomes.iter().zip(d) {
        assert_eq!((e.estimate, e.low, e.high), (0.0, 0.0, 0.0), "{o}");
    }
}

#[test]
fn paired_intervals_are_much_narrower_than_unpaired_ones() {
    let file = scenarios().join("malaunay.toml");
    let report = controls_compare(
        &[file],
        &["a little more training: lever.staff-training.intensity=1.2"],
        &["engagement@end", "scale@end", "engagement:staff@200"],
        1000,
        &out("paired"),
    );
    for (o, outcome) in report.outcomes.iter().enumerate() {
        let base = report.scenarios[0].estimates[o];
        let variant = report.scenarios[1].estimates[o];
        let paired = report.scenarios[1].differences.as_ref().unwrap()[o];
        let half = |e: trajectoire::stats::Estimate| (e.high - e.low) / 2.0;
        let unpaired = (half(base).powi(2) + half(variant).powi(2)).sqrt();
        assert!(
            half(paired) < 0.5 * unpaired,
            "{outcome}: paired ±{} vs unpaired ±{unpaired}",
            half(paired)
        );
        // The paired difference agrees with the difference of the estimates.
        assert!(
            (paired.estimate - (variant.estimate - base.estimate)).abs() < 1e-9,
            "{outcome}"
        );
    }
}

#[test]
fn compare_writes_its_table_json_and_overlays() {
    let dir = out("cli");
    let assert = Command::cargo_bin("trajectoire")
        .unwrap()
        .args(["compare", "--runs", "200", "--out"])
        .arg(&dir)
        .arg(scenarios().join("malaunay.toml"))
        .args([
            "--variant",
            "no election: shock.municipal-election.probability=0",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains("no election") && stdout.contains("difference with the base"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(dir.join("compare.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("outcome,scenario,estimate,low,high,diff,diff_low,diff_high")
    );
    let base_row = lines.next().unwrap();
    assert!(
        base_row.starts_with("perpetuation@312,Malaunay,") && base_row.ends_with(",,,"),
        "{base_row}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("compare.json")).unwrap()).unwrap();
    assert_eq!(json["scenarios"][1]["name"], "no election");
    for name in trajectoire::output::plot::COMPARE_PLOTS {
        assert!(
            dir.join(format!("{name}.png")).is_file() && dir.join(format!("{name}.svg")).is_file()
        );
    }
}

#[test]
fn set_gives_exactly_the_numbers_of_an_edited_file() {
    let dir = out("edited");
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(scenarios().join("malaunay.toml")).unwrap();
    let edited = text
        .replace(
            "influenced_by = { elected = 0.025 }",
            "influenced_by = { elected = 0.1 }",
        )
        .replace(
            "id = \"citergie\"\nuse = \"energy-plan\"",
            "id = \"citergie\"\nintensity = 0.5\nuse = \"energy-plan\"",
        )
        .replace(
            "include = [\"referentiel.toml\"]",
            "include = [\"../../../../scenarios/referentiel.toml\"]",
        );
    assert_ne!(edited, text);
    std::fs::write(dir.join("malaunay.toml"), edited).unwrap();
    let mut with_set = simulation(200).overrides();
    with_set.sets = vec![
        "actor.staff.influenced_by.elected=0.1".into(),
        "lever.citergie.intensity=0.5".into(),
    ];
    let a = with_set.load(&scenarios().join("malaunay.toml")).unwrap();
    let b = simulation(200)
        .overrides()
        .load(&dir.join("malaunay.toml"))
        .unwrap();
    let (ra, rb) = (simulate(&a, 2), simulate(&b, 2));
    assert!(tables::trajectories(&ra) == tables::trajectories(&rb));
    assert!(tables::perpetuation(&ra) == tables::perpetuation(&rb));
}

#[test]
fn override_errors_point_at_the_argument() {
    let run = |args: &[&str]| {
        Command::cargo_bin("trajectoire")
            .unwrap()
            .args(["run", "--no-plots", "--quiet", "--runs", "10"])
            .arg(scenarios().join("malaunay.toml"))
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&["--set", "lever.citergy.intensity=0.5"]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("--set:1:13: unknown lever `citergy`") && e.contains("did you mean `citergie`"),
        "{e}"
    );
    let dir = out("recorded");
    Command::cargo_bin("trajectoire")
        .unwrap()
        .args([
            "run",
            "--no-plots",
            "--quiet",
            "--runs",
            "10",
            "--set",
            "scale.imitation=0.02",
            "--out",
        ])
        .arg(&dir)
        .arg(scenarios().join("malaunay.toml"))
        .assert()
        .success();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        json["overrides"][0], "scale.imitation=0.02",
        "summary.json records the overrides"
    );
    assert_eq!(json["model"]["territories"][0]["scale"]["imitation"], 0.02);
    let o = run(&["--set", "actor.staff.fatigue=2000"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("`fatigue` is 2000, outside 0 ..= 10"),
        "validated like the file: {e}"
    );
    let o = run(&["--set", "scale.imitation"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("an override is PATH=VALUE"));
    let o = Command::cargo_bin("trajectoire")
        .unwrap()
        .args(["compare", "--runs", "10"])
        .arg(scenarios().join("malaunay.toml"))
        .args(["--variant", "no colon here"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
