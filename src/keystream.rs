//! The random streams of a block's runs, computed side by side.
//!
//! Run `i`'s main stream is ChaCha8 keyed by the master seed, on stream `i`
//! ([`crate::engine::run_rng`]); its reserve stream is the same on stream 2⁶³ + `i`
//! ([`crate::engine::reserve_rng`]). Every run of a block reads the same number of words of
//! its main stream each month (MODEL.md's draws do not depend on the state, and a normal draw
//! takes exactly one word: see [`crate::normal`]), so all of a block's runs always sit at the
//! same position of their main streams. [`Streams`] uses that: it keeps one main position for
//! the whole block and, per run, its stream number and the position of its reserve stream. It
//! computes the ChaCha8 blocks of [`CHUNK`] runs at once — the same rounds on eight states, one
//! state per SIMD lane — and hands their words out in exactly the order and with exactly the
//! values each run's own `ChaCha8Rng` would give; a reserve stream's block is computed when a
//! draw needs it ([`Reserve`]). Unit tests compare both with `ChaCha8Rng` word by word.
//!
//! Compared with two `ChaCha8Rng` per run, this drops two 256-byte buffers per run, which
//! missed the cache every month and at every reserve draw, and a copy per run and month; the
//! words of a chunk of runs come out already laid out side by side, as the engine reads them.

use std::convert::Infallible;

use rand::TryRng;
use wide::u32x8;

/// Runs whose streams are computed together: one ChaCha8 state per SIMD lane of 8 × 32 bits.
pub const CHUNK: usize = 8;

/// One 32-bit word of each of [`CHUNK`] runs.
pub type Words = [u32; CHUNK];

/// 32-bit words in a ChaCha block.
const BLOCK_WORDS: u64 = 16;

/// "expand 32-byte k".
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// The reserve stream's number is the main stream's with this bit flipped.
pub const RESERVE: u64 = 1 << 63;

/// The main and reserve streams of up to `lanes` runs (a multiple of [`CHUNK`]), all at the
/// same position of their main streams.
#[derive(Debug, Clone)]
pub struct Streams {
    /// The ChaCha8 key of the master seed, as eight little-endian words.
    key: [u32; 8],
    /// Main stream number (run index) of each lane, by chunk of [`CHUNK`] lanes: the low
    /// halves, then the high halves, as ChaCha's state takes them.
    stream: Vec<[Words; 2]>,
    /// Lanes in use, `0..lanes`: the ones [`Streams::read`] reads.
    lanes: usize,
    /// Position of every lane in its main stream, in 32-bit words.
    position: u64,
    /// When `position` is inside a ChaCha block (not at its start): that block's 16 words of
    /// every lane, by chunk, so that no block is computed twice.
    held: Vec<[Words; 16]>,
    /// Position of each lane in its reserve stream, in 32-bit words.
    reserve: Vec<u64>,
    /// The block of its reserve stream each lane is reading (see [`Reserve`]).
    reserve_block: Vec<[u32; 16]>,
}

/// The reserve streams of a block's lanes, while its main streams are being read.
pub struct Reserves<'a> {
    key: &'a [u32; 8],
    stream: &'a [[Words; 2]],
    position: &'a mut [u64],
    block: &'a mut [[u32; 16]],
}

impl Reserves<'_> {
    /// Lane `j`'s reserve stream, read from where it stopped.
    #[inline]
    pub fn lane(&mut self, j: usize) -> Reserve<'_> {
        Reserve {
            key: self.key,
            stream: stream_of(self.stream, j) ^ RESERVE,
            position: &mut self.position[j],
            block: &mut self.block[j],
        }
    }
}

/// One lane's reserve stream: the words of `ChaCha8Rng` on its stream, from its position on.
/// The lane keeps the ChaCha block it is reading (one cache line); the next is computed when a
/// read reaches it.
pub struct Reserve<'a> {
    key: &'a [u32; 8],
    stream: u64,
    position: &'a mut u64,
    /// Block `position / 16` of the stream, unless the position is at the start of a block.
    block: &'a mut [u32; 16],
}

impl TryRng for Reserve<'_> {
    type Error = Infallible;
    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let at = (*self.position % BLOCK_WORDS) as usize;
        if at == 0 {
            let block = *self.position / BLOCK_WORDS;
            *self.block = chacha8(self.key, block, self.stream);
        }
        *self.position += 1;
        Ok(self.block[at])
    }
    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        // As rand_chacha: the first word is the low half.
        let low = u64::from(self.try_next_u32()?);
        Ok((u64::from(self.try_next_u32()?) << 32) | low)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for bytes in dst.chunks_mut(4) {
            let word = self.try_next_u32()?.to_le_bytes();
            bytes.copy_from_slice(&word[..bytes.len()]);
        }
        Ok(())
    }
}

