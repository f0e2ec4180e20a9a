//! Standard normal draws that take exactly one 32-bit word of a run's stream each.
//!
//! The engine draws its noise ξ with the 256-layer ziggurat of Marsaglia and Tsang, with the
//! tables and the acceptance tests of rand_distr's `StandardNormal`. A 32-bit word `w` makes
//! the 64-bit word rand_distr would read ([`widen`]): its low 8 bits pick the layer i, its top
//! 24 bits the position u ∈ (−1, 1), taken at the middle of its step of 2⁻²³ so that the
//! positions are symmetric about 0 (u = −1 + (k + ½)·2⁻²³). Then x = u·x_i is accepted at
//! once when |x| < x_{i+1} — about 98.8% of draws. Only the rare rest needs more randomness
//! (the wedge test, the tail beyond R, or a fresh start).
//!
//! rand_distr takes that extra randomness from the same stream, so the number of words a
//! draw uses varies from run to run. Here it comes from the run's *reserve* stream instead, so
//! every draw takes exactly one 32-bit word of the run's main stream. Every run of a block then
//! sits at the same position of its stream at every substep, which lets the engine read a month
//! of words per run at once and turn each into a normal with [`draw`]: the fast path
//! ([`fast`]), and for the few rejected words the out-of-line [`complete`].
//!
//! The reserve stream of a run is used only for those completions; how many of its words a run
//! uses varies, but nothing else is drawn from it.
//!
//! The result is rand_distr's N(0, 1) with positions on a grid of 2²⁴ points rather than 2⁵²:
//! a rejected draw continues the ziggurat with fresh, independent words, and which stream those
//! come from does not matter to the distribution. Within a layer the values are 2⁻²³·x_i ≤
//! 4.5·10⁻⁷ apart, and symmetric about 0, so ξ's mean stays 0. A 32-bit word costs half the
//! keystream of a 64-bit one, and the keystream was a fifth of the engine's time.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Open01, StandardNormal};

mod tables;
use tables::{F, R, X};

/// The 64-bit word rand_distr's ziggurat reads for the 32-bit word `w`: the layer in the low 8
/// bits, the 24 position bits at the top, and the next bit set (the middle of the step).
#[inline(always)]
pub fn widen(w: u32) -> u64 {
    (u64::from(w >> 8) << 40) | (1 << 39) | u64::from(w & 0xff)
}

/// The 64-bit word's layer and position: i from the low 8 bits, u ∈ [−1, 1) from the top 52.
#[inline(always)]
fn layer(word: u64) -> (usize, f64) {
    // Bits 12..64 as the mantissa of a number in [2, 4), minus 3.
    let u = f64::from_bits((word >> 12) | 0x4000_0000_0000_0000) - 3.0;
    ((word & 0xff) as usize, u)
}

/// The ziggurat's candidate x for the 32-bit word `w`, and whether it is accepted at once.
#[inline(always)]
pub fn fast(w: u32) -> (f64, bool) {
    let (i, u) = layer(widen(w));
    let x = u * X[i];
    (x, x.abs() < X[i + 1])
}

/// Finishes the draw of `word` when [`fast`] rejected it, with further randomness from
/// `reserve`: the tail beyond R for the base layer, else the wedge test, else a fresh draw.
/// Kept out of line: inlined, it would crowd the registers of the loops over lanes.
#[cold]
#[inline(never)]
pub fn complete<G: Rng>(w: u32, reserve: &mut G) -> f64 {
    let (i, u) = layer(widen(w));
    let x = u * X[i];
    if i == 0 {
        // Marsaglia's tail method, as rand_distr does it.
        let (mut t, mut y) = (1.0f64, 0.0f64);
        while -2.0 * y < t * t {
            let a: f64 = reserve.sample(Open01);
            let b: f64 = reserve.sample(Open01);
            t = a.ln() / R;
            y = b.ln();
        }
        return if u < 0.0 { t - R } else { R - t };
    }
    let v: f64 = reserve.random();
    if F[i + 1] + (F[i] - F[i + 1]) * v < (-x * x / 2.0).exp() {
        return x;
    }
    StandardNormal.sample(reserve)
}

