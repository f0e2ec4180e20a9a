//! The référentiel at work: which of its methods matter in which territory, and how much. For
//! every territory of the files (each town of a network, changed inside the network with its
//! peers as they are) and every lever of the référentiel, the paired effect of *having* the
//! method — with minus without — on each outcome, with its 95% interval, on common random
//! numbers (the same seed and runs for every variant):
//!
//! - a method the territory uses (`use = "ID"`): "without" is the file where every lever using
//!   it never acts, exactly what `--set lever.X.from=H --set lever.X.until=H+1` gives;
//! - a method it does not use: "with" is the file with a `[[lever]]` table `use = "ID"` added
//!   (from `--from`, else the library's own `from`), exactly what writing that table into the
//!   file gives; effects on groups the territory lacks are dropped (a note says so), and a
//!   method none of whose groups exist is not applicable.
//!
//! Every variant of a file is one scenario of a single paired comparison with the file as
//! written (`super::compare`), so an effect is exactly what `compare` gives.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::compare::{Comparison, Work as Comparing};
use super::outcome::parse_outcome;
use crate::diag::{suggestion, Error};
use crate::model::{Model, Overrides};
use crate::scenario::{self, LeverDoc, Loaded, Scenario};
use crate::stats::Estimate;

/// The outcomes of a territory when `--outcome` is not given.
pub const DEFAULT_OUTCOMES: [&str; 4] = [
    "perpetuation@end",
    "stabilisation@end",
    "scale@end",
    "spend",
];

/// How a territory stands to a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    /// It uses it: the effect is of taking it away.
    #[serde(rename = "used")]
    Used,
    /// It does not: the effect is of adding it.
    #[serde(rename = "added")]
    Added,
    /// None of the groups it acts on exist in the territory.
    #[serde(rename = "not applicable")]
    NotApplicable,
}

impl Status {
    /// The word in tables.
    pub fn word(self) -> &'static str {
        match self {
            Status::Used => "used",
            Status::Added => "added",
            Status::NotApplicable => "not applicable",
        }
    }
}

/// A method of the référentiel.
#[derive(Debug, Clone, Serialize)]
pub struct Method {
    /// Its id in the library.
    pub id: String,
    /// Its label (the id when it has none).
    pub label: String,
}

/// One territory × method of a file.
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    /// The territory's index in its file (network order).
    pub territory: usize,
    /// The territory's id.
    pub territory_id: String,
    /// The method.
    pub method: usize,
    /// Used, added, or not applicable.
    pub status: Status,
    /// Its scenario in the file's comparison (none when not applicable).
    #[serde(skip)]
    pub scenario: Option<usize>,
    /// What to know about it (groups dropped, why not applicable).
    pub notes: Vec<String>,
}

/// One outcome of a file's comparison, and whose it is.
#[derive(Debug, Clone, Serialize)]
pub struct Asked {
    /// As the comparison normalised it (`malaunay:perpetuation@312`).
    pub text: String,
    /// As written in tables: without the territory when it is the territory's own.
    pub shown: String,
    /// The territory it was written for (`None`: written with its territory, or a file of one
    /// territory: about every variant).
    pub owner: Option<usize>,
}

/// A file's variants, as one paired comparison with the file as written.
#[derive(Debug, Clone)]
pub struct FileWork {
    /// The file.
    pub path: PathBuf,
    /// The comparison: the file as written, then each applicable variant.
    pub comparing: Comparing,
    /// Every territory × method (those not applicable too), territories in order.
    pub variants: Vec<Variant>,
    /// The outcomes, in the comparison's order.
    pub asked: Vec<Asked>,
    /// Notes about the whole file (budgets).
    pub notes: Vec<String>,
}

/// A transfer ready to run: every file, variant and outcome checked.
#[derive(Debug, Clone)]
pub struct Work {
    /// The référentiel's methods studied, in library order.
    pub methods: Vec<Method>,
    /// Each file's variants.
    pub files: Vec<FileWork>,
}

