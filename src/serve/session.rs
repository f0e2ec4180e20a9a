//! A workshop session with peer groups, kept in one SQLite file: the groups and the
//! facilitator with their keys, the rounds, and every proposal a group made (its choices, its
//! reasons, its prediction and what the simulation gave). Reopening the file restores all of
//! it, keys included.
//!
//! One connection, behind a mutex: the database is written by one task at a time, each write
//! a transaction committed with `synchronous = FULL` before the server says it is saved, so a
//! proposal answered 201 survives the machine losing power a moment later. The journal is
//! SQLite's default (rollback, deleted at commit): when no server runs, the `.sqlite` file
//! alone is the whole session — copy it to back it up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::diag::Error;
pub use crate::study::proposal::{Interval, Proposal, Round, Simulated, Verdict};

/// What the file says it is: refused when another program's or another format's.
const FORMAT: &str = "trajectoire workshop session 1";
/// Most groups in a session.
pub const MAX_GROUPS: usize = 12;
/// Longest note, in characters.
pub const MAX_NOTE: usize = 4000;
/// Most proposals of one group in one round.
pub const MAX_PROPOSALS: usize = 50;
/// The facilitator's name in the file (not a group's: group names are ids).
pub const FACILITATOR: &str = "facilitator";

/// Who a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A group, by name.
    Group(String),
    /// The facilitator.
    Facilitator,
}

/// A proposal to be saved.
#[derive(Debug, Clone)]
pub struct New<'a> {
    /// The group's name.
    pub group: &'a str,
    /// Its choices.
    pub set: &'a BTreeMap<String, f64>,
    /// Its reasons.
    pub note: &'a str,
    /// Its prediction.
    pub prediction: &'a BTreeMap<String, f64>,
    /// What the simulation gave.
    pub simulated: &'a Simulated,
}

/// Why a proposal was not saved.
#[derive(Debug)]
pub enum Refused {
    /// The group made its most proposals for this round.
    TooMany,
    /// The database could not be written: nothing was saved.
    Storage(String),
}

/// An open session.
pub struct Session {
    path: PathBuf,
    connection: Mutex<Connection>,
    /// The groups in their order, with their keys.
    groups: Vec<(String, String)>,
    facilitator: String,
    writable: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("path", &self.path)
            .field("groups", &self.group_names())
            .finish_non_exhaustive()
    }
}

/// A message about the session file at `path`.
fn trouble(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Usage(format!("{}: {what}: {e}", path.display()))
}