/// One standard normal from one 32-bit word of the main stream, completed from `reserve` if
/// needed.
#[inline]
pub fn draw<G: Rng>(w: u32, reserve: &mut G) -> f64 {
    match fast(w) {
        (x, true) => x,
        _ => complete(w, reserve),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, TryRng};
    use rand_chacha::ChaCha8Rng;
    use std::convert::Infallible;

    /// `first`, then the words of `rest`: the stream rand_distr would see if a run's reserve
    /// stream followed the one word taken from its main stream.
    struct Chain {
        first: Option<u64>,
        rest: ChaCha8Rng,
    }

    impl TryRng for Chain {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            assert!(
                self.first.is_none(),
                "rand_distr's normal draw starts with a 64-bit word"
            );
            Ok(self.rest.next_u32())
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            Ok(self.first.take().unwrap_or_else(|| self.rest.next_u64()))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            assert!(
                self.first.is_none(),
                "rand_distr's normal draw starts with a 64-bit word"
            );
            self.rest.fill_bytes(dst);
            Ok(())
        }
    }

    /// Every draw is exactly rand_distr's ziggurat fed the main-stream word, widened, and then
    /// the reserve stream: same tables, same acceptance, same wedge and tail completions.
    #[test]
    fn draws_are_rand_distr_ziggurat_with_reserve_words() {
        let mut words = ChaCha8Rng::seed_from_u64(11);
        let mut reserve = ChaCha8Rng::seed_from_u64(12);
        let (mut rejected, mut base_layer) = (0, 0);
        for n in 0..400_000u64 {
            let mut word = words.next_u32();
            // Every 64th word is forced into the base layer (i = 0), where 6.6% of words are
            // rejected and completed by a draw from the tail beyond R.
            if n % 64 == 0 {
                word &= !0xff;
            }
            let (_, accepted) = fast(word);
            rejected += usize::from(!accepted);
            base_layer += usize::from(!accepted && word & 0xff == 0);
            let ours = draw(word, &mut reserve.clone());
            let theirs: f64 = StandardNormal.sample(&mut Chain {
                first: Some(widen(word)),
                rest: reserve.clone(),
            });
            assert_eq!(ours.to_bits(), theirs.to_bits(), "word {word:#010x}");
            reserve.next_u64();
        }
        assert!(rejected > 4_000, "{rejected} rejections");
        assert!(base_layer > 100, "{base_layer} base-layer rejections");
    }

    /// Positions sit at the middle of their steps of 2⁻²³: the word whose position bits are
    /// mirrored gives exactly the opposite value, none gives 0, and the extreme positions are
    /// ±(1 − 2⁻²⁴)·x_i.
    #[test]
    fn positions_are_symmetric_about_zero() {
        for w in [
            0u32,
            0xff,
            0x1234_5678,
            0xffff_ff00,
            0x8000_0000,
            0x7fff_ff42,
            0x8000_00ff,
        ] {
            let mirror = (!w & 0xffff_ff00) | (w & 0xff);
            let ((x, _), (y, _)) = (fast(w), fast(mirror));
            assert_eq!(x.to_bits(), (-y).to_bits(), "{w:#010x}");
            assert_ne!(x, 0.0, "{w:#010x}");
        }
        let edge = 1.0 - 2f64.powi(-24);
        for i in [0u32, 1, 100, 255] {
            assert_eq!(fast(i).0, -edge * X[i as usize], "layer {i}");
            assert_eq!(fast(0xffff_ff00 | i).0, edge * X[i as usize], "layer {i}");
        }
    }

    /// The fast path alone accepts about 98.8% of words (Marsaglia and Tsang's figure for 256
    /// layers), and `draw` returns its value unchanged when it does.
    #[test]
    fn fast_path_accepts_most_words() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut reserve = ChaCha8Rng::seed_from_u64(4);
        let mut rejected = 0;
        for _ in 0..100_000 {
            let word = rng.next_u32();
            let (value, accepted) = fast(word);
            rejected += usize::from(!accepted);
            if accepted {
                assert_eq!(value.to_bits(), draw(word, &mut reserve).to_bits());
            }
        }
        assert!(
            (900..1_500).contains(&rejected),
            "{rejected} rejected of 100,000"
        );
    }

    /// Empirical CDF of 2,000,000 draws against Φ at fixed points, within 5 standard errors;
    /// and the far tail (beyond R), reached only through the reserve stream.
    #[test]
    fn draws_follow_the_standard_normal() {
        let mut words = ChaCha8Rng::seed_from_u64(5);
        let mut reserve = ChaCha8Rng::seed_from_u64(6);
        let n = 2_000_000;
        let draws: Vec<f64> = (0..n)
            .map(|_| draw(words.next_u32(), &mut reserve))
            .collect();
        // Φ(z), from tables (Abramowitz and Stegun 26.2), to 15 digits.
        let cdf = [
            (-3.0, 0.001_349_898_031_630),
            (-2.0, 0.022_750_131_948_179),
            (-1.0, 0.158_655_253_931_457),
            (-0.5, 0.308_537_538_725_987),
            (0.0, 0.5),
            (0.5, 0.691_462_461_274_013),
            (1.0, 0.841_344_746_068_543),
            (2.0, 0.977_249_868_051_821),
            (3.0, 0.998_650_101_968_370),
        ];
        for (z, p) in cdf {
            let below = draws.iter().filter(|&&x| x < z).count() as f64 / n as f64;
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!(
                (below - p).abs() < 5.0 * se,
                "P(ξ < {z}) = {below}, Φ = {p}"
            );
        }
        // P(|ξ| > R) = 2(1 − Φ(R)) = 2.5806e-4 for R = 3.6541528853610088.
        let tail = draws.iter().filter(|x| x.abs() > R).count() as f64;
        let expected = 2.5806e-4 * n as f64;
        assert!(
            (tail - expected).abs() < 5.0 * expected.sqrt(),
            "{tail} beyond R"
        );
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 5.0 / (n as f64).sqrt(), "mean {mean}");
        assert!(
            (var - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(),
            "variance {var}"
        );
    }
}
