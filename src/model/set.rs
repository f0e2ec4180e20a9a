//! The `--set PATH=VALUE` language, in one place: a path names one number or id of a scenario
//! by the ids the user wrote, and this module both applies it to a loaded scenario
//! ([`apply`]) and reads its value back from a model ([`value_at`]).
//!
//! What-if overrides: `--set PATH=VALUE` changes one number or id of a loaded scenario by the
//! ids the user wrote (`lever.participation.intensity=0.5`, `actor.staff.influenced_by.elected=0.1`,
//! `malaunay.lever.participation.cost=0`, `link.loos-en-gohelle.malaunay.exchange=0`).
//!
//! An override is applied to the scenario mirror before validation, so it is validated exactly
//! like the file and gives exactly the numbers that editing the file would. Each override is
//! registered as a source text of its own (`--set lever.x.cost=5`), so a problem points at the
//! argument's characters with a caret and a "did you mean".

use std::path::PathBuf;

use super::{Model, ShockTiming};
use crate::diag::{suggestion, Diagnostic, Span};
use crate::scenario::{
    ActorDoc, LeverDoc, Loaded, NumMap, PhaseDoc, Scenario, ShockDoc, Sp, TerritoryDoc, ACTOR_KEYS,
    CONDITION_KEYS, EFFECT_KEYS, HEADER_KEYS, LEVER_KEYS, LINK_KEYS, PERPETUATION_KEYS, PHASE_KEYS,
    SCALE_KEYS, SHOCK_KEYS, SIMULATION_KEYS, TERRITORY_KEYS,
};

/// A typed value from the command line.
#[derive(Debug, Clone)]
enum Value {
    Number(f64),
    Integer(i64),
    Text(String),
}

struct Target<'a> {
    value: Value,
    span: Span,
    /// Path segments and their byte offsets in the source text.
    segments: Vec<(&'a str, usize)>,
    file: usize,
}

impl Target<'_> {
    fn at(&self, i: usize) -> Span {
        let (seg, off) = self.segments[i.min(self.segments.len() - 1)];
        Span::new(self.file, off..off + seg.len().max(1))
    }

    fn fail(&self, i: usize, message: impl Into<String>, candidates: &[&str]) -> Diagnostic {
        let word = self.segments.get(i).map_or("", |s| s.0);
        Diagnostic::at(self.at(i), message)
            .with_optional_help(suggestion(word, candidates.iter().copied()))
    }

    fn number(&self) -> Result<Option<Sp<f64>>, Diagnostic> {
        match self.value {
            Value::Number(x) => Ok(Some(Sp {
                value: x,
                span: self.span,
            })),
            Value::Integer(i) => Ok(Some(Sp {
                value: i as f64,
                span: self.span,
            })),
            Value::Text(_) => Err(Diagnostic::at(self.span, "this value must be a number")),
        }
    }

    fn integer(&self) -> Result<Option<Sp<i64>>, Diagnostic> {
        match self.value {
            Value::Integer(i) => Ok(Some(Sp {
                value: i,
                span: self.span,
            })),
            _ => Err(Diagnostic::at(
                self.span,
                "this value must be a whole number",
            )),
        }
    }

    fn text(&self) -> Result<Option<Sp<String>>, Diagnostic> {
        let value = match &self.value {
            Value::Text(t) => t.clone(),
            Value::Integer(i) => i.to_string(),
            Value::Number(x) => x.to_string(),
        };
        Ok(Some(Sp {
            value,
            span: self.span,
        }))
    }

    /// Sets `map[name]` (adding the entry if it is not there).
    fn map_entry(&self, map: &mut Option<NumMap>, i: usize) -> Result<(), Diagnostic> {
        let Some((name, off)) = self.segments.get(i).copied() else {
            return Err(self.fail(
                i - 1,
                "this table needs a name after it, e.g. `.inhabitants`",
                &[],
            ));
        };
        let value = self.number()?.expect("a number");
        let map = map.get_or_insert_with(NumMap::default);
        match map.entries.iter_mut().find(|(k, _)| k.value == name) {
            Some(entry) => entry.1 = value,
            None => map.entries.push((
                Sp {
                    value: name.to_string(),
                    span: Span::new(self.file, off..off + name.len()),
                },
                value,
            )),
        }
        Ok(())
    }
}

