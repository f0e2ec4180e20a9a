//! A run's plots — fan charts of the median with 25–75% and 5–95% bands, perpetuation as a
//! survival curve with its 95% interval, phases as stacked areas, engagement by group, the
//! dashboard; [`super::compare`] draws a comparison's overlays with them. The x axis is in years when the scenario gives a
//! `start_year`. In a network each territory has its own colour and a legend.

use std::path::{Path, PathBuf};

use plotters::chart::SeriesAnno;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::*;
use crate::diag::Error;
use crate::ensemble::{Results, Series, Survival, TerritoryResults};
use crate::model::{Model, ShockTiming};

/// Time axis: months, or years when a start year is known.
pub(super) struct TimeAxis {
    pub(super) start_year: Option<i32>,
    pub(super) horizon: u32,
}

impl TimeAxis {
    /// The time axis of a model's months.
    pub(super) fn of(model: &Model) -> TimeAxis {
        TimeAxis {
            start_year: model.start_year(),
            horizon: model.horizon(),
        }
    }
    pub(super) fn x(&self, month: usize) -> f64 {
        match self.start_year {
            Some(y) => f64::from(y) + month as f64 / 12.0,
            None => month as f64,
        }
    }
    pub(super) fn range(&self) -> std::ops::Range<f64> {
        self.x(0)..self.x(self.horizon as usize)
    }
    pub(super) fn label(&self) -> &'static str {
        if self.start_year.is_some() {
            "year"
        } else {
            "month"
        }
    }
}

/// What a fan chart shows.
pub(super) struct Fan<'a> {
    pub(super) title: &'a str,
    pub(super) y_label: &'a str,
    pub(super) index: &'a str,
}

/// Months at which a periodic or scheduled shock is due, with its label (first one per month).
/// In a network only periodic shocks (elections, shared by all towns) are marked.
pub(super) fn shock_marks(model: &Model) -> Vec<(u32, String)> {
    let horizon = model.horizon();
    let mut marks: Vec<(u32, String)> = Vec::new();
    for t in &model.territories {
        for s in &t.shocks {
            let months: Vec<u32> = match &s.timing {
                ShockTiming::Periodic { every, first } => (0..)
                    .map(|k| first + k * every)
                    .take_while(|m| *m < horizon)
                    .collect(),
                ShockTiming::Scheduled { at } if !model.is_network => {
                    at.iter().copied().filter(|m| *m < horizon).collect()
                }
                ShockTiming::Scheduled { .. } => Vec::new(),
                ShockTiming::Random { .. } => Vec::new(),
            };
            for m in months {
                if !marks.iter().any(|(x, _)| *x == m) {
                    marks.push((m, s.label.clone()));
                }
            }
        }
    }
    marks.sort_by_key(|(m, _)| *m);
    marks
}

/// One named curve of a chart: a territory, or a scenario in a comparison.
pub(super) struct Curve<'a, T> {
    pub(super) label: String,
    pub(super) colour: RGBColor,
    pub(super) data: &'a T,
}

pub(super) fn fan_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    results: &Results,
    axis: &TimeAxis,
    fan: &Fan<'_>,
    marks: &[(u32, String)],
) -> Drawn {
    let curves: Vec<Curve<'_, Series>> = results
        .territories
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            t.series(fan.index).map(|s| Curve {
                label: t.name.clone(),
                colour: colour(i),
                data: s,
            })
        })
        .collect();
    fan_curves(area, axis, fan.title, fan.y_label, &curves, marks)
}

