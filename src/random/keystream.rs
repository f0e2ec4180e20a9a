//! The random streams of a block's runs, computed side by side.
//!
//! Run `i`'s stream is ChaCha8 keyed by the master seed, on stream `i`
//! ([`super::run_rng`]). Every run of a block reads the same number of words of its
//! stream each month (the model's draws do not depend on the state, and a normal draw takes
//! exactly one word: see [`super::normal`]), so all of a block's runs always sit at the same
//! position of their streams. [`Streams`] uses that: it keeps one position for the whole block
//! and, per run, its stream number. It computes the ChaCha8 blocks of [`CHUNK`] runs at once —
//! the same rounds on eight states, one state per SIMD lane — and hands their words out in
//! exactly the order and with exactly the values each run's own `ChaCha8Rng` would give. A
//! unit test compares them with `ChaCha8Rng` word by word.
//!
//! Compared with a `ChaCha8Rng` per run, this drops a 256-byte buffer per run, which missed
//! the cache every month, and a copy per run and month; the words of a chunk of runs come out
//! already laid out side by side, as the engine reads them.

use wide::u32x8;

/// Runs whose streams are computed together: one ChaCha8 state per SIMD lane of 8 × 32 bits.
pub const CHUNK: usize = 8;

/// One 32-bit word of each of [`CHUNK`] runs.
pub type Words = [u32; CHUNK];

/// 32-bit words in a ChaCha block.
const BLOCK_WORDS: u64 = 16;

/// "expand 32-byte k".
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// The streams of up to `lanes` runs (a multiple of [`CHUNK`]), all at the same position.
#[derive(Debug, Clone)]
pub struct Streams {
    /// The ChaCha8 key of the master seed, as eight little-endian words.
    key: [u32; 8],
    /// Stream number (run index) of each lane, by chunk of [`CHUNK`] lanes: the low
    /// halves, then the high halves, as ChaCha's state takes them.
    stream: Vec<[Words; 2]>,
    /// Lanes in use, `0..lanes`: the ones [`Streams::read`] reads.
    lanes: usize,
    /// Position of every lane in its stream, in 32-bit words.
    position: u64,
    /// When `position` is inside a ChaCha block (not at its start): that block's 16 words of
    /// every lane, by chunk, so that no block is computed twice.
    held: Vec<[Words; 16]>,
}

/// The ChaCha8 key of the runs' streams under master seed `seed` (the same for every run:
/// [`super::run_rng`] sets only the stream).
fn key_of(seed: u64) -> [u32; 8] {
    let bytes = super::run_rng(seed, 0).get_seed();
    std::array::from_fn(|i| u32::from_le_bytes([0, 1, 2, 3].map(|b| bytes[4 * i + b])))
}

impl Streams {
    /// Streams for `lanes` lanes (a multiple of [`CHUNK`]), all at seed 0, stream 0.
    pub fn new(lanes: usize) -> Streams {
        assert!(lanes.is_multiple_of(CHUNK), "whole chunks of lanes");
        Streams {
            key: key_of(0),
            stream: vec![[[0; CHUNK]; 2]; lanes / CHUNK],
            lanes: 0,
            position: 0,
            held: vec![[[0; CHUNK]; 16]; lanes / CHUNK],
        }
    }

    /// Lanes `0..lanes` read the streams of runs `first_run, first_run + 1, …` of master seed
    /// `seed` from their start.
    pub fn reset(&mut self, seed: u64, first_run: u64, lanes: usize) {
        assert!(
            lanes <= self.stream.len() * CHUNK,
            "at most the lanes allocated"
        );
        self.lanes = lanes;
        self.key = key_of(seed);
        for (c, [low, high]) in self.stream.iter_mut().enumerate() {
            for l in 0..CHUNK {
                let stream = first_run.wrapping_add((c * CHUNK + l) as u64);
                (low[l], high[l]) = (stream as u32, (stream >> 32) as u32);
            }
        }
        self.position = 0;
    }

    /// Position of every lane in its stream, in 32-bit words.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Lanes in use.
    pub fn lanes(&self) -> usize {
        self.lanes
    }

