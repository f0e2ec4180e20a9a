//! A calibration's plots. `fit`: for each observed index, the futures of the calibrated model
//! (median, 25–75% and 5–95% of the posterior predictive) with the observations and their
//! error bars on top — does the fitted model reproduce the history, and how wide is what it
//! still allows? `posterior`: each parameter's posterior (a histogram) against its flat
//! prior, and every pair's particles, so that a ridge (two parameters the data cannot tell
//! apart) shows as one.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::run::{band_polygon, time_chart, TimeAxis};
use super::*;
use crate::output::calibration::words;
use crate::study::calibration::summary::Estimate;
use crate::study::calibration::{Calibration, Work};

/// The plots: `fit` and `posterior`.
pub fn pictures(
    problem: &Work,
    calibration: &Calibration,
) -> Result<Vec<(String, Picture)>, String> {
    let fit = Fit {
        problem,
        calibration,
    };
    let posterior = Posterior {
        problem,
        calibration,
    };
    Ok(vec![
        ("fit".to_string(), picture(&fit, fit.dims())?),
        (
            "posterior".to_string(),
            picture(&posterior, posterior.dims())?,
        ),
    ])
}

struct Fit<'a> {
    problem: &'a Work,
    calibration: &'a Calibration,
}

impl Fit<'_> {
    fn dims(&self) -> (u32, u32) {
        let n = self.calibration.predictive.fans.len();
        let cols = if n <= 1 { 1 } else { 2 };
        let rows = n.div_ceil(cols) as u32;
        (if cols == 1 { 1100 } else { 1400 }, 130 + 470 * rows)
    }
}

impl Painter for Fit<'_> {
    fn paint<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Drawn {
        root.fill(&WHITE).map_err(err)?;
        let model = self.problem.base();
        let predictive = &self.calibration.predictive;
        let (top, body) = root.split_vertically(110);
        let d = self.problem.observations().len();
        top.draw(&Text::new(
            format!("Calibrated fit — {}", model.name),
            (24, 16),
            (FONT, 28).into_font().style(FontStyle::Bold),
        ))
        .map_err(err)?;
        top.draw(&Text::new(
            format!(
                "{} futures of the calibrated model (parameters drawn from the posterior, one run each) · dots: the {d} observations, bars ±2 sd",
                predictive.draws
            ),
            (24, 56),
            (FONT, 16).into_font().color(&MUTED),
        ))
        .map_err(err)?;
        top.draw(&Text::new(
            format!(
                "{} of {d} observations inside their 90% predictive interval",
                predictive.inside
            ),
            (24, 80),
            (FONT, 16).into_font().color(&MUTED),
        ))
        .map_err(err)?;
        let axis = TimeAxis::of(model);
        let observations = self.problem.observations();
        let assumed = self.problem.settings().assumed_sd;
        for (fan, area) in predictive
            .fans
            .iter()
            .zip(grid(&body, predictive.fans.len()))
        {
            let points: Vec<(f64, f64, f64)> = fan
                .observations
                .iter()
                .map(|&j| {
                    let o = &observations[j];
                    (axis.x(o.month as usize), o.value, o.sd.unwrap_or(assumed))
                })
                .collect();
            let lo = fan.quantiles[0]
                .iter()
                .copied()
                .chain(points.iter().map(|p| p.1 - 2.0 * p.2))
                .filter(|x| x.is_finite())
                .fold(1.0f64, f64::min);
            let hi = fan.quantiles[4]
                .iter()
                .copied()
                .chain(points.iter().map(|p| p.1 + 2.0 * p.2))
                .filter(|x| x.is_finite())
                .fold(0.0f64, f64::max);
            let (y, fitted) = super::run::share_range(lo.max(0.0), hi.min(1.0), 1.0);
            let label = super::run::fitted_label(&fan.name, fitted);
            let mut chart = time_chart(&area, &axis, &fan.name, 20, y, &label)?;
            for (a, b, alpha, text) in [
                (0, 4, 0.22, "5–95% of futures"),
                (1, 3, 0.5, "25–75% of futures"),
            ] {
                let drawn = band_polygon(
                    &mut chart,
                    &axis,
                    &fan.quantiles[a],
                    &fan.quantiles[b],
                    BAND.mix(alpha),
                )?;
                swatch(drawn, text, BAND.mix(alpha));
            }
            chart
                .draw_series(LineSeries::new(
                    fan.quantiles[2]
                        .iter()
                        .enumerate()
                        .map(|(m, v)| (axis.x(m), *v)),
                    NAVY.stroke_width(3),
                ))
                .map_err(err)?
                .label("median future")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], NAVY.stroke_width(3)));
            chart
                .draw_series(points.iter().map(|&(x, v, sd)| {
                    PathElement::new(
                        vec![(x, v - 2.0 * sd), (x, v + 2.0 * sd)],
                        RUST.stroke_width(2),
                    )
                }))
                .map_err(err)?;
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|&(x, v, _)| Circle::new((x, v), 5, RUST.filled())),
                )
                .map_err(err)?
                .label("observed ±2 sd")
                .legend(|(x, y)| Circle::new((x + 11, y), 5, RUST.filled()));
            legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        }
        root.present().map_err(err)
    }
}

