//! The `trajectoire` command: parse arguments, call the library's command, print its report or
//! the one error, exit with the error's code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};
use trajectoire::commands::job::Job;
use trajectoire::commands::merge::Merged;
use trajectoire::commands::{self, Controls};
use trajectoire::diag::Error;
use trajectoire::output::text;
use trajectoire::study::shard::Shard;
use trajectoire::Overrides;

/// Model and simulate a territory's ecological and social transition.
#[derive(Parser)]
#[command(name = "trajectoire", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a territory or network and write tables, a summary and plots.
    Run {
        /// Territory or network file (.toml).
        file: PathBuf,
        #[command(flatten)]
        sim: Simulation,
        /// Output folder (default: output/<id>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write tables and summary only.
        #[arg(long)]
        no_plots: bool,
        #[command(flatten)]
        sharding: Sharding,
    },
    /// Write one self-contained HTML report: the numbers in words, every plot, the phases, the
    /// hypotheses' verdicts and the variants compared (readable offline, printable on A4).
    Report {
        /// Territory or network file (.toml).
        file: PathBuf,
        /// A variant to compare with the file: "NAME: PATH=VALUE, PATH=VALUE" (repeatable).
        #[arg(long = "variant", value_name = "SPEC")]
        variants: Vec<String>,
        /// The report's file (default: output/<id>/report.html).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        sim: Simulation,
    },
    /// Test hypotheses: estimate, 95% interval and verdict for each (exit 4 unless all are
    /// supported).
    Test {
        /// Territory or network file (.toml); its [[hypothesis]] tables are tested.
        file: PathBuf,
        /// A further hypothesis, e.g. "perpetuation@144 >= 0.7" (repeatable).
        #[arg(long = "expect", value_name = "EXPR")]
        expects: Vec<String>,
        /// With --shard: the folder of the shard file (default: output/<id>-test/).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        sim: Simulation,
        #[command(flatten)]
        sharding: Sharding,
    },
    /// Compare scenarios on the same seed and runs: the first file is the base; every other
    /// file and variant is compared with it (paired differences).
    Compare {
        /// Base scenario, then other scenarios to compare with it.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// A variant of the base: "NAME: PATH=VALUE, PATH=VALUE" (repeatable).
        #[arg(long = "variant", value_name = "SPEC")]
        variants: Vec<String>,
        /// An outcome to compare, e.g. "perpetuation@144" (repeatable; default: the main ones).
        #[arg(long = "outcome", value_name = "EXPR")]
        outcomes: Vec<String>,
        /// Output folder (default: output/<base id>-compare/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the tables only, no overlay plots.
        #[arg(long)]
        no_plots: bool,
        #[command(flatten)]
        sim: Simulation,
        #[command(flatten)]
        sharding: Sharding,
    },
    /// Evaluate a scenario at every point of a design (a grid of values, a Latin hypercube, a
    /// Sobol' sequence), every point on the same runs; a table and a plot per outcome.
    Sweep {
        /// Territory or network file (.toml).
        file: PathBuf,
        /// A parameter and its values: PATH=LO..HI:N, PATH=V1,V2,... or PATH=LO..HI
        /// (repeatable).
        #[arg(long = "vary", value_name = "PATH=SPEC")]
        varies: Vec<String>,
        /// grid (every combination, default), lhs:N or sobol:N (N points over the ranges).
        #[arg(long)]
        design: Option<String>,
        /// An outcome, e.g. "perpetuation@144", or a family "engagement@0..240:24"
        /// (repeatable; default: the main ones).
        #[arg(long = "outcome", value_name = "EXPR")]
        outcomes: Vec<String>,
        /// A hypothesis whose threshold the plots draw, e.g. "perpetuation@end >= 0.9".
        #[arg(long = "expect", value_name = "EXPR")]
        expects: Vec<String>,
        /// Output folder (default: output/<id>-sweep/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the tables only, no plots.
        #[arg(long)]
        no_plots: bool,
        #[command(flatten)]
        sim: Simulation,
        #[command(flatten)]
        sharding: Sharding,
    },
    /// Global sensitivity analysis: which parameters matter most for which outcomes (Sobol'
    /// indices or Morris elementary effects), with SALib-compatible samples and evaluations.
    Sensitivity {
        /// Territory or network file (.toml).
        file: PathBuf,
        /// A parameter and its range: PATH=LO..HI (repeatable).
        #[arg(long = "vary", value_name = "PATH=LO..HI")]
        varies: Vec<String>,
        /// sobol[:N] (N base samples, a power of 2, default 256) or morris[:R] (R
        /// trajectories, default 20).
        #[arg(long, default_value = "sobol")]
        method: String,
        /// Grid levels of Morris's method (even; default 4).
        #[arg(long, default_value_t = 4)]
        levels: usize,
        /// Sobol' only: first-order and total indices, no second order (N(k + 2) points).
        #[arg(long)]
        no_second_order: bool,
        /// Bootstrap resamplings for the intervals.
        #[arg(long, default_value_t = 1000)]
        bootstrap: usize,
        /// An outcome, e.g. "perpetuation@180", or a family "perpetuation@0..240:24"
        /// (repeatable; default: the main ones).
        #[arg(long = "outcome", value_name = "EXPR")]
        outcomes: Vec<String>,
        /// Output folder (default: output/<id>-sensitivity/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the tables only, no plots.
        #[arg(long)]
        no_plots: bool,
        #[command(flatten)]
        sim: Simulation,
        #[command(flatten)]
        sharding: Sharding,
    },
    /// Merge the shard files of a split run, test, comparison, sweep or analysis into exactly
    /// what the command writes on one machine.
    Merge {
        /// The shard files (shard-I-of-N.shard), all N of them.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Output folder (default: the split command's).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the tables only, no plots.
        #[arg(long)]
        no_plots: bool,
        /// Worker threads for the plots (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
    },
    /// Write a Slurm job array doing a command in N shards, and the job that merges them once
    /// they all succeed; with --submit, submit both.
    Slurm {
        /// Array tasks: the shards the work is split into.
        #[arg(long)]
        tasks: u32,
        /// Submit both jobs with sbatch (otherwise print the two sbatch lines).
        #[arg(long)]
        submit: bool,
        /// An sbatch option for both jobs, e.g. --sbatch=--partition=short or
        /// --sbatch=--time=01:00:00 (repeatable).
        #[arg(long = "sbatch", value_name = "ARG", allow_hyphen_values = true)]
        sbatch: Vec<String>,
        /// The command and its arguments after `--`, e.g. -- run scenarios/villes-pairs.toml
        /// --runs 1000000.
        #[arg(last = true, required = true, value_name = "COMMAND ARGS")]
        command: Vec<String>,
    },
    /// Serve the workshop page: sliders for the scenario's levers, budget and shocks, the
    /// futures redrawn against the file as written. Stops with Ctrl-C.
    Serve {
        /// Territory or network file (.toml).
        file: PathBuf,
        /// Address to listen on; the default answers this machine only. Give 0.0.0.0 to let
        /// the room's phones and laptops in (a warning is printed).
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Futures simulated per request when the page does not say (default: the file's).
        #[arg(long)]
        runs: Option<u64>,
        /// Most futures a request may ask for.
        #[arg(long, default_value_t = 20_000)]
        max_runs: u64,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Open the page in the default browser.
        #[arg(long)]
        open: bool,
    },
    /// Fit a territory's file to its observed history: the posterior of the --vary
    /// parameters (uniform priors over their ranges), 90% intervals, a calibrated file and
    /// the fit plots.
    #[command(mut_arg("runs", |a| a.help("Runs per likelihood evaluation (default 100): their spread is the model's own")))]
    Calibrate {
        /// Territory file (.toml).
        file: PathBuf,
        /// The observed history (CSV: index,month,value,sd; see `check --observed`).
        #[arg(long, value_name = "OBS.csv")]
        observed: PathBuf,
        /// A parameter and its prior range: PATH=LO..HI (repeatable).
        #[arg(long = "vary", value_name = "PATH=LO..HI")]
        varies: Vec<String>,
        /// Particles of the sampler (default 400).
        #[arg(long)]
        particles: Option<usize>,
        /// Output folder (default: output/<id>-calibration/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the tables only, no plots.
        #[arg(long)]
        no_plots: bool,
        #[command(flatten)]
        sim: Simulation,
    },
    /// Check a scenario and list every problem with its line and column.
    Check {
        /// Territory or network file (.toml).
        file: PathBuf,
        /// Also check an observed history (CSV: index,month,value,sd) against the scenario.
        #[arg(long, value_name = "OBS.csv")]
        observed: Option<PathBuf>,
    },
    /// Describe a scenario in plain words, with its numbers and equations.
    Explain {
        /// Territory or network file (.toml).
        file: PathBuf,
    },
    /// Write a commented template territory NAME.toml to start from.
    New {
        /// Territory id (lowercase letters, digits and dashes), or a path ending in .toml.
        name: String,
    },
}

