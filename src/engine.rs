//! Stage 3 — the engine: the model compiled into dense arrays, a small per-run state, and the
//! monthly step of MODEL.md §2 (shocks → levers → Euler substeps → indices → perpetuation →
//! phase).
//!
//! Groups of every territory live in one flat array (territories in network order, groups in
//! declared order), which is also the order of the normal draws. Runs are stepped in blocks of
//! up to [`LANES`] runs at once ([`Block`]); each run still draws only from its own stream, in
//! MODEL.md's order, so its numbers do not depend on the block it is in. Stepping allocates
//! nothing: a [`Block`] owns every buffer and is reused from block to block.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::keystream::{self, Streams, CHUNK};
use crate::model::{Condition, IndexKind, Model, ShockTiming};
use crate::normal;

/// The random stream of run `run` under master seed `seed`: ChaCha8 seeded from the seed, on
/// stream `run`. It depends on (seed, run) only, so results do not depend on threads or on how
/// runs are split into shards.
pub fn run_rng(seed: u64, run: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(run);
    rng
}

/// A lever, compiled: dense effect rows over its territory's groups.
#[derive(Debug, Clone)]
struct LeverPlan {
    from: u32,
    until: u32,
    after_phase: usize,
    cost: f64,
    ramp: u32,
    intensity: f64,
    /// push, retain, anchor per local group.
    push: Vec<f64>,
    retain: Vec<f64>,
    anchor: Vec<f64>,
    reach: f64,
}

#[derive(Debug, Clone)]
struct ShockPlan {
    timing: ShockTiming,
    probability: f64,
    /// 1 − e^(−rate) for random shocks.
    hazard: f64,
    /// (local group, hit share).
    hits: Vec<(usize, f64)>,
    /// (global lever index, months).
    pause: Vec<(usize, u32)>,
}

impl ShockPlan {
    fn due(&self, m: u32) -> bool {
        match &self.timing {
            ShockTiming::Periodic { every, first } => m >= *first && (m - first) % every == 0,
            ShockTiming::Scheduled { at } => at.binary_search(&m).is_ok(),
            ShockTiming::Random { .. } => true,
        }
    }
}

#[derive(Debug, Clone)]
struct PhasePlan {
    enter: Vec<Condition>,
    fallback: Vec<Condition>,
    hold: u32,
}

#[derive(Debug, Clone)]
struct TerritoryPlan {
    /// Global group indices of this territory.
    groups: std::ops::Range<usize>,
    /// Global lever indices.
    levers: std::ops::Range<usize>,
    /// Offset of this territory's phases in per-(territory, phase) arrays.
    phase_offset: usize,
    /// W, row-major over local groups.
    influence: Vec<f64>,
    /// ω_g / Σω for each local group.
    weight: Vec<f64>,
    shocks: Vec<ShockPlan>,
    phases: Vec<PhasePlan>,
    /// Each phase's effect multipliers (push, retain, anchor, reach), side by side.
    effects: Vec<[f64; 4]>,
    budget: Option<f64>,
    innovation: f64,
    imitation: f64,
    initial: f64,
    collapse: f64,
    grace: u32,
    watch_phase: usize,
    /// (peer territory, spillover s).
    spill: Vec<(usize, f64)>,
}

/// The compiled model.
#[derive(Debug, Clone)]
pub struct Engine {
    territories: Vec<TerritoryPlan>,
    levers: Vec<LeverPlan>,
    // Per global group.
    adoption: Vec<f64>,
    fatigue: Vec<f64>,
    erosion: Vec<f64>,
    /// σ √h.
    noise: Vec<f64>,
    e0: Vec<f64>,
    a0: Vec<f64>,
    /// CSR list of peers: for group g, `peers[peer_start[g]..peer_start[g + 1]]` are
    /// (global peer group, exchange x).
    peer_start: Vec<usize>,
    peers: Vec<(usize, f64)>,
    /// CSR list of influences: for group g, `inputs[input_start[g]..input_start[g + 1]]` are
    /// (global group h, W_gh) for every W_gh ≠ 0 of g's territory, h in declared order.
    input_start: Vec<usize>,
    inputs: Vec<(usize, f64)>,
    horizon: u32,
    substeps: u32,
    /// Substeps whose words are read together, one visit to each run's stream state
    /// ([`Engine::draw_noise`]).
    batch: u32,
    h: f64,
    deterministic: bool,
    draws: bool,
}

/// Index of the cost row in [`Block`]'s lever scratch.
const COST: usize = 0;

/// Runs stepped together in one block: the lanes of every array below.
pub const LANES: usize = 1024;
const _: () = assert!(LANES % CHUNK == 0, "whole chunks of lanes fill a block");

/// Rows of noise (one per group and substep) drawn per visit to the runs' streams: 16 rows of
/// [`LANES`] normals are 64 KiB, which stays in the L2 cache next to the block.
const MAX_NOISE_ROWS: usize = 16;

/// Distance between noise rows: one cache line (16 single-precision normals) more than
/// [`LANES`] normals, so that the 16 normals a lane writes, one per row, do not all fall in the
/// same L1 cache set (rows 4 KiB apart would).
const NOISE_STRIDE: usize = LANES + 16;

