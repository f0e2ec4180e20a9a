//! Paired comparisons: a base scenario against other files and what-if variants, every one
//! stepped on the same run indices and seed in lockstep (common random numbers), so that each
//! outcome's difference is estimated from the runs' paired differences.

use std::ops::Range;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::collect::{outcome_scale, OutcomeSums, Outcomes, SavedOutcomes};
use super::hypothesis::{Hypothesis, Tested};
use super::outcome::{default_outcomes, parse_outcomes, Outcome};
use crate::diag::Error;
use crate::engine::{Block, Engine};
use crate::ensemble::canonical::{Aggregates, Mismatch};
use crate::ensemble::{
    aggregate, merged, Accumulator, Aggregate, Controls, EachScenario, Ensemble, Results,
    Workspace, LOG_RUNS,
};
use crate::model::{Model, Overrides};
use crate::stats::Estimate;

/// One scenario of a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Its name in tables and legends.
    pub name: String,
    /// Its outcome estimates, in the order of [`Comparison::outcomes`].
    pub estimates: Vec<Estimate>,
    /// Paired differences with the base (absent for the base).
    pub differences: Option<Vec<Estimate>>,
}

/// The result of a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Outcomes compared (as text).
    pub outcomes: Vec<String>,
    /// The base first, then each file and variant.
    pub scenarios: Vec<Entry>,
    /// Runs per scenario.
    pub runs: u64,
    /// Master seed shared by every scenario.
    pub seed: u64,
    /// Each scenario's full results (for plots), when asked for.
    #[serde(skip)]
    pub results: Option<Vec<Results>>,
    /// Each other scenario's paired differences with the base, month by month, when full
    /// results are asked for: `series[s - 1]`.
    #[serde(skip)]
    pub series: Option<Vec<SeriesDifferences>>,
}

impl Comparison {
    /// The verdicts on `hypotheses` in scenario `s`, from its estimates; a hypothesis whose
    /// outcome was not compared is left out.
    pub fn tested(&self, hypotheses: &[Hypothesis], s: usize) -> Vec<Tested> {
        hypotheses
            .iter()
            .filter_map(|h| {
                let o = self.outcomes.iter().position(|o| *o == h.outcome.text)?;
                Some(Tested::new(h.clone(), self.scenarios[s].estimates[o]))
            })
            .collect()
    }
}

/// The paired difference (scenario − base) of a quantity month by month, with its 95% interval.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Difference {
    /// Mean paired difference, month 0..=horizon.
    pub estimate: Vec<f64>,
    /// Lower end of the 95% t-interval.
    pub low: Vec<f64>,
    /// Upper end.
    pub high: Vec<f64>,
}

/// One scenario's paired differences with the base, per territory.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesDifferences {
    /// Per territory: stabilisation, perpetuation (1 alive, 0 not), scale.
    pub territories: Vec<[Difference; 3]>,
}

/// The quantities [`PairedSeries`] follows, in the order of [`SeriesDifferences`].
pub const FOLLOWED: [&str; 3] = ["stabilisation", "perpetuation", "scale"];

/// Parses `NAME: PATH=VALUE, PATH=VALUE`.
pub fn variant(text: &str) -> Result<(String, Vec<String>), Error> {
    let Some((name, sets)) = text.split_once(':') else {
        return Err(Error::Usage(format!(
            "--variant \"{text}\": write a name, a colon and overrides, e.g. \"no election: shock.municipal-election.probability=0\""
        )));
    };
    let sets: Vec<String> = sets
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if name.trim().is_empty() || sets.is_empty() {
        return Err(Error::Usage(format!(
            "--variant \"{text}\" needs a name and at least one PATH=VALUE"
        )));
    }
    Ok((name.trim().to_string(), sets))
}

/// A comparison ready to run: every scenario loaded and checked, its outcomes parsed.
#[derive(Debug, Clone)]
pub struct Work {
    /// Names, base first.
    pub names: Vec<String>,
    /// Models, base first, all with the base's settings.
    pub models: Vec<Model>,
    /// Each model's outcomes (the same texts, in the same order).
    pub outcomes: Vec<Vec<Outcome>>,
}

