//! Beyond one machine: shards merged into exactly what one machine writes, every refusal of
//! shards that do not fit, a fuzzed shard never panicking `merge`, and `slurm` on a real Slurm
//! cluster (.ci/slurm sets one up; TRAJECTOIRE_SLURM=1 makes its absence a failure).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use trajectoire::commands::merge::MergeArgs;
use trajectoire::commands::Controls;
use trajectoire::output::shard::{decode, encode, MAGIC};

use crate::common::scenarios;

fn trajectoire() -> Command {
    Command::cargo_bin("trajectoire").unwrap()
}

fn out(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cluster")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Runs `args` (+ `--out`, `--shard I/N`) for I in 1..=n and returns the shard files.
fn shards(args: &[&str], dir: &Path, n: u32) -> Vec<PathBuf> {
    (1..=n)
        .map(|i| {
            trajectoire()
                .args(args)
                .args([
                    "--out",
                    &path(dir),
                    "--shard",
                    &format!("{i}/{n}"),
                    "--quiet",
                ])
                .assert()
                .success();
            dir.join(format!("shard-{i}-of-{n}.shard"))
        })
        .collect()
}

fn merged(files: &[PathBuf], into: &Path, extra: &[&str]) {
    trajectoire()
        .arg("merge")
        .args(files)
        .args(["--out", &path(into), "--quiet"])
        .args(extra)
        .assert()
        .success();
}

/// summary.json without what may differ: the wall time and the record of the shards.
fn summary_without_times(dir: &Path) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.remove("wall_seconds");
                map.remove("shards");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    strip(&mut v);
    v
}

/// Every file of `single` is in `merged` with the same bytes (summary.json: but for times),
/// and `merged` has no other file.
fn same_outputs(single: &Path, merged: &Path) {
    // Shard files a merge carried over into its folder are not outputs.
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".shard"))
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(single), names(merged), "the same files");
    for name in names(single) {
        if name == "summary.json" {
            assert_eq!(summary_without_times(single), summary_without_times(merged));
            let record: serde_json::Value =
                serde_json::from_slice(&std::fs::read(merged.join(&name)).unwrap()).unwrap();
            assert!(
                record["shards"]["count"].as_u64().is_some(),
                "the shards are recorded"
            );
            continue;
        }
        assert!(
            std::fs::read(single.join(&name)).unwrap()
                == std::fs::read(merged.join(&name)).unwrap(),
            "{name} differs between one machine and the merged shards ({})",
            merged.display()
        );
    }
}

fn network() -> String {
    path(&scenarios().join("villes-pairs.toml"))
}

fn grande_synthe() -> String {
    path(&scenarios().join("grande-synthe.toml"))
}

/// The four towns at 200 runs (not divisible by 3 or 7), split in 1, 2, 3 and 7 shards.
#[test]
fn merged_shards_equal_the_single_run() {
    let file = network();
    let dir = out("run");
    let single = dir.join("single");
    trajectoire()
        .args([
            "run",
            &file,
            "--runs",
            "200",
            "--out",
            &path(&single),
            "--quiet",
        ])
        .assert()
        .success();
    for n in [1, 2, 3, 7] {
        let parts = shards(
            &["run", &file, "--runs", "200"],
            &dir.join(format!("parts-{n}")),
            n,
        );
        let into = dir.join(format!("merged-{n}"));
        merged(&parts, &into, &[]);
        same_outputs(&single, &into);
    }
    // --no-plots on the merge leaves the plots out and the tables as they are.
    let parts = shards(&["run", &file, "--runs", "200"], &dir.join("parts-np"), 2);
    let tables = dir.join("tables");
    merged(&parts, &tables, &["--no-plots"]);
    assert!(!tables.join("dashboard.png").exists());
    assert!(
        std::fs::read(tables.join("trajectories.csv")).unwrap()
            == std::fs::read(single.join("trajectories.csv")).unwrap()
    );
    // Tasks on separate machines write to their own folders, with their own threads and
    // quiet: the work is the same, so the shards merge, and into the first one's folder
    // when merge is not told where.
    let folders: Vec<PathBuf> = (1..=3).map(|i| dir.join(format!("machine-{i}"))).collect();
    let parts: Vec<PathBuf> = folders
        .iter()
        .enumerate()
        .map(|(k, folder)| {
            let mut task = trajectoire();
            task.args(["run", &file, "--runs", "200", "--out", &path(folder)])
                .args(["--shard", &format!("{}/3", k + 1)])
                .args(["--threads", &(1 + k % 2).to_string()]);
            if k == 1 {
                task.arg("--quiet");
            }
            task.assert().success();
            folder.join(format!("shard-{}-of-3.shard", k + 1))
        })
        .collect();
    let reversed: Vec<PathBuf> = parts.iter().rev().cloned().collect();
    trajectoire()
        .arg("merge")
        .args(&reversed)
        .arg("--quiet")
        .assert()
        .success();
    same_outputs(&single, &folders[0]);
    assert!(
        folders[0].join("shard-1-of-3.shard").exists(),
        "carried over"
    );
}

