//! `trajectoire test`: the hypotheses of a file and of `--expect`, each with its estimate,
//! interval and verdict.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{out_or_default, OutputOptions, Report, SimulationOptions};
use super::split::{options_in_fields, Provenance, Splittable};
use crate::diag::Error;
use crate::ensemble::canonical::Mismatch;
use crate::ensemble::{Controls, Workload, Workspace};
use crate::model::Model;
use crate::output::folder::Staging;
use crate::output::text;
use crate::study::collect::{gather, Outcomes, SavedOutcomes};
use crate::study::hypothesis::{parse_hypotheses, Tested, Verdict};
use crate::study::outcome::Outcome;
use crate::study::shard::{Layout, Part};
use crate::study::Study;

/// Test hypotheses: estimate, 95% interval and verdict for each (exit 4 unless all are
/// supported).
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[command(mut_arg("out", |a| a.help("With --shard: the folder of the shard file (default: output/<id>-test/)")))]
#[command(mut_arg("no_plots", |a| a.hide(true)))]
pub struct TestArgs {
    /// Territory or network file (.toml); its [[hypothesis]] tables are tested.
    pub file: PathBuf,
    /// A further hypothesis, e.g. "perpetuation@144 >= 0.7" (repeatable).
    #[arg(long = "expect", value_name = "EXPR")]
    pub expects: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub simulation: SimulationOptions,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: OutputOptions,
}

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

impl Report for TestReport {
    fn text(&self) -> String {
        text::verdicts(&self.model, &self.rows)
    }

    /// 4 unless every hypothesis is supported.
    fn exit_code(&self) -> u8 {
        if self.all_supported() {
            0
        } else {
            4
        }
    }
}

/// The outcomes the hypotheses are about, in their order.
pub fn outcomes(study: &Study) -> Vec<Outcome> {
    study.hypotheses.iter().map(|h| h.outcome.clone()).collect()
}

impl Splittable for TestArgs {
    const NAME: &'static str = "test";
    const WRITES: bool = false;
    type Work = Study;
    type Sums = Outcomes;
    type Saved = SavedOutcomes;
    type Report = TestReport;

    options_in_fields!();

    fn check_arguments(&self) -> Result<(), Error> {
        if self.output.out.is_some() && self.output.shard.is_none() {
            return Err(Error::Usage(
                "--out is for --shard I/N (the folder of the shard file): test itself writes no file".into(),
            ));
        }
        Ok(())
    }

    /// The scenario with the file's hypotheses, then `--expect`'s.
    fn prepare(&self) -> Result<Study, Error> {
        let Study {
            model,
            mut hypotheses,
        } = Study::load(&self.file, &self.simulation.overrides())?;
        hypotheses.extend(parse_hypotheses(&self.expects, &model, "--expect")?);
        if hypotheses.is_empty() {
            return Err(Error::Usage(
                "nothing to test: add [[hypothesis]] tables to the file or --expect \"perpetuation@end >= 0.7\"".into(),
            ));
        }
        Ok(Study { model, hypotheses })
    }

    fn workload(&self, study: &Study, threads: usize) -> Workload {
        let model = &study.model;
        Workload::of(model, model.settings.runs, 1, threads, false)
    }

    fn layout(study: &Study) -> Layout {
        Layout::Runs(study.model.settings.runs)
    }

    fn scenarios(study: &Study) -> Vec<&Model> {
        vec![&study.model]
    }

    fn questions(study: &Study) -> serde_json::Value {
        serde_json::to_value(&study.hypotheses).unwrap_or_default()
    }

    fn target(&self, study: &Study) -> PathBuf {
        out_or_default(self.out(), &study.model, Some("test"))
    }

    fn gather(
        &self,
        study: &Study,
        part: &Part,
        workspace: &Workspace,
        controls: &Controls<'_>,
    ) -> Result<Option<Outcomes>, Error> {
        let Part::Runs(runs) = part else {
            return Ok(None);
        };
        let threads = rayon::current_num_threads();
        Ok(gather(
            &study.model,
            &outcomes(study),
            runs.clone(),
            threads,
            workspace,
            controls,
        ))
    }

    fn save(_: &Study, sums: Outcomes) -> SavedOutcomes {
        sums.saved()
    }

    fn check_saved(
        study: &Study,
        part: &Part,
        saved: &SavedOutcomes,
        _: bool,
    ) -> Result<(), Mismatch> {
        empty(study).loaded(saved.clone())?;
        saved.has_runs(part.runs())
    }

    fn add(_: &Study, sum: &mut SavedOutcomes, part: SavedOutcomes) -> Result<(), Mismatch> {
        sum.add(&part)
    }

    fn load(study: &Study, saved: SavedOutcomes, _: bool) -> Result<Outcomes, Mismatch> {
        empty(study).loaded(saved)
    }

    fn write(
        &self,
        study: Study,
        sums: Outcomes,
        _: Option<Staging>,
        _: &Provenance,
    ) -> Result<TestReport, Error> {
        Ok(verdicts(study, &sums))
    }
}

/// Empty sums of the hypotheses' outcomes.
fn empty(study: &Study) -> Outcomes {
    Outcomes::new(&crate::engine::Engine::new(&study.model), &outcomes(study))
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
