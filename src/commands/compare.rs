//! `trajectoire compare`: a base scenario against other files and what-if variants, paired run
//! by run; a table, `compare.csv`, `compare.json` and overlay plots.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{out_or_default, write_file, OutputOptions, Report, SimulationOptions};
use super::split::{options_in_fields, Provenance, Splittable};
use crate::diag::Error;
use crate::ensemble::canonical::Mismatch;
use crate::ensemble::{Controls, Workload, Workspace};
use crate::model::Model;
use crate::output::{self, folder::Staging, plot, text};
use crate::study::compare::{Comparison, SavedComparison, Sums, Work};
use crate::study::shard::{Layout, Part};

/// Compare scenarios on the same seed and runs: the first file is the base; every other file
/// and variant is compared with it (paired differences).
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareArgs {
    /// Base scenario, then other scenarios to compare with it.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// A variant of the base: "NAME: PATH=VALUE, PATH=VALUE" (repeatable).
    #[arg(long = "variant", value_name = "SPEC")]
    pub variants: Vec<String>,
    /// An outcome to compare, e.g. "perpetuation@144" (repeatable; default: the main ones).
    #[arg(long = "outcome", value_name = "EXPR")]
    pub outcomes: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub simulation: SimulationOptions,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: OutputOptions,
}

/// A finished comparison and where it was written.
#[derive(Debug)]
pub struct CompareReport {
    /// The comparison.
    pub comparison: Comparison,
    /// Output folder.
    pub out_dir: PathBuf,
}

impl Report for CompareReport {
    fn text(&self) -> String {
        format!(
            "{}\nOutputs in {}/\n",
            text::comparison(&self.comparison),
            self.out_dir.display()
        )
    }
}

impl Splittable for CompareArgs {
    const NAME: &'static str = "compare";
    type Work = Work;
    type Sums = Sums;
    type Saved = SavedComparison;
    type Report = CompareReport;

    options_in_fields!();

    fn check_arguments(&self) -> Result<(), Error> {
        if self.files.len() < 2 && self.variants.is_empty() {
            return Err(Error::Usage(
                "compare needs a second file or a --variant \"NAME: PATH=VALUE\"".into(),
            ));
        }
        Ok(())
    }

    fn prepare(&self) -> Result<Work, Error> {
        self.check_arguments()?;
        Work::new(
            &self.files,
            &self.variants,
            &self.outcomes,
            &self.simulation.overrides(),
        )
    }

    fn workload(&self, work: &Work, threads: usize) -> Workload {
        let base = &work.models[0];
        let n = work.models.len();
        Workload::of(base, base.settings.runs, n, threads, self.plots())
    }

    fn layout(work: &Work) -> Layout {
        Layout::Runs(work.models[0].settings.runs)
    }

    fn scenarios(work: &Work) -> Vec<&Model> {
        work.models.iter().collect()
    }

    fn questions(work: &Work) -> serde_json::Value {
        let texts: Vec<&str> = work.outcomes[0].iter().map(|o| o.text.as_str()).collect();
        serde_json::json!({ "names": work.names, "outcomes": texts })
    }

    fn target(&self, work: &Work) -> PathBuf {
        out_or_default(self.out(), &work.models[0], Some("compare"))
    }

    fn gather(
        &self,
        work: &Work,
        part: &Part,
        workspace: &Workspace,
        controls: &Controls<'_>,
    ) -> Result<Option<Sums>, Error> {
        let Part::Runs(runs) = part else {
            return Ok(None);
        };
        Ok(work.gather(self.plots(), runs.clone(), workspace, controls))
    }

    fn save(_: &Work, sums: Sums) -> SavedComparison {
        sums.saved()
    }

    fn check_saved(
        work: &Work,
        part: &Part,
        saved: &SavedComparison,
        plots: bool,
    ) -> Result<(), Mismatch> {
        work.load(saved.clone(), plots)?;
        if saved.runs() != part.runs() {
            return Err(Mismatch(format!(
                "it holds {} runs where its part has {}",
                saved.runs(),
                part.runs()
            )));
        }
        Ok(())
    }

    fn add(_: &Work, sum: &mut SavedComparison, part: SavedComparison) -> Result<(), Mismatch> {
        sum.add(part)
    }

    fn load(work: &Work, saved: SavedComparison, plots: bool) -> Result<Sums, Mismatch> {
        work.load(saved, plots)
    }

    fn write(
        &self,
        work: Work,
        sums: Sums,
        folder: Option<Staging>,
        _: &Provenance,
    ) -> Result<CompareReport, Error> {
        let folder = folder.ok_or_else(|| Error::Usage("compare writes a folder".into()))?;
        let mut comparison = work.finish(sums);
        if !self.plots() {
            comparison.results = None;
            comparison.series = None;
        }
        write_file(
            folder.path(),
            "compare.csv",
            &output::compare::csv(&comparison),
        )?;
        write_file(
            folder.path(),
            "compare.json",
            &output::compare::json(&comparison),
        )?;
        if let Some(results) = &comparison.results {
            let series = comparison.series.as_deref();
            plot::write_overlays(folder.path(), &work.models[0], &work.names, results, series)?;
        }
        let out_dir = folder.commit()?;
        Ok(CompareReport {
            comparison,
            out_dir,
        })
    }
}
