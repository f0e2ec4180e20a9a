//! A sensitivity analysis's plots: for each outcome (of a family over time, its last month), the
//! parameters ranked by their indices with their 95% intervals — Sobol' first-order and total
//! effects as bars (`indices-<outcome>`), or Morris's μ* against σ (`morris-<outcome>`) — with
//! the noise floor; and for each family, each parameter's indices month by month
//! (`over-time-<family>`).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::sweep::slug;
use super::*;
use crate::model::Model;
use crate::study::sensitivity::{Analysis, Method};

/// Every plot of an analysis.
pub fn pictures(analysis: &Analysis, model: &Model) -> Result<Vec<(String, Picture)>, String> {
    let mut out = Vec::new();
    let in_family = |o: usize| {
        analysis
            .families
            .iter()
            .any(|f| f.contains(o) && f.outcomes.last() != Some(&o))
    };
    for (o, result) in analysis.outcomes.iter().enumerate() {
        if in_family(o) || (result.sobol.is_none() && result.morris.is_none()) {
            continue;
        }
        let k = analysis.parameters.len() as u32;
        let (name, dims) = match analysis.method {
            Method::Sobol { .. } => ("indices", (1000, 170 + 62 * k.max(2))),
            Method::Morris { .. } => ("morris", (1000, 680)),
        };
        let painter = Ranked { analysis, model, o };
        out.push((
            format!("{name}-{}", slug(&result.outcome)),
            picture(&painter, dims)?,
        ));
    }
    for (f, family) in analysis.families.iter().enumerate() {
        let painter = OverTime {
            analysis,
            model,
            family: f,
        };
        out.push((
            format!("over-time-{}", slug(&family.text)),
            picture(&painter, (1400, 660))?,
        ));
    }
    Ok(out)
}

struct Ranked<'a> {
    analysis: &'a Analysis,
    model: &'a Model,
    o: usize,
}

/// The labels' room on the left: the longest path at 7.5 pixels a character.
fn label_room(analysis: &Analysis) -> u32 {
    let longest = analysis
        .parameters
        .iter()
        .map(|p| p.path.chars().count())
        .max()
        .unwrap_or(10);
    (longest as f64 * 7.5) as u32 + 24
}

