//! A little linear algebra for the calibration's likelihood: dot products with a fixed
//! summation order (so that the same inputs give the same bits on every machine and at every
//! call), the Cholesky factor of a symmetric positive-definite matrix, and forward substitution.
//! Matrices are row-major slices of n × n values.

/// Σ aᵢbᵢ over four partial sums, always added in the same order.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    // Four partial sums: the same order at every call, so the same bits.
    let mut s = [0.0; 4];
    let chunks = a.len() / 4;
    for i in 0..chunks {
        for k in 0..4 {
            s[k] += a[4 * i + k] * b[4 * i + k];
        }
    }
    let mut tail = 0.0;
    for i in 4 * chunks..a.len() {
        tail += a[i] * b[i];
    }
    (s[0] + s[1]) + (s[2] + s[3]) + tail
}

/// In-place Cholesky factorisation of the symmetric matrix whose lower triangle is in `a`
/// (row-major n × n): afterwards the lower triangle holds L with L Lᵀ = A. `false` if A is
/// not positive definite.
pub fn cholesky(a: &mut [f64], n: usize) -> bool {
    for j in 0..n {
        for k in 0..j {
            let (head, tail) = a.split_at_mut(j * n);
            let row_k = &head[k * n..k * n + k];
            let row_j = &tail[..k];
            let s = tail[k] - dot(row_j, row_k);
            tail[k] = s / head[k * n + k];
        }
        let row = &a[j * n..j * n + j];
        let s = a[j * n + j] - dot(row, row);
        if s.is_nan() || s <= 0.0 || !s.is_finite() {
            return false;
        }
        a[j * n + j] = s.sqrt();
    }
    true
}

/// Solves L z = x in place for `columns` right-hand sides laid out as d rows of `columns`.
pub fn forward(l: &[f64], d: usize, x: &mut [f64], columns: usize) {
    for j in 0..d {
        let (done, rest) = x.split_at_mut(j * columns);
        let row = &mut rest[..columns];
        for k in 0..j {
            let a = l[j * d + k];
            if a != 0.0 {
                let z = &done[k * columns..(k + 1) * columns];
                for (v, w) in row.iter_mut().zip(z) {
                    *v -= a * w;
                }
            }
        }
        let pivot = l[j * d + j];
        for v in row.iter_mut() {
            *v /= pivot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_reproduces_a_hand_factored_matrix() {
        // A = L Lᵀ with L = [[2, 0, 0], [1, 3, 0], [0.5, -1, 1.5]].
        let l = [[2.0, 0.0, 0.0], [1.0, 3.0, 0.0], [0.5, -1.0, 1.5]];
        let mut a = vec![0.0; 9];
        for i in 0..3 {
            for j in 0..=i {
                a[i * 3 + j] = (0..3).map(|k| l[i][k] * l[j][k]).sum();
            }
        }
        assert!(cholesky(&mut a, 3));
        for i in 0..3 {
            for j in 0..=i {
                assert!((a[i * 3 + j] - l[i][j]).abs() < 1e-12, "{i},{j}");
            }
        }
        let mut singular = vec![1.0, 0.0, 1.0, 1.0];
        assert!(!cholesky(&mut singular, 2));
    }

    #[test]
    fn forward_substitution_solves_the_triangular_system() {
        // L = [[2, 0], [1, 4]]; L z = [4, 10] gives z = [2, 2]; two right-hand sides side by side.
        let l = [2.0, 0.0, 1.0, 4.0];
        let mut x = [4.0, 2.0, 10.0, 5.0];
        forward(&l, 2, &mut x, 2);
        assert_eq!(x, [2.0, 1.0, 2.0, 1.0]);
        assert_eq!(dot(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0; 5]), 15.0);
    }
}
