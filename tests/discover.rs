//! `discover`: PRIM's boxes equal EMA Workbench's on the cases the command makes (when EMA is
//! installed: `TRAJECTOIRE_PYTHON_CHECKS=1` makes its absence a failure); a planted box on an analytic
//! case is found and a parameter without effect is not restricted; `--where` is checked before
//! any work; points without an estimate are counted and said; the same bytes at any thread
//! count and shard split.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;

use crate::common::{python_with, scenarios};

fn out(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("discover")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn trajectoire() -> Command {
    Command::cargo_bin("trajectoire").unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn boxes_equal_ema_workbenchs_prim_on_the_cases_made() {
    let dir = out("ema");
    let file = scenarios().join("grande-synthe.toml");
    // A continuous lever intensity, a budget, and a month (whole numbers: EMA's int column).
    trajectoire()
        .args(["discover", path(&file)])
        .args(["--vary", "lever.cooperation.intensity=0..2"])
        .args(["--vary", "territory.budget=4000..20000"])
        .args(["--vary", "lever.narrative.from=0..120"])
        .args(["--where", "perpetuation@end >= 0.95"])
        .args(["--design", "lhs:300", "--runs", "100", "--boxes", "3"])
        .args(["--no-plots", "--quiet", "--out", path(&dir)])
        .assert()
        .success();
    let trajectory = std::fs::read_to_string(dir.join("trajectory.csv")).unwrap();
    assert!(trajectory.lines().count() > 10, "{trajectory}");
    let Some(python) = python_with(
        "ema_workbench.analysis.prim",
        "the EMA Workbench cross-check of discover",
    ) else {
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/prim_check.py");
    let o = Process::new(&python)
        .arg(script)
        .args([path(&dir), "0.8", "0.05", "0.05", "0.05"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "EMA's PRIM differs:\n{said}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(said.starts_with("OK"), "{said}");
}

/// A deterministic town whose engagement after a year is E0·(1 − δ/4)^48: the goal
/// `engagement@12 >= 0.4` holds exactly where the fatigue δ is at most
/// 4·(1 − 0.8^(1/48)) ≈ 0.01855. The reach's potential and the cost of a lever without a
/// budget change nothing.
#[test]
fn a_planted_box_is_found_and_a_parameter_without_effect_is_not_restricted() {
    let dir = out("planted");
    std::fs::create_dir_all(&dir).unwrap();
    let town = dir.join("town.toml");
    std::fs::write(
        &town,
        r#"
[territory]
id = "town"
population = 1000
horizon = 24
[simulation]
runs = 1
[[actor]]
id = "inhabitants"
engagement = 0.5
fatigue = 0.02
[[lever]]
id = "talks"
cost = 100
push = { inhabitants = 0 }
"#,
    )
    .unwrap();
    trajectoire()
        .args(["discover", path(&town)])
        .args(["--vary", "actor.inhabitants.fatigue=0..0.05"])
        .args(["--vary", "scale.potential=100..1000"])
        .args(["--vary", "lever.talks.cost=0..5000"])
        .args(["--where", "engagement@12 >= 0.4"])
        .args([
            "--design",
            "lhs:400",
            "--quiet",
            "--out",
            path(&dir.join("out")),
        ])
        .assert()
        .success();
    let boxes = std::fs::read_to_string(dir.join("out/boxes.csv")).unwrap();
    let rows: Vec<Vec<&str>> = boxes
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let of = |name: &str| rows.iter().find(|r| r[5] == name).unwrap().clone();
    let fatigue = of("actor.inhabitants.fatigue");
    let cut = 4.0 * (1.0 - 0.8f64.powf(1.0 / 48.0));
    assert_eq!(fatigue[6], "1", "the fatigue is restricted: {boxes}");
    let high: f64 = fatigue[8].parse().unwrap();
    // The upper limit lies between the two sampled fatigues around the cut (400 points over
    // 0.05: about 0.000125 apart; a midpoint, so within one gap).
    assert!((high - cut).abs() < 0.0005, "{high} against {cut}");
    assert_eq!(fatigue[4], "1", "kept");
    // Density 1, and nearly all the region: peeling stops once the density is 1, a slice of
    // the region's top edge off (pasting only grows a box where the density rises).
    let coverage: f64 = fatigue[1].parse().unwrap();
    assert_eq!(fatigue[2], "1", "{boxes}");
    assert!(coverage > 0.95, "{boxes}");
    // The lower side is the data's edge: not restricted (no quasi-p).
    assert_eq!(fatigue[9], "", "{boxes}");
    for idle in ["scale.potential", "lever.talks.cost"] {
        assert_eq!(of(idle)[6], "0", "{idle} has no effect: {boxes}");
    }
}

#[test]
fn where_is_checked_before_any_work() {
    let file = scenarios().join("malaunay.toml");
    for (goal, says) in [
        ("perpetuashun@end >= 0.9", "perpetuation"),
        (
            "perpetuation@end => 0.9",
            "column 18: `=>` is not a comparison here: write `>=`",
        ),
        ("perpetuation@end >= lots", "--where"),
    ] {
        let o = trajectoire()
            .args([
                "discover",
                path(&file),
                "--vary",
                "lever.citergie.intensity=0..2",
            ])
            .args([
                "--where",
                goal,
                "--runs",
                "400000",
                "--design",
                "lhs:100000",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{goal}: {err}");
        assert!(
            err.contains("--where") && err.contains(says),
            "{goal}: {err}"
        );
    }
    let o = trajectoire()
        .args([
            "discover",
            path(&file),
            "--vary",
            "lever.citergie.intensity=0..2",
        ])
        .args(["--where", "scale@end >= 0.5", "--threshold", "1.5"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--threshold 1.5"));
}

/// Take-off needs engagement at 0.3: the towns whose adoption is too low never enter it, and
/// their entry month has no estimate.
#[test]
fn points_without_an_estimate_are_counted_and_said() {
    let dir = out("missing");
    std::fs::create_dir_all(&dir).unwrap();
    let town = dir.join("town.toml");
    std::fs::write(
        &town,
        r#"
[territory]
id = "town"
population = 1000
horizon = 60
[simulation]
runs = 1
[[actor]]
id = "inhabitants"
engagement = 0.1
fatigue = 0.02
[[phase]]
id = "predevelopment"
[[phase]]
id = "take-off"
enter = { engagement = 0.3 }
"#,
    )
    .unwrap();
    let o = trajectoire()
        .args(["discover", path(&town)])
        .args(["--vary", "actor.inhabitants.adoption=0..0.05"])
        .args(["--where", "entry(take-off) <= 30", "--design", "lhs:60"])
        .args(["--no-plots", "--out", path(&dir.join("out"))])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cases = std::fs::read_to_string(dir.join("out/cases.csv")).unwrap();
    let empty = cases.lines().filter(|l| l.ends_with(",,")).count();
    assert!(empty > 0 && empty < 60, "{cases}");
    assert!(
        said.contains(&format!("{empty} of the 60 points have no estimate")),
        "{said}"
    );
    let json = std::fs::read_to_string(dir.join("out/discover.json")).unwrap();
    assert!(json.contains(&format!("\"points_without_estimate\": {empty}")));
}

#[test]
fn the_same_bytes_at_any_thread_count_and_shard_split() {
    let dir = out("bytes");
    let file = scenarios().join("malaunay.toml");
    let args = [
        "discover",
        path(&file),
        "--vary",
        "lever.citergie.intensity=0..2",
        "--vary",
        "lever.citergie.from=0..60",
        "--where",
        "scale@end >= 0.5",
        "--design",
        "lhs:40",
        "--runs",
        "50",
        "--quiet",
    ]
    .map(String::from);
    let run = |extra: &[&str], folder: &str| {
        trajectoire()
            .args(&args)
            .args(extra)
            .args(["--out", path(&dir.join(folder))])
            .assert()
            .success();
    };
    run(&["--threads", "1"], "one");
    run(&["--threads", "2"], "two");
    for i in 1..=3 {
        run(&["--shard", &format!("{i}/3")], &format!("part-{i}"));
    }
    let shards: Vec<PathBuf> = (1..=3)
        .map(|i| dir.join(format!("part-{i}/shard-{i}-of-3.shard")))
        .collect();
    trajectoire()
        .arg("merge")
        .args(&shards)
        .args(["--out", path(&dir.join("merged")), "--quiet"])
        .assert()
        .success();
    for name in ["cases.csv", "trajectory.csv", "boxes.csv", "tradeoff.svg"] {
        let one = std::fs::read(dir.join("one").join(name)).unwrap();
        assert!(
            one == std::fs::read(dir.join("two").join(name)).unwrap(),
            "{name}: threads"
        );
        assert!(
            one == std::fs::read(dir.join("merged").join(name)).unwrap(),
            "{name}: shards"
        );
    }
}
