//! Stage 1 — the scenario: a faithful mirror of what the TOML files say, with the span of every
//! value, before any meaning is checked.
//!
//! Files are parsed by `toml` into its spanned document tree; this module walks that tree,
//! reporting **every** unknown key (with a "did you mean"), wrong type, or non-finite number it
//! meets instead of stopping at the first. Includes are followed (relative to the including
//! file, cycles refused) and a network file loads each of its territory files. The result is a
//! [`Scenario`]: plain structs whose fields are `Option<Sp<T>>`, so that the model stage can
//! both apply defaults and point at the text when a value is out of range.

use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::diag::{suggestion, Diagnostic, Error, Sources, Span};

/// Largest scenario file accepted, in bytes.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// A value and the span of text it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

/// A table of numbers keyed by names, such as `push = { inhabitants = 0.01 }`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NumMap {
    /// Span of the whole table.
    pub span: Option<Span>,
    /// Entries in file order.
    pub entries: Vec<(Sp<String>, Sp<f64>)>,
}

/// What a loaded scenario file is.
#[derive(Debug, Clone)]
pub enum Scenario {
    /// One territory file.
    Territory(Box<TerritoryDoc>),
    /// A network of territories.
    Network(Box<NetworkDoc>),
    /// A lever library (a référentiel): `[[lever]]` tables only, for `include`.
    Library(Vec<LeverDoc>),
}

/// A loaded scenario and the texts its spans point into.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Every file read, for diagnostics.
    pub sources: Sources,
    /// What the files say (values that could not be read are left out).
    pub scenario: Scenario,
    /// Problems found while reading (unknown keys, wrong types); the model stage reports them
    /// together with its own so that the user sees every problem at once.
    pub problems: Vec<Diagnostic>,
}

/// `[network]` file.
#[derive(Debug, Clone)]
pub struct NetworkDoc {
    /// Span of the `[network]` table (or of the file's start).
    pub span: Span,
    /// `id`.
    pub id: Option<Sp<String>>,
    /// `name`.
    pub name: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// `territories`, as written.
    pub territory_paths: Vec<Sp<String>>,
    /// The loaded territory files, in the same order (files that failed to load are absent).
    pub territories: Vec<TerritoryDoc>,
    /// `[[link]]` tables.
    pub links: Vec<LinkDoc>,
    /// `[simulation]`.
    pub simulation: SimulationDoc,
    /// `[[hypothesis]]`.
    pub hypotheses: Vec<HypothesisDoc>,
}

/// `[[link]]` of a network.
#[derive(Debug, Clone)]
pub struct LinkDoc {
    /// Span of the table.
    pub span: Span,
    /// `between`: two territory ids.
    pub between: Option<Sp<Vec<Sp<String>>>>,
    /// `exchange`.
    pub exchange: Option<Sp<f64>>,
    /// `spillover`.
    pub spillover: Option<Sp<f64>>,
}

/// A territory file.
#[derive(Debug, Clone)]
pub struct TerritoryDoc {
    /// Index of the file in [`Sources`].
    pub file: usize,
    /// `[territory]`.
    pub header: HeaderDoc,
    /// `[simulation]`.
    pub simulation: SimulationDoc,
    /// `[scale]`.
    pub scale: ScaleDoc,
    /// `[perpetuation]`.
    pub perpetuation: PerpetuationDoc,
    /// `[[actor]]`.
    pub actors: Vec<ActorDoc>,
    /// `[[phase]]`.
    pub phases: Vec<PhaseDoc>,
    /// `[[lever]]`.
    pub levers: Vec<LeverDoc>,
    /// `[[shock]]`.
    pub shocks: Vec<ShockDoc>,
    /// Levers of every included library, in include order.
    pub library: Vec<LeverDoc>,
    /// `[[hypothesis]]`.
    pub hypotheses: Vec<HypothesisDoc>,
}

/// `[territory]`.
#[derive(Debug, Clone)]
pub struct HeaderDoc {
    /// Span of the table, or of the file's start when it is missing.
    pub span: Span,
    /// Whether the table was written at all.
    pub present: bool,
    /// `id`.
    pub id: Option<Sp<String>>,
    /// `name`.
    pub name: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// `population`.
    pub population: Option<Sp<f64>>,
    /// `start_year`.
    pub start_year: Option<Sp<i64>>,
    /// `horizon`.
    pub horizon: Option<Sp<i64>>,
    /// `budget`.
    pub budget: Option<Sp<f64>>,
}

