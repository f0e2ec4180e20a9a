//! Reproducibility: same (scenario, seed, runs) → byte-identical outputs at any thread count and
//! any split into shards; another seed changes them; common random numbers across scenarios.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use trajectoire::ensemble::canonical::Aggregates;
use trajectoire::ensemble::{self, accumulate, Controls, Results, Workspace};
use trajectoire::model::Model;
use trajectoire::output::{json, tables};

use crate::common::{model, scenarios, simulate, simulate_in, trajectory};

fn network(runs: u64, seed: u64) -> Model {
    let mut m = Model::load(&scenarios().join("villes-pairs.toml")).unwrap();
    m.settings.runs = runs;
    m.settings.seed = seed;
    m
}

/// Every output's bytes (summary.json without its wall time).
fn bytes(m: &Model, mut r: Results) -> Vec<Vec<u8>> {
    r.wall_seconds = 0.0;
    vec![
        tables::trajectories(&r),
        tables::perpetuation(&r),
        tables::phases(&r),
        tables::phase_entries(&r),
        json::summary(m, &[], &r),
    ]
}

#[test]
fn outputs_are_byte_identical_at_one_and_two_threads() {
    let m = network(300, 7);
    let one = bytes(&m, simulate(&m, 1));
    let two = bytes(&m, simulate(&m, 2));
    assert!(one == two, "outputs differ between 1 and 2 threads");
    let three = bytes(&m, simulate(&m, 3));
    assert!(one == three, "outputs differ between 1 and 3 threads");
}

#[test]
fn a_different_seed_changes_the_outputs() {
    let a = network(100, 1);
    let b = network(100, 2);
    let (ra, rb) = (bytes(&a, simulate(&a, 2)), bytes(&b, simulate(&b, 2)));
    assert_ne!(ra[0], rb[0]);
    assert_ne!(ra[1], rb[1]);
}

#[test]
fn shards_merge_exactly_into_the_whole() {
    let m = network(200, 3);
    let controls = Controls::silent();
    let ws = Workspace::new();
    let whole = accumulate(&m, 0, 200, &ws, &controls).unwrap();
    let mut merged = accumulate(&m, 0, 73, &ws, &controls).unwrap();
    merged.absorb(&mut accumulate(&m, 73, 127, &ws, &controls).unwrap());
    assert_eq!(merged.runs(), 200);
    assert!(bytes(&m, whole.results(&m, 0.0)) == bytes(&m, merged.results(&m, 0.0)));
    // Saved, encoded and read back, shards merge into the same results.
    let saved = |first: u64, count: u64| {
        let acc = accumulate(&m, first, count, &ws, &controls).unwrap();
        let bytes = acc.canonical().encode();
        Aggregates::decode(&bytes).unwrap()
    };
    let mut sum = saved(120, 80);
    sum.merge(&saved(0, 120)).unwrap();
    let engine = trajectoire::engine::Engine::new(&m);
    let back = sum.accumulator(&engine).unwrap();
    assert!(bytes(&m, whole.results(&m, 0.0)) == bytes(&m, back.results(&m, 0.0)));
}

/// Finished ensembles leave their accumulators and blocks in the workspace for later ones:
/// whatever they held (a larger ensemble, another model of the same shape, a cancelled
/// ensemble) never shows in the results of the next.
#[test]
fn memory_kept_from_earlier_ensembles_never_changes_results() {
    let m = network(300, 7);
    let ws = Workspace::new();
    let fresh = bytes(&m, simulate(&m, 2));
    // Another shape, then the same shape with more runs and another seed.
    let other = model(CRN);
    simulate_in(&other, 2, &ws);
    simulate_in(&network(1_000, 8), 2, &ws);
    simulate_in(&network(5_000, 8), 2, &ws);
    assert!(
        bytes(&m, simulate_in(&m, 2, &ws)) == fresh,
        "after larger ensembles"
    );
    // An ensemble cancelled once its first block is done.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let cancel = AtomicBool::new(false);
    let controls = Controls {
        progress: &|_, _| cancel.store(true, Ordering::Relaxed),
        cancel: &cancel,
    };
    let big = network(5_000, 9);
    assert!(pool
        .install(|| ensemble::simulate(&big, &ws, &controls))
        .is_none());
    assert!(
        bytes(&m, simulate_in(&m, 2, &ws)) == fresh,
        "after a cancelled ensemble"
    );
    assert!(bytes(&m, simulate_in(&m, 1, &ws)) == fresh, "on one thread");
}

