//! Criterion benchmarks of the engine, the ensemble, aggregation and plotting.
//!
//! `cargo bench` runs them all; `cargo bench -- ensemble` only those whose name contains
//! "ensemble". Figures and where the time goes: benches/README.md.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use trajectoire::engine::Engine;
use trajectoire::ensemble::{self, Accumulator, Controls};
use trajectoire::model::Model;

mod common;
use common::{bench_dir, group_steps, model, pool, simulate, territory};

/// A network of `n` territories of 4 groups and 3 levers, each linked to the next.
fn network(n: usize, runs: u64) -> Model {
    let dir = bench_dir();
    let mut net = format!("[network]\nid = \"net{n}\"\nterritories = [");
    for i in 0..n {
        std::fs::write(
            dir.join(format!("t{i}.toml")),
            territory(&format!("t{i}"), 4, 3, runs),
        )
        .unwrap();
        net.push_str(&format!("\"t{i}.toml\", "));
    }
    net.push_str(&format!("]\n[simulation]\nruns = {runs}\n"));
    for i in 0..n.saturating_sub(1) {
        net.push_str(&format!(
            "[[link]]\nbetween = [\"t{i}\", \"t{}\"]\nexchange = 0.003\nspillover = 0.0001\n",
            i + 1
        ));
    }
    Model::parse(&dir.join(format!("net{n}.toml")), &net).unwrap()
}

/// One block of 1024 runs stepped over 240 months, no aggregation.
fn stepping(c: &mut Criterion) {
    let m = model(4, 3, 1024);
    let engine = Engine::new(&m);
    let mut block = engine.new_block();
    let mut g = c.benchmark_group("stepping");
    g.sample_size(20);
    g.throughput(Throughput::Elements(group_steps(&m)));
    g.bench_function("block-1024-runs-4-groups-3-levers", |b| {
        b.iter(|| engine.run_block(1, 0, 1024, &mut block, |_, b| black_box(b.lanes()) > 0))
    });
    g.finish();
}

/// The reference workload: 20,000 runs, 4 groups, 3 levers, 240 months, 4 substeps.
fn ensemble_threads(c: &mut Criterion) {
    let m = model(4, 3, 20_000);
    let mut g = c.benchmark_group("ensemble");
    g.sample_size(10);
    g.throughput(Throughput::Elements(group_steps(&m)));
    for threads in [1, 2] {
        g.bench_with_input(
            BenchmarkId::new("20k-runs-threads", threads),
            &threads,
            |b, &t| {
                let pool = pool(t);
                b.iter(|| simulate(&m, &pool))
            },
        );
    }
    g.finish();
}

fn scaling(c: &mut Criterion) {
    let two = pool(2);
    let mut g = c.benchmark_group("scaling");
    g.sample_size(10);
    for groups in [1, 4, 16, 64] {
        let m = model(groups, 3, 2048);
        g.throughput(Throughput::Elements(group_steps(&m)));
        g.bench_with_input(BenchmarkId::new("groups", groups), &m, |b, m| {
            b.iter(|| simulate(m, &two))
        });
    }
    for levers in [0, 8, 32] {
        let m = model(4, levers, 2048);
        g.throughput(Throughput::Elements(group_steps(&m)));
        g.bench_with_input(BenchmarkId::new("levers", levers), &m, |b, m| {
            b.iter(|| simulate(m, &two))
        });
    }
    for territories in [1, 4, 16] {
        let m = network(territories, 1024);
        g.throughput(Throughput::Elements(group_steps(&m)));
        g.bench_with_input(BenchmarkId::new("territories", territories), &m, |b, m| {
            b.iter(|| simulate(m, &two))
        });
    }
    for runs in [1_000u64, 10_000, 100_000] {
        let m = model(4, 3, runs);
        g.throughput(Throughput::Elements(group_steps(&m)));
        g.bench_with_input(BenchmarkId::new("runs", runs), &m, |b, m| {
            b.iter(|| simulate(m, &two))
        });
    }
    g.finish();
}

