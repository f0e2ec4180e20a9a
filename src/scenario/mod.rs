//! Stage 1 — the scenario: a faithful mirror of what the TOML files say, with the span of every
//! value, before any meaning is checked.
//!
//! Files are parsed by `toml` into its spanned document tree; this module walks that tree,
//! reporting **every** unknown key (with a "did you mean"), wrong type, or non-finite number it
//! meets instead of stopping at the first. Includes are followed (relative to the including
//! file, cycles refused) and a network file loads each of its territory files. The result is a
//! [`Scenario`]: plain structs whose fields are `Option<Sp<T>>`, so that the model stage can
//! both apply defaults and point at the text when a value is out of range.
//!
//! `read` walks a parsed TOML document into these types, `load` reads files (includes, the
//! territories of a network, size and encoding checks), and `set` is the `--set PATH=VALUE`
//! language, which edits a loaded scenario before validation.

mod load;
mod read;

pub use load::{
    add_levers, invalid, load, load_text, territory_doc, territory_docs, MAX_FILE_BYTES,
};

use crate::diag::{Diagnostic, Sources, Span};

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
    /// `[[slider]]`.
    pub sliders: Vec<SliderDoc>,
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
    /// `[[slider]]`.
    pub sliders: Vec<SliderDoc>,
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

/// `[[slider]]`: a value the workshop page lets people move, e.g.
/// `path = "lever.citergie.intensity"`, `min = 0`, `max = 2`, `step = 0.1`.
#[derive(Debug, Clone)]
pub struct SliderDoc {
    /// Span of the table.
    pub span: Span,
    /// `path`: a `--set` path.
    pub path: Option<Sp<String>>,
    /// `label`: what people read.
    pub label: Option<Sp<String>>,
    /// `min`.
    pub min: Option<Sp<f64>>,
    /// `max`.
    pub max: Option<Sp<f64>>,
    /// `step`.
    pub step: Option<Sp<f64>>,
    /// `unit`, e.g. "€ a month".
    pub unit: Option<Sp<String>>,
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
    "slider",
];
const NETWORK_KEYS: &[&str] = &["network", "simulation", "link", "hypothesis", "slider"];
const HYPOTHESIS_KEYS: &[&str] = &["name", "expect"];
const SLIDER_KEYS: &[&str] = &["path", "label", "min", "max", "step", "unit"];
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
