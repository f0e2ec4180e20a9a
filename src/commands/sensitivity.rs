//! `trajectoire sensitivity`: which parameters matter for which outcomes (Sobol' indices or
//! Morris's elementary effects), with SALib-compatible samples and evaluations.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{out_or_default, write_file, OutputOptions, Report, SimulationOptions};
use super::split::{options_in_fields, work_on_points, Provenance, Splittable};
use crate::diag::Error;
use crate::ensemble::canonical::Mismatch;
use crate::ensemble::{Controls, Workload, Workspace};
use crate::model::Model;
use crate::output::{explore, folder::Staging, plot, text};
use crate::study::explore::{PointSums, Points, SavedPoints};
use crate::study::sensitivity::{Analysis, Method, Work};
use crate::study::shard::{Layout, Part};

/// Global sensitivity analysis: which parameters matter most for which outcomes (Sobol'
/// indices or Morris elementary effects), with SALib-compatible samples and evaluations.
#[derive(clap::Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitivityArgs {
    /// Territory or network file (.toml).
    pub file: PathBuf,
    /// A parameter and its range: PATH=LO..HI (repeatable).
    #[arg(long = "vary", value_name = "PATH=LO..HI")]
    pub varies: Vec<String>,
    /// sobol[:N] (N base samples, a power of 2, default 256) or morris[:R] (R trajectories,
    /// default 20).
    #[arg(long, default_value = "sobol")]
    pub method: String,
    /// Grid levels of Morris's method (even; default 4).
    #[arg(long, default_value_t = 4)]
    pub levels: usize,
    /// Sobol' only: first-order and total indices, no second order (N(k + 2) points).
    #[arg(long)]
    pub no_second_order: bool,
    /// Bootstrap resamplings for the intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// An outcome, e.g. "perpetuation@180", or a family "perpetuation@0..240:24"
    /// (repeatable; default: the main ones).
    #[arg(long = "outcome", value_name = "EXPR")]
    pub outcomes: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub simulation: SimulationOptions,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: OutputOptions,
}

impl Default for SensitivityArgs {
    /// The command line's defaults.
    fn default() -> Self {
        SensitivityArgs {
            file: PathBuf::new(),
            varies: Vec::new(),
            method: "sobol".into(),
            levels: 4,
            no_second_order: false,
            bootstrap: 1000,
            outcomes: Vec::new(),
            simulation: SimulationOptions::default(),
            output: OutputOptions::default(),
        }
    }
}

/// A finished analysis and where it was written.
#[derive(Debug)]
pub struct SensitivityReport {
    /// The analysis.
    pub analysis: Analysis,
    /// The scenario as given.
    pub model: Model,
    /// Output folder.
    pub out_dir: PathBuf,
}

impl Report for SensitivityReport {
    fn text(&self) -> String {
        format!(
            "{}\nOutputs in {}/\n",
            text::sensitivity(&self.analysis, &self.model),
            self.out_dir.display()
        )
    }
}

impl Splittable for SensitivityArgs {
    const NAME: &'static str = "sensitivity";
    const UNIT: &'static str = "points";
    type Work = Work;
    type Sums = PointSums;
    type Saved = SavedPoints;
    type Report = SensitivityReport;

    options_in_fields!();
    work_on_points!();

    fn prepare(&self) -> Result<Work, Error> {
        let method = Method::parse(&self.method, self.levels, !self.no_second_order)?;
        let loaded = crate::scenario::load(&self.file)?;
        Work::new(
            loaded,
            &self.simulation.overrides(),
            &self.varies,
            method,
            &self.outcomes,
            self.bootstrap,
        )
    }

    fn questions(work: &Work) -> serde_json::Value {
        serde_json::json!({
            "outcomes": work.outcomes,
            "points": work.points,
            "method": work.method,
            "bootstrap": work.bootstrap,
        })
    }

    fn target(&self, work: &Work) -> PathBuf {
        out_or_default(self.out(), work.base(), Some("sensitivity"))
    }

    fn write(
        &self,
        work: Work,
        sums: PointSums,
        folder: Option<Staging>,
        _: &Provenance,
    ) -> Result<SensitivityReport, Error> {
        let folder = folder.ok_or_else(|| Error::Usage("sensitivity writes a folder".into()))?;
        let analysis = work.analyze(&work.points().estimates(&sums));
        let model = work.base().clone();
        let dir = folder.path();
        write_file(
            dir,
            "samples.csv",
            &explore::samples_csv(&work.parameters, &work.points),
        )?;
        write_file(dir, "evaluations.csv", &explore::evaluations_csv(&analysis))?;
        write_file(dir, "indices.csv", &explore::indices_csv(&analysis))?;
        if let Method::Sobol {
            second_order: true, ..
        } = work.method
        {
            write_file(
                dir,
                "second-order.csv",
                &explore::second_order_csv(&analysis),
            )?;
        }
        let warnings = explore::sensitivity_warnings(&analysis);
        write_file(
            dir,
            "sensitivity.json",
            &explore::sensitivity_json(&analysis, &warnings, &model),
        )?;
        if self.plots() {
            let pictures = plot::sensitivity::pictures(&analysis, &model)
                .map_err(|e| Error::io(dir, format!("could not draw the plots: {e}")))?;
            plot::write_pictures(dir, &pictures)?;
        }
        let out_dir = folder.commit()?;
        Ok(SensitivityReport {
            analysis,
            model,
            out_dir,
        })
    }
}