/// The state of a block of up to [`LANES`] runs, stepped together month by month. Every array
/// is laid out `[item][lane]` (item = group, territory, lever or phase), so the arithmetic of a
/// substep runs over contiguous lanes and observing a month touches each histogram row once
/// for the whole block. Allocated once per worker and reused; stepping allocates nothing.
#[derive(Debug, Clone)]
pub struct Block {
    lanes: usize,
    // Per group.
    engagement: Vec<f64>,
    anchored: Vec<f64>,
    base_push: Vec<f64>,
    month_fatigue: Vec<f64>,
    month_anchor: Vec<f64>,
    /// The drawn normals, as computed: in single precision (see [`crate::normal`]).
    xi: Vec<f32>,
    next_e: Vec<f64>,
    next_a: Vec<f64>,
    // Per territory.
    reach: Vec<f64>,
    engagement_index: Vec<f64>,
    stabilisation_index: Vec<f64>,
    substep_index: Vec<f64>,
    month_reach: Vec<f64>,
    next_r: Vec<f64>,
    spend: Vec<f64>,
    phase: Vec<u32>,
    alive: Vec<bool>,
    watched: Vec<bool>,
    below: Vec<u32>,
    up: Vec<u32>,
    down: Vec<u32>,
    // Per (territory, phase): entry month, −1 when never entered.
    entry_month: Vec<i32>,
    // Per lever.
    pause_end: Vec<u32>,
    active_since: Vec<i32>,
    lever_u: Vec<f64>,
    // Scratch for one group's push over lanes.
    push: Vec<f64>,
    // Per-lane scratch of the lever step: cost, four multipliers, three sums.
    scratch: [Vec<f64>; 8],
    /// Every lane's random stream.
    streams: Streams,
}

/// max(x, low) for numbers that are not NaN, as one SIMD instruction.
#[inline(always)]
fn at_least(x: f64, low: f64) -> f64 {
    if x < low {
        low
    } else {
        x
    }
}

/// min(x, high) for numbers that are not NaN, as one SIMD instruction.
#[inline(always)]
fn at_most(x: f64, high: f64) -> f64 {
    if x > high {
        high
    } else {
        x
    }
}

fn row<T>(v: &[T], item: usize, lanes: usize) -> &[T] {
    &v[item * LANES..item * LANES + lanes]
}

impl Block {
    /// Runs in this block.
    pub fn lanes(&self) -> usize {
        self.lanes
    }
    /// Engagement E of global group `g` in every lane.
    pub fn engagement(&self, g: usize) -> &[f64] {
        row(&self.engagement, g, self.lanes)
    }
    /// Anchored engagement A of global group `g` in every lane.
    pub fn anchored(&self, g: usize) -> &[f64] {
        row(&self.anchored, g, self.lanes)
    }
    /// Reach r of territory `t` in every lane.
    pub fn reach(&self, t: usize) -> &[f64] {
        row(&self.reach, t, self.lanes)
    }
    /// Engagement index e of territory `t` in every lane.
    pub fn engagement_index(&self, t: usize) -> &[f64] {
        row(&self.engagement_index, t, self.lanes)
    }
    /// Stabilisation index s of territory `t` in every lane.
    pub fn stabilisation_index(&self, t: usize) -> &[f64] {
        row(&self.stabilisation_index, t, self.lanes)
    }
    /// Current phase of territory `t` in every lane.
    pub fn phase(&self, t: usize) -> &[u32] {
        row(&self.phase, t, self.lanes)
    }
    /// Whether territory `t`'s transition is still alive, in every lane.
    pub fn alive(&self, t: usize) -> &[bool] {
        row(&self.alive, t, self.lanes)
    }
    /// Total spend of territory `t` so far, in every lane.
    pub fn spend(&self, t: usize) -> &[f64] {
        row(&self.spend, t, self.lanes)
    }
    /// Entry month of phase slot `p` (see [`Engine::phases_of`]) in every lane, −1 if never.
    pub fn entry_month(&self, p: usize) -> &[i32] {
        row(&self.entry_month, p, self.lanes)
    }
}

/// One run's state at one month, copied out of a block (for tests and analysis).
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// E per global group.
    pub engagement: Vec<f64>,
    /// A per global group.
    pub anchored: Vec<f64>,
    /// r per territory.
    pub reach: Vec<f64>,
    /// e per territory.
    pub engagement_index: Vec<f64>,
    /// s per territory.
    pub stabilisation_index: Vec<f64>,
    /// Phase per territory.
    pub phase: Vec<u32>,
    /// Alive per territory.
    pub alive: Vec<bool>,
    /// Spend so far per territory.
    pub spend: Vec<f64>,
}

