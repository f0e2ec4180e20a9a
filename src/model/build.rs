//! A model built from a loaded scenario: every table validated (see `validate`, `territory`,
//! `network`), every problem reported at once.

use super::validate::Validator;
use super::Model;
use crate::diag::Error;
use crate::scenario::{self, Loaded, Scenario};

impl Model {
    /// Validates a loaded scenario into a model, reporting every problem (those found while
    /// reading the files too).
    pub fn from_scenario(loaded: &Loaded) -> Result<Model, Error> {
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
                    overrides: Vec::new(),
                }
            }),
            Scenario::Network(n) => v.network(n),
            Scenario::Library(levers) => {
                let first = levers
                    .first()
                    .map_or(crate::diag::Span::new(0, 0..0), |l| l.span);
                v.err(
                    first,
                    "this file is a lever library (a référentiel), not a territory",
                    "include it from a territory file with `include = [\"this-file.toml\"]` and `use` its levers",
                );
                None
            }
        };
        match model {
            Some(m) if v.diags.is_empty() => Ok(m),
            _ => Err(scenario::invalid(v.diags, loaded.sources.clone())),
        }
    }

    /// Loads and validates a scenario given as text, as if it were the file `path`.
    pub fn parse(path: &std::path::Path, text: &str) -> Result<Model, Error> {
        Model::from_scenario(&scenario::load_text(path, text)?)
    }

    /// Loads and validates a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Model, Error> {
        Model::from_scenario(&scenario::load(path)?)
    }
}
