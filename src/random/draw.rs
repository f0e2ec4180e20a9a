//! Scalar draws from a side stream (designs, bootstrap resamplings, a calibration's sampler):
//! uniform numbers from 53 bits, unbiased integers below a bound (Lemire), standard normals
//! (Box–Muller). The runs' own draws are in [`super::keystream`] and [`super::normal`].

use rand::Rng;

/// A uniform number in [0, 1) from 53 random bits.
pub fn uniform(rng: &mut impl Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform integer below `n` (> 0), without bias (Lemire's method with rejection).
pub fn below(rng: &mut impl Rng, n: u64) -> u64 {
    loop {
        let x = rng.next_u64();
        let m = u128::from(x) * u128::from(n);
        let low = m as u64;
        if low >= n.wrapping_neg() % n {
            return (m >> 64) as u64;
        }
    }
}

/// A standard normal draw (Box–Muller, one of the pair).
pub fn normal(rng: &mut impl Rng) -> f64 {
    normal_pair(rng).0
}

/// Two independent standard normal draws (Box–Muller).
pub fn normal_pair(rng: &mut impl Rng) -> (f64, f64) {
    let u = uniform(rng);
    let v = uniform(rng);
    let r = (-2.0 * (1.0 - u).ln()).sqrt();
    let (sin, cos) = (std::f64::consts::TAU * v).sin_cos();
    (r * cos, r * sin)
}
