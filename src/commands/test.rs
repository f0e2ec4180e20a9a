//! `trajectoire test`: the hypotheses of a file and of `--expect`, each with its estimate,
//! interval and verdict.

use std::ops::Range;
use std::path::Path;

use super::{Controls, Simulation};
use crate::diag::{self, Diagnostic, Error, Sources};
use crate::ensemble::{Workload, Workspace};
use crate::model::Model;
use crate::study::collect::{gather, Outcomes};
use crate::study::hypothesis::{parse_hypothesis, Tested, Verdict};
use crate::study::outcome::Outcome;
use crate::study::Study;

/// The result of `trajectoire test`.
#[derive(Debug, Clone)]
pub struct TestReport {
    /// The model as simulated.
    pub model: Model,
    /// One row per hypothesis: the file's first, then `--expect`'s.
    pub rows: Vec<Tested>,
}

impl TestReport {
    /// Whether every hypothesis is supported.
    pub fn all_supported(&self) -> bool {
        self.rows.iter().all(|r| r.verdict == Verdict::Supported)
    }
}

/// Tests the hypotheses of a scenario file and those given as `expects` (`OUTCOME OP NUMBER`).
/// Returns `Ok(None)` when cancelled.
pub fn test(
    path: &Path,
    sim: &Simulation,
    expects: &[String],
    controls: &Controls<'_>,
) -> Result<Option<TestReport>, Error> {
    let study = prepare(path, sim, expects)?;
    if !sim.allow_long {
        workload(&study, sim).check()?;
    }
    let runs = 0..study.model.settings.runs;
    let Some(gathered) = sim.in_pool(|| gather_runs(&study, runs, &Workspace::new(), controls))?
    else {
        return Ok(None);
    };
    Ok(Some(verdicts(study, &gathered)))
}

/// The study of `test`: the scenario with the file's hypotheses, then `expects`'s.
pub fn prepare(path: &Path, sim: &Simulation, expects: &[String]) -> Result<Study, Error> {
    sim.check()?;
    let Study {
        model,
        mut hypotheses,
    } = Study::load(path, &sim.overrides)?;
    let default = (model.territories.len() == 1).then_some(0);
    let mut diagnostics = Vec::new();
    for text in expects {
        match parse_hypothesis(text, None, &model, default) {
            Ok(h) => hypotheses.push(h),
            Err(e) => diagnostics.push(Diagnostic {
                location: diag::Location::Expression {
                    argument: "--expect".into(),
                    text: text.clone(),
                    offset: e.offset,
                },
                message: e.message,
                help: e.help,
            }),
        }
    }
    if !diagnostics.is_empty() {
        return Err(Error::Invalid {
            diagnostics,
            sources: Sources::default(),
        });
    }
    if hypotheses.is_empty() {
        return Err(Error::Usage(
            "nothing to test: add [[hypothesis]] tables to the file or --expect \"perpetuation@end >= 0.7\"".into(),
        ));
    }
    Ok(Study { model, hypotheses })
}

/// The work of the whole test.
pub fn workload(study: &Study, sim: &Simulation) -> Workload {
    let model = &study.model;
    Workload::of(model, model.settings.runs, 1, sim.threads(), false)
}

/// The hypotheses' outcomes over `runs` (all of them, or a shard's), on the current pool.
pub fn gather_runs(
    study: &Study,
    runs: Range<u64>,
    workspace: &Workspace,
    controls: &Controls<'_>,
) -> Option<Outcomes> {
    let threads = rayon::current_num_threads();
    gather(
        &study.model,
        &outcomes(study),
        runs,
        threads,
        workspace,
        controls,
    )
}

/// The outcomes the hypotheses are about, in their order.
pub fn outcomes(study: &Study) -> Vec<Outcome> {
    study.hypotheses.iter().map(|h| h.outcome.clone()).collect()
}

/// Each hypothesis's verdict from its outcome's sums over every run.
pub fn verdicts(study: Study, gathered: &Outcomes) -> TestReport {
    let rows = study
        .hypotheses
        .into_iter()
        .zip(gathered.estimates())
        .map(|(h, e)| Tested::new(h, e))
        .collect();
    TestReport {
        model: study.model,
        rows,
    }
}
