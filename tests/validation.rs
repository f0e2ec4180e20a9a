//! Every class of validation error, with its line and column (table-driven), and the
//! guarantee that all problems of a file are reported at once.

use std::path::{Path, PathBuf};

use trajectoire::diag::Error;
use trajectoire::model::Model;

use crate::common::scenarios;

const BASE: &str = "[territory]\nid = \"t\"\npopulation = 1000\nhorizon = 12\n[[actor]]\nid = \"g\"\nengagement = 0.2\n";

/// (name, text appended to BASE, line, column, words the message must contain, words the help must contain)
const CASES: &[(&str, &str, usize, usize, &str, &str)] = &[
    ("syntax error", "fatigue = \n", 8, 11, "TOML syntax", ""),
    ("unknown key", "fatige = 0.02\n", 8, 1, "unknown key `fatige`", "did you mean `fatigue`"),
    ("wrong type", "fatigue = \"high\"\n", 8, 11, "`fatigue` must be a number", ""),
    ("nan", "fatigue = nan\n", 8, 11, "must be a finite number", "nan and inf"),
    ("infinity", "adoption = inf\n", 8, 12, "must be a finite number", ""),
    ("negative rate", "fatigue = -0.1\n", 8, 11, "`fatigue` is -0.1, outside 0 ..= 10", "monthly rate"),
    ("share above 1", "[[actor]]\nid = \"h\"\nengagement = 1.5\n", 10, 14, "`engagement` is 1.5, outside 0 ..= 1", "share"),
    ("anchored above engagement", "anchored = 0.5\n", 8, 12, "`anchored` (0.5) is above `engagement` (0.2)", "at most"),
    ("probability outside [0,1]", "[[shock]]\nid = \"s\"\nevery = 12\nprobability = 1.5\n", 11, 15, "`probability` is 1.5", "share"),
    ("zero period", "[[shock]]\nid = \"s\"\nevery = 0\n", 10, 9, "`every` is 0, outside 1", ""),
    ("whole number expected", "[[shock]]\nid = \"s\"\nevery = 1.5\n", 10, 9, "`every` must be a whole number", ""),
    ("invalid id", "[[actor]]\nid = \"Élus\"\n", 9, 6, "`Élus` is not a valid id", "lowercase"),
    ("duplicate id", "[[actor]]\nid = \"g\"\n", 9, 6, "actor group `g` is defined twice", ""),
    ("shock with no timing", "[[shock]]\nid = \"s\"\n", 8, 1, "says neither `every`, `at` nor `rate`", "exactly one"),
    ("shock with several timings", "[[shock]]\nid = \"s\"\nevery = 12\nrate = 0.1\n", 8, 1, "has several of every, rate", "exactly one"),
    ("first phase with enter", "[[phase]]\nid = \"a\"\nenter = { engagement = 0.1 }\n", 10, 9, "the first phase `a` cannot have `enter`", ""),
    ("first phase with fallback", "[[phase]]\nid = \"a\"\nfallback = { engagement = 0.1 }\n", 10, 12, "cannot have `fallback`", ""),
    ("unknown group", "influenced_by = { gg = 0.1 }\n", 8, 19, "unknown actor group `gg`", "did you mean `g`"),
    ("unknown phase index", "[[phase]]\nid = \"a\"\n[[phase]]\nid = \"b\"\nenter = { engagment = 0.1 }\n", 12, 11, "unknown key `engagment`", "did you mean `engagement`"),
    ("unknown lever in pause", "[[lever]]\nid = \"talks\"\n[[shock]]\nid = \"s\"\nevery = 12\npause = { talk = 3 }\n", 13, 11, "unknown lever `talk`", "did you mean `talks`"),
    ("unknown phase", "[[phase]]\nid = \"start\"\n[[phase]]\nid = \"take-off\"\n[[lever]]\nid = \"l\"\nafter_phase = \"take-of\"\n", 14, 15, "unknown phase `take-of`", "did you mean `take-off`"),
    ("until before from", "[[lever]]\nid = \"l\"\nfrom = 10\nuntil = 5\n", 11, 9, "`until` (5) is not after `from` (10)", ""),
    ("negative cost", "[[lever]]\nid = \"l\"\ncost = -5\n", 10, 8, "`cost` cannot be negative", ""),
    ("runs out of bounds", "[simulation]\nruns = 0\n", 9, 8, "`runs` is 0, outside 1 ..= 10000000", ""),
    ("substeps out of bounds", "[simulation]\nsubsteps = 1001\n", 9, 12, "`substeps` is 1001, outside 1 ..= 1000", ""),
    ("unknown table", "[scal]\ninnovation = 0.1\n", 8, 2, "unknown key `scal`", "did you mean `scale`"),
    ("weight not positive", "weight = 0\n", 8, 10, "`weight` is 0, it must be above 0", ""),
];

