//! Reading scenario files: size and encoding checks, TOML syntax, `include`s followed relative
//! to the including file (cycles refused), and the territory files of a network.

use std::path::{Path, PathBuf};

use toml::de::DeTable;
use toml::Spanned;

use super::read::Reader;
use super::*;
use crate::diag::Error;

/// Largest scenario file accepted, in bytes.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// Reads a file as UTF-8 text, refusing directories, huge files and binary content.
fn read_text(path: &Path, diags: &mut Vec<Diagnostic>, origin: Option<Span>) -> Option<String> {
    let fail = |diags: &mut Vec<Diagnostic>, message: String, help: &str| {
        let d = match origin {
            Some(span) => Diagnostic::at(span, format!("{}: {message}", path.display())),
            None => Diagnostic::file(path, message),
        };
        diags.push(d.with_help(help));
        None
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            return fail(
                diags,
                format!("cannot be read ({})", io_reason(&e)),
                "check the path; paths in a file are relative to that file's folder",
            )
        }
    };
    if meta.is_dir() {
        return fail(
            diags,
            "is a folder, not a scenario file".into(),
            "give the path of a .toml file",
        );
    }
    if meta.len() > MAX_FILE_BYTES {
        return fail(
            diags,
            format!(
                "is {} MB; scenario files are limited to 10 MB",
                meta.len() / (1024 * 1024)
            ),
            "a scenario is a short text file; check that this is the right file",
        );
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return fail(
                diags,
                format!("cannot be read ({})", io_reason(&e)),
                "check the file's permissions",
            )
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) if text.trim().is_empty() => fail(
            diags,
            "is empty".into(),
            "start from a template: `trajectoire new NAME`",
        ),
        Ok(text) => Some(text),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let valid = std::str::from_utf8(&e.as_bytes()[..offset]).unwrap_or_default();
            let (line, col) = crate::diag::line_col(valid, offset);
            fail(
                diags,
                format!("is not UTF-8 text: invalid byte at line {line}, column {col} (byte offset {offset})"),
                "save the file as UTF-8 text (in most editors: \"Save with encoding\" → UTF-8)",
            )
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Parses text into a spanned table, reporting syntax errors.
fn parse_document<'i>(
    text: &'i str,
    file: usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<Spanned<DeTable<'i>>> {
    let (table, errors) = DeTable::parse_recoverable(text);
    if errors.is_empty() {
        return Some(table);
    }
    for e in errors {
        let span = Span::new(file, e.span().unwrap_or(0..0));
        diags.push(
            Diagnostic::at(span, format!("TOML syntax: {}", e.message().trim())).with_help(
                "see the file format in README.md; strings need quotes, tables `[name]`",
            ),
        );
    }
    None
}

struct Loader {
    sources: Sources,
    diags: Vec<Diagnostic>,
    /// A file could not be read or parsed: nothing meaningful can be checked beyond it.
    fatal: bool,
    /// Files currently being included, to detect cycles.
    stack: Vec<PathBuf>,
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn relative_to(base: &Path, written: &str) -> PathBuf {
    let dir = base.parent().unwrap_or_else(|| Path::new(""));
    dir.join(written)
}

impl Loader {
    fn register(&mut self, path: &Path, origin: Option<Span>) -> Option<usize> {
        let Some(text) = read_text(path, &mut self.diags, origin) else {
            self.fatal = true;
            return None;
        };
        Some(self.sources.add(path.to_path_buf(), text))
    }

