//! Nothing lost: atomic outputs, Ctrl-C, killed runs, refusal of huge work, numerical safety.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use trajectoire::model::Model;

use crate::common::{scenarios, simulate};

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("trajectoire")
}

fn fresh(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("robustness")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A run long enough to interrupt (about a minute when left alone).
fn long_run(out: &Path) -> Child {
    Process::new(bin())
        .args(["run", "--runs", "400000", "--no-plots", "--quiet", "--out"])
        .arg(out)
        .arg(scenarios().join("villes-pairs.toml"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: &str) {
    let ok = Process::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn small_run(out: &Path) {
    Command::new(bin())
        .args(["run", "--runs", "64", "--no-plots", "--quiet", "--out"])
        .arg(out)
        .arg(scenarios().join("malaunay.toml"))
        .assert()
        .success();
}

fn leftovers(parent: &Path) -> Vec<String> {
    std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn ctrl_c_stops_within_a_second_with_exit_130_and_keeps_previous_outputs() {
    let parent = fresh("ctrl-c");
    let out = parent.join("result");
    small_run(&out);
    let before = std::fs::read(out.join("trajectories.csv")).unwrap();
    let mut child = long_run(&out);
    std::thread::sleep(Duration::from_millis(1500));
    let sent = Instant::now();
    signal(&child, "-INT");
    let status = child.wait().unwrap();
    let elapsed = sent.elapsed();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        elapsed < Duration::from_secs(1),
        "stopped after {elapsed:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("interrupted"), "{stderr}");
    assert_eq!(std::fs::read(out.join("trajectories.csv")).unwrap(), before);
    assert!(leftovers(&parent).is_empty(), "{:?}", leftovers(&parent));
}

#[test]
fn a_killed_run_leaves_previous_outputs_whole_and_is_cleaned_next_time() {
    let parent = fresh("sigkill");
    let out = parent.join("result");
    small_run(&out);
    let before: Vec<Vec<u8>> = ["trajectories.csv", "summary.json"]
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect();
    let mut child = long_run(&out);
    std::thread::sleep(Duration::from_millis(1500));
    signal(&child, "-KILL");
    child.wait().unwrap();
    let after: Vec<Vec<u8>> = ["trajectories.csv", "summary.json"]
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect();
    assert!(before == after, "previous outputs changed");
    assert_eq!(
        leftovers(&parent).len(),
        1,
        "the killed run's staging folder is left"
    );
    small_run(&out);
    assert!(
        leftovers(&parent).is_empty(),
        "cleaned by the next run: {:?}",
        leftovers(&parent)
    );
}

#[test]
fn an_unwritable_output_folder_fails_with_exit_3_before_simulating() {
    let parent = fresh("unwritable");
    std::fs::write(parent.join("a-file"), "").unwrap();
    let out = Command::new(bin())
        .args(["run", "--runs", "400000", "--quiet", "--out"])
        .arg(parent.join("a-file").join("out"))
        .arg(scenarios().join("villes-pairs.toml"))
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("a-file/out") && stderr.contains("cannot create the output folder"),
        "{stderr}"
    );
    // Before simulating: no run was ever reported done, for any command that writes.
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use trajectoire::commands::common::{OutputOptions, SimulationOptions};
    use trajectoire::commands::split::Splittable;
    let calls = AtomicU64::new(0);
    let count = |_: u64, _: u64| {
        calls.fetch_add(1, Ordering::Relaxed);
    };
    let never = AtomicBool::new(false);
    let controls = trajectoire::commands::Controls {
        progress: &count,
        cancel: &never,
    };
    let output = OutputOptions {
        out: Some(parent.join("a-file").join("out")),
        ..OutputOptions::default()
    };
    let simulation = SimulationOptions {
        runs: Some(2000),
        ..SimulationOptions::default()
    };
    let run = trajectoire::commands::run::RunArgs {
        file: scenarios().join("villes-pairs.toml"),
        simulation: simulation.clone(),
        output: output.clone(),
    };
    let sweep = trajectoire::commands::sweep::SweepArgs {
        file: scenarios().join("malaunay.toml"),
        varies: vec!["lever.citergie.intensity=0..2:5".into()],
        simulation,
        output,
        ..Default::default()
    };
    for e in [
        run.execute(&controls).unwrap_err(),
        sweep.execute(&controls).unwrap_err(),
    ] {
        assert_eq!(e.exit_code(), 3, "{}", e.render(false));
    }
    assert_eq!(calls.load(Ordering::Relaxed), 0, "a simulation started");
}

#[test]
fn huge_work_is_refused_up_front_with_an_estimate() {
    let out = Command::new(bin())
        .args([
            "run",
            "--runs",
            "10000000",
            "--substeps",
            "1000",
            "--no-plots",
        ])
        .arg(scenarios().join("villes-pairs.toml"))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("would take about") && stderr.contains("hours"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-long"), "{stderr}");
}

/// Every rate at its maximum, one substep, the longest horizon: nothing may become NaN or
/// infinite anywhere in the outputs.
#[test]
fn extreme_valid_values_never_produce_nan_or_infinity() {
    let mut text = String::from(
        "[territory]\nid = \"x\"\npopulation = 1e10\nhorizon = 1200\nbudget = 1e12\n[simulation]\nruns = 64\nsubsteps = 1\n\
         [scale]\ninnovation = 10\nimitation = 10\ninitial = 1\npotential = 1e10\n[perpetuation]\ncollapse = 1\ngrace = 1\n",
    );
    for g in ["a", "b"] {
        text.push_str(&format!(
            "[[actor]]\nid = \"{g}\"\nweight = 1e6\nengagement = 1\nanchored = 1\nadoption = 10\nfatigue = 10\nerosion = 10\nvolatility = 10\ninfluenced_by = {{ a = 10, b = 10 }}\n"
        ));
    }
    text.push_str("[[phase]]\nid = \"p\"\n[[phase]]\nid = \"q\"\nenter = { engagement = 0 }\nfallback = { scale = 1 }\neffect = { push = 100, retain = 100, anchor = 100, reach = 100 }\n");
    text.push_str("[[lever]]\nid = \"l\"\ncost = 1e12\nintensity = 100\nramp = 1200\npush = { a = 10, b = 10 }\nretain = { a = 1 }\nanchor = { a = 10 }\nreach = 10\n");
    text.push_str(
        "[[shock]]\nid = \"s\"\nrate = 10\nhits = { a = 1, b = 1 }\npause = { l = 100000 }\n",
    );
    let m = Model::parse(&scenarios().join("extreme.toml"), &text).unwrap();
    let r = simulate(&m, 2);
    for t in &r.territories {
        let mut numbers: Vec<f64> = vec![t.spend.mean];
        numbers.extend(t.spend.quantiles);
        for s in &t.series {
            numbers.extend(&s.mean);
            numbers.extend(s.quantiles.iter().flatten());
        }
        numbers.extend(t.perpetuation.iter().flat_map(|p| [p.share, p.low, p.high]));
        numbers.extend(t.phase_share.iter().flatten());
        numbers.extend(
            t.phase_entries
                .iter()
                .flat_map(|e| e.quantiles.unwrap_or_default()),
        );
        assert!(
            numbers.iter().all(|x| x.is_finite()),
            "a non-finite number in the results"
        );
    }
    let json: serde_json::Value =
        serde_json::from_slice(&trajectoire::output::json::summary(&m, &[], &r)).unwrap();
    assert!(json["results"]["territories"][0]["spend"]["mean"]
        .as_f64()
        .unwrap()
        .is_finite());
    for bytes in [
        trajectoire::output::tables::trajectories(&r),
        trajectoire::output::tables::perpetuation(&r),
        trajectoire::output::tables::phases(&r),
        trajectoire::output::tables::phase_entries(&r),
    ] {
        let text = String::from_utf8(bytes).unwrap();
        for cell in text.lines().skip(1).flat_map(|l| l.split(',').skip(2)) {
            if !cell.is_empty() && cell.parse::<f64>().is_ok() {
                assert!(cell.parse::<f64>().unwrap().is_finite(), "{cell}");
            }
        }
        assert!(!text.contains("NaN") && !text.contains("inf"));
    }
    assert!(r.territories[0].spend.mean.is_finite());
}

#[test]
fn ctrl_c_stops_a_calibration_within_a_second_and_writes_nothing() {
    let parent = fresh("ctrl-c-calibrate");
    let out = parent.join("out");
    let child = Process::new(bin())
        .arg("calibrate")
        .arg(scenarios().join("malaunay.toml"))
        .arg("--observed")
        .arg(scenarios().join("malaunay-observed.csv"))
        .args(["--vary", "lever.citergie.intensity=0..2", "--out"])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let sent = Instant::now();
    signal(&child, "-INT");
    let output = child.wait_with_output().unwrap();
    let elapsed = sent.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        elapsed < Duration::from_secs(1),
        "stopped after {elapsed:?}"
    );
    assert!(stderr.starts_with("interrupted"), "{stderr}");
    assert!(!out.exists());
    assert!(leftovers(&parent).is_empty(), "{:?}", leftovers(&parent));
}
