//! Reproducibility: same (scenario, seed, runs) → byte-identical outputs at any thread count and
//! any split into shards; another seed changes them; common random numbers across scenarios.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use trajectoire::ensemble::{self, accumulate, Controls, Results};
use trajectoire::model::Model;
use trajectoire::output::{json, tables};

use crate::common::{model, scenarios, simulate, trajectory};

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
        json::summary(m, &r),
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
    let cancel = AtomicBool::new(false);
    let controls = Controls {
        progress: &|_, _| {},
        cancel: &cancel,
    };
    let whole = accumulate(&m, 0, 200, &controls).unwrap();
    let mut merged = accumulate(&m, 0, 73, &controls).unwrap();
    merged.merge(accumulate(&m, 73, 127, &controls).unwrap());
    assert_eq!(merged.runs(), 200);
    assert!(bytes(&m, whole.results(&m, 0.0)) == bytes(&m, merged.results(&m, 0.0)));
}

/// Finished ensembles leave their accumulators and blocks for later ones: whatever they held
/// (a larger ensemble, another model of the same shape, a cancelled ensemble) never shows in
/// the results of the next.
#[test]
fn memory_kept_from_earlier_ensembles_never_changes_results() {
    let m = network(300, 7);
    ensemble::release_spares();
    let fresh = bytes(&m, simulate(&m, 2));
    // Another shape, then the same shape with more runs and another seed.
    let other = model(CRN);
    simulate(&other, 2);
    simulate(&network(1_000, 8), 2);
    assert!(
        bytes(&m, simulate(&m, 2)) == fresh,
        "after a larger ensemble"
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
        .install(|| ensemble::simulate(&big, &controls))
        .is_none());
    assert!(
        bytes(&m, simulate(&m, 2)) == fresh,
        "after a cancelled ensemble"
    );
    assert!(bytes(&m, simulate(&m, 1)) == fresh, "on one thread");
}

/// A sweep's ensembles, run by `simulate_each` (small ones whole on one worker, side by side,
/// a large one on every worker), give each what `simulate` alone gives, in the models' order;
/// progress counts every run of the batch once.
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
    let total: u64 = models.iter().map(|m| m.settings.runs).sum();
    let controls = Controls {
        progress: &|d, all| {
            assert_eq!(all, total);
            done.fetch_max(d, Ordering::Relaxed);
            calls.fetch_add(1, Ordering::Relaxed);
        },
        cancel: &cancel,
    };
    let batch = pool
        .install(|| ensemble::simulate_each(&models, &controls))
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
        "every run counted once"
    );
    assert!(calls.load(Ordering::Relaxed) >= models.len() as u64);
    // Cancelled from the first progress report: no results.
    let controls = Controls {
        progress: &|_, _| cancel.store(true, Ordering::Relaxed),
        cancel: &cancel,
    };
    assert!(pool
        .install(|| ensemble::simulate_each(&models, &controls))
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
