//! Sobol' low-discrepancy sequences in up to 256 dimensions, with Joe and Kuo's direction
//! numbers (`directions`), unscrambled (point for point SciPy's `qmc.Sobol(scramble=False)`,
//! which a test checks) or scrambled by a random linear matrix scramble and a random digital
//! shift (Matoušek 1998; the scrambling SciPy applies): each point is still a (t, m, s)-net
//! point, so every one-dimensional projection of the first 2^m points puts exactly one point in
//! each of 2^m equal intervals, but the sequence is random, and its estimates unbiased.

use rand::Rng;

use super::directions::DIRECTIONS;

/// Bits of each coordinate.
const BITS: usize = 32;

/// Dimensions available.
pub const MAX_DIMENSIONS: usize = DIRECTIONS.len();

/// A Sobol' sequence in `dims` dimensions: its direction numbers, scrambled or not, and the
/// digital shift.
#[derive(Debug, Clone)]
pub struct Sobol {
    /// [dimension][bit]: direction number V_k, as a 32-bit fraction.
    directions: Vec<[u32; BITS]>,
    shift: Vec<u32>,
}

/// The direction numbers of dimension `d`: V_k = m_k · 2^(32 − k) for k ≤ s, then Bratley and
/// Fox's recurrence from the primitive polynomial.
fn directions(d: usize) -> [u32; BITS] {
    let mut v = [0u32; BITS];
    if d == 0 {
        // The van der Corput sequence.
        for (k, x) in v.iter_mut().enumerate() {
            *x = 1 << (BITS - 1 - k);
        }
        return v;
    }
    let (poly, m) = DIRECTIONS[d];
    let s = m.len();
    for k in 0..s.min(BITS) {
        v[k] = m[k] << (BITS - 1 - k);
    }
    for k in s..BITS {
        let mut x = v[k - s] ^ (v[k - s] >> s);
        for i in 1..s {
            // The coefficient of x^(s − i) of the polynomial.
            if (poly >> (s - i)) & 1 == 1 {
                x ^= v[k - i];
            }
        }
        v[k] = x;
    }
    v
}

impl Sobol {
    /// The unscrambled sequence in `dims` dimensions (at most [`MAX_DIMENSIONS`]).
    pub fn new(dims: usize) -> Sobol {
        Sobol {
            directions: (0..dims.min(MAX_DIMENSIONS)).map(directions).collect(),
            shift: vec![0; dims.min(MAX_DIMENSIONS)],
        }
    }

    /// The sequence scrambled with `rng`: each dimension's direction numbers multiplied by a
    /// random lower-triangular binary matrix with a unit diagonal, and every point shifted by a
    /// random digital shift.
    pub fn scrambled(dims: usize, rng: &mut impl Rng) -> Sobol {
        let mut s = Sobol::new(dims);
        for (v, shift) in s.directions.iter_mut().zip(&mut s.shift) {
            // Row r of the matrix (r = 0 the most significant bit): bit r set, bits above it
            // random, bits below zero.
            let rows: [u32; BITS] = std::array::from_fn(|r| {
                let top = 1u32 << (BITS - 1 - r);
                let above = if r == 0 {
                    0
                } else {
                    rng.next_u32() & !((top << 1).wrapping_sub(1))
                };
                above | top
            });
            for x in v.iter_mut() {
                let mut y = 0u32;
                for (r, row) in rows.iter().enumerate() {
                    // Bit r of the result is the parity of row r's bits in x.
                    if (row & *x).count_ones() % 2 == 1 {
                        y |= 1 << (BITS - 1 - r);
                    }
                }
                *x = y;
            }
            *shift = rng.next_u32();
        }
        s
    }

