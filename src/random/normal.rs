//! Standard normal draws, two from two 32-bit words of a run's stream, by the Box–Muller
//! transform computed in single precision, eight runs side by side (SIMD).
//!
//! For a pair of words (a, b):
//! - u = (⌊a/2⌋ + ½)·2⁻³¹ ∈ (0, 1) and r = √(−2 ln u);
//! - θ = 2π·b/2³²;
//! - the two normals are r cos θ and r sin θ, independent N(0, 1).
//!
//! Every value is computed in IEEE single precision (24-bit significands) with plain additions
//! and multiplications, a correctly rounded square root and no fused multiply-adds, so it is
//! the same on every machine and every SIMD width: [`pairs`] works on [`wide`]'s `f32x8`, which
//! falls back to SSE2 or scalar code where AVX is missing, with the same roundings. The
//! logarithm, sine and cosine are Cephes's single-precision polynomials (as in `logf`,
//! `sinf`, `cosf`), written out here rather than taken from a library, so that no dependency
//! update can change a draw. The angle needs no range reduction: the top two bits of b (after
//! adding 2²⁹) give the quadrant, the other 30 the offset in [−π/4, π/4).
//!
//! Precision: a normal is within 3·10⁻⁷·(1 + |ξ|) of the exact transform of its words
//! (the unit test measures it against double precision). Single precision costs nothing a
//! user could see: the engine adds σ√h·ξ to engagements stored in double precision, with σ√h
//! of the order of 10⁻², so the difference is of the order of 10⁻⁹ per substep. The largest
//! value is √(2·32·ln 2) = 6.66: draws beyond it (probability 2.7·10⁻¹¹ for an exact normal,
//! one draw in 37 billion) do not happen. cuRAND's `curand_normal` is the same method, also in
//! single precision from 32-bit words.
//!
//! Why this method: it needs no table and no rejection, so eight runs go through it in the
//! same instructions with nothing to complete afterwards. The ziggurat it replaced (0.1–0.3)
//! looked a layer up in a table for each draw, one run at a time, and completed about 1.2% of
//! draws from a second stream per run; a block of runs steps 11–20% faster with this
//! (fastest and median of ten alternations; benches/README.md, version 0.4.0).

use wide::{bytemuck::cast, f32x8, i32x8, u32x8};

use super::keystream::{Words, CHUNK};

/// 2⁻³¹ and 2⁻³²: u = k·2⁻³¹ + 2⁻³² for k = ⌊a/2⌋.
const TO_UNIT: f32 = 1.0 / 2_147_483_648.0;
const HALF_STEP: f32 = 1.0 / 4_294_967_296.0;
/// (π/2)·2⁻³⁰: one step of the 30 bits of the angle within a quadrant.
const ANGLE_STEP: f32 = std::f32::consts::FRAC_PI_2 / 1_073_741_824.0;

/// ln 2 in two parts, the first (355/512) exact in a few bits, as Cephes's `logf` takes it.
const LN2_HIGH: f32 = 355.0 / 512.0;
const LN2_LOW: f32 = -2.121_944_4e-4;
/// Cephes `logf`: ln(1 + x) = x − x²/2 + x³·P(x) for x ∈ [√½ − 1, √2 − 1].
const LOG_P: [f32; 9] = [
    7.037_683_6e-2,
    -1.151_461e-1,
    1.167_699_9e-1,
    -1.242_014_1e-1,
    1.424_932_3e-1,
    -1.666_805_8e-1,
    2.000_071_4e-1,
    -2.499_999_4e-1,
    3.333_333e-1,
];
/// Cephes `sinf` and `cosf` on [−π/4, π/4].
const SIN_P: [f32; 3] = [-1.951_529_6e-4, 8.332_161e-3, -1.666_665_5e-1];
const COS_P: [f32; 3] = [2.443_315_7e-5, -1.388_731_6e-3, 4.166_664_6e-2];

#[inline(always)]
fn splat(x: f32) -> f32x8 {
    f32x8::splat(x)
}

/// p[0]·xⁿ⁻¹ + … + p[n−1] by Horner's rule, without fused multiply-adds.
#[inline(always)]
fn horner<const N: usize>(x: f32x8, p: [f32; N]) -> f32x8 {
    let mut y = splat(p[0]);
    for &c in &p[1..] {
        y = y * x + splat(c);
    }
    y
}

