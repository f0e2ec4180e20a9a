//! Ensemble throughput against the number of runs, measured interleaved.
//!
//! `cargo bench --bench flatness` (about 5 minutes on 2 cores), or with a smaller largest
//! ensemble: `FLATNESS_MAX=100000 cargo bench --bench flatness`. `FLATNESS_THREADS` (default 2)
//! and `FLATNESS_ROUNDS` (default 3) set the rest.
//!
//! Why not criterion: criterion measures one size after another, and on a shared machine whose
//! speed drifts by ±20% over minutes that compares moments, not sizes. Here the sizes are
//! interleaved finely: a round is ten cycles, and each cycle runs every size up to a tenth of
//! the largest for that many runs (100,000 runs: 1,000 runs a hundred times, 10,000 runs ten
//! times, 100,000 runs once), the sizes in an order that rotates from cycle to cycle; each
//! larger size runs once, halfway through the round. So every size sees the same mix of the
//! machine's moods, a few seconds apart rather than minutes. Each size's figure is the median
//! over all its ensembles of the time per run. The reference territory (4 groups, 3 levers,
//! 240 months, 4 substeps); each ensemble is `ensemble::simulate` on one pool built once
//! (aggregation and results included).
//!
//! A last row measures what a sweep gets: 1,000-run ensembles in batches of 64 through
//! `ensemble::simulate_each`, which runs them side by side, each whole on one worker; each
//! round runs as many batches as make the largest size's runs, spread over its cycles, and the
//! figure is the median over batches of the time per run.

use std::time::Instant;

use trajectoire::ensemble::{self, Controls};
use trajectoire::model::Model;

mod common;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A batch of models through `ensemble::simulate_each`, as a sweep calls it.
fn simulate_each(models: &[Model], pool: &rayon::ThreadPool) {
    let controls = Controls::silent();
    pool.install(|| {
        std::hint::black_box(ensemble::simulate_each(
            models,
            &common::WORKSPACE,
            &controls,
        ))
    });
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and wants a quick
    // run: then one round of small sizes.
    let benching = std::env::args().any(|a| a == "--bench");
    let largest = env_or("FLATNESS_MAX", if benching { 1_000_000 } else { 2_000 });
    let threads = env_or("FLATNESS_THREADS", 2) as usize;
    let rounds = env_or("FLATNESS_ROUNDS", if benching { 3 } else { 1 });
    let sizes: Vec<u64> = [1_000u64, 10_000, 100_000, 1_000_000]
        .into_iter()
        .filter(|&n| n <= largest)
        .collect();
    let pool = common::pool(threads);
    let mut model = common::model(4, 3, 1_000);
    // Seconds per run of every ensemble, per size; then of every batch.
    let mut per_run: Vec<Vec<f64>> = vec![Vec::new(); sizes.len() + 1];
    const BATCH: u64 = 64;
    let batch = vec![common::model(4, 3, 1_000); BATCH as usize];
    let batches = (largest / (BATCH * 1_000)).max(1);
    // A round is `cycles` cycles of `cycle` runs of each small size (and of the batches), the
    // sizes in a rotating order; each larger size runs once, halfway through the round.
    let cycle = (largest / 10).max(sizes[0]);
    let cycles = largest / cycle;
    // Rows: the sizes, then the batches.
    let mut run_row = |row: usize| {
        if row < sizes.len() {
            let runs = sizes[row];
            model.settings.runs = runs;
            for _ in 0..(cycle / runs).max(1) {
                let start = Instant::now();
                common::simulate(&model, &pool);
                per_run[row].push(start.elapsed().as_secs_f64() / runs as f64);
            }
        } else {
            let start = Instant::now();
            simulate_each(&batch, &pool);
            per_run[row].push(start.elapsed().as_secs_f64() / (BATCH * 1_000) as f64);
        }
    };
    // The sizes are increasing: the first `small` run every cycle.
    let small = sizes.iter().filter(|&&n| n <= cycle).count();
    for round in 0..rounds {
        eprintln!("round {} of {rounds}", round + 1);
        for c in 0..cycles {
            if c == cycles / 2 {
                (small..sizes.len()).for_each(&mut run_row);
            }
            // The batches due in this cycle, spread evenly over the round.
            let due = (c + 1) * batches / cycles - c * batches / cycles;
            let order: Vec<usize> = (0..small).chain((0..due).map(|_| sizes.len())).collect();
            let turn = (round * cycles + c) as usize % order.len();
            order[turn..]
                .iter()
                .chain(&order[..turn])
                .for_each(|&row| run_row(row));
        }
    }
    model.settings.runs = 1;
    let steps_per_run = common::group_steps(&model) as f64;
    let medians: Vec<f64> = per_run
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect();
    let best = medians[..sizes.len()]
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    // The sizes' mean throughput: what "flat within ±20%" is measured from. The best size's
    // figure is itself a median of few samples for the largest sizes (one per round).
    let mean = medians[..sizes.len()].iter().map(|m| 1.0 / m).sum::<f64>() / sizes.len() as f64;
    println!("ensemble throughput, {threads} threads, {rounds} rounds, interleaved");
    println!(
        "| runs | ensembles | median per 1,000 runs | group-steps/s | of the best | from the sizes' mean |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    let labels = sizes
        .iter()
        .map(|runs| runs.to_string())
        .chain([format!("{BATCH} × 1000 side by side")]);
    for (k, ((runs, t), &median)) in labels.zip(&per_run).zip(&medians).enumerate() {
        let ensembles = t.len() as u64 * if k == sizes.len() { BATCH } else { 1 };
        println!(
            "| {runs} | {ensembles} | {:.2} ms | {:.0} M/s | {:.0}% | {:+.0}% |",
            median * 1e6,
            steps_per_run / median / 1e6,
            best / median * 100.0,
            (1.0 / median / mean - 1.0) * 100.0
        );
    }
}