impl Block {
    /// Moves the runs in lanes `keep..` of this block into lanes `0..` of `to` (a block of the
    /// same engine), and keeps the first `keep`: both blocks then step on from the month this
    /// one reached exactly as if they had always held those runs, each run with its own state
    /// and random streams. Everything a run carries from month to month moves; the noise,
    /// drawn afresh every month, does not. Lets an idle worker take over part of a busy
    /// worker's runs (see `ensemble`).
    pub fn split_off(&mut self, keep: usize, to: &mut Block) {
        let (lanes, keep) = (self.lanes, keep.min(self.lanes));
        fn lanes_of<T: Copy>(from: &[T], to: &mut [T], moved: std::ops::Range<usize>) {
            for (from, to) in from.chunks_exact(LANES).zip(to.chunks_exact_mut(LANES)) {
                to[..moved.len()].copy_from_slice(&from[moved.clone()]);
            }
        }
        let moved = keep..lanes;
        macro_rules! move_lanes {
            ($($field:ident),*) => {
                $(lanes_of(&self.$field, &mut to.$field, moved.clone());)*
            };
        }
        move_lanes!(
            engagement,
            anchored,
            base_push,
            month_fatigue,
            month_anchor,
            next_e,
            next_a,
            reach,
            engagement_index,
            stabilisation_index,
            substep_index,
            month_reach,
            next_r,
            spend,
            phase,
            alive,
            watched,
            below,
            up,
            down,
            entry_month,
            pause_end,
            active_since,
            lever_u,
            push
        );
        for (from, to) in self.scratch.iter().zip(&mut to.scratch) {
            lanes_of(from, to, moved.clone());
        }
        self.streams.split_off(keep, &mut to.streams);
        to.lanes = moved.len();
        self.lanes = keep;
    }
}

impl Block {
    /// Copies lane `j` out.
    pub fn snapshot(&self, j: usize) -> Snapshot {
        let groups = self.engagement.len() / LANES;
        let territories = self.reach.len() / LANES;
        let pick = |v: &[f64], n: usize| (0..n).map(|i| v[i * LANES + j]).collect();
        Snapshot {
            engagement: pick(&self.engagement, groups),
            anchored: pick(&self.anchored, groups),
            reach: pick(&self.reach, territories),
            engagement_index: pick(&self.engagement_index, territories),
            stabilisation_index: pick(&self.stabilisation_index, territories),
            phase: (0..territories)
                .map(|t| self.phase[t * LANES + j])
                .collect(),
            alive: (0..territories)
                .map(|t| self.alive[t * LANES + j])
                .collect(),
            spend: pick(&self.spend, territories),
        }
    }
}

impl Engine {
    /// Compiles a validated model.
    pub fn new(model: &Model) -> Engine {
        let substeps = model.settings.substeps.max(1);
        let h = 1.0 / f64::from(substeps);
        let deterministic = model.settings.deterministic;
        let mut territories = Vec::new();
        let mut levers = Vec::new();
        let (mut adoption, mut fatigue, mut erosion, mut noise, mut e0, mut a0) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        let mut group_offset = 0;
        let mut phase_offset = 0;
        for (ti, t) in model.territories.iter().enumerate() {
            let n = t.groups.len();
            let total_weight: f64 = t.groups.iter().map(|g| g.weight).sum();
            for g in &t.groups {
                adoption.push(g.adoption);
                fatigue.push(g.fatigue);
                erosion.push(g.erosion);
                noise.push(if deterministic {
                    0.0
                } else {
                    g.volatility * h.sqrt()
                });
                e0.push(g.engagement);
                a0.push(g.anchored);
            }
            let lever_offset = levers.len();
            for l in &t.levers {
                let dense = |pairs: &[(usize, f64)]| {
                    let mut row = vec![0.0; n];
                    for &(g, x) in pairs {
                        row[g] += x;
                    }
                    row
                };
                levers.push(LeverPlan {
                    from: l.from,
                    until: l.until.unwrap_or(u32::MAX),
                    after_phase: l.after_phase,
                    cost: l.cost,
                    ramp: l.ramp,
                    intensity: l.intensity,
                    push: dense(&l.push),
                    retain: dense(&l.retain),
                    anchor: dense(&l.anchor),
                    reach: l.reach,
                });
            }
            let shocks = t
                .shocks
                .iter()
                .map(|s| ShockPlan {
                    timing: s.timing.clone(),
                    probability: s.probability,
                    hazard: match s.timing {
                        ShockTiming::Random { rate } => -(-rate).exp_m1(),
                        _ => 0.0,
                    },
                    hits: s.hits.clone(),
                    pause: s
                        .pause
                        .iter()
                        .map(|&(l, m)| (lever_offset + l, m))
                        .collect(),
                })
                .collect();
            let phases = t
                .phases
                .iter()
                .map(|p| PhasePlan {
                    enter: p.enter.clone(),
                    fallback: p.fallback.clone(),
                    hold: p.hold,
                })
                .collect();
            let spill = model
                .links
                .iter()
                .filter_map(|l| match l.between {
                    (a, b) if a == ti => Some((b, l.spillover)),
                    (a, b) if b == ti => Some((a, l.spillover)),
                    _ => None,
                })
                .filter(|&(_, s)| s != 0.0)
                .collect();
            territories.push(TerritoryPlan {
                groups: group_offset..group_offset + n,
                levers: lever_offset..levers.len(),
                phase_offset,
                influence: t.influence.clone(),
                weight: t.groups.iter().map(|g| g.weight / total_weight).collect(),
                shocks,
                effects: t
                    .phases
                    .iter()
                    .map(|p| {
                        [
                            p.effect.push,
                            p.effect.retain,
                            p.effect.anchor,
                            p.effect.reach,
                        ]
                    })
                    .collect(),
                phases,
                budget: t.budget,
                innovation: t.scale.innovation,
                imitation: t.scale.imitation,
                initial: t.scale.initial,
                collapse: t.perpetuation.collapse,
                grace: t.perpetuation.grace,
                watch_phase: t.perpetuation.after_phase,
                spill,
            });
            group_offset += n;
            phase_offset += t.phases.len();
        }
        // Peers: same group id in a linked territory.
        let mut peer_start = vec![0];
        let mut peers = Vec::new();
        for (ti, t) in model.territories.iter().enumerate() {
            for g in &t.groups {
                for l in &model.links {
                    let other = match l.between {
                        (a, b) if a == ti => b,
                        (a, b) if b == ti => a,
                        _ => continue,
                    };
                    if l.exchange == 0.0 {
                        continue;
                    }
                    let ot = &model.territories[other];
                    if let Some(h) = ot.groups.iter().position(|x| x.id == g.id) {
                        peers.push((territories[other].groups.start + h, l.exchange));
                    }
                }
                peer_start.push(peers.len());
            }
        }
        let mut input_start = vec![0];
        let mut inputs = Vec::new();
        for p in &territories {
            let n = p.groups.len();
            for local in 0..n {
                for (h, &w) in p.influence[local * n..(local + 1) * n].iter().enumerate() {
                    if w != 0.0 {
                        inputs.push((p.groups.start + h, w));
                    }
                }
                input_start.push(inputs.len());
            }
        }
        // Substeps of noise drawn per visit to the runs' streams: as many as fit in the rows;
        // one more if that leaves an odd number of normals before the month's last batch, so
        // that normals pair up within batches exactly as within the month (see draw_noise).
        let mut batch = (MAX_NOISE_ROWS / e0.len().max(1)).clamp(1, substeps as usize);
        if batch < substeps as usize && batch * e0.len() % 2 == 1 {
            batch += 1;
        }
        let batch = batch as u32;
        let draws = !deterministic
            && (noise.iter().any(|&s| s > 0.0) || territories.iter().any(|t| !t.shocks.is_empty()));
        Engine {
            territories,
            levers,
            adoption,
            fatigue,
            erosion,
            noise,
            e0,
            a0,
            peer_start,
            peers,
            input_start,
            inputs,
            horizon: model.horizon(),
            substeps,
            batch,
            h,
            deterministic,
            draws,
        }
    }

