//! Drawing a [`Chart`] spec with `plotters`, one function for both backends (SVG text for
//! the HTML report, PNG files for `--png`): data extent, axes whose ticks sit on the
//! categories, series with their interval bars, and the legend in its own column. Knows
//! nothing of reports or records: everything it draws is in the spec.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::font::ensure_font;
use super::{Chart, Series, Style, XAxis, PALETTE, SIZE};
use crate::error::{Error, Result};

const LEGEND_W: u32 = 340;

/// The chart area once axes are built: both axes are [`KeyAxis`].
type Plot<'a, DB> = ChartContext<'a, DB, Cartesian2d<KeyAxis, KeyAxis>>;

fn color(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

fn nice_step(span: f64) -> f64 {
    let raw = span / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let step = nice_step((hi - lo).max(f64::MIN_POSITIVE));
    let mut v = Vec::new();
    let mut t = (lo / step).ceil() * step;
    while t <= hi + step * 1e-9 && v.len() < 50 {
        v.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    v
}

/// A linear axis whose ticks are exactly `keys` (category positions, or nice round numbers),
/// so category labels sit under their points.
struct KeyAxis {
    lo: f64,
    hi: f64,
    keys: Vec<f64>,
}

impl Ranged for KeyAxis {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let r = (v - self.lo) / (self.hi - self.lo);
        limit.0 + (f64::from(limit.1 - limit.0) * r).round() as i32
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // Bold points only (the mesh asks for light points with weight `Any`): light mesh
        // lines would double the bold ones.
        if hint.weight().allow_light_points() {
            return Vec::new();
        }
        let n = hint.bold_points().max(1);
        let step = self.keys.len().div_ceil(n).max(1);
        self.keys.iter().copied().step_by(step).collect()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

fn plot_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::Tool {
        tool: "plotters".into(),
        message: format!("{e:?}"),
    }
}
/// Data bounds `([x0, x1], [y0, y1])`: x over every point; y from zero (or the lowest
/// value, when negative) to the highest value or interval end, plus 8 % headroom so the
/// top mark is not cut by the frame.
fn extent(c: &Chart) -> ([f64; 2], [f64; 2]) {
    let all = c.series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut y0, mut y1) = (0.0f64, f64::NEG_INFINITY);
    for p in all {
        x0 = x0.min(p.x);
        x1 = x1.max(p.x);
        let (lo, hi) = p.ci.map_or((p.y, p.y), |[a, b]| (a.min(p.y), b.max(p.y)));
        y0 = y0.min(lo);
        y1 = y1.max(hi);
    }
    if !x0.is_finite() {
        (x0, x1) = (0.0, 1.0);
    }
    if !y1.is_finite() || y1 <= y0 {
        y1 = y0 + 1.0;
    }
    y1 += (y1 - y0) * 0.08;
    ([x0, x1], [y0, y1])
}

/// The x axis: one slot per category (with its labels), or the data's range with round
/// ticks.
fn x_axis(c: &Chart, [x0, mut x1]: [f64; 2]) -> (KeyAxis, Option<&[String]>) {
    match &c.x_axis {
        XAxis::Categories(labels) => {
            let n = labels.len().max(1) as f64;
            let axis = KeyAxis {
                lo: -0.5,
                hi: n - 0.5,
                keys: (0..labels.len()).map(|i| i as f64).collect(),
            };
            (axis, Some(labels.as_slice()))
        }
        XAxis::Linear => {
            if x1 <= x0 {
                x1 = x0 + 1.0;
            }
            let axis = KeyAxis {
                lo: x0,
                hi: x1,
                keys: ticks(x0, x1),
            };
            (axis, None)
        }
    }
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, c: &Chart) -> Result<()> {
    root.fill(&WHITE).map_err(plot_err)?;
    let (w, _) = root.dim_in_pixel();
    let (plot, legend) = root.split_horizontally(w.saturating_sub(LEGEND_W));

    let (x_range, [y0, y1]) = extent(c);
    let (x, cats) = x_axis(c, x_range);
    let y = KeyAxis {
        lo: y0,
        hi: y1,
        keys: ticks(y0, y1),
    };
    let mut chart = ChartBuilder::on(&plot)
        .caption(&c.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y)
        .map_err(plot_err)?;
    mesh(&mut chart, c, cats)?;
    for (i, s) in c.series.iter().enumerate() {
        draw_series(&mut chart, c, i, s)?;
    }
    draw_legend(&legend, c)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// Axis labels and light grid lines; category labels under their slots.
fn mesh<DB: DrawingBackend>(
    chart: &mut Plot<'_, DB>,
    c: &Chart,
    cats: Option<&[String]>,
) -> Result<()> {
    let x_fmt = |v: &f64| match cats {
        Some(labels) => {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        }
        None => fmt_tick(*v),
    };
    let y_fmt = |v: &f64| fmt_tick(*v);
    chart
        .configure_mesh()
        .x_desc(&c.x_label)
        .y_desc(&c.y_label)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(0xE0, 0xE0, 0xE0))
        .draw()
        .map_err(plot_err)
}

/// Series `i` of the chart: a line with dots, or its bar in each category, then its
/// interval bars.
fn draw_series<DB: DrawingBackend>(
    chart: &mut Plot<'_, DB>,
    c: &Chart,
    i: usize,
    s: &Series,
) -> Result<()> {
    let nseries = c.series.len().max(1) as f64;
    let col = color(i);
    match c.style {
        Style::Lines => {
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().map(|p| (p.x, p.y)),
                    col.stroke_width(2),
                ))
                .map_err(plot_err)?;
            chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|p| Circle::new((p.x, p.y), 3, col.filled())),
                )
                .map_err(plot_err)?;
        }
        Style::Bars => {
            // Side-by-side bars within each category.
            let width = 0.8 / nseries;
            chart
                .draw_series(s.points.iter().map(|p| {
                    let left = p.x - 0.4 + width * i as f64;
                    Rectangle::new([(left, 0.0), (left + width * 0.9, p.y)], col.filled())
                }))
                .map_err(plot_err)?;
        }
    }
    chart
        .draw_series(s.points.iter().filter_map(|p| {
            let [lo, hi] = p.ci?;
            let x = match c.style {
                Style::Bars => p.x - 0.4 + 0.8 / nseries * (i as f64 + 0.45),
                Style::Lines => p.x,
            };
            // On bars the interval is drawn dark, or it would vanish into the bar.
            let bar_col = match c.style {
                Style::Bars => RGBColor(0x33, 0x33, 0x33),
                Style::Lines => col,
            };
            Some(ErrorBar::new_vertical(
                x,
                lo,
                p.y,
                hi,
                bar_col.stroke_width(1),
                8,
            ))
        }))
        .map_err(plot_err)?;
    Ok(())
}