impl Ranked<'_> {
    fn bars<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn {
        let a = self.analysis;
        let Some(s) = &a.outcomes[self.o].sobol else {
            return Ok(());
        };
        let ranking = a.ranking(self.o);
        let k = ranking.len();
        let top = s
            .total
            .iter()
            .chain(&s.first)
            .map(|i| i.high)
            .fold(0.0f64, f64::max)
            .max(0.05);
        let x_max = if top > 0.7 { 1.0 } else { top * 1.15 };
        let labels: Vec<String> = ranking
            .iter()
            .map(|&(j, _, _)| a.parameters[j].path.clone())
            .collect();
        let label = |y: &f64| {
            let r = y.floor() as usize;
            if (y - y.floor() - 0.5).abs() < 1e-9 && r < k {
                labels[k - 1 - r].clone()
            } else {
                String::new()
            }
        };
        let mut chart = ChartBuilder::on(area)
            .margin(16)
            .x_label_area_size(46)
            .y_label_area_size(label_room(a))
            .build_cartesian_2d(0f64..x_max, 0f64..k as f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(2 * k + 1)
            .y_label_formatter(&label)
            .x_desc(if x_max < 1.0 {
                "share of the outcome's variance (axis fitted to the indices)"
            } else {
                "share of the outcome's variance"
            })
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(err)?;
        let row = |r: usize| (k - 1 - r) as f64;
        let total_colour = BAND.mix(0.45);
        let first_colour = NAVY;
        let anno = chart
            .draw_series(ranking.iter().enumerate().map(|(r, &(j, _, _))| {
                let y = row(r);
                let v = s.total[j].estimate.max(0.0);
                Rectangle::new([(0.0, y + 0.52), (v, y + 0.88)], total_colour.filled())
            }))
            .map_err(err)?;
        swatch(anno, "total effect ST (with interactions)", total_colour);
        let anno = chart
            .draw_series(ranking.iter().enumerate().map(|(r, &(j, _, _))| {
                let y = row(r);
                let v = s.first[j].estimate.max(0.0);
                Rectangle::new([(0.0, y + 0.12), (v, y + 0.48)], first_colour.filled())
            }))
            .map_err(err)?;
        swatch(anno, "first order S1 (alone)", first_colour.to_rgba());
        for (r, &(j, _, _)) in ranking.iter().enumerate() {
            let y = row(r);
            for (index, at) in [(s.total[j], y + 0.7), (s.first[j], y + 0.3)] {
                let (lo, hi) = (index.low.max(0.0), index.high.min(x_max));
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(lo, at), (hi, at)],
                        BLACK.stroke_width(2),
                    )))
                    .map_err(err)?;
                for x in [lo, hi] {
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(x, at - 0.08), (x, at + 0.08)],
                            BLACK.stroke_width(2),
                        )))
                        .map_err(err)?;
                }
            }
        }
        let floor = a.noise_floor(self.o);
        if floor > 0.0 && floor < x_max {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(floor, 0.0), (floor, k as f64)],
                    6,
                    4,
                    RUST.stroke_width(2),
                ))
                .map_err(err)?
                .label("noise floor (run-to-run randomness)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], RUST.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    }

    fn morris<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn {
        let a = self.analysis;
        let Some(m) = &a.outcomes[self.o].morris else {
            return Ok(());
        };
        let x_max = m
            .iter()
            .map(|e| e.mu_star.high)
            .fold(0.0f64, f64::max)
            .max(1e-9)
            * 1.15;
        let y_max = m.iter().map(|e| e.sigma).fold(0.0f64, f64::max).max(1e-9) * 1.15;
        let mut chart = ChartBuilder::on(area)
            .margin(16)
            .x_label_area_size(46)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("μ*: mean absolute elementary effect (how much it matters)")
            .y_desc("σ: spread of its effects (non-linearity, interactions)")
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(err)?;
        for (j, e) in m.iter().enumerate() {
            let c = colour(j);
            let (x, y) = (e.mu_star.estimate, e.sigma);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(e.mu_star.low, y), (e.mu_star.high, y)],
                    c.stroke_width(2),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Circle::new((x, y), 6, c.filled())))
                .map_err(err)?
                .label(a.parameters[j].path.as_str())
                .legend(move |(x, y)| Circle::new((x + 10, y), 6, c.filled()));
        }
        let floor = a.noise_floor(self.o);
        if floor > 0.0 && floor < x_max {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(floor, 0.0), (floor, y_max)],
                    6,
                    4,
                    RUST.stroke_width(2),
                ))
                .map_err(err)?
                .label("noise floor (run-to-run randomness)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], RUST.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}

impl Painter for Ranked<'_> {
    fn paint<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Drawn {
        root.fill(&WHITE).map_err(err)?;
        let a = self.analysis;
        let result = &a.outcomes[self.o];
        let default = (self.model.territories.len() == 1).then_some(0);
        let words = crate::study::outcome::parse_outcome(&result.outcome, self.model, default)
            .map_or_else(
                |_| String::new(),
                |p| crate::output::text::describe(&p, self.model),
            );
        let title = format!("What matters for {} — {}", result.outcome, self.model.name);
        let body = root.titled(&title, (FONT, 22)).map_err(err)?;
        let (size, count) = match a.method {
            Method::Sobol { n, .. } => ("Sobol' indices", format!("N = {n}")),
            Method::Morris { r, .. } => ("Morris elementary effects", format!("{r} trajectories")),
        };
        let lines = [
            words,
            format!(
                "{size}, {count}, {} runs a point · 95% bootstrap intervals · run-to-run randomness {:.1}% of the outcome's variance",
                a.runs,
                100.0 * result.noise.share
            ),
        ];
        for (k, line) in lines.iter().enumerate() {
            body.draw(&Text::new(
                line.as_str(),
                (16, 2 + 18 * k as i32),
                (FONT, 14).into_font().color(&MUTED),
            ))
            .map_err(err)?;
        }
        let (_, inner) = body.split_vertically(42);
        if result.noise.share >= 0.5 {
            let (w, _) = inner.dim_in_pixel();
            inner
                .draw(&Text::new(
                    format!(
                        "Caution: run-to-run randomness is {:.0}% of this outcome's variance between points — these indices say next to nothing; use more runs.",
                        100.0 * result.noise.share
                    ),
                    (w as i32 / 2, 6),
                    (FONT, 15)
                        .into_font()
                        .color(&RUST)
                        .pos(plotters::style::text_anchor::Pos::new(
                            plotters::style::text_anchor::HPos::Center,
                            plotters::style::text_anchor::VPos::Top,
                        )),
                ))
                .map_err(err)?;
        }
        match a.method {
            Method::Sobol { .. } => self.bars(&inner)?,
            Method::Morris { .. } => self.morris(&inner)?,
        }
        root.present().map_err(err)
    }
}