/// Folding one block's 241 months into the histograms, without stepping.
fn aggregation(c: &mut Criterion) {
    let m = model(4, 3, 1024);
    let engine = Engine::new(&m);
    let mut block = engine.new_block();
    let mut months = Vec::new();
    engine.run_block(1, 0, 1024, &mut block, |_, b| {
        months.push(b.clone());
        true
    });
    let mut acc = Accumulator::new(&engine, false);
    let mut g = c.benchmark_group("aggregation");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1024 * months.len() as u64 * 11));
    g.bench_function("observe-1024-runs-241-months", |b| {
        b.iter(|| {
            for (t, state) in months.iter().enumerate() {
                acc.observe(&engine, t as u32, state, 1);
            }
        })
    });
    g.finish();
}

/// Every plot (PNG and SVG) of the four-town network.
fn plotting(c: &mut Criterion) {
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut m = Model::load(&scenarios.join("villes-pairs.toml")).unwrap();
    m.settings.runs = 256;
    let controls = Controls::silent();
    let results = ensemble::simulate(&m, &common::WORKSPACE, &controls).unwrap();
    let dir = bench_dir().join("plots");
    std::fs::create_dir_all(&dir).unwrap();
    let mut g = c.benchmark_group("plotting");
    g.sample_size(10);
    g.bench_function("villes-pairs-all-plots-png-svg", |b| {
        b.iter(|| trajectoire::output::plot::write_all(&dir, &m, &results).unwrap())
    });
    g.bench_function("validate-and-compile-villes-pairs", |b| {
        b.iter(|| Engine::new(&Model::load(&scenarios.join("villes-pairs.toml")).unwrap()))
    });
    g.finish();
}

/// What the workshop page waits for after a slider is released: the choice read against the
/// file as written (two scenarios paired, 1,000 runs, 2 threads) and the charts drawn as SVG.
fn workshop(c: &mut Criterion) {
    use trajectoire::study::workshop::{Workshop, NAMES};
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let controls = Controls::silent();
    let threads = pool(2);
    let mut g = c.benchmark_group("workshop");
    g.sample_size(10);
    for (file, choice) in [
        ("grande-synthe", "lever.narrative.intensity"),
        ("villes-pairs", "malaunay.lever.citergie.intensity"),
    ] {
        let w =
            Workshop::open(&scenarios.join(format!("{file}.toml")), Some(1000), 20_000).unwrap();
        let names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
        let choices = vec![(choice.to_string(), 0.5)];
        g.bench_function(format!("{file}-1000-runs-read-and-drawn"), |b| {
            b.iter(|| {
                threads.install(|| {
                    let r = w
                        .read(&choices, None, &common::WORKSPACE, &controls)
                        .unwrap()
                        .unwrap();
                    let results = r.comparison.results.as_deref().unwrap();
                    let series = r.comparison.series.as_deref();
                    black_box(
                        trajectoire::output::plot::overlays(
                            &w.study.model,
                            &names,
                            results,
                            series,
                            true,
                        )
                        .unwrap(),
                    );
                })
            })
        });
    }
    g.finish();
}

