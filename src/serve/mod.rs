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
mod state;

pub use state::{is_loopback, Options, Server, Slot, MAX_BODY};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::diag::Error;
use crate::study::workshop::Workshop;

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
