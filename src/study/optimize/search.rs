//! The search: generation after generation of NSGA-II over a [`Problem`], the state recorded
//! (hypervolume, ε-progress, the front) and saved after each, so that it can resume.

use super::archive::Archive;
use super::nsga2::{self, Evaluated, Variable};
use super::{hypervolume, Assessed, Generation, State, Work};
use crate::diag::Error;
use crate::ensemble::{Controls, Workspace};
use crate::random::{run_rng, Purpose};

/// What a search needs of its problem: the variables, sizes, the evaluation of plans, its
/// draws and its fingerprint. [`Work`] is the scenario's; tests give analytic ones.
pub trait Problem {
    /// The decision variables.
    fn variables(&self) -> Vec<Variable>;
    /// The goals (how many).
    fn goal_count(&self) -> usize;
    /// The population and the evaluations in all.
    fn sizes(&self) -> (usize, usize);
    /// Evaluates plans; `Ok(None)` if cancelled.
    fn assess_plans(&self, xs: &[Vec<f64>]) -> Result<Option<Vec<Assessed>>, Error>;
    /// The draws of generation `g`.
    fn rng(&self, g: usize) -> rand_chacha::ChaCha8Rng;
    /// The problem's fingerprint.
    fn fingerprint(&self) -> String;
}

/// The scenario's problem, with the workspace and controls of its evaluations.
struct Scenario<'a> {
    work: &'a Work,
    workspace: &'a Workspace,
    controls: &'a Controls<'a>,
}

impl Problem for Scenario<'_> {
    fn variables(&self) -> Vec<Variable> {
        self.work.variables()
    }

    fn goal_count(&self) -> usize {
        self.work.goals.len()
    }

    fn sizes(&self) -> (usize, usize) {
        (
            self.work.settings.population,
            self.work.settings.evaluations,
        )
    }

    fn assess_plans(&self, xs: &[Vec<f64>]) -> Result<Option<Vec<Assessed>>, Error> {
        self.work.assess(xs, self.workspace, self.controls)
    }

    /// A side stream of each generation's own, so that a resumed search draws what it would
    /// have drawn.
    fn rng(&self, g: usize) -> rand_chacha::ChaCha8Rng {
        let purpose = Purpose::Evolution as u64;
        run_rng(
            self.work.settings.seed,
            (1 << 63) + (purpose << 32) + g as u64,
        )
    }

    fn fingerprint(&self) -> String {
        self.work.fingerprint()
    }
}

impl Work {
    /// Runs the search from `resumed` (or from the start), generation after generation, until
    /// `settings.evaluations` plans are evaluated or no new plan can be bred; `save` is given
    /// the state after each generation (the checkpoint). Progress counts evaluations (plans ×
    /// futures). `Ok(None)` if cancelled: the last state saved is whole.
    pub fn search(
        &self,
        resumed: Option<State>,
        workspace: &Workspace,
        controls: &Controls<'_>,
        save: &mut dyn FnMut(&State) -> Result<(), Error>,
    ) -> Result<Option<State>, Error> {
        let problem = Scenario {
            work: self,
            workspace,
            controls,
        };
        let k = self.futures.len() as u64;
        let total = self.settings.evaluations as u64 * k;
        let progress = |done: usize| (controls.progress)(done as u64 * k, total);
        evolve(&problem, resumed, &|| controls.cancelled(), &progress, save)
    }
}

/// The search of `problem` (see [`Work::search`]).
pub fn evolve(
    problem: &dyn Problem,
    resumed: Option<State>,
    cancelled: &dyn Fn() -> bool,
    progress: &dyn Fn(usize),
    save: &mut dyn FnMut(&State) -> Result<(), Error>,
) -> Result<Option<State>, Error> {
    let variables = problem.variables();
    let (n, budget) = problem.sizes();
    let mut state = match resumed {
        Some(s) => s,
        None => {
            let mut rng = problem.rng(0);
            let xs = nsga2::sample(&variables, n, &mut rng);
            let Some(plans) = problem.assess_plans(&xs)? else {
                return Ok(None);
            };
            let all: Vec<Evaluated> = plans.iter().map(|a| a.plan.clone()).collect();
            let population: Vec<usize> = nsga2::survive(&all, n, &mut rng)
                .into_iter()
                .map(|(i, _)| i)
                .collect();
            let (ideal, reference, epsilons) = bounds(&plans, problem.goal_count());
            let mut state = State {
                fingerprint: problem.fingerprint(),
                plans,
                population,
                reference,
                ideal,
                archive: Archive::new(epsilons),
                nondominated: Vec::new(),
                convergence: Vec::new(),
            };
            for id in 0..all.len() {
                state.admit(id);
            }
            record(&mut state);
            save(&state)?;
            state
        }
    };
    progress(state.plans.len());
    loop {
        let evaluated = state.plans.len();
        if evaluated >= budget {
            break;
        }
        let g = state.convergence.len();
        let mut rng = problem.rng(g);
        let current: Vec<Evaluated> = state
            .population
            .iter()
            .map(|&i| state.plans[i].plan.clone())
            .collect();
        let parents: Vec<nsga2::Member> = nsga2::survive(&current, n, &mut rng)
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        let known: Vec<Vec<f64>> = state.plans.iter().map(|a| a.plan.x.clone()).collect();
        let wanted = n.min(budget - evaluated);
        let children = nsga2::offspring(&parents, &variables, wanted, &known, &mut rng);
        if children.is_empty() {
            break;
        }
        let Some(assessed) = problem.assess_plans(&children)? else {
            return Ok(None);
        };
        let first = state.plans.len();
        state.plans.extend(assessed);
        for id in first..state.plans.len() {
            state.admit(id);
        }
        let pool: Vec<usize> = state
            .population
            .iter()
            .copied()
            .chain(first..state.plans.len())
            .collect();
        let candidates: Vec<Evaluated> =
            pool.iter().map(|&i| state.plans[i].plan.clone()).collect();
        state.population = nsga2::survive(&candidates, n, &mut rng)
            .into_iter()
            .map(|(k, _)| pool[k])
            .collect();
        record(&mut state);
        save(&state)?;
        progress(state.plans.len());
        if cancelled() {
            return Ok(None);
        }
    }
    Ok(Some(state))
}

