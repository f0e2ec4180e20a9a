//! The shape of the code, held by tests rather than by hope: no import circle between any two
//! files of src/ (inside folders too), no stage importing a later one, no file over 800 lines
//! before its tests, and a thin `main.rs`.
//!
//! An edge from file A to file B is a `use` of B's items in A, or a path to them in A's code
//! (`crate::…`, `super::…`, or a child module's name); `pub use` re-exports and `mod`
//! declarations are the module tree, not dependencies. Comments, strings and tests are left
//! out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The stages in pipeline order; `diag` and `stats` are leaves every stage may use.
const STAGES: [(&str, u32); 11] = [
    ("diag", 0),
    ("stats", 0),
    ("scenario", 1),
    ("model", 2),
    ("random", 3),
    ("engine", 4),
    ("ensemble", 5),
    ("study", 6),
    ("output", 7),
    ("serve", 8),
    ("commands", 9),
];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's module path: `src/study/calibration/mod.rs` → [study, calibration].
fn module(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without comments, string contents and its tests.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let (mut in_string, mut in_comment) = (false, false);
    while let Some(c) = chars.next() {
        if in_comment {
            if c == '\n' {
                in_comment = false;
                out.push('\n');
            }
            continue;
        }
        if in_string {
            if c == '\\' {
                chars.next();
            } else if c == '"' {
                in_string = false;
                out.push('"');
            }
            continue;
        }
        match c {
            '/' if chars.peek() == Some(&'/') => in_comment = true,
            '"' => {
                in_string = true;
                out.push('"');
            }
            _ => out.push(c),
        }
    }
    out
}

/// The paths of a `use` tree: `a::{b, c::{d, e}}` → a::b, a::c::d, a::c::e.
fn expand(tree: &str) -> Vec<String> {
    // `x as y` is x; then white space goes.
    let words: Vec<&str> = tree.split_whitespace().collect();
    let mut kept = Vec::new();
    let mut k = 0;
    while k < words.len() {
        if words[k] == "as" {
            // Keep what follows the alias (`,` or `}`).
            let alias = words.get(k + 1).copied().unwrap_or("");
            kept.push(alias.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_'));
            k += 2;
        } else {
            kept.push(words[k]);
            k += 1;
        }
    }
    let tree: String = kept.concat();
    let mut out = Vec::new();
    fn walk(prefix: &str, t: &str, out: &mut Vec<String>) {
        let Some(open) = t.find('{') else {
            for item in t.split(',').filter(|s| !s.is_empty()) {
                out.push(format!("{prefix}{item}"));
            }
            return;
        };
        let head = &t[..open];
        let inner = &t[open + 1..t.rfind('}').unwrap_or(t.len())];
        let (mut depth, mut start) = (0, 0);
        let mut items = Vec::new();
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&inner[start..]);
        for item in items.into_iter().filter(|s| !s.is_empty()) {
            walk(&format!("{prefix}{head}"), item, out);
        }
    }
    walk("", &tree, &mut out);
    out
}

struct Tree {
    /// Module path → file.
    files: BTreeMap<Vec<String>, PathBuf>,
    /// Module path → the children it declares.
    children: BTreeMap<Vec<String>, BTreeSet<String>>,
}

impl Tree {
    /// The file a path used from module `from` lands in: the longest module prefix that is a
    /// file.
    fn resolve(&self, from: &[String], path: &str) -> Option<&PathBuf> {
        let parts: Vec<&str> = path
            .split("::")
            .filter(|p| !p.is_empty() && *p != "*")
            .collect();
        let (mut base, rest): (Vec<String>, &[&str]) = match parts.first()? {
            &"crate" => (Vec::new(), &parts[1..]),
            &"self" => (from.to_vec(), &parts[1..]),
            &"super" => {
                let mut base = from.to_vec();
                let mut k = 0;
                while parts.get(k) == Some(&"super") {
                    base.pop();
                    k += 1;
                }
                (base, &parts[k..])
            }
            first if self.children.get(from).is_some_and(|c| c.contains(*first)) => {
                (from.to_vec(), &parts[..])
            }
            _ => return None,
        };
        base.extend(rest.iter().map(|s| s.to_string()));
        (0..=base.len())
            .rev()
            .find_map(|k| self.files.get(&base[..k]))
    }
}

