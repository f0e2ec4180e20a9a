//! PRIM, the Patient Rule Induction Method (Friedman & Fisher 1999), as EMA Workbench 2.5.3's
//! `Prim(...).find_box()` does it for continuous and whole-number columns and a binary
//! outcome: boxes of the inputs where the cases of interest concentrate, found by peeling
//! (cutting a thin slice off one side of one input at a time, the slice whose removal raises the
//! density of cases of interest most per case removed: the "lenient1" objective) then pasting
//! (growing the box back where that raises the density), each step recorded.
//!
//! Every detail follows EMA's code, so that a box's trajectory is EMA's step by step: its
//! quantile (the midpoint between two distinct order statistics, never cutting a tie), the
//! candidates' order (continuous inputs, then whole-number ones; upper before lower when
//! peeling, lower before upper when pasting), ties between candidates (the higher objective,
//! then fewer restricted inputs, then the first), whole-number peels (to a value of the data),
//! no pasting when no continuous input is restricted, the box kept only when its density
//! reaches the threshold, and the next box searched among the cases the previous ones leave.
//! The quasi-p value of a restricted side is Bryant & Lempert's (2010): the one-sided binomial
//! test of the box's density against the density without that side's restriction.

use rand::Rng;
use serde::Serialize;

use crate::random::draw::below;

/// PRIM's settings (EMA's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Settings {
    /// Share of the box's cases a peel removes (0.05).
    pub peel_alpha: f64,
    /// Share of the slab a paste adds (0.05).
    pub paste_alpha: f64,
    /// Least share of all cases a box keeps (0.05).
    pub mass_min: f64,
    /// Least density of cases of interest a box must reach to be kept (0.8).
    pub threshold: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            peel_alpha: 0.05,
            paste_alpha: 0.05,
            mass_min: 0.05,
            threshold: 0.8,
        }
    }
}

/// An input: its values at every case, and whether they are whole numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Whether its values are whole numbers (peeled to values of the data).
    pub integer: bool,
    /// Its value at every case.
    pub values: Vec<f64>,
}

/// What a step of a box's search did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The box of every case left.
    Start,
    /// A slice cut off.
    Peel,
    /// A slab added back.
    Paste,
}

/// One step of a box's search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// What the step did.
    pub phase: Phase,
    /// Cases of interest in the box over all cases of interest.
    pub coverage: f64,
    /// Cases of interest in the box over the box's cases.
    pub density: f64,
    /// The box's cases over all cases.
    pub mass: f64,
    /// The box's cases.
    pub n: usize,
    /// Its cases of interest.
    pub k: usize,
    /// The inputs it restricts, in input order.
    pub restricted: Vec<usize>,
    /// Every input's limits (the data's range when unrestricted).
    pub limits: Vec<(f64, f64)>,
    /// For each restricted input, the quasi-p values of its lower and upper limits (`None`
    /// where that side is not restricted).
    pub quasi_p: Vec<(usize, [Option<f64>; 2])>,
}

/// A box: its search, step by step, and what it leaves for the next.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Found {
    /// Every step, from the box of every case left.
    pub steps: Vec<Step>,
    /// Whether its last step reaches the threshold (EMA keeps only such boxes; another is its
    /// "dump box": every case left).
    pub accepted: bool,
    /// The cases it takes (its last step's when accepted, every case left otherwise).
    #[serde(skip)]
    pub members: Vec<usize>,
    /// The cases left when it was searched.
    #[serde(skip)]
    pub searched: Vec<usize>,
}

impl Found {
    /// The box's last step: the box.
    pub fn last(&self) -> &Step {
        &self.steps[self.steps.len() - 1]
    }
}

/// A box's cases and limits.
type Candidate = (Vec<usize>, Vec<(f64, f64)>);
/// Candidate boxes.
type Candidates = Vec<Candidate>;

/// A search for boxes among cases.
#[derive(Debug, Clone)]
pub struct Prim<'d> {
    columns: &'d [Column],
    y: &'d [bool],
    settings: Settings,
    /// Cases of interest among all cases.
    interest: usize,
    /// Each input's range over all cases.
    init: Vec<(f64, f64)>,
    /// Cases no box has taken yet.
    remaining: Vec<usize>,
}