impl Work {
    /// Loads the base `files[0]`, the other files and the variants (`NAME: PATH=VALUE, ...`)
    /// of the base, all with the base's runs, seed and substeps, and parses the outcomes
    /// (default: [`default_outcomes`] of the base) against each. Every scenario must have the
    /// base's horizon: runs are paired month by month.
    pub fn new(
        files: &[PathBuf],
        variants: &[String],
        outcome_texts: &[String],
        overrides: &Overrides,
    ) -> Result<Work, Error> {
        let base_path = &files[0];
        let base = overrides.load(base_path)?;
        let mut names = vec![base.name.clone()];
        let mut models = vec![base.clone()];
        for file in &files[1..] {
            let mut o = overrides.clone();
            o.runs = Some(base.settings.runs);
            o.seed = Some(base.settings.seed);
            o.substeps = Some(base.settings.substeps);
            let m = o.load(file)?;
            let name = if names.contains(&m.name) {
                file.display().to_string()
            } else {
                m.name.clone()
            };
            names.push(name);
            models.push(m);
        }
        let loaded = crate::scenario::load(base_path)?;
        for v in variants {
            let (name, sets) = variant(v)?;
            let mut o = overrides.clone();
            o.sets.extend(sets);
            names.push(name);
            models.push(o.model(&loaded)?);
        }
        Work::of(names, models, outcome_texts)
    }

    /// A comparison of `models` (the base first) named `names`: every model takes the base's
    /// settings, must have its horizon, and `outcome_texts` (default: [`default_outcomes`] of
    /// the base) are parsed against each.
    pub fn of(
        names: Vec<String>,
        mut models: Vec<Model>,
        outcome_texts: &[String],
    ) -> Result<Work, Error> {
        let base = models[0].clone();
        for m in &mut models[1..] {
            m.settings = base.settings;
        }
        for (m, name) in models.iter().zip(&names).skip(1) {
            if m.horizon() != base.horizon() {
                return Err(Error::Usage(format!(
                    "`{name}` simulates {} months but the base `{}` {}: compare scenarios with the same horizon (runs are paired month by month)",
                    m.horizon(),
                    names[0],
                    base.horizon()
                )));
            }
        }
        let texts = if outcome_texts.is_empty() {
            default_outcomes(&base)
        } else {
            outcome_texts.to_vec()
        };
        let mut outcomes = Vec::new();
        let mut diagnostics = Vec::new();
        for (m, name) in models.iter().zip(&names) {
            match parse_outcomes(&texts, m, Some(name)) {
                Ok(list) => outcomes.push(list),
                Err(d) => diagnostics.extend(d),
            }
        }
        if !diagnostics.is_empty() {
            return Err(Error::arguments(diagnostics));
        }
        Ok(Work {
            names,
            models,
            outcomes,
        })
    }

    /// Runs the comparison: every scenario on the base's runs and seed, with each one's full
    /// results too when `with_results` (for plots). `None` if cancelled.
    pub fn run(
        &self,
        with_results: bool,
        workspace: &Workspace,
        controls: &Controls<'_>,
    ) -> Option<Comparison> {
        let runs = 0..self.models[0].settings.runs;
        let sums = self.gather(with_results, runs, workspace, controls)?;
        Some(self.finish(sums))
    }

    /// The engines of the scenarios, base first.
    fn engines(&self) -> Vec<Engine> {
        self.models.iter().map(Engine::new).collect()
    }

    /// Empty sums of the comparison (to read saved ones into).
    pub fn empty(&self, with_results: bool) -> Sums {
        self.empty_of(&self.engines(), with_results, self.models[0].settings.runs)
    }