/// `[simulation]`.
#[derive(Debug, Clone, Default)]
pub struct SimulationDoc {
    /// `runs`.
    pub runs: Option<Sp<i64>>,
    /// `seed`.
    pub seed: Option<Sp<i64>>,
    /// `substeps`.
    pub substeps: Option<Sp<i64>>,
}

/// `[scale]`.
#[derive(Debug, Clone, Default)]
pub struct ScaleDoc {
    /// `potential`.
    pub potential: Option<Sp<f64>>,
    /// `innovation` (p0).
    pub innovation: Option<Sp<f64>>,
    /// `imitation` (q0).
    pub imitation: Option<Sp<f64>>,
    /// `initial` (r0).
    pub initial: Option<Sp<f64>>,
}

/// `[perpetuation]`.
#[derive(Debug, Clone, Default)]
pub struct PerpetuationDoc {
    /// `collapse`.
    pub collapse: Option<Sp<f64>>,
    /// `grace`.
    pub grace: Option<Sp<i64>>,
    /// `after_phase`.
    pub after_phase: Option<Sp<String>>,
}

/// `[[actor]]`.
#[derive(Debug, Clone)]
pub struct ActorDoc {
    /// Span of the table header.
    pub span: Span,
    /// `id`.
    pub id: Option<Sp<String>>,
    /// `label`.
    pub label: Option<Sp<String>>,
    /// `size`.
    pub size: Option<Sp<f64>>,
    /// `weight`.
    pub weight: Option<Sp<f64>>,
    /// `engagement` (E0).
    pub engagement: Option<Sp<f64>>,
    /// `anchored` (A0).
    pub anchored: Option<Sp<f64>>,
    /// `adoption` (α).
    pub adoption: Option<Sp<f64>>,
    /// `fatigue` (δ).
    pub fatigue: Option<Sp<f64>>,
    /// `erosion` (ε).
    pub erosion: Option<Sp<f64>>,
    /// `volatility` (σ).
    pub volatility: Option<Sp<f64>>,
    /// `influenced_by` (a row of W).
    pub influenced_by: NumMap,
}

/// `[[phase]]`.
#[derive(Debug, Clone)]
pub struct PhaseDoc {
    /// Span of the table.
    pub span: Span,
    /// `id`.
    pub id: Option<Sp<String>>,
    /// `label`.
    pub label: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// `enter`.
    pub enter: Option<NumMap>,
    /// `hold`.
    pub hold: Option<Sp<i64>>,
    /// `effect`.
    pub effect: NumMap,
    /// `fallback`.
    pub fallback: Option<NumMap>,
}

/// `[[lever]]`, in a territory or in an included library.
#[derive(Debug, Clone)]
pub struct LeverDoc {
    /// Span of the table.
    pub span: Span,
    /// `id`.
    pub id: Option<Sp<String>>,
    /// `label`.
    pub label: Option<Sp<String>>,
    /// `description`: the action methodology, in words.
    pub description: Option<Sp<String>>,
    /// `use`.
    pub use_: Option<Sp<String>>,
    /// `from`.
    pub from: Option<Sp<i64>>,
    /// `until`.
    pub until: Option<Sp<i64>>,
    /// `after_phase`.
    pub after_phase: Option<Sp<String>>,
    /// `cost`.
    pub cost: Option<Sp<f64>>,
    /// `ramp`.
    pub ramp: Option<Sp<i64>>,
    /// `intensity`.
    pub intensity: Option<Sp<f64>>,
    /// `push`.
    pub push: Option<NumMap>,
    /// `retain`.
    pub retain: Option<NumMap>,
    /// `anchor`.
    pub anchor: Option<NumMap>,
    /// `reach`.
    pub reach: Option<Sp<f64>>,
}

impl LeverDoc {
    /// This lever with every key it does not write taken from `base` (the `use` rule: tables are
    /// replaced whole, not merged; the id stays this lever's).
    pub fn over(&self, base: &LeverDoc) -> LeverDoc {
        LeverDoc {
            span: self.span,
            id: self.id.clone(),
            label: self.label.clone().or_else(|| base.label.clone()),
            description: self
                .description
                .clone()
                .or_else(|| base.description.clone()),
            use_: self.use_.clone(),
            from: self.from.clone().or_else(|| base.from.clone()),
            until: self.until.clone().or_else(|| base.until.clone()),
            after_phase: self
                .after_phase
                .clone()
                .or_else(|| base.after_phase.clone()),
            cost: self.cost.clone().or_else(|| base.cost.clone()),
            ramp: self.ramp.clone().or_else(|| base.ramp.clone()),
            intensity: self.intensity.clone().or_else(|| base.intensity.clone()),
            push: self.push.clone().or_else(|| base.push.clone()),
            retain: self.retain.clone().or_else(|| base.retain.clone()),
            anchor: self.anchor.clone().or_else(|| base.anchor.clone()),
            reach: self.reach.clone().or_else(|| base.reach.clone()),
        }
    }
}

