//! The routes: the page and its two files, and the API the page uses (and a test or another
//! tool can call):
//!
//! - `GET /api/scenario` — the scenario: its name, towns, sliders (path, label, min, max, step,
//!   unit, value as written), hypotheses, runs;
//! - `POST /api/simulate` with `{"set": {"PATH": value, ...}, "runs": N}` — the charts (inline
//!   SVG), the paired differences with the scenario as written in words, the hypotheses'
//!   verdicts; invalid input → 400 `{"errors": [{"message", "help"}]}` with `--set`'s messages;
//! - `GET /api/export?PATH=value&...[&file=ID]` — the scenario file with the choices written in;
//! - `GET /api/results.csv?PATH=value&...[&runs=N]` — the comparison as `compare.csv`;
//! - with a session of peer groups, `/facilitator` and the routes of [`super::groups`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::answer::{errors, for_client, invalid, read_body};
use super::state::{Server, MAX_BODY};
use super::{groups, page};
use crate::output::{self, plot, text};
use crate::stats::Estimate;
use crate::study::workshop::{Reading, NAMES};

/// The router over a server's state.
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { file(page::INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/app.js",
            get(|| async { file(page::SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/style.css",
            get(|| async { file(page::STYLE, "text/css; charset=utf-8") }),
        )
        .route("/api/scenario", get(scenario))
        .route("/api/simulate", post(simulate))
        .route("/api/export", get(export))
        .route("/api/results.csv", get(results_csv))
        .route(
            "/facilitator",
            get(|| async { file(page::FACILITATOR, "text/html; charset=utf-8") }),
        )
        .route(
            "/facilitator.js",
            get(|| async { file(page::FACILITATOR_SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route("/api/proposals", post(groups::propose))
        .route("/api/session", get(groups::show))
        .route("/api/rounds", post(groups::next_round))
        .route("/api/reveal", post(groups::reveal))
        .route("/api/room", get(groups::room))
        .fallback(|| async {
            errors(
                StatusCode::NOT_FOUND,
                "there is nothing at this address",
                None,
            )
        })
        .method_not_allowed_fallback(|method: axum::http::Method| async move {
            errors(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("{method} is not answered at this address"),
                Some("the API's addresses take GET to read (/api/scenario, /api/session, /api/room, /api/export, /api/results.csv) and POST to act (/api/simulate, /api/proposals, /api/rounds, /api/reveal)"),
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(server)
}

/// One of the page's files, with headers that keep it from being sniffed or framed elsewhere.
fn file(body: &'static str, kind: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

async fn scenario(State(s): State<Arc<Server>>) -> Response {
    let w = &s.workshop;
    let m = &w.study.model;
    let hypotheses: Vec<Value> = w
        .study
        .hypotheses
        .iter()
        .map(|h| json!({"name": h.name, "text": h.text()}))
        .collect();
    axum::Json(json!({
        "id": m.id,
        "name": m.name,
        "is_network": m.is_network,
        "territories": m.territories.iter().map(|t| json!({"id": t.id, "name": t.name})).collect::<Vec<_>>(),
        "start_year": m.start_year(),
        "horizon": m.horizon(),
        "runs": w.runs,
        "max_runs": w.max_runs,
        "seed": m.settings.seed,
        "sliders": w.sliders.iter().map(|s| {
            let mut s = s.clone();
            s.unit = Some(s.unit.unwrap_or_else(|| crate::output::units::unit_of(&s.path).to_string()));
            s
        }).collect::<Vec<_>>(),
        "hypotheses": hypotheses,
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

/// `{"set": {"PATH": value, ...}, "runs": N}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default)]
    set: BTreeMap<String, f64>,
    runs: Option<u64>,
}

/// The page's own name, if it sent one.
fn page_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-trajectoire-page")
        .and_then(|v| v.to_str().ok())
}

async fn simulate(
    State(s): State<Arc<Server>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match read_body(&s, body).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let request: Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return errors(
                StatusCode::BAD_REQUEST,
                &format!("the request is not what this page sends: {e}"),
                Some("send JSON {\"set\": {\"PATH\": number, ...}, \"runs\": N}"),
            )
        }
    };
    let choices: Vec<(String, f64)> = request.set.into_iter().collect();
    // Checked before waiting for a turn: a bad request is told at once.
    if let Err(e) = s.workshop.prepare(&choices, request.runs) {
        return invalid(&e);
    }
    for_client(&s, addr.ip(), page_of(&headers), move |server, cancel| {
        let started = Instant::now();
        let reading = server.read(&choices, request.runs, &cancel);
        match reading {
            Err(e) => invalid(&e),
            Ok(None) => errors(
                StatusCode::CONFLICT,
                "a newer request from this page replaced this one",
                None,
            ),
            Ok(Some(reading)) => match server.pool.install(|| answer(&server, &reading)) {
                Ok(mut v) => {
                    v["elapsed_ms"] = json!(started.elapsed().as_secs_f64() * 1e3);
                    axum::Json(v).into_response()
                }
                Err(e) => errors(StatusCode::INTERNAL_SERVER_ERROR, &e, None),
            },
        }
    })
    .await
}

fn estimate(e: &Estimate) -> Value {
    let n = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
    json!({"estimate": n(e.estimate), "low": n(e.low), "high": n(e.high), "n": e.n})
}

/// The page's answer to a reading: charts, differences in words, verdicts.
fn answer(server: &Server, reading: &Reading) -> Result<Value, String> {
    let c = &reading.comparison;
    let written = &server.workshop.study.model;
    let names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    let results = c.results.as_deref().ok_or("no results")?;
    let mut charts: Vec<Value> =
        plot::overlays(written, &names, results, c.series.as_deref(), true)?
            .into_iter()
            .map(|(name, p)| json!({"name": name, "svg": p.svg}))
            .collect();
    charts.push(json!({
        "name": "phases",
        "svg": plot::standard_svg("phases", &reading.model, &results[1])?,
    }));
    let differences: Vec<Value> = c
        .outcomes
        .iter()
        .enumerate()
        .filter(|(o, _)| *o < crate::study::outcome::default_outcomes(written).len())
        .map(|(o, text)| {
            let (w, ch) = (&c.scenarios[0].estimates[o], &c.scenarios[1].estimates[o]);
            let d = c.scenarios[1]
                .differences
                .as_ref()
                .map(|d| d[o])
                .unwrap_or(*w);
            let (what, territory) = text::outcome_words(text, written);
            json!({
                "outcome": text,
                "territory": territory,
                "what": what,
                "written": estimate(w),
                "chosen": estimate(ch),
                "difference": estimate(&d),
                "sentence": text::difference_sentence(text, &what, w, ch, &d, written),
            })
        })
        .collect();
    let hypotheses: Vec<Value> = reading
        .hypotheses
        .iter()
        .map(|(w, ch)| {
            json!({
                "name": w.hypothesis.name,
                "text": w.hypothesis.text(),
                "written": {"verdict": w.verdict.word(), "estimate": estimate(&w.estimate)},
                "chosen": {"verdict": ch.verdict.word(), "estimate": estimate(&ch.estimate)},
            })
        })
        .collect();
    Ok(json!({
        "runs": c.runs,
        "seed": c.seed,
        "sets": reading.sets,
        "charts": charts,
        "differences": differences,
        "hypotheses": hypotheses,
    }))
}

/// What a query `PATH=value&...[&file=ID][&runs=N]` asks.
struct Asked {
    choices: Vec<(String, f64)>,
    file: Option<String>,
    runs: Option<u64>,
}

/// The choices of a query, and its `file` and `runs` if given; a 400 answer if unreadable.
fn choices_of(query: &[(String, String)]) -> Result<Asked, Box<Response>> {
    let refuse = |message: &str, help: Option<&str>| {
        Box::new(errors(StatusCode::BAD_REQUEST, message, help))
    };
    let mut asked = Asked {
        choices: Vec::new(),
        file: None,
        runs: None,
    };
    for (k, v) in query {
        match k.as_str() {
            "file" => asked.file = Some(v.clone()),
            "runs" => {
                let runs = v
                    .parse()
                    .map_err(|_| refuse(&format!("runs={v} is not a number of runs"), None))?;
                asked.runs = Some(runs);
            }
            _ => {
                let x: f64 = v
                    .parse()
                    .ok()
                    .filter(|x: &f64| x.is_finite())
                    .ok_or_else(|| {
                        refuse(
                            &format!("{k}={v}: the value is not a number"),
                            Some("write PATH=number, e.g. lever.citergie.intensity=0.5"),
                        )
                    })?;
                asked.choices.push((k.clone(), x));
            }
        }
    }
    if asked.choices.len() > 1000 {
        return Err(refuse("too many choices", None));
    }
    Ok(asked)
}

type QueryOf = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

/// What a query asks, checked against the scenario as `--set` checks (a 400 answer if not).
fn asked(s: &Server, query: QueryOf) -> Result<Asked, Box<Response>> {
    let Ok(Query(query)) = query else {
        return Err(Box::new(errors(
            StatusCode::BAD_REQUEST,
            "the address's query cannot be read",
            None,
        )));
    };
    let asked = choices_of(&query)?;
    match s.workshop.prepare(&asked.choices, asked.runs) {
        Ok(_) => Ok(asked),
        Err(e) => Err(Box::new(invalid(&e))),
    }
}

async fn export(State(s): State<Arc<Server>>, query: QueryOf) -> Response {
    let Asked { choices, file, .. } = match asked(&s, query) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match crate::serve::page::export(&s.workshop, &choices, file.as_deref()) {
        Ok((name, text)) => {
            let mut r = text.into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/toml; charset=utf-8"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        Err(message) => errors(StatusCode::BAD_REQUEST, &message, None),
    }
}

async fn results_csv(
    State(s): State<Arc<Server>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: QueryOf,
) -> Response {
    let Asked { choices, runs, .. } = match asked(&s, query) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    for_client(&s, addr.ip(), page_of(&headers), move |server, cancel| {
        let reading = server.read(&choices, runs, &cancel);
        match reading {
            Ok(Some(r)) => {
                let mut resp = output::compare::csv(&r.comparison).into_response();
                let h = resp.headers_mut();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                );
                h.insert(
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment; filename=\"results.csv\""),
                );
                resp
            }
            Ok(None) => errors(
                StatusCode::CONFLICT,
                "a newer request replaced this one",
                None,
            ),
            Err(e) => invalid(&e),
        }
    })
    .await
}