/// Fan chart of one or more curves: with one, a blue fan with its bands in the legend; with
/// several, one colour each, lighter bands and the curves' names in the legend.
pub(super) fn fan_curves<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    axis: &TimeAxis,
    title: &str,
    y_label: &str,
    curves: &[Curve<'_, Series>],
    marks: &[(u32, String)],
) -> Drawn {
    let many = curves.len() > 1;
    let hi = curves
        .iter()
        .flat_map(|c| c.data.quantiles[4].iter().copied())
        .fold(0.0f64, f64::max);
    let lo = curves
        .iter()
        .flat_map(|c| c.data.quantiles[0].iter().copied())
        .fold(1.0f64, f64::min);
    let (y, fitted) = share_range(lo, hi, 1.0);
    let label = fitted_label(y_label, fitted);
    let mut chart = time_chart(area, axis, title, 22, y, &label)?;
    draw_marks(&mut chart, axis, marks, 0.03)?;
    for curve in curves {
        let s = curve.data;
        let (line, band) = if many {
            (curve.colour, curve.colour)
        } else {
            (NAVY, BAND)
        };
        let outer = if many { 0.12 } else { 0.25 };
        let inner = if many { 0.25 } else { 0.55 };
        for (lo, hi, alpha, label) in [
            (0, 4, outer, "5–95% of runs"),
            (1, 3, inner, "25–75% of runs"),
        ] {
            let area = band_polygon(
                &mut chart,
                axis,
                &s.quantiles[lo],
                &s.quantiles[hi],
                band.mix(alpha),
            )?;
            if !many {
                swatch(area, label, band.mix(alpha));
            }
        }
        let name = if many {
            curve.label.clone()
        } else {
            "median".into()
        };
        chart
            .draw_series(LineSeries::new(
                s.quantiles[2]
                    .iter()
                    .enumerate()
                    .map(|(m, v)| (axis.x(m), *v)),
                line.stroke_width(3),
            ))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], line.stroke_width(3))
            });
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// A chart over the time axis and the values `y`, with its title (in `caption`-pixel type),
/// grid and axis labels.
pub(super) fn time_chart<'a, DB: DrawingBackend + 'a>(
    area: &'a DrawingArea<DB, Shift>,
    axis: &TimeAxis,
    title: &str,
    caption: u32,
    y: std::ops::Range<f64>,
    y_label: &str,
) -> Result<Chart<'a, DB>, String> {
    let span = y.end - y.start;
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, caption))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(62)
        .build_cartesian_2d(axis.range(), y)
        .map_err(err)?;
    configure_mesh(&mut chart, axis, y_label, span)?;
    Ok(chart)
}

/// The y range of shares whose plotted values lie in `lo..=hi`: the whole of [0, `top`] when
/// they spread over much of it, else fitted to them (from 0 when they start near it), and
/// whether it was fitted.
pub(super) fn share_range(lo: f64, hi: f64, top: f64) -> (std::ops::Range<f64>, bool) {
    if !(lo.is_finite() && hi.is_finite()) || hi - lo > 0.45 || (lo < 0.05 && hi > 0.35) {
        return (0.0..top, false);
    }
    let pad = ((hi - lo) * 0.12).max(0.005);
    let low = if lo < 0.05 { 0.0 } else { (lo - pad).max(0.0) };
    let high = (hi + pad).min(top);
    (low..high, true)
}

/// `label`, saying when the axis was fitted to the data.
pub(super) fn fitted_label(label: &str, fitted: bool) -> String {
    if fitted {
        format!("{label} (axis fitted to the data)")
    } else {
        label.to_string()
    }
}

pub(super) fn configure_mesh<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    axis: &TimeAxis,
    y_label: &str,
    span: f64,
) -> Drawn {
    let fmt = |x: &f64| format!("{}", x.round() as i64);
    let digits = if span >= 0.5 {
        1
    } else if span >= 0.05 {
        2
    } else {
        3
    };
    chart
        .configure_mesh()
        .x_desc(axis.label())
        .y_desc(y_label)
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&fmt)
        .y_label_formatter(&|y| super::tick(*y, digits))
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(err)
}

/// Dotted vertical lines at shocks; each distinct label written once, stacked from `label_y`
/// (a fraction of the chart's height, from its bottom) on a white ground.
pub(super) fn draw_marks<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    axis: &TimeAxis,
    marks: &[(u32, String)],
    label_y: f64,
) -> Drawn {
    let y = chart.y_range();
    let (bottom, span) = (y.start, y.end - y.start);
    let mut labelled: Vec<&str> = Vec::new();
    for (m, label) in marks {
        let x = axis.x(*m as usize);
        chart
            .draw_series(DashedLineSeries::new(
                vec![(x, y.start), (x, y.end)],
                4,
                4,
                MUTED.mix(0.7).stroke_width(1),
            ))
            .map_err(err)?;
        if !labelled.contains(&label.as_str()) {
            let at = bottom + span * (label_y + 0.045 * labelled.len() as f64);
            let text = format!(" {label}");
            // A white ground under the label, so that curves do not cross its letters.
            let (w, h) = (text.chars().count() as f64 * 7.2, 14.0);
            let (x_span, y_px) = (axis.range(), chart.plotting_area().dim_in_pixel());
            let dx = w * (x_span.end - x_span.start) / f64::from(y_px.0.max(1));
            let dy = h * span / f64::from(y_px.1.max(1));
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x, at), (x + dx, at - dy)],
                    WHITE.mix(0.8).filled(),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    text,
                    (x, at),
                    (FONT, 13).into_font().color(&MUTED),
                )))
                .map_err(err)?;
            labelled.push(label);
        }
    }
    Ok(())
}