fn find<'d, T>(
    items: &'d mut [T],
    id: impl Fn(&T) -> Option<&str>,
    target: &Target<'_>,
    i: usize,
    what: &str,
) -> Result<&'d mut T, Diagnostic> {
    let ids: Vec<String> = items
        .iter()
        .filter_map(|x| id(x).map(str::to_string))
        .collect();
    let Some((name, _)) = target.segments.get(i) else {
        return Err(target.fail(
            i - 1,
            format!(
                "name the {what}, e.g. `{}.{}`",
                target.segments[i - 1].0,
                ids.first().map_or("id", String::as_str)
            ),
            &[],
        ));
    };
    match items.iter().position(|x| id(x) == Some(name)) {
        Some(k) => Ok(&mut items[k]),
        None => {
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            Err(target.fail(i, format!("unknown {what} `{name}`"), &refs))
        }
    }
}

fn not_overridable(t: &Target<'_>, i: usize, key: &str) -> Diagnostic {
    Diagnostic::at(t.at(i), format!("`{key}` cannot be changed with --set"))
}

/// A table's keys without its leading `id`, which an override cannot change.
fn skip_id<'k>(keys: &'k [&'k str]) -> &'k [&'k str] {
    keys.strip_prefix(&["id"]).unwrap_or(keys)
}

fn field<'a>(target: &Target<'a>, i: usize, fields: &[&str]) -> Result<&'a str, Diagnostic> {
    match target.segments.get(i) {
        Some((f, _)) if fields.contains(f) => Ok(f),
        Some((f, _)) => Err(target.fail(i, format!("unknown key `{f}`"), fields)),
        None => Err(target.fail(
            i - 1,
            format!("say which key, one of: {}", fields.join(", ")),
            &[],
        )),
    }
}

fn actor(a: &mut ActorDoc, t: &Target<'_>, i: usize) -> Result<(), Diagnostic> {
    let f = field(t, i, skip_id(ACTOR_KEYS))?;
    match f {
        "label" => a.label = t.text()?,
        "size" => a.size = t.number()?,
        "weight" => a.weight = t.number()?,
        "engagement" => a.engagement = t.number()?,
        "anchored" => a.anchored = t.number()?,
        "adoption" => a.adoption = t.number()?,
        "fatigue" => a.fatigue = t.number()?,
        "erosion" => a.erosion = t.number()?,
        "volatility" => a.volatility = t.number()?,
        "influenced_by" => {
            let mut map = Some(std::mem::take(&mut a.influenced_by));
            t.map_entry(&mut map, i + 1)?;
            a.influenced_by = map.unwrap_or_default();
        }
        other => return Err(not_overridable(t, i, other)),
    }
    Ok(())
}

fn phase(p: &mut PhaseDoc, t: &Target<'_>, i: usize) -> Result<(), Diagnostic> {
    match field(t, i, skip_id(PHASE_KEYS))? {
        "label" => p.label = t.text()?,
        "description" => p.description = t.text()?,
        "hold" => p.hold = t.integer()?,
        key @ ("enter" | "fallback" | "effect") => {
            let allowed = if key == "effect" {
                EFFECT_KEYS
            } else {
                CONDITION_KEYS
            };
            field(t, i + 1, allowed)?;
            let map = match key {
                "enter" => &mut p.enter,
                "fallback" => &mut p.fallback,
                _ => {
                    let mut m = Some(std::mem::take(&mut p.effect));
                    t.map_entry(&mut m, i + 1)?;
                    p.effect = m.unwrap_or_default();
                    return Ok(());
                }
            };
            t.map_entry(map, i + 1)?;
        }
        other => return Err(not_overridable(t, i, other)),
    }
    Ok(())
}

