//! `trajectoire serve`: the workshop page for a scenario, on this machine or the room's
//! network.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::common::{check_threads, cores, Words};
use crate::diag::Error;
use crate::ensemble::Controls;
use crate::serve::{self, Options, SessionOptions};

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
    /// A session of peer groups: their names (ids, at most 12), e.g.
    /// --groups elected,staff,actors,inhabitants. Each group gets its own page and key, the
    /// facilitator a page of the groups side by side; every proposal is kept in --session.
    #[arg(long, value_delimiter = ',')]
    pub groups: Option<Vec<String>>,
    /// The session's file (SQLite): made with --groups, reopened as it is without.
    /// [default with --groups: output/<scenario id>-workshop/session.sqlite]
    #[arg(long)]
    pub session: Option<PathBuf>,
    /// Seconds a request's headers, and then its body, may take to arrive before the server
    /// answers 408 and closes the connection (a phone that dropped off the network).
    #[arg(long, default_value_t = 10.0)]
    pub read_timeout: f64,
    /// Most connections open at once; the next are answered 503 until one closes.
    #[arg(long, default_value_t = 256)]
    pub max_connections: usize,
}

impl ServeArgs {
    /// Serves the workshop page until `controls` are cancelled (Ctrl-C); `tell` is told the
    /// page's address (and a warning when it is open to other machines) once it answers.
    pub fn execute(&self, controls: &Controls<'_>, tell: &dyn Fn(&str)) -> Result<Words, Error> {
        check_threads(self.threads)?;
        if !(self.read_timeout.is_finite() && (0.1..=3600.0).contains(&self.read_timeout)) {
            return Err(Error::Usage(format!(
                "--read-timeout {}: give from 0.1 to 3600 seconds",
                self.read_timeout
            )));
        }
        if !(1..=100_000).contains(&self.max_connections) {
            return Err(Error::Usage(format!(
                "--max-connections {}: give from 1 to 100000",
                self.max_connections
            )));
        }
        // Names as a person types them: spaces around them and an empty last one dropped.
        let groups = self.groups.as_ref().map(|g| {
            g.iter()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect::<Vec<_>>()
        });
        let session = match (&groups, &self.session) {
            (None, None) => None,
            (groups, path) => Some(SessionOptions {
                path: match path {
                    Some(p) => p.clone(),
                    None => default_session(&self.file)?,
                },
                groups: groups.clone(),
            }),
        };
        let options = Options {
            host: self.host.clone(),
            port: self.port,
            runs: self.runs,
            max_runs: self.max_runs,
            threads: self.threads.unwrap_or_else(cores),
            read_timeout: std::time::Duration::from_secs_f64(self.read_timeout),
            max_connections: self.max_connections,
            session,
        };
        let exposed = !serve::is_loopback(&options.host);
        serve::run(&self.file, &options, controls.cancel, |address, session| {
            let shown = serve::link_address(address);
            let url = format!("http://{}/", shown.unwrap_or(address));
            match session {
                None => tell(&format!("The workshop page is at {url}  (Ctrl-C to stop)")),
                Some(session) => {
                    let kept = match (session.rounds(), session.proposals()) {
                        (Ok(r), Ok(p)) if r.len() > 1 || !p.is_empty() => format!(
                            "reopened with {} round{} and {} proposal{} kept; ",
                            r.len(),
                            if r.len() == 1 { "" } else { "s" },
                            p.len(),
                            if p.len() == 1 { "" } else { "s" }
                        ),
                        _ => String::new(),
                    };
                    tell(&format!(
                        "The workshop session {} is open ({kept}Ctrl-C to stop; it is saved as it goes). Give each group its own link:",
                        session.path().display()
                    ));
                    for (name, key) in session.keys() {
                        let page = if name == crate::serve::session::FACILITATOR {
                            "facilitator"
                        } else {
                            ""
                        };
                        tell(&format!("{name}: {url}{page}?key={key}"));
                    }
                }
            }
            if shown.is_none() {
                tell(&format!(
                    "The links say {}: replace it with this machine's address on the room's network (`hostname -I` shows it).",
                    address.ip()
                ));
            }
            if exposed {
                tell(&format!(
                    "Warning: this page answers every machine that can reach {}; anyone on the network can use it. Use --host 127.0.0.1 to keep it to this machine.",
                    if address.ip().is_unspecified() {
                        format!("this one on port {}", address.port())
                    } else {
                        address.to_string()
                    }
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

/// `output/<id>-workshop/session.sqlite` for the scenario at `file`.
fn default_session(file: &std::path::Path) -> Result<PathBuf, Error> {
    let loaded = crate::scenario::load(file)?;
    let model = crate::model::Model::from_scenario(&loaded)?;
    Ok(super::common::default_out_dir(&model, Some("workshop")).join("session.sqlite"))
}
