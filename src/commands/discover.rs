//! `trajectoire discover`: where in the space of the varied parameters a goal holds — the
//! design's points evaluated as a sweep's, then PRIM's boxes where the goal concentrates;
//! `cases.csv`, `trajectory.csv`, `boxes.csv`, `discover.json` and plots.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{out_or_default, write_file, OutputOptions, Report, SimulationOptions};
use super::split::{options_in_fields, work_on_points, Provenance, Splittable};
use crate::diag::Error;
use crate::ensemble::canonical::Mismatch;
use crate::ensemble::{Controls, Workload, Workspace};
use crate::model::Model;
use crate::output::{discover, folder::Staging, plot};
use crate::study::design::Design;
use crate::study::discover::{Discovery, Work};
use crate::study::explore::{PointSums, Points, SavedPoints};
use crate::study::prim::Settings;
use crate::study::shard::{Layout, Part};

/// Scenario discovery: where a goal holds. The design's points are evaluated on the same runs,
/// then PRIM (as EMA Workbench's) finds boxes of the parameters where the goal concentrates.
#[derive(clap::Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoverArgs {
    /// Territory or network file (.toml).
    pub file: PathBuf,
    /// A parameter and its range: PATH=LO..HI (or values, PATH=V1,V2,...) (repeatable).
    #[arg(long = "vary", value_name = "PATH=SPEC")]
    pub varies: Vec<String>,
    /// The goal: an outcome, a comparison and a number, e.g. "perpetuation@end >= 0.9".
    #[arg(long = "where", value_name = "OUTCOME OP VALUE")]
    pub goal: String,
    /// lhs:N (default lhs:256), sobol:N or grid.
    #[arg(long, default_value = "lhs:256")]
    pub design: String,
    /// Share of the box's points a peel removes.
    #[arg(long, default_value_t = 0.05)]
    pub peel: f64,
    /// Share of a slab a paste adds.
    #[arg(long, default_value_t = 0.05)]
    pub paste: f64,
    /// Least share of all points a box keeps.
    #[arg(long, default_value_t = 0.05)]
    pub mass_min: f64,
    /// Least share of a box's points where the goal holds for the box to be kept.
    #[arg(long, default_value_t = 0.8)]
    pub threshold: f64,
    /// Boxes to look for, each among the points the others leave.
    #[arg(long, default_value_t = 1)]
    pub boxes: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub simulation: SimulationOptions,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: OutputOptions,
}

impl Default for DiscoverArgs {
    /// The command line's defaults.
    fn default() -> Self {
        DiscoverArgs {
            file: PathBuf::new(),
            varies: Vec::new(),
            goal: String::new(),
            design: "lhs:256".into(),
            peel: 0.05,
            paste: 0.05,
            mass_min: 0.05,
            threshold: 0.8,
            boxes: 1,
            simulation: SimulationOptions::default(),
            output: OutputOptions::default(),
        }
    }
}

/// A finished discovery and where it was written.
#[derive(Debug)]
pub struct DiscoverReport {
    /// The discovery.
    pub discovery: Discovery,
    /// The scenario as given.
    pub model: Model,
    /// Output folder.
    pub out_dir: PathBuf,
}

impl Report for DiscoverReport {
    fn text(&self) -> String {
        format!(
            "{}\nOutputs in {}/\n",
            discover::words(&self.discovery),
            self.out_dir.display()
        )
    }
}

impl Splittable for DiscoverArgs {
    const NAME: &'static str = "discover";
    const UNIT: &'static str = "points";
    type Work = Work;
    type Sums = PointSums;
    type Saved = SavedPoints;
    type Report = DiscoverReport;

    options_in_fields!();
    work_on_points!();

    fn prepare(&self) -> Result<Work, Error> {
        let design = Design::parse(&self.design)?;
        let loaded = crate::scenario::load(&self.file)?;
        Work::new(
            loaded,
            &self.simulation.overrides(),
            &self.goal,
            &self.varies,
            design,
            Settings {
                peel_alpha: self.peel,
                paste_alpha: self.paste,
                mass_min: self.mass_min,
                threshold: self.threshold,
            },
            self.boxes,
        )
    }

    fn questions(work: &Work) -> serde_json::Value {
        serde_json::json!({
            "goal": work.goal,
            "points": work.points,
            "settings": work.settings,
            "boxes": work.boxes,
        })
    }

    fn target(&self, work: &Work) -> PathBuf {
        out_or_default(self.out(), work.base(), Some("discover"))
    }

    fn write(
        &self,
        work: Work,
        sums: PointSums,
        folder: Option<Staging>,
        _: &Provenance,
    ) -> Result<DiscoverReport, Error> {
        let folder = folder.ok_or_else(|| Error::Usage("discover writes a folder".into()))?;
        let discovery = work.discover(work.points().estimates(&sums));
        let model = work.base().clone();
        let dir = folder.path();
        write_file(dir, "cases.csv", &discover::cases_csv(&discovery))?;
        write_file(dir, "trajectory.csv", &discover::trajectory_csv(&discovery))?;
        write_file(dir, "boxes.csv", &discover::boxes_csv(&discovery))?;
        write_file(dir, "discover.json", &discover::json(&discovery, &model))?;
        if self.plots() {
            let pictures = plot::discover::pictures(&discovery)
                .map_err(|e| Error::io(dir, format!("could not draw the plots: {e}")))?;
            plot::write_pictures(dir, &pictures)?;
        }
        let out_dir = folder.commit()?;
        Ok(DiscoverReport {
            discovery,
            model,
            out_dir,
        })
    }
}
