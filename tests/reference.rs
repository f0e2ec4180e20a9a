//! Same numbers as recorded: every case of `tests/reference/cases.txt`, run with this program,
//! gives data files (and printed words) whose digests are those of
//! `tests/reference/v0.6.0.sha256` (made by `tests/reference/generate.sh`). Times (the
//! "wall_seconds" and "seconds" lines) and the program's version are the only things allowed
//! to differ. What changed since 0.5.0's digests (`v0.5.0.sha256`, kept) is listed with its
//! reason in `v0.6.0.changes`, and a second test holds that list to the digests.

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

/// A file with its times, the program's version and the case's folder `out` replaced, as
/// generate.sh does.
fn normalised(bytes: Vec<u8>, out: &Path) -> Vec<u8> {
    let text = String::from_utf8(bytes).unwrap();
    let folder = out;
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let indent = &body[..body.len() - body.trim_start().len()];
        let key = body.trim_start();
        let mut replaced = false;
        for (name, by) in [
            ("wall_seconds", "W"),
            ("seconds", "W"),
            ("trajectoire_version", "V"),
        ] {
            if key.starts_with(&format!("\"{name}\": ")) {
                out.push_str(&format!("{indent}\"{name}\": {by}"));
                replaced = true;
                break;
            }
        }
        if !replaced {
            out.push_str(
                &body
                    .replace(env!("CARGO_PKG_VERSION"), "V")
                    .replace(&folder.display().to_string(), "OUT"),
            );
        }
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out.into_bytes()
}

fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The digests of a file of `tests/reference/`: (case, file) → digest.
fn digests(name: &str) -> BTreeMap<(String, String), String> {
    std::fs::read_to_string(reference_dir().join(name))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            ((w[0].to_string(), w[1].to_string()), w[2].to_string())
        })
        .collect()
}

/// Every file whose digest changed from 0.5.0 to 0.6.0 is listed in v0.6.0.changes with its
/// reason, and every file listed there changed.
#[test]
fn the_changes_since_0_5_0_are_the_ones_explained() {
    let before = digests("v0.5.0.sha256");
    let after = digests("v0.6.0.sha256");
    let changed: Vec<&(String, String)> = after
        .iter()
        .filter(|(k, v)| before.get(*k).is_some_and(|b| b != *v))
        .map(|(k, _)| k)
        .collect();
    let text = std::fs::read_to_string(reference_dir().join("v0.6.0.changes")).unwrap();
    let mut explained: Vec<(String, String, bool)> = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let parts: Vec<&str> = line.splitn(3, '|').map(str::trim).collect();
        assert!(
            parts.len() == 3 && !parts[2].is_empty(),
            "v0.6.0.changes: `{line}` is not `case | files | why`"
        );
        for file in parts[1].split_whitespace() {
            explained.push((parts[0].to_string(), file.to_string(), false));
        }
    }
    for (case, file) in &changed {
        let Some(e) = explained
            .iter_mut()
            .find(|(c, f, _)| c == case && (f == file || f == "*"))
        else {
            panic!("{case}/{file} changed since 0.5.0 and v0.6.0.changes does not say why");
        };
        e.2 = true;
    }
    let unchanged: Vec<String> = explained
        .iter()
        .filter(|e| !e.2)
        .map(|(c, f, _)| format!("{c}/{f}"))
        .collect();
    assert!(
        unchanged.is_empty(),
        "v0.6.0.changes explains changes that did not happen: {unchanged:?}"
    );
    assert!(!changed.is_empty());
}

#[test]
fn outputs_match_the_reference() {
    let expected = digests("v0.6.0.sha256");
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
        std::fs::create_dir_all(&out).unwrap();
        let mut stdout = Vec::new();
        for command in args.split(" ; ") {
            let args: Vec<String> = words(command)
                .into_iter()
                .map(|w| w.replace("OUT", &out.display().to_string()))
                .collect();
            let done = Command::cargo_bin("trajectoire")
                .unwrap()
                .current_dir(root)
                .args(&args)
                .output()
                .unwrap();
            // `test` exits 4 when a hypothesis is not supported; nothing else may fail.
            assert!(
                matches!(done.status.code(), Some(0 | 4)),
                "{name}: `{command}` failed: {}",
                String::from_utf8_lossy(&done.stderr)
            );
            stdout.extend(done.stdout);
        }
        let mut files: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".csv") || f.ends_with(".json") || f.ends_with(".html"))
            .collect();
        files.sort();
        for file in files {
            let bytes = normalised(std::fs::read(out.join(&file)).unwrap(), &out);
            got.insert((name.to_string(), file), digest(&bytes));
        }
        if !stdout.is_empty() {
            got.insert(
                (name.to_string(), "stdout".into()),
                digest(&normalised(stdout, &out)),
            );
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
        "outputs differ from the reference: {}",
        differ.join(", ")
    );
}
