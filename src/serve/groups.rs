//! Peer groups in one room: the routes of a workshop session ([`super::session`]).
//!
//! - `POST /api/proposals` with a group's key (header `X-Trajectoire-Key`) and `{"set": {PATH:
//!   value}, "note": "...", "prediction": {OUTCOME: value}}`: the choices simulated against
//!   the file as written, then saved; 201 `{"id", "group", "round", ...}` once committed;
//! - `GET /api/session`: the groups, the rounds and the proposals — all of them with the
//!   facilitator's key, a group's own (and the others' of revealed rounds) with a group's;
//! - `POST /api/rounds` (facilitator): opens the next round; `POST /api/reveal` (facilitator,
//!   `{"round": N}` or the current one): every group sees the others' proposals of that round;
//! - `GET /api/room?round=N[&base=GROUP][&runs=N]` (facilitator): each group's latest proposal
//!   of the round simulated together on the same futures — the charts over one another and
//!   each group's paired difference with the base (the file as written unless `base`).
//!
//! No key → 401; a key of the wrong role or no one's → 403.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::answer::{errors, failed, for_client, invalid, read_body};
use super::session::{self, Interval, New, Proposal, Refused, Role, Session, Simulated, Verdict};
use super::state::Server;
use crate::output::plot;
use crate::study::outcome::default_outcomes;
use crate::study::workshop::Reading;

/// Who is asking, or the answer refusing them.
fn who(s: &Server, headers: &HeaderMap) -> Result<(Arc<Session>, Role), Box<Response>> {
    let Some(session) = s.session.clone() else {
        return Err(Box::new(errors(
            StatusCode::NOT_FOUND,
            "this workshop has no session with groups",
            Some("start the server with --groups NAME,NAME,... (or --session FILE)"),
        )));
    };
    let Some(key) = headers
        .get("x-trajectoire-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty())
    else {
        return Err(Box::new(errors(
            StatusCode::UNAUTHORIZED,
            "this needs a key: open the link you were given (it ends with ?key=...)",
            None,
        )));
    };
    match session.role(key) {
        Some(role) => Ok((session, role)),
        None => Err(Box::new(forbidden(
            "this key belongs to no group of this session: use the link the facilitator gave your group (the session may have been made again with new keys)",
        ))),
    }
}

fn forbidden(message: &str) -> Response {
    errors(StatusCode::FORBIDDEN, message, None)
}

/// A proposal as a group sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Proposed {
    #[serde(default)]
    set: BTreeMap<String, f64>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    prediction: BTreeMap<String, f64>,
}

/// What the simulation of a proposal gave, as stored.
fn simulated(s: &Server, reading: &Reading) -> Simulated {
    let c = &reading.comparison;
    // Named as a group predicts them (`perpetuation@end`), the first of the compared outcomes.
    let main = default_outcomes(&s.workshop.study.model);
    let mut out = Simulated {
        runs: c.runs,
        seed: c.seed,
        ..Simulated::default()
    };
    for (o, text) in main.iter().enumerate() {
        out.results
            .insert(text.clone(), Interval::of(&c.scenarios[1].estimates[o]));
        if let Some(d) = &c.scenarios[1].differences {
            out.differences.insert(text.clone(), Interval::of(&d[o]));
        }
    }
    out.verdicts = reading
        .hypotheses
        .iter()
        .map(|(_, chosen)| Verdict {
            name: chosen.hypothesis.name.clone(),
            text: chosen.hypothesis.text(),
            verdict: chosen.verdict.word().to_string(),
            estimate: Interval::of(&chosen.estimate),
        })
        .collect();
    out
}