/// test, compare, sweep (fewer points than shards, and more) and sensitivity: merged, the
/// outputs of one machine.
#[test]
fn every_command_merges_to_its_single_machine_outputs() {
    let file = grande_synthe();
    let dir = out("commands");
    let variant = "more: lever.cooperation.intensity=1.5";
    let cases: [(&str, Vec<&str>, u32); 4] = [
        (
            "compare",
            vec!["compare", &file, "--variant", variant, "--runs", "150"],
            3,
        ),
        (
            "sweep-few-points",
            vec![
                "sweep",
                &file,
                "--vary",
                "lever.cooperation.intensity=0..2:3",
                "--runs",
                "100",
                "--no-plots",
            ],
            7,
        ),
        (
            "sweep-many-points",
            vec![
                "sweep",
                &file,
                "--vary",
                "lever.cooperation.intensity=0..2:9",
                "--runs",
                "40",
                "--no-plots",
            ],
            4,
        ),
        (
            "sensitivity",
            vec![
                "sensitivity",
                &file,
                "--vary",
                "lever.cooperation.intensity=0..2",
                "--vary",
                "lever.narrative.intensity=0..2",
                "--method",
                "morris:4",
                "--runs",
                "40",
                "--bootstrap",
                "100",
            ],
            3,
        ),
    ];
    for (name, args, n) in cases {
        let single = dir.join(format!("{name}-single"));
        trajectoire()
            .args(&args)
            .args(["--out", &path(&single), "--quiet"])
            .assert()
            .success();
        let parts = shards(&args, &dir.join(format!("{name}-parts")), n);
        let into = dir.join(format!("{name}-merged"));
        merged(&parts, &into, &[]);
        same_outputs(&single, &into);
    }
    // test: the same table and the same exit code.
    let args = ["test", &file, "--runs", "300"];
    let single = trajectoire().args(args).output().unwrap();
    let parts = shards(&args, &dir.join("test-parts"), 3);
    let merged = trajectoire().arg("merge").args(&parts).output().unwrap();
    assert_eq!(single.stdout, merged.stdout);
    assert_eq!(single.status.code(), merged.status.code());
    assert!(String::from_utf8_lossy(&merged.stdout).contains("supported"));
}

/// Rewrites a shard file's header with `edit`, keeping its checksum valid.
fn rewrite(file: &Path, to: &Path, edit: impl FnOnce(&mut trajectoire::output::shard::Header)) {
    let bytes = std::fs::read(file).unwrap();
    let (mut header, payload) = decode(file, &bytes[MAGIC.len() + 1..]).unwrap();
    edit(&mut header);
    std::fs::write(to, encode(&header, &payload)).unwrap();
}

