//! `trajectoire report`: one self-contained HTML file to take home — the run's numbers in
//! words, every plot, the phases, the hypotheses' verdicts and the variants compared.

use std::path::{Path, PathBuf};

use super::{default_out_dir, Controls, Simulation};
use crate::diag::Error;
use crate::ensemble::{Workload, Workspace};
use crate::output::report::{html, Contents};
use crate::study::compare::{outcomes_with, Comparison, Prepared};
use crate::study::hypothesis::Tested;
use crate::study::Study;

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

/// Simulates `path` (and its `variants`, "NAME: PATH=VALUE, ...", paired with it) and writes
/// the report to `out` (default `output/<id>/report.html`), replacing it only once complete.
/// `Ok(None)` when cancelled: nothing was written.
pub fn report(
    path: &Path,
    sim: &Simulation,
    variants: &[String],
    out: Option<&Path>,
    controls: &Controls<'_>,
) -> Result<Option<ReportMade>, Error> {
    sim.check()?;
    let study = Study::load(path, &sim.overrides)?;
    let outcomes = outcomes_with(&study.model, &study.hypotheses);
    let prepared = Prepared::new(&[path.to_path_buf()], variants, &outcomes, &sim.overrides)?;
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
    let comparison = sim
        .in_pool(|| prepared.run(true, &Workspace::new(), controls))
        .map_err(cleanup)?;
    let Some(comparison) = comparison else {
        let _ = std::fs::remove_file(&partial);
        return Ok(None);
    };
    let hypotheses: Vec<Vec<Tested>> = (0..comparison.scenarios.len())
        .map(|s| comparison.tested(&study.hypotheses, s))
        .collect();
    let command = command_line(path, sim, variants, model);
    let contents = Contents {
        model,
        comparison: &comparison,
        hypotheses: &hypotheses,
        file: &path.display().to_string(),
        command: &command,
    };
    let page = sim
        .in_pool(|| html(&contents))
        .map_err(cleanup)?
        .map_err(|e| {
            cleanup(Error::io(
                &target,
                format!("could not draw the report: {e}"),
            ))
        })?;
    std::fs::write(&partial, page).map_err(|e| cleanup(Error::io(&partial, e)))?;
    std::fs::rename(&partial, &target).map_err(|e| cleanup(Error::io(&target, e)))?;
    Ok(Some(ReportMade {
        path: target,
        comparison,
        hypotheses,
    }))
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
    sim: &Simulation,
    variants: &[String],
    model: &crate::model::Model,
) -> String {
    let s = &model.settings;
    let mut words = vec![
        "trajectoire".to_string(),
        "report".into(),
        quoted(&path.display().to_string()),
        format!("--runs {}", s.runs),
        format!("--seed {}", s.seed),
        format!("--substeps {}", s.substeps),
    ];
    if sim.overrides.deterministic {
        words.push("--deterministic".into());
    }
    for set in &sim.overrides.sets {
        words.push(format!("--set {}", quoted(set)));
    }
    for v in variants {
        words.push(format!("--variant {}", quoted(v)));
    }
    words.join(" ")
}

/// A word for a POSIX shell: as is when it is safe, else in single quotes.
fn quoted(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./=:@,+-".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn words_are_quoted_for_a_shell() {
        assert_eq!(quoted("scenarios/le-mene.toml"), "scenarios/le-mene.toml");
        assert_eq!(
            quoted("half: lever.x.intensity=0.5"),
            "'half: lever.x.intensity=0.5'"
        );
        assert_eq!(quoted("it's"), "'it'\\''s'");
        assert_eq!(quoted(""), "''");
    }
}
