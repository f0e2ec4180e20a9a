//! Exploring a space of scenarios: the parameters of `--vary`, checked against the scenario
//! before anything runs, and their points evaluated with common random numbers. Shared by
//! sweeps ([`super::sweep`]) and sensitivity analyses ([`super::sensitivity`]).

use serde::{Deserialize, Serialize};

use super::batch::{Batch, Evaluation};
use super::collect::{Outcomes, SavedOutcomes};
use super::design::{parse_vary, Parameter, Spec};
use super::shard::{Layout, Part, Piece};
use crate::diag::{Diagnostic, Error};
use crate::ensemble::canonical::Mismatch;
use crate::ensemble::{Controls, Workload, Workspace};
use crate::model::Model;
use crate::stats::Estimate;

/// The parameters of `--vary` arguments, each path checked against the scenario (with a "did
/// you mean"), its values whole numbers where the path takes them, and each of its extreme
/// values checked alone against the scenario's rules (a range outside what the path accepts
/// says what it accepts). No `--vary` is an error.
pub fn parameters(batch: &Batch, varies: &[String]) -> Result<Vec<Parameter>, Error> {
    if varies.is_empty() {
        return Err(Error::Usage(
            "nothing to vary: add --vary PATH=SPEC, e.g. --vary lever.citergie.intensity=0..2:5"
                .into(),
        ));
    }
    let mut parameters = Vec::new();
    let mut diagnostics = Vec::new();
    for text in varies {
        match parse_vary(text) {
            Ok((path, spec)) => parameters.push((path, spec)),
            Err(d) => diagnostics.push(d),
        }
    }
    if !diagnostics.is_empty() {
        return Err(Error::arguments(diagnostics));
    }
    let mut checked = Vec::new();
    for (path, spec) in parameters {
        if checked.iter().any(|p: &Parameter| p.path == path) {
            return Err(Error::Usage(format!(
                "`{path}` is varied twice: give one --vary per path"
            )));
        }
        let integer = crate::model::set::whole_numbers(batch.loaded(), &path, "--vary")
            .map_err(|e| with_note(e, format!("--vary {path}: this path cannot be varied")))?;
        if integer {
            if let Spec::Levels { values } = &spec {
                if let Some(x) = values.iter().find(|x| x.fract() != 0.0) {
                    return Err(Error::Usage(format!(
                        "--vary {path}: this path takes whole numbers, and {x} is not one; give whole values (e.g. a list 12,24,36)"
                    )));
                }
            }
        }
        let parameter = Parameter {
            path,
            spec,
            integer,
        };
        let (low, high) = parameter.bounds();
        for x in [low, high] {
            if let Err(e) = batch.point(&[parameter.set(x)]) {
                return Err(with_note(
                    e,
                    format!(
                        "--vary {}: the value {x} is not allowed (the other values as in the file)",
                        parameter.path
                    ),
                ));
            }
        }
        checked.push(parameter);
    }
    Ok(checked)
}

/// `e` with a first line saying what it was about.
pub fn with_note(e: Error, note: String) -> Error {
    match e {
        Error::Invalid {
            mut diagnostics,
            sources,
        } => {
            diagnostics.insert(0, Diagnostic::note(note));
            Error::Invalid {
                diagnostics,
                sources,
            }
        }
        other => other,
    }
}

/// The overrides of a point: each parameter set to its value.
pub fn sets(parameters: &[Parameter], values: &[f64]) -> Vec<String> {
    parameters
        .iter()
        .zip(values)
        .map(|(p, &x)| p.set(x))
        .collect()
}

/// Checks every point before any is simulated; an invalid one is reported with its values.
pub fn check_points(
    batch: &Batch,
    parameters: &[Parameter],
    points: &[Vec<f64>],
) -> Result<(), Error> {
    batch
        .check(points.len(), &|i| sets(parameters, &points[i]))
        .map_err(|(i, e)| {
            with_note(
                e,
                format!(
                    "point {} of the design ({}) makes the scenario invalid",
                    i + 1,
                    sets(parameters, &points[i]).join(", ")
                ),
            )
        })
}

