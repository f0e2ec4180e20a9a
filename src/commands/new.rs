//! `trajectoire new NAME`: a commented template territory to start from.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::common::Words;
use crate::diag::Error;
use crate::model::valid_id;

/// Write a commented template territory NAME.toml to start from.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewArgs {
    /// Territory id (lowercase letters, digits and dashes), or a path ending in .toml.
    pub name: String,
}

impl NewArgs {
    /// Writes the template and says what to do next.
    pub fn execute(&self) -> Result<Words, Error> {
        let path = new(&self.name)?;
        Ok(Words(format!(
            "Wrote {}. Next: trajectoire check {}\n",
            path.display(),
            path.display()
        )))
    }
}

/// The template for a territory with id `id`.
pub fn territory(id: &str) -> String {
    TEMPLATE.replace("{id}", id)
}

/// Writes the template territory `NAME.toml` (or the path given, ending in `.toml`, whose
/// file name is the id) and returns the path written. Refuses an invalid id and an existing
/// file.
pub fn new(name: &str) -> Result<PathBuf, Error> {
    let (path, id) = if let Some(stem) = name.strip_suffix(".toml") {
        let id = Path::new(stem)
            .file_name()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        (PathBuf::from(name), id)
    } else {
        (PathBuf::from(format!("{name}.toml")), name.to_string())
    };
    if !valid_id(&id) {
        return Err(Error::Usage(format!(
            "`{id}` is not a valid territory id: use lowercase letters, digits and dashes, e.g. `my-town`"
        )));
    }
    if path.exists() {
        return Err(Error::io(
            &path,
            "already exists; choose another name or remove it first",
        ));
    }
    std::fs::write(&path, territory(&id)).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

const TEMPLATE: &str = r#"# A territory for trajectoire. Every rate is per month; every share is between 0 and 1.
# Check it with `trajectoire check {id}.toml`, read it back in words with
# `trajectoire explain {id}.toml`, and simulate it with `trajectoire run {id}.toml`.
# The values below are illustrative, not calibrated: replace them with your own.

[territory]
id = "{id}"                 # lowercase letters, digits and dashes; names the output folder
name = "{id}"               # shown on plots
population = 6000           # inhabitants
start_year = 2014           # month 0 is January of this year (plots show years)
horizon = 240               # months simulated (20 years)
# budget = 15000            # € per month available to levers; remove for no limit

[simulation]
runs = 2000                 # simulated futures
seed = 1                    # same seed, same results
substeps = 4                # Euler substeps per month

[scale]                     # change of scale: how the transition reaches the population
innovation = 0.0005         # share reached each month from outside influence
imitation = 0.04            # word-of-mouth strength when everyone is engaged
initial = 0.0               # share reached at the start

[perpetuation]
collapse = 0.08             # engagement under which the transition is in danger...
grace = 12                  # ...for this many months in a row: it is abandoned
after_phase = "take-off"    # watched only once the transition has taken off

# Actor groups. engagement = share engaged at the start; anchored = part of it that is
# anchored (in institutions, habits, jobs): shocks never touch it.
[[actor]]
id = "elected"
label = "Elected officials"
weight = 1.0
engagement = 0.5
anchored = 0.05
adoption = 0.004            # spontaneous engagement
fatigue = 0.02              # loss of non-anchored engagement
erosion = 0.002             # slow loss of anchored engagement
volatility = 0.03           # month-to-month randomness
influenced_by = { staff = 0.01, inhabitants = 0.01 }

[[actor]]
id = "staff"
label = "Administration"
engagement = 0.2
adoption = 0.003
fatigue = 0.02
erosion = 0.002
volatility = 0.02
influenced_by = { elected = 0.03 }

[[actor]]
id = "entrepreneurs"
label = "Entrepreneurs and engaged actors"
engagement = 0.1
adoption = 0.003
fatigue = 0.03
erosion = 0.003
volatility = 0.03
influenced_by = { elected = 0.01, inhabitants = 0.01 }

[[actor]]
id = "inhabitants"
label = "Inhabitants"
engagement = 0.05
adoption = 0.002
fatigue = 0.035             # about 65% of volunteers still there after a year
erosion = 0.003
volatility = 0.03
influenced_by = { entrepreneurs = 0.02, elected = 0.01 }

# Phases, in order (Rotmans et al. 2001). A run starts in the first one.
[[phase]]
id = "predevelopment"

[[phase]]
id = "take-off"
enter = { engagement = 0.2 }     # every listed index must be at least this...
hold = 3                         # ...for 3 months in a row
fallback = { engagement = 0.1 }  # back one phase if it stays under this for `hold` months

[[phase]]
id = "acceleration"
enter = { engagement = 0.35, scale = 0.1 }
hold = 6
effect = { push = 1.2 }          # levers push 20% harder in this phase

[[phase]]
id = "stabilisation"
enter = { stabilisation = 0.2 }
hold = 12

# Levers: the action methodologies the territory applies, with their cost.
[[lever]]
id = "participation"
label = "Resident projects"
from = 12                   # starts in month 12
cost = 3000                 # € per month while active, at intensity 1 (it costs cost × intensity)
ramp = 6                    # months to full intensity
push = { inhabitants = 0.01 }
retain = { inhabitants = 0.3 }
anchor = { inhabitants = 0.005 }
reach = 0.001

[[lever]]
id = "staff-training"
label = "Training the administration"
after_phase = "take-off"
cost = 1500
push = { staff = 0.01 }
anchor = { staff = 0.02 }

# Shocks. Municipal elections: every 72 months; month 75 is April 2020 here.
[[shock]]
id = "municipal-election"
label = "municipal elections"
every = 72
first = 75
probability = 0.5           # chance that an election disrupts the transition
hits = { elected = 0.6, staff = 0.2 }
pause = { participation = 6 }
"#;
