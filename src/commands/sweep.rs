//! `trajectoire sweep`: a scenario at every point of a design; `sweep.csv`, `sweep.json` and
//! a plot per outcome.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{out_or_default, write_file, OutputOptions, Report, SimulationOptions};
use super::split::{options_in_fields, work_on_points, Provenance, Splittable};
use crate::diag::Error;
use crate::ensemble::canonical::Mismatch;
use crate::ensemble::{Controls, Workload, Workspace};
use crate::model::Model;
use crate::output::{explore, folder::Staging, plot, text};
use crate::study::design::Design;
use crate::study::explore::{PointSums, Points, SavedPoints};
use crate::study::shard::{Layout, Part};
use crate::study::sweep::{Sweep, Work};

/// Evaluate a scenario at every point of a design (a grid of values, a Latin hypercube, a
/// Sobol' sequence), every point on the same runs; a table and a plot per outcome.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepArgs {
    /// Territory or network file (.toml).
    pub file: PathBuf,
    /// A parameter and its values: PATH=LO..HI:N, PATH=V1,V2,... or PATH=LO..HI (repeatable).
    #[arg(long = "vary", value_name = "PATH=SPEC")]
    pub varies: Vec<String>,
    /// grid (every combination, default), lhs:N or sobol:N (N points over the ranges).
    #[arg(long)]
    pub design: Option<String>,
    /// An outcome, e.g. "perpetuation@144", or a family "engagement@0..240:24" (repeatable;
    /// default: the main ones).
    #[arg(long = "outcome", value_name = "EXPR")]
    pub outcomes: Vec<String>,
    /// A hypothesis whose threshold the plots draw, e.g. "perpetuation@end >= 0.9".
    #[arg(long = "expect", value_name = "EXPR")]
    pub expects: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub simulation: SimulationOptions,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: OutputOptions,
}

/// A finished sweep and where it was written.
#[derive(Debug)]
pub struct SweepReport {
    /// The sweep.
    pub sweep: Sweep,
    /// The scenario as given.
    pub model: Model,
    /// Output folder.
    pub out_dir: PathBuf,
}

impl Report for SweepReport {
    fn text(&self) -> String {
        format!(
            "{}\nOutputs in {}/\n",
            text::sweep(&self.sweep, &self.model),
            self.out_dir.display()
        )
    }
}

impl Splittable for SweepArgs {
    const NAME: &'static str = "sweep";
    const UNIT: &'static str = "points";
    type Work = Work;
    type Sums = PointSums;
    type Saved = SavedPoints;
    type Report = SweepReport;

    options_in_fields!();
    work_on_points!();

    fn prepare(&self) -> Result<Work, Error> {
        let design = Design::parse(self.design.as_deref().unwrap_or("grid"))?;
        let loaded = crate::scenario::load(&self.file)?;
        Work::new(
            loaded,
            &self.simulation.overrides(),
            &self.varies,
            design,
            &self.outcomes,
            &self.expects,
        )
    }

    fn questions(work: &Work) -> serde_json::Value {
        serde_json::json!({
            "outcomes": work.outcomes,
            "points": work.points,
            "expects": work.expects,
        })
    }

    fn target(&self, work: &Work) -> PathBuf {
        out_or_default(self.out(), work.base(), Some("sweep"))
    }

    fn write(
        &self,
        work: Work,
        sums: PointSums,
        folder: Option<Staging>,
        _: &Provenance,
    ) -> Result<SweepReport, Error> {
        let folder = folder.ok_or_else(|| Error::Usage("sweep writes a folder".into()))?;
        let sweep = work.sweep_of(work.points().estimates(&sums));
        let model = work.base().clone();
        write_file(folder.path(), "sweep.csv", &explore::sweep_csv(&sweep))?;
        write_file(
            folder.path(),
            "sweep.json",
            &explore::sweep_json(&sweep, &model),
        )?;
        if self.plots() {
            let pictures = plot::sweep::pictures(&sweep, &model)
                .map_err(|e| Error::io(folder.path(), format!("could not draw the plots: {e}")))?;
            plot::write_pictures(folder.path(), &pictures)?;
        }
        let out_dir = folder.commit()?;
        Ok(SweepReport {
            sweep,
            model,
            out_dir,
        })
    }
}
