//! NSGA-II (Deb, Pratap, Agarwal & Meyarivan 2002), as pymoo 0.6.2 runs it, made exactly
//! reproducible: a population ranked by fast non-dominated sorting, spread by crowding distance,
//! with Deb's (2000) constrained domination (a feasible plan beats an infeasible one; of two
//! infeasible ones, the smaller violation wins); parents chosen by binary tournaments,
//! children made by simulated binary crossover (η 15, probability 0.9 a pair, 0.5 a variable)
//! and polynomial mutation (η 20, probability 1/n a variable), whole-number variables rounded
//! after each (η 3 for them, so that they move), children equal to a plan already evaluated
//! bred again. Every objective is minimised here (a goal to maximise comes in negated).
//!
//! Every draw comes from the generator given, in a fixed order; every sort is stable and every
//! tie broken explicitly, so a seed gives the same search on any machine and at any thread
//! count.

use rand::Rng;

use crate::random::draw::{below, uniform};

use super::hypervolume::dominates;

/// Crossover's distribution index (real variables).
const ETA_CROSSOVER: f64 = 15.0;
/// Mutation's distribution index (real variables).
const ETA_MUTATION: f64 = 20.0;
/// Both indices for whole-number variables: wider spreads, so that they change at all.
const ETA_WHOLE: f64 = 3.0;
/// Probability that a pair of parents is crossed.
const CROSSOVER: f64 = 0.9;
/// Breeding rounds to find children not evaluated yet, before settling for fewer.
const ROUNDS: usize = 100;

/// A decision variable: its range, and whether it takes whole numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Variable {
    /// Least value.
    pub low: f64,
    /// Greatest value.
    pub high: f64,
    /// Whether it takes whole numbers.
    pub integer: bool,
}

/// A plan evaluated: its values, its objectives (minimised) and its constraint violation (0
/// when feasible).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evaluated {
    /// The decision variables' values.
    pub x: Vec<f64>,
    /// The objectives, each to minimise.
    pub f: Vec<f64>,
    /// The sum of the constraints' normalised violations (0: feasible).
    pub cv: f64,
}

/// A member of the population, with its rank (0: the best front; none when infeasible) and
/// crowding distance.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The plan.
    pub plan: Evaluated,
    /// Its front (`usize::MAX` when infeasible).
    pub rank: usize,
    /// Its crowding distance in its front.
    pub crowding: f64,
}

/// `n` plans drawn uniformly over the variables' ranges (whole numbers uniformly among them).
pub fn sample(variables: &[Variable], n: usize, rng: &mut impl Rng) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| {
            variables
                .iter()
                .map(|v| {
                    if v.integer {
                        let count = (v.high - v.low) as u64 + 1;
                        v.low + below(rng, count) as f64
                    } else {
                        v.low + uniform(rng) * (v.high - v.low)
                    }
                })
                .collect()
        })
        .collect()
}

/// The fronts of `points` by fast non-dominated sorting, each in index order.
pub fn fronts(points: &[&[f64]]) -> Vec<Vec<usize>> {
    let n = points.len();
    let mut beaten_by = vec![0usize; n];
    let mut beats: Vec<Vec<usize>> = vec![Vec::new(); n];
    for p in 0..n {
        for q in 0..n {
            if dominates(points[p], points[q]) {
                beats[p].push(q);
            } else if dominates(points[q], points[p]) {
                beaten_by[p] += 1;
            }
        }
    }
    let mut out = Vec::new();
    let mut current: Vec<usize> = (0..n).filter(|&p| beaten_by[p] == 0).collect();
    while !current.is_empty() {
        let mut next = Vec::new();
        for &p in &current {
            for &q in &beats[p] {
                beaten_by[q] -= 1;
                if beaten_by[q] == 0 {
                    next.push(q);
                }
            }
        }
        next.sort_unstable();
        out.push(current);
        current = next;
    }
    out
}

/// The crowding distance of each member of a front (in the front's order): both ends of every
/// objective with a range are infinitely far; others add their neighbours' gap over the range.
pub fn crowding(points: &[&[f64]], front: &[usize]) -> Vec<f64> {
    let l = front.len();
    if l <= 2 {
        return vec![f64::INFINITY; l];
    }
    let m = points[front[0]].len();
    let mut d = vec![0.0; l];
    #[allow(clippy::needless_range_loop)] // k is the objective, read through two indices
    for k in 0..m {
        let mut order: Vec<usize> = (0..l).collect();
        order.sort_by(|&a, &b| points[front[a]][k].total_cmp(&points[front[b]][k]));
        let value = |i: usize| points[front[order[i]]][k];
        let range = value(l - 1) - value(0);
        if range == 0.0 {
            continue;
        }
        d[order[0]] = f64::INFINITY;
        d[order[l - 1]] = f64::INFINITY;
        for i in 1..l - 1 {
            d[order[i]] += (value(i + 1) - value(i - 1)) / range;
        }
    }
    d.iter().map(|x| x / m as f64).collect()
}

/// A random order of `0..n` (Fisher–Yates).
fn permutation(n: usize, rng: &mut impl Rng) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        p.swap(i, j);
    }
    p
}

