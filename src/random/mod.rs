//! Random streams: each run draws only from its own ChaCha8 stream, a function of (master seed,
//! run index) alone ([`run_rng`]), so results do not depend on threads, blocks or shards.
//!
//! [`keystream`] computes the streams of a block's runs eight at a time, word for word those of
//! rand_chacha's `ChaCha8Rng`; [`normal`] turns pairs of 32-bit words into standard normal
//! draws (Box–Muller in single precision). [`DRAW_STREAM`] names the way draws are made from
//! the streams: a saved aggregate (a shard) records it, and aggregates made with another are
//! never merged.

pub mod draw;
pub mod keystream;
pub mod normal;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Version of the draw stream: which words of a run's stream make which draws. 4 since 0.4.0
/// (Box–Muller pairs from 32-bit words; a shock's uniform from 64 bits). Any change to what a
/// given (seed, run) draws must change it.
pub const DRAW_STREAM: u32 = 4;

/// The random stream of run `run` under master seed `seed`: ChaCha8 seeded from the seed, on
/// stream `run`. It depends on (seed, run) only, so results do not depend on threads or on how
/// runs are split into shards.
pub fn run_rng(seed: u64, run: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(run);
    rng
}

/// The stream of the simulated observation errors of a calibration's likelihood evaluation
/// `id`: stream 2⁶² + id, far from every run's and every side stream's.
pub fn observation_rng(seed: u64, id: u64) -> ChaCha8Rng {
    run_rng(seed, (1 << 62) + id)
}

/// What a side stream is for (see [`side_rng`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Placing a design's points (Latin hypercube, scrambled Sobol', Morris trajectories).
    Design = 1,
    /// Resampling for bootstrap intervals.
    Bootstrap = 2,
    /// A calibration's proposals and resampling.
    Calibration = 3,
    /// Subsamples of a discovered box's cases, to see whether it comes back.
    Resampling = 4,
    /// An optimisation's evolution (selection, crossover, mutation).
    Evolution = 5,
    /// The uncertain futures of a robust optimisation.
    Futures = 6,
}

/// A stream of master seed `seed` for something other than runs: stream 2⁶³ + `purpose`, far
/// from every run's (runs are at most 10⁷ per ensemble). The same seed gives the same design,
/// the same bootstrap; no run's draws change.
pub fn side_rng(seed: u64, purpose: Purpose) -> ChaCha8Rng {
    run_rng(seed, (1 << 63) + purpose as u64)
}
