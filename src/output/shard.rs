//! Shard files (`shard-I-of-N.shard`): one shard's exact aggregates, compressed, under a
//! header that says what they are of. The layout, readable with `head -3`:
//!
//! ```text
//! trajectoire shard
//! {"format":2,"program":"0.6.0","command_line":"trajectoire run scenarios/malaunay.toml --runs 1000",…}
//! sha256 <64 hex digits of the second line (with its newline) and the payload>
//! <payload: the part's exact aggregates (postcard, see crate::ensemble::canonical), DEFLATE-compressed>
//! ```
//!
//! [`Header`] is the one description of a shard: [`Header::same_work`] is the one check that
//! two shards are parts of the same work.
//!
//! Reading checks everything before anything is used: the first line, the header's length and
//! syntax, the checksum, the format version and the payload's length once inflated. A file
//! that fails any check is refused with what failed; reading never panics, and never inflates
//! more than the header declares.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::diag::Error;

/// The first line of every shard file.
pub const MAGIC: &str = "trajectoire shard";
/// Version of the file layout, of the header's fields and of the payload's encoding (2: the
/// payload in postcard, one fingerprint for the scenario and one for the questions).
pub const FORMAT: u32 = 2;
/// The files' extension.
pub const EXTENSION: &str = "shard";
/// Longest header line read.
const MAX_HEADER: usize = 1 << 20;
/// Largest payload inflated (16 GiB): a header declaring more is refused.
const MAX_PAYLOAD: u64 = 16 << 30;

/// What a shard is of. Two shards merge only if they are parts of the same work (see
/// [`Header::same_work`]): where each was written, with how many threads, and how long it took
/// do not matter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// [`FORMAT`].
    pub format: u32,
    /// The program's version.
    pub program: String,
    /// [`crate::random::DRAW_STREAM`]: which draws a run makes from its stream.
    pub draw_stream: u32,
    /// The command: run, test, compare, sweep, sensitivity, transfer or discover.
    pub command: String,
    /// The command line that makes the same work unsharded (without `--shard`).
    pub command_line: String,
    /// The command and its arguments, as the program reads them back.
    pub job: serde_json::Value,
    /// SHA-256 of the resolved scenario(s), with their overrides and settings.
    pub scenario: String,
    /// SHA-256 of what the command asks of them: outcomes, hypotheses, points, settings of
    /// the analysis.
    pub questions: String,
    /// Master seed.
    pub seed: u64,
    /// Euler substeps per month.
    pub substeps: u32,
    /// `--deterministic`.
    pub deterministic: bool,
    /// Runs of the whole work (per point for a batch of points).
    pub runs: u64,
    /// Points of the whole work (1 for an ensemble).
    pub points: u64,
    /// I.
    pub shard: u32,
    /// N.
    pub shards: u32,
    /// This shard's part, in words (e.g. "runs 250 to 499 of 1000").
    pub part: String,
    /// Length of the payload once inflated.
    pub payload_bytes: u64,
    /// Seconds the shard's simulation took (not compared).
    pub seconds: f64,
}

/// What differs between two shards that are not parts of the same work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// What differs, in words ("seed", "scenario").
    pub what: &'static str,
    /// The other shard's.
    pub theirs: String,
    /// The first shard's.
    pub ours: String,
}