/// EMA's quantile (`prim_util.get_quantile`): the midpoint between two order statistics around
/// `(m − 1)·q`, moved apart until they differ, so that a tie is never cut.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let m = sorted.len();
    if m == 0 {
        return f64::NAN;
    }
    let i = (m - 1) as f64 * q;
    let (mut lo, mut hi) = (i.floor() as usize, i.ceil() as usize);
    if q > 0.5 {
        while sorted[lo] == sorted[hi] && lo > 0 {
            lo -= 1;
        }
    } else {
        while sorted[lo] == sorted[hi] && hi < m - 1 {
            hi += 1;
        }
    }
    (sorted[lo] + sorted[hi]) / 2.0
}

/// EMA's "lenient1" objective: the change of density per case removed (or added); 0 when the
/// densities are equal.
fn lenient1(n_old: usize, k_old: usize, n_new: usize, k_new: usize) -> f64 {
    let mean_old = k_old as f64 / n_old as f64;
    let mean_new = if n_new > 0 {
        k_new as f64 / n_new as f64
    } else {
        0.0
    };
    if mean_old != mean_new {
        (mean_new - mean_old) / n_old.abs_diff(n_new) as f64
    } else {
        0.0
    }
}

/// P[X ≥ k] for X ~ Binomial(n, p): scipy's `binomtest(k, n, p, alternative="greater")`,
/// summed in logarithms.
pub fn binomial_at_least(k: usize, n: usize, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 || k > n {
        return if k > n { 0.0 } else { 1.0 };
    }
    let (lp, lq) = (p.ln(), (-p).ln_1p());
    // ln C(n, k), then each next term from the last.
    let mut term: f64 = (1..=k)
        .map(|i| ((n - k + i) as f64 / i as f64).ln())
        .sum::<f64>()
        + k as f64 * lp
        + (n - k) as f64 * lq;
    let mut terms = Vec::with_capacity(n - k + 1);
    for j in k..=n {
        terms.push(term);
        if j < n {
            term += ((n - j) as f64).ln() - ((j + 1) as f64).ln() + lp - lq;
        }
    }
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    top.exp() * terms.iter().map(|t| (t - top).exp()).sum::<f64>()
}