/// One point's estimates.
#[derive(Debug, Clone, Serialize)]
pub struct PointEstimates {
    /// The parameters' values.
    pub values: Vec<f64>,
    /// Each outcome's estimate and 95% interval.
    pub estimates: Vec<Estimate>,
    /// Each estimate's variance from run-to-run randomness alone.
    #[serde(skip)]
    pub noise: Vec<f64>,
}

/// Every point whole: all its runs.
pub fn whole(batch: &Batch, parameters: &[Parameter], points: &[Vec<f64>]) -> Vec<Piece> {
    batch
        .runs(points.len(), &|i| sets(parameters, &points[i]))
        .into_iter()
        .enumerate()
        .map(|(point, r)| Piece { point, runs: 0..r })
        .collect()
}

/// A point's estimates from its outcomes' sums.
pub fn estimates_of(values: &[f64], outcomes: &Outcomes) -> PointEstimates {
    PointEstimates {
        values: values.to_vec(),
        estimates: outcomes.estimates(),
        noise: outcomes.noise_variances(),
    }
}

/// Evaluates every point, in order (see [`Batch::evaluate`]); `Ok(None)` if cancelled.
/// The points of an exploration: a batch, its parameters, and their values at each point.
#[derive(Debug, Clone, Copy)]
pub struct Points<'w> {
    /// The scenario evaluated.
    pub batch: &'w Batch,
    /// The varied parameters.
    pub parameters: &'w [Parameter],
    /// Each point's values.
    pub values: &'w [Vec<f64>],
}

/// The outcomes' sums of pieces of points, in point order.
#[derive(Debug, Clone)]
pub struct PointSums {
    /// Each piece and its sums.
    pub pieces: Vec<(Piece, Outcomes)>,
}

/// One piece's saved sums.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPiece {
    /// The point, from 0.
    pub point: usize,
    /// Its first run.
    pub first: u64,
    /// Its runs.
    pub count: u64,
    /// The outcomes' sums over them.
    pub outcomes: SavedOutcomes,
}

/// The saved sums of pieces of points (a shard's payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPoints {
    /// The pieces, in point order.
    pub pieces: Vec<SavedPiece>,
}