    /// Whether runs use random draws at all; when not, every run is the same.
    pub fn is_stochastic(&self) -> bool {
        self.draws
    }

    /// Months simulated.
    pub fn horizon(&self) -> u32 {
        self.horizon
    }

    /// Number of territories.
    pub fn territory_count(&self) -> usize {
        self.territories.len()
    }

    /// Global group range of territory `t`.
    pub fn groups_of(&self, t: usize) -> std::ops::Range<usize> {
        self.territories[t].groups.clone()
    }

    /// Number of phases of territory `t`, and the offset of its phases in `entry_month`.
    pub fn phases_of(&self, t: usize) -> (usize, usize) {
        let p = &self.territories[t];
        (p.phases.len(), p.phase_offset)
    }

    /// Largest total spend a run of territory `t` can reach.
    pub fn max_spend(&self, t: usize) -> f64 {
        let p = &self.territories[t];
        let monthly: f64 = self.levers[p.levers.clone()].iter().map(|l| l.cost).sum();
        let monthly = p.budget.map_or(monthly, |b| monthly.min(b));
        monthly * f64::from(self.horizon)
    }

    /// The lengths of a block's arrays for this engine: per group, noise, per territory, per
    /// lever, per (territory, phase).
    fn block_shape(&self) -> [usize; 5] {
        let phases: usize = self.territories.iter().map(|p| p.phases.len()).sum();
        [
            self.e0.len() * LANES,
            self.e0.len() * self.batch as usize * NOISE_STRIDE,
            self.territories.len() * LANES,
            self.levers.len() * LANES,
            phases * LANES,
        ]
    }

    /// Whether `b` has the shape of this engine's blocks, so that it can step its runs:
    /// [`Engine::run_block`] sets every value a run reads, so a block made by another engine of
    /// the same shape serves as well as a new one.
    pub fn fits(&self, b: &Block) -> bool {
        let lengths = [
            b.engagement.len(),
            b.xi.len(),
            b.reach.len(),
            b.active_since.len(),
            b.entry_month.len(),
        ];
        lengths == self.block_shape()
    }

    /// A block sized for this engine.
    pub fn new_block(&self) -> Block {
        let [g, noise_rows, t, l, phase_lanes] = self.block_shape();
        Block {
            lanes: 0,
            engagement: vec![0.0; g],
            anchored: vec![0.0; g],
            base_push: vec![0.0; g],
            month_fatigue: vec![0.0; g],
            month_anchor: vec![0.0; g],
            xi: vec![0.0; noise_rows],
            next_e: vec![0.0; g],
            next_a: vec![0.0; g],
            reach: vec![0.0; t],
            engagement_index: vec![0.0; t],
            stabilisation_index: vec![0.0; t],
            substep_index: vec![0.0; t],
            month_reach: vec![0.0; t],
            next_r: vec![0.0; t],
            spend: vec![0.0; t],
            phase: vec![0; t],
            alive: vec![true; t],
            watched: vec![false; t],
            below: vec![0; t],
            up: vec![0; t],
            down: vec![0; t],
            entry_month: vec![-1; phase_lanes],
            pause_end: vec![0; l],
            active_since: vec![-1; l],
            lever_u: vec![0.0; l],
            push: vec![0.0; LANES],
            scratch: std::array::from_fn(|_| vec![0.0; LANES]),
            streams: Streams::new(LANES),
        }
    }

