//! Errors and their rendering.
//!
//! Every problem found in a scenario is a [`Diagnostic`] that carries the span of the text it is
//! about. Diagnostics are collected (never only the first one) and rendered in one place,
//! [`Error::render`], as `file:line:col`, the offending line and a caret, with a hint on what to
//! do. The library never prints: the command-line binary calls `render` once.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One source text that diagnostics can point into.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as the user wrote it (or as resolved from an `include`).
    pub path: PathBuf,
    /// Full UTF-8 text.
    pub text: String,
}

/// All source texts loaded for one scenario, addressed by index.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// Registers a file and returns its index.
    pub fn add(&mut self, path: PathBuf, text: String) -> usize {
        self.files.push(SourceFile { path, text });
        self.files.len() - 1
    }

    /// The file at `index`.
    pub fn get(&self, index: usize) -> &SourceFile {
        &self.files[index]
    }

    /// Index of an already loaded file with this canonical path, if any.
    pub fn find(&self, path: &Path) -> Option<usize> {
        self.files.iter().position(|f| f.path == path)
    }

    /// Number of files loaded.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file was loaded.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// 1-based line and column (in characters) of a byte offset in a file.
    pub fn line_col(&self, file: usize, offset: usize) -> (usize, usize) {
        line_col(&self.files[file].text, offset)
    }
}

/// 1-based line and column (in characters) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..offset].chars().count() + 1;
    (line, col)
}

/// A byte range inside one of the [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// Index of the file in [`Sources`].
    pub file: usize,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span in `file` covering `range`.
    pub fn new(file: usize, range: Range<usize>) -> Self {
        Span {
            file,
            start: range.start,
            end: range.end,
        }
    }
}

/// One problem in a scenario, with where it is and what to do about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Where: a span inside a loaded file, or just a file (e.g. it cannot be read).
    pub location: Location,
    /// What is wrong, in plain words.
    pub message: String,
    /// What to do, e.g. "did you mean `fatigue`?".
    pub help: Option<String>,
}

/// Where a diagnostic points.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    /// A span of text in a loaded source file.
    Span(Span),
    /// A file as a whole (not loaded, or empty).
    File(PathBuf),
    /// A command-line argument such as `--runs`.
    Argument(String),
    /// Not a problem: what the problems after it are about (e.g. which point of a sweep).
    Note,
    /// A character in an expression given on the command line, such as `--expect`.
    Expression {
        /// The option, e.g. `--expect`.
        argument: String,
        /// The expression as given.
        text: String,
        /// Byte offset of the problem in `text`.
        offset: usize,
    },
}

impl Diagnostic {
    /// A diagnostic about a span of text.
    pub fn at(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            location: Location::Span(span),
            message: message.into(),
            help: None,
        }
    }

    /// A diagnostic about a whole file.
    pub fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic {
            location: Location::File(path.into()),
            message: message.into(),
            help: None,
        }
    }

    /// A diagnostic about a command-line argument.
    pub fn argument(name: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            location: Location::Argument(name.into()),
            message: message.into(),
            help: None,
        }
    }

    /// A note on what the problems after it are about; not counted as a problem.
    pub fn note(message: impl Into<String>) -> Self {
        Diagnostic {
            location: Location::Note,
            message: message.into(),
            help: None,
        }
    }

    /// Adds a hint on what to do.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a hint only if there is one.
    pub fn with_optional_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// `file:line:col` of this diagnostic (or the file, or the argument).
    pub fn position(&self, sources: &Sources) -> String {
        match &self.location {
            Location::Span(span) => {
                let (line, col) = sources.line_col(span.file, span.start);
                format!("{}:{line}:{col}", sources.get(span.file).path.display())
            }
            Location::File(path) => path.display().to_string(),
            Location::Argument(name) => format!("argument {name}"),
            Location::Note => "note".into(),
            Location::Expression {
                argument,
                text,
                offset,
            } => {
                let col = text[..(*offset).min(text.len())].chars().count() + 1;
                format!("{argument} \"{text}\", column {col}")
            }
        }
    }
}

