//! Plots, each as PNG and SVG, drawn in memory with plotters and an embedded DejaVu Sans font
//! (so text renders on a machine with no fonts installed), then written as files or embedded
//! in a page. What is shared lives here: fonts, colours, legends, grids of panels, the
//! encoding. [`run`] draws a run's plots, [`compare`] a comparison's overlays; [`sweep`] and
//! [`sensitivity`] those of the exploring commands.

pub mod calibration;
mod compare;
pub mod discover;
pub mod optimize;
mod raster;
mod run;
pub mod sensitivity;
pub mod sweep;
pub mod transfer;

pub use compare::{overlays, write_overlays, COMPARE_PLOTS};
pub use run::{size, standard, standard_svg, write_all};

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::chart::SeriesAnno;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::diag::Error;

pub(super) const FONT: &str = "sans-serif";

/// One colour per territory or group (colour-blind-friendly Tableau palette).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

pub(super) const NAVY: RGBColor = RGBColor(8, 48, 107);

pub(super) const BAND: RGBColor = RGBColor(66, 146, 198);

pub(super) const RUST: RGBColor = RGBColor(166, 54, 3);

pub(super) const PEACH: RGBColor = RGBColor(253, 174, 107);

pub(super) const GRID: RGBColor = RGBColor(225, 225, 225);

pub(super) const MUTED: RGBColor = RGBColor(110, 110, 110);

/// An axis tick with `digits` decimals, never "-0.00" (a tick a hair below zero is zero).
pub(super) fn tick(y: f64, digits: usize) -> String {
    let text = format!("{y:.digits$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => text,
    }
}

/// Registers the embedded fonts once.
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

pub(super) type Drawn = Result<(), String>;

pub(super) fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

pub(super) fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

pub(super) type Chart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Gives a drawn area a legend entry: a filled square of its colour.
pub(super) fn swatch<DB: DrawingBackend>(
    anno: &mut SeriesAnno<'_, DB>,
    label: &str,
    fill: RGBAColor,
) {
    anno.label(label)
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 22, y + 6)], fill.filled()));
}

pub(super) fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    position: SeriesLabelPosition,
) -> Drawn {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(GRID)
        .label_font((FONT, 14))
        .draw()
        .map_err(err)
}

/// Splits an area into a grid with one cell per territory.
pub(super) fn grid<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    n: usize,
) -> Vec<DrawingArea<DB, Shift>> {
    let cols = if n <= 1 { 1 } else { 2 };
    let rows = n.div_ceil(cols);
    area.split_evenly((rows, cols))
}

/// Something that can draw itself on any plotters backend.
pub(super) trait Painter {
    /// Draws on `root`.
    fn paint<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Drawn;
}

/// A plot drawn in memory, as PNG and SVG.
#[derive(Debug, Clone)]
pub struct Picture {
    /// The PNG file's bytes.
    pub png: Vec<u8>,
    /// The SVG document.
    pub svg: String,
}

/// Draws `painter` as a PNG of `dims` pixels, in memory.
pub(super) fn png(painter: &impl Painter, dims: (u32, u32)) -> Result<Vec<u8>, String> {
    let (w, h) = dims;
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    let backend = raster::Raster::new(&mut rgb, dims).ok_or("the embedded font cannot be read")?;
    painter.paint(backend.into_drawing_area())?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(&rgb))
        .map_err(err)?;
    Ok(out)
}

/// Draws `painter` as an SVG document of `dims` pixels, in memory.
pub(super) fn svg(painter: &impl Painter, dims: (u32, u32)) -> Result<String, String> {
    let mut out = String::new();
    painter.paint(SVGBackend::with_string(&mut out, dims).into_drawing_area())?;
    Ok(out)
}

/// Draws `painter` as PNG and SVG, in memory.
pub(super) fn picture(painter: &impl Painter, dims: (u32, u32)) -> Result<Picture, String> {
    register_fonts();
    Ok(Picture {
        png: png(painter, dims)?,
        svg: svg(painter, dims)?,
    })
}

/// Writes `dir/name.png` and `dir/name.svg` and records their paths.
pub(super) fn write_pair(
    dir: &Path,
    name: &str,
    dims: (u32, u32),
    painter: &impl Painter,
    written: &mut Vec<PathBuf>,
) -> Result<(), Error> {
    let p = picture(painter, dims)
        .map_err(|e| Error::io(dir.join(name), format!("could not draw the plot: {e}")))?;
    for (ext, bytes) in [("png", p.png.as_slice()), ("svg", p.svg.as_bytes())] {
        let path = dir.join(format!("{name}.{ext}"));
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        written.push(path);
    }
    Ok(())
}

/// Writes each picture as `dir/<name>.png` and `dir/<name>.svg`; returns the paths.
pub fn write_pictures(dir: &Path, pictures: &[(String, Picture)]) -> Result<Vec<PathBuf>, Error> {
    let mut written = Vec::new();
    for (name, p) in pictures {
        for (ext, bytes) in [("png", p.png.as_slice()), ("svg", p.svg.as_bytes())] {
            let path = dir.join(format!("{name}.{ext}"));
            std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
            written.push(path);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ticks_have_no_negative_zero() {
        assert_eq!(super::tick(-0.0000001, 2), "0.00");
        assert_eq!(super::tick(-0.05, 2), "-0.05");
        assert_eq!(super::tick(0.1, 1), "0.1");
    }
}
