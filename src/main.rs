//! The `trajectoire` program: parse the arguments, do the command with a progress bar and
//! Ctrl-C wired to cancellation, print its report or the one error, exit with the report's or
//! the error's code.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use trajectoire::commands::{Cli, Controls};

/// Set by Ctrl-C; the work stops at the next simulated month.
static CANCEL: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    let command = Cli::parse().command;
    let quiet = command.quiet();
    // A progress bar on a terminal, counting what the command counts.
    let bar = command
        .unit()
        .filter(|_| !quiet && std::io::stderr().is_terminal())
        .map(|unit| {
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
    // The first Ctrl-C asks the work to stop; a second quits at once.
    let _ = ctrlc::set_handler(|| {
        if CANCEL.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    let controls = Controls {
        progress: &progress,
        cancel: &CANCEL,
    };
    let tell = |line: &str| println!("{line}");
    let done = command.execute(&controls, &tell);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    match done {
        Ok(report) => {
            if !quiet {
                print!("{}", report.text());
            }
            ExitCode::from(report.exit_code())
        }
        Err(e) => {
            eprint!("{}", e.render(std::io::stderr().is_terminal()));
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