/// The ChaCha8 key of the runs' streams under master seed `seed` (the same for every run:
/// [`crate::engine::run_rng`] sets only the stream).
fn key_of(seed: u64) -> [u32; 8] {
    let bytes = crate::engine::run_rng(seed, 0).get_seed();
    std::array::from_fn(|i| u32::from_le_bytes([0, 1, 2, 3].map(|b| bytes[4 * i + b])))
}

/// Main stream number of lane `j`.
fn stream_of(stream: &[[Words; 2]], j: usize) -> u64 {
    let [low, high] = &stream[j / CHUNK];
    (u64::from(high[j % CHUNK]) << 32) | u64::from(low[j % CHUNK])
}

impl Streams {
    /// Streams for `lanes` lanes (a multiple of [`CHUNK`]), all at seed 0, stream 0.
    pub fn new(lanes: usize) -> Streams {
        assert!(lanes % CHUNK == 0, "whole chunks of lanes");
        Streams {
            key: key_of(0),
            stream: vec![[[0; CHUNK]; 2]; lanes / CHUNK],
            lanes: 0,
            position: 0,
            held: vec![[[0; CHUNK]; 16]; lanes / CHUNK],
            reserve: vec![0; lanes],
            reserve_block: vec![[0; 16]; lanes],
        }
    }

    /// Lanes `0..lanes` read the streams of runs `first_run, first_run + 1, …` of master seed
    /// `seed` from their start.
    pub fn reset(&mut self, seed: u64, first_run: u64, lanes: usize) {
        assert!(lanes <= self.reserve.len(), "at most the lanes allocated");
        self.lanes = lanes;
        self.key = key_of(seed);
        for (c, [low, high]) in self.stream.iter_mut().enumerate() {
            for l in 0..CHUNK {
                let stream = first_run.wrapping_add((c * CHUNK + l) as u64);
                (low[l], high[l]) = (stream as u32, (stream >> 32) as u32);
            }
        }
        self.position = 0;
        self.reserve.fill(0);
    }

    /// Position of every lane in its main stream, in 32-bit words.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Position of lane `j` in its reserve stream, in 32-bit words.
    pub fn reserve_position(&self, j: usize) -> u64 {
        self.reserve[j]
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
        to.reserve[..n].copy_from_slice(&self.reserve[moved.clone()]);
        to.reserve_block[..n].copy_from_slice(&self.reserve_block[moved.clone()]);
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

    /// Reads the next `n` words of the main streams of the lanes in use, chunk by chunk of
    /// [`CHUNK`] lanes: `take(first_lane, k, words, reserves)` gets word `k` (0..n) of the
    /// lanes `first_lane..first_lane + CHUNK`, for k in order within a chunk, and the reserve
    /// streams to complete them with. Lanes past those in use in the last chunk are computed
    /// too; their words mean nothing.
    #[inline]
    pub fn read(
        &mut self,
        n: usize,
        mut take: impl FnMut(usize, usize, &Words, &mut Reserves<'_>),
    ) {
        if n == 0 {
            return;
        }
        let start = self.position;
        let end = start + n as u64;
        let (first_block, last_block) = (start / BLOCK_WORDS, (end - 1) / BLOCK_WORDS);
        // The last block, when the read stops inside it, is kept for the next read.
        let keep_last = end % BLOCK_WORDS != 0;
        let mut reserves = Reserves {
            key: &self.key,
            stream: &self.stream,
            position: &mut self.reserve,
            block: &mut self.reserve_block,
        };
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
                    let words = chacha8_chunk(reserves.key, block, stream);
                    if block == last_block && keep_last {
                        *held = words;
                    }
                    words
                };
                for words in &words[from..to] {
                    take(first_lane, k, words, &mut reserves);
                    k += 1;
                }
            }
        }
        self.position = end;
    }
}

/// The arithmetic ChaCha needs, on one 32-bit word or on one word of each of [`CHUNK`]
/// streams (one SIMD register).
trait Lanes: Copy {
    fn splat(word: u32) -> Self;
    /// Wrapping addition.
    fn add(self, other: Self) -> Self;
    fn xor(self, other: Self) -> Self;
    fn rotate_left(self, bits: u32) -> Self;
}

impl Lanes for u32 {
    #[inline(always)]
    fn splat(word: u32) -> u32 {
        word
    }
    #[inline(always)]
    fn add(self, other: u32) -> u32 {
        self.wrapping_add(other)
    }
    #[inline(always)]
    fn xor(self, other: u32) -> u32 {
        self ^ other
    }
    #[inline(always)]
    fn rotate_left(self, bits: u32) -> u32 {
        u32::rotate_left(self, bits)
    }
}

