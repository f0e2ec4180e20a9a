//! The ε-box archive of ε-NSGA-II (Laumanns et al. 2002; Kollat & Reed 2005), kept beside the
//! search to count its ε-progress as EMA Workbench and platypus do: a plan entering an ε-box
//! no member held is progress; one that only beats the member of its own box is not. Every
//! objective is minimised; the boxes are ⌊f / ε⌋.

use serde::{Deserialize, Serialize};

use super::nsga2::Evaluated;

/// The archive: its members (their places in the list of every plan evaluated) and the
/// ε-progress so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Archive {
    /// Each objective's box width.
    pub epsilons: Vec<f64>,
    /// The members, as places in the list of plans evaluated.
    pub members: Vec<usize>,
    /// Plans accepted into an ε-box no member held (cumulative).
    pub improvements: u64,
}

fn boxes(f: &[f64], epsilons: &[f64]) -> Vec<f64> {
    f.iter()
        .zip(epsilons)
        .map(|(x, e)| (x / e).floor())
        .collect()
}

/// −1: `c` wins; +1: `a` wins; 0: neither.
fn compare(c: &Evaluated, a: &Evaluated, epsilons: &[f64]) -> i8 {
    if c.cv != a.cv {
        return if c.cv < a.cv { -1 } else { 1 };
    }
    let (bc, ba) = (boxes(&c.f, epsilons), boxes(&a.f, epsilons));
    if bc != ba {
        let no_worse = bc.iter().zip(&ba).all(|(x, y)| x <= y);
        let no_better = bc.iter().zip(&ba).all(|(x, y)| x >= y);
        return match (no_worse, no_better) {
            (true, false) => -1,
            (false, true) => 1,
            _ => 0,
        };
    }
    let corner = |p: &Evaluated, b: &[f64]| -> f64 {
        p.f.iter()
            .zip(b)
            .zip(epsilons)
            .map(|((x, k), e)| (x - k * e).powi(2))
            .sum()
    };
    if corner(c, &bc) < corner(a, &ba) {
        -1
    } else {
        1
    }
}

impl Archive {
    /// An empty archive with these box widths.
    pub fn new(epsilons: Vec<f64>) -> Archive {
        Archive {
            epsilons,
            ..Archive::default()
        }
    }

    /// Offers plan `id` (`plan(id)`, as every plan evaluated is found by its place) to the
    /// archive; `true` if it is taken in.
    pub fn add<'a>(&mut self, id: usize, plan: impl Fn(usize) -> &'a Evaluated) -> bool {
        let c = plan(id);
        if c.f.iter().any(|x| !x.is_finite()) {
            return false;
        }
        let flags: Vec<i8> = self
            .members
            .iter()
            .map(|&a| compare(c, plan(a), &self.epsilons))
            .collect();
        if flags.contains(&1) {
            return false;
        }
        let own = boxes(&c.f, &self.epsilons);
        let new_box = self
            .members
            .iter()
            .all(|&a| plan(a).cv != c.cv || boxes(&plan(a).f, &self.epsilons) != own);
        self.members = self
            .members
            .iter()
            .zip(&flags)
            .filter(|(_, &f)| f == 0)
            .map(|(&a, _)| a)
            .chain(std::iter::once(id))
            .collect();
        if new_box {
            self.improvements += 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(f: &[f64]) -> Evaluated {
        Evaluated {
            x: Vec::new(),
            f: f.to_vec(),
            cv: 0.0,
        }
    }

    #[test]
    fn progress_counts_new_boxes_only() {
        let plans = [
            plan(&[0.55, 0.55]),
            plan(&[0.51, 0.51]), // same box, nearer its corner: replaces, no progress
            plan(&[0.2, 0.9]),   // a box no one held: progress
            plan(&[0.9, 0.9]),   // dominated by a box: refused
            plan(&[0.1, 0.1]),   // dominates everyone's box: progress, others removed
        ];
        let mut a = Archive::new(vec![0.1, 0.1]);
        let taken: Vec<bool> = (0..plans.len()).map(|i| a.add(i, |k| &plans[k])).collect();
        assert_eq!(taken, vec![true, true, true, false, true]);
        assert_eq!(a.improvements, 3);
        assert_eq!(a.members, vec![4]);
    }
}
