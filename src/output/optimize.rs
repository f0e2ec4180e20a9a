//! A search's files and words: `pareto.csv` (the plans no other beats on every goal),
//! `convergence.csv`, `scenarios.csv` (the uncertain futures), `optimize.json`, the plans as
//! scenario files, and the front in sentences: the cheapest plan, the knee, what more money
//! buys.

use serde::Serialize;

use super::calibration::words as number_words;
use super::json::pretty;
use super::tables::{finish, number, writer};
use super::text::value_words;
use super::toml::{with_choices, Choice};
use crate::model::Model;
use crate::study::design::value_text;
use crate::study::optimize::{Robustness, State, Work};

fn cell(x: f64) -> String {
    if x.is_finite() {
        number(x)
    } else {
        String::new()
    }
}

/// `pareto.csv`: `plan,<PATH 1>,...,<PATH k>,<OUTCOME 1>,...` — each plan of the front (in the
/// order of the first goal, best first) with its choices and each goal's estimate (a robust
/// search: the statistic over the futures); then `low:<OUTCOME>,high:<OUTCOME>` for each goal
/// (its 95% interval; a robust search: the lowest and highest over the futures), each
/// constraint's outcome, and `evaluation` (the plan's place among those evaluated, from 1).
pub fn pareto_csv(work: &Work, state: &State) -> Vec<u8> {
    let mut w = writer();
    let mut header = vec!["plan".to_string()];
    header.extend(work.decisions.iter().map(|p| p.path.clone()));
    header.extend(work.goals.iter().map(|g| g.outcome.clone()));
    for g in &work.goals {
        header.push(format!("low:{}", g.outcome));
        header.push(format!("high:{}", g.outcome));
    }
    header.extend(
        work.constraints
            .iter()
            .map(|c| format!("constraint:{}", c.text())),
    );
    header.push("evaluation".into());
    let _ = w.write_record(&header);
    for (n, &i) in state.front().iter().enumerate() {
        let a = &state.plans[i];
        let mut row = vec![(n + 1).to_string()];
        row.extend(
            a.plan
                .x
                .iter()
                .zip(&work.decisions)
                .map(|(&x, p)| value_text(x, p.integer)),
        );
        row.extend(a.goals.iter().map(|v| cell(v.value)));
        for v in &a.goals {
            row.extend([cell(v.low), cell(v.high)]);
        }
        row.extend(a.constraints.iter().map(|&c| cell(c)));
        row.push((i + 1).to_string());
        let _ = w.write_record(&row);
    }
    finish(w)
}

/// `convergence.csv`: `generation,evaluations,hypervolume,hypervolume_share,epsilon_progress,front,feasible`.
pub fn convergence_csv(state: &State) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record([
        "generation",
        "evaluations",
        "hypervolume",
        "hypervolume_share",
        "epsilon_progress",
        "front",
        "feasible",
    ]);
    for g in &state.convergence {
        let _ = w.write_record([
            g.generation.to_string(),
            g.evaluations.to_string(),
            number(g.hypervolume),
            number(g.hypervolume_share),
            g.epsilon_progress.to_string(),
            g.front.to_string(),
            g.feasible.to_string(),
        ]);
    }
    finish(w)
}

/// `scenarios.csv`: `scenario,<PATH>...` — the uncertain futures every plan is evaluated in.
pub fn scenarios_csv(work: &Work) -> Vec<u8> {
    let mut w = writer();
    let mut header = vec!["scenario".to_string()];
    header.extend(work.uncertain.iter().map(|p| p.path.clone()));
    let _ = w.write_record(&header);
    for (k, future) in work.futures.iter().enumerate() {
        let mut row = vec![(k + 1).to_string()];
        row.extend(
            future
                .iter()
                .zip(&work.uncertain)
                .map(|(&x, p)| value_text(x, p.integer)),
        );
        let _ = w.write_record(&row);
    }
    finish(w)
}