impl<'d> Prim<'d> {
    /// A search among the cases of `columns` (all of the same length), `y` true for a case of
    /// interest.
    pub fn new(columns: &'d [Column], y: &'d [bool], settings: Settings) -> Prim<'d> {
        let init = columns
            .iter()
            .map(|c| {
                c.values
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                        (lo.min(v), hi.max(v))
                    })
            })
            .collect();
        Prim {
            columns,
            y,
            settings,
            interest: y.iter().filter(|&&v| v).count(),
            init,
            remaining: (0..y.len()).collect(),
        }
    }

    /// The inputs in candidate order: continuous ones, then whole-number ones.
    fn order(&self) -> Vec<usize> {
        let (mut cont, mut whole): (Vec<usize>, Vec<usize>) =
            (0..self.columns.len()).partition(|&c| !self.columns[c].integer);
        cont.append(&mut whole);
        cont
    }

    fn restricted(&self, limits: &[(f64, f64)]) -> Vec<usize> {
        (0..limits.len())
            .filter(|&c| limits[c] != self.init[c])
            .collect()
    }

    fn interesting(&self, cases: &[usize]) -> usize {
        cases.iter().filter(|&&r| self.y[r]).count()
    }

    /// The cases of `among` inside `limits` on the inputs `on`.
    fn inside(&self, among: &[usize], limits: &[(f64, f64)], on: &[usize]) -> Vec<usize> {
        among
            .iter()
            .copied()
            .filter(|&r| {
                on.iter().all(|&c| {
                    let x = self.columns[c].values[r];
                    limits[c].0 <= x && x <= limits[c].1
                })
            })
            .collect()
    }

    fn step(&self, phase: Phase, cases: &[usize], limits: &[(f64, f64)]) -> Step {
        let (n, k) = (cases.len(), self.interesting(cases));
        let restricted = self.restricted(limits);
        let quasi_p = self.quasi_p(limits, &restricted, n, k);
        Step {
            phase,
            coverage: k as f64 / self.interest as f64,
            density: k as f64 / n as f64,
            mass: n as f64 / self.y.len() as f64,
            n,
            k,
            restricted,
            limits: limits.to_vec(),
            quasi_p,
        }
    }

    /// Every peel of `cases` within `limits`, in EMA's order.
    fn peels(&self, cases: &[usize], limits: &[(f64, f64)]) -> Candidates {
        let alpha = self.settings.peel_alpha;
        let mut out = Vec::new();
        for c in self.order() {
            let column = &self.columns[c];
            let xs: Vec<f64> = cases.iter().map(|&r| column.values[r]).collect();
            let mut sorted = xs.clone();
            sorted.sort_by(f64::total_cmp);
            for upper in [true, false] {
                let q = if upper { 1.0 - alpha } else { alpha };
                let v = quantile(&sorted, q);
                let (lo, hi) = limits[c];
                let keep: Vec<bool> = if !column.integer {
                    xs.iter()
                        .map(|&x| if upper { x <= v } else { v <= x })
                        .collect()
                } else {
                    let v = (v as i64) as f64;
                    xs.iter()
                        .map(|&x| match upper {
                            false if v == lo => x > lo && x <= hi,
                            false => x >= v && x <= hi,
                            true if v == hi => x < hi && x >= lo,
                            true => x <= v && x >= lo,
                        })
                        .collect()
                };
                let limit = if column.integer {
                    let kept = xs.iter().zip(&keep).filter(|(_, &k)| k).map(|(&x, _)| x);
                    let pool: Vec<f64> = if keep.iter().any(|&k| k) {
                        kept.collect()
                    } else {
                        xs.clone()
                    };
                    if upper {
                        pool.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                    } else {
                        pool.iter().copied().fold(f64::INFINITY, f64::min)
                    }
                } else {
                    v
                };
                let mut next = limits.to_vec();
                if upper {
                    next[c].1 = limit;
                } else {
                    next[c].0 = limit;
                }
                let kept = cases
                    .iter()
                    .zip(&keep)
                    .filter(|(_, &k)| k)
                    .map(|(&r, _)| r)
                    .collect();
                out.push((kept, next));
            }
        }
        out
    }

    /// Every paste of the box `limits` (holding `cases`), in EMA's order; none when no
    /// continuous input is restricted.
    fn pastes(&self, limits: &[(f64, f64)]) -> Candidates {
        let restricted = self.restricted(limits);
        if !restricted.iter().any(|&c| !self.columns[c].integer) {
            return Vec::new();
        }
        let alpha = self.settings.paste_alpha;
        let order: Vec<usize> = self
            .order()
            .into_iter()
            .filter(|c| restricted.contains(c))
            .collect();
        let mut out = Vec::new();
        for c in order {
            let (min, max) = self.init[c];
            for lower in [true, false] {
                let mut slab = limits.to_vec();
                slab[c] = if lower {
                    (min, limits[c].0)
                } else {
                    (limits[c].1, max)
                };
                let mut data: Vec<f64> = self
                    .inside(&self.remaining, &slab, &restricted)
                    .iter()
                    .map(|&r| self.columns[c].values[r])
                    .collect();
                data.sort_by(f64::total_cmp);
                let v = match (data.is_empty(), lower) {
                    (true, true) => min,
                    (true, false) => max,
                    (false, true) => quantile(&data, 1.0 - alpha),
                    (false, false) => quantile(&data, alpha),
                };
                let mut next = limits.to_vec();
                if lower {
                    next[c].0 = v;
                } else {
                    next[c].1 = v;
                }
                out.push((self.inside(&self.remaining, &next, &restricted), next));
            }
        }
        out
    }

    /// The best candidate: the highest objective, then the fewest restricted inputs, then the
    /// first.
    fn best(&self, cases: &[usize], candidates: Candidates) -> Option<(f64, Candidate)> {
        let k_old = self.interesting(cases);
        let mut best: Option<((f64, usize), Candidate)> = None;
        for (kept, limits) in candidates {
            let obj = lenient1(cases.len(), k_old, kept.len(), self.interesting(&kept));
            let key = (obj, self.columns.len() - self.restricted(&limits).len());
            let better = match &best {
                None => true,
                Some((b, _)) => key.0 > b.0 || (key.0 == b.0 && key.1 > b.1),
            };
            if better {
                best = Some((key, (kept, limits)));
            }
        }
        best.map(|((obj, _), candidate)| (obj, candidate))
    }

    /// The next box among the cases left (`None` when none is left): peeled, then pasted, kept
    /// when its density reaches the threshold; its cases (or, for a box under the threshold,
    /// every case left) are taken from those left.
    pub fn find_box(&mut self) -> Option<Found> {
        if self.remaining.is_empty() {
            return None;
        }
        let n_all = self.y.len() as f64;
        let mut cases = self.remaining.clone();
        let mut limits = self.init.clone();
        let mut steps = vec![self.step(Phase::Start, &cases, &limits)];
        while let Some((obj, (kept, next))) = self.best(&cases, self.peels(&cases, &limits)) {
            let (old, new) = (cases.len() as f64 / n_all, kept.len() as f64 / n_all);
            if !(new >= self.settings.mass_min && new < old && obj > 0.0) {
                break;
            }
            cases = kept;
            limits = next;
            steps.push(self.step(Phase::Peel, &cases, &limits));
        }
        while let Some((obj, (kept, next))) = self.best(&cases, self.pastes(&limits)) {
            let (old, new) = (cases.len() as f64 / n_all, kept.len() as f64 / n_all);
            let mean_old = self.interesting(&cases) as f64 / cases.len() as f64;
            let mean_new = self.interesting(&kept) as f64 / kept.len() as f64;
            if !(new >= self.settings.mass_min && new > old && obj > 0.0 && mean_new > mean_old) {
                break;
            }
            cases = kept;
            limits = next;
            steps.push(self.step(Phase::Paste, &cases, &limits));
        }
        let last = &steps[steps.len() - 1];
        let accepted = last.density >= self.settings.threshold;
        let searched = std::mem::take(&mut self.remaining);
        let members = if accepted { cases } else { searched.clone() };
        self.remaining = searched
            .iter()
            .copied()
            .filter(|r| members.binary_search(r).is_err())
            .collect();
        Some(Found {
            steps,
            accepted,
            members,
            searched,
        })
    }

    /// Bryant & Lempert's quasi-p values of the restricted sides of a box of `n` cases, `k`
    /// of interest, over the cases left.
    fn quasi_p(
        &self,
        limits: &[(f64, f64)],
        restricted: &[usize],
        n: usize,
        k: usize,
    ) -> Vec<(usize, [Option<f64>; 2])> {
        restricted
            .iter()
            .map(|&c| {
                let sides = [0, 1].map(|side| {
                    let (lo, hi) = limits[c];
                    let edge = if side == 0 { lo } else { hi };
                    let init = if side == 0 {
                        self.init[c].0
                    } else {
                        self.init[c].1
                    };
                    if edge == init {
                        return None;
                    }
                    let mut wider = limits.to_vec();
                    wider[c] = if side == 0 { (init, hi) } else { (lo, init) };
                    let inside = self.inside(&self.remaining, &wider, restricted);
                    let p = self.interesting(&inside) as f64 / inside.len() as f64;
                    Some(binomial_at_least(k, n, p))
                });
                (c, sides)
            })
            .collect()
    }
}