impl<'w> Points<'w> {
    /// The scenario as given (no point's overrides).
    pub fn base(&self) -> &'w Model {
        self.batch.base()
    }

    /// The work of every point, for the up-front refusal of long work.
    pub fn workload(&self, threads: usize) -> Workload {
        self.batch.workload(self.values.len(), threads)
    }

    /// Checks every point against the scenario's rules (before anything runs).
    pub fn check(&self) -> Result<(), Error> {
        check_points(self.batch, self.parameters, self.values)
    }

    /// Every point's runs.
    pub fn layout(&self) -> Layout {
        Layout::Points(
            whole(self.batch, self.parameters, self.values)
                .into_iter()
                .map(|p| p.runs.end)
                .collect(),
        )
    }

    /// Evaluates `part`'s pieces of the points; `Ok(None)` if cancelled.
    pub fn gather(
        &self,
        part: &Part,
        workspace: &Workspace,
        controls: &Controls<'_>,
    ) -> Result<Option<PointSums>, Error> {
        let Part::Pieces(pieces) = part else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(pieces.len());
        let mut emit = |e: Evaluation| out.push(e.outcomes.compact());
        let done = self.batch.evaluate(
            pieces,
            &|i| sets(self.parameters, &self.values[i]),
            &mut emit,
            workspace,
            controls,
        )?;
        Ok(done.map(|()| PointSums {
            pieces: pieces.iter().cloned().zip(out).collect(),
        }))
    }

    /// The empty outcomes' sums of point `point`.
    fn empty_outcomes(&self, point: usize) -> Result<Outcomes, Mismatch> {
        let values = self.values.get(point).ok_or_else(|| {
            Mismatch(format!(
                "it holds point {}, which the design has not",
                point + 1
            ))
        })?;
        let (model, outcomes) = self
            .batch
            .point(&sets(self.parameters, values))
            .map_err(|_| Mismatch(format!("its point {} cannot be simulated", point + 1)))?;
        Ok(Outcomes::new(
            &crate::engine::Engine::new(&model),
            &outcomes,
        ))
    }

    /// Checks that saved pieces are `part`'s, each with sums of its outcomes and runs.
    pub fn check_saved(&self, part: &Part, saved: &SavedPoints) -> Result<(), Mismatch> {
        let Part::Pieces(expected) = part else {
            return Err(Mismatch("not a batch".into()));
        };
        if saved.pieces.len() != expected.len() {
            return Err(Mismatch(format!(
                "it holds {} pieces of points where its part has {}",
                saved.pieces.len(),
                expected.len()
            )));
        }
        for (piece, mine) in saved.pieces.iter().zip(expected) {
            if (piece.point, piece.first, piece.count)
                != (mine.point, mine.runs.start, mine.runs.end - mine.runs.start)
            {
                return Err(Mismatch("its pieces are not those of its part".into()));
            }
            self.empty_outcomes(piece.point)?
                .loaded(piece.outcomes.clone())?;
            piece.outcomes.has_runs(piece.count)?;
        }
        Ok(())
    }

    /// The saved form of pieces' sums.
    pub fn save(sums: PointSums) -> SavedPoints {
        SavedPoints {
            pieces: sums
                .pieces
                .into_iter()
                .map(|(piece, outcomes)| SavedPiece {
                    point: piece.point,
                    first: piece.runs.start,
                    count: piece.runs.end - piece.runs.start,
                    outcomes: outcomes.saved(),
                })
                .collect(),
        }
    }

    /// Adds `part`'s pieces to `sum`'s: a piece that continues a point's last one (its runs
    /// follow on) is added to it.
    pub fn add(sum: &mut SavedPoints, part: SavedPoints) -> Result<(), Mismatch> {
        for piece in part.pieces {
            match sum.pieces.last_mut() {
                Some(last) if last.point == piece.point => {
                    if piece.first != last.first + last.count {
                        return Err(Mismatch(format!(
                            "point {}'s runs are not given once each",
                            piece.point + 1
                        )));
                    }
                    last.outcomes.add(&piece.outcomes)?;
                    last.count += piece.count;
                }
                Some(last) if last.point > piece.point => {
                    return Err(Mismatch("the pieces are not in point order".into()))
                }
                _ => sum.pieces.push(piece),
            }
        }
        Ok(())
    }

    /// Every point's whole sums from their saved form, each point covered exactly.
    pub fn load(&self, saved: SavedPoints) -> Result<PointSums, Mismatch> {
        let Layout::Points(runs) = self.layout() else {
            return Err(Mismatch("not a batch".into()));
        };
        if saved.pieces.len() != runs.len() {
            return Err(Mismatch("a point has no runs".into()));
        }
        let mut pieces = Vec::with_capacity(runs.len());
        for (point, (piece, &count)) in saved.pieces.into_iter().zip(&runs).enumerate() {
            if piece.point != point || piece.first != 0 || piece.count != count {
                return Err(Mismatch(format!(
                    "point {} is not covered once by the shards",
                    point + 1
                )));
            }
            let outcomes = self.empty_outcomes(point)?.loaded(piece.outcomes)?;
            pieces.push((
                Piece {
                    point,
                    runs: 0..count,
                },
                outcomes,
            ));
        }
        Ok(PointSums { pieces })
    }

    /// Every point's estimates, in point order, from the sums of whole points.
    pub fn estimates(&self, sums: &PointSums) -> Vec<PointEstimates> {
        sums.pieces
            .iter()
            .map(|(piece, outcomes)| estimates_of(&self.values[piece.point], outcomes))
            .collect()
    }
}
