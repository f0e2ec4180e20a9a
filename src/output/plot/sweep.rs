//! A sweep's plots, one per outcome: with one parameter, the outcome against it with its 95%
//! band; with two on a grid, a heatmap (each cell's value written in it when it fits, and the
//! contour of any `--expect` threshold); otherwise the outcome against each parameter, every
//! point a dot, with the mean of nearby points as a line. Axes are fitted to the data.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::*;
use crate::model::Model;
use crate::study::design::{value_text, Design};
use crate::study::outcome::{is_share, parse_outcome};
use crate::study::sweep::Sweep;

/// A file-name-safe form of an outcome: `malaunay:reached(take-off)@312` →
/// `malaunay-reached-take-off-312`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The range of the axis for values `lo..hi`: fitted with a margin, and the whole of [0, 1]
/// when they spread over most of it; whether it was fitted.
pub fn fitted(lo: f64, hi: f64, share: bool) -> (std::ops::Range<f64>, bool) {
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0..1.0, false);
    }
    if share && hi - lo > 0.6 {
        return (0.0..1.0, false);
    }
    let span = (hi - lo).max(1e-9 * hi.abs().max(1.0));
    let (a, b) = (lo - 0.08 * span, hi + 0.08 * span);
    let (a, b) = if share {
        (a.max(0.0), b.min(1.0))
    } else {
        (a, b)
    };
    (a..b, true)
}

/// Every plot of a sweep: `sweep-<outcome>`.
pub fn pictures(sweep: &Sweep, model: &Model) -> Result<Vec<(String, Picture)>, String> {
    (0..sweep.outcomes.len())
        .map(|o| {
            let painter = SweepPlot { sweep, model, o };
            let dims = painter.dims();
            Ok((
                format!("sweep-{}", slug(&sweep.outcomes[o])),
                picture(&painter, dims)?,
            ))
        })
        .collect()
}

struct SweepPlot<'a> {
    sweep: &'a Sweep,
    model: &'a Model,
    o: usize,
}

