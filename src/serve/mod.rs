//! Stage 7 — the workshop page: `trajectoire serve` answers a browser on this machine (or the
//! room's network) with a page of sliders and the charts of the choices made, always against
//! the scenario as written. The server is a thin skin over [`crate::study::workshop`]: an
//! axum router ([`api`]) over one shared state, the page's files embedded in the binary
//! ([`page`]), nothing read from disk after start.
//!
//! Limits are declared, not hoped for: request bodies of at most 64 KiB (413 past them), runs
//! of at most `--max-runs`, at most one simulation per client at a time (a newer request
//! cancels the older, which answers 409), at most two simulations per core at once across
//! clients (the others wait in turn, first come first served), and a handler that panicked
//! would answer 500 without taking the server down.

pub mod api;
pub mod page;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::diag::Error;
use crate::ensemble::{Controls, Workspace};
use crate::study::workshop::{Reading, Workshop};

/// Largest request body accepted, bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// How the server is started.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to listen on (`127.0.0.1`: this machine only).
    pub host: String,
    /// Port (0: any free one).
    pub port: u16,
    /// Runs of a request that does not say (default: the file's).
    pub runs: Option<u64>,
    /// Most runs a request may ask.
    pub max_runs: u64,
    /// Worker threads for the simulations.
    pub threads: usize,
}

/// One client's slot: the cancel flag of its simulation in progress, and a lock that makes its
/// simulations wait for one another.
#[derive(Default)]
pub struct Slot {
    current: Mutex<Option<Arc<AtomicBool>>>,
    running: tokio::sync::Mutex<()>,
}

impl Slot {
    /// Cancels the client's simulation in progress, if any, and returns the flag of the new one.
    fn replace(&self) -> Arc<AtomicBool> {
        let fresh = Arc::new(AtomicBool::new(false));
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = current.replace(fresh.clone()) {
            old.store(true, Ordering::Relaxed);
        }
        fresh
    }
}

/// What every request shares.
pub struct Server {
    /// The scenario, open for the workshop.
    pub workshop: Workshop,
    /// Workers for the simulations.
    pub pool: rayon::ThreadPool,
    /// Memory kept from one simulation to the next.
    pub workspace: Workspace,
    /// Simulations at once, across clients (fair: first come, first served).
    pub gate: tokio::sync::Semaphore,
    /// Per client (a page's own name, else its address): its slot.
    pub clients: Mutex<HashMap<String, Arc<Slot>>>,
}

impl Server {
    /// The server of a workshop with `threads` workers.
    pub fn new(workshop: Workshop, threads: usize) -> Result<Server, Error> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .map_err(|e| Error::Usage(format!("cannot start the worker threads: {e}")))?;
        Ok(Server {
            workshop,
            pool,
            workspace: Workspace::new(),
            gate: tokio::sync::Semaphore::new(2 * threads.max(1)),
            clients: Mutex::new(HashMap::new()),
        })
    }

    /// Reads `choices` against the file as written on the server's workers; `Ok(None)` when
    /// `cancel` was set by a newer request.
    pub fn read(
        &self,
        choices: &[(String, f64)],
        runs: Option<u64>,
        cancel: &AtomicBool,
    ) -> Result<Option<Reading>, Error> {
        let quiet = |_: u64, _: u64| {};
        let controls = Controls {
            progress: &quiet,
            cancel,
        };
        self.pool.install(|| {
            self.workshop
                .read(choices, runs, &self.workspace, &controls)
        })
    }

    /// The slot of a client: the page named `page` (its `X-Trajectoire-Page` header, at most
    /// 64 characters) or, without one, whatever comes from `ip`.
    pub fn slot(&self, ip: IpAddr, page: Option<&str>) -> Arc<Slot> {
        let key = match page.filter(|p| !p.is_empty() && p.len() <= 64) {
            Some(p) => format!("page {p}"),
            None => format!("address {ip}"),
        };
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        // A room of phones is tens of clients; a scan by many addresses is bounded here.
        if clients.len() > 10_000 {
            clients.retain(|_, s| Arc::strong_count(s) > 1);
        }
        clients.entry(key).or_default().clone()
    }
}

/// Whether an address is this machine only.
pub fn is_loopback(host: &str) -> bool {
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) || host == "localhost"
}

/// Opens `path` for a workshop and serves it until `stop` is set (the program sets it on
/// Ctrl-C). `ready` is told the address listened on once the server accepts connections.
pub fn run(
    path: &std::path::Path,
    options: &Options,
    stop: &AtomicBool,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), Error> {
    let workshop = Workshop::open(path, options.runs, options.max_runs)?;
    let server = Arc::new(Server::new(workshop, options.threads)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the server: {e}")))?;
    runtime.block_on(async move {
        let address = format!("{}:{}", options.host, options.port);
        let listener = tokio::net::TcpListener::bind(&address)
            .await
            .map_err(|e| Error::Usage(format!("cannot listen on {address}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::Usage(format!("cannot listen on {address}: {e}")))?;
        ready(local);
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(
            listener,
            api::router(server).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        let watch = async {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        };
        let server = std::future::IntoFuture::into_future(server);
        tokio::pin!(server);
        let ended = tokio::select! {
            result = &mut server => Some(result),
            () = watch => None,
        };
        let served = match ended {
            Some(result) => result,
            None => {
                let _ = stopping.send(());
                server.await
            }
        };
        served.map_err(|e| Error::Usage(format!("the server stopped: {e}")))
    })
}