/// A sweep's ensembles, run by `simulate_each` (side by side, each whole on one worker, or one
/// after another on every worker), give each what `simulate` alone gives, in the models'
/// order; progress counts every ensemble once.
#[test]
fn a_batch_of_ensembles_gives_each_its_own_results() {
    let mut deterministic = model(CRN);
    deterministic.settings.deterministic = true;
    // Enough small ensembles to run side by side on 2 threads, and one too large for that.
    let mut models = vec![
        network(4_200, 5),
        deterministic,
        network(16, 2),
        network(1_500, 3),
    ];
    models.extend((0..2 * ensemble::SIDE_BY_SIDE as u64).map(|seed| {
        let mut m = model(CRN);
        m.settings.seed = seed;
        m
    }));
    assert!(models[0].settings.runs > ensemble::WHOLE_ON_ONE);
    let alone: Vec<_> = models.iter().map(|m| bytes(m, simulate(m, 2))).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let cancel = AtomicBool::new(false);
    let (done, calls) = (AtomicU64::new(0), AtomicU64::new(0));
    let total = models.len() as u64;
    let controls = Controls {
        progress: &|d, all| {
            assert_eq!(all, total);
            done.fetch_max(d, Ordering::Relaxed);
            calls.fetch_add(1, Ordering::Relaxed);
        },
        cancel: &cancel,
    };
    let ws = Workspace::new();
    let batch = pool
        .install(|| ensemble::simulate_each(&models, &ws, &controls))
        .unwrap();
    assert_eq!(batch.len(), models.len());
    for (k, (m, r)) in models.iter().zip(batch).enumerate() {
        assert_eq!(r.runs, m.settings.runs, "model {k}");
        assert!(
            bytes(m, r) == alone[k],
            "model {k} differs from its own ensemble"
        );
    }
    assert_eq!(
        done.load(Ordering::Relaxed),
        total,
        "every ensemble counted once"
    );
    assert_eq!(calls.load(Ordering::Relaxed), models.len() as u64);
    // Small ensembles only, enough of them: side by side, each whole on one worker.
    let small = &models[1..];
    assert!(small
        .iter()
        .all(|m| m.settings.runs <= ensemble::WHOLE_ON_ONE));
    assert!(small.len() >= 2 * ensemble::SIDE_BY_SIDE);
    let quiet = Controls {
        progress: &|_, _| {},
        cancel: &cancel,
    };
    let side = pool
        .install(|| ensemble::simulate_each(small, &ws, &quiet))
        .unwrap();
    for (k, (m, r)) in small.iter().zip(side).enumerate() {
        assert!(bytes(m, r) == alone[k + 1], "model {} side by side", k + 1);
    }
    // Cancelled from the first progress report: no results.
    let controls = Controls {
        progress: &|_, _| cancel.store(true, Ordering::Relaxed),
        cancel: &cancel,
    };
    assert!(pool
        .install(|| ensemble::simulate_each(&models, &ws, &controls))
        .is_none());
    assert!(pool
        .install(|| ensemble::simulate_each(small, &ws, &controls))
        .is_none());
}

const CRN: &str = r#"
[territory]
id = "crn"
population = 1000
horizon = 120
[simulation]
runs = 40
seed = 11
[[actor]]
id = "a"
engagement = 0.2
fatigue = 0.03
volatility = 0.05
[[actor]]
id = "b"
engagement = 0.3
fatigue = 0.02
volatility = 0.05
[[shock]]
id = "election"
every = 24
probability = 0.5
hits = { a = 0.5, b = 0.5 }
[[shock]]
id = "crisis"
rate = 0.02
hits = { b = 0.3 }
"#;

#[test]
fn scenarios_differing_only_in_a_lever_see_the_same_shocks_and_noise() {
    let base = model(CRN);
    let with_lever = model(&format!(
        "{CRN}\n[[lever]]\nid = \"help\"\nfrom = 6\ncost = 100\npush = {{ a = 0.02 }}\n"
    ));
    let mut differs = false;
    for run in 0..40 {
        let x = trajectory(&base, run);
        let y = trajectory(&with_lever, run);
        for (sx, sy) in x.iter().zip(&y) {
            // Group b is not touched by the lever: same shocks, same noise, same path.
            assert_eq!(sx.engagement[1], sy.engagement[1], "run {run}");
            differs |= sx.engagement[0] != sy.engagement[0];
        }
    }
    assert!(differs, "the lever must change group a");
}