impl SweepPlot<'_> {
    fn heatmap(&self) -> bool {
        self.sweep.parameters.len() == 2 && self.sweep.design == Design::Grid
    }

    fn dims(&self) -> (u32, u32) {
        let k = self.sweep.parameters.len();
        if self.heatmap() {
            (1000, 760)
        } else if k == 1 {
            (1000, 620)
        } else {
            let cols = k.min(3) as u32;
            (460 * cols + 40, 420 * k.div_ceil(3) as u32 + 90)
        }
    }

    /// The title and subtitle: the outcome and what it means.
    fn titles(&self) -> (String, String) {
        let text = &self.sweep.outcomes[self.o];
        let default = (self.model.territories.len() == 1).then_some(0);
        let words = parse_outcome(text, self.model, default).map_or_else(
            |_| String::new(),
            |p| crate::output::text::describe(&p, self.model),
        );
        let mut subtitle = format!("{words} · {} runs a point", self.sweep.runs);
        if !self.heatmap() {
            subtitle.push_str(", 95% intervals");
        }
        for h in self
            .sweep
            .expects
            .iter()
            .filter(|h| &h.outcome.text == text)
        {
            if self.heatmap() {
                subtitle.push_str(&format!(" · red line: where {} changes side", h.text()));
            }
        }
        (format!("{text} — {}", self.model.name), subtitle)
    }

    fn line<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn {
        let p = &self.sweep.parameters[0];
        let mut rows: Vec<(f64, f64, f64, f64)> = self
            .sweep
            .points
            .iter()
            .map(|pt| {
                let e = pt.estimates[self.o];
                (pt.values[0], e.estimate, e.low, e.high)
            })
            .filter(|r| r.1.is_finite())
            .collect();
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (x_lo, x_hi) = p.bounds();
        let lo = rows.iter().map(|r| r.2).fold(f64::INFINITY, f64::min);
        let hi = rows.iter().map(|r| r.3).fold(f64::NEG_INFINITY, f64::max);
        let text = &self.sweep.outcomes[self.o];
        let (y, was_fitted) = fitted(lo, hi, is_share(text));
        let y_label = if was_fitted {
            "estimate (axis fitted to the data)"
        } else {
            "estimate"
        };
        let mut chart = ChartBuilder::on(area)
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(76)
            .build_cartesian_2d(x_lo..x_hi, y)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(p.path.as_str())
            .y_desc(y_label)
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(err)?;
        let mut band: Vec<(f64, f64)> = rows.iter().map(|r| (r.0, r.2)).collect();
        band.extend(rows.iter().rev().map(|r| (r.0, r.3)));
        let anno = chart
            .draw_series(std::iter::once(Polygon::new(band, BAND.mix(0.3).filled())))
            .map_err(err)?;
        swatch(anno, "95% interval", BAND.mix(0.3));
        chart
            .draw_series(LineSeries::new(
                rows.iter().map(|r| (r.0, r.1)),
                NAVY.stroke_width(3),
            ))
            .map_err(err)?
            .label("estimate")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], NAVY.stroke_width(3)));
        chart
            .draw_series(
                rows.iter()
                    .map(|r| Circle::new((r.0, r.1), 4, NAVY.filled())),
            )
            .map_err(err)?;
        for h in self
            .sweep
            .expects
            .iter()
            .filter(|h| &h.outcome.text == text)
        {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x_lo, h.threshold), (x_hi, h.threshold)],
                    8,
                    5,
                    RUST.stroke_width(2),
                ))
                .map_err(err)?
                .label(format!("hypothesis: {}", h.text()))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], RUST.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }

    fn heat<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn {
        let (px, py) = (&self.sweep.parameters[0], &self.sweep.parameters[1]);
        let levels = |j: usize| {
            let mut v: Vec<f64> = self.sweep.points.iter().map(|p| p.values[j]).collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        };
        let (xs, ys) = (levels(0), levels(1));
        let value = |i: usize, j: usize| {
            self.sweep
                .points
                .iter()
                .find(|p| p.values[0] == xs[i] && p.values[1] == ys[j])
                .map_or(f64::NAN, |p| p.estimates[self.o].estimate)
        };
        let all: Vec<f64> = self
            .sweep
            .points
            .iter()
            .map(|p| p.estimates[self.o].estimate)
            .filter(|x| x.is_finite())
            .collect();
        let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (body, bar) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(130));
        let (nx, ny) = (xs.len(), ys.len());
        let mut chart = ChartBuilder::on(&body)
            .margin(16)
            .x_label_area_size(52)
            .y_label_area_size(86)
            .build_cartesian_2d(0f64..nx as f64, 0f64..ny as f64)
            .map_err(err)?;
        let label_x = |x: &f64| {
            let i = x.floor() as usize;
            if (x - x.floor() - 0.5).abs() < 1e-9 && i < nx {
                value_text(xs[i], px.integer)
            } else {
                String::new()
            }
        };
        let label_y = |y: &f64| {
            let j = y.floor() as usize;
            if (y - y.floor() - 0.5).abs() < 1e-9 && j < ny {
                value_text(ys[j], py.integer)
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(px.path.as_str())
            .y_desc(py.path.as_str())
            .x_labels(2 * nx + 1)
            .y_labels(2 * ny + 1)
            .x_label_formatter(&label_x)
            .y_label_formatter(&label_y)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(err)?;
        let shade = |v: f64| {
            if !v.is_finite() {
                return RGBColor(235, 235, 235);
            }
            let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
            viridis(t)
        };
        let cells = (0..nx).flat_map(|i| (0..ny).map(move |j| (i, j)));
        chart
            .draw_series(cells.clone().map(|(i, j)| {
                let (x, y) = (i as f64, j as f64);
                Rectangle::new([(x, y), (x + 1.0, y + 1.0)], shade(value(i, j)).filled())
            }))
            .map_err(err)?;
        // Each cell's value, when there is room for it.
        let (w, h) = body.dim_in_pixel();
        let (cell_w, cell_h) = (
            (w.saturating_sub(120)) as f64 / nx as f64,
            (h.saturating_sub(90)) as f64 / ny as f64,
        );
        let text = &self.sweep.outcomes[self.o];
        let digits = if is_share(text) { 2 } else { 0 };
        if cell_w >= 46.0 && cell_h >= 22.0 {
            chart
                .draw_series(cells.clone().filter_map(|(i, j)| {
                    let v = value(i, j);
                    let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                    let ink = if t > 0.55 { BLACK } else { WHITE };
                    v.is_finite().then(|| {
                        Text::new(
                            format!("{v:.digits$}"),
                            (i as f64 + 0.5, j as f64 + 0.5),
                            (FONT, 13)
                                .into_font()
                                .color(&ink)
                                .pos(Pos::new(HPos::Center, VPos::Center)),
                        )
                    })
                }))
                .map_err(err)?;
        }
        // The contour of each hypothesis's threshold: the edges between cells on either side.
        for h in self
            .sweep
            .expects
            .iter()
            .filter(|h| &h.outcome.text == text)
        {
            let side = |i: usize, j: usize| value(i, j) >= h.threshold;
            let mut edges = Vec::new();
            for i in 0..nx {
                for j in 0..ny {
                    if i + 1 < nx && side(i, j) != side(i + 1, j) {
                        let x = (i + 1) as f64;
                        edges.push(vec![(x, j as f64), (x, j as f64 + 1.0)]);
                    }
                    if j + 1 < ny && side(i, j) != side(i, j + 1) {
                        let y = (j + 1) as f64;
                        edges.push(vec![(i as f64, y), (i as f64 + 1.0, y)]);
                    }
                }
            }
            chart
                .draw_series(
                    edges
                        .into_iter()
                        .map(|e| PathElement::new(e, RUST.stroke_width(4))),
                )
                .map_err(err)?;
        }
        colour_bar(&bar, lo, hi, digits)
    }

    fn scatter<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn {
        let k = self.sweep.parameters.len();
        let cols = k.min(3);
        let panels = area.split_evenly((k.div_ceil(3), cols));
        let text = &self.sweep.outcomes[self.o];
        let ys: Vec<f64> = self
            .sweep
            .points
            .iter()
            .map(|p| p.estimates[self.o].estimate)
            .collect();
        let lo = ys
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .fold(f64::INFINITY, f64::min);
        let hi = ys
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        let (y_range, was_fitted) = fitted(lo, hi, is_share(text));
        for (j, (panel, p)) in panels.iter().zip(&self.sweep.parameters).enumerate() {
            let (x_lo, x_hi) = p.bounds();
            let mut chart = ChartBuilder::on(panel)
                .margin(12)
                .x_label_area_size(44)
                .y_label_area_size(64)
                .build_cartesian_2d(x_lo..x_hi, y_range.clone())
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc(p.path.as_str())
                .y_desc(if was_fitted && j % 3 == 0 {
                    "estimate (axis fitted)"
                } else {
                    "estimate"
                })
                .x_labels(5)
                .light_line_style(WHITE)
                .bold_line_style(GRID)
                .label_style((FONT, 12))
                .axis_desc_style((FONT, 13))
                .draw()
                .map_err(err)?;
            let points: Vec<(f64, f64)> = self
                .sweep
                .points
                .iter()
                .map(|pt| (pt.values[j], pt.estimates[self.o].estimate))
                .filter(|(_, y)| y.is_finite())
                .collect();
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), 3, BAND.mix(0.55).filled())),
                )
                .map_err(err)?;
            chart
                .draw_series(LineSeries::new(
                    smoothed(&points, x_lo, x_hi),
                    NAVY.stroke_width(3),
                ))
                .map_err(err)?;
        }
        Ok(())
    }
}