    /// The first `n` points, each coordinate in [0, 1), in the order of the Gray code (as
    /// SciPy gives them).
    pub fn points(&self, n: usize) -> Vec<Vec<f64>> {
        let mut x: Vec<u32> = self.shift.clone();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            if i > 0 {
                let k = (i.trailing_zeros() as usize).min(BITS - 1);
                for (x, v) in x.iter_mut().zip(&self.directions) {
                    *x ^= v[k];
                }
            }
            // Centred in its 2⁻³² cell, so that no coordinate is exactly 0.
            let unit = |x: u32| (f64::from(x) + 0.5) / 4_294_967_296.0;
            out.push(x.iter().map(|&x| unit(x)).collect());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// FNV-1a of the 32-bit coordinates of the first 1,024 unscrambled points, dimension by
    /// dimension, from SciPy 1.17 (`qmc.Sobol(d=64, scramble=False, bits=32).random_base2(10)`):
    /// every direction number of the first 64 dimensions is exercised (the recurrence too).
    const FNV: [u64; 64] = [
        0x9bb361c5c5a87325,
        0xab4ec25b77a87325,
        0xfff651bfbba87325,
        0x1b8b58ab59a87325,
        0xb7c6d91a6fa87325,
        0x654ce292b5a87325,
        0x0a390374afa87325,
        0x3ac2383289a87325,
        0x4cd1bfe005a87325,
        0xc0ef887f1ba87325,
        0x2ec79384e3a87325,
        0x373d7dab69a87325,
        0x79bbe9973ba87325,
        0x93d53fdd4fa87325,
        0xd24ecc55c3a87325,
        0x2ec19b9e07a87325,
        0x25e51af3efa87325,
        0xfa9f89817fa87325,
        0x115d70df53a87325,
        0xddd0e6507fa87325,
        0xe63635eb67a87325,
        0xa294da7663a87325,
        0xb205f7c9b3a87325,
        0x6c5a53eeefa87325,
        0xf53ba528e3a87325,
        0xf28a38b6c9a87325,
        0x57f742ec77a87325,
        0x922f09078ba87325,
        0xea404a7975a87325,
        0x7f71212f0ba87325,
        0xac7f414c8fa87325,
        0xe97a9017f5a87325,
        0xce1f35dd63a87325,
        0x517ff9a6cba87325,
        0x69bb7f4c23a87325,
        0x9b20466eeba87325,
        0x3322e91779a87325,
        0xa809323133a87325,
        0x419e14b343a87325,
        0x89518b44fba87325,
        0x1552602e7fa87325,
        0xa89444e00da87325,
        0x7b14f80eb7a87325,
        0x82c007ac97a87325,
        0x7b8c292375a87325,
        0x3f8a7bdcf7a87325,
        0x643fc377cba87325,
        0xc9a4023d53a87325,
        0x6cdbdc05cba87325,
        0xd6a1cf272fa87325,
        0xd316b2103fa87325,
        0x0014e72bdfa87325,
        0x63fc142e0ba87325,
        0xca99a390a7a87325,
        0xc62b2452f9a87325,
        0x0dd8c00edfa87325,
        0x3a543470b7a87325,
        0x2476aacc97a87325,
        0x28329265bfa87325,
        0x0db6626227a87325,
        0x58fe136529a87325,
        0x479fdf3407a87325,
        0x19712dfffda87325,
        0xfd34c6f6cda87325,
    ];

    #[test]
    fn unscrambled_points_are_scipys() {
        let points = Sobol::new(64).points(1024);
        for (d, expected) in FNV.iter().enumerate() {
            let mut h = 0xcbf2_9ce4_8422_2325u64;
            for p in &points {
                let v = (p[d] * 4_294_967_296.0).floor() as u64;
                h = (h ^ v).wrapping_mul(0x100_0000_01b3);
            }
            assert_eq!(h, *expected, "dimension {d}");
        }
    }

    /// Scrambled, the first 2^m points still put exactly one point in each of 2^m intervals of
    /// every coordinate, for every dimension used.
    #[test]
    fn scrambled_points_stay_stratified() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let dims = 40;
        let s = Sobol::scrambled(dims, &mut rng);
        for m in [4, 7, 10] {
            let n = 1usize << m;
            let points = s.points(n);
            for d in 0..dims {
                let mut seen = vec![false; n];
                for p in &points {
                    let cell = (p[d] * n as f64) as usize;
                    assert!(
                        !seen[cell],
                        "dimension {d}, 2^{m} points: cell {cell} twice"
                    );
                    seen[cell] = true;
                }
            }
        }
        let other = Sobol::scrambled(dims, &mut rng).points(4);
        assert_ne!(other, s.points(4), "another scramble, other points");
    }
}
