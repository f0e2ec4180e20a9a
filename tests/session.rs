//! A workshop session of peer groups over real HTTP, with the program as a separate process:
//! the API's contract (keys and roles, refusals with their status and words, proposals
//! simulated as `/api/simulate` does, rounds and reveals, the room drawn on the same futures),
//! a `kill -9` after proposals and a restart on the same file (every key and proposal back,
//! byte for byte), a session refused for another scenario, and slow or too many connections
//! answered 408 and 503 without holding the server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{http, scenarios};

/// A `trajectoire serve` process and what it printed: its address and each role's key.
struct Served {
    child: Child,
    address: SocketAddr,
    keys: Vec<(String, String)>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn key(&self, role: &str) -> String {
        self.keys
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, k)| k.clone())
            .unwrap_or_else(|| panic!("no key for {role}: {:?}", self.keys))
    }
}

fn folder(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("trajectoire-session-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts the program's server with `args` after `serve FILE`, on a free port; waits for the
/// facilitator's link (or for the page's address without a session).
fn serve(file: &Path, args: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trajectoire"))
        .arg("serve")
        .arg(file)
        .args(["--port", "0", "--threads", "2"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut keys = Vec::new();
    let mut address = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some((role, url)) = line.split_once(": http://") {
            let (host, rest) = url.split_once('/').unwrap();
            address = Some(host.parse().unwrap());
            let key = rest.rsplit_once("key=").unwrap().1.to_string();
            keys.push((role.to_string(), key));
            if role == "facilitator" {
                break;
            }
        } else if let Some(url) = line.strip_prefix("The workshop page is at http://") {
            address = Some(url.split('/').next().unwrap().parse().unwrap());
            break;
        }
    }
    // What it prints later is not read: keep the pipe drained.
    std::thread::spawn(move || for _ in lines {});
    let Some(address) = address else {
        let mut err = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        panic!("the server did not start: {err}");
    };
    Served {
        child,
        address,
        keys,
    }
}

fn call(s: &Served, method: &str, path: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(k) = key {
        headers.push(("X-Trajectoire-Key", k));
    }
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let (status, text) = http(s.address, method, path, &headers, &body);
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    (status, value)
}

fn message(v: &Value) -> String {
    v["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_api_keeps_its_contract_and_nothing_is_lost_to_kill_9() {
    let dir = folder("contract");
    let file = scenarios().join("grande-synthe.toml");
    let session = dir.join("session.sqlite");
    let session_arg = session.to_str().unwrap();
    let s = serve(
        &file,
        &[
            "--groups",
            "elected,staff,actors",
            "--session",
            session_arg,
            "--runs",
            "200",
        ],
    );
    let names: Vec<&str> = s.keys.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(names, ["elected", "staff", "actors", "facilitator"]);
    for (_, k) in &s.keys {
        assert_eq!(k.len(), 32, "128 bits in hex");
        assert!(k.chars().all(|c| c.is_ascii_hexdigit()));
    }
    let (elected, staff, facilitator) = (s.key("elected"), s.key("staff"), s.key("facilitator"));
    let set = json!({"lever.cooperation.intensity": 1.0});
    let proposal = json!({"set": set, "note": "la coopération entraîne les services", "prediction": {"perpetuation@end": 0.6}});

    // Who may do what.
    let (status, v) = call(&s, "POST", "/api/proposals", None, &proposal);
    assert_eq!(status, 401, "{v}");
    assert!(message(&v).contains("needs a key"));
    let (status, v) = call(&s, "POST", "/api/proposals", Some(&facilitator), &proposal);
    assert_eq!(
        (status, message(&v).contains("only a group")),
        (403, true),
        "{v}"
    );
    let (status, _) = call(
        &s,
        "POST",
        "/api/proposals",
        Some("0123456789abcdef0123456789abcdef"),
        &proposal,
    );
    assert_eq!(status, 403);
    let (status, _) = call(&s, "GET", "/api/session", None, &Value::Null);
    assert_eq!(status, 401);
    let (status, v) = call(&s, "GET", "/api/proposals", Some(&elected), &Value::Null);
    assert_eq!(status, 405);
    assert_eq!(message(&v), "GET is not answered at this address");
    let (status, _) = call(&s, "POST", "/api/rounds", Some(&elected), &json!({}));
    assert_eq!(status, 403);
    let (status, _) = call(&s, "GET", "/api/room", Some(&staff), &Value::Null);
    assert_eq!(status, 403);

    // Bad proposals: the words of --set, and the bounds.
    let (status, v) = call(
        &s,
        "POST",
        "/api/proposals",
        Some(&elected),
        &json!({"set": {"lever.coopration.intensity": 1.0}}),
    );
    assert_eq!(status, 400);
    assert_eq!(message(&v), "unknown lever `coopration`");
    assert_eq!(v["errors"][0]["help"], "did you mean `cooperation`?");
    let (status, v) = call(
        &s,
        "POST",
        "/api/proposals",
        Some(&elected),
        &json!({"note": "x".repeat(4001)}),
    );
    assert_eq!(status, 400);
    assert!(message(&v).contains("4001 characters"), "{v}");
    let (status, v) = call(
        &s,
        "POST",
        "/api/proposals",
        Some(&elected),
        &json!({"prediction": {"happiness@end": 1}}),
    );
    assert_eq!(status, 400);
    assert!(message(&v).contains("`happiness@end` is not one of"), "{v}");
    // A share predicted as a percentage, and the session's own settings, are refused.
    let (status, v) = call(
        &s,
        "POST",
        "/api/proposals",
        Some(&elected),
        &json!({"prediction": {"scale@end": 80}}),
    );
    assert_eq!(status, 400);
    assert!(
        message(&v).contains("scale@end = 80 is out of its range"),
        "{v}"
    );
    assert_eq!(
        v["errors"][0]["help"],
        "predict a share from 0 to 1 (0.8 for 80%)"
    );
    let (status, v) = call(
        &s,
        "POST",
        "/api/proposals",
        Some(&elected),
        &json!({"set": {"simulation.runs": 10}}),
    );
    assert_eq!(status, 400);
    assert!(
        message(&v).contains("`simulation.runs` is the session's setting"),
        "{v}"
    );
    let (status, _) = call(
        &s,
        "POST",
        "/api/proposals",
        Some(&elected),
        &json!({"sett": {}}),
    );
    assert_eq!(status, 400);

    // A proposal: simulated as /api/simulate simulates the same choices, then saved.
    let (status, made) = call(&s, "POST", "/api/proposals", Some(&elected), &proposal);
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        (
            made["id"].as_i64(),
            made["group"].as_str(),
            made["round"].as_i64()
        ),
        (Some(1), Some("elected"), Some(1))
    );
    let (status, simulated) = call(
        &s,
        "POST",
        "/api/simulate",
        None,
        &json!({"set": set, "runs": 200}),
    );
    assert_eq!(status, 200);
    let perpetuation = simulated["differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["outcome"].as_str().unwrap().starts_with("perpetuation@"))
        .unwrap()
        .clone();
    assert_eq!(
        made["results"]["perpetuation@end"]["estimate"],
        perpetuation["chosen"]["estimate"]
    );
    assert_eq!(
        made["results"]["perpetuation@end"]["low"],
        perpetuation["chosen"]["low"]
    );
    assert_eq!(
        made["differences"]["perpetuation@end"]["estimate"],
        perpetuation["difference"]["estimate"]
    );
    let (status, _) = call(
        &s,
        "POST",
        "/api/proposals",
        Some(&staff),
        &json!({"set": {"lever.cooperation.intensity": 0.0}, "note": "<script>document.title='pwned'</script>"}),
    );
    assert_eq!(status, 201);

    // Each group sees its own, the facilitator all; a reveal shows the others.
    let (_, mine) = call(&s, "GET", "/api/session", Some(&elected), &Value::Null);
    assert_eq!(mine["role"], "group");
    assert_eq!(mine["proposals"].as_array().unwrap().len(), 1);
    let (_, all) = call(&s, "GET", "/api/session", Some(&facilitator), &Value::Null);
    assert_eq!(all["proposals"].as_array().unwrap().len(), 2);
    assert_eq!(all["groups"], json!(["elected", "staff", "actors"]));
    assert_eq!(
        all["proposals"][0]["note"],
        "la coopération entraîne les services"
    );
    assert_eq!(all["proposals"][0]["prediction"]["perpetuation@end"], 0.6);
    let (status, v) = call(
        &s,
        "POST",
        "/api/reveal",
        Some(&facilitator),
        &json!({"round": 1}),
    );
    assert_eq!((status, &v["revealed"]), (200, &json!(1)));
    // A round that does not exist: the message as the page shows it, without the program's
    // "error: " and newline.
    let (status, v) = call(
        &s,
        "POST",
        "/api/reveal",
        Some(&facilitator),
        &json!({"round": 9}),
    );
    assert_eq!(status, 400);
    assert_eq!(
        message(&v),
        "round 9: no such round (the session has rounds 1 to 1)"
    );
    let (_, mine) = call(&s, "GET", "/api/session", Some(&elected), &Value::Null);
    assert_eq!(mine["proposals"].as_array().unwrap().len(), 2);

    // The room: the groups' latest proposals on the same futures; each paired difference with
    // the file as written is the one its proposal was given alone (the same runs and seed).
    let (status, room) = call(
        &s,
        "GET",
        "/api/room?round=1",
        Some(&facilitator),
        &Value::Null,
    );
    assert_eq!(status, 200, "{room}");
    let entries = room["entries"].as_array().unwrap();
    let named: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["as written", "elected", "staff"]);
    assert_eq!(
        entries[1]["differences"]["perpetuation@end"],
        made["differences"]["perpetuation@end"]
    );
    assert!(!room["charts"].as_array().unwrap().is_empty());
    let (status, based) = call(
        &s,
        "GET",
        "/api/room?round=1&base=staff",
        Some(&facilitator),
        &Value::Null,
    );
    assert_eq!(status, 200);
    assert_eq!(based["base"], "staff");
    let (status, _) = call(
        &s,
        "GET",
        "/api/room?round=1&base=actors",
        Some(&facilitator),
        &Value::Null,
    );
    assert_eq!(status, 400, "actors made no proposal");

    // The next round.
    let (status, v) = call(&s, "POST", "/api/rounds", Some(&facilitator), &json!({}));
    assert_eq!((status, &v["round"]), (201, &json!(2)));
    // A second click opens no empty round.
    let (status, v) = call(&s, "POST", "/api/rounds", Some(&facilitator), &json!({}));
    assert_eq!(status, 409, "{v}");
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("round 2 has no proposal yet"));
    let (status, v) = call(
        &s,
        "POST",
        "/api/proposals",
        Some(&elected),
        &json!({"note": "round two"}),
    );
    assert_eq!((status, &v["round"]), (201, &json!(2)));
    let (_, before) = call(&s, "GET", "/api/session", Some(&facilitator), &Value::Null);

    // Killed at once: every proposal answered 201 is in the file; the keys still open it.
    let mut s = s;
    let pid = s.child.id();
    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = s.child.wait();
    let keys = s.keys.clone();
    drop(s);
    let again = serve(&file, &["--session", session_arg, "--runs", "200"]);
    assert_eq!(again.keys, keys, "the same groups and keys");
    let (_, after) = call(
        &again,
        "GET",
        "/api/session",
        Some(&facilitator),
        &Value::Null,
    );
    assert_eq!(after.to_string(), before.to_string(), "byte for byte");
    drop(again);

    // The report of the session: every round's proposals, the groups' words as text.
    let page = dir.join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_trajectoire"))
        .args([
            "report",
            file.to_str().unwrap(),
            "--runs",
            "200",
            "--quiet",
            "--session",
            session_arg,
            "--out",
        ])
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<h2 id=\"session\">The workshop session</h2>"));
    assert!(html.contains("<h3>Round 1</h3>") && html.contains("<h3>Round 2</h3>"));
    assert!(html.contains("la coopération entraîne les services"));
    assert!(
        html.contains("&lt;script&gt;document.title="),
        "the note as text"
    );
    assert!(!html.contains("<script>document.title"), "never as markup");
    // Round 2's only proposal moved nothing: no group is compared as a variant.
    assert!(!html.contains("(round 2)"));
    let out = Command::new(env!("CARGO_BIN_EXE_trajectoire"))
        .args([
            "report",
            scenarios().join("malaunay.toml").to_str().unwrap(),
            "--session",
            session_arg,
            "--out",
        ])
        .arg(dir.join("other.html"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("was made for the scenario"));

    // The file made for Grande-Synthe refuses another scenario, and other groups.
    let out = Command::new(env!("CARGO_BIN_EXE_trajectoire"))
        .args([
            "serve",
            scenarios().join("malaunay.toml").to_str().unwrap(),
            "--port",
            "0",
            "--session",
            session_arg,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("was made for the scenario"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_trajectoire"))
        .args([
            "serve",
            file.to_str().unwrap(),
            "--port",
            "0",
            "--session",
            session_arg,
            "--groups",
            "a,b",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("was made with the groups elected,staff,actors"));
    let out = Command::new(env!("CARGO_BIN_EXE_trajectoire"))
        .args([
            "serve",
            file.to_str().unwrap(),
            "--port",
            "0",
            "--groups",
            "elected,1st",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`1st` is not a group name"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_read_only_session_is_refused_before_anything_is_proposed() {
    let dir = folder("read-only");
    let file = scenarios().join("grande-synthe.toml");
    let session = dir.join("session.sqlite");
    let s = serve(
        &file,
        &[
            "--groups",
            "elected",
            "--session",
            session.to_str().unwrap(),
        ],
    );
    drop(s);
    let mut permissions = std::fs::metadata(&session).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&session, permissions.clone()).unwrap();
    // Root writes whatever the permissions say: the refusal cannot be seen then (the unit test
    // of a session that cannot be written covers the proposals' side).
    if std::fs::OpenOptions::new()
        .append(true)
        .open(&session)
        .is_ok()
    {
        crate::common::skipped(
            "a read-only session",
            "running as root, every file can be written",
        );
    } else {
        let out = Command::new(env!("CARGO_BIN_EXE_trajectoire"))
            .args([
                "serve",
                file.to_str().unwrap(),
                "--port",
                "0",
                "--session",
                session.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("cannot be written"), "{err}");
    }
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    let _ = std::fs::set_permissions(&session, permissions);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads what the server answered on `stream`, within `wait`: the status, or 0 if nothing.
fn answered(stream: &mut TcpStream, wait: Duration) -> u16 {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&raw);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[test]
fn slow_and_surplus_connections_get_408_and_503_and_the_server_keeps_answering() {
    let file = scenarios().join("grande-synthe.toml");
    let s = serve(&file, &["--read-timeout", "1", "--max-connections", "40"]);
    // 800 requests that stop half way through their headers, as phones dropping off the room's
    // network would.
    let mut half: Vec<TcpStream> = (0..800)
        .filter_map(|_| TcpStream::connect(s.address).ok())
        .collect();
    for stream in &mut half {
        let _ = stream.write_all(b"GET /api/scenario HTTP/1.1\r\nHost: loc");
    }
    let started = Instant::now();
    let statuses: Vec<u16> = half
        .iter_mut()
        .map(|stream| answered(stream, Duration::from_secs(10)))
        .collect();
    let timed_out = statuses.iter().filter(|&&c| c == 408).count();
    let busy = statuses.iter().filter(|&&c| c == 503).count();
    assert_eq!(timed_out + busy, 800, "every one answered: {statuses:?}");
    // At most 40 are served at once (the others answered 503 at once); as the served ones time
    // out, connections still waiting in the listener's queue take their place.
    assert!(
        timed_out >= 40 && busy >= 1,
        "{timed_out} timed out, {busy} turned away"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    // A request that sends its headers and half its body: 408 once the body stops arriving.
    let mut body_half = TcpStream::connect(s.address).unwrap();
    body_half
        .write_all(b"POST /api/simulate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"set\":")
        .unwrap();
    assert_eq!(answered(&mut body_half, Duration::from_secs(10)), 408);
    // And the server still answers a whole request at once.
    let (status, text) = http(s.address, "GET", "/api/scenario", &[], b"");
    assert_eq!(status, 200, "{text}");
}
