//! A transfer's plots, one per outcome (`transfer-<outcome>`): the methods of the référentiel
//! down the side, and for each territory its effect — with minus without — as a dot with its
//! 95% interval: filled when the interval excludes zero, hollow when it does not; a method
//! taken away (used) as a circle, one added as a square.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::sweep::slug;
use super::*;
use crate::study::transfer::{Effect, Status, Transfer};

/// Every plot of a transfer.
pub fn pictures(t: &Transfer) -> Result<Vec<(String, Picture)>, String> {
    let mut outcomes: Vec<&str> = Vec::new();
    for e in &t.effects {
        if !outcomes.contains(&e.outcome.as_str()) {
            outcomes.push(&e.outcome);
        }
    }
    let territories = territories(t);
    let rows = t.methods.len() as u32;
    let height = 190 + rows * (26 + 14 * territories.len() as u32);
    outcomes
        .into_iter()
        .map(|outcome| {
            let painter = Forest {
                t,
                outcome,
                territories: &territories,
            };
            Ok((
                format!("transfer-{}", slug(outcome)),
                picture(&painter, (1100, height))?,
            ))
        })
        .collect()
}

/// The territories of a transfer, in order.
fn territories(t: &Transfer) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in &t.effects {
        if !out.contains(&e.territory) {
            out.push(e.territory.clone());
        }
    }
    out
}

struct Forest<'a> {
    t: &'a Transfer,
    outcome: &'a str,
    territories: &'a [String],
}

/// How an outcome's differences are drawn: factor and unit.
fn scale(outcome: &str) -> (f64, &'static str) {
    if outcome.contains("spend") {
        (1e-3, "thousand €")
    } else if outcome.contains("entry(") {
        (1.0, "months")
    } else {
        (100.0, "points")
    }
}

impl Painter for Forest<'_> {
    fn paint<DB: DrawingBackend>(&self, whole: DrawingArea<DB, Shift>) -> Drawn {
        whole.fill(&WHITE).map_err(err)?;
        let height = whole.dim_in_pixel().1;
        let (root, strip) = whole.split_vertically(height.saturating_sub(44));
        let (factor, unit) = scale(self.outcome);
        let mine: Vec<&Effect> = self
            .t
            .effects
            .iter()
            .filter(|e| e.outcome == self.outcome)
            .collect();
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for e in mine.iter().filter_map(|e| e.effect) {
            for x in [e.low, e.high] {
                if x.is_finite() {
                    lo = lo.min(x * factor);
                    hi = hi.max(x * factor);
                }
            }
        }
        let pad = ((hi - lo) * 0.08).max(1e-9);
        let (lo, hi) = (lo - pad, hi + pad);
        let k = self.t.methods.len();
        let n = self.territories.len().max(1);
        let labels: Vec<String> = self.t.methods.iter().map(|m| m.id.clone()).collect();
        let label = |y: &f64| {
            let r = y.floor() as usize;
            if (y - y.floor() - 0.5).abs() < 1e-9 && r < k {
                labels[k - 1 - r].clone()
            } else {
                String::new()
            }
        };
        let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(8);
        let title = format!(
            "Each method's effect on {} (with it − without it; 95% interval)",
            self.outcome
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 20))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size((longest as f64 * 8.0) as u32 + 24)
            .build_cartesian_2d(lo..hi, 0f64..k as f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(2 * k + 1)
            .y_label_formatter(&label)
            .x_label_formatter(&|x| tick(*x, if hi - lo < 2.0 { 2 } else { 1 }))
            .x_desc(format!("effect of having the method, {unit}"))
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (0.0, k as f64)], MUTED))
            .map_err(err)?;
        for (ti, territory) in self.territories.iter().enumerate() {
            let c = colour(ti);
            let place = |m: usize| {
                let row = (k - 1 - m) as f64;
                row + 0.15 + 0.7 * (ti as f64 + 0.5) / n as f64
            };
            let points: Vec<(usize, &Effect)> = mine
                .iter()
                .filter(|e| &e.territory == territory)
                .filter_map(|e| {
                    let m = self.t.methods.iter().position(|m| m.id == e.lever)?;
                    Some((m, *e))
                })
                .collect();
            chart
                .draw_series(points.iter().filter_map(|(m, e)| {
                    let d = e.effect?;
                    let y = place(*m);
                    Some(PathElement::new(
                        [(d.low * factor, y), (d.high * factor, y)],
                        c.stroke_width(2),
                    ))
                }))
                .map_err(err)?;
            let style = |d: &crate::stats::Estimate| {
                if crate::output::transfer::decided(d) {
                    c.filled()
                } else {
                    WHITE.filled()
                }
            };
            let marks = |status: Status| {
                points
                    .iter()
                    .filter(move |(_, e)| e.status == status)
                    .filter_map(|(m, e)| {
                        Some((e.effect?, (e.effect?.estimate * factor, place(*m))))
                    })
            };
            for (d, at) in marks(Status::Used) {
                chart
                    .draw_series([
                        Circle::new(at, 5, style(&d)),
                        Circle::new(at, 5, c.stroke_width(2)),
                    ])
                    .map_err(err)?;
            }
            for (d, at) in marks(Status::Added) {
                let square = |fill| EmptyElement::at(at) + Rectangle::new([(-5, -5), (5, 5)], fill);
                chart
                    .draw_series([square(style(&d)), square(c.stroke_width(2))])
                    .map_err(err)?;
            }
            // Methods not applicable here: a cross at zero.
            chart
                .draw_series(
                    points
                        .iter()
                        .filter(|(_, e)| e.status == Status::NotApplicable)
                        .map(|(m, _)| Cross::new((0.0, place(*m)), 4, c.stroke_width(1))),
                )
                .map_err(err)?;
        }
        // The key, under the chart: a colour per territory, the shapes and fills.
        let mut x = 24;
        for (ti, territory) in self.territories.iter().enumerate() {
            strip
                .draw(&Circle::new((x, 20), 6, colour(ti).filled()))
                .map_err(err)?;
            strip
                .draw(&Text::new(
                    territory.clone(),
                    (x + 12, 12),
                    (FONT, 14).into_font(),
                ))
                .map_err(err)?;
            x += 24 + (territory.chars().count() as i32) * 8;
        }
        strip
            .draw(&Text::new(
                "● the method taken away where it is used   ■ added where it is not   hollow: its interval holds zero",
                (x + 16, 12),
                (FONT, 14).into_font().color(&MUTED),
            ))
            .map_err(err)?;
        whole.present().map_err(err)
    }
}