    fn empty_of(&self, engines: &[Engine], with_results: bool, count: u64) -> Sums {
        let full = with_results.then(|| {
            EachScenario(
                engines
                    .iter()
                    .map(|e| Accumulator::new(e, count <= LOG_RUNS))
                    .collect(),
            )
        });
        Sums {
            paired: Paired::new(engines, &self.outcomes),
            full,
            series: with_results.then(|| PairedSeries::new(engines)),
        }
    }

    /// Simulates `runs` of every scenario (all of them, or a shard's) into their sums. `None`
    /// if cancelled.
    pub fn gather(
        &self,
        with_results: bool,
        runs: Range<u64>,
        workspace: &Workspace,
        controls: &Controls<'_>,
    ) -> Option<Sums> {
        let engines = self.engines();
        let settings = self.models[0].settings;
        let count = runs.end - runs.start;
        let ensemble = Ensemble::new(&engines, settings.seed, runs.start, count);
        let make = || {
            let full = with_results.then(|| {
                EachScenario(
                    engines
                        .iter()
                        .map(|e| workspace.accumulator(e, count <= LOG_RUNS))
                        .collect(),
                )
            });
            let series = with_results.then(|| PairedSeries::new(&engines));
            ((Paired::new(&engines, &self.outcomes), full), series)
        };
        let threads = rayon::current_num_threads();
        let parts = aggregate(&ensemble, &make, workspace, controls, threads)?;
        let ((paired, full), series) = merged(parts, workspace)?;
        Some(Sums {
            paired,
            full,
            series,
        })
    }

    /// The comparison its scenarios' sums give.
    pub fn finish(&self, sums: Sums) -> Comparison {
        let Sums {
            paired,
            full,
            series,
        } = sums;
        let settings = self.models[0].settings;
        let scenarios = self
            .names
            .iter()
            .enumerate()
            .map(|(s, name)| Entry {
                name: name.clone(),
                estimates: paired.scenarios[s].estimates(),
                differences: (s > 0).then(|| {
                    (0..self.outcomes[0].len())
                        .map(|o| paired.difference(s, o))
                        .collect()
                }),
            })
            .collect();
        let results = full.map(|EachScenario(accs)| {
            accs.iter()
                .zip(&self.models)
                .map(|(a, m)| a.results(m, 0.0))
                .collect()
        });
        Comparison {
            outcomes: self.outcomes[0].iter().map(|o| o.text.clone()).collect(),
            scenarios,
            runs: settings.runs,
            seed: settings.seed,
            results,
            series: series.map(|s| s.differences()),
        }
    }

    /// The sums of the comparison from their saved form, checked against its shape; with the
    /// full results only when `with_results` (refused if they are not there).
    pub fn load(&self, saved: SavedComparison, with_results: bool) -> Result<Sums, Mismatch> {
        let engines = self.engines();
        let mut sums = self.empty_of(&engines, with_results, self.models[0].settings.runs);
        if saved.scenarios.len() != sums.paired.scenarios.len()
            || saved.differences.len() != sums.paired.differences.len()
        {
            return Err(Mismatch(
                "it holds another number of scenarios than the comparison's".into(),
            ));
        }
        let runs = saved.scenarios.first().map_or(0, |s| s.runs);
        for (s, theirs) in sums.paired.scenarios.iter_mut().zip(saved.scenarios) {
            if theirs.runs != runs {
                return Err(Mismatch("its scenarios have different runs".into()));
            }
            *s = s.clone().loaded(theirs)?;
        }
        for (mine, theirs) in sums.paired.differences.iter_mut().zip(saved.differences) {
            if mine.len() != theirs.len() || theirs.iter().any(|d| d.n > runs) {
                return Err(Mismatch("its paired differences do not fit".into()));
            }
            *mine = theirs;
        }
        if with_results {
            let (Some(EachScenario(accs)), Some(full)) = (&mut sums.full, saved.full) else {
                return Err(Mismatch(
                    "it was made with --no-plots and holds no full results: merge with --no-plots, or run it again without".into(),
                ));
            };
            if full.len() != accs.len() {
                return Err(Mismatch("its full results do not fit".into()));
            }
            for ((acc, engine), saved) in accs.iter_mut().zip(&engines).zip(full) {
                saved.check()?;
                if saved.runs != runs {
                    return Err(Mismatch("its full results have other runs".into()));
                }
                *acc = saved.accumulator(engine)?;
            }
            let (Some(series), Some(theirs)) = (&mut sums.series, saved.series) else {
                return Err(Mismatch("its paired series are missing".into()));
            };
            series.load(theirs, runs)?;
        }
        Ok(sums)
    }
}

