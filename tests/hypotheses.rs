//! Outcomes, hypotheses and `trajectoire test`: parsing with positions, verdicts, exit codes,
//! and the coverage of the 95% intervals on outcomes with a known true value.

use assert_cmd::Command;
use trajectoire::ensemble::{Controls, Workspace};
use trajectoire::model::Model;
use trajectoire::stats::Estimate;
use trajectoire::study::collect::gather;
use trajectoire::study::hypothesis::{self as outcome, parse_hypothesis, Op, Verdict};
use trajectoire::study::outcome::{parse_outcome, Measure};

use crate::common::{model, scenarios};

fn malaunay() -> Model {
    Model::load(&scenarios().join("malaunay.toml")).unwrap()
}

#[test]
fn outcomes_parse_into_measures_and_months() {
    let m = malaunay();
    let cases = [
        ("perpetuation@144", Measure::Perpetuation, 144),
        ("engagement@end", Measure::Engagement, 312),
        ("stabilisation@0", Measure::Stabilisation, 0),
        ("scale@12", Measure::Scale, 12),
        ("engagement:staff@24", Measure::GroupEngagement(1), 24),
        ("anchored:inhabitants@24", Measure::GroupAnchored(3), 24),
        ("reached(take-off)@60", Measure::Reached(1), 60),
        ("entry(acceleration)", Measure::Entry(2), 312),
        ("spend", Measure::Spend, 312),
        ("malaunay:scale@12", Measure::Scale, 12),
    ];
    for (text, measure, month) in cases {
        let o = parse_outcome(text, &m, Some(0)).unwrap();
        assert_eq!((o.measure, o.month), (measure, month), "{text}");
    }
}

#[test]
fn outcome_errors_point_at_the_character_with_a_suggestion() {
    let m = malaunay();
    // (expression, byte offset, words in the message, words in the help)
    let cases = [
        (
            "perpetuaton@144",
            0,
            "unknown outcome `perpetuaton`",
            "did you mean `perpetuation`",
        ),
        (
            "engagement:staf@12",
            11,
            "unknown actor group `staf`",
            "did you mean `staff`",
        ),
        (
            "reached(take-of)@12",
            8,
            "unknown phase `take-of`",
            "did you mean `take-off`",
        ),
        (
            "scale@400",
            6,
            "month 400 is after the horizon (312)",
            "@end",
        ),
        ("scale@soon", 6, "`soon` is not a month", ""),
        ("scale", 5, "`scale` needs a month", "scale@312"),
        ("spend@12", 5, "`spend` takes no month", ""),
        (
            "malaunai:scale@1",
            0,
            "unknown territory `malaunai`",
            "did you mean `malaunay`",
        ),
    ];
    for (text, offset, message, help) in cases {
        let e = parse_outcome(text, &m, Some(0)).unwrap_err();
        assert_eq!(e.offset, offset, "{text}: {e:?}");
        assert!(e.message.contains(message), "{text}: {}", e.message);
        assert!(
            e.help.clone().unwrap_or_default().contains(help),
            "{text}: {:?}",
            e.help
        );
    }
    let e = parse_hypothesis("scale@12 >= lots", None, &m, Some(0)).unwrap_err();
    assert_eq!(
        (e.offset, e.message.as_str()),
        (12, "`lots` is not a number")
    );
    let e = parse_hypothesis("scale@12 = 0.5", None, &m, Some(0)).unwrap_err();
    assert!(e.message.contains("needs a comparison"));
    let h = parse_hypothesis("scale@12 >= 0.5", None, &m, Some(0)).unwrap();
    assert_eq!((h.op, h.threshold), (Op::AtLeast, 0.5));
}

#[test]
fn verdicts_follow_the_interval() {
    let m = malaunay();
    let h = parse_hypothesis("perpetuation@144 >= 0.7", None, &m, Some(0)).unwrap();
    let e = |lo: f64, hi: f64| Estimate {
        estimate: (lo + hi) / 2.0,
        low: lo,
        high: hi,
        n: 1000,
    };
    assert_eq!(outcome::verdict(&h, &e(0.75, 0.8)).0, Verdict::Supported);
    assert_eq!(outcome::verdict(&h, &e(0.5, 0.6)).0, Verdict::Rejected);
    let (v, needed) = outcome::verdict(&h, &e(0.68, 0.74));
    assert_eq!(v, Verdict::Inconclusive);
    // Half-width 0.03, effect 0.01: about 1000 × 9 × 1.1 runs.
    assert_eq!(needed, Some(9900));
}

