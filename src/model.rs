//! Stage 2 — the model: a validated scenario with defaults applied and every name resolved to
//! an index. Nothing downstream needs to check a value again.
//!
//! [`Model::from_scenario`] checks every value against MODEL.md's ranges and reports **all**
//! problems, each pointing at the text (`file:line:col`) with what is allowed and, for unknown
//! names, a "did you mean".

use serde::Serialize;

use crate::diag::{suggestion, Diagnostic, Error, Span};
use crate::scenario::{
    self, ActorDoc, LeverDoc, Loaded, NetworkDoc, NumMap, PhaseDoc, Scenario, ShockDoc, Sp,
    TerritoryDoc,
};

/// Bounds from MODEL.md (and the project's decisions, see docs/model.md).
pub mod bounds {
    /// Monte Carlo runs.
    pub const RUNS: (u64, u64) = (1, 10_000_000);
    /// Months simulated.
    pub const HORIZON: (i64, i64) = (1, 1200);
    /// Euler substeps per month.
    pub const SUBSTEPS: (i64, i64) = (1, 1000);
    /// Actor groups per territory.
    pub const GROUPS: usize = 64;
    /// Largest monthly rate accepted (adoption, fatigue, influence, push, …): 10 per month
    /// already means a time scale of three days.
    pub const MAX_RATE: f64 = 10.0;
    /// Largest intensity or phase multiplier.
    pub const MAX_MULTIPLIER: f64 = 100.0;
    /// Territories in a network.
    pub const TERRITORIES: usize = 64;
    /// Levers, shocks and phases per territory.
    pub const ITEMS: usize = 256;
    /// Largest amount of money (€ per month, for costs and budgets).
    pub const MONEY: f64 = 1e12;
    /// Largest number of people (population, group size, potential).
    pub const PEOPLE: f64 = 1e10;
}

/// Default simulation settings when a file gives none.
pub const DEFAULT_RUNS: u64 = 1000;
/// Default master seed.
pub const DEFAULT_SEED: u64 = 1;
/// Default Euler substeps per month.
pub const DEFAULT_SUBSTEPS: u32 = 4;

/// The three indices of a territory that phases test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexKind {
    /// Weighted mean engagement e.
    Engagement,
    /// Weighted mean anchored engagement s.
    Stabilisation,
    /// Reach r (change of scale).
    Scale,
}

impl IndexKind {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "engagement" => Some(IndexKind::Engagement),
            "stabilisation" => Some(IndexKind::Stabilisation),
            "scale" => Some(IndexKind::Scale),
            _ => None,
        }
    }

    /// The name as written in files.
    pub fn name(self) -> &'static str {
        match self {
            IndexKind::Engagement => "engagement",
            IndexKind::Stabilisation => "stabilisation",
            IndexKind::Scale => "scale",
        }
    }
}

/// `index ≥ threshold` (enter) or `index < threshold` (fallback).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Condition {
    /// Which index.
    pub index: IndexKind,
    /// The threshold.
    pub threshold: f64,
}

/// Run settings: how many runs, from which seed, with how many Euler substeps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Settings {
    /// Monte Carlo runs.
    pub runs: u64,
    /// Master seed.
    pub seed: u64,
    /// Euler substeps per month.
    pub substeps: u32,
    /// σ = 0, shocks hit only when certain, random shocks never fire.
    pub deterministic: bool,
}

/// An actor group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Id.
    pub id: String,
    /// Label shown on plots.
    pub label: String,
    /// People in the group (reported only).
    pub size: Option<f64>,
    /// Weight ω in the indices.
    pub weight: f64,
    /// E0.
    pub engagement: f64,
    /// A0.
    pub anchored: f64,
    /// α.
    pub adoption: f64,
    /// δ.
    pub fatigue: f64,
    /// ε.
    pub erosion: f64,
    /// σ.
    pub volatility: f64,
}

/// Phase-specific multipliers of lever effects.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Effect {
    /// On push.
    pub push: f64,
    /// On retain.
    pub retain: f64,
    /// On anchor.
    pub anchor: f64,
    /// On reach.
    pub reach: f64,
}

/// A phase of the transition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    /// Id.
    pub id: String,
    /// Label shown on plots.
    pub label: String,
    /// Conditions to enter it (all must hold).
    pub enter: Vec<Condition>,
    /// Months in a row the conditions must hold (also for fallback).
    pub hold: u32,
    /// Multipliers on lever effects while in it.
    pub effect: Effect,
    /// Conditions to fall back one phase (any suffices).
    pub fallback: Vec<Condition>,
}