/// `[[hypothesis]]`: a claim to test, e.g. `expect = "perpetuation@144 >= 0.7"`.
#[derive(Debug, Clone)]
pub struct HypothesisDoc {
    /// Span of the table.
    pub span: Span,
    /// `name`.
    pub name: Option<Sp<String>>,
    /// `expect`.
    pub expect: Option<Sp<String>>,
}

/// `[[shock]]`.
#[derive(Debug, Clone)]
pub struct ShockDoc {
    /// Span of the table.
    pub span: Span,
    /// `id`.
    pub id: Option<Sp<String>>,
    /// `label`.
    pub label: Option<Sp<String>>,
    /// `description`.
    pub description: Option<Sp<String>>,
    /// `every`.
    pub every: Option<Sp<i64>>,
    /// `first`.
    pub first: Option<Sp<i64>>,
    /// `at`.
    pub at: Option<Sp<Vec<Sp<i64>>>>,
    /// `rate`.
    pub rate: Option<Sp<f64>>,
    /// `probability`.
    pub probability: Option<Sp<f64>>,
    /// `hits`.
    pub hits: NumMap,
    /// `pause`: lever id → months.
    pub pause: Vec<(Sp<String>, Sp<i64>)>,
}

pub(crate) const TERRITORY_KEYS: &[&str] = &[
    "territory",
    "simulation",
    "scale",
    "perpetuation",
    "actor",
    "phase",
    "lever",
    "shock",
    "include",
    "hypothesis",
];
const NETWORK_KEYS: &[&str] = &["network", "simulation", "link", "hypothesis"];
const HYPOTHESIS_KEYS: &[&str] = &["name", "expect"];
const LIBRARY_KEYS: &[&str] = &["lever", "include"];
pub(crate) const HEADER_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "population",
    "start_year",
    "horizon",
    "budget",
];
pub(crate) const SIMULATION_KEYS: &[&str] = &["runs", "seed", "substeps"];
pub(crate) const SCALE_KEYS: &[&str] = &["potential", "innovation", "imitation", "initial"];
pub(crate) const PERPETUATION_KEYS: &[&str] = &["collapse", "grace", "after_phase"];
pub(crate) const ACTOR_KEYS: &[&str] = &[
    "id",
    "label",
    "size",
    "weight",
    "engagement",
    "anchored",
    "adoption",
    "fatigue",
    "erosion",
    "volatility",
    "influenced_by",
];
pub(crate) const PHASE_KEYS: &[&str] = &[
    "id",
    "label",
    "description",
    "enter",
    "hold",
    "effect",
    "fallback",
];
pub(crate) const LEVER_KEYS: &[&str] = &[
    "id",
    "label",
    "description",
    "use",
    "from",
    "until",
    "after_phase",
    "cost",
    "ramp",
    "intensity",
    "push",
    "retain",
    "anchor",
    "reach",
];
pub(crate) const SHOCK_KEYS: &[&str] = &[
    "id",
    "label",
    "description",
    "every",
    "first",
    "at",
    "rate",
    "probability",
    "hits",
    "pause",
];
const NETWORK_TABLE_KEYS: &[&str] = &["id", "name", "description", "territories"];
pub(crate) const LINK_KEYS: &[&str] = &["between", "exchange", "spillover"];
/// Indices a phase condition may test.
pub const CONDITION_KEYS: &[&str] = &["engagement", "stabilisation", "scale"];
/// Multipliers a phase effect may set.
pub const EFFECT_KEYS: &[&str] = &["push", "retain", "anchor", "reach"];

type Entry<'i> = (
    &'i Spanned<std::borrow::Cow<'i, str>>,
    &'i Spanned<DeValue<'i>>,
);

/// Walks one parsed file, collecting diagnostics.
struct Reader<'d> {
    file: usize,
    diags: &'d mut Vec<Diagnostic>,
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "text",
        DeValue::Integer(_) => "a whole number",
        DeValue::Float(_) => "a number",
        DeValue::Boolean(_) => "true/false",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