/// Each refusal: exit 1, the offending file named with what is wrong, nothing written.
#[test]
fn merge_refuses_shards_that_do_not_fit() {
    let file = grande_synthe();
    let dir = out("refusals");
    let base = ["run", file.as_str(), "--no-plots"];
    let other = |name: &str, extra: &[&str], n: u32| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        if !extra.contains(&"--runs") {
            args.extend_from_slice(&["--runs", "60"]);
        }
        shards(&args, &dir.join(name), n)
    };
    let good = other("good", &[], 3);
    let seed = other("seed", &["--seed", "7"], 3);
    let runs = other("runs", &["--runs", "61"], 3);
    let substeps = other("substeps", &["--substeps", "2"], 3);
    let set = other("set", &["--set", "lever.cooperation.intensity=1.5"], 3);
    let four = other("four", &[], 4);
    let test = shards(&["test", &file, "--runs", "60"], &dir.join("test"), 3);
    let version = dir.join("version.shard");
    rewrite(&good[1], &version, |h| h.program = "0.4.0".into());
    let truncated = dir.join("truncated.shard");
    let bytes = std::fs::read(&good[1]).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let corrupted = dir.join("corrupted.shard");
    let mut flipped = bytes.clone();
    let at = flipped.len() - 100;
    flipped[at] ^= 0x01;
    std::fs::write(&corrupted, &flipped).unwrap();
    let not_a_shard = scenarios().join("grande-synthe.toml");
    let copy = dir.join("copy-of-shard-1.shard");
    std::fs::copy(&good[0], &copy).unwrap();

    let good_dir = dir.join("good");
    let cases: Vec<(&str, Vec<&PathBuf>, &Path, &str)> = vec![
        (
            "missing",
            vec![&good[0], &good[2]],
            &good_dir,
            "shard 2 of 3 is missing",
        ),
        (
            "twice",
            vec![&good[0], &good[1], &good[1], &good[2]],
            &good[1],
            "given twice",
        ),
        (
            "a copy",
            vec![&good[0], &good[1], &good[2], &copy],
            &copy,
            "given twice",
        ),
        (
            "seed",
            vec![&good[0], &seed[1], &good[2]],
            &seed[1],
            "its seed is 7",
        ),
        (
            "runs",
            vec![&good[0], &runs[1], &good[2]],
            &runs[1],
            "number of runs is 61",
        ),
        (
            "substeps",
            vec![&good[0], &substeps[1], &good[2]],
            &substeps[1],
            "number of substeps is 2",
        ),
        (
            "overrides",
            vec![&good[0], &set[1], &good[2]],
            &set[1],
            "another scenario",
        ),
        (
            "N",
            vec![&good[0], &four[1], &good[2]],
            &four[1],
            "number of shards is 4",
        ),
        (
            "command",
            vec![&good[0], &test[1], &good[2]],
            &test[1],
            "command is `test`",
        ),
        (
            "version",
            vec![&version, &good[0], &good[2]],
            &version,
            "written by trajectoire 0.4.0",
        ),
        (
            "truncated",
            vec![&good[0], &truncated, &good[2]],
            &truncated,
            "truncated",
        ),
        (
            "corrupted",
            vec![&good[0], &corrupted, &good[2]],
            &corrupted,
            "checksum",
        ),
        (
            "not a shard",
            vec![&good[0], &not_a_shard, &good[2]],
            &not_a_shard,
            "not a shard file",
        ),
    ];
    for (what, files, named, says) in cases {
        let into = dir.join(format!("out-{}", what.replace(' ', "-")));
        let o = trajectoire()
            .arg("merge")
            .args(&files)
            .args(["--out", &path(&into)])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{what}: {err}");
        assert!(
            err.contains(&path(named)),
            "{what}: names {}: {err}",
            named.display()
        );
        assert!(err.contains(says), "{what}: says `{says}`: {err}");
        assert!(err.contains("nothing was written"), "{what}: {err}");
        assert!(!into.exists(), "{what}: nothing written");
    }
    // A scenario changed since the shards ran.
    let moved = dir.join("changed.toml");
    std::fs::copy(&file, &moved).unwrap();
    std::fs::copy(
        scenarios().join("referentiel.toml"),
        dir.join("referentiel.toml"),
    )
    .unwrap();
    let parts = shards(
        &["run", &path(&moved), "--runs", "60", "--no-plots"],
        &dir.join("changed"),
        2,
    );
    let text = std::fs::read_to_string(&moved)
        .unwrap()
        .replacen("seed = ", "seed = 1", 1);
    std::fs::write(&moved, text).unwrap();
    let o = trajectoire()
        .arg("merge")
        .args(&parts)
        .args(["--out", &path(&dir.join("out-changed"))])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("not those these shards simulated"), "{err}");
    // The shards given in good order merge.
    merged(&good, &dir.join("out-good"), &[]);
}

