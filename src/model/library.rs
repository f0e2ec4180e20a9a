//! Checking a lever library (a référentiel) on its own.

use super::validate::Validator;
use crate::diag::Error;
use crate::scenario::{self, Loaded, Scenario};

/// Checks a lever library (a référentiel) on its own: ids, duplicates and value ranges. Group
/// and phase names are checked only when a territory uses a lever. Returns the number of levers.
pub fn check_library(loaded: &Loaded) -> Result<usize, Error> {
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
        Err(scenario::invalid(v.diags, loaded.sources.clone()))
    }
}
