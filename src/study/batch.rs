//! Batch evaluation: one scenario, loaded and resolved once, evaluated at many points — each a
//! set of `--set` overrides on top of the command line's — with common random numbers (the
//! same seed and run indices at every point), outcomes only, results handed out in point order
//! as they finish, with memory that does not depend on the number of points. Sweeps,
//! sensitivity analyses and calibrations are built on it.
//!
//! A point's estimates are exactly those `compare` gives a variant with the same overrides
//! (only `simulation.*` paths differ: a point keeps the runs, seed or substeps it sets).

use rayon::prelude::*;

use super::collect::{gather, Outcomes};
use super::outcome::{parse_outcomes, Outcome};
use super::shard::Piece;
use crate::diag::Error;
use crate::ensemble::{each, Controls, Workload, Workspace};
use crate::model::{Model, Overrides};
use crate::scenario::Loaded;

/// A scenario to evaluate at many points, and the outcomes to gather at each.
#[derive(Debug, Clone)]
pub struct Batch {
    loaded: Loaded,
    overrides: Overrides,
    outcome_texts: Vec<String>,
    /// The scenario as given (no point's overrides).
    base: Model,
}

/// What one point gave (or some of its runs: a shard's piece of it).
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The point's index.
    pub point: usize,
    /// The runs simulated.
    pub runs: std::ops::Range<u64>,
    /// The model simulated (the base with the point's overrides).
    pub model: Model,
    /// Its outcomes' sums (estimates: [`Outcomes::estimates`]).
    pub outcomes: Outcomes,
}

impl Batch {
    /// A batch of `loaded` with the command line's `overrides`, gathering `outcome_texts`
    /// (each checked against the scenario now).
    pub fn new(
        loaded: Loaded,
        overrides: Overrides,
        outcome_texts: &[String],
    ) -> Result<Batch, Error> {
        let base = overrides.model(&loaded)?;
        let parsed = parse_outcomes(outcome_texts, &base, None).map_err(Error::arguments)?;
        Ok(Batch {
            loaded,
            overrides,
            // Normalised (`@end` written as the month), as the outputs show them.
            outcome_texts: parsed.into_iter().map(|o| o.text).collect(),
            base,
        })
    }

    /// The scenario as given, without any point's overrides.
    pub fn base(&self) -> &Model {
        &self.base
    }

    /// The scenario as loaded (before any override).
    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }

    /// The command line's overrides.
    pub fn overrides(&self) -> &Overrides {
        &self.overrides
    }

    /// The outcomes, normalised (`@end` written as the month).
    pub fn outcome_texts(&self) -> &[String] {
        &self.outcome_texts
    }

    /// The model and outcomes of a point: the scenario with the command line's overrides, then
    /// the point's (`sets`, applied after them and shown in messages as `--vary`), validated.
    pub fn point(&self, sets: &[String]) -> Result<(Model, Vec<Outcome>), Error> {
        let model = self.overrides.model_varied(&self.loaded, sets, "--vary")?;
        let outcomes =
            parse_outcomes(&self.outcome_texts, &model, None).map_err(Error::arguments)?;
        Ok((model, outcomes))
    }

    /// Checks every point (`points(i)` for i in 0..n) before any is simulated, in parallel, and
    /// returns the first invalid one's error with its index.
    pub fn check(
        &self,
        n: usize,
        points: &(dyn Fn(usize) -> Vec<String> + Sync),
    ) -> Result<(), (usize, Error)> {
        match (0..n)
            .into_par_iter()
            .find_first(|&i| self.point(&points(i)).is_err())
        {
            None => Ok(()),
            Some(i) => match self.point(&points(i)) {
                Err(e) => Err((i, e)),
                Ok(_) => Ok(()),
            },
        }
    }

    /// The work of `n` points of the base's size (for the up-front refusal of long work).
    pub fn workload(&self, n: usize, threads: usize) -> Workload {
        let runs = self.base.settings.runs.saturating_mul(n as u64);
        Workload::of(&self.base, runs, 1, threads, false)
    }

    /// Every point's runs: the base's, unless a point sets `simulation.runs` itself.
    pub fn runs(&self, n: usize, points: &(dyn Fn(usize) -> Vec<String> + Sync)) -> Vec<u64> {
        let base = self.base.settings.runs;
        (0..n)
            .into_par_iter()
            .map(|i| {
                let sets = points(i);
                if sets
                    .iter()
                    .any(|s| s.trim_start().starts_with("simulation.runs"))
                {
                    self.point(&sets).map_or(base, |(m, _)| m.settings.runs)
                } else {
                    base
                }
            })
            .collect()
    }

    /// Evaluates the pieces of points given (`points(i)`: point i's overrides, which
    /// [`Batch::check`] has accepted; a piece: some of a point's runs, or all of them) and
    /// gives each one's [`Evaluation`] to `emit` in the pieces' order as they finish. Progress
    /// counts pieces. `Ok(None)` if cancelled.
    pub fn evaluate(
        &self,
        pieces: &[Piece],
        points: &(dyn Fn(usize) -> Vec<String> + Sync),
        emit: &mut (dyn FnMut(Evaluation) + Send),
        workspace: &Workspace,
        controls: &Controls<'_>,
    ) -> Result<Option<()>, Error> {
        let runs = |i: usize| pieces[i].runs.end - pieces[i].runs.start;
        let job = |i: usize, threads: usize, inner: &Controls<'_>| {
            let piece = &pieces[i];
            // Checked up front: a point that fails now is reported as one that cannot run.
            let (model, outcomes) = self.point(&points(piece.point)).ok()?;
            let outcomes = gather(
                &model,
                &outcomes,
                piece.runs.clone(),
                threads,
                workspace,
                inner,
            )?;
            Some(Evaluation {
                point: piece.point,
                runs: piece.runs.clone(),
                model,
                outcomes,
            })
        };
        let mut emit_one = |_: usize, e: Evaluation| emit(e);
        let done = each(pieces.len(), &runs, &job, &mut emit_one, controls);
        if done.is_none() && !controls.cancelled() {
            // A job gave nothing without being cancelled: a point that was not checked.
            return Err(Error::Usage(
                "a point of the batch could not be evaluated: check the points first (Batch::check)"
                    .into(),
            ));
        }
        Ok(done)
    }
}
