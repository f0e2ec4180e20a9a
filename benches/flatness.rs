//! Ensemble throughput against the number of runs, measured interleaved.
//!
//! `cargo bench --bench flatness` (about 4 minutes on 2 cores), or with a smaller largest
//! ensemble: `FLATNESS_MAX=100000 cargo bench --bench flatness`. `FLATNESS_THREADS` (default 2)
//! and `FLATNESS_ROUNDS` (default 3) set the rest.
//!
//! Why not criterion: criterion measures one size after another, and on a shared machine whose
//! speed drifts by ±20% over minutes that compares moments, not sizes. Here every round runs
//! each size for the same number of runs in all (1,000 runs a thousand times, then 1,000,000
//! runs once, …), so every size sees the same mix of the machine's moods; each size's figure is
//! the median over all its ensembles of the time per run. The reference territory (4 groups,
//! 3 levers, 240 months, 4 substeps); each ensemble is `ensemble::simulate` on one pool built
//! once (aggregation and results included), as a sweep would call it.

use std::time::Instant;

mod common;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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
    // Seconds per run of every ensemble, per size.
    let mut per_run: Vec<Vec<f64>> = vec![Vec::new(); sizes.len()];
    for round in 0..rounds {
        eprintln!("round {} of {rounds}", round + 1);
        for (k, &runs) in sizes.iter().enumerate() {
            model.settings.runs = runs;
            for _ in 0..largest / runs {
                let start = Instant::now();
                common::simulate(&model, &pool);
                per_run[k].push(start.elapsed().as_secs_f64() / runs as f64);
            }
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
    let best = medians.iter().copied().fold(f64::INFINITY, f64::min);
    println!("ensemble throughput, {threads} threads, {rounds} rounds, interleaved");
    println!("| runs | ensembles | median per 1,000 runs | group-steps/s | of the best |");
    println!("| ---: | ---: | ---: | ---: | ---: |");
    for ((&runs, t), &median) in sizes.iter().zip(&per_run).zip(&medians) {
        println!(
            "| {runs} | {} | {:.2} ms | {:.0} M/s | {:.0}% |",
            t.len(),
            median * 1e6,
            steps_per_run / median / 1e6,
            best / median * 100.0
        );
    }
}