fn lever(l: &mut LeverDoc, t: &Target<'_>, i: usize) -> Result<(), Diagnostic> {
    match field(t, i, skip_id(LEVER_KEYS))? {
        "label" => l.label = t.text()?,
        "description" => l.description = t.text()?,
        "use" => l.use_ = t.text()?,
        "from" => l.from = t.integer()?,
        "until" => l.until = t.integer()?,
        "after_phase" => l.after_phase = t.text()?,
        "cost" => l.cost = t.number()?,
        "ramp" => l.ramp = t.integer()?,
        "intensity" => l.intensity = t.number()?,
        "reach" => l.reach = t.number()?,
        "push" => t.map_entry(&mut l.push, i + 1)?,
        "retain" => t.map_entry(&mut l.retain, i + 1)?,
        "anchor" => t.map_entry(&mut l.anchor, i + 1)?,
        other => return Err(not_overridable(t, i, other)),
    }
    Ok(())
}

fn shock(s: &mut ShockDoc, t: &Target<'_>, i: usize) -> Result<(), Diagnostic> {
    match field(t, i, skip_id(SHOCK_KEYS))? {
        "label" => s.label = t.text()?,
        "description" => s.description = t.text()?,
        "every" => s.every = t.integer()?,
        "first" => s.first = t.integer()?,
        "rate" => s.rate = t.number()?,
        "probability" => s.probability = t.number()?,
        "hits" => {
            let mut m = Some(std::mem::take(&mut s.hits));
            t.map_entry(&mut m, i + 1)?;
            s.hits = m.unwrap_or_default();
        }
        "at" => {
            // One month: `shock.succession.at=216`.
            let month = t.integer()?.expect("an integer");
            s.at = Some(Sp {
                span: month.span,
                value: vec![month],
            });
        }
        "pause" => {
            let Some((name, off)) = t.segments.get(i + 1).copied() else {
                return Err(t.fail(
                    i,
                    "name the lever to pause, e.g. `pause.participation`",
                    &[],
                ));
            };
            let months = t.integer()?.expect("an integer");
            match s.pause.iter_mut().find(|(k, _)| k.value == name) {
                Some(entry) => entry.1 = months,
                None => s.pause.push((
                    Sp {
                        value: name.into(),
                        span: Span::new(t.file, off..off + name.len()),
                    },
                    months,
                )),
            }
        }
        other => return Err(not_overridable(t, i, other)),
    }
    Ok(())
}

fn territory(doc: &mut TerritoryDoc, t: &Target<'_>, i: usize) -> Result<(), Diagnostic> {
    let table = field(t, i, TERRITORY_KEYS)?;
    match table {
        "territory" => match field(t, i + 1, skip_id(HEADER_KEYS))? {
            "name" => doc.header.name = t.text()?,
            "description" => doc.header.description = t.text()?,
            "population" => doc.header.population = t.number()?,
            "start_year" => doc.header.start_year = t.integer()?,
            "horizon" => doc.header.horizon = t.integer()?,
            "budget" => doc.header.budget = t.number()?,
            other => return Err(not_overridable(t, i + 1, other)),
        },
        "simulation" => simulation(&mut doc.simulation, t, i + 1)?,
        "scale" => match field(t, i + 1, SCALE_KEYS)? {
            "potential" => doc.scale.potential = t.number()?,
            "innovation" => doc.scale.innovation = t.number()?,
            "imitation" => doc.scale.imitation = t.number()?,
            "initial" => doc.scale.initial = t.number()?,
            other => return Err(not_overridable(t, i + 1, other)),
        },
        "perpetuation" => match field(t, i + 1, PERPETUATION_KEYS)? {
            "collapse" => doc.perpetuation.collapse = t.number()?,
            "grace" => doc.perpetuation.grace = t.integer()?,
            "after_phase" => doc.perpetuation.after_phase = t.text()?,
            other => return Err(not_overridable(t, i + 1, other)),
        },
        "actor" => {
            let a = find(
                &mut doc.actors,
                |a| a.id.as_ref().map(|s| s.value.as_str()),
                t,
                i + 1,
                "actor group",
            )?;
            actor(a, t, i + 2)?;
        }
        "phase" => {
            let p = find(
                &mut doc.phases,
                |p| p.id.as_ref().map(|s| s.value.as_str()),
                t,
                i + 1,
                "phase",
            )?;
            phase(p, t, i + 2)?;
        }
        "lever" => {
            let l = find(
                &mut doc.levers,
                |l| l.id.as_ref().map(|s| s.value.as_str()),
                t,
                i + 1,
                "lever",
            )?;
            lever(l, t, i + 2)?;
        }
        "shock" => {
            let s = find(
                &mut doc.shocks,
                |s| s.id.as_ref().map(|x| x.value.as_str()),
                t,
                i + 1,
                "shock",
            )?;
            shock(s, t, i + 2)?;
        }
        // `include` and `hypothesis` are not values.
        other => return Err(not_overridable(t, i, other)),
    }
    Ok(())
}