/// The saved form of a comparison's sums (a shard's payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedComparison {
    /// Each scenario's outcomes.
    pub scenarios: Vec<SavedOutcomes>,
    /// `differences[s - 1][o]`.
    pub differences: Vec<Vec<OutcomeSums>>,
    /// Each scenario's full results, when kept for plots.
    pub full: Option<Vec<Aggregates>>,
    /// The paired series, in order, when kept for plots.
    pub series: Option<Vec<OutcomeSums>>,
}

impl SavedComparison {
    /// The runs these sums are of.
    pub fn runs(&self) -> u64 {
        self.scenarios.first().map_or(0, |s| s.runs)
    }

    /// Adds another's sums (of the same comparison, other runs).
    pub fn add(&mut self, other: SavedComparison) -> Result<(), Mismatch> {
        let shape = |c: &SavedComparison| {
            (
                c.scenarios.len(),
                c.differences.iter().map(Vec::len).collect::<Vec<_>>(),
                c.full.as_ref().map(Vec::len),
                c.series.as_ref().map(Vec::len),
            )
        };
        if shape(self) != shape(&other) {
            return Err(Mismatch("the comparison's sums differ in shape".into()));
        }
        for (a, b) in self.scenarios.iter_mut().zip(&other.scenarios) {
            a.add(b)?;
        }
        for (a, b) in self
            .differences
            .iter_mut()
            .flatten()
            .zip(other.differences.iter().flatten())
        {
            a.add(b);
        }
        if let (Some(a), Some(b)) = (&mut self.full, &other.full) {
            for (a, b) in a.iter_mut().zip(b) {
                a.merge(b)?;
            }
        }
        if let (Some(a), Some(b)) = (&mut self.series, &other.series) {
            for (a, b) in a.iter_mut().zip(b) {
                a.add(b);
            }
        }
        Ok(())
    }
}

/// What a comparison's runs add up to: each scenario's outcomes and their paired differences,
/// and (for plots) every scenario's full results and paired series.
#[derive(Debug, Clone)]
pub struct Sums {
    paired: Paired,
    full: Option<EachScenario>,
    series: Option<PairedSeries>,
}

impl Sums {
    /// The runs these sums are of.
    pub fn runs(&self) -> u64 {
        self.paired.scenarios[0].runs()
    }

    /// Adds another's sums (of the same comparison, other runs).
    pub fn add(&mut self, other: Sums, workspace: &Workspace) {
        Aggregate::merge(&mut self.paired, other.paired, workspace);
        Aggregate::merge(&mut self.full, other.full, workspace);
        Aggregate::merge(&mut self.series, other.series, workspace);
    }

    /// The saved form of the sums.
    pub fn saved(&self) -> SavedComparison {
        SavedComparison {
            scenarios: self.paired.scenarios.iter().map(Outcomes::saved).collect(),
            differences: self.paired.differences.clone(),
            full: self
                .full
                .as_ref()
                .map(|EachScenario(accs)| accs.iter().map(Accumulator::canonical).collect()),
            series: self.series.as_ref().map(|s| s.all().cloned().collect()),
        }
    }
}

/// For every scenario but the base, every territory, and stabilisation, perpetuation and scale,
/// month by month: the sums of the runs' paired differences d (as (d + 1) / 2 ∈ [0, 1] in fixed
/// point), from which the mean difference and its interval are read.
#[derive(Debug, Clone)]
pub struct PairedSeries {
    /// `sums[s - 1][territory][quantity][month]`.
    sums: Vec<Vec<[Vec<OutcomeSums>; 3]>>,
    values: Vec<f64>,
}