struct Posterior<'a> {
    problem: &'a Work,
    calibration: &'a Calibration,
}

/// Histogram bins of a marginal.
const BINS: usize = 60;

impl Posterior<'_> {
    fn dims(&self) -> (u32, u32) {
        let p = self.problem.parameters().len() as u32;
        let cell = if p <= 2 { 460 } else { 340 };
        (cell * p + 80, cell * p + 120)
    }
}

impl Painter for Posterior<'_> {
    fn paint<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Drawn {
        root.fill(&WHITE).map_err(err)?;
        let parameters = self.problem.parameters();
        let p = parameters.len();
        let (top, body) = root.split_vertically(100);
        top.draw(&Text::new(
            format!("Posterior — {}", self.problem.base().name),
            (24, 16),
            (FONT, 28).into_font().style(FontStyle::Bold),
        ))
        .map_err(err)?;
        top.draw(&Text::new(
            "diagonal: each parameter's posterior (bars) against its flat prior (dashed), 90% interval shaded; below: every pair's particles",
            (24, 58),
            (FONT, 15).into_font().color(&MUTED),
        ))
        .map_err(err)?;
        let cells = body.margin(0, 10, 20, 10).split_evenly((p, p));
        let values = &self.calibration.sample.values;
        for (k, cell) in cells.iter().enumerate() {
            let (i, j) = (k / p, k % p);
            if j > i {
                continue;
            }
            let est = &self.calibration.estimates;
            if i == j {
                marginal(cell, &parameters[i].path, &est[i], values, i)?;
            } else {
                pair(
                    cell,
                    (&parameters[j].path, &est[j], j),
                    (&parameters[i].path, &est[i], i),
                    values,
                    self.calibration.correlations[i][j],
                )?;
            }
        }
        root.present().map_err(err)
    }
}

fn marginal<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    path: &str,
    e: &Estimate,
    values: &[Vec<f64>],
    j: usize,
) -> Drawn {
    let (lo, hi) = (e.prior_low, e.prior_high);
    let width = (hi - lo) / BINS as f64;
    let mut counts = [0usize; BINS];
    for v in values {
        let b = (((v[j] - lo) / width) as usize).min(BINS - 1);
        counts[b] += 1;
    }
    let n = values.len() as f64;
    // Densities: a flat prior has density 1 / (hi − lo).
    let density: Vec<f64> = counts.iter().map(|&c| c as f64 / n / width).collect();
    let prior = 1.0 / (hi - lo);
    let top = density.iter().copied().fold(prior, f64::max) * 1.12;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "{path}: {} [{} – {}]",
                words(e.median),
                words(e.low),
                words(e.high)
            ),
            (FONT, 14),
        )
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(10)
        .build_cartesian_2d(lo..hi, 0.0..top)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_labels(4)
        .x_label_formatter(&|x| words(*x))
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .label_style((FONT, 12))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(e.low, 0.0), (e.high, top)],
            PEACH.mix(0.35).filled(),
        )))
        .map_err(err)?;
    chart
        .draw_series(density.iter().enumerate().map(|(b, &d)| {
            let x = lo + b as f64 * width;
            Rectangle::new([(x, 0.0), (x + width, d)], BAND.mix(0.8).filled())
        }))
        .map_err(err)?;
    chart
        .draw_series(DashedLineSeries::new(
            vec![(lo, prior), (hi, prior)],
            6,
            4,
            MUTED.stroke_width(2),
        ))
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(e.median, 0.0), (e.median, top)],
            NAVY.stroke_width(2),
        )))
        .map_err(err)?;
    Ok(())
}

fn pair<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x: (&str, &Estimate, usize),
    y: (&str, &Estimate, usize),
    values: &[Vec<f64>],
    correlation: f64,
) -> Drawn {
    let mut chart = ChartBuilder::on(area)
        .caption(format!("rank correlation {correlation:.2}"), (FONT, 13))
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(54)
        .build_cartesian_2d(x.1.prior_low..x.1.prior_high, y.1.prior_low..y.1.prior_high)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_labels(4)
        .y_labels(4)
        .x_label_formatter(&|v| words(*v))
        .y_label_formatter(&|v| words(*v))
        .x_desc(x.0)
        .y_desc(y.0)
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .label_style((FONT, 11))
        .axis_desc_style((FONT, 11))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(
            values
                .iter()
                .map(|v| Circle::new((v[x.2], v[y.2]), 2, NAVY.mix(0.35).filled())),
        )
        .map_err(err)?;
    Ok(())
}