fn simulation(
    sim: &mut crate::scenario::SimulationDoc,
    t: &Target<'_>,
    i: usize,
) -> Result<(), Diagnostic> {
    match field(t, i, SIMULATION_KEYS)? {
        "runs" => sim.runs = t.integer()?,
        "seed" => sim.seed = t.integer()?,
        "substeps" => sim.substeps = t.integer()?,
        other => return Err(not_overridable(t, i, other)),
    }
    Ok(())
}

fn parse_value(text: &str) -> Value {
    let clean: String = text.trim().chars().filter(|c| *c != '_').collect();
    if let Ok(i) = clean.parse::<i64>() {
        return Value::Integer(i);
    }
    match clean.parse::<f64>() {
        Ok(x) => Value::Number(x),
        Err(_) => Value::Text(text.trim().trim_matches('"').to_string()),
    }
}

/// Applies `PATH=VALUE` overrides to a loaded scenario, in order. Problems are added to the
/// scenario's reading problems, so validation reports them with everything else.
pub fn apply(loaded: &mut Loaded, sets: &[String]) {
    apply_as(loaded, sets, "--set");
}

/// [`apply`], each override shown in messages as given by `argument` (e.g. `--vary` for a
/// point of a sweep).
pub fn apply_as(loaded: &mut Loaded, sets: &[String], argument: &str) {
    for set in sets {
        let source = format!("{argument} {set}");
        let file = loaded.sources.add(PathBuf::from(argument), source.clone());
        let base = argument.len() + 1;
        let Some((path, value)) = set.split_once('=') else {
            loaded.problems.push(
                Diagnostic::at(
                    Span::new(file, base..source.len()),
                    "an override is PATH=VALUE",
                )
                .with_help("e.g. --set lever.participation.intensity=0.5"),
            );
            continue;
        };
        let mut segments = Vec::new();
        let mut offset = base;
        for seg in path.split('.') {
            segments.push((seg, offset));
            offset += seg.len() + 1;
        }
        let value_at = base + path.len() + 1;
        let value_text = value.trim();
        let value_value = parse_value(value_text);
        if let Value::Number(x) = value_value {
            if !x.is_finite() {
                loaded.problems.push(Diagnostic::at(
                    Span::new(file, value_at..source.len()),
                    "the value must be a finite number",
                ));
                continue;
            }
        }
        let target = Target {
            value: value_value,
            span: Span::new(file, value_at..source.len().max(value_at + 1)),
            segments,
            file,
        };
        if let Err(d) = apply_one(&mut loaded.scenario, &target) {
            loaded.problems.push(d);
        }
    }
}

/// Whether the value at `path` of a loaded scenario takes only whole numbers (`Ok(true)`) or
/// any number (`Ok(false)`); if the path is not one an override can set, the problem (with a
/// "did you mean"), pointing into a source shown as `argument`.
pub fn whole_numbers(
    loaded: &Loaded,
    path: &str,
    argument: &str,
) -> Result<bool, crate::diag::Error> {
    let problems = |value: &str| {
        let mut probe = loaded.clone();
        let before = probe.problems.len();
        apply_as(&mut probe, &[format!("{path}={value}")], argument);
        let found = probe.problems.split_off(before);
        (found, probe.sources)
    };
    if problems("not-a-number").0.is_empty() {
        return Err(crate::diag::Error::Usage(format!(
            "{argument} {path}: this value is text (a name, a label), not a number; give a number's path, e.g. lever.<id>.intensity, lever.<id>.from or territory.budget"
        )));
    }
    if problems("0.5").0.is_empty() {
        return Ok(false);
    }
    let (found, sources) = problems("1");
    if found.is_empty() {
        return Ok(true);
    }
    Err(crate::scenario::invalid(found, sources))
}