/// Legend in its own column, so it never hides data.
fn draw_legend<DB: DrawingBackend>(legend: &DrawingArea<DB, Shift>, c: &Chart) -> Result<()> {
    for (i, s) in c.series.iter().enumerate() {
        let y = 50 + 22 * i as i32;
        legend
            .draw(&Rectangle::new([(6, y), (22, y + 12)], color(i).filled()))
            .map_err(plot_err)?;
        let mut name = s.name.clone();
        if name.chars().count() > 48 {
            name = name.chars().take(47).collect::<String>() + "…";
        }
        legend
            .draw(&Text::new(name, (28, y - 1), ("sans-serif", 12)))
            .map_err(plot_err)?;
    }
    Ok(())
}

/// The chart as an SVG document.
pub fn svg(c: &Chart) -> Result<String> {
    ensure_font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        draw(root, c)?;
    }
    Ok(out)
}

/// The chart as a PNG file.
pub fn png(c: &Chart, path: &Path) -> Result<()> {
    ensure_font()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    draw(root, c)
}

/// Tick labels: round numbers without trailing zeros (`250`, `0.5`).
fn fmt_tick(v: f64) -> String {
    format!("{}", (v * 1e6).round() / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks() {
        assert_eq!(ticks(0.0, 10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
    }
}
