//! What every route answers with: errors in one shape (`{"errors": [{"message", "help"}]}`),
//! a request's body read within bounds, and a client's work run in its turn.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::state::{Server, MAX_BODY};
use crate::diag::Error;
use crate::study::workshop::problems;

/// An error answer: `{"errors": [{"message", "help"}]}`.
pub fn errors(status: StatusCode, message: &str, help: Option<&str>) -> Response {
    (
        status,
        axum::Json(json!({"errors": [{"message": message, "help": help}]})),
    )
        .into_response()
}

/// The answer to a library error: 400 with each problem's message and help.
pub fn invalid(e: &Error) -> Response {
    failed(StatusCode::BAD_REQUEST, e)
}

/// The answer to a library error with `status`: each problem's message and help.
pub fn failed(status: StatusCode, e: &Error) -> Response {
    let list: Vec<Value> = problems(e)
        .into_iter()
        .map(|(message, help)| json!({"message": message, "help": help}))
        .collect();
    (status, axum::Json(json!({ "errors": list }))).into_response()
}

/// A request's body, read within the server's read timeout (else 408) and at most
/// [`MAX_BODY`] bytes (else 413).
pub async fn read_body(s: &Server, body: Body) -> Result<Bytes, Box<Response>> {
    match tokio::time::timeout(s.read_timeout, axum::body::to_bytes(body, MAX_BODY)).await {
        Err(_) => Err(Box::new(errors(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "the request's body did not arrive within {} s; send it again",
                s.read_timeout.as_secs_f64()
            ),
            None,
        ))),
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|c| c.is::<http_body_util::LengthLimitError>())
                || e.into_inner()
                    .downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some();
            Err(Box::new(if too_large {
                errors(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("the request is over {} KiB", MAX_BODY / 1024),
                    None,
                )
            } else {
                errors(
                    StatusCode::BAD_REQUEST,
                    "the request's body could not be read",
                    None,
                )
            }))
        }
    }
}

/// Sets the flag when dropped while armed: a request whose client went away stops its work.
struct CancelOnDrop(Arc<AtomicBool>, bool);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.1 {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// Runs `work` for the client at `ip` with its cancel flag: one at a time per client (a newer
/// request cancels this one, which then answers 409), within the server's gate.
pub async fn for_client(
    s: &Arc<Server>,
    ip: IpAddr,
    page: Option<&str>,
    work: impl FnOnce(Arc<Server>, Arc<AtomicBool>) -> Response + Send + 'static,
) -> Response {
    let slot = s.slot(ip, page);
    let flag = slot.replace();
    let mut guard = CancelOnDrop(flag.clone(), true);
    let superseded = || {
        errors(
            StatusCode::CONFLICT,
            "a newer request from this page replaced this one",
            None,
        )
    };
    let _running = slot.running.lock().await;
    if flag.load(Ordering::Relaxed) {
        return superseded();
    }
    let Ok(_permit) = s.gate.acquire().await else {
        return errors(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is stopping",
            None,
        );
    };
    if flag.load(Ordering::Relaxed) {
        return superseded();
    }
    let server = s.clone();
    let cancel = flag.clone();
    let answer = tokio::task::spawn_blocking(move || work(server, cancel)).await;
    guard.1 = false;
    match answer {
        Ok(r) => r,
        Err(_) => errors(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the simulation failed unexpectedly; please report it",
            None,
        ),
    }
}