/// `optimize.json`: the settings, the problem, the front, every generation, and timings.
pub fn json(work: &Work, state: &State, model: &Model, seconds: f64) -> Vec<u8> {
    #[derive(Serialize)]
    struct Plan<'a> {
        plan: usize,
        evaluation: usize,
        choices: Vec<(&'a str, f64)>,
        goals: &'a [crate::study::optimize::Value],
        constraints: &'a [f64],
    }
    #[derive(Serialize)]
    struct File<'a> {
        trajectoire_version: &'static str,
        scenario: &'a str,
        name: &'a str,
        settings: &'a crate::study::optimize::Settings,
        substeps: u32,
        decisions: &'a [crate::study::design::Parameter],
        goals: &'a [crate::study::optimize::Goal],
        constraints: Vec<String>,
        uncertain: &'a [crate::study::design::Parameter],
        futures: &'a [Vec<f64>],
        evaluations: usize,
        generations: usize,
        hypervolume_reference: &'a [f64],
        front: Vec<Plan<'a>>,
        convergence: &'a [crate::study::optimize::Generation],
        wall_seconds: f64,
        fingerprint: &'a str,
    }
    let front = state
        .front()
        .into_iter()
        .enumerate()
        .map(|(n, i)| {
            let a = &state.plans[i];
            Plan {
                plan: n + 1,
                evaluation: i + 1,
                choices: work
                    .decisions
                    .iter()
                    .map(|p| p.path.as_str())
                    .zip(a.plan.x.iter().copied())
                    .collect(),
                goals: &a.goals,
                constraints: &a.constraints,
            }
        })
        .collect();
    pretty(&File {
        trajectoire_version: env!("CARGO_PKG_VERSION"),
        scenario: &model.id,
        name: &model.name,
        settings: &work.settings,
        substeps: model.settings.substeps,
        decisions: &work.decisions,
        goals: &work.goals,
        constraints: work.constraints.iter().map(|c| c.text()).collect(),
        uncertain: &work.uncertain,
        futures: &work.futures,
        evaluations: state.plans.len(),
        generations: state.convergence.len(),
        hypervolume_reference: &state.reference,
        front,
        convergence: &state.convergence,
        wall_seconds: seconds,
        fingerprint: &state.fingerprint,
    })
}

/// Plan `i`'s file: the scenario with its choices written in, commented; `None` for a network
/// (its choices are in pareto.csv and plans/plan-<N>.txt as `--set` overrides).
pub fn plan_toml(
    work: &Work,
    state: &State,
    i: usize,
    n: usize,
    include: &dyn Fn(&str) -> String,
) -> Option<Result<String, String>> {
    if work.base().is_network {
        return None;
    }
    let a = &state.plans[i];
    let choices: Vec<Choice> = work
        .decisions
        .iter()
        .zip(&a.plan.x)
        .map(|(p, &x)| Choice {
            path: p.path.clone(),
            value: x,
            integer: p.integer,
            note: format!("plan {n} of the front"),
        })
        .collect();
    let goals: Vec<String> = work
        .goals
        .iter()
        .zip(&a.goals)
        .map(|(g, v)| format!("{} {}", g.outcome, number_words(v.value)))
        .collect();
    let heading = format!(
        "# Plan {n} of the front found by `trajectoire optimize` (seed {}, {} runs an evaluation):\n# {}\n",
        work.settings.seed,
        work.settings.runs,
        goals.join(", ")
    );
    let source = &work.loaded().sources.get(0).text;
    Some(with_choices(source, &choices, &heading, include))
}

/// Plan `i`'s choices as `--set` overrides, one a line.
pub fn plan_sets(work: &Work, state: &State, i: usize) -> String {
    work.decisions
        .iter()
        .zip(&state.plans[i].plan.x)
        .map(|(p, &x)| format!("--set {}\n", p.set(x)))
        .collect()
}

/// Most plans written as files into `plans/`.
pub const MOST_PLAN_FILES: usize = 12;

/// The plans of the front written as files (places in `front`, ascending): all of a small
/// front; of a larger one the best for each goal, the knee, and plans spread evenly along the
/// front's order, [`MOST_PLAN_FILES`] in all (every plan is in pareto.csv).
pub fn plan_files(state: &State, front: &[usize]) -> Vec<usize> {
    if front.len() <= MOST_PLAN_FILES {
        return (0..front.len()).collect();
    }
    let goals = state.plans[front[0]].plan.f.len();
    let mut chosen: Vec<usize> = (0..goals)
        .filter_map(|k| {
            (0..front.len()).min_by(|&a, &b| {
                state.plans[front[a]].plan.f[k].total_cmp(&state.plans[front[b]].plan.f[k])
            })
        })
        .chain(knee(state, front).and_then(|i| front.iter().position(|&j| j == i)))
        .collect();
    let mut step = 0;
    while chosen.len() < MOST_PLAN_FILES && step < front.len() {
        let at = step * (front.len() - 1) / (MOST_PLAN_FILES - 1);
        if !chosen.contains(&at) {
            chosen.push(at);
        }
        step += 1;
    }
    chosen.sort_unstable();
    chosen.dedup();
    chosen
}

