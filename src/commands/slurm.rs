//! `trajectoire slurm --tasks N -- COMMAND ARGS...`: a Slurm job array doing the command in N
//! shards and a job merging them once every task has succeeded (`afterok`), written next to
//! the command's output folder:
//!
//! ```text
//! output/villes-pairs-slurm/
//!     array.sh    #SBATCH --array=1-N; task I runs the command with --shard I/N
//!     merge.sh    trajectoire merge shards/shard-*-of-N.shard --out output/villes-pairs
//!     shards/     the tasks' shard files
//!     logs/       %A_%a.out and .err of each task, merge_%j.out and .err
//! ```
//!
//! Everything the command would check is checked here first, so that a job that cannot run is
//! refused before it reaches the queue. With `--submit` both are submitted with `sbatch`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::common::Report;
use super::job::{shell_line, shell_word, Job, Visitor};
use super::split::{self, Splittable};
use crate::diag::Error;
use crate::output::shard as file;
use crate::study::shard::{Shard, MAX_SHARDS};

/// Write a Slurm job array doing a command in N shards, and the job that merges them once they
/// all succeed; with --submit, submit both.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlurmArgs {
    /// Array tasks: the shards the work is split into.
    #[arg(long)]
    pub tasks: u32,
    /// Submit both jobs with sbatch (otherwise print the two sbatch lines).
    #[arg(long)]
    pub submit: bool,
    /// An sbatch option for both jobs, e.g. --sbatch=--partition=short or
    /// --sbatch=--time=01:00:00 (repeatable).
    #[arg(long = "sbatch", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch: Vec<String>,
    /// The command and its arguments after `--`, e.g. -- run scenarios/villes-pairs.toml
    /// --runs 1000000.
    #[arg(last = true, required = true, value_name = "COMMAND ARGS")]
    pub command: Vec<String>,
}

/// What `slurm` did.
#[derive(Debug, Clone)]
pub struct SlurmReport {
    /// The scripts written.
    pub plan: Plan,
    /// The jobs submitted, with `--submit`.
    pub submitted: Option<Submitted>,
    /// Array tasks.
    pub tasks: u32,
}

impl Report for SlurmReport {
    fn text(&self) -> String {
        match &self.submitted {
            Some(s) => s.words(&self.plan, self.tasks),
            None => unsubmitted(&self.plan),
        }
    }
}

impl SlurmArgs {
    /// The command after `--` read as the program reads it, then the two job scripts written
    /// (and submitted with `--submit`).
    pub fn execute(&self) -> Result<SlurmReport, Error> {
        let job = Job::parse(&self.command).map_err(|e| {
            let text = e.to_string();
            if matches!(
                e.kind(),
                clap::error::ErrorKind::InvalidSubcommand | clap::error::ErrorKind::MissingSubcommand
            ) {
                Error::Usage(
                    "slurm splits run, test, compare, sweep or sensitivity: give one of them after `--`, e.g. trajectoire slurm --tasks 100 -- run scenarios/villes-pairs.toml --runs 1000000".into(),
                )
            } else {
                Error::Usage(format!(
                    "the command after `--` cannot be read: {}",
                    text.trim_start_matches("error: ").trim_end()
                ))
            }
        })?;
        if job.shard().is_some() {
            return Err(Error::Usage(
                "leave --shard out of the command after `--`: slurm gives each task its own".into(),
            ));
        }
        let (sim, _) = job.options();
        let options = Options {
            tasks: self.tasks,
            sbatch: self.sbatch.clone(),
            threads: sim.threads,
            allow_long: sim.allow_long,
            program: std::env::current_exe().map_err(|e| Error::io("trajectoire", e))?,
        };
        let plan = plan(&job, &options)?;
        let submitted = if self.submit {
            Some(submit(&plan)?)
        } else {
            None
        };
        Ok(SlurmReport {
            plan,
            submitted,
            tasks: self.tasks,
        })
    }
}

/// The job's output folder and runs in all, checked as its command checks them, split in
/// `tasks` shards.
struct Checked {
    tasks: u32,
}