/// One effect: a method, a territory, an outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Effect {
    /// The file.
    pub file: String,
    /// The territory's id.
    pub territory: String,
    /// The method's id.
    pub lever: String,
    /// Used, added or not applicable.
    pub status: Status,
    /// The outcome, as in tables.
    pub outcome: String,
    /// The outcome's estimate with the method (none when not applicable).
    pub with: Option<Estimate>,
    /// Without it.
    pub without: Option<Estimate>,
    /// With minus without, paired, with its 95% interval.
    pub effect: Option<Estimate>,
    /// The territory's extra spend with the method (€ over the horizon; with minus without).
    pub extra_spend: Option<f64>,
    /// The effect per 100,000 € of extra spend, where the method costs more.
    pub per_100k: Option<f64>,
    /// Notes on this variant.
    pub notes: Vec<String>,
}

/// A finished transfer.
#[derive(Debug, Clone, Serialize)]
pub struct Transfer {
    /// The methods, in library order.
    pub methods: Vec<Method>,
    /// Every effect: file by file, territory by territory, method by method, outcome by
    /// outcome.
    pub effects: Vec<Effect>,
    /// Notes about the files (budgets re-rationing, dropped groups, methods not applicable).
    pub notes: Vec<String>,
    /// Runs per variant.
    pub runs: u64,
    /// Master seed of every variant.
    pub seed: u64,
    /// Each file's comparison, for who wants every estimate.
    #[serde(skip)]
    pub comparisons: Vec<Comparison>,
}

/// What `transfer` is asked, checked and loaded.
pub struct Asking<'a> {
    /// The files.
    pub files: &'a [PathBuf],
    /// `--library`.
    pub library: Option<&'a Path>,
    /// `--lever` (all when empty).
    pub levers: &'a [String],
    /// `--from`.
    pub from: Option<u32>,
    /// `--outcome` (default [`DEFAULT_OUTCOMES`] for each territory).
    pub outcomes: &'a [String],
    /// The settings and `--set`.
    pub overrides: &'a Overrides,
}

impl Work {
    /// Every file loaded and every variant built and checked before anything is simulated.
    /// All files take the first file's runs, seed and substeps.
    pub fn new(asking: &Asking<'_>) -> Result<Work, Error> {
        if asking.files.is_empty() {
            return Err(Error::Usage(
                "give a territory or network file, e.g. trajectoire transfer scenarios/villes-pairs.toml".into(),
            ));
        }
        let extra = match asking.library {
            None => Vec::new(),
            Some(path) => match scenario::load(path)?.scenario {
                Scenario::Library(levers) => levers,
                _ => {
                    return Err(Error::Usage(format!(
                    "--library {}: this is not a lever library (a file of [[lever]] tables only)",
                    path.display()
                )))
                }
            },
        };
        let mut loaded = Vec::new();
        for path in asking.files {
            let mut l = scenario::load(path)?;
            if let Scenario::Library(_) = l.scenario {
                return Err(Error::Usage(format!(
                    "{}: this is a lever library; give the territories it should travel to, and it as --library",
                    path.display()
                )));
            }
            add_library(&mut l, &extra);
            loaded.push(l);
        }
        let methods = methods(&loaded, &extra, asking)?;
        let mut overrides = asking.overrides.clone();
        let mut files = Vec::new();
        for (path, l) in asking.files.iter().zip(loaded) {
            let file = file_work(path, &l, &methods, asking, &overrides)?;
            // Every file on the first file's settings.
            let s = file.comparing.models[0].settings;
            overrides.runs = Some(s.runs);
            overrides.seed = Some(s.seed);
            overrides.substeps = Some(s.substeps);
            files.push(file);
        }
        Ok(Work { methods, files })
    }

    /// The runs of each variant.
    pub fn runs(&self) -> u64 {
        self.files[0].comparing.models[0].settings.runs
    }

    /// The effects the comparisons of the files give.
    pub fn transfer(&self, comparisons: Vec<Comparison>) -> Transfer {
        let mut effects = Vec::new();
        let mut notes = Vec::new();
        for (file, c) in self.files.iter().zip(&comparisons) {
            notes.extend(file.notes.iter().cloned());
            for v in &file.variants {
                notes.extend(v.notes.iter().cloned());
                effects.extend(file.effects(v, &self.methods[v.method], c));
            }
        }
        notes.dedup();
        let first = &self.files[0].comparing.models[0].settings;
        Transfer {
            methods: self.methods.clone(),
            effects,
            notes,
            runs: first.runs,
            seed: first.seed,
            comparisons,
        }
    }
}

