//! Stage 2 — the model: a validated scenario with defaults applied and every name resolved to
//! an index. Nothing downstream needs to check a value again.
//!
//! [`Model::from_scenario`] checks every value against the model's ranges (docs/model.md) and reports **all**
//! problems, each pointing at the text (`file:line:col`) with what is allowed and, for unknown
//! names, a "did you mean". The checks are split by what they check: `validate` holds the
//! checks every table shares (ranges, ids, names), `territory` a territory's tables, `network`
//! a network's links and what its territories must share, `library` a lever library on its
//! own. [`Overrides`] are the command line's settings (`--runs`, `--set`, …) applied on load.

mod build;
mod library;
mod network;
mod overrides;
pub mod set;
mod territory;
mod validate;

pub use library::check_library;
pub use overrides::Overrides;
pub use validate::valid_id;

use serde::Serialize;

/// Bounds of the model and the project's decisions (docs/model.md).
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

    /// Actor groups of every territory.
    pub fn group_count(&self) -> usize {
        self.territories.iter().map(|t| t.groups.len()).sum()
    }

    /// The SHA-256 of this model as resolved (every value, the overrides and the settings), in
    /// hex: two models with the same fingerprint simulate the same runs identically.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(self).unwrap_or_default();
        Sha256::digest(&json)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