impl Visitor for Checked {
    type Output = Result<(PathBuf, u64), Error>;
    fn visit<C: Splittable + Into<Job>>(self, args: &C) -> Self::Output {
        let (target, runs) = split::prepare_split(args, self.tasks)?;
        Ok((target, runs))
    }
}

/// How the jobs are made.
#[derive(Debug, Clone)]
pub struct Options {
    /// Array tasks (shards).
    pub tasks: u32,
    /// `--sbatch` options, written as `#SBATCH` lines of both scripts.
    pub sbatch: Vec<String>,
    /// `--threads` of the command (default: the CPUs Slurm gives each task).
    pub threads: Option<usize>,
    /// `--allow-long` of the command.
    pub allow_long: bool,
    /// The `trajectoire` program the jobs run.
    pub program: PathBuf,
}

/// The two scripts written, and where the work goes.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The jobs' folder (`<output folder>-slurm/`).
    pub folder: PathBuf,
    /// The array job's script.
    pub array: PathBuf,
    /// The merge job's script.
    pub merge: PathBuf,
    /// The tasks' and the merge's logs.
    pub logs: PathBuf,
    /// The shard files.
    pub shards: PathBuf,
    /// The command's output folder, which the merge job writes.
    pub target: PathBuf,
}

/// The job ids of a submission.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The array job.
    pub array: String,
    /// The merge job.
    pub merge: String,
}

/// Checks `job` as its command would and writes its array and merge scripts.
pub fn plan(job: &Job, options: &Options) -> Result<Plan, Error> {
    if options.tasks == 0 || options.tasks > MAX_SHARDS {
        return Err(Error::Usage(format!(
            "--tasks {}: give from 1 to {MAX_SHARDS} array tasks",
            options.tasks
        )));
    }
    for arg in &options.sbatch {
        if !arg.starts_with('-') || arg.contains('\n') {
            return Err(Error::Usage(format!(
                "--sbatch {arg}: give one sbatch option per --sbatch, written as on sbatch's command line, e.g. --sbatch=--partition=short"
            )));
        }
        for own in ["--array", "--dependency", "--output", "--error", "--chdir"] {
            if arg.starts_with(own) {
                return Err(Error::Usage(format!(
                    "--sbatch {arg}: slurm sets {own} itself; leave it out"
                )));
            }
        }
    }
    let (target, runs) = job.visit(Checked {
        tasks: options.tasks,
    })?;
    Shard {
        index: 1,
        count: options.tasks,
    }
    .check(runs)?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::io(&target, "is not a folder name"))?;
    let folder = target.with_file_name(format!("{name}-slurm"));
    let logs = folder.join("logs");
    let shards = folder.join("shards");
    for dir in [&logs, &shards] {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let here = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let plan = Plan {
        array: folder.join("array.sh"),
        merge: folder.join("merge.sh"),
        folder,
        logs,
        shards,
        target,
    };
    let threads = options.threads.map_or_else(
        || "\"${SLURM_CPUS_PER_TASK:-1}\"".to_string(),
        |t| t.to_string(),
    );
    let program = shell_word(&options.program.to_string_lossy());
    let n = options.tasks;
    let mut task = vec![
        program.clone(),
        shell_line(&job.writing_into(plan.shards.clone()).argv()),
    ];
    task.push(format!(
        "--shard \"$SLURM_ARRAY_TASK_ID/{n}\" --threads {threads}"
    ));
    if options.allow_long {
        task.push("--allow-long".into());
    }
    let array = script(
        &format!("trajectoire-{name}"),
        &[
            format!("--array=1-{n}"),
            format!("--output={}", plan.logs.join("%A_%a.out").display()),
            format!("--error={}", plan.logs.join("%A_%a.err").display()),
        ],
        &here,
        &options.sbatch,
        &format!(
            "# Task I of {n} does the I-th of {n} parts of:\n#   trajectoire {}\n",
            job.recorded().command_line()
        ),
        &task.join(" "),
    );
    let mut merge = vec![
        program,
        "merge".into(),
        format!(
            "{}/{}",
            shell_word(&plan.shards.to_string_lossy()),
            format_args!("shard-*-of-{n}.{}", file::EXTENSION)
        ),
        format!("--out {}", shell_word(&plan.target.to_string_lossy())),
        format!("--threads {threads}"),
    ];
    if !job.plots() {
        merge.push("--no-plots".into());
    }
    let merge = script(
        &format!("trajectoire-{name}-merge"),
        &[
            format!("--output={}", plan.logs.join("merge_%j.out").display()),
            format!("--error={}", plan.logs.join("merge_%j.err").display()),
        ],
        &here,
        &options.sbatch,
        &format!(
            "# Merges the {n} shards into {}/, exactly what the command writes on one machine.\n",
            plan.target.display()
        ),
        &merge.join(" "),
    );
    for (path, text) in [(&plan.array, array), (&plan.merge, merge)] {
        std::fs::write(path, text).map_err(|e| Error::io(path, e))?;
        executable(path)?;
    }
    Ok(plan)
}

