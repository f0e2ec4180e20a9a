//! Scenario discovery: where in the space of the varied parameters a goal holds. The points of
//! a design are evaluated as a sweep's (common random numbers); a point is a case of interest
//! when its estimate meets `--where`; then PRIM ([`super::prim`]) finds boxes of the parameters
//! where those cases concentrate, as EMA Workbench does.

use serde::Serialize;

use super::batch::Batch;
use super::design::{Design, Parameter};
use super::explore::{self, PointEstimates};
use super::hypothesis::{parse_hypotheses, Hypothesis};
use super::prim::{self, Column, Found, Prim, Settings};
use crate::diag::Error;
use crate::model::{Model, Overrides};
use crate::random::{side_rng, Purpose};
use crate::scenario::Loaded;

/// Subsamples of a box's cases drawn to see whether it comes back (EMA's default).
pub const RESAMPLES: usize = 10;
/// Below this share of the resampled boxes restricting one of a box's inputs, the box is said
/// not to be reproducible.
pub const REPRODUCIBLE: f64 = 0.7;
/// Most boxes asked for.
pub const MAX_BOXES: usize = 20;

/// A discovery ready to run: the design's points checked, the goal parsed.
#[derive(Debug, Clone)]
pub struct Work {
    batch: Batch,
    /// The varied parameters.
    pub parameters: Vec<Parameter>,
    /// How the points were placed.
    pub design: Design,
    /// The points: a value per parameter.
    pub points: Vec<Vec<f64>>,
    /// The goal (`--where`).
    pub goal: Hypothesis,
    /// PRIM's settings.
    pub settings: Settings,
    /// Boxes asked for.
    pub boxes: usize,
}

/// One box found, with what says how far to trust it.
#[derive(Debug, Clone, Serialize)]
pub struct Discovered {
    /// Its search and its cases.
    pub found: Found,
    /// For each parameter, the share of resampled boxes restricting it at the step closest
    /// in coverage, and closest in density.
    pub reproduced: Vec<(f64, f64)>,
}

/// A finished discovery.
#[derive(Debug, Clone, Serialize)]
pub struct Discovery {
    /// The varied parameters.
    pub parameters: Vec<Parameter>,
    /// How the points were placed.
    pub design: Design,
    /// The goal.
    pub goal: Hypothesis,
    /// Every point's values and estimate of the goal's outcome.
    pub points: Vec<PointEstimates>,
    /// Whether each point is a case of interest (`None`: it has no estimate).
    pub cases: Vec<Option<bool>>,
    /// PRIM's settings.
    pub settings: Settings,
    /// The boxes, in the order found (the last may be one under the threshold).
    pub boxes: Vec<Discovered>,
    /// Runs per point.
    pub runs: u64,
    /// Master seed of every point.
    pub seed: u64,
}

impl Discovery {
    /// Points with an estimate, where PRIM searched.
    pub fn valued(&self) -> Vec<usize> {
        (0..self.cases.len())
            .filter(|&p| self.cases[p].is_some())
            .collect()
    }
}

impl Work {
    /// A discovery over `loaded` with the command line's overrides: the goal `where_` (an
    /// outcome, a comparison and a number), the `varies` over `design`, PRIM's settings and the
    /// boxes asked for. Every problem is found here, before any simulation.
    pub fn new(
        loaded: Loaded,
        overrides: &Overrides,
        where_: &str,
        varies: &[String],
        design: Design,
        settings: Settings,
        boxes: usize,
    ) -> Result<Work, Error> {
        let base = overrides.model(&loaded)?;
        let goal = parse_hypotheses(&[where_.to_string()], &base, "--where")?.remove(0);
        for (name, value, range) in [
            ("--peel", settings.peel_alpha, "above 0 and below 0.5"),
            ("--paste", settings.paste_alpha, "above 0 and below 0.5"),
            ("--mass-min", settings.mass_min, "above 0 and below 1"),
            ("--threshold", settings.threshold, "above 0 and at most 1"),
        ] {
            let ok = match name {
                "--peel" | "--paste" => value > 0.0 && value < 0.5,
                "--mass-min" => value > 0.0 && value < 1.0,
                _ => value > 0.0 && value <= 1.0,
            };
            if !ok || !value.is_finite() {
                return Err(Error::Usage(format!(
                    "{name} {value}: give a share {range} (EMA's default: {})",
                    match name {
                        "--threshold" => "0.8",
                        _ => "0.05",
                    }
                )));
            }
        }
        if boxes == 0 || boxes > MAX_BOXES {
            return Err(Error::Usage(format!(
                "--boxes {boxes}: give from 1 to {MAX_BOXES} boxes"
            )));
        }
        let batch = Batch::new(
            loaded,
            overrides.clone(),
            std::slice::from_ref(&goal.outcome.text),
        )?;
        let parameters = explore::parameters(&batch, varies)?;
        design.check(&parameters)?;
        let count = design.count(&parameters);
        if count > 1_000_000 {
            return Err(Error::Usage(format!(
                "this design has {count} points; PRIM takes at most 1,000,000: use a sampled design (--design lhs:N)"
            )));
        }
        let mut rng = side_rng(base.settings.seed, Purpose::Design);
        let points = design.points(&parameters, &mut rng);
        Ok(Work {
            batch,
            parameters,
            design,
            points,
            goal,
            settings,
            boxes,
        })
    }

    /// The scenario as given.
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

    /// The discovery its points' estimates (in point order) make: the cases, then PRIM's boxes
    /// among the points with an estimate, each resampled.
    pub fn discover(&self, points: Vec<PointEstimates>) -> Discovery {
        let cases: Vec<Option<bool>> = points
            .iter()
            .map(|p| {
                let x = p.estimates[0].estimate;
                x.is_finite()
                    .then(|| self.goal.op.holds(x, self.goal.threshold))
            })
            .collect();
        let valued: Vec<usize> = (0..cases.len()).filter(|&p| cases[p].is_some()).collect();
        let columns: Vec<Column> = self
            .parameters
            .iter()
            .enumerate()
            .map(|(j, p)| Column {
                name: p.path.clone(),
                integer: p.integer,
                values: valued.iter().map(|&i| points[i].values[j]).collect(),
            })
            .collect();
        let y: Vec<bool> = valued.iter().map(|&i| cases[i] == Some(true)).collect();
        let mut boxes = Vec::new();
        if y.iter().any(|&v| v) {
            let mut search = Prim::new(&columns, &y, self.settings);
            let mut rng = side_rng(self.base().settings.seed, Purpose::Resampling);
            while boxes.len() < self.boxes {
                let Some(found) = search.find_box() else {
                    break;
                };
                let reproduced =
                    prim::resample(&columns, &y, &found, self.settings, RESAMPLES, &mut rng);
                let accepted = found.accepted;
                // Points, not PRIM's rows: the cases found are renumbered as points.
                let found = Found {
                    members: found.members.iter().map(|&r| valued[r]).collect(),
                    searched: found.searched.iter().map(|&r| valued[r]).collect(),
                    ..found
                };
                boxes.push(Discovered { found, reproduced });
                if !accepted {
                    break;
                }
            }
        }
        let s = self.base().settings;
        Discovery {
            parameters: self.parameters.clone(),
            design: self.design,
            goal: self.goal.clone(),
            points,
            cases,
            settings: self.settings,
            boxes,
            runs: s.runs,
            seed: s.seed,
        }
    }
}
