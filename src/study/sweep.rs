//! Sweeps: a scenario evaluated at every point of a design (a grid of values, a Latin
//! hypercube, a scrambled Sobol' sequence), every point on the same seed and run indices, so
//! that differences between points are paired and a point gives exactly what `compare` gives
//! the same overrides.

use serde::Serialize;

use super::batch::Batch;
use super::design::{Design, Parameter};
use super::explore::{self, PointEstimates};
use super::hypothesis::{parse_hypotheses, Hypothesis};
use super::outcome::{expand_outcomes, parse_outcomes, Family};
use crate::diag::Error;

use crate::model::{Model, Overrides};
use crate::random::{side_rng, Purpose};
use crate::scenario::Loaded;

/// A sweep ready to run: every parameter and point checked, the outcomes parsed.
#[derive(Debug, Clone)]
pub struct Work {
    batch: Batch,
    /// The varied parameters.
    pub parameters: Vec<Parameter>,
    /// How the points were placed.
    pub design: Design,
    /// The points: a value per parameter.
    pub points: Vec<Vec<f64>>,
    /// The outcomes (families expanded), as written.
    pub outcomes: Vec<String>,
    /// The outcome families among them.
    pub families: Vec<Family>,
    /// Hypotheses of `--expect`, whose thresholds the plots draw.
    pub expects: Vec<Hypothesis>,
}

impl Work {
    /// A sweep of `loaded` with the command line's overrides, varying `varies`
    /// (`PATH=SPEC`) over `design`, gathering `outcomes` (default: `compare`'s) and those of
    /// `expects` (`OUTCOME OP NUMBER`). Every problem is found here, before any simulation.
    pub fn new(
        loaded: Loaded,
        overrides: &Overrides,
        varies: &[String],
        design: Design,
        outcomes: &[String],
        expects: &[String],
    ) -> Result<Work, Error> {
        let base = overrides.model(&loaded)?;
        let hypotheses = parse_hypotheses(expects, &base, "--expect")?;
        let (texts, families) = expand_outcomes(outcomes, &base)?;
        // Normalised (`@end` as the month), so that a hypothesis's outcome is found among them.
        let mut texts: Vec<String> = parse_outcomes(&texts, &base, None)
            .map_err(Error::arguments)?
            .into_iter()
            .map(|o| o.text)
            .collect();
        for h in &hypotheses {
            if !texts.contains(&h.outcome.text) {
                texts.push(h.outcome.text.clone());
            }
        }
        let batch = Batch::new(loaded, overrides.clone(), &texts)?;
        let parameters = explore::parameters(&batch, varies)?;
        design.check(&parameters)?;
        let count = design.count(&parameters);
        if count > 10_000_000 {
            return Err(Error::Usage(format!(
                "this design has {count} points; at most 10,000,000 can be evaluated: use fewer values or a sampled design (--design lhs:N)"
            )));
        }
        let mut rng = side_rng(base.settings.seed, Purpose::Design);
        let points = design.points(&parameters, &mut rng);
        Ok(Work {
            batch,
            parameters,
            design,
            points,
            outcomes: texts,
            families,
            expects: hypotheses,
        })
    }

    /// The scenario as given (no point's overrides).
    pub fn base(&self) -> &Model {
        self.batch.base()
    }

    /// The points evaluated, with their batch and parameters.
    pub fn points(&self) -> explore::Points<'_> {
        explore::Points {
            batch: &self.batch,
            parameters: &self.parameters,
            values: &self.points,
        }
    }

    /// The sweep its points' estimates (in point order) make.
    pub fn sweep_of(&self, points: Vec<PointEstimates>) -> Sweep {
        let s = self.base().settings;
        Sweep {
            parameters: self.parameters.clone(),
            design: self.design,
            outcomes: self.outcomes.clone(),
            families: self.families.clone(),
            expects: self.expects.clone(),
            points,
            runs: s.runs,
            seed: s.seed,
        }
    }
}

/// A finished sweep.
#[derive(Debug, Clone, Serialize)]
pub struct Sweep {
    /// The varied parameters.
    pub parameters: Vec<Parameter>,
    /// How the points were placed.
    pub design: Design,
    /// The outcomes, as written.
    pub outcomes: Vec<String>,
    /// The outcome families among them.
    pub families: Vec<Family>,
    /// Hypotheses of `--expect`.
    pub expects: Vec<Hypothesis>,
    /// Every point's values and estimates, in point order.
    pub points: Vec<PointEstimates>,
    /// Runs per point.
    pub runs: u64,
    /// Master seed of every point.
    pub seed: u64,
}