/// Splitting the work across machines.
#[derive(clap::Args)]
struct Sharding {
    /// Do the I-th of N equal parts of the work and write DIR/shard-I-of-N.shard (DIR: --out
    /// or the default folder) for `trajectoire merge`, instead of the outputs.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
}

/// Options shared by the commands that simulate.
#[derive(clap::Args)]
struct Simulation {
    /// Number of simulated runs (overrides [simulation] runs).
    #[arg(long)]
    runs: Option<u64>,
    /// Master seed (overrides [simulation] seed).
    #[arg(long)]
    seed: Option<u64>,
    /// Euler substeps per month (overrides [simulation] substeps).
    #[arg(long)]
    substeps: Option<u32>,
    /// Worker threads (default: all cores; at most 256). Never changes the results.
    #[arg(long)]
    threads: Option<usize>,
    /// No noise; shocks hit only when certain; random shocks never fire.
    #[arg(long)]
    deterministic: bool,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
    /// Run even if the estimated time (over 10 minutes) or memory (over 8 GB) is large.
    #[arg(long)]
    allow_long: bool,
    /// What-if override PATH=VALUE, e.g. lever.participation.intensity=0.5 (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
}

impl Simulation {
    fn options(&self) -> commands::Simulation {
        commands::Simulation {
            overrides: Overrides {
                runs: self.runs,
                seed: self.seed,
                substeps: self.substeps,
                deterministic: self.deterministic,
                sets: self.sets.clone(),
            },
            threads: self.threads,
            allow_long: self.allow_long,
            shards: 0,
        }
    }
}

