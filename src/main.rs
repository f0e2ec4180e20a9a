//! The `trajectoire` command: parse arguments, call the library, print the one error, exit.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};
use trajectoire::diag::Error;
use trajectoire::ensemble::Controls;
use trajectoire::model::Model;
use trajectoire::{explain, template, Overrides};

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
        /// Number of simulated runs (overrides [simulation] runs).
        #[arg(long)]
        runs: Option<u64>,
        /// Master seed (overrides [simulation] seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Euler substeps per month (overrides [simulation] substeps).
        #[arg(long)]
        substeps: Option<u32>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// No noise; shocks hit only when certain; random shocks never fire.
        #[arg(long)]
        deterministic: bool,
        /// Output folder (default: output/<id>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write tables and summary only.
        #[arg(long)]
        no_plots: bool,
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
        /// Run even if the estimated time (over 10 minutes) or memory (over 8 GB) is large.
        #[arg(long)]
        allow_long: bool,
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

/// Set by Ctrl-C; the simulation stops at the next simulated month.
static CANCEL: AtomicBool = AtomicBool::new(false);

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
            runs,
            seed,
            substeps,
            threads,
            deterministic,
            out,
            no_plots,
            quiet,
            allow_long,
        } => {
            let overrides = Overrides {
                runs,
                seed,
                substeps,
                deterministic,
            };
            let mut pool = rayon::ThreadPoolBuilder::new();
            if let Some(n) = threads {
                if n == 0 {
                    return Err(Error::Usage("--threads must be at least 1".into()));
                }
                pool = pool.num_threads(n);
            }
            let pool = pool
                .build()
                .map_err(|e| Error::Usage(format!("cannot start {threads:?} threads: {e}")))?;
            let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {pos}/{len} runs  {elapsed} (eta {eta})",
                    )
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
            let report = pool.install(|| {
                trajectoire::run(
                    &file,
                    &overrides,
                    out.as_deref(),
                    !no_plots,
                    allow_long,
                    &controls,
                )
            })?;
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            let Some(report) = report else {
                return Err(Error::Interrupted);
            };
            if !quiet {
                print!(
                    "{}",
                    trajectoire::plain_summary(&report.model, &report.results)
                );
                println!("\nOutputs in {}/", report.out_dir.display());
            }
            Ok(())
        }
        Command::Check { file } => {
            let loaded = trajectoire::scenario::load(&file)?;
            if let trajectoire::scenario::Scenario::Library(_) = loaded.scenario {
                let n = trajectoire::model::check_library(loaded)?;
                println!(
                    "{}: valid lever library — {n} levers to `use` from territory files.",
                    file.display()
                );
                return Ok(());
            }
            let model = Model::from_scenario(loaded)?;
            let groups: usize = model.territories.iter().map(|t| t.groups.len()).sum();
            println!(
                "{}: valid — {} territor{}, {groups} actor groups, {} months.",
                file.display(),
                model.territories.len(),
                if model.territories.len() == 1 {
                    "y"
                } else {
                    "ies"
                },
                model.horizon()
            );
            Ok(())
        }
        Command::Explain { file } => {
            let model = Model::load(&file)?;
            print!("{}", explain::explain(&model));
            Ok(())
        }
        Command::New { name } => {
            let (path, id) = if let Some(stem) = name.strip_suffix(".toml") {
                let id = std::path::Path::new(stem)
                    .file_name()
                    .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
                (PathBuf::from(&name), id)
            } else {
                (PathBuf::from(format!("{name}.toml")), name.clone())
            };
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(Error::Usage(format!(
                    "`{id}` is not a valid territory id: use lowercase letters, digits and dashes, e.g. `my-town`"
                )));
            }
            if path.exists() {
                return Err(Error::io(
                    &path,
                    "already exists; choose another name or remove it first",
                ));
            }
            std::fs::write(&path, template::territory(&id)).map_err(|e| Error::io(&path, e))?;
            println!(
                "Wrote {}. Next: trajectoire check {}",
                path.display(),
                path.display()
            );
            Ok(())
        }
    }
}
