//! Statistics of a sample of values: its quantiles (linear between order statistics, "type 7"
//! of Hyndman & Fan, as numpy's and R's defaults) and its standard deviation.

/// Quantile `q` of sorted values, linear between order statistics (type 7); NaN for none.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = q * (sorted.len() - 1) as f64;
    let i = h.floor() as usize;
    let j = (i + 1).min(sorted.len() - 1);
    sorted[i] + (h - i as f64) * (sorted[j] - sorted[i])
}

/// The mean of values (NaN for none).
pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The sample standard deviation (divided by n − 1); 0 for fewer than two values.
pub fn standard_deviation(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let m = mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_deviations_by_hand() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&x, 0.5), 3.0);
        assert_eq!(quantile(&x, 0.25), 2.0);
        assert!((quantile(&x, 0.05) - 1.2).abs() < 1e-12);
        assert_eq!(quantile(&x, 1.0), 5.0);
        assert!(quantile(&[], 0.5).is_nan());
        assert_eq!(standard_deviation(&[1.0, 3.0]), 2f64.sqrt());
        assert_eq!(standard_deviation(&[7.0]), 0.0);
        // numpy.percentile([1, 2, 3, 4, 5, 6], 37.5) = 2.875.
        assert!((quantile(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 0.375) - 2.875).abs() < 1e-12);
    }
}