    fn reset(&self, b: &mut Block, seed: u64, first_run: u64, lanes: usize) {
        b.lanes = lanes;
        b.streams.reset(seed, first_run, lanes);
        for (g, (&e0, &a0)) in self.e0.iter().zip(&self.a0).enumerate() {
            b.engagement[g * LANES..(g + 1) * LANES].fill(e0);
            b.anchored[g * LANES..(g + 1) * LANES].fill(a0);
        }
        b.phase.fill(0);
        b.alive.fill(true);
        b.entry_month.fill(-1);
        b.spend.fill(0.0);
        b.below.fill(0);
        b.up.fill(0);
        b.down.fill(0);
        b.pause_end.fill(0);
        b.active_since.fill(-1);
        for (ti, p) in self.territories.iter().enumerate() {
            b.reach[ti * LANES..(ti + 1) * LANES].fill(p.initial);
            b.watched[ti * LANES..(ti + 1) * LANES].fill(p.watch_phase == 0);
            b.entry_month[p.phase_offset * LANES..(p.phase_offset + 1) * LANES].fill(0);
        }
        self.update_indices(b);
    }

    /// Weighted mean of a per-group array over a territory's groups, into `out` (per lane).
    fn weighted(&self, p: &TerritoryPlan, values: &[f64], out: &mut [f64], lanes: usize) {
        let out = &mut out[..lanes];
        let Some(last) = p.groups.len().checked_sub(1) else {
            out.fill(0.0);
            return;
        };
        // One pass per group: the first writes, the others add (0 + x is x, so this is the
        // same sum as from zero), and the last also caps the index at 1 — normalised weights
        // sum to 1 up to rounding.
        for (k, g) in p.groups.clone().enumerate() {
            let w = p.weight[k];
            let values = &values[g * LANES..g * LANES + lanes];
            let pairs = out.iter_mut().zip(values);
            match (k == 0, k == last) {
                (true, true) => pairs.for_each(|(o, v)| *o = at_most(w * v, 1.0)),
                (true, false) => pairs.for_each(|(o, v)| *o = w * v),
                (false, false) => pairs.for_each(|(o, v)| *o += w * v),
                (false, true) => pairs.for_each(|(o, v)| *o = at_most(*o + w * v, 1.0)),
            }
        }
    }

    fn update_indices(&self, b: &mut Block) {
        for (ti, p) in self.territories.iter().enumerate() {
            let span = ti * LANES..(ti + 1) * LANES;
            self.weighted(
                p,
                &b.engagement,
                &mut b.engagement_index[span.clone()],
                b.lanes,
            );
            self.weighted(p, &b.anchored, &mut b.stabilisation_index[span], b.lanes);
        }
    }

    /// Steps runs `first_run .. first_run + lanes` of master seed `seed` together from month 0
    /// to the horizon. `observe(t, block)` is called at t = 0 and after each month
    /// t = 1..=horizon; when it returns `false` the block stops there (cancellation). Run i's
    /// numbers depend only on (seed, i), never on the block it is in.
    pub fn run_block(
        &self,
        seed: u64,
        first_run: u64,
        lanes: usize,
        b: &mut Block,
        mut observe: impl FnMut(u32, &Block) -> bool,
    ) {
        self.start_block(seed, first_run, lanes, b);
        if !observe(0, b) {
            return;
        }
        for m in 0..self.horizon {
            self.step_month(m, b);
            if !observe(m + 1, b) {
                return;
            }
        }
    }

    /// Sets block `b` at month 0 of runs `first_run .. first_run + lanes` (at least 1, at most
    /// [`LANES`]) of master seed `seed`; [`Engine::step_month`] then steps it.
    pub fn start_block(&self, seed: u64, first_run: u64, lanes: usize, b: &mut Block) {
        self.reset(b, seed, first_run, lanes.clamp(1, LANES));
    }

    /// Steps every run of block `b` from month `m` to month `m + 1`. (Its stages are kept out
    /// of line: the profile then shows each one, and the code is the one benches/README.md
    /// measured when they were called from one loop.)
    pub fn step_month(&self, m: u32, b: &mut Block) {
        self.shocks(m, b);
        self.levers(m, b);
        for s in 0..self.substeps {
            let row = s % self.batch;
            if self.draws && row == 0 {
                self.draw_noise(b, self.batch.min(self.substeps - s));
            }
            self.substep(b, row as usize * self.e0.len());
        }
        self.update_indices(b);
        self.perpetuation(b);
        self.phases(m + 1, b);
    }

    /// Steps one run and returns its state at every month 0..=horizon.
    pub fn trajectory(&self, seed: u64, run: u64) -> Vec<Snapshot> {
        let mut b = self.new_block();
        let mut out = Vec::with_capacity(self.horizon as usize + 1);
        self.run_block(seed, run, 1, &mut b, |_, b| {
            out.push(b.snapshot(0));
            true
        });
        out
    }

