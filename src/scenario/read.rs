//! Walking one parsed TOML document into the scenario's types, reporting every unknown key
//! (with a "did you mean"), wrong type or non-finite number instead of stopping at the first.

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::*;
use crate::diag::suggestion;

type Entry<'i> = (
    &'i Spanned<std::borrow::Cow<'i, str>>,
    &'i Spanned<DeValue<'i>>,
);

/// Walks one parsed file, collecting diagnostics.
pub(super) struct Reader<'d> {
    pub(super) file: usize,
    pub(super) diags: &'d mut Vec<Diagnostic>,
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
    pub(super) fn span(&self, range: std::ops::Range<usize>) -> Span {
        Span::new(self.file, range)
    }

    pub(super) fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub(super) fn entry<'i>(t: &'i DeTable<'i>, key: &str) -> Option<Entry<'i>> {
        t.iter().find(|(k, _)| k.get_ref().as_ref() == key)
    }

    /// Reports every key of `t` that is not in `allowed`.
    pub(super) fn check_keys(&mut self, t: &DeTable<'_>, allowed: &[&str], context: &str) {
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

    pub(super) fn wrong_type(&mut self, key: &str, v: &Spanned<DeValue<'_>>, expected: &str) {
        let d = Diagnostic::at(
            self.span(v.span()),
            format!("`{key}` must be {expected}, not {}", type_name(v.get_ref())),
        );
        self.error(d);
    }

    pub(super) fn number_value(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<Sp<f64>> {
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

    pub(super) fn integer_value(&mut self, key: &str, v: &Spanned<DeValue<'_>>) -> Option<Sp<i64>> {
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

    pub(super) fn number(&mut self, t: &DeTable<'_>, key: &str) -> Option<Sp<f64>> {
        let (_, v) = Self::entry(t, key)?;
        self.number_value(key, v)
    }

    pub(super) fn integer(&mut self, t: &DeTable<'_>, key: &str) -> Option<Sp<i64>> {
        let (_, v) = Self::entry(t, key)?;
        self.integer_value(key, v)
    }

    pub(super) fn string(&mut self, t: &DeTable<'_>, key: &str) -> Option<Sp<String>> {
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

    pub(super) fn string_list(
        &mut self,
        t: &DeTable<'_>,
        key: &str,
    ) -> Option<Sp<Vec<Sp<String>>>> {
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

    pub(super) fn integer_list(&mut self, t: &DeTable<'_>, key: &str) -> Option<Sp<Vec<Sp<i64>>>> {
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

    pub(super) fn subtable<'i>(
        &mut self,
        t: &'i DeTable<'i>,
        key: &str,
    ) -> Option<(&'i DeTable<'i>, Span)> {
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
    pub(super) fn table_array<'i>(
        &mut self,
        t: &'i DeTable<'i>,
        key: &str,
    ) -> Vec<(&'i DeTable<'i>, Span)> {
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
    pub(super) fn num_map(
        &mut self,
        t: &DeTable<'_>,
        key: &str,
        allowed: Option<&[&str]>,
    ) -> Option<NumMap> {
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

    pub(super) fn int_map(&mut self, t: &DeTable<'_>, key: &str) -> Vec<(Sp<String>, Sp<i64>)> {
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

    pub(super) fn simulation(&mut self, root: &DeTable<'_>) -> SimulationDoc {
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

    pub(super) fn hypotheses(&mut self, root: &DeTable<'_>) -> Vec<HypothesisDoc> {
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

    pub(super) fn sliders(&mut self, root: &DeTable<'_>) -> Vec<SliderDoc> {
        self.table_array(root, "slider")
            .into_iter()
            .map(|(t, span)| {
                self.check_keys(t, SLIDER_KEYS, "[[slider]]");
                SliderDoc {
                    span,
                    path: self.string(t, "path"),
                    label: self.string(t, "label"),
                    min: self.number(t, "min"),
                    max: self.number(t, "max"),
                    step: self.number(t, "step"),
                    unit: self.string(t, "unit"),
                }
            })
            .collect()
    }

    pub(super) fn lever(&mut self, t: &DeTable<'_>, span: Span) -> LeverDoc {
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

    pub(super) fn territory(&mut self, root: &DeTable<'_>, file_span: Span) -> TerritoryDoc {
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
            sliders: self.sliders(root),
        }
    }
}
