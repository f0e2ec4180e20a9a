//! `trajectoire report`: one self-contained HTML file to take home — the run's numbers in
//! words, every plot, the phases, the hypotheses' verdicts and the variants compared.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::common::{default_out_dir, Report, SimulationOptions};
use super::job::shell_word;
use crate::diag::Error;
use crate::ensemble::{Controls, Workload, Workspace};
use crate::output::report::{html, Contents, Session};
use crate::study::compare::{Comparison, Work};
use crate::study::hypothesis::outcomes_with;
use crate::study::hypothesis::Tested;
use crate::study::Study;

/// Write one self-contained HTML report: the numbers in words, every plot, the phases, the
/// hypotheses' verdicts and the variants compared (readable offline, printable on A4).
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportArgs {
    /// Territory or network file (.toml).
    pub file: PathBuf,
    /// A variant to compare with the file: "NAME: PATH=VALUE, PATH=VALUE" (repeatable).
    #[arg(long = "variant", value_name = "SPEC")]
    pub variants: Vec<String>,
    /// The report's file (default: output/<id>/report.html).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A workshop session of peer groups (its .sqlite file, from `serve --groups`): the report
    /// shows every round's proposals (choices, reasons, predictions against results) and
    /// compares the groups' latest proposals of the last round as variants.
    #[arg(long)]
    pub session: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub simulation: SimulationOptions,
}

/// A written report.
#[derive(Debug)]
pub struct ReportMade {
    /// The file written.
    pub path: PathBuf,
    /// The base and the variants, as simulated.
    pub comparison: Comparison,
    /// The hypotheses' verdicts in each scenario.
    pub hypotheses: Vec<Vec<Tested>>,
}

impl Report for ReportMade {
    fn text(&self) -> String {
        format!("Report in {}\n", self.path.display())
    }
}

impl ReportArgs {
    /// Simulates the file (and its variants, "NAME: PATH=VALUE, ...", paired with it) and
    /// writes the report to `--out` (default `output/<id>/report.html`), replacing it only once
    /// complete. `Error::Interrupted` when cancelled: nothing was written.
    pub fn execute(&self, controls: &Controls<'_>) -> Result<ReportMade, Error> {
        let sim = &self.simulation;
        sim.check()?;
        sim.in_pool(|| {
            report(
                &self.file,
                sim,
                &self.variants,
                self.session.as_deref(),
                self.out.as_deref(),
                controls,
            )
        })?
    }
}

