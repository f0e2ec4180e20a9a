//! A comparison's overlays: each scenario's median and band on one chart per quantity, and
//! under it a panel of the paired differences with the base and their 95% bands.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::run::*;
use super::*;
use crate::diag::Error;
use crate::ensemble::{Results, Series, Survival};
use crate::model::Model;
use crate::study::compare::SeriesDifferences;

/// Base names of the comparison plots; each is written as `.png` and `.svg`.
pub const COMPARE_PLOTS: [&str; 3] = [
    "compare-stabilisation",
    "compare-perpetuation",
    "compare-scale",
];

/// The paired differences with the base of quantity `quantity` (of [`FOLLOWED`]) of territory
/// `ti`, one curve with its 95% band per other scenario, around a zero line.
fn difference_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    axis: &TimeAxis,
    names: &[String],
    series: &[SeriesDifferences],
    ti: usize,
    quantity: usize,
) -> Drawn {
    let diffs: Vec<&crate::study::compare::Difference> = series
        .iter()
        .map(|s| &s.territories[ti][quantity])
        .collect();
    let lo = diffs
        .iter()
        .flat_map(|d| d.low.iter().copied())
        .fold(0.0f64, f64::min);
    let hi = diffs
        .iter()
        .flat_map(|d| d.high.iter().copied())
        .fold(0.0f64, f64::max);
    let pad = ((hi - lo) * 0.1).max(1e-3);
    let mut chart = time_chart(
        area,
        axis,
        &format!("difference with {} (paired runs, 95%)", names[0]),
        15,
        (lo - pad)..(hi + pad),
        "difference",
    )?;
    let x = axis.range();
    chart
        .draw_series(DashedLineSeries::new(
            vec![(x.start, 0.0), (x.end, 0.0)],
            6,
            4,
            BLACK.mix(0.6).stroke_width(1),
        ))
        .map_err(err)?;
    for (k, d) in diffs.iter().enumerate() {
        let c = colour(k + 1);
        band_polygon(&mut chart, axis, &d.low, &d.high, c.mix(0.25))?;
        chart
            .draw_series(LineSeries::new(
                d.estimate.iter().enumerate().map(|(m, v)| (axis.x(m), *v)),
                c.stroke_width(2),
            ))
            .map_err(err)?;
    }
    Ok(())
}

fn draw_overlay<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    name: &str,
    model: &Model,
    names: &[String],
    results: &[Results],
    series: Option<&[SeriesDifferences]>,
) -> Drawn {
    root.fill(&WHITE).map_err(err)?;
    let axis = TimeAxis::of(model);
    let marks = shock_marks(model);
    let cells = grid(&root, model.territories.len());
    let quantity = match name {
        "compare-stabilisation" => 0,
        "compare-perpetuation" => 1,
        _ => 2,
    };
    for (ti, (whole, territory)) in cells.iter().zip(&model.territories).enumerate() {
        let suffix = format!(" — {}", territory.name);
        // With the paired differences, a panel of them under the curves.
        let cell = match series {
            Some(s) if !s.is_empty() => {
                let h = whole.dim_in_pixel().1;
                let (top, bottom) = whole.split_vertically(h * 64 / 100);
                difference_panel(&bottom, &axis, names, s, ti, quantity)?;
                top
            }
            _ => whole.clone(),
        };
        let cell = &cell;
        if name == "compare-perpetuation" {
            let curves: Vec<Curve<'_, Vec<Survival>>> = names
                .iter()
                .zip(results)
                .enumerate()
                .filter_map(|(k, (n, r))| {
                    r.territories.get(ti).map(|t| Curve {
                        label: n.clone(),
                        colour: colour(k),
                        data: &t.perpetuation,
                    })
                })
                .collect();
            survival_curves(
                cell,
                &axis,
                &format!("Perpetuation{suffix}"),
                &curves,
                &marks,
            )?;
        } else {
            let (index, title, y_label) = if name == "compare-scale" {
                ("scale", "Change of scale", "share of potential reached")
            } else {
                (
                    "stabilisation",
                    "Stabilisation",
                    "share of engagement anchored",
                )
            };
            let curves: Vec<Curve<'_, Series>> = names
                .iter()
                .zip(results)
                .enumerate()
                .filter_map(|(k, (n, r))| {
                    r.territories
                        .get(ti)
                        .and_then(|t| t.series(index))
                        .map(|s| Curve {
                            label: n.clone(),
                            colour: colour(k),
                            data: s,
                        })
                })
                .collect();
            fan_curves(
                cell,
                &axis,
                &format!("{title}{suffix} (median, 5–95%)"),
                y_label,
                &curves,
                &marks,
            )?;
        }
    }
    root.present().map_err(err)
}

struct Overlay<'a> {
    name: &'a str,
    model: &'a Model,
    names: &'a [String],
    results: &'a [Results],
    series: Option<&'a [SeriesDifferences]>,
}

impl Painter for Overlay<'_> {
    fn paint<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Drawn {
        draw_overlay(
            root,
            self.name,
            self.model,
            self.names,
            self.results,
            self.series,
        )
    }
}

/// Pixels of a comparison's overlay: a cell per territory, taller with a panel of differences.
fn overlay_dims(territories: usize, differences: bool) -> (u32, u32) {
    let cell = if differences { 760 } else { 520 };
    if territories > 1 {
        (1600, cell * territories.div_ceil(2) as u32)
    } else {
        (1000, if differences { 860 } else { 620 })
    }
}

/// The comparison overlays (each scenario's median and 5–95% band, one colour each; with the
/// paired differences, a panel of them under each), drawn in memory: `(name, picture)` for
/// each of [`COMPARE_PLOTS`]. Only SVG with `svg_only` (a page).
pub fn overlays(
    model: &Model,
    names: &[String],
    results: &[Results],
    series: Option<&[SeriesDifferences]>,
    svg_only: bool,
) -> Result<Vec<(String, Picture)>, String> {
    register_fonts();
    let dims = overlay_dims(model.territories.len(), series.is_some());
    COMPARE_PLOTS
        .iter()
        .map(|&name| {
            let overlay = Overlay {
                name,
                model,
                names,
                results,
                series,
            };
            let p = if svg_only {
                Picture {
                    png: Vec::new(),
                    svg: svg(&overlay, dims)?,
                }
            } else {
                picture(&overlay, dims)?
            };
            Ok((name.to_string(), p))
        })
        .collect()
}

/// Writes the comparison overlays (see [`overlays`]) as PNG and SVG into `dir`.
pub fn write_overlays(
    dir: &Path,
    model: &Model,
    names: &[String],
    results: &[Results],
    series: Option<&[SeriesDifferences]>,
) -> Result<Vec<PathBuf>, Error> {
    let pictures = overlays(model, names, results, series, false)
        .map_err(|e| Error::io(dir, format!("could not draw the plots: {e}")))?;
    write_pictures(dir, &pictures)
}