/// Set by Ctrl-C; the simulation stops at the next simulated month.
static CANCEL: AtomicBool = AtomicBool::new(false);

/// Runs `work` with a progress bar on a terminal (counting `unit`) and Ctrl-C wired to
/// cancellation. `None` from `work` means it was interrupted.
fn drive<T>(
    quiet: bool,
    unit: &str,
    work: impl FnOnce(&Controls<'_>) -> Result<Option<T>, Error>,
) -> Result<T, Error> {
    let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{{bar:40}} {{pos}}/{{len}} {unit}  {{elapsed}} (eta {{eta}})"
            ))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    };
    // A second Ctrl-C quits at once.
    let _ = ctrlc::set_handler(|| {
        if CANCEL.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    let controls = Controls {
        progress: &progress,
        cancel: &CANCEL,
    };
    let result = work(&controls);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    result?.ok_or(Error::Interrupted)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let color = std::io::stderr().is_terminal();
            eprint!("{}", e.render(color));
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// A simulating command as a job, with its options and `--shard`; `None` for the others.
fn job_of(command: &Command) -> Option<(Job, &Simulation, Option<&str>)> {
    let overrides = |sim: &Simulation| sim.options().overrides;
    let (job, sim, sharding) = match command {
        Command::Run {
            file,
            sim,
            out,
            no_plots,
            sharding,
        } => (
            Job::Run {
                file: file.clone(),
                out: out.clone(),
                plots: !no_plots,
                overrides: overrides(sim),
            },
            sim,
            sharding,
        ),
        Command::Test {
            file,
            expects,
            out,
            sim,
            sharding,
        } => (
            Job::Test {
                file: file.clone(),
                expects: expects.clone(),
                out: out.clone(),
                overrides: overrides(sim),
            },
            sim,
            sharding,
        ),
        Command::Compare {
            files,
            variants,
            outcomes,
            out,
            no_plots,
            sim,
            sharding,
        } => (
            Job::Compare {
                files: files.clone(),
                variants: variants.clone(),
                outcomes: outcomes.clone(),
                out: out.clone(),
                plots: !no_plots,
                overrides: overrides(sim),
            },
            sim,
            sharding,
        ),
        Command::Sweep {
            file,
            varies,
            design,
            outcomes,
            expects,
            out,
            no_plots,
            sim,
            sharding,
        } => (
            Job::Sweep {
                file: file.clone(),
                args: commands::sweep::SweepArgs {
                    varies: varies.clone(),
                    design: design.clone(),
                    outcomes: outcomes.clone(),
                    expects: expects.clone(),
                },
                out: out.clone(),
                plots: !no_plots,
                overrides: overrides(sim),
            },
            sim,
            sharding,
        ),
        Command::Sensitivity {
            file,
            varies,
            method,
            levels,
            no_second_order,
            bootstrap,
            outcomes,
            out,
            no_plots,
            sim,
            sharding,
        } => (
            Job::Sensitivity {
                file: file.clone(),
                args: commands::sensitivity::SensitivityArgs {
                    varies: varies.clone(),
                    method: method.clone(),
                    levels: *levels,
                    second_order: !no_second_order,
                    bootstrap: *bootstrap,
                    outcomes: outcomes.clone(),
                },
                out: out.clone(),
                plots: !no_plots,
                overrides: overrides(sim),
            },
            sim,
            sharding,
        ),
        _ => return None,
    };
    Some((job, sim, sharding.shard.as_deref()))
}

/// Prints a simulating command's report (done here or merged from shards).
fn print_report(report: &Merged) {
    match report {
        Merged::Run(r) => {
            print!("{}", text::summary(&r.study.model, &r.results));
            println!("\nOutputs in {}/", r.out_dir.display());
        }
        Merged::Test(r) => print!("{}", text::verdicts(&r.model, &r.rows)),
        Merged::Compare(r) => {
            print!("{}", text::comparison(&r.comparison));
            println!("\nOutputs in {}/", r.out_dir.display());
        }
        Merged::Sweep(r) => {
            print!("{}", text::sweep(&r.sweep, &r.model));
            println!("\nOutputs in {}/", r.out_dir.display());
        }
        Merged::Sensitivity(r) => {
            print!("{}", text::sensitivity(&r.analysis, &r.model));
            println!("\nOutputs in {}/", r.out_dir.display());
        }
    }
}

/// The exit of a simulating command: `test` fails (4) unless every hypothesis is supported.
fn outcome(report: &Merged) -> Result<(), Error> {
    match report {
        Merged::Test(t) if !t.all_supported() => Err(Error::NotSupported),
        _ => Ok(()),
    }
}

/// Runs a simulating command on this machine and prints its report.
fn simulate(job: &Job, sim: &Simulation) -> Result<(), Error> {
    let options = sim.options();
    let unit = if matches!(job, Job::Sweep { .. } | Job::Sensitivity { .. }) {
        "points"
    } else {
        "runs"
    };
    let report = drive(sim.quiet, unit, |controls| {
        Ok(match job {
            Job::Run {
                file, out, plots, ..
            } => commands::run::run(file, &options, out.as_deref(), *plots, controls)?
                .map(Merged::Run),
            Job::Test { file, expects, .. } => {
                commands::test::test(file, &options, expects, controls)?.map(Merged::Test)
            }
            Job::Compare {
                files,
                variants,
                outcomes,
                out,
                plots,
                ..
            } => commands::compare::compare(
                files,
                variants,
                outcomes,
                &options,
                out.as_deref(),
                *plots,
                controls,
            )?
            .map(Merged::Compare),
            Job::Sweep {
                file,
                args,
                out,
                plots,
                ..
            } => commands::sweep::sweep(file, args, &options, out.as_deref(), *plots, controls)?
                .map(Merged::Sweep),
            Job::Sensitivity {
                file,
                args,
                out,
                plots,
                ..
            } => commands::sensitivity::sensitivity(
                file,
                args,
                &options,
                out.as_deref(),
                *plots,
                controls,
            )?
            .map(Merged::Sensitivity),
        })
    })?;
    if !sim.quiet {
        print_report(&report);
    }
    outcome(&report)
}

fn execute(command: Command) -> Result<(), Error> {
    if let Some((job, sim, shard)) = job_of(&command) {
        if let Some(text) = shard {
            let shard = Shard::parse(text)?;
            let options = sim.options();
            let unit = if matches!(job, Job::Sweep { .. } | Job::Sensitivity { .. }) {
                "pieces"
            } else {
                "runs"
            };
            let report = drive(sim.quiet, unit, |controls| {
                commands::shard::shard(&job, shard, &options, controls)
            })?;
            if !sim.quiet {
                println!(
                    "Shard {} ({}) written to {}",
                    report.shard,
                    report.part,
                    report.path.display()
                );
            }
            return Ok(());
        }
        if let Job::Test { out: Some(_), .. } = job {
            return Err(Error::Usage(
                "--out is for --shard I/N (the folder of the shard file): test itself writes no file".into(),
            ));
        }
        return simulate(&job, sim);
    }
    match command {
        Command::Merge {
            shards,
            out,
            no_plots,
            threads,
            quiet,
        } => {
            let report = drive(quiet, "shards", |controls| {
                commands::merge::merge(&shards, out.as_deref(), !no_plots, threads, controls)
            })?;
            if !quiet {
                print_report(&report.merged);
            }
            outcome(&report.merged)
        }
        Command::Slurm {
            tasks,
            submit,
            sbatch,
            command,
        } => slurm(tasks, submit, &sbatch, &command),
        Command::Report {
            file,
            variants,
            out,
            sim,
        } => {
            let options = sim.options();
            let made = drive(sim.quiet, "runs", |controls| {
                commands::report::report(&file, &options, &variants, out.as_deref(), controls)
            })?;
            if !sim.quiet {
                println!("Report in {}", made.path.display());
            }
            Ok(())
        }
        Command::Serve {
            file,
            host,
            port,
            runs,
            max_runs,
            threads,
            open,
        } => {
            let options = trajectoire::serve::Options {
                host,
                port,
                runs,
                max_runs,
                threads: threads.unwrap_or_else(commands::cores),
            };
            commands::serve::serve(&file, &options, |address, exposed| {
                let url = format!("http://{address}/");
                println!("The workshop page is at {url}  (Ctrl-C to stop)");
                if exposed {
                    println!(
                        "Warning: this page answers every machine that can reach {address}; anyone on the network can use it. Use --host 127.0.0.1 to keep it to this machine."
                    );
                }
                if open {
                    let _ = std::process::Command::new("xdg-open")
                        .arg(&url)
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null())
                        .spawn();
                }
            })
        }
        Command::Calibrate {
            file,
            observed,
            varies,
            particles,
            out,
            no_plots,
            sim,
        } => {
            let args = commands::calibrate::CalibrateArgs {
                observed,
                varies,
                particles,
            };
            let options = sim.options();
            let r = drive(sim.quiet, "likelihood evaluations", |controls| {
                commands::calibrate::calibrate(
                    &file,
                    &args,
                    &options,
                    out.as_deref(),
                    !no_plots,
                    controls,
                )
            })?;
            if !sim.quiet {
                print!(
                    "{}",
                    trajectoire::output::calibration::summary_text(
                        &r.problem,
                        &r.calibration,
                        &r.observed,
                        r.wall_seconds,
                        &r.out_dir
                    )
                );
            }
            Ok(())
        }
        Command::Check { file, observed } => {
            println!("{}", commands::check::check(&file)?.sentence());
            if let Some(observed) = observed {
                let report = commands::check::check_observed(&file, &observed)?;
                println!("{}", report.sentence());
            }
            Ok(())
        }
        Command::Explain { file } => {
            print!("{}", commands::check::explain(&file)?);
            Ok(())
        }
        Command::New { name } => {
            let path = commands::new::new(&name)?;
            println!(
                "Wrote {}. Next: trajectoire check {}",
                path.display(),
                path.display()
            );
            Ok(())
        }
        // run, test, compare, sweep and sensitivity: done above, as jobs.
        Command::Run { .. }
        | Command::Test { .. }
        | Command::Compare { .. }
        | Command::Sweep { .. }
        | Command::Sensitivity { .. } => Ok(()),
    }
}

/// `trajectoire slurm`: the command after `--` read as the program reads it, then the two job
/// scripts written (and submitted with `--submit`).
fn slurm(tasks: u32, submit: bool, sbatch: &[String], words: &[String]) -> Result<(), Error> {
    let argv = std::iter::once("trajectoire".to_string()).chain(words.iter().cloned());
    let cli = Cli::try_parse_from(argv).map_err(|e| {
        Error::Usage(format!(
            "the command after `--` cannot be read: {}",
            e.to_string().trim_start_matches("error: ").trim_end()
        ))
    })?;
    let Some((job, sim, shard)) = job_of(&cli.command) else {
        return Err(Error::Usage(
            "slurm splits run, test, compare, sweep or sensitivity: give one of them after `--`, e.g. trajectoire slurm --tasks 100 -- run scenarios/villes-pairs.toml --runs 1000000".into(),
        ));
    };
    if shard.is_some() {
        return Err(Error::Usage(
            "leave --shard out of the command after `--`: slurm gives each task its own".into(),
        ));
    }
    let options = commands::slurm::Options {
        tasks,
        sbatch: sbatch.to_vec(),
        threads: sim.threads,
        allow_long: sim.allow_long,
        program: std::env::current_exe().map_err(|e| Error::io("trajectoire", e))?,
    };
    let plan = commands::slurm::plan(&job, &options)?;
    if submit {
        print!("{}", commands::slurm::submit(&plan)?.words(&plan, tasks));
    } else {
        print!("{}", commands::slurm::unsubmitted(&plan));
    }
    Ok(())
}
