//! A search's plots: the trade-off (`tradeoff`: with two goals, every plan evaluated and the
//! front joined, the knee ringed; with three or more, the front's plans as lines across one
//! axis per goal) and the convergence (`convergence`: the hypervolume and ε-progress against
//! the evaluations).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::*;
use crate::output::optimize::knee;
use crate::study::optimize::{Robustness, State, Work};

/// Both plots.
pub fn pictures(work: &Work, state: &State) -> Result<Vec<(String, Picture)>, String> {
    let mut out = Vec::new();
    if !state.front().is_empty() {
        let dims = if work.goals.len() == 2 {
            (1000, 720)
        } else {
            (1300, 720)
        };
        out.push((
            "tradeoff".to_string(),
            picture(&Tradeoff { work, state }, dims)?,
        ));
    }
    out.push((
        "convergence".to_string(),
        picture(&Convergence { state }, (1100, 520))?,
    ));
    Ok(out)
}

struct Tradeoff<'a> {
    work: &'a Work,
    state: &'a State,
}

/// A goal's value scaled for an axis: shares as percentages, spend in thousands of euros.
fn shown(outcome: &str, x: f64) -> f64 {
    if outcome.contains("spend") {
        x / 1000.0
    } else if outcome.contains("entry(") {
        x
    } else {
        100.0 * x
    }
}

/// An axis's title: the outcome, its unit, how a robust search reads it over the futures, and
/// which way is better.
fn axis_name(work: &Work, outcome: &str, maximise: bool) -> String {
    let unit = if outcome.contains("spend") {
        "thousand €"
    } else if outcome.contains("entry(") {
        "month"
    } else {
        "%"
    };
    let n = work.futures.len();
    let over = match work.settings.robustness {
        None => String::new(),
        Some(Robustness::Worst) => format!("; the worst of {n} futures"),
        Some(Robustness::Mean) => format!("; the mean of {n} futures"),
        Some(Robustness::Quantile(q)) => {
            format!("; the value {:.0}% of {n} futures do worse than", 100.0 * q)
        }
    };
    format!(
        "{outcome} ({unit}{over}; {} is better)",
        if maximise { "higher" } else { "lower" }
    )
}