impl FileWork {
    /// The effects of variant `v` on its outcomes.
    fn effects(&self, v: &Variant, method: &Method, c: &Comparison) -> Vec<Effect> {
        let mine = self
            .asked
            .iter()
            .enumerate()
            .filter(|(_, a)| a.owner.is_none() || a.owner == Some(v.territory));
        let spend = self.asked.iter().position(|a| {
            a.owner == Some(v.territory) && a.shown == "spend"
                || (a.owner.is_none() && a.text == spend_of(&v.territory_id, self))
        });
        let effect_of = |o: usize| -> Option<(Estimate, Estimate, Estimate)> {
            let s = v.scenario?;
            let variant = c.scenarios[s].estimates[o];
            let base = c.scenarios[0].estimates[o];
            let d = c.scenarios[s].differences.as_ref()?[o];
            Some(match v.status {
                Status::Added => (variant, base, d),
                _ => (
                    base,
                    variant,
                    // 0 − x: a difference of exactly zero stays +0, not −0.
                    Estimate {
                        estimate: 0.0 - d.estimate,
                        low: 0.0 - d.high,
                        high: 0.0 - d.low,
                        n: d.n,
                    },
                ),
            })
        };
        let extra_spend = spend.and_then(|o| effect_of(o).map(|(_, _, e)| e.estimate));
        mine.map(|(o, a)| {
            let found = effect_of(o);
            let per_100k = match (found, extra_spend) {
                (Some((_, _, e)), Some(extra)) if extra > 0.0 && a.shown != "spend" => {
                    Some(e.estimate / extra * 100_000.0)
                }
                _ => None,
            };
            Effect {
                file: self.path.display().to_string(),
                territory: v.territory_id.clone(),
                lever: method.id.clone(),
                status: v.status,
                outcome: a.shown.clone(),
                with: found.map(|f| f.0),
                without: found.map(|f| f.1),
                effect: found.map(|f| f.2),
                extra_spend,
                per_100k,
                notes: v.notes.clone(),
            }
        })
        .collect()
    }
}

/// The normalised `spend` outcome of territory `id` in a file.
fn spend_of(id: &str, file: &FileWork) -> String {
    if file.comparing.models[0].is_network {
        format!("{id}:spend")
    } else {
        "spend".into()
    }
}

/// `extra` library levers added to every territory's library (those it does not hold yet).
fn add_library(loaded: &mut Loaded, extra: &[LeverDoc]) {
    let count = scenario::territory_docs(&loaded.scenario).len();
    for t in 0..count {
        if let Some(doc) = scenario::territory_doc(&mut loaded.scenario, t) {
            for lever in extra {
                let id = lever.id.as_ref().map(|i| i.value.as_str());
                if !doc
                    .library
                    .iter()
                    .any(|l| l.id.as_ref().map(|i| i.value.as_str()) == id)
                {
                    doc.library.push(lever.clone());
                }
            }
        }
    }
}

/// The référentiel's methods: the `--library` file's, or those the files include (in the order
/// they are first met); only `--lever`'s when given. A territory with no library is refused.
fn methods(
    loaded: &[Loaded],
    extra: &[LeverDoc],
    asking: &Asking<'_>,
) -> Result<Vec<Method>, Error> {
    let mut all: Vec<Method> = Vec::new();
    let mut push = |lever: &LeverDoc| {
        let Some(id) = &lever.id else { return };
        if !all.iter().any(|m| m.id == id.value) {
            all.push(Method {
                id: id.value.clone(),
                label: lever
                    .label
                    .as_ref()
                    .map_or_else(|| id.value.clone(), |l| l.value.clone()),
            });
        }
    };
    if extra.is_empty() {
        for (path, l) in asking.files.iter().zip(loaded) {
            for t in scenario::territory_docs(&l.scenario) {
                if t.library.is_empty() {
                    let name = t
                        .header
                        .id
                        .as_ref()
                        .map_or_else(|| path.display().to_string(), |i| i.value.clone());
                    return Err(Error::Usage(format!(
                        "{}: `{name}` includes no lever library, so there is no référentiel to transfer: add `include = [\"referentiel.toml\"]` to its file, or give one with --library FILE",
                        path.display()
                    )));
                }
                t.library.iter().for_each(&mut push);
            }
        }
    } else {
        extra.iter().for_each(&mut push);
    }
    if asking.levers.is_empty() {
        return Ok(all);
    }
    let mut chosen = Vec::new();
    for id in asking.levers {
        match all.iter().find(|m| &m.id == id) {
            Some(m) if !chosen.iter().any(|c: &Method| c.id == m.id) => chosen.push(m.clone()),
            Some(_) => {}
            None => {
                let hint = suggestion(id, all.iter().map(|m| m.id.as_str()))
                    .unwrap_or_else(|| "it has none".into());
                return Err(Error::Usage(format!(
                    "--lever {id}: the référentiel has no such method; {hint}"
                )));
            }
        }
    }
    Ok(chosen)
}