fn apply_one(scenario: &mut Scenario, t: &Target<'_>) -> Result<(), Diagnostic> {
    match scenario {
        Scenario::Territory(doc) => territory(doc, t, 0),
        Scenario::Library(_) => Err(Diagnostic::at(
            t.at(0),
            "a lever library cannot be simulated, so it takes no override",
        )),
        Scenario::Network(net) => {
            let first = t.segments[0].0;
            if first == "simulation" {
                return simulation(&mut net.simulation, t, 1);
            }
            if first == "link" {
                let ids = [
                    t.segments.get(1).map(|s| s.0),
                    t.segments.get(2).map(|s| s.0),
                ];
                let link = net.links.iter_mut().find(|l| {
                    l.between.as_ref().is_some_and(|b| {
                        let names: Vec<&str> = b.value.iter().map(|x| x.value.as_str()).collect();
                        names.len() == 2
                            && ((Some(names[0]), Some(names[1])) == (ids[0], ids[1])
                                || (Some(names[1]), Some(names[0])) == (ids[0], ids[1]))
                    })
                });
                let Some(link) = link else {
                    return Err(
                        Diagnostic::at(t.at(1), "no [[link]] between these territories").with_help(
                            "write link.TERRITORY-A.TERRITORY-B.exchange (or .spillover)",
                        ),
                    );
                };
                return match field(t, 3, &LINK_KEYS[1..])? {
                    "exchange" => {
                        link.exchange = t.number()?;
                        Ok(())
                    }
                    "spillover" => {
                        link.spillover = t.number()?;
                        Ok(())
                    }
                    other => Err(not_overridable(t, 3, other)),
                };
            }
            let ids: Vec<String> = net
                .territories
                .iter()
                .filter_map(|d| d.header.id.as_ref().map(|s| s.value.clone()))
                .collect();
            match ids.iter().position(|id| id == first) {
                Some(k) => territory(&mut net.territories[k], t, 1),
                None => {
                    let mut candidates: Vec<&str> = ids.iter().map(String::as_str).collect();
                    candidates.extend(["simulation", "link"]);
                    Err(t
                        .fail(
                            0,
                            format!("`{first}` is not a territory of this network"),
                            &candidates,
                        )
                        .with_help(format!(
                            "in a network, start with the territory id, e.g. `{}.lever.ID.cost`{}",
                            ids.first().map_or("town", String::as_str),
                            suggestion(first, candidates.iter().copied())
                                .map_or(String::new(), |s| format!(" ({s})"))
                        )))
                }
            }
        }
    }
}