impl PairedSeries {
    /// Empty sums for the scenarios of `engines` (the first the base).
    pub fn new(engines: &[Engine]) -> PairedSeries {
        let months = engines[0].horizon() as usize + 1;
        let territories = engines[0].territory_count();
        PairedSeries {
            sums: vec![
                vec![
                    std::array::from_fn(|_| vec![OutcomeSums::default(); months]);
                    territories
                ];
                engines.len() - 1
            ],
            values: Vec::with_capacity(crate::engine::LANES),
        }
    }

    /// The mean paired differences and their 95% intervals.
    pub fn differences(&self) -> Vec<SeriesDifferences> {
        let back = |x: f64| 2.0 * x - 1.0;
        self.sums
            .iter()
            .map(|scenario| SeriesDifferences {
                territories: scenario
                    .iter()
                    .map(|quantities| {
                        quantities.clone().map(|months| {
                            let mut d = Difference::default();
                            for s in &months {
                                let e = s.mean(1.0);
                                d.estimate.push(back(e.estimate));
                                d.low.push(back(e.low));
                                d.high.push(back(e.high));
                            }
                            d
                        })
                    })
                    .collect(),
            })
            .collect()
    }
}

impl PairedSeries {
    fn all(&self) -> impl Iterator<Item = &OutcomeSums> {
        self.sums.iter().flatten().flatten().flatten()
    }

    /// Puts saved sums (of `runs` runs) in place of these (empty, of the same shape).
    fn load(&mut self, saved: Vec<OutcomeSums>, runs: u64) -> Result<(), Mismatch> {
        if saved.len() != self.all().count() || saved.iter().any(|s| s.n > runs) {
            return Err(Mismatch("its paired series do not fit".into()));
        }
        for (mine, theirs) in self
            .sums
            .iter_mut()
            .flatten()
            .flatten()
            .flatten()
            .zip(saved)
        {
            *mine = theirs;
        }
        Ok(())
    }
}

impl Aggregate for PairedSeries {
    fn observe(&mut self, _: &[Engine], t: u32, blocks: &[Block], weight: u32) {
        let m = t as usize;
        let base = &blocks[0];
        for (s, block) in blocks.iter().enumerate().skip(1) {
            for (ti, quantities) in self.sums[s - 1].iter_mut().enumerate() {
                for (k, sums) in quantities.iter_mut().enumerate() {
                    self.values.clear();
                    match k {
                        0 => self.values.extend(
                            block
                                .stabilisation_index(ti)
                                .iter()
                                .zip(base.stabilisation_index(ti))
                                .map(|(x, y)| x - y),
                        ),
                        1 => {
                            self.values.extend(
                                block.alive(ti).iter().zip(base.alive(ti)).map(|(x, y)| {
                                    f64::from(u8::from(*x)) - f64::from(u8::from(*y))
                                }),
                            )
                        }
                        _ => self.values.extend(
                            block
                                .reach(ti)
                                .iter()
                                .zip(base.reach(ti))
                                .map(|(x, y)| x - y),
                        ),
                    }
                    sums[m].add_fixed(
                        self.values
                            .iter()
                            .map(|d| ((d + 1.0) / 2.0).clamp(0.0, 1.0)),
                        u64::from(weight),
                    );
                }
            }
        }
    }

    fn finish(&mut self, _: &[Engine], _: &[Block], _: u32) {}

    fn merge(&mut self, other: Self, _: &Workspace) {
        for (a, b) in self
            .sums
            .iter_mut()
            .flatten()
            .zip(other.sums.iter().flatten())
        {
            for (a, b) in a.iter_mut().zip(b) {
                for (a, b) in a.iter_mut().zip(b) {
                    a.add(b);
                }
            }
        }
    }
}

