//! Tidy CSV tables: one row per observation, ready for pandas or R.
//!
//! Numbers are printed with Rust's shortest round-trip formatting, so parsing them back gives
//! the exact `f64` that was computed.

use crate::ensemble::Results;

pub(super) fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new())
}

pub(super) fn finish(w: csv::Writer<Vec<u8>>) -> Vec<u8> {
    w.into_inner().unwrap_or_default()
}

/// A number as text that parses back to the same `f64`; never NaN.
pub fn number(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "0".into()
    }
}

/// `trajectories.csv`: `territory,index,month,mean,p05,p25,p50,p75,p95`.
pub fn trajectories(results: &Results) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record([
        "territory",
        "index",
        "month",
        "mean",
        "p05",
        "p25",
        "p50",
        "p75",
        "p95",
    ]);
    for t in &results.territories {
        for s in &t.series {
            for m in 0..s.mean.len() {
                let mut row = vec![
                    t.id.clone(),
                    s.index.clone(),
                    m.to_string(),
                    number(s.mean[m]),
                ];
                row.extend(s.quantiles.iter().map(|q| number(q[m])));
                let _ = w.write_record(&row);
            }
        }
    }
    finish(w)
}

/// `perpetuation.csv`: `territory,month,share,low,high`.
pub fn perpetuation(results: &Results) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record(["territory", "month", "share", "low", "high"]);
    for t in &results.territories {
        for (m, p) in t.perpetuation.iter().enumerate() {
            let _ = w.write_record([
                t.id.clone(),
                m.to_string(),
                number(p.share),
                number(p.low),
                number(p.high),
            ]);
        }
    }
    finish(w)
}

/// `phases.csv`: `territory,phase,month,share`.
pub fn phases(results: &Results) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record(["territory", "phase", "month", "share"]);
    for t in &results.territories {
        for (phase, shares) in t.phases.iter().zip(&t.phase_share) {
            for (m, share) in shares.iter().enumerate() {
                let _ =
                    w.write_record([t.id.clone(), phase.clone(), m.to_string(), number(*share)]);
            }
        }
    }
    finish(w)
}

/// `phase-entries.csv`: `territory,phase,reached,p05,p25,p50,p75,p95` (empty quantiles when no
/// run entered the phase).
pub fn phase_entries(results: &Results) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record([
        "territory",
        "phase",
        "reached",
        "p05",
        "p25",
        "p50",
        "p75",
        "p95",
    ]);
    for t in &results.territories {
        for e in &t.phase_entries {
            let mut row = vec![t.id.clone(), e.phase.clone(), number(e.reached)];
            match e.quantiles {
                Some(q) => row.extend(q.iter().map(|x| number(*x))),
                None => row.extend(std::iter::repeat_n(String::new(), 5)),
            }
            let _ = w.write_record(&row);
        }
    }
    finish(w)
}