pub(super) fn band_polygon<'c, 'a, DB: DrawingBackend + 'a>(
    chart: &'c mut Chart<'a, DB>,
    axis: &TimeAxis,
    low: &[f64],
    high: &[f64],
    style: RGBAColor,
) -> Result<&'c mut SeriesAnno<'a, DB>, String> {
    let mut points: Vec<(f64, f64)> = low
        .iter()
        .enumerate()
        .map(|(m, v)| (axis.x(m), *v))
        .collect();
    points.extend(high.iter().enumerate().rev().map(|(m, v)| (axis.x(m), *v)));
    chart
        .draw_series(std::iter::once(Polygon::new(points, style.filled())))
        .map_err(err)
}

pub(super) fn perpetuation_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    results: &Results,
    axis: &TimeAxis,
    marks: &[(u32, String)],
) -> Drawn {
    let curves: Vec<Curve<'_, Vec<Survival>>> = results
        .territories
        .iter()
        .enumerate()
        .map(|(i, t)| Curve {
            label: t.name.clone(),
            colour: colour(i),
            data: &t.perpetuation,
        })
        .collect();
    survival_curves(
        area,
        axis,
        "Perpetuation — does the transition survive?",
        &curves,
        marks,
    )
}

pub(super) fn survival_curves<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    axis: &TimeAxis,
    title: &str,
    curves: &[Curve<'_, Vec<Survival>>],
    marks: &[(u32, String)],
) -> Drawn {
    let many = curves.len() > 1;
    let lo = curves
        .iter()
        .flat_map(|c| c.data.iter().map(|p| p.low))
        .fold(1.0f64, f64::min);
    // At least 5 points shown: at a few hundred runs a curve always at 100% has an interval
    // reaching 99.x%, which an axis fitted to it alone would blow up to fill the panel.
    let (y, fitted) = share_range(lo.min(0.95), 1.0, 1.02);
    let label = fitted_label("share of runs still alive", fitted);
    let mut chart = time_chart(area, axis, title, 22, y, &label)?;
    draw_marks(&mut chart, axis, marks, 0.45)?;
    if curves.iter().all(|c| c.data.iter().all(|p| p.share >= 1.0)) {
        // Nothing varies: say it in words rather than draw a flat line at the top.
        let x = axis.range();
        let range = chart.y_range();
        let words = if many {
            "No transition is abandoned: every town keeps all its futures alive"
        } else {
            "No transition is abandoned: every future stays alive"
        };
        chart
            .draw_series(std::iter::once(Text::new(
                words,
                (
                    (x.start + x.end) / 2.0,
                    range.start + 0.5 * (range.end - range.start),
                ),
                (FONT, 16)
                    .into_font()
                    .color(&RUST)
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    )),
            )))
            .map_err(err)?;
    }
    for curve in curves {
        let (line, band) = if many {
            (curve.colour, curve.colour)
        } else {
            (RUST, PEACH)
        };
        let low: Vec<f64> = curve.data.iter().map(|p| p.low).collect();
        let high: Vec<f64> = curve.data.iter().map(|p| p.high).collect();
        let alpha = if many { 0.25 } else { 0.7 };
        let always_alive = curve.data.iter().all(|p| p.share >= 1.0);
        if !many {
            let interval = band_polygon(&mut chart, axis, &low, &high, band.mix(alpha))?;
            swatch(interval, "95% interval", band.mix(alpha));
        } else if !always_alive {
            // Among many towns, only the bands of those that lose futures: bands stacked at
            // the top say nothing and hide one another.
            band_polygon(&mut chart, axis, &low, &high, band.mix(alpha))?;
        }
        chart
            .draw_series(LineSeries::new(
                curve
                    .data
                    .iter()
                    .enumerate()
                    .map(|(m, p)| (axis.x(m), p.share)),
                line.stroke_width(3),
            ))
            .map_err(err)?
            .label(if many {
                curve.label.clone()
            } else {
                "share of runs still alive".into()
            })
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], line.stroke_width(3))
            });
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)
}