/// Shards of a run: the merge of N shards of 1,024 runs (tables and summary, no plots) for
/// N = 1 to 256, one town and the four; the shard files' sizes printed; and a shard's fixed
/// start (load, prepare, one run, compress and write its file).
fn cluster(c: &mut Criterion) {
    use trajectoire::commands::common::{OutputOptions, SimulationOptions};
    use trajectoire::commands::job::Job;
    use trajectoire::commands::merge::MergeArgs;
    use trajectoire::commands::run::RunArgs;
    use trajectoire::commands::split::shard;
    use trajectoire::study::shard::Shard;
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let controls = Controls::silent();
    let args = |file: &str, runs: u64, out: &Path| RunArgs {
        file: scenarios.join(format!("{file}.toml")),
        simulation: SimulationOptions {
            runs: Some(runs),
            threads: Some(2),
            ..SimulationOptions::default()
        },
        output: OutputOptions {
            out: Some(out.to_path_buf()),
            no_plots: true,
            shard: None,
        },
    };
    let write = |args: &RunArgs, s: Shard| {
        let job = Job::from(args.clone()).recorded();
        let line = job.command_line();
        let value = serde_json::to_value(&job).unwrap();
        shard(args, s, line, value, &controls).unwrap().path
    };
    let mut g = c.benchmark_group("cluster");
    g.sample_size(10);
    for file in ["grande-synthe", "villes-pairs"] {
        for n in [1u32, 4, 16, 64, 256] {
            let dir = bench_dir().join(format!("shards-{file}-{n}"));
            let _ = std::fs::remove_dir_all(&dir);
            let args = args(file, 1024, &dir);
            let files: Vec<_> = (1..=n)
                .map(|index| write(&args, Shard { index, count: n }))
                .collect();
            let bytes: u64 = files
                .iter()
                .map(|f| std::fs::metadata(f).unwrap().len())
                .sum();
            eprintln!(
                "cluster: {file}, {n} shards of 1024 runs: {:.0} kB in all, {:.0} kB a shard",
                bytes as f64 / 1e3,
                bytes as f64 / 1e3 / f64::from(n)
            );
            let merge = MergeArgs {
                shards: files,
                out: Some(bench_dir().join(format!("merged-{file}-{n}"))),
                no_plots: true,
                threads: Some(2),
                quiet: true,
            };
            g.bench_function(format!("merge-{n}-shards-{file}"), |b| {
                b.iter(|| black_box(merge.execute(&controls).unwrap()))
            });
        }
        let dir = bench_dir().join(format!("start-{file}"));
        let one = args(file, 1000, &dir);
        g.bench_function(format!("shard-fixed-start-{file}"), |b| {
            b.iter(|| {
                let s = Shard {
                    index: 1,
                    count: 1000,
                };
                black_box(write(&one, s))
            })
        });
    }
    g.finish();
}

/// A calibration at the defaults: Malaunay (4 groups, 312 months), 3 parameters, the 90
/// observations of scenarios/malaunay-observed.csv, 400 particles of 100 runs, on 2 threads,
/// every file and plot written — the target is under 2 minutes. And its parts: one
/// likelihood evaluation (100 runs and the whitened score) and one generation's reference
/// (1,000 runs and the covariance's factor).
fn calibration(c: &mut Criterion) {
    use trajectoire::commands::calibrate::CalibrateArgs;
    use trajectoire::commands::common::SimulationOptions;
    use trajectoire::ensemble::Workspace;
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let controls = Controls::silent();
    let file = scenarios.join("malaunay.toml");
    let out = bench_dir().join("calibration");
    let args = CalibrateArgs {
        file: file.clone(),
        out: Some(out),
        observed: scenarios.join("malaunay-observed.csv"),
        varies: vec![
            "lever.eco-citizen-committee.intensity=0..2".into(),
            "lever.citergie.intensity=0..2".into(),
            "actor.inhabitants.fatigue=0.01..0.08".into(),
        ],
        particles: None,
        no_plots: false,
        simulation: SimulationOptions {
            threads: Some(2),
            ..SimulationOptions::default()
        },
    };
    let mut g = c.benchmark_group("calibration");
    g.sample_size(10);
    let problem = args.prepare().unwrap();
    let workspace = Workspace::new();
    let never = || false;
    let at = [0.8, 1.0, 0.035];
    let reference = problem.reference(&at, 0, &workspace, &never).unwrap();
    g.bench_function("evaluation-malaunay-100-runs", |b| {
        let mut id = 0;
        b.iter(|| {
            id += 1;
            black_box(problem.log_likelihood(&reference, &at, id, &workspace, &never))
        })
    });
    g.bench_function("reference-malaunay-1000-runs", |b| {
        b.iter(|| black_box(problem.reference(&at, 1, &workspace, &never)))
    });
    g.bench_function("calibrate-malaunay-3-parameters-90-observations", |b| {
        b.iter(|| black_box(args.execute(&controls).unwrap()))
    });
    g.finish();
}

