//! `trajectoire serve`: the workshop page for a scenario, on this machine or the room's
//! network.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{check_threads, cores, Words};
use crate::diag::Error;
use crate::ensemble::Controls;
use crate::serve::{self, Options};

/// Serve the workshop page: sliders for the scenario's levers, budget and shocks, the futures
/// redrawn against the file as written. Stops with Ctrl-C.
#[derive(clap::Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServeArgs {
    /// Territory or network file (.toml).
    pub file: PathBuf,
    /// Address to listen on; the default answers this machine only. Give 0.0.0.0 to let the
    /// room's phones and laptops in (a warning is printed).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Futures simulated per request when the page does not say (default: the file's).
    #[arg(long)]
    pub runs: Option<u64>,
    /// Most futures a request may ask for.
    #[arg(long, default_value_t = 20_000)]
    pub max_runs: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Open the page in the default browser.
    #[arg(long)]
    pub open: bool,
}

impl ServeArgs {
    /// Serves the workshop page until `controls` are cancelled (Ctrl-C); `tell` is told the
    /// page's address (and a warning when it is open to other machines) once it answers.
    pub fn execute(&self, controls: &Controls<'_>, tell: &dyn Fn(&str)) -> Result<Words, Error> {
        check_threads(self.threads)?;
        let options = Options {
            host: self.host.clone(),
            port: self.port,
            runs: self.runs,
            max_runs: self.max_runs,
            threads: self.threads.unwrap_or_else(cores),
        };
        let exposed = !serve::is_loopback(&options.host);
        serve::run(&self.file, &options, controls.cancel, |address| {
            let url = format!("http://{address}/");
            tell(&format!("The workshop page is at {url}  (Ctrl-C to stop)"));
            if exposed {
                tell(&format!(
                    "Warning: this page answers every machine that can reach {address}; anyone on the network can use it. Use --host 127.0.0.1 to keep it to this machine."
                ));
            }
            if self.open {
                let _ = std::process::Command::new("xdg-open")
                    .arg(&url)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn();
            }
        })?;
        Ok(Words(String::new()))
    }
}
