//! The hostile-input corpus: every file in tests/hostile/ gives exit 1 and the message listed
//! for it in tests/hostile/EXPECTED.txt (position and words), and nothing panics.

use std::path::Path;

use assert_cmd::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn check(path: &str) -> (i32, String) {
    let out = Command::cargo_bin("trajectoire")
        .unwrap()
        .current_dir(root())
        .args(["check", path])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_hostile_file_gives_exit_1_and_its_message() {
    let manifest = std::fs::read_to_string(root().join("tests/hostile/EXPECTED.txt")).unwrap();
    let mut listed = Vec::new();
    for line in manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (file, expected) = line.split_once(" | ").expect("`file | expected message`");
        listed.push(file.split(' ').next().unwrap().to_string());
        if file.contains("generated") {
            continue;
        }
        let (code, stderr) = check(&format!("tests/hostile/{file}"));
        assert_eq!(code, 1, "{file}: exit code; stderr:\n{stderr}");
        assert!(
            stderr.contains(expected),
            "{file}: expected {expected:?} in:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{file}: {stderr}");
    }
    // Every file of the corpus is listed (a new case cannot be forgotten).
    for entry in std::fs::read_dir(root().join("tests/hostile")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".toml") {
            assert!(listed.contains(&name), "{name} is not in EXPECTED.txt");
        }
    }
}

#[test]
fn a_file_over_10_mb_is_refused_without_reading_it() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("too-large.toml");
    let mut text = String::from("# padding\n");
    text.push_str(&"#".repeat(10 * 1024 * 1024));
    std::fs::write(&big, text).unwrap();
    let (code, stderr) = check(big.to_str().unwrap());
    assert_eq!(code, 1);
    assert!(
        stderr.contains("is 10 MB; scenario files are limited to 10 MB"),
        "{stderr}"
    );
}
