//! Quantiles: from histograms over an interval (interpolated within a bin), and exact ones of
//! integer values given by their counts.

/// Quantile `q` of a histogram over [lo, hi] with `counts.len()` bins, interpolated linearly
/// inside the bin and clamped to the observed [min, max].
pub fn histogram_quantile(counts: &[u64], lo: f64, hi: f64, min: f64, max: f64, q: f64) -> f64 {
    histogram_quantiles(counts, lo, hi, min, max, &[q])[0]
}

/// [`histogram_quantile`] at several increasing levels in one pass over the bins.
pub fn histogram_quantiles<T: Copy + Into<u64>, const N: usize>(
    counts: &[T],
    lo: f64,
    hi: f64,
    min: f64,
    max: f64,
    levels: &[f64; N],
) -> [f64; N] {
    span_quantiles(counts, 0, counts.len(), lo, hi, min, max, levels)
}

/// [`histogram_quantiles`] of a histogram of `bins` bins over [lo, hi] given only by its bins
/// `first..first + counts.len()`, outside which every count is zero.
#[allow(clippy::too_many_arguments)]
pub fn span_quantiles<T: Copy + Into<u64>, const N: usize>(
    counts: &[T],
    first: usize,
    bins: usize,
    lo: f64,
    hi: f64,
    min: f64,
    max: f64,
    levels: &[f64; N],
) -> [f64; N] {
    let total: u64 = counts.iter().map(|&c| c.into()).sum();
    if total == 0 || N == 0 {
        return [0.0; N];
    }
    let width = (hi - lo) / bins as f64;
    let targets = levels.map(|q| q * total as f64);
    // The cumulative count is an integer below 2⁵³, so `cumulative ≥ target` as floats is
    // `cumulative ≥ ⌈target⌉` as integers; and the first bin where the cumulative count
    // reaches a threshold of at least 1 holds counts. So the scan adds integers, 16 bins at a
    // time, and looks at single bins only in the few chunks where a threshold is crossed.
    let threshold = |k: usize| (targets[k].ceil() as u64).max(1);
    let mut out = [max; N];
    let mut k = 0;
    let mut next_threshold = threshold(0);
    let mut cumulative = 0u64;
    const CHUNK: usize = 16;
    'chunks: for (chunk_index, chunk) in counts.chunks(CHUNK).enumerate() {
        let chunk_total: u64 = chunk.iter().map(|&c| c.into()).sum();
        if cumulative + chunk_total < next_threshold {
            cumulative += chunk_total;
            continue;
        }
        for (j, &c) in chunk.iter().enumerate() {
            let c: u64 = c.into();
            let next = cumulative + c;
            while next >= next_threshold {
                let i = first + chunk_index * CHUNK + j;
                let fraction = ((targets[k] - cumulative as f64) / c as f64).clamp(0.0, 1.0);
                out[k] = (lo + (i as f64 + fraction) * width).clamp(min, max);
                k += 1;
                if k == N {
                    break 'chunks;
                }
                next_threshold = threshold(k);
            }
            cumulative = next;
        }
    }
    out
}

/// The value of rank `rank` (0-based) among integer values given by their counts.
pub fn order_statistic(counts: &[u64], rank: u64) -> f64 {
    let mut seen = 0;
    for (value, &c) in counts.iter().enumerate() {
        seen += c;
        if seen > rank {
            return value as f64;
        }
    }
    counts.len().saturating_sub(1) as f64
}

/// Exact quantile (linear interpolation between order statistics, "type 7") of integer values
/// given by their counts.
pub fn integer_quantile(counts: &[u64], q: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let position = q * (total - 1) as f64;
    let lower = position.floor() as u64;
    let fraction = position - lower as f64;
    let a = order_statistic(counts, lower);
    let b = if fraction > 0.0 {
        order_statistic(counts, lower + 1)
    } else {
        a
    };
    Some(a + fraction * (b - a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::LEVELS;

    /// The straightforward scan the one-pass quantiles are checked against.
    fn histogram_quantile_old(counts: &[u64], lo: f64, hi: f64, min: f64, max: f64, q: f64) -> f64 {
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let target = q * total as f64;
        let width = (hi - lo) / counts.len() as f64;
        let mut cumulative = 0.0;
        for (i, &c) in counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let next = cumulative + c as f64;
            if next >= target {
                let fraction = ((target - cumulative) / c as f64).clamp(0.0, 1.0);
                return (lo + (i as f64 + fraction) * width).clamp(min, max);
            }
            cumulative = next;
        }
        max
    }

    #[test]
    fn integer_quantile_interpolates_order_statistics() {
        // Values 1, 2, 3, 4 once each.
        let counts = [0, 1, 1, 1, 1];
        assert_eq!(integer_quantile(&counts, 0.5), Some(2.5));
        assert_eq!(integer_quantile(&counts, 0.0), Some(1.0));
        assert_eq!(integer_quantile(&counts, 1.0), Some(4.0));
        assert_eq!(integer_quantile(&[0, 0], 0.5), None);
    }

    #[test]
    fn one_pass_quantiles_equal_the_per_level_ones() {
        // A deterministic pseudo-random set of histograms, sparse and dense.
        let mut state = 12345u64;
        for round in 0..200 {
            let mut counts = vec![0u64; 1000];
            let fill = if round % 2 == 0 { 5 } else { 400 };
            for _ in 0..fill {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                counts[(state >> 33) as usize % 1000] += (state >> 60) + 1;
            }
            let got = histogram_quantiles(&counts, 0.0, 1.0, 0.0, 1.0, &LEVELS);
            for (g, l) in got.iter().zip(LEVELS) {
                assert_eq!(*g, histogram_quantile_old(&counts, 0.0, 1.0, 0.0, 1.0, l));
            }
            // The same from the span of non-zero bins only, at the extreme levels too.
            let first = counts.iter().position(|&c| c > 0).unwrap_or(0);
            let last = counts.iter().rposition(|&c| c > 0).unwrap_or(0);
            let levels = [0.0, 0.05, 0.5, 0.95, 1.0];
            let span = &counts[first..=last];
            let got = span_quantiles(span, first, 1000, 0.0, 1.0, 0.0, 1.0, &levels);
            for (g, l) in got.iter().zip(levels) {
                let old = histogram_quantile_old(&counts, 0.0, 1.0, 0.0, 1.0, l);
                assert_eq!(*g, old, "round {round}, level {l}");
            }
        }
    }

    #[test]
    fn histogram_quantile_is_clamped_to_observed_range() {
        let mut counts = vec![0u64; 1000];
        counts[300] = 10;
        // All ten values are 0.3004: the median must be that value, not the bin centre.
        assert_eq!(
            histogram_quantile(&counts, 0.0, 1.0, 0.3004, 0.3004, 0.5),
            0.3004
        );
        let q = histogram_quantile(&counts, 0.0, 1.0, 0.3, 0.301, 0.5);
        assert!((q - 0.3005).abs() < 1e-12);
    }
}