/// The groups a library lever acts on, and its effect tables as written.
fn named_groups(lever: &LeverDoc) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    for table in [&lever.push, &lever.retain, &lever.anchor]
        .into_iter()
        .flatten()
    {
        for (g, _) in &table.entries {
            if !groups.contains(&g.value) {
                groups.push(g.value.clone());
            }
        }
    }
    groups
}

/// A file's comparison: the file as written and every applicable variant.
fn file_work(
    path: &Path,
    loaded: &Loaded,
    methods: &[Method],
    asking: &Asking<'_>,
    overrides: &Overrides,
) -> Result<FileWork, Error> {
    let base = overrides.model(loaded)?;
    let network = base.is_network;
    let horizon = base.horizon();
    let docs = scenario::territory_docs(&loaded.scenario);
    let mut names = vec![format!("{} as written", base.name)];
    let mut models = vec![base.clone()];
    let mut variants = Vec::new();
    let mut notes = Vec::new();
    for (ti, t) in base.territories.iter().enumerate() {
        let prefix = if network {
            format!("{}.", t.id)
        } else {
            String::new()
        };
        if let Some(budget) = t.budget {
            notes.push(format!(
                "{} has a budget ({} € a month): adding a method re-rations the others when the levers cost more than it, and that is part of the method's real effect",
                t.name,
                crate::study::design::value_text(budget, false)
            ));
        }
        for (mi, m) in methods.iter().enumerate() {
            let using: Vec<&str> = t
                .levers
                .iter()
                .filter(|l| l.uses.as_deref() == Some(m.id.as_str()))
                .map(|l| l.id.as_str())
                .collect();
            let mut variant = Variant {
                territory: ti,
                territory_id: t.id.clone(),
                method: mi,
                status: Status::Used,
                scenario: None,
                notes: Vec::new(),
            };
            let model = if !using.is_empty() {
                let sets: Vec<String> = using
                    .iter()
                    .flat_map(|id| {
                        [
                            format!("{prefix}lever.{id}.from={horizon}"),
                            format!("{prefix}lever.{id}.until={}", horizon + 1),
                        ]
                    })
                    .collect();
                names.push(format!("{}: without {}", t.id, m.id));
                overrides.model_varied(loaded, &sets, "transfer")?
            } else {
                variant.status = Status::Added;
                let library = docs.get(ti).map_or(&[][..], |d| d.library.as_slice());
                let Some(lever) = library
                    .iter()
                    .find(|l| l.id.as_ref().is_some_and(|i| i.value == m.id))
                else {
                    variant.status = Status::NotApplicable;
                    variant
                        .notes
                        .push(format!("{} is not in {}'s library", m.id, t.name));
                    variants.push(variant);
                    continue;
                };
                let present: Vec<&str> = t.groups.iter().map(|g| g.id.as_str()).collect();
                let named = named_groups(lever);
                let missing: Vec<&String> = named
                    .iter()
                    .filter(|g| !present.contains(&g.as_str()))
                    .collect();
                if !named.is_empty() && missing.len() == named.len() {
                    variant.status = Status::NotApplicable;
                    variant.notes.push(format!(
                        "{} is not applicable in {}: it acts on {}, groups {} has not",
                        m.id,
                        t.name,
                        named.join(", "),
                        t.name
                    ));
                    variants.push(variant);
                    continue;
                }
                if !missing.is_empty() {
                    let list: Vec<&str> = missing.iter().map(|g| g.as_str()).collect();
                    variant.notes.push(format!(
                        "{} in {}: its effects on {} are dropped ({} has no such group)",
                        m.id,
                        t.name,
                        list.join(", "),
                        t.name
                    ));
                }
                let text = added_table(lever, &m.id, t, &present, asking.from);
                let mut edited = loaded.clone();
                scenario::add_levers(
                    &mut edited,
                    ti,
                    &format!("<{} added to {}>", m.id, t.id),
                    &text,
                )?;
                names.push(format!("{}: with {}", t.id, m.id));
                overrides.model(&edited)?
            };
            variant.scenario = Some(models.len());
            models.push(model);
            variants.push(variant);
        }
    }
    let asked = asked(&base, asking.outcomes)?;
    let texts: Vec<String> = asked.iter().map(|a| a.text.clone()).collect();
    let comparing = Comparing::of(names, models, &texts)?;
    Ok(FileWork {
        path: path.to_path_buf(),
        comparing,
        variants,
        asked,
        notes,
    })
}