/// A search of plans against the ensemble of as many runs: the 4-lever, 3-goal search
/// of Grande-Synthe at a tenth of its size (500 evaluations × 200 runs, every file and plot
/// written) beside one ensemble of 100,000 runs of Grande-Synthe (`run --no-plots`), both on
/// 2 threads; the target is a search at most 1.3× the ensemble.
fn plans(c: &mut Criterion) {
    use trajectoire::commands::common::SimulationOptions;
    use trajectoire::commands::optimize::OptimizeArgs;
    use trajectoire::commands::run::RunArgs;
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/grande-synthe.toml");
    let controls = Controls::silent();
    let simulation = |runs: u64| SimulationOptions {
        threads: Some(2),
        runs: Some(runs),
        ..SimulationOptions::default()
    };
    let search = OptimizeArgs {
        file: file.clone(),
        varies: [
            "cooperation",
            "narrative",
            "organic-canteens",
            "social-minimum",
        ]
        .iter()
        .map(|l| format!("lever.{l}.intensity=0..2"))
        .collect(),
        objectives: vec![
            "max perpetuation@end".into(),
            "max scale@end".into(),
            "min spend".into(),
        ],
        evaluations: 500,
        out: Some(bench_dir().join("plans-search")),
        simulation: simulation(200),
        ..OptimizeArgs::default()
    };
    let ensemble = RunArgs {
        file,
        simulation: simulation(100_000),
        output: trajectoire::commands::common::OutputOptions {
            out: Some(bench_dir().join("plans-ensemble")),
            no_plots: true,
            shard: None,
        },
    };
    let mut g = c.benchmark_group("plans");
    g.sample_size(10);
    g.bench_function(
        "optimize-grande-synthe-4-levers-3-goals-500-evaluations-200-runs",
        |b| b.iter(|| black_box(search.execute(&controls).unwrap())),
    );
    g.bench_function("run-grande-synthe-100000-runs", |b| {
        b.iter(|| black_box(trajectoire::commands::split::here(&ensemble, &controls).unwrap()))
    });
    g.finish();
}

/// The référentiel at work: `transfer` of the four peer towns × the référentiel's 8 methods at
/// its default runs (33 ensembles of the network: the file as written and each town with and
/// without each method, 2,000 runs each; every file and plot written) beside one `run` of the
/// network of as many runs, 66,000, with its plots; both on 2 threads. The target is a transfer
/// at most 1.5× the ensemble.
fn referentiel(c: &mut Criterion) {
    use trajectoire::commands::common::{OutputOptions, SimulationOptions};
    use trajectoire::commands::run::RunArgs;
    use trajectoire::commands::transfer::TransferArgs;
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/villes-pairs.toml");
    let controls = Controls::silent();
    let output = |name: &str| OutputOptions {
        out: Some(bench_dir().join(name)),
        no_plots: false,
        shard: None,
    };
    let transfer = TransferArgs {
        files: vec![file.clone()],
        library: None,
        levers: Vec::new(),
        from: None,
        outcomes: Vec::new(),
        simulation: SimulationOptions {
            threads: Some(2),
            ..SimulationOptions::default()
        },
        output: output("referentiel-transfer"),
    };
    let ensemble = RunArgs {
        file,
        simulation: SimulationOptions {
            threads: Some(2),
            runs: Some(66_000),
            ..SimulationOptions::default()
        },
        output: output("referentiel-ensemble"),
    };
    let mut g = c.benchmark_group("referentiel");
    g.sample_size(10);
    g.bench_function("transfer-villes-pairs-4-towns-8-methods-2000-runs", |b| {
        b.iter(|| black_box(trajectoire::commands::split::here(&transfer, &controls).unwrap()))
    });
    g.bench_function("run-villes-pairs-66000-runs", |b| {
        b.iter(|| black_box(trajectoire::commands::split::here(&ensemble, &controls).unwrap()))
    });
    g.finish();
}

criterion_group!(
    benches,
    stepping,
    ensemble_threads,
    scaling,
    aggregation,
    plotting,
    workshop,
    cluster,
    calibration,
    plans,
    referentiel
);
criterion_main!(benches);
