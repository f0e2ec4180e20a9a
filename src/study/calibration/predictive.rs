//! The posterior predictive: futures drawn from the calibrated model — each from a posterior
//! particle, one run each — so that parameter uncertainty and run-to-run spread both show.
//! Their quantiles month by month make the fit plot's fan; each observation's 90% predictive
//! interval (the futures plus its observation error) says whether the fit reproduces it.

use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::work::Work;
use crate::engine::Engine;
use crate::ensemble::{Controls, Workspace};
use crate::stats::quantile;
use crate::study::observed::Observable;

/// Most futures drawn.
pub const DRAWS: usize = 400;

/// The quantiles the fan shows.
pub const LEVELS: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// One observed index's fan.
#[derive(Debug, Clone, PartialEq)]
pub struct Fan {
    /// The index as the observed file names it.
    pub name: String,
    /// Its quantiles ([`LEVELS`]) at each month 0..=horizon: `quantiles[level][month]`.
    pub quantiles: Vec<Vec<f64>>,
    /// The observations of this index (their places in the file's order).
    pub observations: Vec<usize>,
}

/// The posterior predictive of a calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictive {
    /// Futures drawn.
    pub draws: usize,
    /// One fan per observed index, in order of first appearance.
    pub fans: Vec<Fan>,
    /// Each observation's 90% predictive interval (futures plus observation error).
    pub intervals: Vec<(f64, f64)>,
    /// Observations inside their interval.
    pub inside: usize,
}

/// Draws the futures of particles `values` (at most [`DRAWS`], evenly spread over them), on
/// runs after those of evaluation `first` (runs first·R …); `None` if cancelled.
pub fn draw(
    work: &Work,
    values: &[Vec<f64>],
    first: u64,
    rng: &mut ChaCha8Rng,
    workspace: &Workspace,
    controls: &Controls<'_>,
) -> Option<Predictive> {
    let observations = work.observations();
    let mut fans: Vec<Fan> = Vec::new();
    let mut keys: Vec<(usize, Observable)> = Vec::new();
    for (j, o) in observations.iter().enumerate() {
        let key = (o.territory, o.observable);
        match keys.iter().position(|k| *k == key) {
            Some(f) => fans[f].observations.push(j),
            None => {
                keys.push(key);
                fans.push(Fan {
                    name: o.name.clone(),
                    quantiles: Vec::new(),
                    observations: vec![j],
                });
            }
        }
    }
    let draws = values.len().min(DRAWS);
    let months = work.base().horizon() as usize + 1;
    let base_run = first * work.settings().runs;
    let seed = work.settings().seed;
    // Each future: every fan's index at every month, fan by fan.
    let futures: Option<Vec<Vec<f64>>> = (0..draws)
        .into_par_iter()
        .map(|i| {
            let particle = &values[i * values.len() / draws];
            let mut out = vec![f64::NAN; keys.len() * months];
            let Some(model) = work.model_at(particle) else {
                return Some(out);
            };
            let engine = Engine::new(&model);
            let mut block = workspace.block(&engine);
            let mut stopped = false;
            engine.run_block(seed, base_run + i as u64, 1, &mut block, |t, b| {
                for (f, (territory, observable)) in keys.iter().enumerate() {
                    let at = f * months + t as usize;
                    observable.write(&engine, *territory, b, &mut out[at..at + 1]);
                }
                stopped = controls.cancelled();
                !stopped
            });
            workspace.keep_block(&engine, block);
            (!stopped).then_some(out)
        })
        .collect();
    let futures = futures?;
    let mut column = Vec::with_capacity(draws);
    for (f, fan) in fans.iter_mut().enumerate() {
        fan.quantiles = vec![vec![0.0; months]; LEVELS.len()];
        for t in 0..months {
            column.clear();
            column.extend(
                futures
                    .iter()
                    .map(|x| x[f * months + t])
                    .filter(|x| x.is_finite()),
            );
            column.sort_by(f64::total_cmp);
            for (l, &q) in LEVELS.iter().enumerate() {
                fan.quantiles[l][t] = quantile(&column, q);
            }
        }
    }
    // Each observation's predictive interval: the futures at its month plus its error.
    let assumed = work.settings().assumed_sd;
    let mut intervals = vec![(f64::NAN, f64::NAN); observations.len()];
    let mut inside = 0;
    for (f, fan) in fans.iter().enumerate() {
        for &j in &fan.observations {
            let o = &observations[j];
            let sd = o.sd.unwrap_or(assumed);
            column.clear();
            for x in &futures {
                let v = x[f * months + o.month as usize];
                let noise = crate::random::draw::normal(rng);
                if v.is_finite() {
                    column.push(v + sd * noise);
                }
            }
            column.sort_by(f64::total_cmp);
            let (lo, hi) = (quantile(&column, 0.05), quantile(&column, 0.95));
            intervals[j] = (lo, hi);
            if o.value >= lo && o.value <= hi {
                inside += 1;
            }
        }
    }
    Some(Predictive {
        draws,
        fans,
        intervals,
        inside,
    })
}
