//! Unit tests of the engine: draws in the model's order (docs/model.md), a fixed number of words a month.

use std::path::Path;

use super::*;
use crate::model::Model;
use crate::random::keystream::CHUNK;
use crate::random::{normal, run_rng};

/// Runs moved to another block at any month step on exactly as they would have in their
/// own: every value of every run, every month after the move. On the four-town network
/// (budgets, spillover between towns) and on Grande-Synthe (lever pauses, phases held and
/// fallen back from, collapse watched after a phase, with grace).
#[test]
fn runs_split_off_step_on_exactly_as_before() {
    for file in ["villes-pairs.toml", "grande-synthe.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(file);
        let engine = Engine::new(&Model::load(&path).unwrap());
        let (seed, first, lanes, keep) = (5, 100, 40, 17);
        let phases: usize = engine.territories.iter().map(|p| p.phases.len()).sum();
        let state = |b: &Block, j: usize| {
            let entries: Vec<i32> = (0..phases).map(|k| b.entry_month(k)[j]).collect();
            (b.snapshot(j), entries)
        };
        let mut whole = engine.new_block();
        let mut expected = Vec::new();
        engine.run_block(seed, first, lanes, &mut whole, |_, b| {
            expected.push((0..lanes).map(|j| state(b, j)).collect::<Vec<_>>());
            true
        });
        let horizon = engine.horizon();
        // The runs move into a block that held other runs to the end: nothing of theirs
        // may remain.
        let mut used = engine.new_block();
        engine.run_block(seed + 1, 0, LANES, &mut used, |_, _| true);
        for month in (0..horizon).step_by(6) {
            let (mut a, mut b) = (engine.new_block(), used.clone());
            engine.start_block(seed, first, lanes, &mut a);
            for m in 0..month {
                engine.step_month(m, &mut a);
            }
            a.split_off(keep, &mut b);
            assert_eq!((a.lanes(), b.lanes()), (keep, lanes - keep));
            for m in month..horizon {
                engine.step_month(m, &mut a);
                engine.step_month(m, &mut b);
                let t = m as usize + 1;
                for (j, expected) in expected[t].iter().enumerate() {
                    let got = if j < keep {
                        state(&a, j)
                    } else {
                        state(&b, j - keep)
                    };
                    let at = format!("{file}: split at {month}, month {t}, run {j}");
                    assert_eq!(&got, expected, "{at}");
                }
            }
        }
    }
}

/// A run's noise is its stream's words turned into normals pair by pair, in the model's order
/// order, also when the month is drawn in batches (3 groups × 7 substeps: batches of 6 and
/// 1 substeps, 21 normals and one spare word a month). With nothing but noise moving
/// engagement (no adoption, fatigue, influence or lever), a group's engagement after a
/// month is its start plus σ√h·ξ substep by substep, which is recomputed here from the
/// run's own ChaCha8Rng, bit for bit.
#[test]
fn noise_is_the_runs_words_in_pairs_in_draw_order() {
    use rand::Rng;
    let text = r#"
        [territory]
        id = "t"
        population = 1000
        horizon = 3
        [simulation]
        substeps = 7
        [[actor]]
        id = "a"
        engagement = 0.5
        volatility = 0.01
        [[actor]]
        id = "b"
        engagement = 0.4
        volatility = 0.02
        [[actor]]
        id = "c"
        engagement = 0.3
        volatility = 0.03
    "#;
    let loaded = crate::scenario::load_text(Path::new("t.toml"), text)
        .unwrap_or_else(|_| panic!("the test scenario loads"));
    let model = Model::from_scenario(&loaded).unwrap_or_else(|_| panic!("and validates"));
    let engine = Engine::new(&model);
    assert_eq!(engine.batch, 6, "the month is drawn in two batches");
    let (seed, run) = (11, 4_000_000_123);
    let snapshots = engine.trajectory(seed, run);
    let mut words = run_rng(seed, run);
    let mut e = vec![0.5, 0.4, 0.3];
    for snapshot in &snapshots[1..] {
        let mut xi = Vec::new();
        for _ in 0..11 {
            let (a, b) = (words.next_u32(), words.next_u32());
            let (x, y) = normal::pairs(&[a; CHUNK], &[b; CHUNK]);
            xi.extend([x[0], y[0]]);
        }
        for s in 0..7 {
            for (g, e) in e.iter_mut().enumerate() {
                *e += engine.noise[g] * f64::from(xi[3 * s + g]);
            }
        }
        assert_eq!(snapshot.engagement, e);
    }
}

/// Every run of a block ends at the same position of its stream: one 64-bit word per shock
/// that draws, and one 32-bit word per group and substep, plus one a month when their
/// count is odd; also when a month's noise is drawn in several batches.
#[test]
fn every_draw_takes_fixed_words_of_the_stream() {
    let text = r#"
        [territory]
        id = "t"
        population = 1000
        horizon = 30
        [simulation]
        substeps = 3
        [[actor]]
        id = "a"
        engagement = 0.3
        volatility = 0.05
        [[actor]]
        id = "b"
        engagement = 0.2
        volatility = 0.02
        [[shock]]
        id = "election"
        first = 4
        every = 12
        probability = 0.5
        hits = { a = 0.5 }
    "#;
    let third = r#"
        [[actor]]
        id = "c"
        engagement = 0.1
        volatility = 0.04
    "#;
    // Elections due at months 4, 16 and 28 of 0..30, two words each; then per month:
    // 2 groups × 3 substeps; 3 groups × 3 substeps (9, one batch) and one more word;
    // 3 groups × 7 substeps (21, in batches of 6 and 1) and one more.
    for (text, substeps, batch, words) in [
        (text.to_string(), 3, 3, 2 * 3 + 30 * 6),
        (text.to_string() + third, 3, 3, 2 * 3 + 30 * 10),
        (
            text.replace("substeps = 3", "substeps = 7") + third,
            7,
            6,
            2 * 3 + 30 * 22,
        ),
    ] {
        let loaded = crate::scenario::load_text(Path::new("t.toml"), &text)
            .unwrap_or_else(|_| panic!("the test scenario loads"));
        let model = Model::from_scenario(&loaded).unwrap_or_else(|_| panic!("and validates"));
        let engine = Engine::new(&model);
        assert_eq!((engine.substeps, engine.batch), (substeps, batch));
        let mut block = engine.new_block();
        engine.run_block(7, 100, 300, &mut block, |_, _| true);
        assert_eq!(block.streams.position(), words, "32-bit words");
    }
}