/// ln u for u = (k + ½)·2⁻³¹, k ∈ [0, 2³¹). As Cephes's `logf`: u = (1 + x)·2^e with
/// 1 + x ∈ [√½, √2), then ln u = e·ln 2 + ln(1 + x). For u ≥ √½ (e = 0), x = u − 1 is taken
/// from the integer, −(2³¹ − 1 − k + ½)·2⁻³¹, rather than from u rounded to single precision,
/// which near 1 would keep only a few bits of u − 1 (and of r, for small r).
#[inline(always)]
fn ln_unit(k: i32x8) -> f32x8 {
    let u = f32x8::from_i32x8(k) * splat(TO_UNIT) + splat(HALF_STEP);
    let bits: u32x8 = cast(u);
    // u = m·2^e with m ∈ [1, 2); then m ∈ [√½, √2) by moving one factor 2 when m ≥ √2.
    let exponent: i32x8 = cast(bits >> 23);
    let m: f32x8 = cast((bits & u32x8::splat(0x007f_ffff)) | u32x8::splat(0x3f80_0000));
    let high = m.simd_ge(splat(std::f32::consts::SQRT_2));
    let m = high.select(m * splat(0.5), m);
    let e = f32x8::from_i32x8(exponent - i32x8::splat(127)) + high.select(splat(1.0), splat(0.0));
    let near_one = u.simd_ge(splat(std::f32::consts::FRAC_1_SQRT_2));
    let complement = f32x8::from_i32x8(i32x8::splat(i32::MAX) - k) + splat(0.5);
    let x = near_one.select(-(complement * splat(TO_UNIT)), m - splat(1.0));
    let e = near_one.select(splat(0.0), e);
    let x2 = x * x;
    let y = x2 * x * horner(x, LOG_P) + e * splat(LN2_LOW) - x2 * splat(0.5);
    x + y + e * splat(LN2_HIGH)
}

