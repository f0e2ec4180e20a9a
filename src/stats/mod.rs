//! Statistics, a leaf of the crate: confidence intervals (Wilson, Student's t, order
//! statistics), and quantiles from histograms and from counts of integer values. Nothing here
//! knows about territories or runs.

pub mod linalg;
mod quantiles;
pub mod sample;

pub use quantiles::{
    histogram_quantile, histogram_quantiles, integer_quantile, order_statistic, span_quantiles,
};
pub use sample::{quantile, standard_deviation};

use serde::Serialize;

/// 97.5% quantile of the standard normal.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Quantile levels reported everywhere (5th, 25th, 50th, 75th, 95th percentiles).
pub const LEVELS: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// An estimate with its 95% interval, over `n` runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Point estimate.
    pub estimate: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Runs it rests on (for `entry`, the runs that reached the phase).
    pub n: u64,
}

/// Wilson score interval for `k` successes out of `n`.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n_f = n as f64;
    let p = k as f64 / n_f;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = Z95 * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom: exact table values for
/// df ≤ 4, else the Cornish–Fisher expansion to fourth order (error under 3 × 10⁻⁴ at df = 5,
/// under 10⁻⁵ from df = 10).
pub fn t_quantile(df: f64) -> f64 {
    const SMALL: [f64; 4] = [12.706_204_736, 4.302_652_730, 3.182_446_305, 2.776_445_105];
    if df < 1.0 {
        return f64::INFINITY;
    }
    if df < 5.0 {
        return SMALL[(df as usize).clamp(1, 4) - 1];
    }
    let z = Z95;
    let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
    z + (z3 + z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df.powi(2))
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92160.0 * df.powi(4))
}

/// Mean and t-interval from n, Σx and Σx².
pub fn mean_interval(n: u64, sum: f64, sum_sq: f64) -> Estimate {
    if n == 0 {
        return Estimate {
            estimate: 0.0,
            low: 0.0,
            high: 0.0,
            n,
        };
    }
    let nf = n as f64;
    let mean = sum / nf;
    if n == 1 {
        return Estimate {
            estimate: mean,
            low: mean,
            high: mean,
            n,
        };
    }
    let var = ((sum_sq - nf * mean * mean) / (nf - 1.0)).max(0.0);
    let half = t_quantile(nf - 1.0) * (var / nf).sqrt();
    Estimate {
        estimate: mean,
        low: mean - half,
        high: mean + half,
        n,
    }
}

/// Median of integer values given by their counts, with a distribution-free 95% interval from
/// order statistics (ranks n/2 ± 1.96 √n / 2).
pub fn median_interval(counts: &[u64]) -> Option<Estimate> {
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return None;
    }
    let nth = |rank: u64| order_statistic(counts, rank);
    let nf = n as f64;
    let half = Z95 * nf.sqrt() / 2.0;
    let lo_rank = ((nf / 2.0 - half).floor().max(1.0) as u64) - 1;
    let hi_rank = ((nf / 2.0 + half).ceil() as u64).clamp(1, n) - 1;
    Some(Estimate {
        estimate: integer_quantile(counts, 0.5).unwrap_or(0.0),
        low: nth(lo_rank),
        high: nth(hi_rank),
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantile_matches_tables() {
        // Student's t 97.5% quantiles from standard tables.
        for (df, t) in [
            (5.0, 2.570_582),
            (10.0, 2.228_139),
            (30.0, 2.042_272),
            (100.0, 1.983_972),
        ] {
            assert!(
                (t_quantile(df) - t).abs() < 2e-3,
                "df {df}: {}",
                t_quantile(df)
            );
        }
        assert!((t_quantile(1e9) - Z95).abs() < 1e-6);
    }

    #[test]
    fn mean_interval_is_hand_computable() {
        // Values 1, 2, 3: mean 2, sd 1, half-width t(2) / √3.
        let e = mean_interval(3, 6.0, 14.0);
        assert_eq!(e.estimate, 2.0);
        assert!((e.high - 2.0 - 4.302_652_730 / 3f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn median_interval_brackets_the_median() {
        // Values 0..=99 once each.
        let counts = vec![1u64; 100];
        let e = median_interval(&counts).unwrap();
        assert_eq!(e.estimate, 49.5);
        assert!(
            e.low <= 49.5 && e.high >= 49.5 && e.high - e.low <= 22.0,
            "{e:?}"
        );
    }

    #[test]
    fn wilson_matches_a_hand_computed_value() {
        // 8 of 10: centre (0.8 + 1.92/20)/(1 + 3.84/10), known interval ≈ [0.490, 0.943].
        let (lo, hi) = wilson(8, 10);
        assert!((lo - 0.4901).abs() < 1e-3, "{lo}");
        assert!((hi - 0.9433).abs() < 1e-3, "{hi}");
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }
}