    /// Loads the levers of `include`d libraries of a file (recursively).
    fn includes(&mut self, root: &DeTable<'_>, file: usize, library: &mut Vec<LeverDoc>) {
        let mut reader = Reader {
            file,
            diags: &mut self.diags,
        };
        let Some(list) = reader.string_list(root, "include") else {
            return;
        };
        let base = self.sources.get(file).path.clone();
        for item in list.value {
            let path = relative_to(&base, &item.value);
            let canon = canonical(&path);
            if self.stack.contains(&canon) {
                self.diags.push(
                    Diagnostic::at(
                        item.span,
                        format!("include cycle: `{}` includes itself", item.value),
                    )
                    .with_help("a library may include others, but never one that includes it back"),
                );
                continue;
            }
            let Some(lib_file) = self.register(&path, Some(item.span)) else {
                continue;
            };
            let text = self.sources.get(lib_file).text.clone();
            let Some(doc) = parse_document(&text, lib_file, &mut self.diags) else {
                self.fatal = true;
                continue;
            };
            let mut reader = Reader {
                file: lib_file,
                diags: &mut self.diags,
            };
            reader.check_keys(
                doc.get_ref(),
                LIBRARY_KEYS,
                "an included library (levers only)",
            );
            let levers: Vec<LeverDoc> = reader
                .table_array(doc.get_ref(), "lever")
                .into_iter()
                .map(|(t, span)| reader.lever(t, span))
                .collect();
            self.stack.push(canon);
            self.includes(doc.get_ref(), lib_file, library);
            self.stack.pop();
            library.extend(levers);
        }
    }

    fn territory_file(&mut self, path: &Path, origin: Option<Span>) -> Option<TerritoryDoc> {
        let file = self.register(path, origin)?;
        let text = self.sources.get(file).text.clone();
        let Some(doc) = parse_document(&text, file, &mut self.diags) else {
            self.fatal = true;
            return None;
        };
        self.territory_from(doc.get_ref(), file)
    }

