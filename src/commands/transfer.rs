//! `trajectoire transfer`: which methods of the référentiel matter in which territory, and how
//! much, for what money; `transfer.csv`, `transfer.json` and a plot per outcome.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{out_or_default, write_file, OutputOptions, Report, SimulationOptions};
use super::split::{options_in_fields, Provenance, Splittable};
use crate::diag::Error;
use crate::ensemble::canonical::Mismatch;
use crate::ensemble::{Controls, Workload, Workspace};
use crate::model::Model;
use crate::output::{self, folder::Staging, plot};
use crate::study::compare::{SavedComparison, Sums};
use crate::study::shard::{Layout, Part};
use crate::study::transfer::{Asking, Transfer, Work};

/// Which methods of the référentiel matter where: for every territory of the files and every
/// method of the library, the paired effect of having it (with minus without) on each outcome.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferArgs {
    /// Territory or network files (.toml); each town of a network is changed inside the
    /// network, its peers as they are.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The référentiel (a lever library); default: the library the files include.
    #[arg(long, value_name = "FILE")]
    pub library: Option<PathBuf>,
    /// Only this method of the library (repeatable).
    #[arg(long = "lever", value_name = "ID")]
    pub levers: Vec<String>,
    /// First month of a method added to a territory (default: the library's own `from`, else 0).
    #[arg(long, value_name = "MONTH")]
    pub from: Option<u32>,
    /// An outcome, e.g. "perpetuation@144" (repeatable; default: perpetuation, stabilisation and
    /// scale at the horizon, and spend, of each territory).
    #[arg(long = "outcome", value_name = "EXPR")]
    pub outcomes: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub simulation: SimulationOptions,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: OutputOptions,
}

/// A finished transfer and where it was written.
#[derive(Debug)]
pub struct TransferReport {
    /// The effects.
    pub transfer: Transfer,
    /// Output folder.
    pub out_dir: PathBuf,
}

impl Report for TransferReport {
    fn text(&self) -> String {
        format!(
            "{}\nOutputs in {}/\n",
            output::transfer::words(&self.transfer).trim_start(),
            self.out_dir.display()
        )
    }
}

impl Splittable for TransferArgs {
    const NAME: &'static str = "transfer";
    type Work = Work;
    type Sums = Vec<Sums>;
    type Saved = Vec<SavedComparison>;
    type Report = TransferReport;

    options_in_fields!();

    fn prepare(&self) -> Result<Work, Error> {
        Work::new(&Asking {
            files: &self.files,
            library: self.library.as_deref(),
            levers: &self.levers,
            from: self.from,
            outcomes: &self.outcomes,
            overrides: &self.simulation.overrides(),
        })
    }

    fn workload(&self, work: &Work, threads: usize) -> Workload {
        let scenarios: usize = work.files.iter().map(|f| f.comparing.models.len()).sum();
        let base = &work.files[0].comparing.models[0];
        Workload::of(base, work.runs(), scenarios, threads, false)
    }

    fn layout(work: &Work) -> Layout {
        Layout::Runs(work.runs())
    }

    fn scenarios(work: &Work) -> Vec<&Model> {
        work.files
            .iter()
            .flat_map(|f| f.comparing.models.iter())
            .collect()
    }

    fn questions(work: &Work) -> serde_json::Value {
        let files: Vec<serde_json::Value> = work
            .files
            .iter()
            .map(|f| serde_json::json!({ "variants": f.variants, "outcomes": f.asked }))
            .collect();
        serde_json::json!({ "methods": work.methods, "files": files })
    }

    fn target(&self, work: &Work) -> PathBuf {
        out_or_default(
            self.out(),
            &work.files[0].comparing.models[0],
            Some("transfer"),
        )
    }

    fn gather(
        &self,
        work: &Work,
        part: &Part,
        workspace: &Workspace,
        controls: &Controls<'_>,
    ) -> Result<Option<Vec<Sums>>, Error> {
        let Part::Runs(runs) = part else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(work.files.len());
        for f in &work.files {
            match f.comparing.gather(false, runs.clone(), workspace, controls) {
                Some(sums) => out.push(sums),
                None => return Ok(None),
            }
        }
        Ok(Some(out))
    }

    fn save(_: &Work, sums: Vec<Sums>) -> Vec<SavedComparison> {
        sums.iter().map(Sums::saved).collect()
    }

    fn check_saved(
        work: &Work,
        part: &Part,
        saved: &Vec<SavedComparison>,
        _: bool,
    ) -> Result<(), Mismatch> {
        if saved.len() != work.files.len() {
            return Err(Mismatch(format!(
                "it holds {} files' sums where the work has {}",
                saved.len(),
                work.files.len()
            )));
        }
        for (f, s) in work.files.iter().zip(saved) {
            f.comparing.load(s.clone(), false)?;
            if s.runs() != part.runs() {
                return Err(Mismatch(format!(
                    "it holds {} runs where its part has {}",
                    s.runs(),
                    part.runs()
                )));
            }
        }
        Ok(())
    }

    fn add(
        _: &Work,
        sum: &mut Vec<SavedComparison>,
        part: Vec<SavedComparison>,
    ) -> Result<(), Mismatch> {
        if sum.len() != part.len() {
            return Err(Mismatch("another number of files".into()));
        }
        for (a, b) in sum.iter_mut().zip(part) {
            a.add(b)?;
        }
        Ok(())
    }

    fn load(work: &Work, saved: Vec<SavedComparison>, _: bool) -> Result<Vec<Sums>, Mismatch> {
        work.files
            .iter()
            .zip(saved)
            .map(|(f, s)| f.comparing.load(s, false))
            .collect()
    }

    fn write(
        &self,
        work: Work,
        sums: Vec<Sums>,
        folder: Option<Staging>,
        _: &Provenance,
    ) -> Result<TransferReport, Error> {
        let folder = folder.ok_or_else(|| Error::Usage("transfer writes a folder".into()))?;
        let comparisons = work
            .files
            .iter()
            .zip(sums)
            .map(|(f, s)| f.comparing.finish(s))
            .collect();
        let transfer = work.transfer(comparisons);
        write_file(
            folder.path(),
            "transfer.csv",
            &output::transfer::csv(&transfer),
        )?;
        write_file(
            folder.path(),
            "transfer.json",
            &output::transfer::json(&transfer),
        )?;
        if self.plots() {
            let pictures = plot::transfer::pictures(&transfer)
                .map_err(|e| Error::io(folder.path(), format!("could not draw the plots: {e}")))?;
            plot::write_pictures(folder.path(), &pictures)?;
        }
        let out_dir = folder.commit()?;
        Ok(TransferReport { transfer, out_dir })
    }
}