/// How often a box's restricted inputs come back when PRIM is run again on half of its
/// cases, as EMA's `PrimBox.resample` does it: `iterations` subsamples (without replacement)
/// of half the cases the box was searched among, each searched for one box with EMA's
/// resampling threshold (0.1), and for each input the share of those boxes that restrict it
/// at the step closest in coverage, and at the step closest in density.
pub fn resample(
    columns: &[Column],
    y: &[bool],
    found: &Found,
    settings: Settings,
    iterations: usize,
    rng: &mut impl Rng,
) -> Vec<(f64, f64)> {
    let box_step = found.last();
    let mut counts = vec![(0usize, 0usize); columns.len()];
    let half = found.searched.len() / 2;
    for _ in 0..iterations {
        // A partial Fisher–Yates shuffle: `half` cases without replacement.
        let mut pool = found.searched.clone();
        for i in 0..half {
            let j = i + below(rng, (pool.len() - i) as u64) as usize;
            pool.swap(i, j);
        }
        let mut chosen = pool[..half].to_vec();
        chosen.sort_unstable();
        let sub: Vec<Column> = columns
            .iter()
            .map(|c| Column {
                name: c.name.clone(),
                integer: c.integer,
                values: chosen.iter().map(|&r| c.values[r]).collect(),
            })
            .collect();
        let sub_y: Vec<bool> = chosen.iter().map(|&r| y[r]).collect();
        let resampling = Settings {
            threshold: 0.1,
            mass_min: Settings::default().mass_min,
            ..settings
        };
        let Some(b) = Prim::new(&sub, &sub_y, resampling).find_box() else {
            continue;
        };
        let closest = |f: &dyn Fn(&Step) -> f64, target: f64| {
            let mut best = 0;
            for (i, s) in b.steps.iter().enumerate() {
                if (f(s) - target).abs() < (f(&b.steps[best]) - target).abs() {
                    best = i;
                }
            }
            best
        };
        let by_coverage = closest(&|s| s.coverage, box_step.coverage);
        let by_density = closest(&|s| s.density, box_step.density);
        // A box under the threshold is its start: it restricts nothing.
        if b.accepted {
            for &c in &b.steps[by_coverage].restricted {
                counts[c].0 += 1;
            }
            for &c in &b.steps[by_density].restricted {
                counts[c].1 += 1;
            }
        }
    }
    // Counted, then divided (EMA adds 1/iterations up: 99.99…% for all ten).
    let share = |k: usize| k as f64 / iterations.max(1) as f64;
    counts.iter().map(|&(c, d)| (share(c), share(d))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emas_quantile_never_cuts_a_tie() {
        // The examples of prim_util.get_quantile checked against EMA.
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.05), 1.5);
        assert_eq!(quantile(&[1.0, 1.0, 1.0, 2.0, 3.0], 0.05), 1.5);
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 3.0, 3.0], 0.95), 2.5);
        let twenty: Vec<f64> = (0..20).map(f64::from).collect();
        assert_eq!(quantile(&twenty, 0.05), 0.5);
        let twenty_one: Vec<f64> = (0..21).map(f64::from).collect();
        assert_eq!(quantile(&twenty_one, 0.05), 1.5);
        assert_eq!(quantile(&[7.0], 0.95), 7.0);
    }

    #[test]
    fn the_binomial_tail_is_scipys() {
        // scipy.stats.binomtest(k, n, p, alternative="greater").pvalue.
        let close = |a: f64, b: f64| ((a - b) / b).abs() < 1e-9;
        assert!(close(binomial_at_least(3, 10, 0.2), 0.32220047360000015));
        assert!(close(binomial_at_least(50, 60, 0.5), 8.081907283078588e-08));
        assert!(close(
            binomial_at_least(120, 300, 0.31),
            0.0005926485774036052
        ));
        assert_eq!(binomial_at_least(0, 10, 0.3), 1.0);
        assert_eq!(binomial_at_least(4, 10, 1.0), 1.0);
        assert_eq!(binomial_at_least(4, 10, 0.0), 0.0);
    }

    #[test]
    fn lenient1_is_the_density_gained_per_case() {
        assert_eq!(lenient1(100, 20, 95, 20), (20.0 / 95.0 - 0.2) / 5.0);
        assert_eq!(lenient1(100, 20, 50, 10), 0.0);
        assert!(lenient1(100, 20, 0, 0) < 0.0);
    }
}
