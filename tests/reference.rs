//! Same numbers as 0.4.0: every case of `tests/reference/cases.txt`, run with this program,
//! gives data files whose digests are those 0.4.0 gave (`tests/reference/v0.4.0.sha256`, made by
//! `tests/reference/generate.sh` with the 0.4.0 binary). summary.json is compared without its
//! version and wall time, which are the only lines allowed to differ.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sha2::{Digest, Sha256};

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("reference")
}

/// Splits a command line at spaces, keeping "double-quoted" words whole.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// summary.json with its version and wall time replaced, as generate.sh does.
fn normalised(name: &str, bytes: Vec<u8>) -> Vec<u8> {
    if name != "summary.json" {
        return bytes;
    }
    let text = String::from_utf8(bytes).unwrap();
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let indent = &body[..body.len() - body.trim_start().len()];
        let key = body.trim_start();
        if key.starts_with("\"wall_seconds\": ") {
            out.push_str(&format!("{indent}\"wall_seconds\": W"));
        } else if key.starts_with("\"trajectoire_version\": ") {
            out.push_str(&format!("{indent}\"trajectoire_version\": V"));
        } else {
            out.push_str(body);
        }
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out.into_bytes()
}

#[test]
fn outputs_match_0_4_0() {
    let expected: BTreeMap<(String, String), String> =
        std::fs::read_to_string(reference_dir().join("v0.4.0.sha256"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                ((w[0].to_string(), w[1].to_string()), w[2].to_string())
            })
            .collect();
    let cases = std::fs::read_to_string(reference_dir().join("cases.txt")).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut got = BTreeMap::new();
    for line in cases.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, args)) = line.split_once('|') else {
            continue;
        };
        let name = name.trim();
        let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("reference")
            .join(name);
        let _ = std::fs::remove_dir_all(&out);
        let args: Vec<String> = words(args)
            .into_iter()
            .map(|w| {
                if w == "OUT" {
                    out.display().to_string()
                } else {
                    w
                }
            })
            .collect();
        Command::cargo_bin("trajectoire")
            .unwrap()
            .current_dir(root)
            .args(&args)
            .assert()
            .success();
        let mut files: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".csv") || f.ends_with(".json"))
            .collect();
        files.sort();
        for file in files {
            let bytes = normalised(&file, std::fs::read(out.join(&file)).unwrap());
            let digest: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            got.insert((name.to_string(), file), digest);
        }
    }
    let differ: Vec<String> = expected
        .iter()
        .filter(|(k, v)| got.get(*k) != Some(*v))
        .map(|((case, file), _)| format!("{case}/{file}"))
        .chain(
            got.keys()
                .filter(|k| !expected.contains_key(*k))
                .map(|(case, file)| format!("{case}/{file} (not in the reference)")),
        )
        .collect();
    assert!(
        differ.is_empty(),
        "outputs differ from 0.4.0's: {}",
        differ.join(", ")
    );
}