fn parse_integer(v: &toml::de::DeInteger<'_>) -> Option<i64> {
    let digits: String = v.as_str().chars().filter(|c| *c != '_').collect();
    i64::from_str_radix(&digits, v.radix()).ok()
}

impl<'d> Reader<'d> {
    fn span(&self, range: std::ops::Range<usize>) -> Span {
        Span::new(self.file, range)
    }

    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn entry<'i>(t: &'i DeTable<'i>, key: &str) -> Option<Entry<'i>> {
        t.iter().find(|(k, _)| k.get_ref().as_ref() == key)
    }

    /// Reports every key of `t` that is not in `allowed`.
    fn check_keys(&mut self, t: &DeTable<'_>, allowed: &[&str], context: &str) {
        for (k, _) in t.iter() {
            let key = k.get_ref().as_ref();
            if !allowed.contains(&key) {
                let d = Diagnostic::at(
                    self.span(k.span()),
                    format!("unknown key `{key}` in {context}"),
                )
                .with_optional_help(suggestion(key, allowed.iter().copied()));
                self.error(d);
            }
        }
    }

    fn wrong_type(&mut self, key: &str, v: &Spanned<DeValue<'_>>, expected: &str) {
        let d = Diagnostic::at(
            self.span(v.span()),
            format!("`{key}` must be {expected}, not {}", type_name(v.get_ref())),
        );
        self.error(d);
    }

    fn number_value(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<Sp<f64>> {
        let span = self.span(v.span());
        let value = match v.get_ref() {
            DeValue::Integer(i) => parse_integer(i).map(|i| i as f64),
            DeValue::Float(f) => {
                let text: String = f.as_str().chars().filter(|c| *c != '_').collect();
                text.parse::<f64>().ok()
            }
            _ => {
                self.wrong_type(key, v, "a number");
                return None;
            }
        };
        match value {
            Some(x) if x.is_finite() => Some(Sp { value: x, span }),
            _ => {
                self.error(
                    Diagnostic::at(span, format!("`{key}` must be a finite number"))
                        .with_help("nan and inf are not allowed; write an ordinary number"),
                );
                None
            }
        }
    }

    fn integer_value(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<Sp<i64>> {
        let span = self.span(v.span());
        match v.get_ref() {
            DeValue::Integer(i) => match parse_integer(i) {
                Some(x) => Some(Sp { value: x, span }),
                None => {
                    self.error(Diagnostic::at(span, format!("`{key}` is too large")));
                    None
                }
            },
            DeValue::Float(_) => {
                self.error(
                    Diagnostic::at(span, format!("`{key}` must be a whole number"))
                        .with_help("write it without a decimal point, e.g. `12`"),
                );
                None
            }
            _ => {
                self.wrong_type(key, v, "a whole number");
                None
            }
        }
    }

    fn number(&mut self, t: &DeTable<'_>, key: &str) -> Option<Sp<f64>> {
        let (_, v) = Self::entry(t, key)?;
        self.number_value(key, v)
    }

    fn integer(&mut self, t: &DeTable<'_>, key: &str) -> Option<Sp<i64>> {
        let (_, v) = Self::entry(t, key)?;
        self.integer_value(key, v)
    }

    fn string(&mut self, t: &DeTable<'_>, key: &str) -> Option<Sp<String>> {
        let (_, v) = Self::entry(t, key)?;
        match v.get_ref() {
            DeValue::String(s) => Some(Sp {
                value: s.to_string(),
                span: self.span(v.span()),
            }),
            _ => {
                self.wrong_type(key, v, "text in quotes");
                None
            }
        }
    }

    fn string_list(&mut self, t: &DeTable<'_>, key: &str) -> Option<Sp<Vec<Sp<String>>>> {
        let (_, v) = Self::entry(t, key)?;
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(key, v, "a list of texts, e.g. [\"a\", \"b\"]");
            return None;
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => out.push(Sp {
                    value: s.to_string(),
                    span: self.span(item.span()),
                }),
                _ => self.wrong_type(key, item, "a list of texts"),
            }
        }
        Some(Sp {
            value: out,
            span: self.span(v.span()),
        })
    }