/// The mean of the points in each of 10 equal stretches of x, at the stretch's middle (the
/// stretches with points).
pub fn smoothed(points: &[(f64, f64)], lo: f64, hi: f64) -> Vec<(f64, f64)> {
    const STRETCHES: usize = 10;
    let mut sums = [(0.0, 0usize); STRETCHES];
    for &(x, y) in points {
        let t = if hi > lo { (x - lo) / (hi - lo) } else { 0.0 };
        let k = ((t * STRETCHES as f64) as usize).min(STRETCHES - 1);
        sums[k].0 += y;
        sums[k].1 += 1;
    }
    sums.iter()
        .enumerate()
        .filter(|(_, (_, n))| *n > 0)
        .map(|(k, (s, n))| {
            (
                lo + (k as f64 + 0.5) / STRETCHES as f64 * (hi - lo),
                s / *n as f64,
            )
        })
        .collect()
}

/// A vertical bar of the heatmap's colours from `lo` (bottom) to `hi` (top), labelled.
fn colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    lo: f64,
    hi: f64,
    digits: usize,
) -> Drawn {
    let (_, h) = area.dim_in_pixel();
    let (top, bottom) = (40i32, h as i32 - 80);
    let steps = 60;
    for s in 0..steps {
        let t = s as f64 / (steps - 1) as f64;
        let y0 = bottom - ((bottom - top) as f64 * (s + 1) as f64 / steps as f64) as i32;
        let y1 = bottom - ((bottom - top) as f64 * s as f64 / steps as f64) as i32;
        area.draw(&Rectangle::new([(20, y0), (44, y1)], viridis(t).filled()))
            .map_err(err)?;
    }
    for (t, y) in [(1.0, top), (0.5, (top + bottom) / 2), (0.0, bottom)] {
        let v = lo + t * (hi - lo);
        area.draw(&Text::new(
            format!("{v:.digits$}"),
            (52, y),
            (FONT, 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// The viridis colour map (van der Walt & Smith), sampled at nine points and interpolated:
/// perceptually even and readable in grey and by colour-blind people.
pub fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: u8, q: u8| (f64::from(p) + f * (f64::from(q) - f64::from(p))).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

impl Painter for SweepPlot<'_> {
    fn paint<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Drawn {
        root.fill(&WHITE).map_err(err)?;
        let (title, subtitle) = self.titles();
        let body = root.titled(&title, (FONT, 22)).map_err(err)?;
        body.draw(&Text::new(
            subtitle,
            (16, 2),
            (FONT, 14).into_font().color(&MUTED),
        ))
        .map_err(err)?;
        let (_, inner) = body.split_vertically(24);
        if self.heatmap() {
            self.heat(&inner)?;
        } else if self.sweep.parameters.len() == 1 {
            self.line(&inner)?;
        } else {
            self.scatter(&inner)?;
        }
        root.present().map_err(err)
    }
}
