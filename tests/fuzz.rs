//! Fuzzing the loader, validator and engine: a proptest generator mutates the shipped scenarios
//! and the hostile corpus at byte, token and table level. No input may panic, hang or produce
//! a non-finite number; every error must render with a place and exit code.
//!
//! `cargo test` runs a few hundred inputs. A long campaign:
//! `FUZZ_CASES=1000000 cargo test --release --test main fuzz -- --nocapture`.
//! Failures are kept by proptest in tests/proptest-regressions/ and replayed first on every run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use trajectoire::diag::Error;
use trajectoire::ensemble::Workload;
use trajectoire::ensemble::{self, Controls};
use trajectoire::model::Model;

fn corpus() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["scenarios", "tests/hostile", "tests/hostile/lib"] {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
            .collect();
        entries.sort();
        for p in entries {
            let bytes = std::fs::read(&p).unwrap();
            out.push((p, bytes));
        }
    }
    out
}

const TOKENS: &[&str] = &[
    "nan",
    "inf",
    "-inf",
    "-1",
    "0",
    "1",
    "1e308",
    "-1e308",
    "1e-320",
    "0.5",
    "1.5",
    "10",
    "11",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "1200",
    "1201",
    "10000000",
    "\"\"",
    "\"x\"",
    "\"take-off\"",
    "\"elected\"",
    "\"inhabitants\"",
    "\"malaunay\"",
    "[]",
    "{}",
    "[1, 2]",
    "{ a = 1 }",
    "true",
    "[[actor]]",
    "[[lever]]",
    "[territory]",
    "[network]",
    "=",
    "\"",
    "[",
    "{",
    "é",
    "\u{0}",
    "#",
    "'''",
    "include = [\"villes-pairs.toml\"]",
];

#[derive(Debug, Clone)]
enum Mutation {
    SetByte(usize, u8),
    InsertByte(usize, u8),
    DeleteBytes(usize, usize),
    ReplaceToken(usize, usize),
    InsertToken(usize, usize),
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    DropTable(usize),
    DuplicateTable(usize),
    SwapTables(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let i = any::<usize>();
    prop_oneof![
        (i, any::<u8>()).prop_map(|(a, b)| Mutation::SetByte(a, b)),
        (i, any::<u8>()).prop_map(|(a, b)| Mutation::InsertByte(a, b)),
        (i, 1usize..40).prop_map(|(a, n)| Mutation::DeleteBytes(a, n)),
        (i, 0..TOKENS.len()).prop_map(|(a, t)| Mutation::ReplaceToken(a, t)),
        (i, 0..TOKENS.len()).prop_map(|(a, t)| Mutation::InsertToken(a, t)),
        i.prop_map(Mutation::DeleteLine),
        i.prop_map(Mutation::DuplicateLine),
        (i, i).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        i.prop_map(Mutation::DropTable),
        i.prop_map(Mutation::DuplicateTable),
        (i, i).prop_map(|(a, b)| Mutation::SwapTables(a, b)),
    ]
}

/// Splits into pieces at the start of each line for which `starts` holds.
fn pieces(bytes: &[u8], starts: impl Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = vec![Vec::new()];
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if starts(line) && !out.last().unwrap().is_empty() {
            out.push(Vec::new());
        }
        out.last_mut().unwrap().extend_from_slice(line);
    }
    out
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len().max(1);
    match *m {
        Mutation::SetByte(i, b) if !bytes.is_empty() => bytes[i % n] = b,
        Mutation::InsertByte(i, b) => bytes.insert(i % (bytes.len() + 1), b),
        Mutation::DeleteBytes(i, k) if !bytes.is_empty() => {
            let start = i % n;
            let end = (start + k).min(bytes.len());
            bytes.drain(start..end);
        }
        Mutation::ReplaceToken(i, t) | Mutation::InsertToken(i, t) => {
            // Tokens: maximal runs of bytes that are not spaces, newlines, `=` or `,`.
            let sep = |b: u8| b" \n\t=,".contains(&b);
            let mut spans = Vec::new();
            let mut start = None;
            for (k, &b) in bytes.iter().enumerate() {
                match (start, sep(b)) {
                    (None, false) => start = Some(k),
                    (Some(s), true) => {
                        spans.push((s, k));
                        start = None;
                    }
                    _ => {}
                }
            }
            if let Some(s) = start {
                spans.push((s, bytes.len()));
            }
            if spans.is_empty() {
                return;
            }
            let (s, e) = spans[i % spans.len()];
            let token = TOKENS[t].as_bytes();
            if matches!(m, Mutation::ReplaceToken(..)) {
                bytes.splice(s..e, token.iter().copied());
            } else {
                bytes.splice(s..s, token.iter().chain(b" ").copied());
            }
        }
        Mutation::DeleteLine(i) | Mutation::DuplicateLine(i) | Mutation::SwapLines(i, _) => {
            let mut lines = pieces(bytes, |_| true);
            let k = i % lines.len();
            match *m {
                Mutation::DeleteLine(_) => {
                    lines.remove(k);
                }
                Mutation::DuplicateLine(_) => {
                    let line = lines[k].clone();
                    lines.insert(k, line);
                }
                Mutation::SwapLines(_, j) => {
                    let j = j % lines.len();
                    lines.swap(k, j);
                }
                _ => {}
            }
            *bytes = lines.concat();
        }
        Mutation::DropTable(i) | Mutation::DuplicateTable(i) | Mutation::SwapTables(i, _) => {
            let mut tables = pieces(bytes, |l| l.starts_with(b"["));
            let k = i % tables.len();
            match *m {
                Mutation::DropTable(_) => {
                    tables.remove(k);
                }
                Mutation::DuplicateTable(_) => {
                    let t = tables[k].clone();
                    tables.insert(k, t);
                }
                Mutation::SwapTables(_, j) => {
                    let j = j % tables.len();
                    tables.swap(k, j);
                }
                _ => {}
            }
            *bytes = tables.concat();
        }
        _ => {}
    }
}