/// Seconds since 1970.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A key of 128 random bits from the operating system, in hex.
fn fresh_key() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Usage(format!("cannot draw a random key: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether two keys are equal, in a time that does not depend on where they differ.
pub fn same_key(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Checks the groups' names: ids (letters, digits, `-`, `_`, starting with a letter), at most
/// [`MAX_GROUPS`], no repeat, not the facilitator's.
pub fn check_groups(names: &[String]) -> Result<(), Error> {
    let refuse = |m: String| Error::Usage(format!("--groups: {m}"));
    if names.is_empty() {
        return Err(refuse(
            "give at least one group, e.g. --groups elected,staff,actors".into(),
        ));
    }
    if names.len() > MAX_GROUPS {
        return Err(refuse(format!(
            "{} groups: a session has at most {MAX_GROUPS}",
            names.len()
        )));
    }
    for (i, n) in names.iter().enumerate() {
        let ok = n.len() <= 32
            && n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(refuse(format!(
                "`{n}` is not a group name: use unaccented letters, digits, `-` and `_`, starting with a letter, at most 32 characters (e.g. elus, services, acteurs, habitants)"
            )));
        }
        if n == FACILITATOR {
            return Err(refuse(format!(
                "`{FACILITATOR}` is the facilitator's name; give the groups other names"
            )));
        }
        if let Some(m) = names[..i].iter().find(|m| m.eq_ignore_ascii_case(n)) {
            return Err(refuse(if m == n {
                format!("`{n}` is given twice")
            } else {
                format!("`{m}` and `{n}` differ only by case: give the groups names that differ")
            }));
        }
    }
    Ok(())
}

impl Session {
    /// Opens the session at `path` for the scenario of `fingerprint` (`scenario` names it in
    /// messages). A new file is made with `groups` (required then); an existing one is
    /// reopened with its groups and keys, refused when it was made for another scenario or
    /// with other groups than `groups` (when given), or when it cannot be written.
    pub fn open(
        path: &Path,
        fingerprint: &str,
        scenario: &str,
        groups: Option<&[String]>,
    ) -> Result<Session, Error> {
        if let Some(g) = groups {
            check_groups(g)?;
        }
        if path.is_dir() {
            return Err(Error::Usage(format!(
                "--session {}: is a folder; give a file, e.g. {}",
                path.display(),
                path.join("session.sqlite").display()
            )));
        }
        let exists = path.exists();
        if !exists {
            let Some(_) = groups else {
                return Err(Error::Usage(format!(
                    "{}: no such session file; give --groups NAME,NAME,... to start a session",
                    path.display()
                )));
            };
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| trouble(dir, "cannot make the session's folder", e))?;
            }
        }
        let connection = Connection::open(path).map_err(|e| {
            trouble(
                path,
                "cannot open or make the session file here (is the folder writable?); give another --session",
                e,
            )
        })?;
        connection
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(|e| trouble(path, "cannot open the session file", e))?;
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| trouble(path, "cannot open the session file", e))?;
        Session::prepared(path, connection, true, fingerprint, scenario, groups)
    }

    /// Opens an existing session to read it only (a report of it, a copy on a read-only disk),
    /// refused when it was made for another scenario.
    pub fn read(path: &Path, fingerprint: &str, scenario: &str) -> Result<Session, Error> {
        if !path.is_file() {
            return Err(Error::Usage(format!(
                "--session {}: {}",
                path.display(),
                if path.is_dir() {
                    "is a folder; give the session's file (session.sqlite in it?)"
                } else {
                    "no such session file"
                }
            )));
        }
        let connection =
            Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(|e| trouble(path, "cannot open the session file", e))?;
        Session::prepared(path, connection, false, fingerprint, scenario, None)
    }

    /// The session over an open `connection`, its tables made or read and checked.
    fn prepared(
        path: &Path,
        connection: Connection,
        writable: bool,
        fingerprint: &str,
        scenario: &str,
        groups: Option<&[String]>,
    ) -> Result<Session, Error> {
        let mut session = Session {
            path: path.to_path_buf(),
            connection: Mutex::new(connection),
            groups: Vec::new(),
            facilitator: String::new(),
            writable,
        };
        session.prepare(fingerprint, scenario, groups)?;
        Ok(session)
    }

    /// Makes the tables of a new file, or reads and checks an existing one's.
    fn prepare(
        &mut self,
        fingerprint: &str,
        scenario: &str,
        groups: Option<&[String]>,
    ) -> Result<(), Error> {
        let path = self.path.clone();
        let bad = |e: rusqlite::Error| {
            trouble(
                &path,
                "is not a workshop session this version can read (or cannot be written)",
                e,
            )
        };
        let mut c = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        let tx = c.transaction().map_err(bad)?;
        let has_meta: bool = tx
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(bad)?
            > 0;
        if !has_meta {
            let Some(groups) = groups else {
                return Err(Error::Usage(format!(
                    "{}: not a workshop session (empty); give --groups to start one",
                    path.display()
                )));
            };
            tx.execute_batch(
                "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE roles (name TEXT PRIMARY KEY, key TEXT NOT NULL UNIQUE,
                     facilitator INTEGER NOT NULL, position INTEGER NOT NULL);
                 CREATE TABLE rounds (number INTEGER PRIMARY KEY, opened INTEGER NOT NULL,
                     revealed INTEGER NOT NULL DEFAULT 0);
                 CREATE TABLE proposals (id INTEGER PRIMARY KEY AUTOINCREMENT,
                     role TEXT NOT NULL REFERENCES roles(name),
                     round INTEGER NOT NULL REFERENCES rounds(number),
                     choices TEXT NOT NULL, note TEXT NOT NULL, prediction TEXT NOT NULL,
                     simulated TEXT NOT NULL, saved INTEGER NOT NULL);",
            )
            .map_err(bad)?;
            for (name, value) in [
                ("format", FORMAT),
                ("fingerprint", fingerprint),
                ("scenario", scenario),
                ("version", env!("CARGO_PKG_VERSION")),
            ] {
                tx.execute("INSERT INTO meta VALUES (?1, ?2)", params![name, value])
                    .map_err(bad)?;
            }
            tx.execute(
                "INSERT INTO roles VALUES (?1, ?2, 1, 0)",
                params![FACILITATOR, fresh_key()?],
            )
            .map_err(bad)?;
            for (i, g) in groups.iter().enumerate() {
                tx.execute(
                    "INSERT INTO roles VALUES (?1, ?2, 0, ?3)",
                    params![g, fresh_key()?, i as i64 + 1],
                )
                .map_err(bad)?;
            }
            tx.execute("INSERT INTO rounds VALUES (1, ?1, 0)", params![now()])
                .map_err(bad)?;
        } else {
            let meta = |name: &str| -> Result<Option<String>, Error> {
                tx.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(bad)
            };
            if meta("format")?.as_deref() != Some(FORMAT) {
                return Err(Error::Usage(format!(
                    "{}: not a workshop session of this version of trajectoire",
                    path.display()
                )));
            }
            if meta("fingerprint")?.as_deref() != Some(fingerprint) {
                let made = meta("scenario")?.unwrap_or_default();
                return Err(Error::Usage(format!(
                    "{}: this session was made for the scenario `{made}` as it was then, and `{scenario}` is not the same now (its files, values, seed or horizon differ; only the number of runs may change); use the scenario's files as they were when the session was made, or give another --session",
                    path.display()
                )));
            }
            // The file can be written: checked now rather than when a group submits.
            if self.writable {
                tx.execute("UPDATE meta SET value = value WHERE name = 'format'", [])
                    .map_err(|e| trouble(&path, "the session file cannot be written", e))?;
            }
        }
        let mut roles: Vec<(String, String, bool)> = {
            let mut q = tx
                .prepare("SELECT name, key, facilitator FROM roles ORDER BY position")
                .map_err(bad)?;
            let rows = q
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? == 1)))
                .map_err(bad)?;
            rows.collect::<Result<_, _>>().map_err(bad)?
        };
        tx.commit()
            .map_err(|e| trouble(&path, "the session file cannot be written", e))?;
        drop(c);
        let facilitator = roles
            .iter()
            .position(|(_, _, f)| *f)
            .map(|i| roles.remove(i).1);
        let Some(facilitator) = facilitator else {
            return Err(Error::Usage(format!(
                "{}: the session has no facilitator's key",
                path.display()
            )));
        };
        let stored: Vec<String> = roles.iter().map(|(n, _, _)| n.clone()).collect();
        if let Some(groups) = groups {
            if groups != stored.as_slice() {
                return Err(Error::Usage(format!(
                    "--groups {}: {} was made with the groups {}; leave --groups out to reopen it, or give another --session",
                    groups.join(","),
                    path.display(),
                    stored.join(",")
                )));
            }
        }
        self.groups = roles.into_iter().map(|(n, k, _)| (n, k)).collect();
        self.facilitator = facilitator;
        Ok(())
    }

    /// The session's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The groups' names, in order.
    pub fn group_names(&self) -> Vec<String> {
        self.groups.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Each group's name and key, then the facilitator's (named [`FACILITATOR`]).
    pub fn keys(&self) -> Vec<(String, String)> {
        let mut all = self.groups.clone();
        all.push((FACILITATOR.to_string(), self.facilitator.clone()));
        all
    }

    /// Whose key this is: every stored key is compared, in constant time each.
    pub fn role(&self, key: &str) -> Option<Role> {
        let mut found = None;
        for (name, k) in &self.groups {
            if same_key(k, key) {
                found = Some(Role::Group(name.clone()));
            }
        }
        if same_key(&self.facilitator, key) {
            found = Some(Role::Facilitator);
        }
        found
    }

    fn write_error(&self, e: impl std::fmt::Display) -> Refused {
        Refused::Storage(format!(
            "the proposal could not be saved in {} ({e}); nothing was saved: tell the facilitator (the disk may be full or the file read-only)",
            self.path.display()
        ))
    }

    /// Saves a proposal in the current round, committed before returning its id and round.
    pub fn propose(&self, new: &New<'_>) -> Result<(i64, u32), Refused> {
        let mut c = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        let tx = c.transaction().map_err(|e| self.write_error(e))?;
        let round: u32 = tx
            .query_row("SELECT max(number) FROM rounds", [], |r| r.get(0))
            .map_err(|e| self.write_error(e))?;
        let made: i64 = tx
            .query_row(
                "SELECT count(*) FROM proposals WHERE role = ?1 AND round = ?2",
                params![new.group, round],
                |r| r.get(0),
            )
            .map_err(|e| self.write_error(e))?;
        if made as usize >= MAX_PROPOSALS {
            return Err(Refused::TooMany);
        }
        tx.execute(
            "INSERT INTO proposals (role, round, choices, note, prediction, simulated, saved)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                new.group,
                round,
                json(new.set),
                new.note,
                json(new.prediction),
                json(new.simulated),
                now()
            ],
        )
        .map_err(|e| self.write_error(e))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(|e| self.write_error(e))?;
        Ok((id, round))
    }

    /// The rounds, in order.
    pub fn rounds(&self) -> Result<Vec<Round>, Error> {
        let c = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        let bad = |e: rusqlite::Error| trouble(&self.path, "cannot read the session", e);
        let mut q = c
            .prepare("SELECT number, opened, revealed FROM rounds ORDER BY number")
            .map_err(bad)?;
        let rows = q
            .query_map([], |r| {
                Ok(Round {
                    number: r.get(0)?,
                    opened: r.get(1)?,
                    revealed: r.get::<_, i64>(2)? != 0,
                })
            })
            .map_err(bad)?;
        rows.collect::<Result<_, _>>().map_err(bad)
    }

    /// Every proposal, in the order they were saved.
    pub fn proposals(&self) -> Result<Vec<Proposal>, Error> {
        let c = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        let bad = |e: rusqlite::Error| trouble(&self.path, "cannot read the session", e);
        let mut q = c
            .prepare(
                "SELECT id, role, round, choices, note, prediction, simulated, saved
                 FROM proposals ORDER BY id",
            )
            .map_err(bad)?;
        let rows = q
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, u32>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })
            .map_err(bad)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, group, round, set, note, prediction, simulated, saved) = row.map_err(bad)?;
            let parse = |what: &str, e: serde_json::Error| {
                trouble(
                    &self.path,
                    &format!("proposal {id}'s {what} cannot be read"),
                    e,
                )
            };
            out.push(Proposal {
                id,
                group,
                round,
                set: serde_json::from_str(&set).map_err(|e| parse("choices", e))?,
                note,
                prediction: serde_json::from_str(&prediction)
                    .map_err(|e| parse("prediction", e))?,
                simulated: serde_json::from_str(&simulated).map_err(|e| parse("results", e))?,
                saved,
            });
        }
        Ok(out)
    }

    /// Opens the next round: its number; `Err(current)` without opening one when the current
    /// round has no proposal yet (a second click on "next round" opens no empty round).
    pub fn next_round(&self) -> Result<Result<u32, u32>, Error> {
        let bad = |e: rusqlite::Error| trouble(&self.path, "cannot open the next round", e);
        let mut c = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        let tx = c.transaction().map_err(bad)?;
        let last: u32 = tx
            .query_row("SELECT max(number) FROM rounds", [], |r| r.get(0))
            .map_err(bad)?;
        let made: i64 = tx
            .query_row(
                "SELECT count(*) FROM proposals WHERE round = ?1",
                [last],
                |r| r.get(0),
            )
            .map_err(bad)?;
        if made == 0 {
            return Ok(Err(last));
        }
        tx.execute(
            "INSERT INTO rounds VALUES (?1, ?2, 0)",
            params![last + 1, now()],
        )
        .map_err(bad)?;
        tx.commit().map_err(bad)?;
        Ok(Ok(last + 1))
    }

    /// Shows every group the others' proposals of `round` (the current one if `None`); the
    /// round revealed.
    pub fn reveal(&self, round: Option<u32>) -> Result<u32, Error> {
        let bad = |e: rusqlite::Error| trouble(&self.path, "cannot reveal the round", e);
        let mut c = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        let tx = c.transaction().map_err(bad)?;
        let last: u32 = tx
            .query_row("SELECT max(number) FROM rounds", [], |r| r.get(0))
            .map_err(bad)?;
        let round = round.unwrap_or(last);
        let changed = tx
            .execute(
                "UPDATE rounds SET revealed = 1 WHERE number = ?1",
                params![round],
            )
            .map_err(bad)?;
        if changed == 0 {
            return Err(Error::Usage(format!(
                "round {round}: no such round (the session has rounds 1 to {last})"
            )));
        }
        tx.commit().map_err(bad)?;
        Ok(round)
    }
}

