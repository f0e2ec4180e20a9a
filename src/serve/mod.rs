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
//! would answer 500 without taking the server down. Connections are served by hyper directly:
//! at most `--max-connections` at once (the next answered 503), a request's headers and then its
//! body within `--read-timeout` (else 408), so that phones dropping off a room's network do not
//! hold the server. With `--groups`, a workshop [`session`] of peer groups kept in SQLite
//! ([`groups`] has its routes).

mod answer;
pub mod api;
pub mod groups;
pub mod page;
pub mod session;
mod state;

pub use state::{is_loopback, link_address, Options, Server, SessionOptions, Slot, MAX_BODY};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;

use crate::diag::Error;
use crate::study::workshop::Workshop;

/// A whole answer written on a connection hyper does not serve: `status` with an error
/// message as the API gives them, then closed.
fn plain(status: &str, message: &str) -> Vec<u8> {
    let body = serde_json::json!({"errors": [{"message": message, "help": null}]}).to_string();
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nretry-after: 2\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Opens the session of `options` for `workshop`, if any.
pub fn open_session(
    workshop: &Workshop,
    options: &SessionOptions,
) -> Result<session::Session, Error> {
    let model = &workshop.study.model;
    session::Session::open(
        &options.path,
        &crate::study::proposal::fingerprint(model),
        &model.id,
        options.groups.as_deref(),
    )
}

/// Opens `path` for a workshop and serves it until `stop` is set (the program sets it on
/// Ctrl-C). `ready` is told the address listened on, and the session's keys, once the server
/// accepts connections.
pub fn run(
    path: &std::path::Path,
    options: &Options,
    stop: &AtomicBool,
    ready: impl FnOnce(SocketAddr, Option<&session::Session>),
) -> Result<(), Error> {
    let workshop = Workshop::open(path, options.runs, options.max_runs)?;
    let session = match &options.session {
        Some(o) => Some(open_session(&workshop, o)?),
        None => None,
    };
    let server = Arc::new(Server::new(
        workshop,
        options.threads,
        session,
        options.read_timeout,
    )?);
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
        ready(local, server.session.as_deref());
        let router = api::router(server.clone());
        let open = Arc::new(tokio::sync::Semaphore::new(options.max_connections.max(1)));
        let mut connections = tokio::task::JoinSet::new();
        let watch = async {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        };
        tokio::pin!(watch);
        loop {
            tokio::select! {
                () = &mut watch => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => {
                    let Ok((stream, remote)) = accepted else {
                        // Out of file descriptors, or a connection reset before it was
                        // accepted: wait a moment rather than spin.
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    };
                    match open.clone().try_acquire_owned() {
                        Ok(permit) => {
                            let service = router.clone().layer(axum::Extension(ConnectInfo(remote)));
                            let timeout = options.read_timeout;
                            connections.spawn(async move {
                                let _permit = permit;
                                connection(stream, service, timeout).await;
                            });
                        }
                        Err(_) => {
                            connections.spawn(busy(stream));
                        }
                    }
                }
            }
        }
        // Stopping: requests in progress get a moment to finish, then are dropped.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        connections.abort_all();
        Ok(())
    })
}

/// Answers a connection past `--max-connections` with 503, then reads what the client still
/// sends (so that closing does not reset the connection before the answer is read).
async fn busy(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;
    let wait = std::time::Duration::from_secs(2);
    let answer = plain(
        "503 Service Unavailable",
        "the server has too many connections open; try again in a moment",
    );
    if tokio::time::timeout(wait, stream.write_all(&answer))
        .await
        .is_err()
    {
        return;
    }
    let _ = stream.shutdown().await;
    let _ = tokio::time::timeout(wait, async {
        let mut sink = [0u8; 1024];
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Serves one connection: HTTP/1.1 with keep-alive, its headers read within `timeout` (else
/// 408 and closed).
async fn connection(
    stream: tokio::net::TcpStream,
    service: axum::Router,
    timeout: std::time::Duration,
) {
    // A second handle on the socket, to answer 408 once hyper has given the connection up.
    let spare = stream
        .into_std()
        .and_then(|s| Ok((s.try_clone()?, s)))
        .and_then(|(spare, s)| Ok((spare, tokio::net::TcpStream::from_std(s)?)));
    let Ok((spare, stream)) = spare else {
        return;
    };
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
        .await;
    if let Err(e) = served {
        if e.is_timeout() {
            if let Ok(mut spare) = tokio::net::TcpStream::from_std(spare) {
                let _ = tokio::time::timeout(
                    std::time::Duration::from_secs(2),
                    spare.write_all(&plain(
                        "408 Request Timeout",
                        "the request did not arrive in time; send it again",
                    )),
                )
                .await;
                let _ = spare.shutdown().await;
            }
        }
    }
}