/// `POST /api/proposals`.
pub async fn propose(
    State(s): State<Arc<Server>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (session, role) = match who(&s, &headers) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let Role::Group(group) = role else {
        return forbidden("only a group proposes: this is the facilitator's key");
    };
    let body = match read_body(&s, body).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let proposed: Proposed = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return errors(
                StatusCode::BAD_REQUEST,
                &format!("the proposal is not what the page sends: {e}"),
                Some("send JSON {\"set\": {\"PATH\": number}, \"note\": \"...\", \"prediction\": {\"OUTCOME\": number}}"),
            )
        }
    };
    if proposed.note.chars().count() > session::MAX_NOTE {
        return errors(
            StatusCode::BAD_REQUEST,
            &format!(
                "the note is {} characters long; keep it within {}",
                proposed.note.chars().count(),
                session::MAX_NOTE
            ),
            None,
        );
    }
    let main = default_outcomes(&s.workshop.study.model);
    for (outcome, x) in &proposed.prediction {
        if !main.contains(outcome) {
            return errors(
                StatusCode::BAD_REQUEST,
                &format!("prediction: `{outcome}` is not one of this scenario's main outcomes"),
                Some(&format!("predict one of: {}", main.join(", "))),
            );
        }
        if !x.is_finite() {
            return errors(
                StatusCode::BAD_REQUEST,
                &format!("prediction: {outcome} is not a number"),
                None,
            );
        }
        let counted = !crate::study::outcome::is_share(outcome);
        if (!counted && !(0.0..=1.0).contains(x)) || (counted && *x < 0.0) {
            return errors(
                StatusCode::BAD_REQUEST,
                &format!("prediction: {outcome} = {x} is out of its range"),
                Some(if counted {
                    "predict a number from 0 up"
                } else {
                    "predict a share from 0 to 1 (0.8 for 80%)"
                }),
            );
        }
    }
    // The number of runs and the seed are the session's, the same for every group.
    if let Some(path) = proposed.set.keys().find(|p| p.starts_with("simulation.")) {
        return errors(
            StatusCode::BAD_REQUEST,
            &format!(
                "`{path}` is the session's setting, the same for every group, not a group's choice"
            ),
            Some("choose levers, the budget and shocks: the paths of the page's sliders"),
        );
    }
    let choices: Vec<(String, f64)> = proposed.set.clone().into_iter().collect();
    if let Err(e) = s.workshop.prepare(&choices, None) {
        return invalid(&e);
    }
    let page = format!("group {group}");
    for_client(&s, addr.ip(), Some(&page), move |server, cancel| {
        let reading = match server.read(&choices, None, &cancel) {
            Err(e) => return invalid(&e),
            Ok(None) => {
                return errors(
                    StatusCode::CONFLICT,
                    "a newer proposal from this group replaced this one (it was not saved)",
                    None,
                )
            }
            Ok(Some(r)) => r,
        };
        let simulated = simulated(&server, &reading);
        let new = New {
            group: &group,
            set: &proposed.set,
            note: &proposed.note,
            prediction: &proposed.prediction,
            simulated: &simulated,
        };
        match session.propose(&new) {
            Ok((id, round)) => (
                StatusCode::CREATED,
                axum::Json(json!({
                    "id": id,
                    "group": group,
                    "round": round,
                    "results": simulated.results,
                    "differences": simulated.differences,
                    "verdicts": simulated.verdicts,
                })),
            )
                .into_response(),
            Err(Refused::TooMany) => errors(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "this group has made {} proposals in this round: ask the facilitator to open the next",
                    session::MAX_PROPOSALS
                ),
                None,
            ),
            Err(Refused::Storage(message)) => {
                errors(StatusCode::SERVICE_UNAVAILABLE, &message, None)
            }
        }
    })
    .await
}

/// The session as `role` may see it.
pub fn visible(session: &Session, role: &Role) -> Result<Value, crate::diag::Error> {
    let rounds = session.rounds()?;
    let revealed = |r: u32| rounds.iter().any(|x| x.number == r && x.revealed);
    let proposals: Vec<Proposal> = session
        .proposals()?
        .into_iter()
        .filter(|p| match role {
            Role::Facilitator => true,
            Role::Group(g) => &p.group == g || revealed(p.round),
        })
        .collect();
    let (kind, name) = match role {
        Role::Facilitator => ("facilitator", session::FACILITATOR.to_string()),
        Role::Group(g) => ("group", g.clone()),
    };
    Ok(json!({
        "role": kind,
        "name": name,
        "groups": session.group_names(),
        "rounds": rounds,
        "round": rounds.last().map_or(1, |r| r.number),
        "proposals": proposals,
    }))
}

/// `GET /api/session`.
pub async fn show(State(s): State<Arc<Server>>, headers: HeaderMap) -> Response {
    let (session, role) = match who(&s, &headers) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let answer = tokio::task::spawn_blocking(move || visible(&session, &role)).await;
    match answer {
        Ok(Ok(v)) => axum::Json(v).into_response(),
        Ok(Err(e)) => failed(StatusCode::SERVICE_UNAVAILABLE, &e),
        Err(_) => errors(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the session could not be read; please report it",
            None,
        ),
    }
}

/// The facilitator's session, or the answer refusing.
fn facilitator(s: &Server, headers: &HeaderMap) -> Result<Arc<Session>, Box<Response>> {
    match who(s, headers)? {
        (session, Role::Facilitator) => Ok(session),
        _ => Err(Box::new(forbidden(
            "only the facilitator does this: this is a group's key",
        ))),
    }
}