const KNOWN: &str = r#"
[territory]
id = "known"
population = 100
horizon = 2
[simulation]
runs = 200
[perpetuation]
collapse = 0.25
grace = 1
[[actor]]
id = "g"
engagement = 0.5
[[phase]]
id = "only"
[[shock]]
id = "coin"
at = [0]
probability = 0.3
hits = { g = 1.0 }
"#;

/// A shock with probability 0.3 removes all engagement at month 0: the transition survives
/// with probability exactly 0.7 and engagement@1 has mean exactly 0.35. Over 1,000 ensembles
/// of 200 runs, the 95% intervals must contain the truth 93–97% of the time.
#[test]
fn intervals_cover_known_values_about_95_percent_of_the_time() {
    let mut m = model(KNOWN);
    let outcomes = [
        parse_outcome("perpetuation@2", &m, Some(0)).unwrap(),
        parse_outcome("engagement@1", &m, Some(0)).unwrap(),
    ];
    let truth = [0.7, 0.35];
    let controls = Controls::silent();
    let mut covered = [0u32; 2];
    let workspace = Workspace::new();
    let reps = 1000;
    for seed in 0..reps {
        m.settings.seed = seed;
        let gathered = gather(&m, &outcomes, 0..200, 2, &workspace, &controls).unwrap();
        for (i, e) in gathered.estimates().iter().enumerate() {
            if e.low <= truth[i] && truth[i] <= e.high {
                covered[i] += 1;
            }
        }
    }
    for (i, c) in covered.iter().enumerate() {
        let share = f64::from(*c) / f64::from(reps as u32);
        assert!(
            (0.93..=0.97).contains(&share),
            "{}: coverage {share}",
            outcomes[i].text
        );
    }
}

#[test]
fn test_command_exit_codes() {
    let file = scenarios().join("malaunay.toml");
    let run = |expects: &[&str]| {
        let mut cmd = Command::cargo_bin("trajectoire").unwrap();
        cmd.args(["test", "--runs", "300", "--threads", "2"])
            .arg(&file);
        for e in expects {
            cmd.args(["--expect", e]);
        }
        cmd.output().unwrap()
    };
    let out = run(&["perpetuation@144 >= 0.5", "entry(take-off) <= 100"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("supported") && stdout.contains("2 of 2 hypotheses supported"),
        "{stdout}"
    );
    let out = run(&["scale@end >= 0.99"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stdout).contains("rejected"));
    let out = run(&["scal@end >= 0.5"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("column 1") && stderr.contains("did you mean `scale`"),
        "{stderr}"
    );
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2), "nothing to test");
}

/// Stored reference (changes with the random stream and the model): with Grande-Synthe's 4,000
/// runs of seed 2019, 84.8% of futures (3,392) reach acceleration in 0.6.0, so close to the
/// 0.84805 asked that deciding would take hundreds of millions of runs — more than a run
/// allows; the verdict says so instead of a number.
#[test]
fn too_close_to_call_says_so() {
    let out = Command::cargo_bin("trajectoire")
        .unwrap()
        .args(["test", "--threads", "2", "--expect"])
        .arg("reached(acceleration)@end >= 0.84805")
        .arg(scenarios().join("grande-synthe.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(
        stdout.contains("0.848  0.837 – 0.859  inconclusive (too close to call"),
        "{stdout}"
    );
}

#[test]
fn hypotheses_in_a_file_are_tested_and_their_errors_located() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hypotheses");
    std::fs::create_dir_all(&dir).unwrap();
    let good = format!("{KNOWN}[[hypothesis]]\nname = \"the coin mostly spares it\"\nexpect = \"perpetuation@2 >= 0.5\"\n");
    std::fs::write(dir.join("good.toml"), &good).unwrap();
    let out = Command::cargo_bin("trajectoire")
        .unwrap()
        .arg("test")
        .arg(dir.join("good.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("the coin mostly spares it"), "{stdout}");
    let bad = format!("{KNOWN}[[hypothesis]]\nexpect = \"perpetuation@2 >= 0.5\"\n[[hypothesis]]\nexpect = \"reached(onyl)@2 >= 0.5\"\n");
    std::fs::write(dir.join("bad.toml"), &bad).unwrap();
    let out = Command::cargo_bin("trajectoire")
        .unwrap()
        .arg("test")
        .arg(dir.join("bad.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = bad.lines().count();
    assert!(stderr.contains(&format!("bad.toml:{line}:19")), "{stderr}");
    assert!(stderr.contains("did you mean `only`"), "{stderr}");
}