impl Header {
    /// Checks that `other` is a part of the same work as this shard: the same program, draw
    /// stream, command, seed, runs, substeps, simulation, number of points and of shards,
    /// scenario and questions. Says the first thing that differs.
    pub fn same_work(&self, other: &Header) -> Result<(), Difference> {
        let noise = |d: bool| if d { "--deterministic" } else { "with noise" }.to_string();
        let quote = |s: &str| format!("`{s}`");
        let fields: [(&'static str, String, String); 11] = [
            (
                "program version",
                other.program.clone(),
                self.program.clone(),
            ),
            (
                "draw-stream version",
                other.draw_stream.to_string(),
                self.draw_stream.to_string(),
            ),
            ("command", quote(&other.command), quote(&self.command)),
            ("seed", other.seed.to_string(), self.seed.to_string()),
            (
                "number of runs",
                other.runs.to_string(),
                self.runs.to_string(),
            ),
            (
                "number of substeps",
                other.substeps.to_string(),
                self.substeps.to_string(),
            ),
            (
                "simulation",
                noise(other.deterministic),
                noise(self.deterministic),
            ),
            (
                "number of points",
                other.points.to_string(),
                self.points.to_string(),
            ),
            (
                "number of shards",
                other.shards.to_string(),
                self.shards.to_string(),
            ),
            // Last: the fingerprints also cover the settings above, which say more.
            ("scenario", other.scenario.clone(), self.scenario.clone()),
            ("questions", other.questions.clone(), self.questions.clone()),
        ];
        match fields.into_iter().find(|(_, theirs, ours)| theirs != ours) {
            None => Ok(()),
            Some((what, theirs, ours)) => Err(Difference { what, theirs, ours }),
        }
    }
}

/// The file name of shard I of N.
pub fn file_name(index: u32, count: u32) -> String {
    format!("shard-{index}-of-{count}.{EXTENSION}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a shard file: the header (its `payload_bytes` set here) and the payload.
pub fn encode(header: &Header, payload: &[u8]) -> Vec<u8> {
    let mut header = header.clone();
    header.payload_bytes = payload.len() as u64;
    let mut line = serde_json::to_vec(&header).unwrap_or_default();
    line.push(b'\n');
    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing into memory cannot fail.
    let _ = deflate.write_all(payload);
    let compressed = deflate.finish().unwrap_or_default();
    let mut digest = Sha256::new();
    digest.update(&line);
    digest.update(&compressed);
    let mut out = Vec::with_capacity(line.len() + compressed.len() + 100);
    out.extend_from_slice(MAGIC.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&line);
    out.extend_from_slice(format!("sha256 {}\n", hex(&digest.finalize())).as_bytes());
    out.extend_from_slice(&compressed);
    out
}

/// Writes a shard file into `dir` (created if needed) atomically: a `.partial` file renamed
/// into place once whole, so that a killed task never leaves a file that looks finished.
pub fn write(dir: &Path, header: &Header, payload: &[u8]) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(file_name(header.shard, header.shards));
    let partial = dir.join(format!(
        ".{}.partial-{}",
        file_name(header.shard, header.shards),
        std::process::id()
    ));
    std::fs::write(&partial, encode(header, payload)).map_err(|e| Error::io(&partial, e))?;
    std::fs::rename(&partial, &path).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        Error::io(&path, e)
    })?;
    Ok(path)
}

/// Why bytes are not a usable shard.
fn refuse<T>(path: &Path, message: impl Into<String>) -> Result<T, Error> {
    Err(Error::refused(
        path,
        message,
        "give the shard files written by `--shard I/N` (shard-I-of-N.shard); run the shard again if it was damaged",
    ))
}

/// Splits off the line at the start of `bytes` (without its newline), if there is one within
/// `max` bytes.
fn line(bytes: &[u8], max: usize) -> Option<(&[u8], &[u8])> {
    let end = bytes.iter().take(max).position(|&b| b == b'\n')?;
    Some((&bytes[..end], &bytes[end + 1..]))
}

/// Reads and checks a shard file: its header and its inflated payload.
pub fn read(path: &Path) -> Result<(Header, Vec<u8>), Error> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut start = [0u8; MAGIC.len() + 1];
    let got = read_up_to(&mut file, &mut start).map_err(|e| Error::io(path, e))?;
    if got < start.len() || &start[..MAGIC.len()] != MAGIC.as_bytes() || start[MAGIC.len()] != b'\n'
    {
        return refuse(
            path,
            "this is not a shard file (it does not begin with `trajectoire shard`)",
        );
    }
    let mut rest = Vec::new();
    file.read_to_end(&mut rest)
        .map_err(|e| Error::io(path, e))?;
    decode(path, &rest)
}