/// Each scenario's outcomes and, for every other scenario, the sums of its paired differences
/// with the base: per outcome and run, d = x_s − x_0 (runs where either has no value left out),
/// summed as (d / scale + 1) / 2 ∈ [0, 1] in fixed point.
#[derive(Debug, Clone)]
pub struct Paired {
    scenarios: Vec<Outcomes>,
    /// `differences[s - 1][o]`.
    differences: Vec<Vec<OutcomeSums>>,
    /// Per outcome, the largest scale over scenarios.
    scales: Vec<f64>,
    /// The base's per-lane values of one outcome.
    base: Vec<f64>,
}

impl Paired {
    /// Empty sums for `outcomes[s]` of each engine s (the same outcomes in the same order).
    pub fn new(engines: &[Engine], outcomes: &[Vec<Outcome>]) -> Paired {
        let n = outcomes[0].len();
        let scales = (0..n)
            .map(|o| {
                engines
                    .iter()
                    .zip(outcomes)
                    .map(|(e, os)| outcome_scale(&os[o], e))
                    .fold(f64::MIN_POSITIVE, f64::max)
            })
            .collect();
        Paired {
            scenarios: engines
                .iter()
                .zip(outcomes)
                .map(|(e, o)| Outcomes::new(e, o))
                .collect(),
            differences: vec![vec![OutcomeSums::default(); n]; engines.len() - 1],
            scales,
            base: Vec::new(),
        }
    }

    /// The mean paired difference (scenario s − the base) of outcome o, with its t-interval.
    pub fn difference(&self, s: usize, o: usize) -> Estimate {
        let u = self.differences[s - 1][o].mean(1.0);
        let scale = self.scales[o];
        let back = |x: f64| (2.0 * x - 1.0) * scale;
        Estimate {
            estimate: back(u.estimate),
            low: back(u.low),
            high: back(u.high),
            n: u.n,
        }
    }

    /// Adds the paired differences of every outcome known at month `t` (`None`: the end).
    fn pair(&mut self, engines: &[Engine], t: Option<u32>, blocks: &[Block], weight: u32) {
        let Paired {
            scenarios,
            differences,
            scales,
            base,
        } = self;
        let (first, others) = scenarios.split_at_mut(1);
        for (o, &scale) in scales.iter().enumerate() {
            let Some(values) = first[0].values_of(o, &engines[0], &blocks[0], t) else {
                continue;
            };
            base.clear();
            base.extend_from_slice(values);
            for (s, scenario) in others.iter_mut().enumerate() {
                let Some(values) = scenario.values_of(o, &engines[s + 1], &blocks[s + 1], t) else {
                    continue;
                };
                let pairs = values.iter().zip(base.iter());
                differences[s][o].add_fixed(
                    pairs
                        .filter(|(x, y)| !x.is_nan() && !y.is_nan())
                        .map(|(x, y)| (((x - y) / scale + 1.0) / 2.0).clamp(0.0, 1.0)),
                    u64::from(weight),
                );
            }
        }
    }
}

impl Aggregate for Paired {
    fn observe(&mut self, engines: &[Engine], t: u32, blocks: &[Block], weight: u32) {
        for ((s, e), b) in self.scenarios.iter_mut().zip(engines).zip(blocks) {
            s.observe_block(e, Some(t), b, weight);
        }
        self.pair(engines, Some(t), blocks, weight);
    }

    fn finish(&mut self, engines: &[Engine], blocks: &[Block], weight: u32) {
        for ((s, e), b) in self.scenarios.iter_mut().zip(engines).zip(blocks) {
            s.finish(std::slice::from_ref(e), std::slice::from_ref(b), weight);
        }
        self.pair(engines, None, blocks, weight);
    }

    fn merge(&mut self, other: Self, _: &Workspace) {
        for (a, b) in self.scenarios.iter_mut().zip(&other.scenarios) {
            a.add(b);
        }
        for (a, b) in self
            .differences
            .iter_mut()
            .flatten()
            .zip(other.differences.iter().flatten())
        {
            a.add(b);
        }
    }
}
