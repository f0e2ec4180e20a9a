//! The checks every table shares: numbers within their ranges (with what is allowed), whole
//! numbers, ids (well formed, not defined twice), names resolved with a "did you mean", maps of
//! group names, phase conditions and run settings.

use super::{bounds, Condition, IndexKind, Settings, DEFAULT_RUNS, DEFAULT_SEED, DEFAULT_SUBSTEPS};
use crate::diag::{suggestion, Diagnostic, Span};
use crate::scenario::{self, NumMap, Sp};

/// Collects every problem found while validating.
pub(super) struct Validator {
    pub(super) diags: Vec<Diagnostic>,
}

/// Whether `id` is a valid id: lowercase letters a-z, digits and dashes, not empty.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Validator {
    pub(super) fn err(&mut self, span: Span, message: impl Into<String>, help: impl Into<String>) {
        self.diags
            .push(Diagnostic::at(span, message).with_help(help.into()));
    }

    /// A number in [lo, hi], or the default when absent.
    pub(super) fn range(
        &mut self,
        v: &Option<Sp<f64>>,
        name: &str,
        default: f64,
        lo: f64,
        hi: f64,
    ) -> f64 {
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

    pub(super) fn share(&mut self, v: &Option<Sp<f64>>, name: &str, default: f64) -> f64 {
        self.range(v, name, default, 0.0, 1.0)
    }

    pub(super) fn rate(&mut self, v: &Option<Sp<f64>>, name: &str) -> f64 {
        self.range(v, name, 0.0, 0.0, bounds::MAX_RATE)
    }

    pub(super) fn int(
        &mut self,
        v: &Option<Sp<i64>>,
        name: &str,
        default: i64,
        lo: i64,
        hi: i64,
    ) -> i64 {
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

    pub(super) fn id(
        &mut self,
        id: &Option<Sp<String>>,
        what: &str,
        table_span: Span,
    ) -> Option<String> {
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
    pub(super) fn ids<'a>(
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

    pub(super) fn resolve(
        &mut self,
        name: &Sp<String>,
        ids: &[String],
        what: &str,
    ) -> Option<usize> {
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

    pub(super) fn group_map(
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

    pub(super) fn conditions(&mut self, map: &Option<NumMap>) -> Vec<Condition> {
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

    pub(super) fn settings(
        &mut self,
        sim: &scenario::SimulationDoc,
        base: Option<Settings>,
    ) -> Settings {
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
}

/// A number for a message: plain digits, or scientific notation when very large or small.
pub(super) fn show(x: f64) -> String {
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
