//! Stage 3 — the engine: the model compiled into dense arrays ([`Engine`], see `compile`), the
//! state of a block of runs ([`Block`], see `block`), and the monthly step of the model (docs/model.md, One month)
//! (shocks → levers → Euler substeps → indices → perpetuation → phase, see `step`).
//!
//! Groups of every territory live in one flat array (territories in network order, groups in
//! declared order), which is also the order of the normal draws. Runs are stepped in blocks of
//! up to [`LANES`] runs at once; each run still draws only from its own stream, in the model's order
//! order, so its numbers do not depend on the block it is in. Stepping allocates nothing: a
//! [`Block`] owns every buffer and is reused from block to block.

mod block;
mod compile;
mod step;
#[cfg(test)]
mod tests;

pub use block::{Block, Snapshot};

use compile::{LeverPlan, TerritoryPlan};

use crate::random::keystream::CHUNK;

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

/// Runs stepped together in one block: the lanes of every array below.
pub const LANES: usize = 1024;
const _: () = assert!(
    LANES.is_multiple_of(CHUNK),
    "whole chunks of lanes fill a block"
);

/// Rows of noise (one per group and substep) drawn per visit to the runs' streams: 16 rows of
/// [`LANES`] normals are 64 KiB, which stays in the L2 cache next to the block.
pub(crate) const MAX_NOISE_ROWS: usize = 16;

/// Distance between noise rows: one cache line (16 single-precision normals) more than
/// [`LANES`] normals, so that the 16 normals a lane writes, one per row, do not all fall in the
/// same L1 cache set (rows 4 KiB apart would).
pub(crate) const NOISE_STRIDE: usize = LANES + 16;

impl Engine {
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
}