/// `POST /api/rounds`.
pub async fn next_round(State(s): State<Arc<Server>>, headers: HeaderMap) -> Response {
    let session = match facilitator(&s, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    match tokio::task::spawn_blocking(move || session.next_round()).await {
        Ok(Ok(Ok(round))) => {
            (StatusCode::CREATED, axum::Json(json!({"round": round}))).into_response()
        }
        Ok(Ok(Err(current))) => errors(
            StatusCode::CONFLICT,
            &format!("round {current} has no proposal yet: it stays open"),
            Some("open the next round once the groups have proposed in this one"),
        ),
        Ok(Err(e)) => failed(StatusCode::SERVICE_UNAVAILABLE, &e),
        Err(_) => errors(StatusCode::INTERNAL_SERVER_ERROR, "please report it", None),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reveal {
    round: Option<u32>,
}

/// `POST /api/reveal`.
pub async fn reveal(State(s): State<Arc<Server>>, headers: HeaderMap, body: Body) -> Response {
    let session = match facilitator(&s, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let body = match read_body(&s, body).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let asked: Reveal = if body.iter().all(u8::is_ascii_whitespace) {
        Reveal::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return errors(
                    StatusCode::BAD_REQUEST,
                    &format!("the request is not {{\"round\": N}}: {e}"),
                    None,
                )
            }
        }
    };
    match tokio::task::spawn_blocking(move || session.reveal(asked.round)).await {
        Ok(Ok(round)) => axum::Json(json!({"revealed": round})).into_response(),
        Ok(Err(e)) => failed(StatusCode::BAD_REQUEST, &e),
        Err(_) => errors(StatusCode::INTERNAL_SERVER_ERROR, "please report it", None),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomQuery {
    round: Option<u32>,
    base: Option<String>,
    runs: Option<u64>,
}

/// Each group's latest proposal of `round` (the current one if `None`), in the groups' order.
pub fn latest(
    session: &Session,
    round: Option<u32>,
) -> Result<(u32, Vec<Proposal>), crate::diag::Error> {
    let rounds = session.rounds()?;
    let round = round.unwrap_or_else(|| rounds.last().map_or(1, |r| r.number));
    let all = session.proposals()?;
    let chosen = session
        .group_names()
        .iter()
        .filter_map(|g| {
            all.iter()
                .rev()
                .find(|p| &p.group == g && p.round == round)
                .cloned()
        })
        .collect();
    Ok((round, chosen))
}

/// `GET /api/room`.
pub async fn room(
    State(s): State<Arc<Server>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<RoomQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let session = match facilitator(&s, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let Ok(Query(asked)) = query else {
        return errors(
            StatusCode::BAD_REQUEST,
            "the address's query cannot be read: give round=N, base=GROUP, runs=N",
            None,
        );
    };
    let (round, proposals) = match latest(&session, asked.round) {
        Ok(x) => x,
        Err(e) => return failed(StatusCode::SERVICE_UNAVAILABLE, &e),
    };
    let mut named: Vec<(String, Vec<(String, f64)>)> = vec![("as written".to_string(), Vec::new())];
    named.extend(
        proposals
            .iter()
            .map(|p| (p.group.clone(), p.set.clone().into_iter().collect())),
    );
    if let Some(base) = &asked.base {
        let Some(k) = named.iter().position(|(n, _)| n == base) else {
            return errors(
                StatusCode::BAD_REQUEST,
                &format!("base={base}: no proposal of this group in round {round}"),
                None,
            );
        };
        let b = named.remove(k);
        named.insert(0, b);
    }
    if let Err(e) = s.workshop.prepare_named(&named, asked.runs) {
        return invalid(&e);
    }
    for_client(&s, addr.ip(), Some("facilitator"), move |server, cancel| {
        let comparison = match server.compare(&named, asked.runs, &cancel) {
            Err(e) => return invalid(&e),
            Ok(None) => {
                return errors(
                    StatusCode::CONFLICT,
                    "a newer request replaced this one",
                    None,
                )
            }
            Ok(Some(c)) => c,
        };
        let names: Vec<String> = named.iter().map(|(n, _)| n.clone()).collect();
        let written = &server.workshop.study.model;
        let main = default_outcomes(written);
        let charts = match comparison.results.as_deref() {
            Some(results) => server.pool.install(|| {
                plot::overlays(written, &names, results, None, true).map(|v| {
                    v.into_iter()
                        .map(|(name, p)| json!({"name": name, "svg": p.svg}))
                        .collect::<Vec<_>>()
                })
            }),
            None => Ok(Vec::new()),
        };
        let charts = match charts {
            Ok(c) => c,
            Err(e) => return errors(StatusCode::INTERNAL_SERVER_ERROR, &e, None),
        };
        let entries: Vec<Value> = comparison
            .scenarios
            .iter()
            .map(|e| {
                let pick = |v: &[crate::stats::Estimate]| -> BTreeMap<String, Interval> {
                    main.iter()
                        .zip(v)
                        .map(|(o, x)| (o.clone(), Interval::of(x)))
                        .collect()
                };
                json!({
                    "name": e.name,
                    "results": pick(&e.estimates),
                    "differences": e.differences.as_deref().map(pick),
                })
            })
            .collect();
        axum::Json(json!({
            "round": round,
            "base": names[0],
            "runs": comparison.runs,
            "seed": comparison.seed,
            "entries": entries,
            "charts": charts,
        }))
        .into_response()
    })
    .await
}