fn scratch() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Loads, validates and (when valid and small) simulates one input; panics only on a real bug.
fn exercise(path: &Path, bytes: &[u8]) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let loaded = match std::str::from_utf8(bytes) {
        Ok(text) => Model::parse(path, text),
        Err(_) => {
            // Not UTF-8: go through the file reader, as the CLI would.
            let file = scratch().join(format!("input-{}.toml", std::process::id()));
            std::fs::write(&file, bytes).unwrap();
            Model::load(&file)
        }
    };
    match loaded {
        Ok(mut model) => {
            model.settings.runs = model.settings.runs.min(2);
            let work = Workload::of(&model, model.settings.runs, 1, 1, true);
            if work.seconds < 0.2 && work.memory_bytes < 2e8 {
                let controls = Controls::silent();
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .build()
                    .unwrap();
                let r = pool
                    .install(|| ensemble::simulate(&model, &ensemble::Workspace::new(), &controls))
                    .unwrap();
                for t in &r.territories {
                    for s in &t.series {
                        prop_assert!(s
                            .mean
                            .iter()
                            .chain(s.quantiles.iter().flatten())
                            .all(|x| x.is_finite()));
                    }
                    prop_assert!(t.spend.mean.is_finite());
                }
                let _ = trajectoire::output::json::summary(&model, &[], &r);
            }
        }
        Err(e) => {
            let text = e.render(false);
            prop_assert!(
                matches!(e.exit_code(), 1..=3),
                "exit code {}",
                e.exit_code()
            );
            if let Error::Invalid { diagnostics, .. } = &e {
                prop_assert!(!diagnostics.is_empty());
            }
            prop_assert!(!text.is_empty());
        }
    }
    prop_assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    Ok(())
}

static INPUTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Prints the count every 10,000 inputs (seen with `--nocapture` during a long campaign).
fn count_input() {
    let n = INPUTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    if n.is_multiple_of(10_000) {
        eprintln!("fuzz: {n} inputs");
    }
}

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_scenarios_never_panic(
        pick in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let corpus = corpus();
        let (path, original) = &corpus[pick % corpus.len()];
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        count_input();
        exercise(path, &bytes)?;
    }
}

/// A mutated observed history: read against Malaunay, it is refused with a place and an exit
/// code, or read into valid observations whose likelihood (10 runs a point) is a number or −∞.
fn exercise_observed(bytes: &[u8]) -> Result<(), TestCaseError> {
    use trajectoire::study::calibration::Work;
    use trajectoire::study::observed;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let loaded = trajectoire::scenario::load(&root.join("malaunay.toml")).unwrap();
    let overrides = trajectoire::Overrides {
        runs: Some(10),
        ..trajectoire::Overrides::default()
    };
    let model = overrides.model(&loaded).unwrap();
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(());
    };
    match observed::parse(Path::new("observed.csv"), text, &model) {
        Err(e) => {
            prop_assert_eq!(e.exit_code(), 1);
            prop_assert!(!e.render(false).is_empty());
        }
        Ok(observations) => {
            for o in &observations {
                prop_assert!((0.0..=1.0).contains(&o.value) && o.month <= model.horizon());
                prop_assert!(o.sd.is_none_or(|sd| sd > 0.0 && sd.is_finite()));
            }
            let varies = ["lever.citergie.intensity=0..2".to_string()];
            match Work::new(loaded, &overrides, &varies, observations, Some(10)) {
                Err(e) => prop_assert!(matches!(e.exit_code(), 1..=3)),
                Ok(problem) => {
                    let workspace = ensemble::Workspace::new();
                    let never = || false;
                    let reference = problem.reference(&[1.0], 0, &workspace, &never).unwrap();
                    let ll = problem
                        .log_likelihood(&reference, &[1.0], 0, &workspace, &never)
                        .unwrap();
                    prop_assert!(!ll.is_nan() && ll < f64::INFINITY, "{}", ll);
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases() / 3,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_observed_histories_never_panic(
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut bytes = std::fs::read(root.join("scenarios/malaunay-observed.csv")).unwrap();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        count_input();
        exercise_observed(&bytes)?;
    }
}
