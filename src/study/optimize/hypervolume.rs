//! The hypervolume of a set of points (every objective minimised): the volume of what they
//! dominate inside the box up to a reference point — the measure a many-objective search's
//! progress is read by. Exact: a sweep in two dimensions, slices of two-dimensional fronts in
//! three, and WFG (While, Bradstreet & Barone 2012) above. A point that does not lie strictly
//! below the reference point in every objective adds nothing; the empty set has 0 (as pymoo's
//! `HV`, which the tests compare with).

/// The hypervolume of `points` (rows of `reference.len()` objectives) up to `reference`.
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let d = reference.len();
    let inside: Vec<Vec<f64>> = points
        .iter()
        .filter(|p| p.len() == d && p.iter().zip(reference).all(|(x, r)| x < r))
        .cloned()
        .collect();
    match d {
        0 => 0.0,
        1 => inside
            .iter()
            .map(|p| reference[0] - p[0])
            .fold(0.0, f64::max),
        // Dominated and repeated points add nothing to a sweep or to slices.
        2 => sweep(&inside, reference),
        3 => slices(inside, reference),
        _ => wfg(nondominated(inside), reference),
    }
}

/// Whether `a` dominates `b` (no worse in every objective, better in one).
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    let mut better = false;
    for (x, y) in a.iter().zip(b) {
        if x > y {
            return false;
        }
        better |= x < y;
    }
    better
}

/// The points no other dominates, each once, in their first order.
fn nondominated(points: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let mut out: Vec<Vec<f64>> = Vec::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        let beaten = points.iter().any(|q| dominates(q, p));
        let repeated = points[..i].iter().any(|q| q == p);
        if !beaten && !repeated {
            out.push(p.clone());
        }
    }
    out
}

/// Two objectives: sorted by the first, each point adds the rectangle below the previous ones.
fn sweep(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let mut sorted: Vec<&Vec<f64>> = points.iter().collect();
    sorted.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    let mut best = reference[1];
    let mut volume = 0.0;
    for p in sorted {
        if p[1] < best {
            volume += (reference[0] - p[0]) * (best - p[1]);
            best = p[1];
        }
    }
    volume
}

/// Three objectives: slices along the third, each the two-dimensional area of the points
/// below it times its thickness; the points are kept sorted by the first objective, so that
/// each slice is one pass (O(n²) in all).
fn slices(mut points: Vec<Vec<f64>>, reference: &[f64]) -> f64 {
    points.sort_by(|a, b| a[2].total_cmp(&b[2]));
    let mut below: Vec<[f64; 2]> = Vec::with_capacity(points.len());
    let mut volume = 0.0;
    for (k, p) in points.iter().enumerate() {
        let at = below.partition_point(|q| (q[0], q[1]) < (p[0], p[1]));
        below.insert(at, [p[0], p[1]]);
        let top = points.get(k + 1).map_or(reference[2], |q| q[2]);
        if top > p[2] {
            let mut best = reference[1];
            let mut area = 0.0;
            for q in &below {
                if q[1] < best {
                    area += (reference[0] - q[0]) * (best - q[1]);
                    best = q[1];
                }
            }
            volume += area * (top - p[2]);
        }
    }
    volume
}

/// WFG: a front of mutually non-dominated points, each adding its own box less what the
/// points after it already hold.
fn wfg(mut front: Vec<Vec<f64>>, reference: &[f64]) -> f64 {
    let d = reference.len();
    if d == 3 {
        return slices(front, reference);
    }
    if front.is_empty() {
        return 0.0;
    }
    front.sort_by(|a, b| b[d - 1].total_cmp(&a[d - 1]));
    let mut total = 0.0;
    for k in 0..front.len() {
        let p = &front[k];
        let own: f64 = p.iter().zip(reference).map(|(x, r)| r - x).product();
        let limit: Vec<Vec<f64>> = front[k + 1..]
            .iter()
            .map(|q| q.iter().zip(p).map(|(a, b)| a.max(*b)).collect())
            .collect();
        total += own - wfg(nondominated(limit), reference);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_fronts() {
        // A staircase: 0.25·1 + 0.25·0.75 + … by hand.
        let points = vec![
            vec![0.25, 0.75],
            vec![0.5, 0.5],
            vec![0.75, 0.25],
            vec![0.9, 0.9],
        ];
        assert_eq!(hypervolume(&points, &[1.0, 1.0]), 0.375);
        assert_eq!(hypervolume(&[], &[1.0, 1.0]), 0.0);
        // On the reference point's edge: nothing.
        assert_eq!(hypervolume(&[vec![0.5, 1.0]], &[1.0, 1.0]), 0.0);
        assert_eq!(hypervolume(&[vec![-1.0, -1.0]], &[1.0, 1.0]), 4.0);
        // Three dimensions: a 2×2×1 box and a 1×1×2 box sharing a unit cube.
        let cube = hypervolume(
            &[vec![0.0, 0.0, 1.0], vec![1.0, 1.0, 0.0]],
            &[2.0, 2.0, 2.0],
        );
        assert_eq!(cube, 4.0 + 2.0 - 1.0);
    }

    /// pymoo's `HV` (pymoo 0.6.2, moocore 0.3.2) on 21 sets of 2 to 5 objectives, up to 200
    /// points (tests/data/hv_cases.json, made with pymoo): exact where the case is exact in
    /// binary, else within 10⁻¹² relative.
    #[test]
    fn pymoos_hypervolumes() {
        let text = include_str!("../../../tests/data/hv_cases.json");
        let data: serde_json::Value = serde_json::from_str(text).unwrap();
        let cases = data["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 21);
        for case in cases {
            let reference: Vec<f64> = case["ref"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            let points: Vec<Vec<f64>> = case["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    p.as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_f64().unwrap())
                        .collect()
                })
                .collect();
            let expected = case["hv"].as_f64().unwrap();
            let got = hypervolume(&points, &reference);
            assert!(
                (got - expected).abs() <= 1e-12 * expected.abs().max(1.0),
                "{}: {got} against pymoo's {expected}",
                case["name"]
            );
        }
    }
}
