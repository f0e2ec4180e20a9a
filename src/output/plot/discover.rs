//! A discovery's plots: the coverage–density trade-off of every box's search
//! (`tradeoff`: each step a dot coloured by how many parameters it restricts, the box kept
//! ringed), and for each box the points in pairs of its restricted parameters with the box
//! drawn (`box-<N>`).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::*;
use crate::output::discover::goal;
use crate::study::discover::Discovery;

/// Every plot of a discovery.
pub fn pictures(d: &Discovery) -> Result<Vec<(String, Picture)>, String> {
    let mut out = Vec::new();
    if d.boxes.is_empty() {
        return Ok(out);
    }
    out.push((
        "tradeoff".to_string(),
        picture(&Tradeoff { d }, (1000, 700))?,
    ));
    for (b, found) in d.boxes.iter().enumerate() {
        if !found.found.accepted {
            continue;
        }
        let pairs = pairs(d, b);
        if pairs.is_empty() {
            continue;
        }
        let cols = pairs.len().min(3) as u32;
        let rows = (pairs.len() as u32).div_ceil(cols);
        out.push((
            format!("box-{}", b + 1),
            picture(
                &Pairs { d, b, pairs },
                (470 * cols + 40, 470 * rows + 40 + TITLE_HEIGHT),
            )?,
        ));
    }
    Ok(out)
}

/// The pairs of parameters a box is drawn in: its restricted ones two by two (at most six
/// pairs); one restricted parameter against each other (at most three).
fn pairs(d: &Discovery, b: usize) -> Vec<(usize, usize)> {
    let restricted = &d.boxes[b].found.last().restricted;
    let k = d.parameters.len();
    let mut out = Vec::new();
    match restricted.as_slice() {
        [] => {}
        [one] => {
            for other in (0..k).filter(|c| c != one).take(3) {
                out.push((*one, other));
            }
        }
        many => {
            for (i, &a) in many.iter().enumerate() {
                for &c in &many[i + 1..] {
                    out.push((a, c));
                }
            }
        }
    }
    out.truncate(6);
    out
}

struct Tradeoff<'a> {
    d: &'a Discovery,
}

impl Painter for Tradeoff<'_> {
    fn paint<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Drawn {
        root.fill(&WHITE).map_err(err)?;
        let d = self.d;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Where {} holds: boxes, step by step", goal(d)),
                (FONT, 20),
            )
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..1.02, 0f64..1.02)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("coverage: share of the points where it holds that the box holds")
            .y_desc("density: share of the box's points where it holds")
            .x_label_formatter(&|x| format!("{:.0}%", 100.0 * x))
            .y_label_formatter(&|y| format!("{:.0}%", 100.0 * y))
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(err)?;
        let t = d.settings.threshold;
        chart
            .draw_series(LineSeries::new(
                [(0.0, t), (1.02, t)],
                MUTED.stroke_width(1),
            ))
            .map_err(err)?
            .label(format!("threshold ({:.0}%)", 100.0 * t))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 22, y)], MUTED));
        let most = d
            .boxes
            .iter()
            .flat_map(|b| &b.found.steps)
            .map(|s| s.restricted.len())
            .max()
            .unwrap_or(0);
        let under: Vec<&crate::study::prim::Step> = d
            .boxes
            .iter()
            .filter(|b| !b.found.accepted)
            .flat_map(|b| &b.found.steps)
            .collect();
        if !under.is_empty() {
            chart
                .draw_series(
                    under
                        .iter()
                        .map(|s| Circle::new((s.coverage, s.density), 3, GRID.filled())),
                )
                .map_err(err)?
                .label("a search that stayed under the threshold")
                .legend(|(x, y)| Circle::new((x + 10, y), 3, GRID.filled()));
        }
        for r in 0..=most {
            let series = chart
                .draw_series(
                    d.boxes
                        .iter()
                        .filter(|b| b.found.accepted)
                        .flat_map(|b| &b.found.steps)
                        .filter(|s| s.restricted.len() == r)
                        .map(|s| Circle::new((s.coverage, s.density), 4, colour(r).filled())),
                )
                .map_err(err)?;
            series.label(format!(
                "{r} parameter{} restricted",
                if r == 1 { "" } else { "s" }
            ));
            let c = colour(r);
            series.legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
        }
        for (b, found) in d.boxes.iter().enumerate() {
            let s = found.found.last();
            if !found.found.accepted {
                continue;
            }
            chart
                .draw_series([Circle::new(
                    (s.coverage, s.density),
                    10,
                    BLACK.stroke_width(2),
                )])
                .map_err(err)?;
            chart
                .draw_series([Text::new(
                    format!("box {}", b + 1),
                    (s.coverage + 0.015, s.density + 0.03),
                    (FONT, 15).into_font(),
                )])
                .map_err(err)?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        root.present().map_err(err)
    }
}