/// The `n` survivors of `plans`: the feasible ones front by front, the last front cut by
/// crowding (ties in random order), then the infeasible ones by least violation; each with
/// its place in `plans`, its rank and its crowding.
pub fn survive(plans: &[Evaluated], n: usize, rng: &mut impl Rng) -> Vec<(usize, Member)> {
    let (feasible, mut infeasible): (Vec<usize>, Vec<usize>) =
        (0..plans.len()).partition(|&i| plans[i].cv <= 0.0);
    infeasible.sort_by(|&a, &b| plans[a].cv.total_cmp(&plans[b].cv));
    let points: Vec<&[f64]> = feasible.iter().map(|&i| plans[i].f.as_slice()).collect();
    let mut chosen: Vec<(usize, usize, f64)> = Vec::new();
    for (rank, front) in fronts(&points).into_iter().enumerate() {
        if chosen.len() >= n {
            break;
        }
        let cd = crowding(&points, &front);
        if chosen.len() + front.len() <= n {
            chosen.extend(front.iter().zip(&cd).map(|(&i, &c)| (feasible[i], rank, c)));
        } else {
            let keep = n - chosen.len();
            let mut order = permutation(front.len(), rng);
            order.sort_by(|&a, &b| cd[b].total_cmp(&cd[a]));
            chosen.extend(
                order[..keep]
                    .iter()
                    .map(|&o| (feasible[front[o]], rank, cd[o])),
            );
        }
    }
    for &i in infeasible.iter().take(n.saturating_sub(chosen.len())) {
        chosen.push((i, usize::MAX, 0.0));
    }
    chosen
        .into_iter()
        .map(|(i, rank, crowding)| {
            (
                i,
                Member {
                    plan: plans[i].clone(),
                    rank,
                    crowding,
                },
            )
        })
        .collect()
}

/// The winner of a binary tournament between `a` and `b`: the smaller violation when one is
/// infeasible, else the dominating one, else the more isolated one, else a coin.
fn tournament(a: &Member, b: &Member, rng: &mut impl Rng) -> bool {
    let (pa, pb) = (&a.plan, &b.plan);
    if pa.cv > 0.0 || pb.cv > 0.0 {
        if pa.cv != pb.cv {
            return pa.cv < pb.cv;
        }
    } else if dominates(&pa.f, &pb.f) {
        return true;
    } else if dominates(&pb.f, &pa.f) {
        return false;
    } else if a.crowding != b.crowding {
        return a.crowding > b.crowding;
    }
    uniform(rng) < 0.5
}

/// The spread factor of simulated binary crossover for a draw `u` and the room `beta` leaves.
fn spread(u: f64, beta: f64, eta: f64) -> f64 {
    let alpha = 2.0 - beta.powf(-(eta + 1.0));
    if u <= 1.0 / alpha {
        (u * alpha).powf(1.0 / (eta + 1.0))
    } else {
        (1.0 / (2.0 - u * alpha)).powf(1.0 / (eta + 1.0))
    }
}

/// Simulated binary crossover of two parents into two children, in place.
fn crossover(c1: &mut [f64], c2: &mut [f64], variables: &[Variable], rng: &mut impl Rng) {
    if uniform(rng) >= CROSSOVER {
        return;
    }
    for (i, v) in variables.iter().enumerate() {
        if uniform(rng) >= 0.5 {
            continue;
        }
        if (c1[i] - c2[i]).abs() <= 1e-14 || v.low == v.high {
            continue;
        }
        let eta = if v.integer { ETA_WHOLE } else { ETA_CROSSOVER };
        let (y1, y2) = (c1[i].min(c2[i]), c1[i].max(c2[i]));
        let delta = y2 - y1;
        let u = uniform(rng);
        let low = 0.5 * ((y1 + y2) - spread(u, 1.0 + 2.0 * (y1 - v.low) / delta, eta) * delta);
        let high = 0.5 * ((y1 + y2) + spread(u, 1.0 + 2.0 * (v.high - y2) / delta, eta) * delta);
        let (a, b) = (low.clamp(v.low, v.high), high.clamp(v.low, v.high));
        if uniform(rng) < 0.5 {
            c1[i] = b;
            c2[i] = a;
        } else {
            c1[i] = a;
            c2[i] = b;
        }
    }
}

/// Polynomial mutation of a child, in place, each variable with probability 1/n.
fn mutate(child: &mut [f64], variables: &[Variable], rng: &mut impl Rng) {
    let p = 1.0 / variables.len().max(1) as f64;
    for (x, v) in child.iter_mut().zip(variables) {
        if uniform(rng) >= p || v.low == v.high {
            continue;
        }
        let eta = if v.integer { ETA_WHOLE } else { ETA_MUTATION };
        let range = v.high - v.low;
        let (d1, d2) = ((*x - v.low) / range, (v.high - *x) / range);
        let u = uniform(rng);
        let e = 1.0 / (eta + 1.0);
        let dq = if u <= 0.5 {
            (2.0 * u + (1.0 - 2.0 * u) * (1.0 - d1).powf(eta + 1.0)).powf(e) - 1.0
        } else {
            1.0 - (2.0 * (1.0 - u) + 2.0 * (u - 0.5) * (1.0 - d2).powf(eta + 1.0)).powf(e)
        };
        *x = (*x + dq * range).clamp(v.low, v.high);
    }
}