pub(super) fn phases_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    t: &TerritoryResults,
    labels: &[String],
    axis: &TimeAxis,
    title: &str,
) -> Drawn {
    let mut chart = time_chart(
        area,
        axis,
        title,
        20,
        0.0..1.0,
        "share of runs in each phase",
    )?;
    let months = t.phase_share.first().map_or(0, Vec::len);
    let mut below = vec![0.0; months];
    for (k, (phase, shares)) in labels.iter().zip(&t.phase_share).enumerate() {
        let above: Vec<f64> = below
            .iter()
            .zip(shares)
            .map(|(b, s)| (b + s).min(1.0))
            .collect();
        let c = colour(k);
        let area = band_polygon(&mut chart, axis, &below, &above, c.mix(0.75))?;
        swatch(area, phase, c.mix(0.75));
        below = above;
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

pub(super) fn groups_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    t: &TerritoryResults,
    model: &Model,
    ti: usize,
    axis: &TimeAxis,
    title: &str,
) -> Drawn {
    let mut chart = time_chart(
        area,
        axis,
        title,
        20,
        0.0..1.0,
        "share of the group engaged",
    )?;
    for (k, g) in model.territories[ti].groups.iter().enumerate() {
        let Some(s) = t.series(&format!("engagement:{}", g.id)) else {
            continue;
        };
        let c = colour(k);
        band_polygon(
            &mut chart,
            axis,
            &s.quantiles[1],
            &s.quantiles[3],
            c.mix(0.2),
        )?;
        chart
            .draw_series(LineSeries::new(
                s.quantiles[2]
                    .iter()
                    .enumerate()
                    .map(|(m, v)| (axis.x(m), *v)),
                c.stroke_width(3),
            ))
            .map_err(err)?
            .label(g.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(3)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// Plot sizes in pixels.
pub fn size(name: &str, territories: usize) -> (u32, u32) {
    let rows = territories.div_ceil(2) as u32;
    match name {
        "dashboard" => (1800, 560),
        "engagement-by-group" | "phases" if territories > 1 => (1600, 520 * rows),
        _ => (1000, 620),
    }
}

pub(super) fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    name: &str,
    model: &Model,
    results: &Results,
) -> Drawn {
    root.fill(&WHITE).map_err(err)?;
    let axis = TimeAxis::of(model);
    let marks = shock_marks(model);
    let stabilisation = Fan {
        title: "Stabilisation — anchored engagement",
        y_label: "share of engagement anchored",
        index: "stabilisation",
    };
    let scale = Fan {
        title: "Change of scale — share of the potential reached",
        y_label: "share of potential reached",
        index: "scale",
    };
    let runs = format!("{} simulated futures", results.runs);
    match name {
        "stabilisation" => fan_chart(&root, results, &axis, &stabilisation, &marks)?,
        "scale" => fan_chart(&root, results, &axis, &scale, &marks)?,
        "perpetuation" => perpetuation_chart(&root, results, &axis, &marks)?,
        "dashboard" => {
            let title = format!("{} — {runs} (illustrative parameters)", model.name);
            let body = root.titled(&title, (FONT, 26)).map_err(err)?;
            let panels = body.split_evenly((1, 3));
            fan_chart(&panels[0], results, &axis, &stabilisation, &marks)?;
            perpetuation_chart(&panels[1], results, &axis, &marks)?;
            fan_chart(&panels[2], results, &axis, &scale, &marks)?;
        }
        "phases" => {
            let cells = grid(&root, results.territories.len());
            for ((t, cell), territory) in results
                .territories
                .iter()
                .zip(&cells)
                .zip(&model.territories)
            {
                let labels: Vec<String> =
                    territory.phases.iter().map(|p| p.label.clone()).collect();
                phases_chart(
                    cell,
                    t,
                    &labels,
                    &axis,
                    &format!("Phases of the transition — {}", t.name),
                )?;
            }
        }
        _ => {
            let cells = grid(&root, results.territories.len());
            for (ti, (t, cell)) in results.territories.iter().zip(&cells).enumerate() {
                groups_chart(
                    cell,
                    t,
                    model,
                    ti,
                    &axis,
                    &format!("Engagement by actor group — {} (median, 25–75%)", t.name),
                )?;
            }
        }
    }
    root.present().map_err(err)
}

pub(super) struct Standard<'a> {
    name: &'a str,
    model: &'a Model,
    results: &'a Results,
}

impl Painter for Standard<'_> {
    fn paint<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Drawn {
        draw(root, self.name, self.model, self.results)
    }
}

/// Draws the standard plot `name` (one of [`crate::output::PLOT_NAMES`]) of a run, in memory.
pub fn standard(name: &str, model: &Model, results: &Results) -> Result<Picture, String> {
    let dims = size(name, results.territories.len());
    picture(
        &Standard {
            name,
            model,
            results,
        },
        dims,
    )
}

/// The standard plot `name` of a run as an SVG document only (for a page).
pub fn standard_svg(name: &str, model: &Model, results: &Results) -> Result<String, String> {
    register_fonts();
    let dims = size(name, results.territories.len());
    svg(
        &Standard {
            name,
            model,
            results,
        },
        dims,
    )
}

/// Writes every plot as PNG and SVG into `dir`.
pub fn write_all(dir: &Path, model: &Model, results: &Results) -> Result<Vec<PathBuf>, Error> {
    register_fonts();
    let mut written = Vec::new();
    for name in crate::output::PLOT_NAMES {
        let dims = size(name, results.territories.len());
        write_pair(
            dir,
            name,
            dims,
            &Standard {
                name,
                model,
                results,
            },
            &mut written,
        )?;
    }
    Ok(written)
}