impl Tradeoff<'_> {
    fn scatter<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let (work, state) = (self.work, self.state);
        let (gx, gy) = (&work.goals[0], &work.goals[1]);
        let value =
            |i: usize, m: usize| shown(&work.goals[m].outcome, state.plans[i].goals[m].value);
        let valued: Vec<usize> = (0..state.plans.len())
            .filter(|&i| state.plans[i].goals.iter().all(|v| v.value.is_finite()))
            .collect();
        let range = |m: usize| {
            let (lo, hi) = valued
                .iter()
                .map(|&i| value(i, m))
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                    (a.min(x), b.max(x))
                });
            let pad = ((hi - lo) * 0.05).max(1e-9);
            lo - pad..hi + pad
        };
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("The trade-off: {} against {}", gx.outcome, gy.outcome),
                (FONT, 20),
            )
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(range(0), range(1))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(axis_name(work, &gx.outcome, gx.maximise))
            .y_desc(axis_name(work, &gy.outcome, gy.maximise))
            .x_label_formatter(&|x| tick(*x, 0))
            .y_label_formatter(&|y| tick(*y, 0))
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(err)?;
        let feasible = |i: &usize| state.plans[*i].feasible();
        // Plans missing a constraint, in the legend only when there are some.
        if valued.iter().any(|i| !feasible(i)) {
            chart
                .draw_series(
                    valued
                        .iter()
                        .filter(|i| !feasible(i))
                        .map(|&i| Cross::new((value(i, 0), value(i, 1)), 3, MUTED.stroke_width(1))),
                )
                .map_err(err)?
                .label("a plan missing a constraint")
                .legend(|(x, y)| Cross::new((x + 10, y), 3, MUTED));
        }
        chart
            .draw_series(
                valued
                    .iter()
                    .filter(|i| feasible(i))
                    .map(|&i| Circle::new((value(i, 0), value(i, 1)), 3, PEACH.filled())),
            )
            .map_err(err)?
            .label("a plan evaluated")
            .legend(|(x, y)| Circle::new((x + 10, y), 3, PEACH.filled()));
        let front = state.front();
        let mut line: Vec<(f64, f64)> = front.iter().map(|&i| (value(i, 0), value(i, 1))).collect();
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(line.clone(), NAVY.stroke_width(2)))
            .map_err(err)?;
        chart
            .draw_series(line.iter().map(|&p| Circle::new(p, 5, NAVY.filled())))
            .map_err(err)?
            .label("the front: no plan does better on both")
            .legend(|(x, y)| Circle::new((x + 10, y), 5, NAVY.filled()));
        if let Some(k) = knee(state, &front).filter(|_| front.len() > 2) {
            let at = (value(k, 0), value(k, 1));
            chart
                .draw_series([Circle::new(at, 11, RUST.stroke_width(2))])
                .map_err(err)?
                .label("the knee")
                .legend(|(x, y)| Circle::new((x + 10, y), 6, RUST.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    }

    /// Parallel coordinates in pixels: an axis per choice (its --vary range, low at the
    /// bottom), then an axis per goal (over the front, worse at the bottom); each plan of the
    /// front a thin line coloured by its spend (or its first goal), the best for each goal and
    /// the knee drawn on top and named.
    fn parallel<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let (work, state) = (self.work, self.state);
        let front = state.front();
        let (w, h) = root.dim_in_pixel();
        let (w, h) = (w as i32, h as i32);
        let choices = work.decisions.len();
        let goals = work.goals.len();
        let axes = choices + goals;
        let (left, right, top, bottom) = (90, 250, 96, h - 120);
        let gap = 90; // between the choices and the goals
        let step = (w - left - right - gap) as f64 / (axes.max(2) - 1) as f64;
        let x_of = |a: usize| left + (a as f64 * step) as i32 + if a >= choices { gap } else { 0 };
        let y_of = |t: f64| bottom - ((bottom - top) as f64 * t.clamp(0.0, 1.0)) as i32;
        let goal_range = |k: usize| {
            front
                .iter()
                .map(|&i| state.plans[i].goals[k].value)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                    (a.min(x), b.max(x))
                })
        };
        let ranges: Vec<(f64, f64)> = work
            .decisions
            .iter()
            .map(|p| p.bounds())
            .chain((0..goals).map(goal_range))
            .collect();
        // Where plan `i` crosses axis `a`, from 0 (bottom) to 1 (top).
        let height = |i: usize, a: usize| -> f64 {
            let (lo, hi) = ranges[a];
            let x = if a < choices {
                state.plans[i].plan.x[a]
            } else {
                state.plans[i].goals[a - choices].value
            };
            let t = if hi > lo { (x - lo) / (hi - lo) } else { 0.5 };
            if a >= choices && !work.goals[a - choices].maximise {
                1.0 - t
            } else {
                t
            }
        };
        let title =
            "The plans of the front: their choices (left) and their goals (right, up is better)";
        root.draw(&Text::new(title, (left - 40, 24), (FONT, 20).into_font()))
            .map_err(err)?;
        // The colour: spend when it is a goal (light: cheap, dark: dear), else the first goal.
        let by = work
            .goals
            .iter()
            .position(|g| g.outcome.ends_with("spend"))
            .unwrap_or(0);
        let (clo, chi) = goal_range(by);
        let shade = |i: usize| {
            let v = state.plans[i].goals[by].value;
            let t = if chi > clo {
                (v - clo) / (chi - clo)
            } else {
                0.5
            };
            let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t) as u8;
            RGBColor(
                mix(PEACH.0, NAVY.0),
                mix(PEACH.1, NAVY.1),
                mix(PEACH.2, NAVY.2),
            )
        };
        let opacity = (60.0 / front.len().max(1) as f64).clamp(0.12, 0.8);
        // A plan's line: its choices, then its goals (two pieces, not joined across the gap).
        let pieces = |i: usize| -> [Vec<(i32, i32)>; 2] {
            let at = |a: usize| (x_of(a), y_of(height(i, a)));
            [
                (0..choices).map(at).collect(),
                (choices..axes).map(at).collect(),
            ]
        };
        for &i in &front {
            for piece in pieces(i) {
                root.draw(&PathElement::new(
                    piece,
                    shade(i).mix(opacity).stroke_width(1),
                ))
                .map_err(err)?;
            }
        }
        // The named plans, on top.
        let mut named: Vec<(usize, String)> = Vec::new();
        for (k, g) in work.goals.iter().enumerate() {
            if let Some(&best) = front
                .iter()
                .min_by(|&&a, &&b| state.plans[a].plan.f[k].total_cmp(&state.plans[b].plan.f[k]))
            {
                let what = if g.outcome.ends_with("spend") && !g.maximise {
                    "the cheapest".to_string()
                } else {
                    format!("best {}", g.outcome)
                };
                named.push((best, what));
            }
        }
        if let Some(k) = knee(state, &front).filter(|_| front.len() > 2) {
            named.push((k, "the knee".to_string()));
        }
        let number = |i: usize| front.iter().position(|&j| j == i).map_or(0, |p| p + 1);
        let mut label_ys: Vec<i32> = Vec::new();
        for (n, (i, what)) in named.iter().enumerate() {
            let colour = if what == "the knee" {
                RUST
            } else {
                colour(n + 1)
            };
            for piece in pieces(*i) {
                root.draw(&PathElement::new(piece, colour.stroke_width(3)))
                    .map_err(err)?;
            }
            // The name at the right end, moved down past the names already written.
            let mut y = y_of(height(*i, axes - 1)) - 7;
            while label_ys.iter().any(|&o| (o - y).abs() < 16) {
                y += 16;
            }
            label_ys.push(y);
            root.draw(&Text::new(
                format!("{what} (plan {})", number(*i)),
                (x_of(axes - 1) + 10, y),
                (FONT, 13).into_font().color(&colour),
            ))
            .map_err(err)?;
        }
        // The axes, their ends and their names.
        for (a, &(lo, hi)) in ranges.iter().enumerate() {
            let x = x_of(a);
            root.draw(&PathElement::new(
                vec![(x, top), (x, bottom)],
                BLACK.stroke_width(1),
            ))
            .map_err(err)?;
            let (name, low, high) = if a < choices {
                let p = &work.decisions[a];
                let words = |v: f64| crate::output::calibration::words(v);
                let name = p
                    .path
                    .split_once('.')
                    .map_or(p.path.as_str(), |(_, n)| n)
                    .to_string();
                (name, words(lo), words(hi))
            } else {
                let g = &work.goals[a - choices];
                let words = |v: f64| crate::output::text::value_words(&g.outcome, v, work.base());
                let (bottom_value, top_value) = if g.maximise { (lo, hi) } else { (hi, lo) };
                (g.outcome.clone(), words(bottom_value), words(top_value))
            };
            let font = (FONT, 13).into_font();
            root.draw(&Text::new(high, (x - 20, top - 20), font.clone()))
                .map_err(err)?;
            root.draw(&Text::new(low, (x - 20, bottom + 8), font.clone()))
                .map_err(err)?;
            // The name under the axis, centred, on two lines: before and after its last dot
            // (a choice), or the outcome and whether it is maximised (a goal).
            let (first, second) = if a < choices {
                name.rsplit_once('.')
                    .map_or((name.clone(), String::new()), |(a, b)| {
                        (a.to_string(), b.to_string())
                    })
            } else {
                let g = &work.goals[a - choices];
                (
                    g.outcome.clone(),
                    if g.maximise { "(max)" } else { "(min)" }.to_string(),
                )
            };
            let centred = (FONT, 13)
                .into_font()
                .into_text_style(root)
                .pos(Pos::new(HPos::Center, VPos::Top));
            for (row, text) in [first, second].into_iter().enumerate() {
                root.draw(&Text::new(
                    text,
                    (x, bottom + 32 + 17 * row as i32),
                    centred.clone(),
                ))
                .map_err(err)?;
            }
        }
        let heading = |a: usize, text: &str| {
            root.draw(&Text::new(
                text.to_string(),
                (x_of(a) - 20, top - 48),
                (FONT, 15).into_font().color(&MUTED),
            ))
        };
        if choices > 0 {
            heading(0, "CHOICES").map_err(err)?;
        }
        heading(choices, "GOALS").map_err(err)?;
        let (ghi, glo) = (
            crate::output::text::value_words(&work.goals[by].outcome, chi, work.base()),
            crate::output::text::value_words(&work.goals[by].outcome, clo, work.base()),
        );
        root.draw(&Text::new(
            format!(
                "{} plans on the front; colour: {} (light {glo}, dark {ghi})",
                front.len(),
                work.goals[by].outcome
            ),
            (left - 40, h - 30),
            (FONT, 13).into_font().color(&MUTED),
        ))
        .map_err(err)?;
        Ok(())
    }
}