    fn territory_from(&mut self, root: &DeTable<'_>, file: usize) -> Option<TerritoryDoc> {
        let mut reader = Reader {
            file,
            diags: &mut self.diags,
        };
        let mut territory = reader.territory(root, Span::new(file, 0..0));
        let mut library = Vec::new();
        self.stack.push(canonical(&self.sources.get(file).path));
        self.includes(root, file, &mut library);
        self.stack.pop();
        territory.library = library;
        Some(territory)
    }
}

/// Loads a territory or network file and everything it includes.
///
/// Returns every problem found while reading (syntax, unknown keys, types); meaning is checked
/// later, by the model stage (`Model::from_scenario`).
pub fn load(path: &Path) -> Result<Loaded, Error> {
    load_with(path, None)
}

/// Loads a scenario from `text`, as if it were the content of `path` (includes and territory
/// files are still read relative to `path`). For tests, editors and the workshop page.
pub fn load_text(path: &Path, text: &str) -> Result<Loaded, Error> {
    load_with(path, Some(text.to_string()))
}

fn load_with(path: &Path, text: Option<String>) -> Result<Loaded, Error> {
    let mut loader = Loader {
        sources: Sources::default(),
        diags: Vec::new(),
        fatal: false,
        stack: Vec::new(),
    };
    let scenario = load_inner(&mut loader, path, text);
    match scenario {
        Some(s) if !loader.fatal => Ok(Loaded {
            sources: loader.sources,
            scenario: s,
            problems: loader.diags,
        }),
        _ => Err(invalid(loader.diags, loader.sources)),
    }
}

/// Adds the `[[lever]]` tables written in `text` to territory `territory` of a loaded scenario
/// (its place in network order; 0 for a territory file), exactly as if they were written at the
/// end of that territory's file. `text` becomes a source of its own, named `name`, so that a
/// problem in it is shown there.
pub fn add_levers(
    loaded: &mut Loaded,
    territory: usize,
    name: &str,
    text: &str,
) -> Result<(), Error> {
    let file = loaded.sources.add(PathBuf::from(name), text.to_string());
    let mut diags = Vec::new();
    let Some(doc) = parse_document(text, file, &mut diags) else {
        return Err(invalid(diags, loaded.sources.clone()));
    };
    let mut reader = Reader {
        file,
        diags: &mut diags,
    };
    reader.check_keys(doc.get_ref(), LIBRARY_KEYS, "levers added to a territory");
    let levers: Vec<LeverDoc> = reader
        .table_array(doc.get_ref(), "lever")
        .into_iter()
        .map(|(t, span)| reader.lever(t, span))
        .collect();
    if !diags.is_empty() {
        return Err(invalid(diags, loaded.sources.clone()));
    }
    match territory_doc(&mut loaded.scenario, territory) {
        Some(t) => {
            t.levers.extend(levers);
            Ok(())
        }
        None => Err(Error::Usage(format!(
            "no territory {territory} to add levers to"
        ))),
    }
}

/// Territory `index` of a scenario (in network order; 0 for a territory file).
pub fn territory_doc(scenario: &mut Scenario, index: usize) -> Option<&mut TerritoryDoc> {
    match scenario {
        Scenario::Territory(t) if index == 0 => Some(t),
        Scenario::Network(n) => n.territories.get_mut(index),
        _ => None,
    }
}

/// The territories of a scenario, in network order.
pub fn territory_docs(scenario: &Scenario) -> Vec<&TerritoryDoc> {
    match scenario {
        Scenario::Territory(t) => vec![t],
        Scenario::Network(n) => n.territories.iter().collect(),
        Scenario::Library(_) => Vec::new(),
    }
}

/// Sorts diagnostics in file order and wraps them into an [`Error::Invalid`].
pub fn invalid(mut diagnostics: Vec<Diagnostic>, sources: Sources) -> Error {
    diagnostics.sort_by_key(|d| match &d.location {
        crate::diag::Location::Span(s) => (0, s.file, s.start),
        _ => (1, 0, 0),
    });
    diagnostics.dedup();
    Error::Invalid {
        diagnostics,
        sources,
    }
}

fn load_inner(loader: &mut Loader, path: &Path, text: Option<String>) -> Option<Scenario> {
    let file = match text {
        Some(text) => loader.sources.add(path.to_path_buf(), text),
        None => loader.register(path, None)?,
    };
    let text = loader.sources.get(file).text.clone();
    let Some(doc) = parse_document(&text, file, &mut loader.diags) else {
        loader.fatal = true;
        return None;
    };
    let root = doc.get_ref();
    let has = |key: &str| root.iter().any(|(k, _)| k.get_ref().as_ref() == key);
    let is_network = has("network");
    if !is_network && has("lever") && !has("territory") && !has("actor") {
        let mut library = Vec::new();
        loader.stack.push(canonical(path));
        let mut reader = Reader {
            file,
            diags: &mut loader.diags,
        };
        reader.check_keys(root, LIBRARY_KEYS, "a lever library");
        let levers: Vec<LeverDoc> = reader
            .table_array(root, "lever")
            .into_iter()
            .map(|(t, span)| reader.lever(t, span))
            .collect();
        loader.includes(root, file, &mut library);
        library.extend(levers);
        return Some(Scenario::Library(library));
    }
    if !is_network {
        return loader
            .territory_from(root, file)
            .map(|t| Scenario::Territory(Box::new(t)));
    }
    let mut reader = Reader {
        file,
        diags: &mut loader.diags,
    };
    reader.check_keys(root, NETWORK_KEYS, "a network file");
    let (net, span) = reader.subtable(root, "network")?;
    reader.check_keys(net, NETWORK_TABLE_KEYS, "[network]");
    let id = reader.string(net, "id");
    let name = reader.string(net, "name");
    let description = reader.string(net, "description");
    let paths = reader.string_list(net, "territories");
    let simulation = reader.simulation(root);
    let hypotheses = reader.hypotheses(root);
    let sliders = reader.sliders(root);
    let links = reader
        .table_array(root, "link")
        .into_iter()
        .map(|(t, span)| {
            reader.check_keys(t, LINK_KEYS, "[[link]]");
            LinkDoc {
                span,
                between: reader.string_list(t, "between"),
                exchange: reader.number(t, "exchange"),
                spillover: reader.number(t, "spillover"),
            }
        })
        .collect();
    let territory_paths = match paths {
        Some(p) => p.value,
        None => {
            loader.diags.push(
                Diagnostic::at(span, "[network] has no `territories` list")
                    .with_help("add `territories = [\"town-a.toml\", \"town-b.toml\"]`"),
            );
            Vec::new()
        }
    };
    let mut territories = Vec::new();
    for written in &territory_paths {
        let p = relative_to(path, &written.value);
        if let Some(t) = loader.territory_file(&p, Some(written.span)) {
            territories.push(t);
        }
    }
    Some(Scenario::Network(Box::new(NetworkDoc {
        span,
        id,
        name,
        description,
        territory_paths,
        territories,
        links,
        simulation,
        hypotheses,
        sliders,
    })))
}
