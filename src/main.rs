//! The `trajectoire` command: parse arguments, call the library's command, print its report or
//! the one error, exit with the error's code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};
use trajectoire::commands::{self, Controls};
use trajectoire::diag::Error;
use trajectoire::output::text;
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
        #[command(flatten)]
        sim: Simulation,
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
    /// Check a scenario and list every problem with its line and column.
    Check {
        /// Territory or network file (.toml).
        file: PathBuf,
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

fn execute(command: Command) -> Result<(), Error> {
    match command {
        Command::Run {
            file,
            sim,
            out,
            no_plots,
        } => {
            let options = sim.options();
            let report = drive(sim.quiet, "runs", |controls| {
                commands::run::run(&file, &options, out.as_deref(), !no_plots, controls)
            })?;
            if !sim.quiet {
                print!("{}", text::summary(&report.study.model, &report.results));
                println!("\nOutputs in {}/", report.out_dir.display());
            }
            Ok(())
        }
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
        Command::Test { file, expects, sim } => {
            let options = sim.options();
            let report = drive(sim.quiet, "runs", |controls| {
                commands::test::test(&file, &options, &expects, controls)
            })?;
            if !sim.quiet {
                print!("{}", text::verdicts(&report.model, &report.rows));
            }
            if report.all_supported() {
                Ok(())
            } else {
                Err(Error::NotSupported)
            }
        }
        Command::Compare {
            files,
            variants,
            outcomes,
            out,
            no_plots,
            sim,
        } => {
            let options = sim.options();
            let report = drive(sim.quiet, "runs", |controls| {
                commands::compare::compare(
                    &files,
                    &variants,
                    &outcomes,
                    &options,
                    out.as_deref(),
                    !no_plots,
                    controls,
                )
            })?;
            if !sim.quiet {
                print!("{}", text::comparison(&report.comparison));
                println!("\nOutputs in {}/", report.out_dir.display());
            }
            Ok(())
        }
        Command::Sweep {
            file,
            varies,
            design,
            outcomes,
            expects,
            out,
            no_plots,
            sim,
        } => {
            let options = sim.options();
            let args = commands::sweep::SweepArgs {
                varies,
                design,
                outcomes,
                expects,
            };
            let report = drive(sim.quiet, "points", |controls| {
                commands::sweep::sweep(&file, &args, &options, out.as_deref(), !no_plots, controls)
            })?;
            if !sim.quiet {
                print!("{}", text::sweep(&report.sweep, &report.model));
                println!("\nOutputs in {}/", report.out_dir.display());
            }
            Ok(())
        }
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
        } => {
            let options = sim.options();
            let args = commands::sensitivity::SensitivityArgs {
                varies,
                method,
                levels,
                second_order: !no_second_order,
                bootstrap,
                outcomes,
            };
            let report = drive(sim.quiet, "points", |controls| {
                commands::sensitivity::sensitivity(
                    &file,
                    &args,
                    &options,
                    out.as_deref(),
                    !no_plots,
                    controls,
                )
            })?;
            if !sim.quiet {
                print!("{}", text::sensitivity(&report.analysis, &report.model));
                println!("\nOutputs in {}/", report.out_dir.display());
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
        Command::Check { file } => {
            println!("{}", commands::check::check(&file)?.sentence());
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
    }
}