fn graph() -> (BTreeMap<PathBuf, BTreeSet<PathBuf>>, Tree, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut list = Vec::new();
    files(&src, &mut list);
    let mut tree = Tree {
        files: BTreeMap::new(),
        children: BTreeMap::new(),
    };
    let mut texts = BTreeMap::new();
    for f in &list {
        let m = module(&src, f);
        let text = code(&std::fs::read_to_string(f).unwrap());
        let kids = text
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let l = l.strip_prefix("pub ").unwrap_or(l);
                let l = l.strip_prefix("pub(crate) ").unwrap_or(l);
                l.strip_prefix("mod ")?
                    .strip_suffix(';')
                    .map(str::to_string)
            })
            .collect();
        tree.children.insert(m.clone(), kids);
        tree.files.insert(m.clone(), f.clone());
        texts.insert(f.clone(), (m, text));
    }
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (f, (m, text)) in &texts {
        let mut to = BTreeSet::new();
        // Statements: `use …;` counts, `pub use …;` (a re-export) does not.
        let mut rest = text.as_str();
        let mut plain = String::new();
        while let Some(at) = rest.find("use ") {
            let before = &rest[..at];
            let is_word_start = before
                .chars()
                .last()
                .is_none_or(|c| !c.is_alphanumeric() && c != '_');
            let Some(end) = rest[at..].find(';') else {
                break;
            };
            let statement = &rest[at + 4..at + end];
            let public = before.trim_end().ends_with("pub")
                || before.trim_end().ends_with(')') && before.trim_end().contains("pub(");
            plain.push_str(before);
            if is_word_start && !public {
                for path in expand(statement) {
                    if let Some(t) = tree.resolve(m, &path) {
                        to.insert(t.clone());
                    }
                }
            }
            rest = &rest[at + end + 1..];
        }
        plain.push_str(rest);
        // Paths in the code.
        let bytes: Vec<char> = plain.chars().collect();
        let mut i = 0;
        while i < bytes.len() {
            let starts = (i == 0
                || !(bytes[i - 1].is_alphanumeric() || "_:".contains(bytes[i - 1])))
                && (bytes[i].is_alphabetic() || bytes[i] == '_');
            if !starts {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < bytes.len() && (bytes[j].is_alphanumeric() || "_:".contains(bytes[j])) {
                j += 1;
            }
            let word: String = bytes[i..j].iter().collect();
            if word.contains("::") {
                if let Some(t) = tree.resolve(m, &word) {
                    to.insert(t.clone());
                }
            }
            i = j;
        }
        to.remove(f);
        edges.insert(f.clone(), to);
    }
    (edges, tree, src)
}

#[test]
fn no_two_files_import_each_other_even_through_others() {
    let (edges, _, src) = graph();
    // Depth-first search for a cycle, reporting its files.
    fn visit(
        f: &PathBuf,
        edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        state: &mut BTreeMap<PathBuf, u8>,
        stack: &mut Vec<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        state.insert(f.clone(), 1);
        stack.push(f.clone());
        for t in &edges[f] {
            match state.get(t) {
                Some(1) => {
                    let at = stack.iter().position(|s| s == t).unwrap_or(0);
                    return Some(stack[at..].to_vec());
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(t, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(f.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for f in edges.keys() {
        if !state.contains_key(f) {
            if let Some(cycle) = visit(f, &edges, &mut state, &mut Vec::new()) {
                let names: Vec<String> = cycle
                    .iter()
                    .map(|p| p.strip_prefix(&src).unwrap().display().to_string())
                    .collect();
                panic!("an import circle: {}", names.join(" → "));
            }
        }
    }
    // The check sees real edges (a broken parser would find none).
    let total: usize = edges.values().map(BTreeSet::len).sum();
    assert!(total > 300, "only {total} imports found");
}

#[test]
fn no_stage_imports_a_later_one() {
    let (edges, _, src) = graph();
    let stage = |f: &Path| {
        let first = f.strip_prefix(&src).ok()?.components().next()?;
        let name = first.as_os_str().to_string_lossy();
        let name = name.trim_end_matches(".rs");
        STAGES.iter().find(|(s, _)| *s == name).map(|&(_, k)| k)
    };
    let mut wrong = Vec::new();
    for (f, tos) in &edges {
        let Some(from) = stage(f) else { continue };
        for t in tos {
            if let Some(to) = stage(t) {
                if to > from && to != 0 {
                    wrong.push(format!("{} → {}", f.display(), t.display()));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "later stages imported: {wrong:#?}");
}

#[test]
fn files_stay_small_and_main_stays_thin() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut list = Vec::new();
    files(&src, &mut list);
    let mut long = Vec::new();
    for f in &list {
        let text = std::fs::read_to_string(f).unwrap();
        let before_tests = text.split("#[cfg(test)]").next().unwrap_or("");
        let lines = before_tests.lines().count();
        if lines > 800 {
            long.push(format!("{} ({lines} lines)", f.display()));
        }
    }
    assert!(
        long.is_empty(),
        "files over 800 lines before their tests: {long:?}"
    );
    let main = std::fs::read_to_string(src.join("main.rs")).unwrap();
    assert!(main.lines().count() <= 200, "main.rs grew past 200 lines");
}

#[test]
fn the_parser_of_use_trees_reads_nested_groups() {
    assert_eq!(
        expand("super::{a, b::{c, d as e}, f::*}"),
        ["super::a", "super::b::c", "super::b::d", "super::f::*"]
    );
}