impl Lanes for u32x8 {
    #[inline(always)]
    fn splat(word: u32) -> u32x8 {
        u32x8::splat(word)
    }
    #[inline(always)]
    fn add(self, other: u32x8) -> u32x8 {
        self + other
    }
    #[inline(always)]
    fn xor(self, other: u32x8) -> u32x8 {
        self ^ other
    }
    #[inline(always)]
    fn rotate_left(self, bits: u32) -> u32x8 {
        (self << bits) | (self >> (32 - bits))
    }
}

/// The ChaCha quarter round on words a, b, c, d.
#[inline(always)]
fn quarter_round<W: Lanes>(x: &mut [W; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].add(x[b]);
    x[d] = x[d].xor(x[a]).rotate_left(16);
    x[c] = x[c].add(x[d]);
    x[b] = x[b].xor(x[c]).rotate_left(12);
    x[a] = x[a].add(x[b]);
    x[d] = x[d].xor(x[a]).rotate_left(8);
    x[c] = x[c].add(x[d]);
    x[b] = x[b].xor(x[c]).rotate_left(7);
}

/// The ChaCha8 block of `key` at block counter `block`, on the streams whose low and high
/// halves are `stream`: 8 rounds, then the input added back.
#[inline(always)]
fn chacha8_rounds<W: Lanes>(key: &[u32; 8], block: u64, stream: [W; 2]) -> [W; 16] {
    let mut input = [W::splat(0); 16];
    for (input, &word) in input.iter_mut().zip(SIGMA.iter().chain(key)) {
        *input = W::splat(word);
    }
    input[12] = W::splat(block as u32);
    input[13] = W::splat((block >> 32) as u32);
    input[14..].copy_from_slice(&stream);
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
        *x = x.add(input);
    }
    x
}

/// Block `block` of the ChaCha8 stream `stream` under `key`: its 16 words.
fn chacha8(key: &[u32; 8], block: u64, stream: u64) -> [u32; 16] {
    chacha8_rounds(key, block, [stream as u32, (stream >> 32) as u32])
}

/// Block `block` of the ChaCha8 streams `streams` under `key`, computed side by side: its 16
/// words, each for every stream.
#[inline(always)]
fn chacha8_chunk(key: &[u32; 8], block: u64, stream: &[Words; 2]) -> [Words; 16] {
    chacha8_rounds(key, block, stream.map(u32x8::new)).map(u32x8::to_array)
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
                .map(|j| crate::engine::run_rng(seed, first_run + j))
                .collect();
            let mut blocks = vec![(streams, theirs)];
            let mut read = 0;
            for (step, n) in [16, 2, 16, 5, 11, 1, 30, 16, 7, 40, 9, 3, 16, 1, 15]
                .into_iter()
                .enumerate()
            {
                for (streams, theirs) in &mut blocks {
                    let mut got = vec![vec![None; n]; lanes];
                    streams.read(n, |first, k, words, _| {
                        for (l, &w) in words.iter().enumerate() {
                            got[first + l][k] = Some(w);
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

    /// A lane's reserve stream gives the words of its `ChaCha8Rng`, read as 32-bit or 64-bit
    /// words, across blocks, also when the read stops and starts again; and the normal draws
    /// completed from it are those completed from the `ChaCha8Rng`.
    #[test]
    fn reserve_is_each_runs_reserve_chacha8_stream() {
        let (seed, first_run) = (42, 7_000);
        let mut streams = Streams::new(2 * CHUNK);
        streams.reset(seed, first_run, 2 * CHUNK);
        for j in [0, 5, 13] {
            let mut theirs = crate::engine::reserve_rng(seed, first_run + j as u64);
            streams.read(1, |_, _, _, reserves| {
                for n in [1, 2, 3, 16, 17, 40, 1, 1] {
                    let mut ours = reserves.lane(j);
                    for i in 0..n {
                        if i % 3 == 1 {
                            assert_eq!(ours.next_u64(), theirs.next_u64(), "lane {j}");
                        } else {
                            assert_eq!(ours.next_u32(), theirs.next_u32(), "lane {j}");
                        }
                    }
                }
                let mut main = crate::engine::run_rng(9, 9);
                for _ in 0..20_000 {
                    let word = main.next_u32();
                    let ours = crate::normal::draw(word, &mut reserves.lane(j));
                    let expected = crate::normal::draw(word, &mut theirs);
                    assert_eq!(ours.to_bits(), expected.to_bits(), "lane {j}");
                }
            });
            assert_eq!(
                u128::from(streams.reserve_position(j)),
                theirs.get_word_pos()
            );
        }
    }

    /// `uniform` is rand's `random::<f64>()` on the stream's next two words.
    #[test]
    fn uniform_is_rands_f64() {
        let mut words = crate::engine::run_rng(3, 4);
        let mut theirs = words.clone();
        for _ in 0..1000 {
            let (low, high) = (words.next_u32(), words.next_u32());
            let expected: f64 = theirs.random();
            assert_eq!(uniform(low, high).to_bits(), expected.to_bits());
        }
    }
}
