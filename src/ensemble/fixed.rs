//! Exact numbers from floats, for aggregates that do not depend on the order they are added
//! in: a value in [0, 1] as a 2⁻⁵² fixed-point integer ([`fixed`]), and as its histogram bin
//! ([`bin`]). Both with float operations only, so that loops over a block's lanes vectorise.

use super::BINS;

/// Fixed-point scale of the exact sums: each value in [0, 1] becomes an integer ≤ 2⁵².
pub const FIXED: f64 = (1u64 << 52) as f64;

/// 2⁵²: adding it to a number in [0, 2⁵²] leaves that number rounded to an integer in the
/// low bits of the sum's representation.
const MAGIC: f64 = (1u64 << 52) as f64;

/// x · 2⁵² rounded to the nearest integer, for x ∈ [0, 1]: the exact fixed-point value summed
/// for means. Plain float arithmetic and an integer subtraction (no float-to-integer
/// conversion, which Rust saturates and x86 cannot do on packed doubles), so loops over lanes
/// vectorise. (At x = 1 the sum is 2⁵³, whose representation is 2⁵² above 2⁵²'s: still right.)
#[inline(always)]
pub fn fixed(x: f64) -> u64 {
    (x * FIXED + MAGIC).to_bits() - MAGIC.to_bits()
}

/// The histogram bin of x ∈ [0, 1]: ⌊1000·x⌋, and 999 for x = 1. Same float-only trick as
/// [`fixed`]: round to nearest through 2⁵², step down when that rounded up.
#[inline(always)]
pub fn bin(x: f64) -> usize {
    let y = x * BINS as f64;
    let nearest = (y + MAGIC) - MAGIC;
    let floor = if nearest > y { nearest - 1.0 } else { nearest };
    let capped = if floor > (BINS - 1) as f64 {
        (BINS - 1) as f64
    } else {
        floor
    };
    // 2⁵²'s representation ends in 52 zero bits: the sum's low bits are the integer.
    (capped + MAGIC).to_bits() as u16 as usize
}