/// A batch script: its `#SBATCH` lines, the working folder, a comment and the one command.
fn script(
    name: &str,
    own: &[String],
    here: &Path,
    extra: &[String],
    comment: &str,
    command: &str,
) -> String {
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!("#SBATCH --job-name={name}\n"));
    for line in own {
        s.push_str(&format!("#SBATCH {line}\n"));
    }
    s.push_str(&format!("#SBATCH --chdir={}\n", here.display()));
    for line in extra {
        s.push_str(&format!("#SBATCH {line}\n"));
    }
    s.push_str("# Written by trajectoire slurm.\n");
    s.push_str(comment);
    s.push_str("set -eu\n");
    s.push_str(&format!("exec {command}\n"));
    s
}

#[cfg(unix)]
fn executable(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io(path, e))
}

#[cfg(not(unix))]
fn executable(_: &Path) -> Result<(), Error> {
    Ok(())
}

impl Submitted {
    /// What was submitted, how to follow it and where it goes, in words.
    pub fn words(&self, plan: &Plan, tasks: u32) -> String {
        format!(
            "Submitted the array job {} ({tasks} tasks) and the merge job {} (after all succeed).\n\
             Follow them with: squeue -j {},{}\n\
             Task logs: {}/\n\
             When the merge job ends, the outputs are in {}/\n",
            self.array,
            self.merge,
            self.array,
            self.merge,
            plan.logs.display(),
            plan.target.display()
        )
    }
}

/// The scripts written and the two lines that submit them, in words.
pub fn unsubmitted(plan: &Plan) -> String {
    let mut s = format!(
        "Wrote {} and {}.\nSubmit them with:\n",
        plan.array.display(),
        plan.merge.display()
    );
    for line in sbatch_lines(plan) {
        s.push_str(&format!("  {line}\n"));
    }
    s
}

/// The two `sbatch` lines that submit the plan by hand.
pub fn sbatch_lines(plan: &Plan) -> [String; 2] {
    [
        format!(
            "array=$(sbatch --parsable {})",
            shell_word(&plan.array.to_string_lossy())
        ),
        format!(
            "sbatch --dependency=afterok:${{array%%;*}} {}",
            shell_word(&plan.merge.to_string_lossy())
        ),
    ]
}

/// Runs `sbatch --parsable ARGS` and returns the job id it prints.
fn sbatch(args: &[String]) -> Result<String, Error> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .output()
        .map_err(|e| {
            Error::Usage(format!(
                "cannot run sbatch ({e}): submit from a machine of the Slurm cluster, or leave --submit out and run the two printed sbatch lines there"
            ))
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(Error::Usage(format!(
            "sbatch refused the job: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    // `--parsable` prints "id" or "id;cluster".
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::Usage(format!(
            "sbatch answered `{}`, not a job id",
            stdout.trim()
        )));
    }
    Ok(id)
}

/// Submits the array job, then the merge job to start once every task has succeeded.
pub fn submit(plan: &Plan) -> Result<Submitted, Error> {
    let array = sbatch(&[plan.array.to_string_lossy().into_owned()])?;
    let merge = sbatch(&[
        format!("--dependency=afterok:{array}"),
        plan.merge.to_string_lossy().into_owned(),
    ])?;
    Ok(Submitted { array, merge })
}