/// A scaling lever: an action methodology with its schedule, cost and effects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lever {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// The methodology in words.
    pub description: Option<String>,
    /// Library lever it was built from.
    pub uses: Option<String>,
    /// First month.
    pub from: u32,
    /// First month no longer scheduled.
    pub until: Option<u32>,
    /// Phase index from which it acts.
    pub after_phase: usize,
    /// € per month while active.
    pub cost: f64,
    /// Months to full intensity.
    pub ramp: u32,
    /// Scales every effect.
    pub intensity: f64,
    /// (group index, added adoption rate).
    pub push: Vec<(usize, f64)>,
    /// (group index, fraction of fatigue removed).
    pub retain: Vec<(usize, f64)>,
    /// (group index, anchoring rate).
    pub anchor: Vec<(usize, f64)>,
    /// Added to the innovation rate p.
    pub reach: f64,
}

/// When a shock is due.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ShockTiming {
    /// Due at first, first + every, …
    Periodic {
        /// Period in months.
        every: u32,
        /// First due month.
        first: u32,
    },
    /// Due at these months.
    Scheduled {
        /// Months, sorted.
        at: Vec<u32>,
    },
    /// Monthly hazard.
    Random {
        /// Hazard rate per month.
        rate: f64,
    },
}

/// A shock such as a municipal election.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shock {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// When it is due.
    pub timing: ShockTiming,
    /// Chance that a due occurrence hits.
    pub probability: f64,
    /// (group index, share of non-anchored engagement lost).
    pub hits: Vec<(usize, f64)>,
    /// (lever index, months suspended).
    pub pause: Vec<(usize, u32)>,
}

/// Bass diffusion of reach.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scale {
    /// People the transition can reach.
    pub potential: f64,
    /// p0.
    pub innovation: f64,
    /// q0.
    pub imitation: f64,
    /// r0.
    pub initial: f64,
}

/// When a transition is abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Perpetuation {
    /// Engagement index under which the transition is in danger.
    pub collapse: f64,
    /// Months in a row under `collapse` before it is abandoned.
    pub grace: u32,
    /// Phase index from which it is watched.
    pub after_phase: usize,
}

/// One territory, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Territory {
    /// Id (`[a-z0-9-]+`).
    pub id: String,
    /// Name shown on plots.
    pub name: String,
    /// Free description.
    pub description: Option<String>,
    /// Inhabitants.
    pub population: f64,
    /// Year of month 0.
    pub start_year: Option<i32>,
    /// Months simulated.
    pub horizon: u32,
    /// € per month available to levers.
    pub budget: Option<f64>,
    /// Actor groups, in declared order.
    pub groups: Vec<Group>,
    /// W, row-major: `influence[g * groups + h]` is the pull on g by h's engagement.
    pub influence: Vec<f64>,
    /// Phases, in order.
    pub phases: Vec<Phase>,
    /// Levers, in declared order.
    pub levers: Vec<Lever>,
    /// Shocks, in declared order.
    pub shocks: Vec<Shock>,
    /// Change of scale.
    pub scale: Scale,
    /// Perpetuation.
    pub perpetuation: Perpetuation,
}

/// A symmetric link between two territories of a network.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Link {
    /// Territory indices (a < b).
    pub between: (usize, usize),
    /// x: pull towards a more engaged peer group.
    pub exchange: f64,
    /// s: added to p from the peer's reach.
    pub spillover: f64,
}

/// A validated scenario: one territory, or a network of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    /// Id, used for the default output folder.
    pub id: String,
    /// Name shown on plots.
    pub name: String,
    /// Whether it came from a network file.
    pub is_network: bool,
    /// Territories (one for a territory file).
    pub territories: Vec<Territory>,
    /// Links between territories.
    pub links: Vec<Link>,
    /// Run settings.
    pub settings: Settings,
    /// Hypotheses written in the files (`[[hypothesis]]`), to check with `trajectoire test`.
    pub hypotheses: Vec<crate::outcome::Hypothesis>,
    /// `--set PATH=VALUE` overrides applied to the files, in order.
    pub overrides: Vec<String>,
}

impl Model {
    /// Months simulated (the same for every territory).
    pub fn horizon(&self) -> u32 {
        self.territories[0].horizon
    }

    /// Year of month 0, if given.
    pub fn start_year(&self) -> Option<i32> {
        self.territories[0].start_year
    }