/// The value at a `--set` path in a model: what the file (with its defaults and the library's
/// levers) gives it. `None` for a path that is not a number of the model.
pub fn value_at(model: &Model, path: &str) -> Option<f64> {
    let segments: Vec<&str> = path.split('.').collect();
    if segments.first() == Some(&"link") {
        let (a, b, key) = (segments.get(1)?, segments.get(2)?, segments.get(3)?);
        let find = |id: &str| model.territories.iter().position(|t| t.id == id);
        let (a, b) = (find(a)?, find(b)?);
        let link = model
            .links
            .iter()
            .find(|l| l.between == (a.min(b), a.max(b)))?;
        return match *key {
            "exchange" => Some(link.exchange),
            "spillover" => Some(link.spillover),
            _ => None,
        };
    }
    if segments.first() == Some(&"simulation") {
        let s = model.settings;
        return match *segments.get(1)? {
            "runs" => Some(s.runs as f64),
            "seed" => Some(s.seed as f64),
            "substeps" => Some(f64::from(s.substeps)),
            _ => None,
        };
    }
    let (t, rest) = if model.is_network {
        let t = model.territories.iter().find(|t| t.id == segments[0])?;
        (t, &segments[1..])
    } else {
        (&model.territories[0], &segments[..])
    };
    let group = |id: &str| t.groups.iter().position(|g| g.id == id);
    let pairs = |list: &[(usize, f64)], id: &str| {
        let g = group(id)?;
        Some(list.iter().filter(|(h, _)| *h == g).map(|(_, x)| x).sum())
    };
    match rest {
        ["territory", "population"] => Some(t.population),
        ["territory", "budget"] => t.budget,
        ["territory", "horizon"] => Some(f64::from(t.horizon)),
        ["territory", "start_year"] => t.start_year.map(f64::from),
        ["scale", key] => match *key {
            "potential" => Some(t.scale.potential),
            "innovation" => Some(t.scale.innovation),
            "imitation" => Some(t.scale.imitation),
            "initial" => Some(t.scale.initial),
            _ => None,
        },
        ["perpetuation", "collapse"] => Some(t.perpetuation.collapse),
        ["perpetuation", "grace"] => Some(f64::from(t.perpetuation.grace)),
        ["actor", id, "influenced_by", h] => {
            let (g, h) = (group(id)?, group(h)?);
            Some(t.influence[g * t.groups.len() + h])
        }
        ["actor", id, key] => {
            let g = &t.groups[group(id)?];
            match *key {
                "weight" => Some(g.weight),
                "size" => g.size,
                "engagement" => Some(g.engagement),
                "anchored" => Some(g.anchored),
                "adoption" => Some(g.adoption),
                "fatigue" => Some(g.fatigue),
                "erosion" => Some(g.erosion),
                "volatility" => Some(g.volatility),
                _ => None,
            }
        }
        ["lever", id, rest @ ..] => {
            let l = t.levers.iter().find(|l| l.id == *id)?;
            match rest {
                ["from"] => Some(f64::from(l.from)),
                ["until"] => l.until.map(f64::from),
                ["cost"] => Some(l.cost),
                ["ramp"] => Some(f64::from(l.ramp)),
                ["intensity"] => Some(l.intensity),
                ["reach"] => Some(l.reach),
                ["push", g] => pairs(&l.push, g),
                ["retain", g] => pairs(&l.retain, g),
                ["anchor", g] => pairs(&l.anchor, g),
                _ => None,
            }
        }
        ["shock", id, rest @ ..] => {
            let s = t.shocks.iter().find(|s| s.id == *id)?;
            match (rest, &s.timing) {
                (["probability"], _) => Some(s.probability),
                (["rate"], ShockTiming::Random { rate }) => Some(*rate),
                (["every"], ShockTiming::Periodic { every, .. }) => Some(f64::from(*every)),
                (["first"], ShockTiming::Periodic { first, .. }) => Some(f64::from(*first)),
                (["hits", g], _) => pairs(&s.hits, g),
                (["pause", l], _) => {
                    let k = t.levers.iter().position(|x| x.id == *l)?;
                    s.pause
                        .iter()
                        .find(|(x, _)| *x == k)
                        .map(|(_, m)| f64::from(*m))
                }
                _ => None,
            }
        }
        ["phase", id, rest @ ..] => {
            let p = t.phases.iter().find(|p| p.id == *id)?;
            let condition = |list: &[crate::model::Condition], name: &str| {
                list.iter()
                    .find(|c| c.index.name() == name)
                    .map(|c| c.threshold)
            };
            match rest {
                ["hold"] => Some(f64::from(p.hold)),
                ["enter", name] => condition(&p.enter, name),
                ["fallback", name] => condition(&p.fallback, name),
                ["effect", "push"] => Some(p.effect.push),
                ["effect", "retain"] => Some(p.effect.retain),
                ["effect", "anchor"] => Some(p.effect.anchor),
                ["effect", "reach"] => Some(p.effect.reach),
                _ => None,
            }
        }
        _ => None,
    }
}