fn read_up_to(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Checks and reads what follows the first line of a shard file (`path` names it in errors).
pub fn decode(path: &Path, bytes: &[u8]) -> Result<(Header, Vec<u8>), Error> {
    let Some((json, rest)) = line(bytes, MAX_HEADER) else {
        return refuse(
            path,
            "its header is missing or cut short: the file is truncated",
        );
    };
    let Some((sum, compressed)) = line(rest, 200) else {
        return refuse(path, "its checksum line is missing: the file is truncated");
    };
    let Some(expected) = std::str::from_utf8(sum)
        .ok()
        .and_then(|s| s.strip_prefix("sha256 "))
    else {
        return refuse(
            path,
            "its checksum line is not `sha256 <digest>`: the file is damaged",
        );
    };
    let mut digest = Sha256::new();
    digest.update(json);
    digest.update(b"\n");
    digest.update(compressed);
    if hex(&digest.finalize()) != expected {
        return refuse(
            path,
            "its checksum does not match its content: the file is truncated or corrupted",
        );
    }
    let header: Header = match serde_json::from_slice(json) {
        Ok(h) => h,
        Err(e) => {
            // A valid checksum over an unreadable header: written by another format.
            let format = serde_json::from_slice::<serde_json::Value>(json)
                .ok()
                .and_then(|v| v.get("format").and_then(serde_json::Value::as_u64));
            return match format {
                Some(f) if f != u64::from(FORMAT) => refuse(
                    path,
                    format!("it is in shard format {f}; this trajectoire reads format {FORMAT}: merge it with the version that wrote it"),
                ),
                _ => refuse(path, format!("its header cannot be read ({e})")),
            };
        }
    };
    if header.format != FORMAT {
        return refuse(
            path,
            format!(
                "it is in shard format {}; this trajectoire reads format {FORMAT}: merge it with the version that wrote it",
                header.format
            ),
        );
    }
    if header.payload_bytes > MAX_PAYLOAD {
        return refuse(path, "its header declares a payload larger than 16 GiB");
    }
    let mut payload = Vec::new();
    let inflated = flate2::read::DeflateDecoder::new(compressed)
        .take(header.payload_bytes + 1)
        .read_to_end(&mut payload);
    if inflated.is_err() || payload.len() as u64 != header.payload_bytes {
        return refuse(
            path,
            "its content does not inflate to the length its header declares: the file is damaged",
        );
    }
    Ok((header, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            format: FORMAT,
            program: "0.0.0".into(),
            draw_stream: 1,
            command: "run".into(),
            command_line: "run x.toml".into(),
            job: serde_json::json!({"run": {}}),
            scenario: "ab".into(),
            questions: "cd".into(),
            seed: 1,
            substeps: 4,
            deterministic: false,
            runs: 10,
            points: 1,
            shard: 1,
            shards: 2,
            part: "runs 0 to 4 of 10".into(),
            payload_bytes: 0,
            seconds: 0.5,
        }
    }

    #[test]
    fn a_shard_reads_back_and_any_damage_is_refused() {
        let payload: Vec<u8> = (0..5000u32).map(|i| (i % 7) as u8).collect();
        let bytes = encode(&header(), &payload);
        let body = &bytes[MAGIC.len() + 1..];
        let (h, p) = decode(Path::new("s"), body).unwrap();
        assert_eq!(p, payload);
        assert_eq!(h.payload_bytes, 5000);
        // Every cut and every flipped byte is refused, never accepted or panicking.
        for cut in 0..body.len() {
            assert!(
                decode(Path::new("s"), &body[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        for i in 0..body.len() {
            let mut bad = body.to_vec();
            bad[i] ^= 0x20;
            assert!(decode(Path::new("s"), &bad).is_err(), "byte {i}");
        }
    }

    #[test]
    fn shards_of_the_same_work_agree_whatever_they_wrote_where() {
        let a = header();
        let mut b = header();
        b.shard = 2;
        b.seconds = 9.0;
        b.part = "runs 5 to 9 of 10".into();
        b.command_line = "run x.toml --out elsewhere".into();
        b.job = serde_json::json!({"run": {"out": "elsewhere"}});
        assert_eq!(a.same_work(&b), Ok(()));
        b.seed = 2;
        let d = a.same_work(&b).unwrap_err();
        assert_eq!(
            (d.what, d.theirs.as_str(), d.ours.as_str()),
            ("seed", "2", "1")
        );
        let mut c = header();
        c.questions = "ef".into();
        assert_eq!(a.same_work(&c).unwrap_err().what, "questions");
    }
}