    /// Validates a loaded scenario into a model, reporting every problem.
    pub fn from_scenario(loaded: Loaded) -> Result<Model, Error> {
        let mut v = Validator {
            diags: loaded.problems.clone(),
        };
        let model = match &loaded.scenario {
            Scenario::Territory(t) => v.territory(t).map(|territory| {
                let settings = v.settings(&t.simulation, None);
                Model {
                    id: territory.id.clone(),
                    name: territory.name.clone(),
                    is_network: false,
                    territories: vec![territory],
                    links: Vec::new(),
                    settings,
                    hypotheses: Vec::new(),
                    overrides: Vec::new(),
                }
            }),
            Scenario::Network(n) => v.network(n),
            Scenario::Library(levers) => {
                let first = levers.first().map_or(Span::new(0, 0..0), |l| l.span);
                v.err(
                    first,
                    "this file is a lever library (a référentiel), not a territory",
                    "include it from a territory file with `include = [\"this-file.toml\"]` and `use` its levers",
                );
                None
            }
        };
        let mut model = model;
        if let (Some(m), true) = (&mut model, v.diags.is_empty()) {
            let docs: Vec<(&scenario::HypothesisDoc, Option<usize>)> = match &loaded.scenario {
                Scenario::Territory(t) => t.hypotheses.iter().map(|h| (h, Some(0))).collect(),
                Scenario::Network(n) => n
                    .hypotheses
                    .iter()
                    .map(|h| (h, None))
                    .chain(
                        n.territories
                            .iter()
                            .enumerate()
                            .flat_map(|(i, t)| t.hypotheses.iter().map(move |h| (h, Some(i)))),
                    )
                    .collect(),
                Scenario::Library(_) => Vec::new(),
            };
            for (doc, default) in docs {
                let Some(expect) = &doc.expect else {
                    v.err(
                        doc.span,
                        "this [[hypothesis]] has no `expect`",
                        "add e.g. `expect = \"perpetuation@144 >= 0.7\"`",
                    );
                    continue;
                };
                let name = doc.name.as_ref().map(|n| n.value.as_str());
                match crate::outcome::parse_hypothesis(&expect.value, name, m, default) {
                    Ok(h) => m.hypotheses.push(h),
                    Err(e) => {
                        // The text starts after the opening quote.
                        let at = expect.span.start + 1 + e.offset;
                        let span = Span {
                            file: expect.span.file,
                            start: at,
                            end: at + 1,
                        };
                        v.diags
                            .push(Diagnostic::at(span, e.message).with_optional_help(e.help));
                    }
                }
            }
        }
        match model {
            Some(m) if v.diags.is_empty() => Ok(m),
            _ => Err(scenario::invalid(v.diags, loaded.sources)),
        }
    }

    /// Loads and validates a scenario given as text, as if it were the file `path`.
    pub fn parse(path: &std::path::Path, text: &str) -> Result<Model, Error> {
        Model::from_scenario(scenario::load_text(path, text)?)
    }

    /// Loads and validates a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Model, Error> {
        Model::from_scenario(scenario::load(path)?)
    }
}

/// Checks a lever library (a référentiel) on its own: ids, duplicates and value ranges. Group
/// and phase names are checked only when a territory uses a lever. Returns the number of levers.
pub fn check_library(loaded: Loaded) -> Result<usize, Error> {
    let Scenario::Library(levers) = &loaded.scenario else {
        return Ok(0);
    };
    let mut v = Validator {
        diags: loaded.problems.clone(),
    };
    let ids = v.ids(levers.iter().map(|l| (&l.id, l.span)), "library lever");
    let mut groups: Vec<String> = Vec::new();
    let mut phases: Vec<String> = Vec::new();
    for l in levers {
        for map in [&l.push, &l.retain, &l.anchor].into_iter().flatten() {
            groups.extend(map.entries.iter().map(|(n, _)| n.value.clone()));
        }
        phases.extend(l.after_phase.iter().map(|p| p.value.clone()));
    }
    for (l, id) in levers.iter().zip(ids) {
        v.lever(l, id, &groups, &phases);
    }
    if v.diags.is_empty() {
        Ok(levers.len())
    } else {
        Err(scenario::invalid(v.diags, loaded.sources))
    }
}