/// A shard damaged in any way — raw bytes, or its header's fields and its payload with the
/// checksum made valid again — is refused and never panics `merge`.
#[test]
fn a_fuzzed_shard_never_panics_merge() {
    let dir = out("fuzz");
    let file = grande_synthe();
    let run = shards(
        &["run", &file, "--runs", "20", "--no-plots"],
        &dir.join("run"),
        2,
    );
    let sweep = shards(
        &[
            "sweep",
            &file,
            "--vary",
            "lever.cooperation.intensity=0..2:3",
            "--runs",
            "10",
            "--no-plots",
        ],
        &dir.join("sweep"),
        2,
    );
    let controls = Controls::silent();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let bad = dir.join("bad.shard");
    let mut refused = 0;
    // More rounds with TRAJECTOIRE_FUZZ_ROUNDS.
    let rounds: usize = std::env::var("TRAJECTOIRE_FUZZ_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(240);
    for round in 0..rounds {
        let set = if round % 2 == 0 { &run } else { &sweep };
        let bytes = std::fs::read(&set[1]).unwrap();
        let (mut header, mut payload) = decode(&set[1], &bytes[MAGIC.len() + 1..]).unwrap();
        match round % 4 {
            // Raw bytes flipped or cut.
            0 => {
                let mut b = bytes.clone();
                for _ in 0..1 + next() % 4 {
                    let i = (next() % b.len() as u64) as usize;
                    b[i] ^= 1 << (next() % 8);
                }
                if next() % 3 == 0 {
                    b.truncate((next() % b.len() as u64) as usize);
                }
                std::fs::write(&bad, b).unwrap();
            }
            // The payload damaged, re-encoded with a valid checksum.
            1 | 2 => {
                for _ in 0..1 + next() % 8 {
                    let i = (next() % payload.len() as u64) as usize;
                    payload[i] = next() as u8;
                }
                if next() % 4 == 0 {
                    payload.truncate((next() % payload.len() as u64) as usize);
                }
                std::fs::write(&bad, encode(&header, &payload)).unwrap();
            }
            // Header fields changed, re-encoded with a valid checksum.
            _ => {
                match next() % 5 {
                    0 => header.shard = (next() % 5) as u32,
                    1 => header.shards = (next() % 5) as u32,
                    2 => header.runs = next() % 100,
                    3 => header.job = serde_json::json!({"run": {"file": 3}}),
                    _ => header.points = next() % 10,
                }
                std::fs::write(&bad, encode(&header, &payload)).unwrap();
            }
        }
        let files = [set[0].clone(), bad.clone()];
        let into = dir.join("out");
        let result = MergeArgs {
            shards: files.to_vec(),
            out: Some(into.clone()),
            no_plots: true,
            threads: Some(1),
            quiet: true,
        }
        .execute(&controls);
        if let Err(e) = result {
            refused += 1;
            assert!(e.exit_code() == 1 || e.exit_code() == 2, "{e}");
        }
        let _ = std::fs::remove_dir_all(&into);
    }
    assert!(
        refused * 10 > rounds * 8,
        "{refused} of {rounds} damaged shards refused"
    );
}

/// Without --submit: the array script (one task per shard, `%A_%a` logs, the sbatch options
/// passed through) and the merge script, and the two sbatch lines printed; commands it cannot
/// split are refused before anything is written.
#[test]
fn slurm_writes_an_array_job_and_a_merge_job() {
    let dir = out("slurm-scripts");
    let target = dir.join("vp");
    let o = trajectoire()
        .args([
            "slurm",
            "--tasks",
            "4",
            "--sbatch=--partition=short",
            "--sbatch=--time=00:10:00",
            "--",
        ])
        .args(["run", &network(), "--runs", "1000", "--out", &path(&target)])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("sbatch --parsable") && stdout.contains("--dependency=afterok:"),
        "{stdout}"
    );
    let folder = dir.join("vp-slurm");
    let array = std::fs::read_to_string(folder.join("array.sh")).unwrap();
    let merge = std::fs::read_to_string(folder.join("merge.sh")).unwrap();
    for line in [
        "#SBATCH --array=1-4",
        "%A_%a.out",
        "%A_%a.err",
        "--shard \"$SLURM_ARRAY_TASK_ID/4\"",
        "--runs 1000",
    ] {
        assert!(array.contains(line), "array.sh has {line}:\n{array}");
    }
    for script in [&array, &merge] {
        assert!(
            script.contains("#SBATCH --partition=short")
                && script.contains("#SBATCH --time=00:10:00")
        );
    }
    assert!(
        merge.contains("merge")
            && merge.contains("shard-*-of-4.shard")
            && merge.contains(&path(&target))
    );
    assert!(folder.join("logs").is_dir() && folder.join("shards").is_dir());
    for (args, says) in [
        (
            vec!["--tasks", "4", "--", "check", "x.toml"],
            "run, test, compare, sweep or sensitivity",
        ),
        (vec!["--tasks", "0", "--", "run", "x.toml"], "--tasks 0"),
        (
            vec!["--tasks", "2", "--", "run", "--shard", "1/2", "x.toml"],
            "leave --shard out",
        ),
        (
            vec!["--tasks", "2", "--", "run", "--bogus", "x.toml"],
            "cannot be read",
        ),
        (
            vec![
                "--tasks",
                "2",
                "--sbatch=--array=1-3",
                "--",
                "run",
                "x.toml",
            ],
            "sets --array itself",
        ),
    ] {
        let o = trajectoire().arg("slurm").args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // More tasks than runs: refused before any script is written.
    let o = trajectoire()
        .args([
            "slurm",
            "--tasks",
            "50",
            "--",
            "run",
            &network(),
            "--runs",
            "10",
            "--out",
            &path(&dir.join("tiny")),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.join("tiny-slurm").exists());
}

/// Whether a Slurm cluster answers here.
fn slurm_up() -> bool {
    std::process::Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

/// Waits until none of `jobs` is in the queue.
fn wait_for(jobs: &[String]) {
    let list = jobs.join(",");
    for _ in 0..600 {
        let o = std::process::Command::new("squeue")
            .args(["-h", "-j", &list])
            .output()
            .unwrap();
        if o.stdout.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("jobs {list} still queued after 5 minutes");
}

/// The job ids `slurm --submit` printed.
fn job_ids(stdout: &str) -> Vec<String> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Follow them with: squeue -j "))
        .unwrap();
    line.trim_start_matches("Follow them with: squeue -j ")
        .split(',')
        .map(str::to_string)
        .collect()
}

/// On a real Slurm: the four towns as a 4-task array, and a sweep, submitted; once the queue
/// is empty the output folders hold what one machine writes, byte for byte.
#[test]
fn slurm_runs_the_work_on_a_real_cluster() {
    if !slurm_up() {
        assert!(
            std::env::var_os("TRAJECTOIRE_SLURM").is_none(),
            "TRAJECTOIRE_SLURM is set but no Slurm cluster answers (run .ci/slurm)"
        );
        crate::common::skipped(
            "slurm_runs_the_work_on_a_real_cluster",
            "no Slurm cluster here (.ci/slurm sets one up; TRAJECTOIRE_SLURM=1 makes it a failure)",
        );
        return;
    }
    let dir = out("slurm-real");
    let file = network();
    let sweep_file = grande_synthe();
    let jobs: [(&str, Vec<&str>); 2] = [
        ("network", vec!["run", &file, "--runs", "400"]),
        (
            "sweep",
            vec![
                "sweep",
                &sweep_file,
                "--vary",
                "lever.cooperation.intensity=0..2:3",
                "--runs",
                "200",
            ],
        ),
    ];
    let mut ids = Vec::new();
    for (name, args) in &jobs {
        let target = dir.join(name);
        let o = trajectoire()
            .current_dir(&dir)
            .args(["slurm", "--tasks", "4", "--submit", "--"])
            .args(args)
            .args(["--out", &path(&target)])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        ids.extend(job_ids(&stdout));
    }
    wait_for(&ids);
    for (name, args) in &jobs {
        let single = dir.join(format!("{name}-single"));
        trajectoire()
            .args(args)
            .args(["--out", &path(&single), "--quiet"])
            .assert()
            .success();
        let folder = dir.join(format!("{name}-slurm"));
        let logs: Vec<String> = std::fs::read_dir(folder.join("logs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            logs.iter()
                .filter(|l| l.ends_with(".out") && !l.starts_with("merge"))
                .count(),
            4,
            "{logs:?}"
        );
        assert!(
            dir.join(name).is_dir(),
            "the merge job wrote {name}/ (logs in {})",
            folder.join("logs").display()
        );
        same_outputs(&single, &dir.join(name));
    }
}