/// Everything that can go wrong, each with its exit code.
#[derive(Debug)]
pub enum Error {
    /// The scenario (or an override) is invalid: exit code 1.
    Invalid {
        /// Every problem found, in file order.
        diagnostics: Vec<Diagnostic>,
        /// The texts they point into.
        sources: Sources,
    },
    /// Bad use of the command line: exit code 2.
    Usage(String),
    /// Stopped by the user (Ctrl-C): exit code 130.
    Interrupted,
    /// A resumable search stopped by the user (Ctrl-C): exit code 130; what was finished is
    /// kept in `checkpoint` and `--resume` goes on from it.
    Paused {
        /// The checkpoint file holding every finished generation.
        checkpoint: PathBuf,
    },
    /// An input file cannot be used as asked (a shard that does not fit the others, a
    /// corrupted one): exit code 1, nothing written.
    Refused {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
        /// What to do.
        help: String,
    },
    /// Reading or writing a file failed: exit code 3.
    Io {
        /// The path involved.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// Exit code for this error: 1 invalid scenario or refused input, 2 usage, 3 input/output.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid { .. } | Error::Refused { .. } => 1,
            Error::Usage(_) => 2,
            Error::Io { .. } => 3,
            Error::Interrupted | Error::Paused { .. } => 130,
        }
    }

    /// Invalid arguments: problems that point into no file (a `--set`, an `--outcome`).
    pub fn arguments(diagnostics: Vec<Diagnostic>) -> Self {
        Error::Invalid {
            diagnostics,
            sources: Sources::default(),
        }
    }

    /// A refusal of the file `path`: what is wrong and what to do.
    pub fn refused(
        path: impl Into<PathBuf>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        Error::Refused {
            path: path.into(),
            message: message.into(),
            help: help.into(),
        }
    }

    /// An input/output error about `path`.
    pub fn io(path: impl Into<PathBuf>, err: impl fmt::Display) -> Self {
        Error::Io {
            path: path.into(),
            message: err.to_string(),
        }
    }

    /// Renders the error for a person: each diagnostic with `file:line:col`, the line and a
    /// caret under the offending text, and its hint.
    pub fn render(&self, color: bool) -> String {
        match self {
            Error::Invalid {
                diagnostics,
                sources,
            } => {
                let mut out = String::new();
                for d in diagnostics.iter().take(MAX_SHOWN) {
                    out.push_str(&render_diagnostic(d, sources, color));
                }
                let n = diagnostics
                    .iter()
                    .filter(|d| d.location != Location::Note)
                    .count();
                if n > MAX_SHOWN {
                    out.push_str(&format!(
                        "... and {} more problems not shown; fix these first.\n",
                        n - MAX_SHOWN
                    ));
                }
                out.push_str(&format!(
                    "{n} problem{} found; nothing was simulated.\n",
                    if n == 1 { "" } else { "s" }
                ));
                out
            }
            Error::Usage(message) => format!("error: {message}\n"),
            Error::Interrupted => "interrupted: the simulation was stopped; nothing was written and previous outputs are unchanged\n".into(),
            Error::Paused { checkpoint } => format!(
                "interrupted: the search was stopped; every finished generation is kept in {}\n  \
                 help: run the same command with --resume to go on from there; the results \
                 folder is unchanged until the search ends\n",
                checkpoint.display()
            ),
            Error::Io { path, message } => {
                format!("error: {}: {message}\n", path.display())
            }
            Error::Refused {
                path,
                message,
                help,
            } => format!(
                "error: {}: {message}\n  help: {help}\nnothing was written.\n",
                path.display()
            ),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Error {}

/// Problems rendered in full; the rest are counted.
const MAX_SHOWN: usize = 50;
/// Lines longer than this are not quoted (a generated or corrupted file).
const MAX_QUOTED_LINE: usize = 400;

fn line_length_at(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    end - start
}

fn render_diagnostic(d: &Diagnostic, sources: &Sources, color: bool) -> String {
    use ariadne::{Config, IndexType, Label, Report, ReportKind, Source};
    let position = d.position(sources);
    let quotable = match &d.location {
        Location::Span(span) => {
            let text = &sources.get(span.file).text;
            text.is_char_boundary(span.start.min(text.len()))
                && line_length_at(text, span.start) <= MAX_QUOTED_LINE
        }
        _ => false,
    };
    if d.location == Location::Note {
        return format!("{}:\n", d.message);
    }
    let (Location::Span(span), true) = (&d.location, quotable) else {
        let mut s = format!("error: {position}: {}\n", d.message);
        if let Location::Expression { text, offset, .. } = &d.location {
            let col = text[..(*offset).min(text.len())].chars().count();
            s.push_str(&format!("    {text}\n    {}^\n", " ".repeat(col)));
        }
        if let Some(help) = &d.help {
            s.push_str(&format!("  help: {help}\n"));
        }
        return s;
    };
    let file = sources.get(span.file);
    let name = file.path.display().to_string();
    let end = span.end.max(span.start).min(file.text.len());
    let start = span.start.min(end);
    let mut report = Report::build(ReportKind::Error, (name.clone(), start..end))
        .with_config(
            Config::new()
                .with_index_type(IndexType::Byte)
                .with_color(color),
        )
        .with_message(format!("{position}: {}", d.message))
        .with_label(Label::new((name.clone(), start..end)).with_message(&d.message));
    if let Some(help) = &d.help {
        report = report.with_help(help);
    }
    let mut buf = Vec::new();
    let written = report
        .finish()
        .write((name.clone(), Source::from(file.text.as_str())), &mut buf);
    match written {
        Ok(()) => String::from_utf8_lossy(&buf).into_owned(),
        Err(_) => format!("error: {position}: {}\n", d.message),
    }
}

/// Damerau–Levenshtein (optimal string alignment) distance between two short strings.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1) + 1;
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "did you mean `x`?" for the closest candidate, else the list of what is allowed.
pub fn suggestion<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> Option<String> {
    if let Some(best) = closest(word, candidates.clone()) {
        return Some(format!("did you mean `{best}`?"));
    }
    let all: Vec<&str> = candidates.into_iter().collect();
    if all.is_empty() {
        None
    } else {
        Some(format!("expected one of: {}", all.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_typos() {
        assert_eq!(edit_distance("fatigue", "fatigue"), 0);
        assert_eq!(edit_distance("fatigu", "fatigue"), 1);
        assert_eq!(edit_distance("fatgiue", "fatigue"), 1);
        assert_eq!(edit_distance("abc", "xyz"), 3);
    }

    #[test]
    fn closest_finds_a_near_key_only() {
        let keys = ["fatigue", "erosion", "adoption"];
        assert_eq!(closest("fatige", keys), Some("fatigue"));
        assert_eq!(closest("banana", keys), None);
    }

    #[test]
    fn line_col_counts_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // "é" is two bytes: the "=" is at byte 10, column 4.
        assert_eq!(line_col(text, 10), (2, 4));
    }
}