struct Validator {
    diags: Vec<Diagnostic>,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Validator {
    fn err(&mut self, span: Span, message: impl Into<String>, help: impl Into<String>) {
        self.diags
            .push(Diagnostic::at(span, message).with_help(help.into()));
    }

    /// A number in [lo, hi], or the default when absent.
    fn range(&mut self, v: &Option<Sp<f64>>, name: &str, default: f64, lo: f64, hi: f64) -> f64 {
        match v {
            None => default,
            Some(x) if x.value >= lo && x.value <= hi => x.value,
            Some(x) => {
                self.err(
                    x.span,
                    format!(
                        "`{name}` is {}, outside {} ..= {}",
                        show(x.value),
                        show(lo),
                        show(hi)
                    ),
                    range_help(name, lo, hi),
                );
                default
            }
        }
    }

    fn share(&mut self, v: &Option<Sp<f64>>, name: &str, default: f64) -> f64 {
        self.range(v, name, default, 0.0, 1.0)
    }

    fn rate(&mut self, v: &Option<Sp<f64>>, name: &str) -> f64 {
        self.range(v, name, 0.0, 0.0, bounds::MAX_RATE)
    }

    fn int(&mut self, v: &Option<Sp<i64>>, name: &str, default: i64, lo: i64, hi: i64) -> i64 {
        match v {
            None => default,
            Some(x) if x.value >= lo && x.value <= hi => x.value,
            Some(x) => {
                self.err(
                    x.span,
                    format!("`{name}` is {}, outside {lo} ..= {hi}", x.value),
                    format!("write a whole number from {lo} to {hi}"),
                );
                default
            }
        }
    }

    fn id(&mut self, id: &Option<Sp<String>>, what: &str, table_span: Span) -> Option<String> {
        match id {
            None => {
                self.err(
                    table_span,
                    format!("this {what} has no `id`"),
                    "add `id = \"a-name\"` (lowercase letters, digits and dashes)",
                );
                None
            }
            Some(s) if !valid_id(&s.value) => {
                self.err(
                    s.span,
                    format!("`{}` is not a valid id", s.value),
                    "ids use only lowercase letters a-z, digits and dashes, e.g. \"take-off\"",
                );
                None
            }
            Some(s) => Some(s.value.clone()),
        }
    }

    /// Checks ids for duplicates and returns them (missing ones as empty strings).
    fn ids<'a>(
        &mut self,
        items: impl Iterator<Item = (&'a Option<Sp<String>>, Span)>,
        what: &str,
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (id, span) in items {
            let value = self.id(id, what, span).unwrap_or_default();
            if !value.is_empty() && out.contains(&value) {
                if let Some(s) = id {
                    self.err(
                        s.span,
                        format!("{what} `{value}` is defined twice"),
                        format!("give each {what} its own id"),
                    );
                }
            }
            out.push(value);
        }
        out
    }

    fn resolve(&mut self, name: &Sp<String>, ids: &[String], what: &str) -> Option<usize> {
        if let Some(i) = ids.iter().position(|x| *x == name.value) {
            return Some(i);
        }
        let help = suggestion(&name.value, ids.iter().map(String::as_str))
            .unwrap_or_else(|| format!("no {what} is defined"));
        self.diags.push(
            Diagnostic::at(name.span, format!("unknown {what} `{}`", name.value)).with_help(help),
        );
        None
    }

    fn group_map(
        &mut self,
        map: &NumMap,
        groups: &[String],
        key: &str,
        lo: f64,
        hi: f64,
    ) -> Vec<(usize, f64)> {
        let mut out = Vec::new();
        for (name, value) in &map.entries {
            let Some(g) = self.resolve(name, groups, "actor group") else {
                continue;
            };
            let x = self.range(
                &Some(value.clone()),
                &format!("{key}.{}", name.value),
                0.0,
                lo,
                hi,
            );
            out.push((g, x));
        }
        out
    }

    fn conditions(&mut self, map: &Option<NumMap>) -> Vec<Condition> {
        let Some(map) = map else { return Vec::new() };
        map.entries
            .iter()
            .filter_map(|(name, value)| {
                let index = IndexKind::parse(&name.value)?;
                let threshold = self.share(&Some(value.clone()), &name.value, 0.0);
                Some(Condition { index, threshold })
            })
            .collect()
    }

    fn settings(&mut self, sim: &scenario::SimulationDoc, base: Option<Settings>) -> Settings {
        let base = base.unwrap_or(Settings {
            runs: DEFAULT_RUNS,
            seed: DEFAULT_SEED,
            substeps: DEFAULT_SUBSTEPS,
            deterministic: false,
        });
        let runs = self.int(
            &sim.runs,
            "runs",
            base.runs as i64,
            bounds::RUNS.0 as i64,
            bounds::RUNS.1 as i64,
        ) as u64;
        let seed = self.int(&sim.seed, "seed", base.seed as i64, 0, i64::MAX) as u64;
        let substeps = self.int(
            &sim.substeps,
            "substeps",
            i64::from(base.substeps),
            bounds::SUBSTEPS.0,
            bounds::SUBSTEPS.1,
        ) as u32;
        Settings {
            runs,
            seed,
            substeps,
            deterministic: false,
        }
    }

    fn actor(&mut self, a: &ActorDoc, id: String) -> Group {
        let engagement = self.share(&a.engagement, "engagement", 0.0);
        let mut anchored = self.share(&a.anchored, "anchored", 0.0);
        if anchored > engagement {
            if let Some(s) = &a.anchored {
                self.err(
                    s.span,
                    format!("`anchored` ({anchored}) is above `engagement` ({engagement})"),
                    "anchored engagement is part of engagement: make it at most `engagement`",
                );
            }
            anchored = engagement;
        }
        let weight = match &a.weight {
            Some(w) if w.value <= 0.0 || w.value > 1e6 => {
                self.err(
                    w.span,
                    format!("`weight` is {}, it must be above 0", w.value),
                    "weights are relative: e.g. 1 for every group, 2 for one that counts double",
                );
                1.0
            }
            Some(w) => w.value,
            None => 1.0,
        };
        let size = match &a.size {
            Some(s) if s.value < 0.0 => {
                self.err(
                    s.span,
                    "`size` cannot be negative",
                    "write a number of people",
                );
                None
            }
            other => other
                .as_ref()
                .map(|_| self.range(&a.size, "size", 0.0, 0.0, bounds::PEOPLE)),
        };
        Group {
            label: a
                .label
                .as_ref()
                .map_or_else(|| id.clone(), |l| l.value.clone()),
            id,
            size,
            weight,
            engagement,
            anchored,
            adoption: self.rate(&a.adoption, "adoption"),
            fatigue: self.rate(&a.fatigue, "fatigue"),
            erosion: self.rate(&a.erosion, "erosion"),
            volatility: self.rate(&a.volatility, "volatility"),
        }
    }

    fn phase(&mut self, p: &PhaseDoc, id: String, first: bool) -> Phase {
        if first {
            for (key, map) in [("enter", &p.enter), ("fallback", &p.fallback)] {
                if let Some(m) = map {
                    self.err(
                        m.span.unwrap_or(p.span),
                        format!("the first phase `{id}` cannot have `{key}`"),
                        "every run starts in the first phase; put conditions on the later phases",
                    );
                }
            }
        }
        let mut effect = Effect {
            push: 1.0,
            retain: 1.0,
            anchor: 1.0,
            reach: 1.0,
        };
        for (name, value) in &p.effect.entries {
            let x = self.range(
                &Some(value.clone()),
                &format!("effect.{}", name.value),
                1.0,
                0.0,
                bounds::MAX_MULTIPLIER,
            );
            match name.value.as_str() {
                "push" => effect.push = x,
                "retain" => effect.retain = x,
                "anchor" => effect.anchor = x,
                _ => effect.reach = x,
            }
        }
        Phase {
            label: p
                .label
                .as_ref()
                .map_or_else(|| id.clone(), |l| l.value.clone()),
            id,
            enter: self.conditions(&p.enter),
            hold: self.int(&p.hold, "hold", 1, 1, 1200) as u32,
            effect,
            fallback: self.conditions(&p.fallback),
        }
    }

    fn lever(&mut self, l: &LeverDoc, id: String, groups: &[String], phases: &[String]) -> Lever {
        let from = self.int(&l.from, "from", 0, 0, 100_000) as u32;
        let until = l
            .until
            .as_ref()
            .map(|u| self.int(&Some(u.clone()), "until", 0, 0, 100_000) as u32);
        if let (Some(u), Some(span)) = (until, l.until.as_ref().map(|u| u.span)) {
            if u <= from {
                self.err(
                    span,
                    format!("`until` ({u}) is not after `from` ({from}): the lever would never act"),
                    "`until` is the first month the lever no longer runs; make it larger than `from`",
                );
            }
        }
        let after_phase = match &l.after_phase {
            Some(name) => self.resolve(name, phases, "phase").unwrap_or(0),
            None => 0,
        };
        let cost = match &l.cost {
            Some(c) if c.value < 0.0 => {
                self.err(
                    c.span,
                    "`cost` cannot be negative",
                    "write € per month, 0 or more",
                );
                0.0
            }
            Some(_) => self.range(&l.cost, "cost", 0.0, 0.0, bounds::MONEY),
            None => 0.0,
        };
        let empty = NumMap::default();
        Lever {
            label: l
                .label
                .as_ref()
                .map_or_else(|| id.clone(), |x| x.value.clone()),
            description: l.description.as_ref().map(|d| d.value.clone()),
            uses: l.use_.as_ref().map(|u| u.value.clone()),
            id,
            from,
            until,
            after_phase,
            cost,
            ramp: self.int(&l.ramp, "ramp", 0, 0, 1200) as u32,
            intensity: self.range(&l.intensity, "intensity", 1.0, 0.0, bounds::MAX_MULTIPLIER),
            push: self.group_map(
                l.push.as_ref().unwrap_or(&empty),
                groups,
                "push",
                0.0,
                bounds::MAX_RATE,
            ),
            retain: self.group_map(
                l.retain.as_ref().unwrap_or(&empty),
                groups,
                "retain",
                0.0,
                1.0,
            ),
            anchor: self.group_map(
                l.anchor.as_ref().unwrap_or(&empty),
                groups,
                "anchor",
                0.0,
                bounds::MAX_RATE,
            ),
            reach: self.rate(&l.reach, "reach"),
        }
    }

    fn shock(&mut self, s: &ShockDoc, id: String, groups: &[String], levers: &[String]) -> Shock {
        let written: Vec<&str> = [
            s.every.as_ref().map(|_| "every"),
            s.at.as_ref().map(|_| "at"),
            s.rate.as_ref().map(|_| "rate"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let help = "write exactly one of `every = 72` (periodic), `at = [216]` (scheduled) or `rate = 0.004` (random)";
        if written.len() != 1 {
            self.err(
                s.span,
                if written.is_empty() {
                    format!("shock `{id}` says neither `every`, `at` nor `rate`")
                } else {
                    format!("shock `{id}` has several of {}", written.join(", "))
                },
                help,
            );
        }
        if let (Some(f), None) = (&s.first, &s.every) {
            self.err(
                f.span,
                "`first` only goes with `every`",
                "remove `first`, or make the shock periodic with `every`",
            );
        }
        let timing = if let Some(every) = &s.every {
            let every_v = self.int(&Some(every.clone()), "every", 72, 1, 100_000) as u32;
            let first = self.int(&s.first, "first", i64::from(every_v), 0, 100_000) as u32;
            ShockTiming::Periodic {
                every: every_v,
                first,
            }
        } else if let Some(at) = &s.at {
            let mut months: Vec<u32> = at
                .value
                .iter()
                .map(|m| self.int(&Some(m.clone()), "at", 0, 0, 100_000) as u32)
                .collect();
            months.sort_unstable();
            months.dedup();
            ShockTiming::Scheduled { at: months }
        } else {
            ShockTiming::Random {
                rate: self.rate(&s.rate, "rate"),
            }
        };
        let mut pause = Vec::new();
        for (name, months) in &s.pause {
            if let Some(l) = self.resolve(name, levers, "lever") {
                let m = self.int(
                    &Some(months.clone()),
                    &format!("pause.{}", name.value),
                    0,
                    0,
                    100_000,
                );
                pause.push((l, m as u32));
            }
        }
        Shock {
            label: s
                .label
                .as_ref()
                .map_or_else(|| id.clone(), |x| x.value.clone()),
            id,
            timing,
            probability: self.share(&s.probability, "probability", 1.0),
            hits: self.group_map(&s.hits, groups, "hits", 0.0, 1.0),
            pause,
        }
    }

    fn territory(&mut self, t: &TerritoryDoc) -> Option<Territory> {
        let h = &t.header;
        if !h.present {
            self.err(
                h.span,
                "this file has no [territory] table",
                "start the file with [territory] and its id, name, population and horizon (see `trajectoire new NAME`)",
            );
            return None;
        }
        let id = self.id(&h.id, "territory", h.span).unwrap_or_default();
        let name = h
            .name
            .as_ref()
            .map_or_else(|| id.clone(), |n| n.value.clone());
        let population = match &h.population {
            Some(p) if p.value > 0.0 => {
                self.range(&h.population, "population", 1.0, 0.0, bounds::PEOPLE)
            }
            Some(p) => {
                self.err(
                    p.span,
                    "`population` must be above 0",
                    "write the number of inhabitants",
                );
                1.0
            }
            None => {
                self.err(
                    h.span,
                    "[territory] has no `population`",
                    "add e.g. `population = 6000`",
                );
                1.0
            }
        };
        let horizon = match &h.horizon {
            Some(_) => self.int(
                &h.horizon,
                "horizon",
                120,
                bounds::HORIZON.0,
                bounds::HORIZON.1,
            ) as u32,
            None => {
                self.err(
                    h.span,
                    "[territory] has no `horizon`",
                    "add the months to simulate, e.g. `horizon = 240` for 20 years",
                );
                120
            }
        };
        let start_year = h
            .start_year
            .as_ref()
            .map(|y| self.int(&Some(y.clone()), "start_year", 2000, 1000, 3000) as i32);
        let budget = match &h.budget {
            Some(b) if b.value < 0.0 => {
                self.err(
                    b.span,
                    "`budget` cannot be negative",
                    "write € per month, or remove it for no limit",
                );
                None
            }
            other => other
                .as_ref()
                .map(|_| self.range(&h.budget, "budget", 0.0, 0.0, bounds::MONEY)),
        };

        // Groups.
        if t.actors.is_empty() {
            self.err(
                h.span,
                "this territory has no [[actor]] group",
                "add at least one [[actor]] table",
            );
        }
        if t.actors.len() > bounds::GROUPS {
            self.err(
                t.actors[bounds::GROUPS].span,
                format!(
                    "{} actor groups; at most {} are allowed",
                    t.actors.len(),
                    bounds::GROUPS
                ),
                "merge groups that behave alike",
            );
        }
        let group_ids = self.ids(t.actors.iter().map(|a| (&a.id, a.span)), "actor group");
        let groups: Vec<Group> = t
            .actors
            .iter()
            .zip(&group_ids)
            .map(|(a, id)| self.actor(a, id.clone()))
            .collect();
        let n = groups.len();
        let mut influence = vec![0.0; n * n];
        for (g, a) in t.actors.iter().enumerate() {
            for (h_idx, w) in self.group_map(
                &a.influenced_by,
                &group_ids,
                "influenced_by",
                0.0,
                bounds::MAX_RATE,
            ) {
                influence[g * n + h_idx] = w;
            }
        }

        for (what, count, extra) in [
            (
                "levers",
                t.levers.len(),
                t.levers.get(bounds::ITEMS).map(|l| l.span),
            ),
            (
                "shocks",
                t.shocks.len(),
                t.shocks.get(bounds::ITEMS).map(|x| x.span),
            ),
            (
                "phases",
                t.phases.len(),
                t.phases.get(bounds::ITEMS).map(|x| x.span),
            ),
        ] {
            if let Some(span) = extra {
                self.err(
                    span,
                    format!("{count} {what}; at most {} are allowed", bounds::ITEMS),
                    "a territory needs far fewer; check that the file is the right one",
                );
            }
        }

        // Phases.
        let phase_ids = self.ids(t.phases.iter().map(|p| (&p.id, p.span)), "phase");
        let mut phases: Vec<Phase> = t
            .phases
            .iter()
            .zip(&phase_ids)
            .enumerate()
            .map(|(i, (p, id))| self.phase(p, id.clone(), i == 0))
            .collect();
        let mut phase_ids = phase_ids;
        if phases.is_empty() {
            phase_ids.push("transition".into());
            phases.push(Phase {
                id: "transition".into(),
                label: "transition".into(),
                enter: Vec::new(),
                hold: 1,
                effect: Effect {
                    push: 1.0,
                    retain: 1.0,
                    anchor: 1.0,
                    reach: 1.0,
                },
                fallback: Vec::new(),
            });
        }

        // Levers, completed from the library with `use`.
        let library_ids: Vec<String> = t
            .library
            .iter()
            .map(|l| l.id.as_ref().map(|i| i.value.clone()).unwrap_or_default())
            .collect();
        for (i, l) in t.library.iter().enumerate() {
            if l.id.is_none() {
                self.err(
                    l.span,
                    "this library lever has no `id`",
                    "add `id = \"a-name\"` so territories can `use` it",
                );
            } else if library_ids[..i].contains(&library_ids[i]) {
                if let Some(s) = &l.id {
                    self.err(
                        s.span,
                        format!("library lever `{}` is defined twice", s.value),
                        "give each library lever its own id",
                    );
                }
            }
        }
        let lever_docs: Vec<LeverDoc> = t
            .levers
            .iter()
            .map(|l| match &l.use_ {
                None => l.clone(),
                Some(u) => match self.resolve(u, &library_ids, "library lever") {
                    Some(i) => l.over(&t.library[i]),
                    None => l.clone(),
                },
            })
            .collect();
        let lever_ids = self.ids(lever_docs.iter().map(|l| (&l.id, l.span)), "lever");
        let levers: Vec<Lever> = lever_docs
            .iter()
            .zip(&lever_ids)
            .map(|(l, id)| self.lever(l, id.clone(), &group_ids, &phase_ids))
            .collect();

        // Shocks.
        let shock_ids = self.ids(t.shocks.iter().map(|s| (&s.id, s.span)), "shock");
        let shocks = t
            .shocks
            .iter()
            .zip(&shock_ids)
            .map(|(s, id)| self.shock(s, id.clone(), &group_ids, &lever_ids))
            .collect();

        let s = &t.scale;
        let potential = match &s.potential {
            Some(p) if p.value <= 0.0 => {
                self.err(
                    p.span,
                    "`potential` must be above 0",
                    "write the number of people the transition can reach",
                );
                population
            }
            Some(_) => self.range(&s.potential, "potential", population, 0.0, bounds::PEOPLE),
            None => population,
        };
        let scale = Scale {
            potential,
            innovation: self.rate(&s.innovation, "innovation"),
            imitation: self.rate(&s.imitation, "imitation"),
            initial: self.share(&s.initial, "initial", 0.0),
        };
        let p = &t.perpetuation;
        let default_watch = usize::from(phases.len() > 1);
        let perpetuation = Perpetuation {
            collapse: self.share(&p.collapse, "collapse", 0.0),
            grace: self.int(&p.grace, "grace", 12, 1, 1200) as u32,
            after_phase: match &p.after_phase {
                Some(name) => self
                    .resolve(name, &phase_ids, "phase")
                    .unwrap_or(default_watch),
                None => default_watch,
            },
        };
        Some(Territory {
            id,
            name,
            description: h.description.as_ref().map(|d| d.value.clone()),
            population,
            start_year,
            horizon,
            budget,
            groups,
            influence,
            phases,
            levers,
            shocks,
            scale,
            perpetuation,
        })
    }

    fn network(&mut self, n: &NetworkDoc) -> Option<Model> {
        let id = self.id(&n.id, "network", n.span).unwrap_or_default();
        let name = n
            .name
            .as_ref()
            .map_or_else(|| id.clone(), |x| x.value.clone());
        if n.territory_paths.is_empty() {
            self.err(
                n.span,
                "this network lists no territory",
                "add `territories = [\"a.toml\", \"b.toml\"]`",
            );
        }
        if n.territory_paths.len() > bounds::TERRITORIES {
            self.err(
                n.span,
                format!("at most {} territories in a network", bounds::TERRITORIES),
                "split the network",
            );
        }
        let territories: Vec<Territory> = n
            .territories
            .iter()
            .filter_map(|t| self.territory(t))
            .collect();
        if territories.len() != n.territory_paths.len() {
            return None;
        }
        let ids: Vec<String> = territories.iter().map(|t| t.id.clone()).collect();
        for (i, t) in n.territories.iter().enumerate() {
            if ids[..i].contains(&ids[i]) {
                self.err(
                    n.territory_paths[i].span,
                    format!("territory `{}` is in this network twice", ids[i]),
                    "list each territory once",
                );
            }
            if i > 0 {
                let first = &territories[0];
                let this = &territories[i];
                if this.horizon != first.horizon {
                    let span = t.header.horizon.as_ref().map_or(t.header.span, |h| h.span);
                    self.err(
                        span,
                        format!(
                            "`{}` has horizon {} but `{}` has {}",
                            this.id, this.horizon, first.id, first.horizon
                        ),
                        "every territory of a network must have the same horizon",
                    );
                }
                if this.start_year != first.start_year {
                    let span = t
                        .header
                        .start_year
                        .as_ref()
                        .map_or(t.header.span, |h| h.span);
                    let show =
                        |y: Option<i32>| y.map_or_else(|| "none".to_string(), |y| y.to_string());
                    self.err(
                        span,
                        format!(
                            "`{}` has start_year {} but `{}` has {}",
                            this.id,
                            show(this.start_year),
                            first.id,
                            show(first.start_year)
                        ),
                        "every territory of a network must have the same start_year",
                    );
                }
            }
        }
        let mut links: Vec<Link> = Vec::new();
        for l in &n.links {
            let Some(between) = &l.between else {
                self.err(
                    l.span,
                    "this [[link]] has no `between`",
                    "add `between = [\"town-a\", \"town-b\"]`",
                );
                continue;
            };
            if between.value.len() != 2 {
                self.err(
                    between.span,
                    "`between` must name exactly two territories",
                    "e.g. `between = [\"loos-en-gohelle\", \"malaunay\"]`",
                );
                continue;
            }
            let a = self.resolve(&between.value[0], &ids, "territory");
            let b = self.resolve(&between.value[1], &ids, "territory");
            let (Some(a), Some(b)) = (a, b) else { continue };
            if a == b {
                self.err(
                    between.span,
                    "a territory cannot be linked to itself",
                    "name two different territories",
                );
                continue;
            }
            let pair = (a.min(b), a.max(b));
            if links.iter().any(|x| x.between == pair) {
                self.err(
                    between.span,
                    "these two territories are already linked",
                    "write one [[link]] per pair (links are symmetric)",
                );
                continue;
            }
            links.push(Link {
                between: pair,
                exchange: self.rate(&l.exchange, "exchange"),
                spillover: self.rate(&l.spillover, "spillover"),
            });
        }
        let base = n
            .territories
            .first()
            .map(|t| self.settings(&t.simulation, None));
        let settings = self.settings(&n.simulation, base);
        Some(Model {
            id,
            name,
            is_network: true,
            territories,
            links,
            settings,
            hypotheses: Vec::new(),
            overrides: Vec::new(),
        })
    }
}

/// A number for a message: plain digits, or scientific notation when very large or small.
fn show(x: f64) -> String {
    if x != 0.0 && !(1e-4..1e15).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

fn range_help(name: &str, lo: f64, hi: f64) -> String {
    if lo == 0.0 && hi == 1.0 {
        format!("`{name}` is a share: write a number from 0 to 1 (e.g. 0.3 for 30%)")
    } else if lo == 0.0 && hi == bounds::MAX_RATE {
        format!(
            "`{name}` is a monthly rate: write a number from 0 to {hi} (typically 0.001 to 0.1)"
        )
    } else {
        format!("write a number from {} to {}", show(lo), show(hi))
    }
}