/// Adds the generation just done to the convergence record.
fn record(state: &mut State) {
    let front = &state.nondominated;
    let points: Vec<Vec<f64>> = front
        .iter()
        .map(|&i| state.plans[i].plan.f.clone())
        .collect();
    let hv = hypervolume::hypervolume(&points, &state.reference);
    let box_volume: f64 = state
        .reference
        .iter()
        .zip(&state.ideal)
        .map(|(r, i)| r - i)
        .product();
    state.convergence.push(Generation {
        generation: state.convergence.len(),
        evaluations: state.plans.len(),
        hypervolume: hv,
        hypervolume_share: if box_volume > 0.0 {
            hv / box_volume
        } else {
            0.0
        },
        epsilon_progress: state.archive.improvements,
        front: front.len(),
        feasible: state.plans.iter().filter(|a| a.feasible()).count(),
    });
}

/// From the first population: each goal's best (as minimised), the hypervolume's reference
/// point (each goal's worst plus a tenth of its range, fixed for the search) and the ε-boxes'
/// widths (a twentieth of each range).
fn bounds(plans: &[Assessed], goals: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut ideal = Vec::with_capacity(goals);
    let mut reference = Vec::with_capacity(goals);
    let mut epsilons = Vec::with_capacity(goals);
    for m in 0..goals {
        let finite = plans.iter().map(|a| a.plan.f[m]).filter(|x| x.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let range = hi - lo;
        let tiny = 1e-6 * hi.abs().max(1.0);
        ideal.push(lo);
        reference.push(hi + (0.1 * range).max(tiny));
        epsilons.push((0.05 * range).max(tiny));
    }
    (ideal, reference, epsilons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::optimize::{Robustness, Value};

    /// An analytic problem: goals (minimised) and a violation computed from the plan.
    struct Analytic {
        variables: Vec<Variable>,
        sizes: (usize, usize),
        goals: usize,
        f: fn(&[f64]) -> (Vec<f64>, f64),
    }

    impl Problem for Analytic {
        fn variables(&self) -> Vec<Variable> {
            self.variables.clone()
        }
        fn goal_count(&self) -> usize {
            self.goals
        }
        fn sizes(&self) -> (usize, usize) {
            self.sizes
        }
        fn assess_plans(&self, xs: &[Vec<f64>]) -> Result<Option<Vec<Assessed>>, Error> {
            Ok(Some(
                xs.iter()
                    .map(|x| {
                        let (f, cv) = (self.f)(x);
                        Assessed {
                            goals: f
                                .iter()
                                .map(|&v| Value {
                                    value: v,
                                    low: v,
                                    high: v,
                                })
                                .collect(),
                            constraints: Vec::new(),
                            plan: Evaluated {
                                x: x.clone(),
                                f,
                                cv,
                            },
                        }
                    })
                    .collect(),
            ))
        }
        fn rng(&self, g: usize) -> rand_chacha::ChaCha8Rng {
            run_rng(1, (1 << 63) + g as u64)
        }
        fn fingerprint(&self) -> String {
            "analytic".into()
        }
    }

    fn square(low: f64, high: f64) -> Vec<Variable> {
        vec![
            Variable {
                low,
                high,
                integer: false,
            };
            2
        ]
    }

    fn run(p: &Analytic) -> State {
        evolve(p, None, &|| false, &|_| {}, &mut |_| Ok(()))
            .unwrap()
            .unwrap()
    }

    fn convex(x: &[f64]) -> (Vec<f64>, f64) {
        let (a, b) = (x[0], x[1]);
        (
            vec![a * a + b * b, (a - 1.0).powi(2) + (b - 1.0).powi(2)],
            0.0,
        )
    }

    /// The convex trade-off f1 = x² + y², f2 = (x − 1)² + (y − 1)² on [−1, 2]²: 400
    /// evaluations reach at least 98% of the hypervolume of the front of a 21 × 21 grid (441
    /// evaluations), measured up to that front's worst plus a tenth of its range.
    #[test]
    fn four_hundred_evaluations_beat_a_grid_of_four_hundred_and_forty_one() {
        let p = Analytic {
            variables: square(-1.0, 2.0),
            sizes: (40, 400),
            goals: 2,
            f: convex,
        };
        let state = run(&p);
        assert_eq!(state.plans.len(), 400);
        let grid: Vec<Vec<f64>> = (0..21)
            .flat_map(|i| (0..21).map(move |j| (i, j)))
            .map(|(i, j)| convex(&[-1.0 + 0.15 * f64::from(i), -1.0 + 0.15 * f64::from(j)]).0)
            .collect();
        let grid_front: Vec<Vec<f64>> = grid
            .iter()
            .filter(|p| !grid.iter().any(|q| hypervolume::dominates(q, p)))
            .cloned()
            .collect();
        let reference: Vec<f64> = (0..2)
            .map(|m| {
                let (lo, hi) = grid_front
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                        (a.min(p[m]), b.max(p[m]))
                    });
                hi + 0.1 * (hi - lo)
            })
            .collect();
        let found: Vec<Vec<f64>> = state
            .front()
            .iter()
            .map(|&i| state.plans[i].plan.f.clone())
            .collect();
        let ratio = hypervolume::hypervolume(&found, &reference)
            / hypervolume::hypervolume(&grid_front, &reference);
        assert!(ratio >= 0.98, "{ratio}");
        // The hypervolume of what is found never falls.
        let hv: Vec<f64> = state.convergence.iter().map(|g| g.hypervolume).collect();
        assert!(hv.windows(2).all(|w| w[1] >= w[0]), "{hv:?}");
        assert!(state.convergence.last().unwrap().epsilon_progress > 10);
    }

    /// A planted optimum, and a planted constrained one (x ≥ 0.5 binding).
    #[test]
    fn planted_optima_are_found() {
        let bowl = Analytic {
            variables: square(0.0, 1.0),
            sizes: (20, 400),
            goals: 1,
            f: |x| (vec![(x[0] - 0.3).powi(2) + (x[1] - 0.7).powi(2)], 0.0),
        };
        let state = run(&bowl);
        let best = &state.plans[state.front()[0]].plan.x;
        assert!(
            (best[0] - 0.3).abs() < 0.02 && (best[1] - 0.7).abs() < 0.02,
            "{best:?}"
        );
        let fenced = Analytic {
            variables: square(0.0, 1.0),
            sizes: (20, 400),
            goals: 1,
            f: |x| (vec![x[0] + x[1]], (0.5 - x[0]).max(0.0)),
        };
        let state = run(&fenced);
        let best = &state.plans[state.front()[0]].plan.x;
        assert!((best[0] - 0.5).abs() < 0.02 && best[1] < 0.02, "{best:?}");
        assert!(state.plans[state.front()[0]].feasible());
    }

    #[test]
    fn a_resumed_search_is_the_search_continued() {
        let p = Analytic {
            variables: square(-1.0, 2.0),
            sizes: (20, 200),
            goals: 2,
            f: convex,
        };
        let whole = run(&p);
        let mut saved = Vec::new();
        let half = Analytic {
            variables: square(-1.0, 2.0),
            sizes: (20, 100),
            goals: 2,
            f: convex,
        };
        evolve(&half, None, &|| false, &|_| {}, &mut |s| {
            saved.push(s.clone());
            Ok(())
        })
        .unwrap();
        let resumed = evolve(&p, saved.pop(), &|| false, &|_| {}, &mut |_| Ok(()))
            .unwrap()
            .unwrap();
        assert_eq!(resumed, whole);
    }

    #[test]
    fn robust_statistics_take_the_goals_side() {
        let v = [0.2, 0.9, 0.5, 0.4];
        assert_eq!(Robustness::Worst.of(&v, true), 0.2);
        assert_eq!(Robustness::Worst.of(&v, false), 0.9);
        assert_eq!(Robustness::Mean.of(&v, true), 0.5);
        // p25 of a goal to maximise: a quarter of the futures do worse; of one to minimise,
        // the 75th percentile.
        assert!((Robustness::Quantile(0.25).of(&v, true) - 0.35).abs() < 1e-12);
        assert!((Robustness::Quantile(0.25).of(&v, false) - 0.6).abs() < 1e-12);
        assert!(Robustness::parse("p110").is_err());
        assert_eq!(Robustness::parse("p10").unwrap(), Robustness::Quantile(0.1));
    }
}