    /// Step 1: shocks, in declared order, territories in network order. A shock that is due
    /// draws one uniform number (64 bits of the main stream) in every run, hit or not.
    fn shocks(&self, m: u32, b: &mut Block) {
        let lanes = b.lanes;
        for p in &self.territories {
            for shock in &p.shocks {
                if !shock.due(m) {
                    continue;
                }
                let mut hit = |j: usize| {
                    for &(g, share) in &shock.hits {
                        let i = (p.groups.start + g) * LANES + j;
                        let a = b.anchored[i];
                        b.engagement[i] = a + (b.engagement[i] - a) * (1.0 - share);
                    }
                    for &(l, months) in &shock.pause {
                        let i = l * LANES + j;
                        b.pause_end[i] = b.pause_end[i].max(m.saturating_add(months));
                    }
                };
                let random = matches!(shock.timing, ShockTiming::Random { .. });
                if self.deterministic {
                    if !random && shock.probability >= 1.0 {
                        (0..lanes).for_each(hit);
                    }
                    continue;
                }
                let chance = if random {
                    shock.hazard
                } else {
                    shock.probability
                };
                b.streams.read_pairs(1, |first_lane, _, low, high| {
                    for (l, (&low, &high)) in low.iter().zip(high).enumerate() {
                        let j = first_lane + l;
                        if j < lanes && keystream::uniform(low, high) < chance {
                            hit(j);
                        }
                    }
                });
            }
        }
    }

    /// Step 2: lever intensities, budget, spend, and this month's rates. Each quantity is
    /// computed for all lanes at once, so the sums over levers run over contiguous lanes.
    #[inline(never)]
    fn levers(&self, m: u32, b: &mut Block) {
        let lanes = b.lanes;
        for (ti, p) in self.territories.iter().enumerate() {
            let phase = &b.phase[ti * LANES..ti * LANES + lanes];
            let cost = &mut b.scratch[COST][..lanes];
            cost.fill(0.0);
            for l in p.levers.clone() {
                let lever = &self.levers[l];
                let scheduled = lever.from <= m && m < lever.until;
                let range = l * LANES..l * LANES + lanes;
                let (since, u) = (
                    &mut b.active_since[range.clone()],
                    &mut b.lever_u[range.clone()],
                );
                // Branch-free over lanes, so it runs in SIMD: every lane computes the
                // intensity it would have if active, and inactive lanes keep none of it. Months
                // fit i32 (horizon ≤ 1,200).
                let (month, ramp) = (m as i32, lever.ramp as i32);
                let after = u32::try_from(lever.after_phase).unwrap_or(u32::MAX);
                let (full, per_month, lever_cost) = (lever.intensity, f64::from(ramp), lever.cost);
                let lanes_of = since
                    .iter_mut()
                    .zip(u.iter_mut())
                    .zip(cost.iter_mut())
                    .zip(phase)
                    .zip(&b.pause_end[range]);
                for ((((since, u), cost), &phase), &pause_end) in lanes_of {
                    let active = scheduled & (phase >= after) & (m >= pause_end);
                    let start = if *since < 0 { month } else { *since };
                    // Past its ramp a lever is at full intensity: no division (the same
                    // number: min(1, elapsed / ramp) is 1 exactly when elapsed ≥ ramp).
                    let elapsed = month - start + 1;
                    let ramping = full * (f64::from(elapsed) / per_month);
                    let intensity = if elapsed >= ramp { full } else { ramping };
                    *since = if active { start } else { -1 };
                    *u = if active { intensity } else { 0.0 };
                    // Costs are ≥ 0 and start at +0: adding +0 changes nothing.
                    *cost += if active { lever_cost } else { 0.0 };
                }
            }
            // Budget rationing, branch-free over lanes (SIMD): the scale goes in m_reach until
            // the phase's multipliers are applied.
            let [cost, m_push, m_retain, m_anchor, m_reach, ..] = &mut b.scratch;
            let spend = &mut b.spend[ti * LANES..ti * LANES + lanes];
            let rationed = spend
                .iter_mut()
                .zip(&mut m_reach[..lanes])
                .zip(&cost[..lanes]);
            match p.budget {
                Some(budget) => {
                    for ((spend, scale), &cost) in rationed {
                        let over = cost > budget;
                        *spend += if over { budget } else { cost };
                        *scale = if over { budget / cost } else { 1.0 };
                    }
                }
                None => {
                    for ((spend, scale), &cost) in rationed {
                        *spend += cost;
                        *scale = 1.0;
                    }
                }
            }
            let multipliers = phase
                .iter()
                .zip(&mut m_push[..lanes])
                .zip(&mut m_retain[..lanes])
                .zip(&mut m_anchor[..lanes])
                .zip(&mut m_reach[..lanes]);
            for ((((&phase, push), retain), anchor), reach) in multipliers {
                let [effect_push, effect_retain, effect_anchor, effect_reach] =
                    p.effects[phase as usize];
                let scale = *reach;
                *push = effect_push * scale;
                *retain = effect_retain * scale;
                *anchor = effect_anchor * scale;
                *reach = effect_reach * scale;
            }
            let [_, m_push, m_retain, m_anchor, m_reach, sum_push, sum_retain, sum_anchor] =
                &mut b.scratch;
            for (local, g) in p.groups.clone().enumerate() {
                // Σ_l u_l w_lg over the levers with w_lg ≠ 0: the first writes, the others
                // add (the same sum as from zero); zero when no lever acts on the group.
                let mut written = [false; 3];
                for l in p.levers.clone() {
                    let lever = &self.levers[l];
                    let u = &b.lever_u[l * LANES..l * LANES + lanes];
                    for ((sum, w), written) in [
                        (&mut sum_push[..lanes], lever.push[local]),
                        (&mut sum_retain[..lanes], lever.retain[local]),
                        (&mut sum_anchor[..lanes], lever.anchor[local]),
                    ]
                    .into_iter()
                    .zip(&mut written)
                    {
                        if w == 0.0 {
                            continue;
                        }
                        let pairs = sum.iter_mut().zip(u);
                        if *written {
                            pairs.for_each(|(s, u)| *s += u * w);
                        } else {
                            pairs.for_each(|(s, u)| *s = u * w);
                            *written = true;
                        }
                    }
                }
                for (sum, written) in [
                    &mut sum_push[..lanes],
                    &mut sum_retain[..lanes],
                    &mut sum_anchor[..lanes],
                ]
                .into_iter()
                .zip(written)
                {
                    if !written {
                        sum.fill(0.0);
                    }
                }
                let range = g * LANES..g * LANES + lanes;
                let (adoption, fatigue) = (self.adoption[g], self.fatigue[g]);
                let rows = b.base_push[range.clone()].iter_mut().zip(&m_push[..lanes]);
                for (x, (m, sum)) in rows.zip(&sum_push[..lanes]).map(|((x, m), s)| (x, (m, s))) {
                    *x = adoption + m * sum;
                }
                let rows = b.month_fatigue[range.clone()]
                    .iter_mut()
                    .zip(&m_retain[..lanes]);
                for ((x, m), sum) in rows.zip(&sum_retain[..lanes]) {
                    *x = fatigue * at_least(1.0 - m * sum, 0.0);
                }
                let rows = b.month_anchor[range].iter_mut().zip(&m_anchor[..lanes]);
                for ((x, m), sum) in rows.zip(&sum_anchor[..lanes]) {
                    *x = m * sum;
                }
            }
            let reach = &mut b.month_reach[ti * LANES..ti * LANES + lanes];
            reach.fill(0.0);
            for l in p.levers.clone() {
                let w = self.levers[l].reach;
                if w != 0.0 {
                    for (r, u) in reach
                        .iter_mut()
                        .zip(&b.lever_u[l * LANES..l * LANES + lanes])
                    {
                        *r += u * w;
                    }
                }
            }
            for (r, m) in reach.iter_mut().zip(m_reach.iter()) {
                *r *= m;
            }
        }
    }