impl Painter for Tradeoff<'_> {
    fn paint<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Drawn {
        root.fill(&WHITE).map_err(err)?;
        if self.work.goals.len() == 2 {
            self.scatter(&root)?;
        } else {
            self.parallel(&root)?;
        }
        root.present().map_err(err)
    }
}

/// A convergence panel: its area, title, points and whether its values are percentages.
type Panel<'a, DB> = (&'a DrawingArea<DB, Shift>, &'a str, Vec<(f64, f64)>, bool);

struct Convergence<'a> {
    state: &'a State,
}

impl Painter for Convergence<'_> {
    fn paint<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Drawn {
        root.fill(&WHITE).map_err(err)?;
        let gens = &self.state.convergence;
        let last = gens.last().map_or(1, |g| g.evaluations).max(1) as f64;
        let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
        let panels: [Panel<'_, DB>; 2] = [
            (
                &left,
                "hypervolume (share of the first population's box)",
                gens.iter()
                    .map(|g| (g.evaluations as f64, 100.0 * g.hypervolume_share))
                    .collect(),
                true,
            ),
            (
                &right,
                "ε-progress (plans entering a new ε-box)",
                gens.iter()
                    .map(|g| (g.evaluations as f64, g.epsilon_progress as f64))
                    .collect(),
                false,
            ),
        ];
        for (area, title, points, percent) in panels {
            let top = points.iter().map(|p| p.1).fold(0.0f64, f64::max).max(1e-9) * 1.08;
            let mut chart = ChartBuilder::on(area)
                .caption(title, (FONT, 16))
                .margin(16)
                .x_label_area_size(44)
                .y_label_area_size(56)
                .build_cartesian_2d(0f64..last * 1.02, 0f64..top)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc("plans evaluated")
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|y| {
                    if percent {
                        format!("{y:.0}%")
                    } else {
                        format!("{y:.0}")
                    }
                })
                .light_line_style(WHITE)
                .bold_line_style(GRID)
                .label_style((FONT, 12))
                .axis_desc_style((FONT, 13))
                .draw()
                .map_err(err)?;
            chart
                .draw_series(LineSeries::new(points.clone(), NAVY.stroke_width(2)))
                .map_err(err)?;
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, NAVY.filled())))
                .map_err(err)?;
        }
        root.present().map_err(err)
    }
}