/// The two normals of each of eight pairs of words: `(r cos θ, r sin θ)` lane by lane, in
/// single precision (widened exactly to f64 where they are used), for
/// the u of `a` and the θ of `b` (see the module's documentation).
#[inline(always)]
pub fn pairs(a: &Words, b: &Words) -> ([f32; CHUNK], [f32; CHUNK]) {
    let (a, b) = (u32x8::new(*a), u32x8::new(*b));
    let r = (ln_unit(cast(a >> 1)) * splat(-2.0)).sqrt();
    // θ = q·π/2 + x with q the top two bits of b + 2²⁹ and x ∈ [−π/4, π/4) from the rest.
    let t = b + u32x8::splat(1 << 29);
    let q = t >> 30;
    let offset: i32x8 = cast(t & u32x8::splat(0x3fff_ffff));
    let x = f32x8::from_i32x8(offset - i32x8::splat(1 << 29)) * splat(ANGLE_STEP);
    let x2 = x * x;
    let sin = x + x * x2 * horner(x2, SIN_P);
    let cos = splat(1.0) - x2 * splat(0.5) + x2 * x2 * horner(x2, COS_P);
    // Quadrant q turns (cos x, sin x) by q quarter turns: odd q swaps them, and the signs
    // follow the quadrant.
    let odd: f32x8 = cast(u32x8::simd_eq(q & u32x8::splat(1), u32x8::splat(1)));
    let (c, s) = (odd.select(sin, cos), odd.select(cos, sin));
    let cos_sign: f32x8 = cast(((q + u32x8::splat(1)) & u32x8::splat(2)) << 30);
    let sin_sign: f32x8 = cast((q & u32x8::splat(2)) << 30);
    (
        (r * (c ^ cos_sign)).to_array(),
        (r * (s ^ sin_sign)).to_array(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The pair of one lane, in double precision with the standard library's functions.
    fn exact(a: u32, b: u32) -> (f64, f64) {
        let u = (f64::from(a >> 1) + 0.5) / 2_147_483_648.0;
        let r = (-2.0 * u.ln()).sqrt();
        let theta = std::f64::consts::TAU * f64::from(b) / 4_294_967_296.0;
        (r * theta.cos(), r * theta.sin())
    }

    /// [`pairs`], widened to double precision (exactly) as the engine reads them.
    fn pairs_f64(a: &Words, b: &Words) -> ([f64; CHUNK], [f64; CHUNK]) {
        let (x, y) = pairs(a, b);
        (x.map(f64::from), y.map(f64::from))
    }

    fn one(a: u32, b: u32) -> (f64, f64) {
        let (x, y) = pairs_f64(&[a; CHUNK], &[b; CHUNK]);
        (x[0], y[0])
    }

    /// Every lane is computed alone (a lane's value does not depend on its neighbours), and
    /// each value is within 3·10⁻⁷·(1 + |ξ|) of the transform in double precision: over a
    /// million random pairs and the words at the edges (u near 0 and 1; θ at every quadrant's
    /// and half-quadrant's edge).
    #[test]
    fn pairs_are_box_muller_to_single_precision() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let edges = [
            0u32,
            1,
            2,
            3,
            (1 << 29) - 1,
            1 << 29,
            (1 << 30) - 1,
            1 << 30,
            (3 << 29) - 1,
            3 << 29,
            1 << 31,
            (1 << 31) + 1,
            (7 << 29) - 1,
            7 << 29,
            u32::MAX - 1,
            u32::MAX,
        ];
        let mut worst: f64 = 0.0;
        let mut check = |a: &Words, b: &Words| {
            let (x, y) = pairs_f64(a, b);
            for l in 0..CHUNK {
                let (ex, ey) = exact(a[l], b[l]);
                for (got, want) in [(x[l], ex), (y[l], ey)] {
                    worst = worst.max((got - want).abs() / (1.0 + want.abs()));
                }
                assert_eq!((x[l], y[l]), one(a[l], b[l]), "lane {l}");
            }
        };
        for &a in &edges {
            for b in edges.chunks(CHUNK) {
                check(&[a; CHUNK], &b.try_into().unwrap());
            }
        }
        for _ in 0..125_000 {
            let (a, b): (Words, Words) = (rng.random(), rng.random());
            check(&a, &b);
        }
        assert!(worst < 3e-7, "worst relative error {worst:e}");
        // The largest value: u = 2⁻³², r = √(64 ln 2).
        let (x, y) = one(0, 0);
        assert!(
            (x - (64.0 * std::f64::consts::LN_2).sqrt()).abs() < 1e-5,
            "{x}"
        );
        assert_eq!(y, 0.0);
    }

    /// Two-sample Kolmogorov–Smirnov test against rand_distr's `StandardNormal` (the ziggurat,
    /// an independent method), 1,000,000 draws each: the largest gap between the two empirical
    /// CDFs stays below the 0.1% critical value, 1.95·√(2/n).
    #[test]
    fn draws_match_an_independent_normal_sampler() {
        use rand_distr::{Distribution, StandardNormal};
        let n = 1_000_000;
        let mut words = ChaCha8Rng::seed_from_u64(21);
        let mut ours = Vec::with_capacity(n);
        while ours.len() < n {
            let (a, b): (Words, Words) = (words.random(), words.random());
            let (x, y) = pairs_f64(&a, &b);
            ours.extend(x);
            ours.extend(y);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(22);
        let mut theirs: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
        ours.sort_by(f64::total_cmp);
        theirs.sort_by(f64::total_cmp);
        let (mut i, mut j, mut gap) = (0, 0, 0.0f64);
        while i < n && j < n {
            if ours[i] <= theirs[j] {
                i += 1;
            } else {
                j += 1;
            }
            gap = gap.max((i as f64 - j as f64).abs() / n as f64);
        }
        let critical = 1.95 * (2.0 / n as f64).sqrt();
        assert!(gap < critical, "KS distance {gap} ≥ {critical}");
    }

    /// The angle's quadrants and the sign of u's half step: mirrored angles give mirrored
    /// values exactly, in all four quadrants.
    #[test]
    fn quadrants_turn_exactly() {
        for b in [1u32, 12_345, (1 << 29) + 77, 1_000_000_007] {
            let a = 0x1234_5678;
            let (c0, s0) = one(a, b);
            let turns: Vec<(f64, f64)> = (1..4).map(|q| one(a, b.wrapping_add(q << 30))).collect();
            assert_eq!(turns[0], (-s0, c0), "{b}: a quarter turn");
            assert_eq!(turns[1], (-c0, -s0), "{b}: a half turn");
            assert_eq!(turns[2], (s0, -c0), "{b}: three quarter turns");
        }
    }

    /// Empirical CDF of 2,000,000 draws against Φ at fixed points, within 5 standard errors;
    /// the tail beyond 3.5; mean and variance; no correlation between the two of a pair.
    #[test]
    fn draws_follow_the_standard_normal() {
        let mut words = ChaCha8Rng::seed_from_u64(5);
        let n = 2_000_000;
        let mut draws = Vec::with_capacity(n);
        let mut cross = 0.0;
        for _ in 0..n / (2 * CHUNK) {
            let (a, b): (Words, Words) = (words.random(), words.random());
            let (x, y) = pairs_f64(&a, &b);
            cross += x.iter().zip(&y).map(|(x, y)| x * y).sum::<f64>();
            draws.extend(x);
            draws.extend(y);
        }
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
        // P(|ξ| > 3.5) = 2(1 − Φ(3.5)) = 4.6525e-4.
        let tail = draws.iter().filter(|x| x.abs() > 3.5).count() as f64;
        let expected = 4.6525e-4 * n as f64;
        assert!(
            (tail - expected).abs() < 5.0 * expected.sqrt(),
            "{tail} beyond 3.5"
        );
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 5.0 / (n as f64).sqrt(), "mean {mean}");
        assert!(
            (var - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(),
            "variance {var}"
        );
        let correlation = cross / (n / 2) as f64;
        assert!(
            correlation.abs() < 5.0 / ((n / 2) as f64).sqrt(),
            "correlation {correlation}"
        );
    }
}