fn report(
    path: &Path,
    sim: &SimulationOptions,
    variants: &[String],
    session: Option<&Path>,
    out: Option<&Path>,
    controls: &Controls<'_>,
) -> Result<ReportMade, Error> {
    let overrides = sim.overrides();
    let study = Study::load(path, &overrides)?;
    let outcomes = outcomes_with(&study.model, &study.hypotheses);
    let kept = match session {
        Some(file) => Some(Kept::read(path, file)?),
        None => None,
    };
    // The groups' proposals are compared as variants after those given.
    let mut all = variants.to_vec();
    if let Some(k) = &kept {
        all.extend(k.variants());
    }
    let prepared = Work::new(&[path.to_path_buf()], &all, &outcomes, &overrides)?;
    let model = &prepared.models[0];
    if !sim.allow_long {
        Workload::of(
            model,
            model.settings.runs,
            prepared.models.len(),
            sim.threads(),
            true,
        )
        .check()?;
    }
    let target = out.map_or_else(
        || default_out_dir(model, None).join("report.html"),
        Path::to_path_buf,
    );
    if target.is_dir() {
        return Err(Error::Usage(format!(
            "--out {}: this is a folder; give the report's file name, e.g. {}",
            target.display(),
            target.join("report.html").display()
        )));
    }
    // The folder and a partial file are made before simulating: a place that cannot be
    // written fails now, not after the work.
    let partial = partial_path(&target);
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    std::fs::write(&partial, b"").map_err(|e| Error::io(&partial, e))?;
    let cleanup = |e: Error| {
        let _ = std::fs::remove_file(&partial);
        e
    };
    let Some(comparison) = prepared.run(true, &Workspace::new(), controls) else {
        let _ = std::fs::remove_file(&partial);
        return Err(Error::Interrupted);
    };
    let hypotheses: Vec<Vec<Tested>> = (0..comparison.scenarios.len())
        .map(|s| comparison.tested(&study.hypotheses, s))
        .collect();
    let mut command = command_line(path, sim, variants, model);
    if let Some(file) = session {
        command.push_str(&format!(
            " --session {}",
            shell_word(&file.display().to_string())
        ));
    }
    let shown = kept.as_ref().map(|k| Session {
        groups: &k.groups,
        rounds: &k.rounds,
        proposals: &k.proposals,
        file: &k.file,
    });
    let contents = Contents {
        model,
        comparison: &comparison,
        hypotheses: &hypotheses,
        file: &path.display().to_string(),
        command: &command,
        session: shown.as_ref(),
    };
    let page = html(&contents).map_err(|e| {
        cleanup(Error::io(
            &target,
            format!("could not draw the report: {e}"),
        ))
    })?;
    std::fs::write(&partial, page).map_err(|e| cleanup(Error::io(&partial, e)))?;
    std::fs::rename(&partial, &target).map_err(|e| cleanup(Error::io(&target, e)))?;
    Ok(ReportMade {
        path: target,
        comparison,
        hypotheses,
    })
}

/// A workshop session as read from its file.
struct Kept {
    groups: Vec<String>,
    rounds: Vec<crate::study::proposal::Round>,
    proposals: Vec<crate::study::proposal::Proposal>,
    file: String,
}

impl Kept {
    /// Reads the session at `file`, refused unless it was made for the scenario at `path`.
    fn read(path: &Path, file: &Path) -> Result<Kept, Error> {
        let written = Study::load(path, &crate::model::Overrides::default())?.model;
        let session = crate::serve::session::Session::read(
            file,
            &crate::study::proposal::fingerprint(&written),
            &written.id,
        )?;
        Ok(Kept {
            groups: session.group_names(),
            rounds: session.rounds()?,
            proposals: session.proposals()?,
            file: file.display().to_string(),
        })
    }

    /// Each group's latest proposal of the last round with proposals, as `--variant`s (a
    /// proposal that moved nothing is the file as written, already the base).
    fn variants(&self) -> Vec<String> {
        let Some(last) = self.proposals.iter().map(|p| p.round).max() else {
            return Vec::new();
        };
        self.groups
            .iter()
            .filter_map(|g| {
                self.proposals
                    .iter()
                    .rev()
                    .find(|p| &p.group == g && p.round == last)
            })
            .filter(|p| !p.set.is_empty())
            .map(|p| {
                let sets: Vec<String> = p.set.iter().map(|(k, x)| format!("{k}={x}")).collect();
                format!("{} (round {last}): {}", p.group, sets.join(", "))
            })
            .collect()
    }
}

fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    target.with_file_name(name)
}

/// The command that makes the same report again: the file, the settings as simulated (so
/// that a changed default cannot change it), the `--set`s and variants.
fn command_line(
    path: &Path,
    sim: &SimulationOptions,
    variants: &[String],
    model: &crate::model::Model,
) -> String {
    let s = &model.settings;
    let mut words = vec![
        "trajectoire".to_string(),
        "report".into(),
        shell_word(&path.display().to_string()),
        format!("--runs {}", s.runs),
        format!("--seed {}", s.seed),
        format!("--substeps {}", s.substeps),
    ];
    if sim.deterministic {
        words.push("--deterministic".into());
    }
    for set in &sim.sets {
        words.push(format!("--set {}", shell_word(set)));
    }
    for v in variants {
        words.push(format!("--variant {}", shell_word(v)));
    }
    words.join(" ")
}