/// Whole-number variables rounded (half to even, as pymoo's repair).
fn round(child: &mut [f64], variables: &[Variable]) {
    for (x, v) in child.iter_mut().zip(variables) {
        if v.integer {
            *x = x.round_ties_even();
        }
    }
}

/// `n` children of `parents`, none equal to a plan in `known` (every plan evaluated so far) or
/// to another child; fewer if breeding keeps finding known plans.
pub fn offspring(
    parents: &[Member],
    variables: &[Variable],
    n: usize,
    known: &[Vec<f64>],
    rng: &mut impl Rng,
) -> Vec<Vec<f64>> {
    let mut children: Vec<Vec<f64>> = Vec::with_capacity(n);
    let new = |x: &Vec<f64>, children: &[Vec<f64>]| {
        !known.iter().any(|k| k == x) && !children.iter().any(|c| c == x)
    };
    for _ in 0..ROUNDS {
        if children.len() >= n || parents.is_empty() {
            break;
        }
        let wanted = n - children.len();
        let matings = wanted.div_ceil(2);
        let mut order = Vec::with_capacity(4 * matings);
        while order.len() < 4 * matings {
            order.extend(permutation(parents.len(), rng));
        }
        for m in 0..matings {
            let mut pick = |k: usize| {
                let (a, b) = (order[4 * m + 2 * k], order[4 * m + 2 * k + 1]);
                if tournament(&parents[a], &parents[b], rng) {
                    a
                } else {
                    b
                }
            };
            let (p1, p2) = (pick(0), pick(1));
            let mut c1 = parents[p1].plan.x.clone();
            let mut c2 = parents[p2].plan.x.clone();
            crossover(&mut c1, &mut c2, variables, rng);
            round(&mut c1, variables);
            round(&mut c2, variables);
            for mut c in [c1, c2] {
                mutate(&mut c, variables, rng);
                round(&mut c, variables);
                if children.len() < n && new(&c, &children) {
                    children.push(c);
                }
            }
        }
    }
    children
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn plan(f: &[f64], cv: f64) -> Evaluated {
        Evaluated {
            x: f.to_vec(),
            f: f.to_vec(),
            cv,
        }
    }

    #[test]
    fn fronts_and_crowding_by_hand() {
        let p: Vec<Vec<f64>> = vec![
            vec![1.0, 5.0],
            vec![2.0, 3.0],
            vec![3.0, 4.0],
            vec![4.0, 1.0],
            vec![5.0, 5.0],
        ];
        let refs: Vec<&[f64]> = p.iter().map(Vec::as_slice).collect();
        assert_eq!(fronts(&refs), vec![vec![0, 1, 3], vec![2], vec![4]]);
        // Ends infinite; the middle one's gaps: (4−1)/3 and (5−1)/4, over two objectives.
        let cd = crowding(&refs, &[0, 1, 3]);
        assert!(cd[0].is_infinite() && cd[2].is_infinite());
        assert!((cd[1] - (1.0 + 1.0) / 2.0).abs() < 1e-12, "{cd:?}");
    }

    #[test]
    fn feasible_plans_survive_first_and_the_least_violating_next() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let plans = vec![
            plan(&[0.0, 0.0], 2.0),
            plan(&[5.0, 5.0], 0.0),
            plan(&[1.0, 1.0], 0.5),
            plan(&[6.0, 6.0], 0.0),
        ];
        let kept = survive(&plans, 3, &mut rng);
        let places: Vec<usize> = kept.iter().map(|(i, _)| *i).collect();
        assert_eq!(places, vec![1, 3, 2]);
        assert_eq!(kept[0].1.rank, 0);
        assert_eq!(kept[1].1.rank, 1);
    }

    #[test]
    fn children_stay_in_range_whole_numbers_stay_whole_and_none_repeats() {
        let vars = [
            Variable {
                low: 0.0,
                high: 2.0,
                integer: false,
            },
            Variable {
                low: 12.0,
                high: 60.0,
                integer: true,
            },
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let xs = sample(&vars, 20, &mut rng);
        let plans: Vec<Evaluated> = xs
            .iter()
            .map(|x| Evaluated {
                x: x.clone(),
                f: vec![x[0], -x[1]],
                cv: 0.0,
            })
            .collect();
        let parents: Vec<Member> = survive(&plans, 20, &mut rng)
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        let children = offspring(&parents, &vars, 40, &xs, &mut rng);
        assert_eq!(children.len(), 40);
        for c in &children {
            assert!((0.0..=2.0).contains(&c[0]) && (12.0..=60.0).contains(&c[1]));
            assert_eq!(c[1].fract(), 0.0);
            assert!(!xs.contains(c));
        }
        // The same seed, the same children.
        let mut again = ChaCha8Rng::seed_from_u64(7);
        let xs2 = sample(&vars, 20, &mut again);
        assert_eq!(xs, xs2);
    }
}