    /// Moves lanes `keep..` into lanes `0..` of `to` (of the same size), which takes this
    /// block's key and position, and keeps lanes `..keep`: each lane then reads on exactly where
    /// it was.
    pub fn split_off(&mut self, keep: usize, to: &mut Streams) {
        let keep = keep.min(self.lanes);
        let moved = keep..self.lanes;
        let n = moved.len();
        (to.key, to.position, to.lanes) = (self.key, self.position, n);
        self.lanes = keep;
        for (j, from) in moved.enumerate() {
            let (c, l, from_c, from_l) = (j / CHUNK, j % CHUNK, from / CHUNK, from % CHUNK);
            for (to, from) in to.stream[c].iter_mut().zip(&self.stream[from_c]) {
                to[l] = from[from_l];
            }
            for (to, from) in to.held[c].iter_mut().zip(&self.held[from_c]) {
                to[l] = from[from_l];
            }
        }
    }

    /// Reads the next `2 · pairs` words of the streams of the lanes in use as pairs, chunk by
    /// chunk of [`CHUNK`] lanes: `take(first_lane, m, first, second)` gets words 2m and
    /// 2m + 1 (m in 0..pairs) of the lanes `first_lane..first_lane + CHUNK`, in order within a
    /// chunk. The engine reads only pairs (a shock's 64-bit word, two normals), so the position
    /// is always even and, ChaCha blocks being 16 words, a pair never straddles two blocks.
    #[inline]
    pub fn read_pairs(&mut self, pairs: usize, mut take: impl FnMut(usize, usize, &Words, &Words)) {
        assert!(
            self.position.is_multiple_of(2),
            "pairs start at even positions"
        );
        self.read(2 * pairs, |first_lane, k, words| {
            for (i, pair) in words.chunks_exact(2).enumerate() {
                take(first_lane, k / 2 + i, &pair[0], &pair[1]);
            }
        });
    }

    /// Reads the next `n` words of the streams of the lanes in use, chunk by chunk of
    /// [`CHUNK`] lanes: `take(first_lane, k, words)` gets words `k..k + words.len()` (of 0..n)
    /// of the lanes `first_lane..first_lane + CHUNK`, as many as lie in one ChaCha block, in
    /// order within a chunk. Lanes past those in use in the last chunk are computed too; their
    /// words mean nothing.
    #[inline]
    pub fn read(&mut self, n: usize, mut take: impl FnMut(usize, usize, &[Words])) {
        if n == 0 {
            return;
        }
        let start = self.position;
        let end = start + n as u64;
        let (first_block, last_block) = (start / BLOCK_WORDS, (end - 1) / BLOCK_WORDS);
        // The last block, when the read stops inside it, is kept for the next read.
        let keep_last = !end.is_multiple_of(BLOCK_WORDS);
        let chunks = self
            .stream
            .iter()
            .zip(&mut self.held)
            .take(self.lanes.div_ceil(CHUNK));
        for (c, (stream, held)) in chunks.enumerate() {
            let first_lane = c * CHUNK;
            let mut k = 0;
            for block in first_block..=last_block {
                let from = if block == first_block {
                    start % BLOCK_WORDS
                } else {
                    0
                } as usize;
                let to = if block == last_block {
                    (end - 1) % BLOCK_WORDS + 1
                } else {
                    BLOCK_WORDS
                } as usize;
                let words = if from > 0 {
                    // Invariant: a position inside a block has that block held.
                    *held
                } else {
                    let words = chacha8_chunk(&self.key, block, stream);
                    if block == last_block && keep_last {
                        *held = words;
                    }
                    words
                };
                take(first_lane, k, &words[from..to]);
                k += to - from;
            }
        }
        self.position = end;
    }
}

/// Rotation of each 32-bit lane left by `bits`.
#[inline(always)]
fn rotate_left(x: u32x8, bits: u32) -> u32x8 {
    (x << bits) | (x >> (32 - bits))
}

/// The ChaCha quarter round on words a, b, c, d.
#[inline(always)]
fn quarter_round(x: &mut [u32x8; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] += x[b];
    x[d] = rotate_left(x[d] ^ x[a], 16);
    x[c] += x[d];
    x[b] = rotate_left(x[b] ^ x[c], 12);
    x[a] += x[b];
    x[d] = rotate_left(x[d] ^ x[a], 8);
    x[c] += x[d];
    x[b] = rotate_left(x[b] ^ x[c], 7);
}