/// The `[[lever]]` table that adds library lever `lever` (id `method`) to territory `t`: a
/// `use`, the `from` of `--from`, and the effect tables rewritten without the groups `t` lacks.
fn added_table(
    lever: &LeverDoc,
    method: &str,
    t: &crate::model::Territory,
    present: &[&str],
    from: Option<u32>,
) -> String {
    let mut id = method.to_string();
    let mut k = 2;
    while t.levers.iter().any(|l| l.id == id) {
        id = format!("{method}-{k}");
        k += 1;
    }
    let mut text = format!("[[lever]]\nid = \"{id}\"\nuse = \"{method}\"\n");
    if let Some(from) = from {
        text.push_str(&format!("from = {from}\n"));
    }
    for (key, table) in [
        ("push", &lever.push),
        ("retain", &lever.retain),
        ("anchor", &lever.anchor),
    ] {
        let Some(table) = table else { continue };
        if table
            .entries
            .iter()
            .all(|(g, _)| present.contains(&g.value.as_str()))
        {
            continue;
        }
        let kept: Vec<String> = table
            .entries
            .iter()
            .filter(|(g, _)| present.contains(&g.value.as_str()))
            .map(|(g, x)| format!("{} = {:?}", g.value, x.value))
            .collect();
        text.push_str(&format!("{key} = {{ {} }}\n", kept.join(", ")));
    }
    text
}

/// The outcomes of a file: each of `texts` (default [`DEFAULT_OUTCOMES`]) for every territory
/// when it names none (in a network), as written when it does; normalised against the model.
fn asked(model: &Model, texts: &[String]) -> Result<Vec<Asked>, Error> {
    let defaults: Vec<String> = DEFAULT_OUTCOMES.iter().map(|s| s.to_string()).collect();
    let texts = if texts.is_empty() { &defaults } else { texts };
    let ids: Vec<&str> = model.territories.iter().map(|t| t.id.as_str()).collect();
    let mut out: Vec<Asked> = Vec::new();
    let mut diagnostics = Vec::new();
    // `shift`: the characters added in front of what was written (a territory's prefix).
    let mut push = |text: &str, owner: Option<usize>, written: &str, shift: usize| {
        let default = (!model.is_network).then_some(0).or(owner);
        match parse_outcome(text, model, default) {
            Ok(o) => {
                if !out.iter().any(|a| a.text == o.text && a.owner == owner) {
                    let shown = match owner {
                        Some(t) => o
                            .text
                            .strip_prefix(&format!("{}:", ids[t]))
                            .unwrap_or(&o.text)
                            .to_string(),
                        None => o.text.clone(),
                    };
                    out.push(Asked {
                        text: o.text,
                        shown,
                        owner,
                    });
                }
            }
            Err(mut e) => {
                e.offset = e.offset.saturating_sub(shift);
                diagnostics.push(e.at("--outcome", written));
            }
        }
    };
    for text in texts {
        let named = text
            .split_once(':')
            .is_some_and(|(first, _)| ids.contains(&first));
        if model.is_network && !named {
            for (t, id) in ids.iter().enumerate() {
                push(&format!("{id}:{text}"), Some(t), text, id.len() + 1);
            }
        } else if model.is_network {
            push(text, None, text, 0);
        } else {
            push(text, Some(0), text, 0);
        }
    }
    if diagnostics.is_empty() {
        Ok(out)
    } else {
        Err(Error::arguments(diagnostics))
    }
}
