//! The state of a block of runs stepped together, laid out `[item][lane]`.

use super::{Engine, LANES, NOISE_STRIDE};
use crate::random::keystream::Streams;

/// The state of a block of up to [`LANES`] runs, stepped together month by month. Every array
/// is laid out `[item][lane]` (item = group, territory, lever or phase), so the arithmetic of a
/// substep runs over contiguous lanes and observing a month touches each histogram row once
/// for the whole block. Allocated once per worker and reused; stepping allocates nothing.
#[derive(Debug, Clone)]
pub struct Block {
    pub(super) lanes: usize,
    // Per group.
    pub(super) engagement: Vec<f64>,
    pub(super) anchored: Vec<f64>,
    pub(super) base_push: Vec<f64>,
    pub(super) month_fatigue: Vec<f64>,
    pub(super) month_anchor: Vec<f64>,
    /// The drawn normals, as computed: in single precision (see [`crate::random::normal`]).
    pub(super) xi: Vec<f32>,
    pub(super) next_e: Vec<f64>,
    pub(super) next_a: Vec<f64>,
    // Per territory.
    pub(super) reach: Vec<f64>,
    pub(super) engagement_index: Vec<f64>,
    pub(super) stabilisation_index: Vec<f64>,
    pub(super) substep_index: Vec<f64>,
    pub(super) month_reach: Vec<f64>,
    pub(super) next_r: Vec<f64>,
    pub(super) spend: Vec<f64>,
    pub(super) phase: Vec<u32>,
    pub(super) alive: Vec<bool>,
    pub(super) watched: Vec<bool>,
    pub(super) below: Vec<u32>,
    pub(super) up: Vec<u32>,
    pub(super) down: Vec<u32>,
    // Per (territory, phase): entry month, −1 when never entered.
    pub(super) entry_month: Vec<i32>,
    // Per lever.
    pub(super) pause_end: Vec<u32>,
    pub(super) active_since: Vec<i32>,
    pub(super) lever_u: Vec<f64>,
    // Scratch for one group's push over lanes.
    pub(super) push: Vec<f64>,
    /// Per-lane scratch of the lever step.
    pub(super) levers: LeverScratch,
    /// Every lane's random stream.
    pub(super) streams: Streams,
}

/// Per-lane scratch of the lever step: the month's cost, the four phase multipliers (the
/// budget's scale goes in `m_reach` until they are applied), and the three sums over levers.
#[derive(Debug, Clone)]
pub(super) struct LeverScratch {
    pub(super) cost: Vec<f64>,
    pub(super) m_push: Vec<f64>,
    pub(super) m_retain: Vec<f64>,
    pub(super) m_anchor: Vec<f64>,
    pub(super) m_reach: Vec<f64>,
    pub(super) sum_push: Vec<f64>,
    pub(super) sum_retain: Vec<f64>,
    pub(super) sum_anchor: Vec<f64>,
}

impl LeverScratch {
    fn new() -> LeverScratch {
        let lanes = || vec![0.0; LANES];
        LeverScratch {
            cost: lanes(),
            m_push: lanes(),
            m_retain: lanes(),
            m_anchor: lanes(),
            m_reach: lanes(),
            sum_push: lanes(),
            sum_retain: lanes(),
            sum_anchor: lanes(),
        }
    }
}

/// Lanes `0..lanes` of item `item` of a `[item][lane]` array.
pub(super) fn row<T>(v: &[T], item: usize, lanes: usize) -> &[T] {
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

impl Block {
    /// Moves the runs in lanes `keep..` of this block into lanes `0..` of `to` (a block of the
    /// same engine), and keeps the first `keep`: both blocks then step on from the month this
    /// one reached exactly as if they had always held those runs, each run with its own state
    /// and random streams. What a run carries from month to month moves; what every month
    /// computes afresh before reading it (the lever step's rates and scratch, the substeps'
    /// next values and noise) does not. Lets an idle worker take over part of a busy worker's
    /// runs (see `ensemble`). Every field is named below, so a field added to [`Block`] cannot
    /// be forgotten here: the compiler asks where it goes.
    pub fn split_off(&mut self, keep: usize, to: &mut Block) {
        let (lanes, keep) = (self.lanes, keep.min(self.lanes));
        let moved = keep..lanes;
        fn lanes_of<T: Copy>(from: &[T], to: &mut [T], moved: &std::ops::Range<usize>) {
            for (from, to) in from.chunks_exact(LANES).zip(to.chunks_exact_mut(LANES)) {
                to[..moved.len()].copy_from_slice(&from[moved.clone()]);
            }
        }
        let Block {
            lanes: _,
            engagement,
            anchored,
            base_push: _,
            month_fatigue: _,
            month_anchor: _,
            xi: _,
            next_e: _,
            next_a: _,
            reach,
            engagement_index,
            stabilisation_index,
            substep_index: _,
            month_reach: _,
            next_r: _,
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
            lever_u: _,
            push: _,
            levers: _,
            streams,
        } = self;
        for (from, into) in [
            (&*engagement, &mut to.engagement),
            (&*anchored, &mut to.anchored),
            (&*reach, &mut to.reach),
            (&*engagement_index, &mut to.engagement_index),
            (&*stabilisation_index, &mut to.stabilisation_index),
            (&*spend, &mut to.spend),
        ] {
            lanes_of(from, into, &moved);
        }
        for (from, into) in [
            (&*phase, &mut to.phase),
            (&*below, &mut to.below),
            (&*up, &mut to.up),
            (&*down, &mut to.down),
            (&*pause_end, &mut to.pause_end),
        ] {
            lanes_of(from, into, &moved);
        }
        for (from, into) in [(&*alive, &mut to.alive), (&*watched, &mut to.watched)] {
            lanes_of(from, into, &moved);
        }
        for (from, into) in [
            (&*entry_month, &mut to.entry_month),
            (&*active_since, &mut to.active_since),
        ] {
            lanes_of(from, into, &moved);
        }
        streams.split_off(keep, &mut to.streams);
        to.lanes = moved.len();
        self.lanes = keep;
    }
}

impl Engine {
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

    /// Bytes of memory a block of this engine takes.
    pub fn block_bytes(&self) -> usize {
        let [groups, noise, territories, levers, phases] = self.block_shape();
        // Per group 7 arrays of f64; the noise in f32; per territory 7 of f64, 4 of u32 and 2
        // of bool; per lever u32, i32 and f64; per phase an i32; the lever scratch and the
        // push (9 rows of f64); the streams (per chunk of 8 lanes, 2 + 16 words of 8 lanes).
        groups * 56
            + noise * 4
            + territories * 74
            + levers * 16
            + phases * 4
            + 9 * 8 * LANES
            + LANES / 8 * 18 * 32
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
            levers: LeverScratch::new(),
            streams: Streams::new(LANES),
        }
    }

    pub(super) fn reset(&self, b: &mut Block, seed: u64, first_run: u64, lanes: usize) {
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
}
