//! Validating a territory: its header, actor groups and influences, phases, levers (completed
//! from the included library with `use`), shocks, scale and perpetuation.

use super::validate::Validator;
use super::{
    bounds, Effect, Group, Lever, Perpetuation, Phase, Scale, Shock, ShockTiming, Territory,
};
use crate::scenario::{ActorDoc, LeverDoc, NumMap, PhaseDoc, ShockDoc, TerritoryDoc};

impl Validator {
    pub(super) fn actor(&mut self, a: &ActorDoc, id: String) -> Group {
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

    pub(super) fn phase(&mut self, p: &PhaseDoc, id: String, first: bool) -> Phase {
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

    pub(super) fn lever(
        &mut self,
        l: &LeverDoc,
        id: String,
        groups: &[String],
        phases: &[String],
    ) -> Lever {
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

    pub(super) fn shock(
        &mut self,
        s: &ShockDoc,
        id: String,
        groups: &[String],
        levers: &[String],
    ) -> Shock {
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

    pub(super) fn territory(&mut self, t: &TerritoryDoc) -> Option<Territory> {
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
}
