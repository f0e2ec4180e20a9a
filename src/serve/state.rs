//! What the server's requests share: the scenario open for the workshop, the workers, and
//! each client's slot.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::session::Session;
use crate::diag::Error;
use crate::ensemble::{Controls, Workspace};
use crate::study::compare::Comparison;
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
    /// Longest wait for a request's headers, and for its body, before answering 408.
    pub read_timeout: std::time::Duration,
    /// Most connections open at once; the next are answered 503.
    pub max_connections: usize,
    /// The workshop session with peer groups: its file, and the groups of a new one.
    pub session: Option<SessionOptions>,
}

/// A session of peer groups to open or make.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Its SQLite file.
    pub path: std::path::PathBuf,
    /// The groups (a new session's, or checked against a reopened one's).
    pub groups: Option<Vec<String>>,
}

/// One client's slot: the cancel flag of its simulation in progress, and a lock that makes its
/// simulations wait for one another.
#[derive(Default)]
pub struct Slot {
    current: Mutex<Option<Arc<AtomicBool>>>,
    pub(super) running: tokio::sync::Mutex<()>,
}

impl Slot {
    /// Cancels the client's simulation in progress, if any, and returns the flag of the new one.
    pub(super) fn replace(&self) -> Arc<AtomicBool> {
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
    /// The session of peer groups, if any.
    pub session: Option<Arc<Session>>,
    /// Longest wait for a request's body.
    pub read_timeout: std::time::Duration,
}

impl Server {
    /// The server of a workshop with `threads` workers.
    pub fn new(
        workshop: Workshop,
        threads: usize,
        session: Option<Session>,
        read_timeout: std::time::Duration,
    ) -> Result<Server, Error> {
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
            session: session.map(Arc::new),
            read_timeout,
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

    /// Runs several named sets of choices together, paired (see
    /// [`Workshop::prepare_named`]); `Ok(None)` when `cancel` was set.
    pub fn compare(
        &self,
        named: &[(String, Vec<(String, f64)>)],
        runs: Option<u64>,
        cancel: &AtomicBool,
    ) -> Result<Option<Comparison>, Error> {
        let quiet = |_: u64, _: u64| {};
        let controls = Controls {
            progress: &quiet,
            cancel,
        };
        let work = self.workshop.prepare_named(named, runs)?;
        Ok(self
            .pool
            .install(|| work.run(true, &self.workspace, &controls)))
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

/// The address to print in links: `address` itself, or, when the server listens on every
/// interface (0.0.0.0), this machine's address on its network — the one its route out uses
/// (a UDP socket connected to a documentation address learns it; no packet is sent). None
/// when there is no route (then the links carry 0.0.0.0, to be replaced by hand).
pub fn link_address(address: std::net::SocketAddr) -> Option<std::net::SocketAddr> {
    if !address.ip().is_unspecified() {
        return Some(address);
    }
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified() && !ip.is_loopback())
        .then(|| std::net::SocketAddr::new(ip, address.port()))
}