    /// The noise ξ of the next `substeps` substeps: one 32-bit word of each run's stream per
    /// group and substep, in MODEL.md's order (substep, then groups in global order), turned
    /// into normals two by two: words 2m and 2m + 1 give normals 2m and 2m + 1 (Box–Muller,
    /// [`normal::pairs`]). When the count is odd, one more word completes the last pair, whose
    /// second normal is not used; the engine's batches of substeps hold an even count except
    /// the month's last (see `batch` in [`Engine::new`]), so a month of G groups and S substeps
    /// takes 2⌈G·S/2⌉ words however it is batched. The words of a chunk of lanes come side by
    /// side ([`Streams::read_pairs`]) and are turned into normals side by side (SIMD), each stored
    /// as one piece of its row. The last chunk may reach past the block's lanes into spare
    /// lanes (there are LANES of them, a multiple of CHUNK); their normals are never read.
    #[inline(never)]
    fn draw_noise(&self, b: &mut Block, substeps: u32) {
        let rows = substeps as usize * self.e0.len();
        let xi = &mut b.xi;
        b.streams
            .read_pairs(rows.div_ceil(2), |first_lane, m, a, b| {
                let (x, y) = normal::pairs(a, b);
                let at = 2 * m * NOISE_STRIDE + first_lane;
                xi[at..at + CHUNK].copy_from_slice(&x);
                if 2 * m + 1 < rows {
                    xi[at + NOISE_STRIDE..at + NOISE_STRIDE + CHUNK].copy_from_slice(&y);
                }
            });
    }

