//! `trajectoire run`: simulate a territory or a network and write every output.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{out_or_default, OutputOptions, Report, SimulationOptions};
use super::split::{options_in_fields, Provenance, Splittable};
use crate::diag::Error;
use crate::ensemble::canonical::{Aggregates, Mismatch};
use crate::ensemble::{self, results_of, Accumulator, Controls, Results, Workload, Workspace};
use crate::model::Model;
use crate::output::{self, folder::Staging, text};
use crate::study::shard::{Layout, Part};
use crate::study::Study;

/// Simulate a territory or network and write tables, a summary and plots.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunArgs {
    /// Territory or network file (.toml).
    pub file: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub simulation: SimulationOptions,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: OutputOptions,
}

/// A finished run: what it simulated, what it found and where it wrote.
#[derive(Debug)]
pub struct RunReport {
    /// The scenario as simulated, with its hypotheses.
    pub study: Study,
    /// Aggregated results.
    pub results: Results,
    /// Output folder.
    pub out_dir: PathBuf,
    /// Files written.
    pub files: Vec<PathBuf>,
}

impl Report for RunReport {
    fn text(&self) -> String {
        format!(
            "{}\nOutputs in {}/\n",
            text::summary(&self.study.model, &self.results),
            self.out_dir.display()
        )
    }
}

impl Splittable for RunArgs {
    const NAME: &'static str = "run";
    type Work = Study;
    type Sums = Vec<Accumulator>;
    type Saved = Aggregates;
    type Report = RunReport;

    options_in_fields!();

    fn prepare(&self) -> Result<Study, Error> {
        Study::load(&self.file, &self.simulation.overrides())
    }

    fn workload(&self, study: &Study, threads: usize) -> Workload {
        let model = &study.model;
        Workload::of(model, model.settings.runs, 1, threads, true)
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
        out_or_default(self.out(), &study.model, None)
    }

    fn gather(
        &self,
        study: &Study,
        part: &Part,
        workspace: &Workspace,
        controls: &Controls<'_>,
    ) -> Result<Option<Vec<Accumulator>>, Error> {
        let Part::Runs(runs) = part else {
            return Ok(None);
        };
        let threads = rayon::current_num_threads();
        Ok(ensemble::accumulate_parts(
            &study.model,
            runs.clone(),
            workspace,
            controls,
            threads,
        ))
    }

    fn save(_: &Study, sums: Vec<Accumulator>) -> Aggregates {
        let mut parts = sums.iter().map(Accumulator::canonical);
        let mut saved = parts.next().unwrap_or(Aggregates {
            runs: 0,
            territories: Vec::new(),
        });
        for p in parts {
            // The parts of one ensemble have one shape.
            let _ = saved.merge(&p);
        }
        saved
    }

    fn check_saved(_: &Study, part: &Part, saved: &Aggregates, _: bool) -> Result<(), Mismatch> {
        saved.check()?;
        if saved.runs != part.runs() {
            return Err(Mismatch(format!(
                "it holds {} runs where its part has {}",
                saved.runs,
                part.runs()
            )));
        }
        Ok(())
    }

    fn add(_: &Study, sum: &mut Aggregates, part: Aggregates) -> Result<(), Mismatch> {
        sum.merge(&part)
    }

    fn load(study: &Study, saved: Aggregates, _: bool) -> Result<Vec<Accumulator>, Mismatch> {
        let engine = crate::engine::Engine::new(&study.model);
        Ok(vec![saved.accumulator(&engine)?])
    }

    fn write(
        &self,
        study: Study,
        sums: Vec<Accumulator>,
        folder: Option<Staging>,
        provenance: &Provenance,
    ) -> Result<RunReport, Error> {
        let folder = folder.ok_or_else(|| Error::Usage("run writes a folder".into()))?;
        let results = results_of(&sums, &study.model, provenance.seconds);
        drop(sums);
        let written = output::write_all(
            folder.path(),
            &study.model,
            &study.hypotheses,
            &results,
            self.plots(),
            provenance.shards.as_ref(),
        )?;
        let out_dir = folder.commit()?;
        let files = written
            .iter()
            .filter_map(|f| f.file_name().map(|n| out_dir.join(n)))
            .collect();
        Ok(RunReport {
            study,
            results,
            out_dir,
            files,
        })
    }
}