/// A stored value as JSON text.
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups() -> Vec<String> {
        ["elected", "staff", "actors"].map(String::from).to_vec()
    }

    #[test]
    fn keys_are_compared_whole() {
        assert!(same_key("abc", "abc"));
        assert!(!same_key("abc", "abd"));
        assert!(!same_key("abc", "ab"));
        assert!(!same_key("", "a"));
    }

    #[test]
    fn group_names_are_checked() {
        assert!(check_groups(&groups()).is_ok());
        for bad in [
            vec![],
            vec!["1st".to_string()],
            vec!["a b".to_string()],
            vec!["a".to_string(), "a".to_string()],
            vec![FACILITATOR.to_string()],
            (0..13).map(|i| format!("g{i}")).collect(),
            vec!["élus".to_string()],
        ] {
            assert!(check_groups(&bad).is_err(), "{bad:?}");
        }
        let case = check_groups(&["elus".to_string(), "Elus".to_string()]).unwrap_err();
        assert!(
            case.render(false)
                .contains("`elus` and `Elus` differ only by case"),
            "{case:?}"
        );
    }

    #[test]
    fn a_session_reopens_with_its_keys_and_proposals() {
        let dir = std::env::temp_dir().join(format!("trajectoire-session-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("s.sqlite");
        let s = Session::open(&path, "F", "town", Some(&groups())).unwrap();
        let keys = s.keys();
        assert_eq!(keys.len(), 4);
        assert!(keys.iter().all(|(_, k)| k.len() == 32));
        assert_eq!(s.role(&keys[1].1), Some(Role::Group("staff".into())));
        assert_eq!(s.role(&keys[3].1), Some(Role::Facilitator));
        assert_eq!(s.role("nope"), None);
        let set = BTreeMap::from([("lever.x.intensity".to_string(), 0.5)]);
        let prediction = BTreeMap::from([("perpetuation@end".to_string(), 0.4)]);
        let simulated = Simulated {
            runs: 10,
            seed: 3,
            ..Simulated::default()
        };
        let (id, round) = s
            .propose(&New {
                group: "staff",
                set: &set,
                note: "<script>alert(1)</script> parce que",
                prediction: &prediction,
                simulated: &simulated,
            })
            .unwrap();
        assert_eq!((id, round), (1, 1));
        assert_eq!(s.next_round().unwrap(), Ok(2));
        assert_eq!(
            s.next_round().unwrap(),
            Err(2),
            "round 2 has no proposal yet"
        );
        assert_eq!(s.reveal(Some(1)).unwrap(), 1);
        assert!(s.reveal(Some(9)).is_err());
        let before = s.proposals().unwrap();
        drop(s);
        let again = Session::open(&path, "F", "town", None).unwrap();
        assert_eq!(again.keys(), keys);
        assert_eq!(again.proposals().unwrap(), before);
        assert_eq!(before[0].note, "<script>alert(1)</script> parce que");
        let rounds = again.rounds().unwrap();
        assert_eq!(rounds.len(), 2);
        assert!(rounds[0].revealed && !rounds[1].revealed);
        drop(again);
        let other = Session::open(&path, "G", "town", None).unwrap_err();
        assert!(
            other.render(false).contains("is not the same now"),
            "{other:?}"
        );
        let regrouped = Session::open(&path, "F", "town", Some(&["a".to_string()])).unwrap_err();
        assert!(regrouped
            .render(false)
            .contains("was made with the groups elected,staff,actors"));
        let missing = Session::open(&dir.join("none.sqlite"), "F", "town", None).unwrap_err();
        assert!(missing.render(false).contains("--groups"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A database that refuses writes (a full disk, a file made read-only under the server):
    /// the proposal is refused with a message saying nothing was saved, and is not there.
    #[test]
    fn a_proposal_that_cannot_be_written_is_not_reported_saved() {
        let dir =
            std::env::temp_dir().join(format!("trajectoire-session-ro-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("s.sqlite");
        let s = Session::open(&path, "F", "town", Some(&groups())).unwrap();
        s.connection
            .lock()
            .unwrap()
            .execute_batch("PRAGMA query_only = ON;")
            .unwrap();
        let empty = BTreeMap::new();
        let refused = s.propose(&New {
            group: "elected",
            set: &empty,
            note: "",
            prediction: &empty,
            simulated: &Simulated::default(),
        });
        match refused {
            Err(Refused::Storage(m)) => assert!(m.contains("nothing was saved"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(s.proposals().unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