    /// Step 3: one explicit Euler substep, every derivative from the state at its start; the
    /// noise of group g is row `noise_row + g` of the block's drawn normals.
    #[inline(never)]
    fn substep(&self, b: &mut Block, noise_row: usize) {
        let (h, lanes) = (self.h, b.lanes);
        for (ti, p) in self.territories.iter().enumerate() {
            self.weighted(
                p,
                &b.engagement,
                &mut b.substep_index[ti * LANES..(ti + 1) * LANES],
                lanes,
            );
        }
        // Group by group, over all lanes: the push, then the Euler update.
        for g in 0..self.e0.len() {
            let lane = g * LANES..g * LANES + lanes;
            let push = &mut b.push[..lanes];
            let base = &b.base_push[lane.clone()];
            // The first influence is added to the base push as it is copied (same sum).
            match self.inputs[self.input_start[g]..self.input_start[g + 1]].split_first() {
                Some((&(h_group, w), rest)) => {
                    let eh = row(&b.engagement, h_group, lanes);
                    for ((x, base), e) in push.iter_mut().zip(base).zip(eh) {
                        *x = base + w * e;
                    }
                    for &(h_group, w) in rest {
                        for (x, e) in push.iter_mut().zip(row(&b.engagement, h_group, lanes)) {
                            *x += w * e;
                        }
                    }
                }
                None => push.copy_from_slice(base),
            }
            for &(peer, x) in &self.peers[self.peer_start[g]..self.peer_start[g + 1]] {
                let ep = row(&b.engagement, peer, lanes);
                let eg = row(&b.engagement, g, lanes);
                for ((s, p), e) in push.iter_mut().zip(ep).zip(eg) {
                    *s += x * at_least(p - e, 0.0);
                }
            }
            let (noise, erosion) = (self.noise[g], self.erosion[g]);
            // Equal-length slices: no bounds checks, and the loop runs over lanes in SIMD.
            let e = &b.engagement[lane.clone()][..lanes];
            let a = &b.anchored[lane.clone()][..lanes];
            let f = &b.month_fatigue[lane.clone()][..lanes];
            let k = &b.month_anchor[lane.clone()][..lanes];
            let xi = &b.xi[(noise_row + g) * NOISE_STRIDE..][..lanes];
            let next_e = &mut b.next_e[lane.clone()][..lanes];
            let next_a = &mut b.next_a[lane][..lanes];
            let push = &push[..lanes];
            for j in 0..lanes {
                let (e, a) = (e[j], a[j]);
                let de = (push[j] * (1.0 - e) - f[j] * (e - a)) * h + noise * f64::from(xi[j]);
                let da = (k[j] * (e - a) - erosion * a) * h;
                // Comparisons rather than f64::max/min, whose NaN handling costs three
                // instructions each; nothing here is NaN (the fuzzer checks it).
                let new_a = at_most(at_least(a + da, 0.0), 1.0);
                next_a[j] = new_a;
                next_e[j] = at_most(at_least(e + de, new_a), 1.0);
            }
        }
        for (ti, p) in self.territories.iter().enumerate() {
            let span = ti * LANES..ti * LANES + lanes;
            let pr = &mut b.push[..lanes];
            for (x, m) in pr.iter_mut().zip(&b.month_reach[span.clone()]) {
                *x = p.innovation + m;
            }
            for &(peer, spill) in &p.spill {
                for (x, r) in pr.iter_mut().zip(row(&b.reach, peer, lanes)) {
                    *x += spill * r;
                }
            }
            let reach = &b.reach[span.clone()];
            let index = &b.substep_index[span.clone()];
            for (((next, &r), &s), &pr) in b.next_r[span]
                .iter_mut()
                .zip(reach)
                .zip(index)
                .zip(pr.iter())
            {
                let q = p.imitation * s;
                *next = at_most(at_least(r + (pr + q * r) * (1.0 - r) * h, 0.0), 1.0);
            }
        }
        std::mem::swap(&mut b.engagement, &mut b.next_e);
        std::mem::swap(&mut b.anchored, &mut b.next_a);
        std::mem::swap(&mut b.reach, &mut b.next_r);
    }

    /// Step 5: perpetuation.
    fn perpetuation(&self, b: &mut Block) {
        for (ti, p) in self.territories.iter().enumerate() {
            for j in 0..b.lanes {
                let i = ti * LANES + j;
                if !b.watched[i] {
                    continue;
                }
                if b.engagement_index[i] < p.collapse {
                    b.below[i] += 1;
                } else {
                    b.below[i] = 0;
                }
                if b.below[i] >= p.grace {
                    b.alive[i] = false;
                }
            }
        }
    }

    /// Step 6: phase transitions.
    #[inline(never)]
    fn phases(&self, t: u32, b: &mut Block) {
        for (ti, p) in self.territories.iter().enumerate() {
            for j in 0..b.lanes {
                let i = ti * LANES + j;
                let value = |c: &Condition| match c.index {
                    IndexKind::Engagement => b.engagement_index[i],
                    IndexKind::Stabilisation => b.stabilisation_index[i],
                    IndexKind::Scale => b.reach[i],
                };
                let k = b.phase[i] as usize;
                let mut next = k;
                if k + 1 < p.phases.len() {
                    let target = &p.phases[k + 1];
                    let holds = target.enter.iter().all(|c| value(c) >= c.threshold);
                    b.up[i] = if holds { b.up[i] + 1 } else { 0 };
                    if b.up[i] >= target.hold {
                        next = k + 1;
                    }
                }
                if next == k && !p.phases[k].fallback.is_empty() {
                    let falls = p.phases[k].fallback.iter().any(|c| value(c) < c.threshold);
                    b.down[i] = if falls { b.down[i] + 1 } else { 0 };
                    if b.down[i] >= p.phases[k].hold {
                        next = k - 1;
                    }
                }
                if next != k {
                    b.phase[i] = next as u32;
                    b.up[i] = 0;
                    b.down[i] = 0;
                    let slot = (p.phase_offset + next) * LANES + j;
                    if b.entry_month[slot] < 0 {
                        b.entry_month[slot] = t as i32;
                    }
                    if next >= p.watch_phase {
                        b.watched[i] = true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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
            let engine = Engine::new(&crate::model::Model::load(&path).unwrap());
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

    /// A run's noise is its stream's words turned into normals pair by pair, in MODEL.md's
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
        let model = Model::from_scenario(loaded).unwrap_or_else(|_| panic!("and validates"));
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
            let model = Model::from_scenario(loaded).unwrap_or_else(|_| panic!("and validates"));
            let engine = Engine::new(&model);
            assert_eq!((engine.substeps, engine.batch), (substeps, batch));
            let mut block = engine.new_block();
            engine.run_block(7, 100, 300, &mut block, |_, _| true);
            assert_eq!(block.streams.position(), words, "32-bit words");
        }
    }
}