fn problems(path: &Path, text: &str) -> Vec<(String, String, Option<String>)> {
    match Model::parse(path, text) {
        Ok(_) => Vec::new(),
        Err(Error::Invalid {
            diagnostics,
            sources,
        }) => diagnostics
            .iter()
            .map(|d| (d.position(&sources), d.message.clone(), d.help.clone()))
            .collect(),
        Err(e) => panic!("expected an invalid scenario, got {e}"),
    }
}

fn assert_problem(
    name: &str,
    path: &Path,
    text: &str,
    line: usize,
    col: usize,
    message: &str,
    help: &str,
) {
    let found = problems(path, text);
    let hit = found.iter().find(|(_, m, _)| m.contains(message));
    let Some((position, _, h)) = hit else {
        panic!("{name}: no problem containing {message:?}; found {found:#?}");
    };
    assert!(
        position.ends_with(&format!(":{line}:{col}")),
        "{name}: at {position}, expected {line}:{col}"
    );
    if !help.is_empty() {
        let h = h.clone().unwrap_or_default();
        assert!(h.contains(help), "{name}: help {h:?} lacks {help:?}");
    }
}

#[test]
fn every_error_class_points_at_its_line_and_column() {
    let path = scenarios().join("test.toml");
    for (name, extra, line, col, message, help) in CASES {
        assert_problem(
            name,
            &path,
            &format!("{BASE}{extra}"),
            *line,
            *col,
            message,
            help,
        );
    }
}

#[test]
fn the_base_scenario_of_the_table_is_valid() {
    Model::parse(&scenarios().join("test.toml"), BASE).unwrap();
}

#[test]
fn horizon_beyond_bounds_is_refused() {
    let text = BASE.replace("horizon = 12", "horizon = 1201");
    assert_problem(
        "horizon",
        &scenarios().join("t.toml"),
        &text,
        4,
        11,
        "`horizon` is 1201, outside 1 ..= 1200",
        "",
    );
}

#[test]
fn too_many_groups_are_refused() {
    let mut text = BASE.to_string();
    for i in 0..64 {
        text.push_str(&format!("[[actor]]\nid = \"g{i}\"\n"));
    }
    let found = problems(&scenarios().join("t.toml"), &text);
    assert!(
        found
            .iter()
            .any(|(_, m, _)| m.contains("65 actor groups; at most 64")),
        "{found:#?}"
    );
}

#[test]
fn library_errors_point_into_the_library() {
    let text = format!(
        "include = [\"referentiel.toml\"]\n{BASE}[[lever]]\nid = \"l\"\nuse = \"fifty-fity\"\n"
    );
    assert_problem(
        "unknown library lever",
        &scenarios().join("t.toml"),
        &text,
        11,
        7,
        "unknown library lever `fifty-fity`",
        "did you mean `fifty-fifty`",
    );
    // The library lever pushes `inhabitants`, which this territory lacks: the error names it.
    let text = format!(
        "include = [\"referentiel.toml\"]\n{BASE}[[lever]]\nid = \"l\"\nuse = \"fifty-fifty\"\n"
    );
    let found = problems(&scenarios().join("t.toml"), &text);
    assert!(
        found
            .iter()
            .any(|(p, m, _)| m.contains("unknown actor group `inhabitants`")
                && p.contains("referentiel.toml:")),
        "{found:#?}"
    );
}