/// Block `block` of the ChaCha8 streams `stream` (low halves, high halves) under `key`,
/// computed side by side, one stream per SIMD lane: 8 rounds, then the input added back. Its
/// 16 words, each for every stream.
#[inline(always)]
fn chacha8_chunk(key: &[u32; 8], block: u64, stream: &[Words; 2]) -> [Words; 16] {
    let mut input = [u32x8::splat(0); 16];
    for (input, &word) in input.iter_mut().zip(SIGMA.iter().chain(key)) {
        *input = u32x8::splat(word);
    }
    input[12] = u32x8::splat(block as u32);
    input[13] = u32x8::splat((block >> 32) as u32);
    input[14..].copy_from_slice(&stream.map(u32x8::new));
    let mut x = input;
    for _ in 0..4 {
        quarter_round(&mut x, 0, 4, 8, 12);
        quarter_round(&mut x, 1, 5, 9, 13);
        quarter_round(&mut x, 2, 6, 10, 14);
        quarter_round(&mut x, 3, 7, 11, 15);
        quarter_round(&mut x, 0, 5, 10, 15);
        quarter_round(&mut x, 1, 6, 11, 12);
        quarter_round(&mut x, 2, 7, 8, 13);
        quarter_round(&mut x, 3, 4, 9, 14);
    }
    for (x, input) in x.iter_mut().zip(input) {
        *x += input;
    }
    x.map(u32x8::to_array)
}

/// rand's uniform f64 in [0, 1) from the 64-bit word whose low half is read first: the top 53
/// bits times 2⁻⁵³, as `Rng::random::<f64>()` makes it from `next_u64`.
#[inline]
pub fn uniform(low: u32, high: u32) -> f64 {
    let word = (u64::from(high) << 32) | u64::from(low);
    (word >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, RngExt};
    use rand_chacha::ChaCha8Rng;

    /// Every word, read in pieces of any length that start and stop anywhere in ChaCha's
    /// blocks, is the word the run's own `ChaCha8Rng` gives at that position; also after the
    /// lanes are split between two blocks partway (mid-block, not on a chunk's edge), and for
    /// stream numbers past 2³².
    #[test]
    fn words_are_each_runs_chacha8_stream() {
        let lanes = 4 * CHUNK;
        let live = lanes - 3;
        for (seed, first_run) in [(1u64, 0u64), (987_654_321, 5_000_000_000)] {
            let mut streams = Streams::new(lanes);
            streams.reset(seed, first_run, live);
            let theirs: Vec<ChaCha8Rng> = (0..live as u64)
                .map(|j| crate::random::run_rng(seed, first_run + j))
                .collect();
            let mut blocks = vec![(streams, theirs)];
            let mut read = 0;
            for (step, n) in [16, 2, 16, 5, 11, 1, 30, 16, 7, 40, 9, 3, 16, 1, 15]
                .into_iter()
                .enumerate()
            {
                for (streams, theirs) in &mut blocks {
                    let mut got = vec![vec![None; n]; lanes];
                    streams.read(n, |first, k, words| {
                        for (i, words) in words.iter().enumerate() {
                            for (l, &w) in words.iter().enumerate() {
                                got[first + l][k + i] = Some(w);
                            }
                        }
                    });
                    assert_eq!(streams.lanes(), theirs.len());
                    for (j, theirs) in theirs.iter_mut().enumerate() {
                        for (k, got) in got[j].iter().enumerate() {
                            let word = theirs.next_u32();
                            assert_eq!(*got, Some(word), "lane {j}, word {}", read + k);
                        }
                    }
                    assert_eq!(streams.position(), (read + n) as u64);
                }
                read += n;
                if step == 6 {
                    let (streams, theirs) = &mut blocks[0];
                    let mut to = Streams::new(lanes);
                    streams.split_off(3, &mut to);
                    let moved = theirs.split_off(3);
                    blocks.push((to, moved));
                }
            }
        }
    }

    /// `uniform` is rand's `random::<f64>()` on the stream's next two words.
    #[test]
    fn uniform_is_rands_f64() {
        let mut words = crate::random::run_rng(3, 4);
        let mut theirs = words.clone();
        for _ in 0..1000 {
            let (low, high) = (words.next_u32(), words.next_u32());
            let expected: f64 = theirs.random();
            assert_eq!(uniform(low, high).to_bits(), expected.to_bits());
        }
    }
}