    fn integer_list(&mut self, t: &DeTable<'_>, key: &str) -> Option<Sp<Vec<Sp<i64>>>> {
        let (_, v) = Self::entry(t, key)?;
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(key, v, "a list of whole numbers, e.g. [216]");
            return None;
        };
        let out = items
            .iter()
            .filter_map(|item| self.integer_value(key, item))
            .collect();
        Some(Sp {
            value: out,
            span: self.span(v.span()),
        })
    }

    fn subtable<'i>(&mut self, t: &'i DeTable<'i>, key: &str) -> Option<(&'i DeTable<'i>, Span)> {
        let (_, v) = Self::entry(t, key)?;
        match v.get_ref() {
            DeValue::Table(inner) => Some((inner, self.span(v.span()))),
            _ => {
                self.wrong_type(key, v, "a table");
                None
            }
        }
    }

    /// `[[key]]` tables.
    fn table_array<'i>(&mut self, t: &'i DeTable<'i>, key: &str) -> Vec<(&'i DeTable<'i>, Span)> {
        let Some((_, v)) = Self::entry(t, key) else {
            return Vec::new();
        };
        match v.get_ref() {
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::Table(inner) => out.push((inner, self.span(item.span()))),
                        _ => self.wrong_type(key, item, &format!("a table `[[{key}]]`")),
                    }
                }
                out
            }
            _ => {
                self.wrong_type(key, v, &format!("a list of tables written `[[{key}]]`"));
                Vec::new()
            }
        }
    }

    /// `key = { name = number, ... }`; `allowed` restricts the names when given.
    fn num_map(&mut self, t: &DeTable<'_>, key: &str, allowed: Option<&[&str]>) -> Option<NumMap> {
        let (_, v) = Self::entry(t, key)?;
        let DeValue::Table(inner) = v.get_ref() else {
            self.wrong_type(key, v, "a table such as `{ name = 0.1 }`");
            return None;
        };
        if let Some(allowed) = allowed {
            self.check_keys(inner, allowed, &format!("`{key}`"));
        }
        let mut entries = Vec::new();
        for (k, item) in inner.iter() {
            let name = k.get_ref().to_string();
            if allowed.is_some_and(|a| !a.contains(&name.as_str())) {
                continue;
            }
            if let Some(n) = self.number_value(&format!("{key}.{name}"), item) {
                entries.push((
                    Sp {
                        value: name,
                        span: self.span(k.span()),
                    },
                    n,
                ));
            }
        }
        Some(NumMap {
            span: Some(self.span(v.span())),
            entries,
        })
    }

    fn int_map(&mut self, t: &DeTable<'_>, key: &str) -> Vec<(Sp<String>, Sp<i64>)> {
        let Some((_, v)) = Self::entry(t, key) else {
            return Vec::new();
        };
        let DeValue::Table(inner) = v.get_ref() else {
            self.wrong_type(key, v, "a table such as `{ lever-id = 12 }`");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, item) in inner.iter() {
            let name = k.get_ref().to_string();
            if let Some(n) = self.integer_value(&format!("{key}.{name}"), item) {
                out.push((
                    Sp {
                        value: name,
                        span: self.span(k.span()),
                    },
                    n,
                ));
            }
        }
        out
    }

    fn simulation(&mut self, root: &DeTable<'_>) -> SimulationDoc {
        let Some((t, _)) = self.subtable(root, "simulation") else {
            return SimulationDoc::default();
        };
        self.check_keys(t, SIMULATION_KEYS, "[simulation]");
        SimulationDoc {
            runs: self.integer(t, "runs"),
            seed: self.integer(t, "seed"),
            substeps: self.integer(t, "substeps"),
        }
    }

    fn hypotheses(&mut self, root: &DeTable<'_>) -> Vec<HypothesisDoc> {
        self.table_array(root, "hypothesis")
            .into_iter()
            .map(|(t, span)| {
                self.check_keys(t, HYPOTHESIS_KEYS, "[[hypothesis]]");
                HypothesisDoc {
                    span,
                    name: self.string(t, "name"),
                    expect: self.string(t, "expect"),
                }
            })
            .collect()
    }

    fn lever(&mut self, t: &DeTable<'_>, span: Span) -> LeverDoc {
        self.check_keys(t, LEVER_KEYS, "[[lever]]");
        LeverDoc {
            span,
            id: self.string(t, "id"),
            label: self.string(t, "label"),
            description: self.string(t, "description"),
            use_: self.string(t, "use"),
            from: self.integer(t, "from"),
            until: self.integer(t, "until"),
            after_phase: self.string(t, "after_phase"),
            cost: self.number(t, "cost"),
            ramp: self.integer(t, "ramp"),
            intensity: self.number(t, "intensity"),
            push: self.num_map(t, "push", None),
            retain: self.num_map(t, "retain", None),
            anchor: self.num_map(t, "anchor", None),
            reach: self.number(t, "reach"),
        }
    }

    fn territory(&mut self, root: &DeTable<'_>, file_span: Span) -> TerritoryDoc {
        self.check_keys(root, TERRITORY_KEYS, "a territory file");
        let header = match self.subtable(root, "territory") {
            Some((t, span)) => {
                self.check_keys(t, HEADER_KEYS, "[territory]");
                HeaderDoc {
                    span,
                    present: true,
                    id: self.string(t, "id"),
                    name: self.string(t, "name"),
                    description: self.string(t, "description"),
                    population: self.number(t, "population"),
                    start_year: self.integer(t, "start_year"),
                    horizon: self.integer(t, "horizon"),
                    budget: self.number(t, "budget"),
                }
            }
            None => HeaderDoc {
                span: file_span,
                present: false,
                id: None,
                name: None,
                description: None,
                population: None,
                start_year: None,
                horizon: None,
                budget: None,
            },
        };
        let simulation = self.simulation(root);
        let scale = match self.subtable(root, "scale") {
            Some((t, _)) => {
                self.check_keys(t, SCALE_KEYS, "[scale]");
                ScaleDoc {
                    potential: self.number(t, "potential"),
                    innovation: self.number(t, "innovation"),
                    imitation: self.number(t, "imitation"),
                    initial: self.number(t, "initial"),
                }
            }
            None => ScaleDoc::default(),
        };
        let perpetuation = match self.subtable(root, "perpetuation") {
            Some((t, _)) => {
                self.check_keys(t, PERPETUATION_KEYS, "[perpetuation]");
                PerpetuationDoc {
                    collapse: self.number(t, "collapse"),
                    grace: self.integer(t, "grace"),
                    after_phase: self.string(t, "after_phase"),
                }
            }
            None => PerpetuationDoc::default(),
        };
        let actors = self
            .table_array(root, "actor")
            .into_iter()
            .map(|(t, span)| {
                self.check_keys(t, ACTOR_KEYS, "[[actor]]");
                ActorDoc {
                    span,
                    id: self.string(t, "id"),
                    label: self.string(t, "label"),
                    size: self.number(t, "size"),
                    weight: self.number(t, "weight"),
                    engagement: self.number(t, "engagement"),
                    anchored: self.number(t, "anchored"),
                    adoption: self.number(t, "adoption"),
                    fatigue: self.number(t, "fatigue"),
                    erosion: self.number(t, "erosion"),
                    volatility: self.number(t, "volatility"),
                    influenced_by: self.num_map(t, "influenced_by", None).unwrap_or_default(),
                }
            })
            .collect();
        let phases = self
            .table_array(root, "phase")
            .into_iter()
            .map(|(t, span)| {
                self.check_keys(t, PHASE_KEYS, "[[phase]]");
                PhaseDoc {
                    span,
                    id: self.string(t, "id"),
                    label: self.string(t, "label"),
                    description: self.string(t, "description"),
                    enter: self.num_map(t, "enter", Some(CONDITION_KEYS)),
                    hold: self.integer(t, "hold"),
                    effect: self
                        .num_map(t, "effect", Some(EFFECT_KEYS))
                        .unwrap_or_default(),
                    fallback: self.num_map(t, "fallback", Some(CONDITION_KEYS)),
                }
            })
            .collect();
        let levers = self
            .table_array(root, "lever")
            .into_iter()
            .map(|(t, span)| self.lever(t, span))
            .collect();
        let shocks = self
            .table_array(root, "shock")
            .into_iter()
            .map(|(t, span)| {
                self.check_keys(t, SHOCK_KEYS, "[[shock]]");
                ShockDoc {
                    span,
                    id: self.string(t, "id"),
                    label: self.string(t, "label"),
                    description: self.string(t, "description"),
                    every: self.integer(t, "every"),
                    first: self.integer(t, "first"),
                    at: self.integer_list(t, "at"),
                    rate: self.number(t, "rate"),
                    probability: self.number(t, "probability"),
                    hits: self.num_map(t, "hits", None).unwrap_or_default(),
                    pause: self.int_map(t, "pause"),
                }
            })
            .collect();
        TerritoryDoc {
            file: self.file,
            header,
            simulation,
            scale,
            perpetuation,
            actors,
            phases,
            levers,
            shocks,
            library: Vec::new(),
            hypotheses: self.hypotheses(root),
        }
    }
}

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
/// later by [`crate::model::Model::from_scenario`].
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
    })))
}