/// The height of a box plot's title, in pixels.
const TITLE_HEIGHT: u32 = 84;

struct Pairs<'a> {
    d: &'a Discovery,
    b: usize,
    pairs: Vec<(usize, usize)>,
}

impl Painter for Pairs<'_> {
    fn paint<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Drawn {
        root.fill(&WHITE).map_err(err)?;
        let d = self.d;
        let s = d.boxes[self.b].found.last();
        // The title in three short lines, so that it fits a single panel's width.
        let (title, panels) = root.split_vertically(TITLE_HEIGHT);
        let lines = [
            (format!("Box {}: {}", self.b + 1, goal(d)), 18),
            (
                format!(
                    "holds in {:.0}% of the box's points (dark);",
                    100.0 * s.density
                ),
                15,
            ),
            (
                format!(
                    "the box holds {:.0}% of all the points where it holds",
                    100.0 * s.coverage
                ),
                15,
            ),
        ];
        for (k, (text, size)) in lines.into_iter().enumerate() {
            title
                .draw(&Text::new(
                    text,
                    (16, 12 + 24 * k as i32),
                    (FONT, size).into_font(),
                ))
                .map_err(err)?;
        }
        let cols = self.pairs.len().min(3);
        let rows = self.pairs.len().div_ceil(cols);
        let areas = panels.split_evenly((rows, cols));
        let init = &d.boxes[0].found.steps[0].limits;
        for (area, &(a, c)) in areas.iter().zip(&self.pairs) {
            let range = |j: usize| {
                let (lo, hi) = init[j];
                let pad = ((hi - lo) * 0.03).max(1e-9);
                lo - pad..hi + pad
            };
            let mut chart = ChartBuilder::on(area)
                .margin(14)
                .x_label_area_size(44)
                .y_label_area_size(60)
                .build_cartesian_2d(range(a), range(c))
                .map_err(err)?;
            let digits = |j: usize| {
                let (lo, hi) = init[j];
                if hi - lo >= 100.0 || d.parameters[j].integer {
                    0
                } else if hi - lo >= 2.0 {
                    1
                } else {
                    2
                }
            };
            let (dx, dy) = (digits(a), digits(c));
            chart
                .configure_mesh()
                .x_label_formatter(&|x| tick(*x, dx))
                .y_label_formatter(&|y| tick(*y, dy))
                .x_desc(d.parameters[a].path.as_str())
                .y_desc(d.parameters[c].path.as_str())
                .light_line_style(WHITE)
                .bold_line_style(GRID)
                .label_style((FONT, 12))
                .axis_desc_style((FONT, 13))
                .draw()
                .map_err(err)?;
            for holds in [false, true] {
                let style = if holds {
                    NAVY.filled()
                } else {
                    PEACH.mix(0.7).filled()
                };
                chart
                    .draw_series(
                        d.points
                            .iter()
                            .zip(&d.cases)
                            .filter(|(_, case)| **case == Some(holds))
                            .map(|(p, _)| Circle::new((p.values[a], p.values[c]), 3, style)),
                    )
                    .map_err(err)?;
            }
            let (x0, x1) = s.limits[a];
            let (y0, y1) = s.limits[c];
            chart
                .draw_series([Rectangle::new([(x0, y0), (x1, y1)], RUST.stroke_width(3))])
                .map_err(err)?;
        }
        root.present().map_err(err)
    }
}