struct OverTime<'a> {
    analysis: &'a Analysis,
    model: &'a Model,
    family: usize,
}

impl Painter for OverTime<'_> {
    fn paint<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Drawn {
        root.fill(&WHITE).map_err(err)?;
        let a = self.analysis;
        let f = &a.families[self.family];
        let title = format!(
            "What matters for {} over time — {}",
            f.name, self.model.name
        );
        let body = root.titled(&title, (FONT, 22)).map_err(err)?;
        let year = |m: u32| match self.model.start_year() {
            Some(y) => f64::from(y) + f64::from(m) / 12.0,
            None => f64::from(m),
        };
        let x_desc = if self.model.start_year().is_some() {
            "year"
        } else {
            "month"
        };
        let (x0, x1) = (
            year(f.months[0]),
            year(*f.months.last().unwrap_or(&f.months[0])),
        );
        let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
        type Pick = fn(&Analysis, usize, usize) -> Option<(f64, f64, f64)>;
        let panels: Vec<(&str, Pick)> = match a.method {
            Method::Sobol { .. } => vec![
                ("first order S1 (alone)", |a, o, j| {
                    a.outcomes[o].sobol.as_ref().map(|s| {
                        let i = s.first[j];
                        (i.estimate, i.low, i.high)
                    })
                }),
                ("total effect ST (with interactions)", |a, o, j| {
                    a.outcomes[o].sobol.as_ref().map(|s| {
                        let i = s.total[j];
                        (i.estimate, i.low, i.high)
                    })
                }),
            ],
            Method::Morris { .. } => vec![("μ*: mean absolute elementary effect", |a, o, j| {
                a.outcomes[o].morris.as_ref().map(|m| {
                    let e = m[j].mu_star;
                    (e.estimate, e.low, e.high)
                })
            })],
        };
        // One legend for both panels, in a row under them, so that it hides no line.
        let (charts, key) = body.split_vertically(body.dim_in_pixel().1.saturating_sub(40));
        let mut x = 70i32;
        for (j, p) in a.parameters.iter().enumerate() {
            let c = colour(j);
            key.draw(&PathElement::new(
                vec![(x, 20), (x + 24, 20)],
                c.stroke_width(4),
            ))
            .map_err(err)?;
            key.draw(&Text::new(
                p.path.as_str(),
                (x + 30, 13),
                (FONT, 14).into_font(),
            ))
            .map_err(err)?;
            x += 30 + (p.path.chars().count() as f64 * 7.8) as i32 + 28;
        }
        let areas = charts.split_evenly((1, panels.len()));
        for (area, (name, pick)) in areas.iter().zip(&panels) {
            let mut top = 0.0f64;
            for (k, _) in f.months.iter().enumerate() {
                for j in 0..a.parameters.len() {
                    if let Some((_, _, hi)) = pick(a, f.outcomes[k], j) {
                        top = top.max(hi);
                    }
                }
            }
            let y_max = if top > 0.7 {
                1.0
            } else {
                (top * 1.15).max(0.05)
            };
            let mut chart = ChartBuilder::on(area)
                .caption(name, (FONT, 18))
                .margin(14)
                .x_label_area_size(44)
                .y_label_area_size(64)
                .build_cartesian_2d(x0..x1, 0f64..y_max)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc("index")
                .x_label_formatter(&|x| format!("{}", x.round() as i64))
                .light_line_style(WHITE)
                .bold_line_style(GRID)
                .label_style((FONT, 13))
                .axis_desc_style((FONT, 14))
                .draw()
                .map_err(err)?;
            for (j, p) in a.parameters.iter().enumerate() {
                let c = colour(j);
                let series: Vec<(f64, (f64, f64, f64))> = f
                    .months
                    .iter()
                    .enumerate()
                    .filter_map(|(k, &m)| pick(a, f.outcomes[k], j).map(|v| (year(m), v)))
                    .collect();
                let mut band: Vec<(f64, f64)> =
                    series.iter().map(|(x, v)| (*x, v.1.max(0.0))).collect();
                band.extend(series.iter().rev().map(|(x, v)| (*x, v.2.min(y_max))));
                chart
                    .draw_series(std::iter::once(Polygon::new(band, c.mix(0.15).filled())))
                    .map_err(err)?;
                chart
                    .draw_series(LineSeries::new(
                        series.iter().map(|(x, v)| (*x, v.0.max(0.0))),
                        c.stroke_width(3),
                    ))
                    .map_err(err)?;
                let _ = p;
            }
        }
        root.present().map_err(err)
    }
}
