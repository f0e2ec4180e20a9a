//! Exploring a space of scenarios: the parameters of `--vary`, checked against the scenario
//! before anything runs, and their points evaluated with common random numbers. Shared by
//! sweeps ([`super::sweep`]) and sensitivity analyses ([`super::sensitivity`]).

use serde::Serialize;

use super::batch::{Batch, Evaluation};
use super::collect::Outcomes;
use super::design::{parse_vary, Parameter, Spec};
use super::shard::Piece;
use crate::diag::{Diagnostic, Error, Sources};
use crate::ensemble::{Controls, Workspace};
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
        return Err(Error::Invalid {
            diagnostics,
            sources: Sources::default(),
        });
    }
    let mut checked = Vec::new();
    for (path, spec) in parameters {
        if checked.iter().any(|p: &Parameter| p.path == path) {
            return Err(Error::Usage(format!(
                "`{path}` is varied twice: give one --vary per path"
            )));
        }
        let integer = crate::scenario::set::whole_numbers(batch.loaded(), &path, "--vary")
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
pub fn evaluate(
    batch: &Batch,
    parameters: &[Parameter],
    points: &[Vec<f64>],
    workspace: &Workspace,
    controls: &Controls<'_>,
) -> Result<Option<Vec<PointEstimates>>, Error> {
    let pieces = whole(batch, parameters, points);
    let mut out = Vec::with_capacity(points.len());
    let mut emit = |e: Evaluation| out.push(estimates_of(&points[e.point], &e.outcomes));
    let done = batch.evaluate(
        &pieces,
        &|i| sets(parameters, &points[i]),
        &mut emit,
        workspace,
        controls,
    )?;
    Ok(done.map(|()| out))
}

/// Evaluates a shard's pieces of the points, giving each piece's outcomes' sums in order;
/// `Ok(None)` if cancelled.
pub fn gather_pieces(
    batch: &Batch,
    parameters: &[Parameter],
    points: &[Vec<f64>],
    pieces: &[Piece],
    workspace: &Workspace,
    controls: &Controls<'_>,
) -> Result<Option<Vec<Outcomes>>, Error> {
    let mut out = Vec::with_capacity(pieces.len());
    let mut emit = |e: Evaluation| out.push(e.outcomes);
    let done = batch.evaluate(
        pieces,
        &|i| sets(parameters, &points[i]),
        &mut emit,
        workspace,
        controls,
    )?;
    Ok(done.map(|()| out))
}