/// The plan of the front nearest the best of every goal at once (each goal scaled to its
/// range on the front): the knee.
pub fn knee(state: &State, front: &[usize]) -> Option<usize> {
    let m = state.plans.get(*front.first()?)?.plan.f.len();
    let range = |k: usize| {
        front
            .iter()
            .map(|&i| state.plans[i].plan.f[k])
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                (a.min(x), b.max(x))
            })
    };
    let ranges: Vec<(f64, f64)> = (0..m).map(range).collect();
    front.iter().copied().min_by(|&a, &b| {
        let d = |i: usize| -> f64 {
            (0..m)
                .map(|k| {
                    let (lo, hi) = ranges[k];
                    let span = if hi > lo { hi - lo } else { 1.0 };
                    ((state.plans[i].plan.f[k] - lo) / span).powi(2)
                })
                .sum()
        };
        d(a).total_cmp(&d(b))
    })
}

/// A plan's choices in words.
fn choices(work: &Work, state: &State, i: usize) -> String {
    work.decisions
        .iter()
        .zip(&state.plans[i].plan.x)
        .map(|(p, &x)| {
            let value = value_words_of(x, p.integer);
            match super::units::unit_of(&p.path) {
                "×" => format!("{} {value}×", p.path),
                "a month" | "share" | "chance" => format!("{} {value}", p.path),
                unit => format!("{} {value} {unit}", p.path),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn value_words_of(x: f64, integer: bool) -> String {
    if integer {
        value_text(x, true)
    } else {
        number_words(x)
    }
}

/// A plan's goals in words.
fn goals(work: &Work, state: &State, i: usize) -> String {
    work.goals
        .iter()
        .zip(&state.plans[i].goals)
        .map(|(g, v)| {
            format!(
                "{} {}",
                g.outcome,
                value_words(&g.outcome, v.value, work.base())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The front in words: what was searched, the cheapest plan meeting the constraints (when
/// spend is a goal), the knee, and what each extra 100,000 € buys along the front.
pub fn words(work: &Work, state: &State) -> String {
    let s = &work.settings;
    let mut out = format!(
        "Evaluated {} plans ({} generations of {}), each on {} runs (seed {}){}.\n",
        state.plans.len(),
        state.convergence.len(),
        s.population,
        s.runs,
        s.seed,
        match s.robustness {
            None => String::new(),
            Some(r) => format!(
                " in each of {} uncertain futures, each goal taken {}",
                work.futures.len(),
                match r {
                    Robustness::Worst => "in its worst future".to_string(),
                    Robustness::Mean => "as its mean over the futures".to_string(),
                    Robustness::Quantile(q) => format!(
                        "as the value {:.0}% of the futures do worse than",
                        100.0 * q
                    ),
                }
            ),
        }
    );
    let goal_list: Vec<String> = work
        .goals
        .iter()
        .map(|g| {
            format!(
                "{} {} ({})",
                if g.maximise { "maximise" } else { "minimise" },
                g.outcome,
                super::text::outcome_words(&g.outcome, work.base()).0
            )
        })
        .collect();
    out.push_str(&format!("Goals: {}.\n", goal_list.join("; ")));
    if !work.constraints.is_empty() {
        let list: Vec<String> = work.constraints.iter().map(|c| c.text()).collect();
        out.push_str(&format!("Constraints: {}.\n", list.join("; ")));
    }
    let front = state.front();
    if front.is_empty() {
        let least = (0..state.plans.len())
            .min_by(|&a, &b| state.plans[a].plan.cv.total_cmp(&state.plans[b].plan.cv));
        out.push_str("No plan evaluated meets every constraint.");
        if let Some(i) = least {
            out.push_str(&format!(
                " The nearest: {} ({}).",
                choices(work, state, i),
                goals(work, state, i)
            ));
        }
        out.push_str(" Loosen a constraint, widen the ranges, or search longer.\n");
        return out;
    }
    out.push_str(&format!(
        "{} plan{} on the front (meeting every constraint, none beaten on every goal): pareto.csv{}.\n",
        front.len(),
        if front.len() == 1 { " is" } else { "s are" },
        if front.len() > MOST_PLAN_FILES {
            format!(", and {} of them as files in plans/ (the best for each goal, the knee, and a spread)", plan_files(state, &front).len())
        } else {
            ", each as a file in plans/".to_string()
        }
    ));
    let spend = work
        .goals
        .iter()
        .position(|g| !g.maximise && g.outcome.ends_with("spend"));
    let plan_no = |i: usize| front.iter().position(|&j| j == i).map_or(0, |p| p + 1);
    if let Some(k) = spend {
        let cheapest = *front
            .iter()
            .min_by(|&&a, &&b| state.plans[a].plan.f[k].total_cmp(&state.plans[b].plan.f[k]))
            .unwrap_or(&front[0]);
        out.push_str(&format!(
            "The cheapest plan{}: plan {} — {} — {}.\n",
            if work.constraints.is_empty() {
                String::new()
            } else {
                " that meets every constraint".to_string()
            },
            plan_no(cheapest),
            choices(work, state, cheapest),
            goals(work, state, cheapest)
        ));
    } else {
        for (k, g) in work.goals.iter().enumerate() {
            let best = *front
                .iter()
                .min_by(|&&a, &&b| state.plans[a].plan.f[k].total_cmp(&state.plans[b].plan.f[k]))
                .unwrap_or(&front[0]);
            out.push_str(&format!(
                "Best for {}: plan {} — {} — {}.\n",
                g.outcome,
                plan_no(best),
                choices(work, state, best),
                goals(work, state, best)
            ));
        }
    }
    if front.len() > 2 && work.goals.len() > 1 {
        if let Some(knee) = knee(state, &front) {
            out.push_str(&format!(
                "The knee (the plan nearest the best of every goal at once): plan {} — {} — {}.\n",
                plan_no(knee),
                choices(work, state, knee),
                goals(work, state, knee)
            ));
        }
    }
    if let Some(k) = spend.filter(|_| work.goals.len() > 1) {
        let mut by_spend = front.clone();
        by_spend.sort_by(|&a, &b| state.plans[a].plan.f[k].total_cmp(&state.plans[b].plan.f[k]));
        let (lo, hi) = (by_spend[0], by_spend[by_spend.len() - 1]);
        let extra = state.plans[hi].goals[k].value - state.plans[lo].goals[k].value;
        if extra > 0.0 {
            for (m, g) in work.goals.iter().enumerate().filter(|(m, _)| *m != k) {
                let gain = state.plans[hi].goals[m].value - state.plans[lo].goals[m].value;
                let per = gain / extra * 100_000.0;
                let (amount, unit) = if g.outcome.contains("entry(") {
                    (per, " months")
                } else if g.outcome.contains("spend") {
                    (per, " €")
                } else {
                    (100.0 * per, " points")
                };
                out.push_str(&format!(
                    "From the cheapest plan of the front to the dearest ({} more over the horizon), {} goes from {} to {}: {amount:+.2}{unit} for each extra 100,000 €.\n",
                    value_words("spend", extra, work.base()),
                    g.outcome,
                    value_words(&g.outcome, state.plans[lo].goals[m].value, work.base()),
                    value_words(&g.outcome, state.plans[hi].goals[m].value, work.base()),
                ));
            }
        }
    }
    let c = &state.convergence;
    if let (Some(last), true) = (c.last(), c.len() > 1) {
        let back = c.len().saturating_sub(6);
        let before = c[back].hypervolume;
        let growth = if before > 0.0 {
            100.0 * (last.hypervolume / before - 1.0)
        } else {
            f64::INFINITY
        };
        out.push_str(&format!(
            "Convergence: the hypervolume of the front grew {} over the last {} generations, and {} plans found a new ε-box in all (convergence.csv){}.\n",
            if growth.is_finite() { format!("{growth:.1}%") } else { "from nothing".to_string() },
            c.len() - 1 - back,
            last.epsilon_progress,
            if growth > 1.0 { "; it is still growing: --resume with more --evaluations may find better plans" } else { "" }
        ));
    }
    out
}
