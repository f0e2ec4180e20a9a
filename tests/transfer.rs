//! `transfer`: an effect is exactly `compare`'s paired difference, for a method used and one
//! added, in a territory and inside a network; groups a territory lacks are dropped or make a
//! method not applicable; a territory without a library is refused; the same bytes at any
//! thread count and shard split.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use trajectoire::commands::common::{OutputOptions, SimulationOptions};
use trajectoire::commands::compare::CompareArgs;
use trajectoire::commands::split::Splittable;
use trajectoire::commands::transfer::TransferArgs;
use trajectoire::commands::Controls;
use trajectoire::stats::Estimate;
use trajectoire::study::transfer::{Status, Transfer};

use crate::common::scenarios;

fn out(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("transfer")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn runs(n: u64) -> SimulationOptions {
    SimulationOptions {
        runs: Some(n),
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

fn transfer(files: &[PathBuf], levers: &[&str], n: u64, dir: PathBuf) -> Transfer {
    TransferArgs {
        files: files.to_vec(),
        levers: levers.iter().map(|s| s.to_string()).collect(),
        simulation: runs(n),
        output: into(dir),
        ..TransferArgs::default()
    }
    .execute(&Controls::silent())
    .unwrap()
    .transfer
}

fn compared(
    files: &[PathBuf],
    variants: &[&str],
    outcomes: &[&str],
    n: u64,
    dir: PathBuf,
) -> Vec<Estimate> {
    let c = CompareArgs {
        files: files.to_vec(),
        variants: variants.iter().map(|s| s.to_string()).collect(),
        outcomes: outcomes.iter().map(|s| s.to_string()).collect(),
        simulation: runs(n),
        output: into(dir),
    }
    .execute(&Controls::silent())
    .unwrap()
    .comparison;
    c.scenarios[1].differences.clone().unwrap()
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// A copy of the scenarios folder with `extra` written at the end of `file`.
fn with_table(name: &str, file: &str, extra: &str) -> PathBuf {
    let dir = out(name);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["referentiel.toml", file] {
        std::fs::copy(scenarios().join(f), dir.join(f)).unwrap();
    }
    let path = dir.join(file);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(extra);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn an_effect_is_compares_paired_difference_for_a_method_used_and_one_added() {
    let file = scenarios().join("grande-synthe.toml");
    let t = transfer(
        std::slice::from_ref(&file),
        &["shared-narrative", "staff-training"],
        400,
        out("equal"),
    );
    let outcomes = [
        "perpetuation@312",
        "stabilisation@312",
        "scale@312",
        "spend",
    ];
    // Used: grande-synthe's lever `narrative` uses shared-narrative; without it is the lever
    // never acting, from the horizon on.
    let without = compared(
        std::slice::from_ref(&file),
        &["w: lever.narrative.from=312, lever.narrative.until=313"],
        &outcomes,
        400,
        out("equal-used"),
    );
    // Added: the file with the table written in.
    let with = with_table(
        "written",
        "grande-synthe.toml",
        "\n[[lever]]\nid = \"staff-training\"\nuse = \"staff-training\"\n",
    );
    let added = compared(
        &[file.clone(), with],
        &[],
        &outcomes,
        400,
        out("equal-added"),
    );
    for (lever, status, diffs, sign) in [
        ("shared-narrative", Status::Used, &without, -1.0),
        ("staff-training", Status::Added, &added, 1.0),
    ] {
        for (o, outcome) in outcomes.iter().enumerate() {
            let e = t
                .effects
                .iter()
                .find(|e| e.lever == lever && e.outcome == *outcome)
                .unwrap_or_else(|| panic!("{lever} {outcome}"));
            assert_eq!(e.status, status);
            let effect = e.effect.unwrap();
            let d = diffs[o];
            let (low, high) = if sign < 0.0 {
                (d.high, d.low)
            } else {
                (d.low, d.high)
            };
            assert!(
                same(effect.estimate, sign * d.estimate)
                    && same(effect.low, sign * low)
                    && same(effect.high, sign * high),
                "{lever} {outcome}: {effect:?} against compare's {d:?}"
            );
        }
    }
}

#[test]
fn inside_a_network_a_town_is_changed_with_its_peers_as_they_are() {
    let file = scenarios().join("villes-pairs.toml");
    let t = transfer(
        std::slice::from_ref(&file),
        &["staff-training"],
        200,
        out("network"),
    );
    // Malaunay uses staff-training (its lever `training`... whatever its id): the effect is
    // compare's with that lever off inside the network.
    let model = trajectoire::model::Model::load(&file).unwrap();
    let malaunay = model
        .territories
        .iter()
        .find(|t| t.id == "malaunay")
        .unwrap();
    let id = &malaunay
        .levers
        .iter()
        .find(|l| l.uses.as_deref() == Some("staff-training"))
        .unwrap()
        .id;
    let variant = format!("w: malaunay.lever.{id}.from=312, malaunay.lever.{id}.until=313");
    let diffs = compared(
        std::slice::from_ref(&file),
        &[&variant],
        &[
            "malaunay:stabilisation@312",
            "loos-en-gohelle:stabilisation@312",
        ],
        200,
        out("network-compare"),
    );
    let e = t
        .effects
        .iter()
        .find(|e| e.territory == "malaunay" && e.outcome == "stabilisation@312")
        .unwrap();
    assert_eq!(e.status, Status::Used);
    assert_eq!(e.effect.unwrap().estimate, 0.0 - diffs[0].estimate);
    assert!(e.effect.unwrap().low > 0.0, "training anchors staff: {e:?}");
    // Every town of the network has its row, and Le Mené adds the method.
    let le_mene = t
        .effects
        .iter()
        .find(|e| e.territory == "le-mene" && e.outcome == "stabilisation@312")
        .unwrap();
    assert_eq!(le_mene.status, Status::Added);
}

#[test]
fn groups_a_territory_lacks_are_dropped_or_make_a_method_not_applicable() {
    let dir = out("groups");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("library.toml"),
        r#"
[[lever]]
id = "inhabitants-and-staff"
cost = 100
push = { inhabitants = 0.01, staff = 0.01 }
[[lever]]
id = "staff-only"
cost = 100
anchor = { staff = 0.01 }
"#,
    )
    .unwrap();
    let town = dir.join("town.toml");
    std::fs::write(
        &town,
        r#"
include = ["library.toml"]
[territory]
id = "town"
population = 1000
horizon = 60
[simulation]
runs = 50
[[actor]]
id = "inhabitants"
engagement = 0.1
fatigue = 0.02
volatility = 0.02
"#,
    )
    .unwrap();
    let t = transfer(std::slice::from_ref(&town), &[], 50, dir.join("out"));
    fn of<'a>(
        t: &'a Transfer,
        lever: &'a str,
    ) -> impl Iterator<Item = &'a trajectoire::study::transfer::Effect> {
        t.effects.iter().filter(move |e| e.lever == lever)
    }
    assert!(of(&t, "staff-only").all(|e| e.status == Status::NotApplicable && e.effect.is_none()));
    assert!(of(&t, "inhabitants-and-staff").all(|e| e.status == Status::Added));
    let engagement = of(&t, "inhabitants-and-staff")
        .find(|e| e.outcome == "stabilisation@60")
        .unwrap();
    assert!(engagement
        .notes
        .iter()
        .any(|n| n.contains("staff") && n.contains("dropped")));
    assert!(t.notes.iter().any(|n| n.contains("not applicable")));
    // The same effect as the table written by hand without the group.
    std::fs::write(
        dir.join("written.toml"),
        std::fs::read_to_string(&town).unwrap()
            + "\n[[lever]]\nid = \"inhabitants-and-staff\"\nuse = \"inhabitants-and-staff\"\npush = { inhabitants = 0.01 }\n",
    )
    .unwrap();
    let d = compared(
        &[town.clone(), dir.join("written.toml")],
        &[],
        &["scale@60"],
        50,
        dir.join("compare"),
    );
    let e = of(&t, "inhabitants-and-staff")
        .find(|e| e.outcome == "scale@60")
        .unwrap();
    assert_eq!(e.effect.unwrap().estimate, d[0].estimate);
}

#[test]
fn a_territory_without_a_library_is_refused_and_unknown_methods_named() {
    let dir = out("no-library");
    std::fs::create_dir_all(&dir).unwrap();
    let plain = crate::common::one_group("engagement = 0.1", "", 24, 1);
    std::fs::write(dir.join("plain.toml"), plain).unwrap();
    let o = Command::cargo_bin("trajectoire")
        .unwrap()
        .args(["transfer", dir.join("plain.toml").to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("includes no lever library") && err.contains("--library"),
        "{err}"
    );
    // With --library, it has one.
    let o = Command::cargo_bin("trajectoire")
        .unwrap()
        .args(["transfer", dir.join("plain.toml").to_str().unwrap()])
        .args([
            "--library",
            scenarios().join("referentiel.toml").to_str().unwrap(),
        ])
        .args([
            "--runs",
            "1",
            "--no-plots",
            "--quiet",
            "--lever",
            "fifty-fifty",
        ])
        .args(["--out", dir.join("out").to_str().unwrap()])
        .output()
        .unwrap();
    // The plain territory has one group, `g`: fifty-fifty acts on inhabitants only.
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(dir.join("out/transfer.csv")).unwrap();
    assert!(csv.contains(",fifty-fifty,not applicable,"), "{csv}");
    let o = Command::cargo_bin("trajectoire")
        .unwrap()
        .args([
            "transfer",
            scenarios().join("malaunay.toml").to_str().unwrap(),
        ])
        .args(["--lever", "fifty-fifti"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("fifty-fifty"), "did you mean: {err}");
}

#[test]
fn the_same_bytes_at_any_thread_count_and_shard_split() {
    let dir = out("bytes");
    let file = scenarios().join("villes-pairs.toml");
    let base = [
        "transfer",
        file.to_str().unwrap(),
        "--runs",
        "60",
        "--lever",
        "fifty-fifty",
        "--lever",
        "energy-plan",
        "--quiet",
    ];
    let run = |threads: &str, folder: &str| {
        Command::cargo_bin("trajectoire")
            .unwrap()
            .args(base)
            .args([
                "--threads",
                threads,
                "--out",
                dir.join(folder).to_str().unwrap(),
            ])
            .assert()
            .success();
        std::fs::read(dir.join(folder).join("transfer.csv")).unwrap()
    };
    let one = run("1", "one");
    assert!(
        one == run("2", "two"),
        "transfer.csv differs between 1 and 2 threads"
    );
    let shards: Vec<PathBuf> = (1..=3)
        .map(|i| {
            let folder = dir.join(format!("machine-{i}"));
            Command::cargo_bin("trajectoire")
                .unwrap()
                .args(base)
                .args([
                    "--shard",
                    &format!("{i}/3"),
                    "--out",
                    folder.to_str().unwrap(),
                ])
                .assert()
                .success();
            folder.join(format!("shard-{i}-of-3.shard"))
        })
        .collect();
    Command::cargo_bin("trajectoire")
        .unwrap()
        .arg("merge")
        .args(&shards)
        .args(["--out", dir.join("merged").to_str().unwrap(), "--quiet"])
        .assert()
        .success();
    for name in ["transfer.csv", "transfer.json", "transfer-scale-312.svg"] {
        assert!(
            std::fs::read(dir.join("one").join(name)).unwrap()
                == std::fs::read(dir.join("merged").join(name)).unwrap(),
            "{name} differs between one machine and a merge"
        );
    }
}
