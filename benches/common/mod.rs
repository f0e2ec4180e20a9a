//! The benchmarks' workloads, shared by `engine.rs` and `flatness.rs`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use trajectoire::ensemble::{self, Controls};
use trajectoire::model::Model;

pub const HORIZON: u32 = 240;
pub const SUBSTEPS: u32 = 4;

/// A territory with `groups` groups (ring influence), `levers` levers and one election.
pub fn territory(id: &str, groups: usize, levers: usize, runs: u64) -> String {
    let mut t = format!(
        "[territory]\nid = \"{id}\"\npopulation = 6000\nstart_year = 2008\nhorizon = {HORIZON}\nbudget = 15000\n\
         [simulation]\nruns = {runs}\nseed = 1\nsubsteps = {SUBSTEPS}\n\
         [scale]\ninnovation = 0.0005\nimitation = 0.04\n[perpetuation]\ncollapse = 0.1\n"
    );
    for g in 0..groups {
        let next = (g + 1) % groups;
        t.push_str(&format!(
            "[[actor]]\nid = \"g{g}\"\nengagement = 0.2\nanchored = 0.02\nadoption = 0.003\nfatigue = 0.02\n\
             erosion = 0.002\nvolatility = 0.03\ninfluenced_by = {{ g{next} = 0.01 }}\n"
        ));
    }
    t.push_str("[[phase]]\nid = \"a\"\n[[phase]]\nid = \"b\"\nenter = { engagement = 0.25 }\nhold = 3\nfallback = { engagement = 0.15 }\n");
    for l in 0..levers {
        let g = l % groups;
        t.push_str(&format!(
            "[[lever]]\nid = \"l{l}\"\nfrom = {}\ncost = 3000\nramp = 6\npush = {{ g{g} = 0.01 }}\nretain = {{ g{g} = 0.3 }}\nanchor = {{ g{g} = 0.005 }}\nreach = 0.001\n",
            l * 3
        ));
    }
    t.push_str("[[shock]]\nid = \"election\"\nevery = 72\nfirst = 75\nprobability = 0.5\nhits = { g0 = 0.6 }\n");
    t
}

pub fn bench_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-scenarios");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The reference territory with `groups` groups and `levers` levers, `runs` runs.
pub fn model(groups: usize, levers: usize, runs: u64) -> Model {
    Model::parse(
        &bench_dir().join("t.toml"),
        &territory("t", groups, levers, runs),
    )
    .unwrap()
}

/// Group-steps of a model's ensemble: one group advanced by one substep in one run.
pub fn group_steps(m: &Model) -> u64 {
    let groups: usize = m.territories.iter().map(|t| t.groups.len()).sum();
    m.settings.runs * u64::from(m.horizon()) * u64::from(m.settings.substeps) * groups as u64
}

/// A pool of `threads` workers, built once per benchmark: what is measured is the ensemble,
/// not the creation of threads (the CLI builds its pool once; a sweep reuses it).
pub fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// The workspace every benchmark's ensembles share, as a caller running many ensembles keeps
/// one (the CLI runs one ensemble per process).
pub static WORKSPACE: std::sync::LazyLock<ensemble::Workspace> =
    std::sync::LazyLock::new(ensemble::Workspace::new);

pub fn simulate(model: &Model, pool: &rayon::ThreadPool) {
    let controls = Controls::silent();
    pool.install(|| black_box(ensemble::simulate(model, &WORKSPACE, &controls)));
}