fn temp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("validation")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn includes_missing_or_cyclic_are_refused() {
    let dir = temp("includes");
    let text = format!("include = [\"nope.toml\"]\n{BASE}");
    assert_problem(
        "missing include",
        &dir.join("t.toml"),
        &text,
        1,
        12,
        "nope.toml: cannot be read (no such file)",
        "",
    );
    std::fs::write(
        dir.join("a.toml"),
        "include = [\"b.toml\"]\n[[lever]]\nid = \"x\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("b.toml"),
        "include = [\"a.toml\"]\n[[lever]]\nid = \"y\"\n",
    )
    .unwrap();
    let text = format!("include = [\"a.toml\"]\n{BASE}");
    let found = problems(&dir.join("t.toml"), &text);
    assert!(
        found
            .iter()
            .any(|(p, m, _)| m.contains("include cycle") && p.ends_with("b.toml:1:12")),
        "{found:#?}"
    );
}

#[test]
fn files_that_are_not_scenarios_are_refused_with_the_reason() {
    let dir = temp("files");
    let cases: [(&str, &[u8], &str); 3] = [
        ("empty.toml", b"  \n", "is empty"),
        (
            "binary.toml",
            b"id = \"\xff\xfe\"\n",
            "is not UTF-8 text: invalid byte at line 1, column 7",
        ),
        (
            "library.toml",
            b"[[lever]]\nid = \"x\"\n",
            "is a lever library",
        ),
    ];
    for (name, bytes, message) in cases {
        std::fs::write(dir.join(name), bytes).unwrap();
        let err = Model::load(&dir.join(name)).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(
            err.render(false).contains(message),
            "{name}: {}",
            err.render(false)
        );
    }
    let err = Model::load(&dir).unwrap_err();
    assert!(
        err.render(false).contains("is a folder"),
        "{}",
        err.render(false)
    );
}

#[test]
fn network_errors_name_the_territory() {
    let dir = temp("network");
    let town = |id: &str, horizon: u32, year: u32| {
        format!("[territory]\nid = \"{id}\"\npopulation = 100\nstart_year = {year}\nhorizon = {horizon}\n[[actor]]\nid = \"g\"\n")
    };
    std::fs::write(dir.join("a.toml"), town("a", 24, 2001)).unwrap();
    std::fs::write(dir.join("b.toml"), town("b", 36, 2002)).unwrap();
    let net = "[network]\nid = \"n\"\nterritories = [\"a.toml\", \"b.toml\", \"a.toml\"]\n[[link]]\nbetween = [\"a\", \"c\"]\n[[link]]\nbetween = [\"a\", \"a\"]\n";
    let found = problems(&dir.join("n.toml"), net);
    let has = |words: &str, at: &str| {
        assert!(
            found
                .iter()
                .any(|(p, m, _)| m.contains(words) && p.ends_with(at)),
            "{words} at {at}: {found:#?}"
        );
    };
    has("`b` has horizon 36 but `a` has 24", "b.toml:5:11");
    has("`b` has start_year 2002 but `a` has 2001", "b.toml:4:14");
    has("territory `a` is in this network twice", "n.toml:3:36");
    has("unknown territory `c`", "n.toml:5:17");
    has("a territory cannot be linked to itself", "n.toml:7:11");
}

#[test]
fn every_problem_of_a_file_is_reported_at_once() {
    let text = format!(
        "{BASE}fatige = 0.1\nvolatility = -1\n[[lever]]\nid = \"L\"\npush = {{ gg = 0.1 }}\n"
    );
    let found = problems(&scenarios().join("t.toml"), &text);
    assert_eq!(found.len(), 4, "{found:#?}");
    let rendered = Model::parse(&scenarios().join("t.toml"), &text)
        .unwrap_err()
        .render(false);
    assert!(rendered.contains("4 problems found"), "{rendered}");
    assert!(rendered.contains("t.toml:8:1"), "{rendered}");
}
