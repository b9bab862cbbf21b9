//! Charts: which charts a report has (built from its points) and how they are drawn with
//! `plotters`, as SVG text for the HTML report or as PNG files. Each chart is a plain spec
//! (series of points with optional interval bars) drawn by one function for both backends.
//!
//! Text needs a TrueType font: plotters' `ab_glyph` feature measures and rasterises glyphs
//! from a font registered at run time. We read one from the usual system locations
//! (Debian's `fonts-dejavu-core` gives `/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf`)
//! or from `$TRTBENCH_FONT`; without one, charts fail with an error naming what to install.
//! Series colours are the Tableau 10 palette, so a test can tell data marks from axes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{engine_bytes, fmt_num, param_f64, param_str, quant, varying_params, Report, Row};
use crate::error::{Error, Result};
use crate::record::PointKind;

/// Series colours (Tableau 10), in order.
pub const PALETTE: [(u8, u8, u8); 10] = [
    (0x4E, 0x79, 0xA7),
    (0xF2, 0x8E, 0x2B),
    (0xE1, 0x57, 0x59),
    (0x76, 0xB7, 0xB2),
    (0x59, 0xA1, 0x4F),
    (0xED, 0xC9, 0x48),
    (0xB0, 0x7A, 0xA1),
    (0xFF, 0x9D, 0xA7),
    (0x9C, 0x75, 0x5F),
    (0xBA, 0xB0, 0xAC),
];

/// Most series drawn in one chart; the rest are named in the chart's note.
pub const MAX_SERIES: usize = 10;

/// Pixel size of every chart.
pub const SIZE: (u32, u32) = (1100, 500);

const LEGEND_W: u32 = 340;

/// One point of a series, with an optional 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Xy {
    pub x: f64,
    pub y: f64,
    pub ci: Option<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<Xy>,
}

/// How the x axis is laid out.
#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    /// Numeric, evenly scaled.
    Linear,
    /// Categories at x = 0, 1, 2, ... with these labels (batch sizes, lengths, quant names).
    Categories(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Lines,
    Bars,
}

/// A chart to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// File-name-safe identifier (`decode-tok-per-s-vs-batch`).
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_axis: XAxis,
    pub style: Style,
    pub series: Vec<Series>,
    /// Shown under the chart (what was left out, how figures were chosen).
    pub note: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Fonts

/// Places a sans-serif TrueType font is looked for, after `$TRTBENCH_FONT`.
pub const FONT_CANDIDATES: [&str; 7] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
];

/// Registers a font for chart text once per process; the error says what to install.
pub fn ensure_font() -> Result<()> {
    static FONT: OnceLock<std::result::Result<String, String>> = OnceLock::new();
    let r = FONT.get_or_init(|| {
        let mut tried = Vec::new();
        let env = std::env::var("TRTBENCH_FONT").ok();
        for path in env.iter().map(String::as_str).chain(FONT_CANDIDATES) {
            tried.push(path.to_owned());
            let Ok(bytes) = std::fs::read(path) else {
                continue;
            };
            // plotters keeps a `&'static` reference to registered fonts; this is read once
            // per process, so leaking it is the intended lifetime.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return Ok(path.to_owned());
            }
        }
        Err(format!(
            "no usable TrueType font for chart text (tried {}); install one \
             (Debian: apt-get install fonts-dejavu-core) or set TRTBENCH_FONT to a .ttf file",
            tried.join(", ")
        ))
    });
    r.as_ref().map(|_| ()).map_err(|reason| Error::Config {
        key: "TRTBENCH_FONT".into(),
        reason: reason.clone(),
    })
}

// ---------------------------------------------------------------------------------------
// Drawing

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

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, c: &Chart) -> Result<()> {
    root.fill(&WHITE).map_err(plot_err)?;
    let (w, _) = root.dim_in_pixel();
    let (plot, legend) = root.split_horizontally(w.saturating_sub(LEGEND_W));

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
    let (x_range, x_keys, cats) = match &c.x_axis {
        XAxis::Categories(labels) => {
            let n = labels.len().max(1) as f64;
            (
                -0.5..n - 0.5,
                (0..labels.len()).map(|i| i as f64).collect::<Vec<_>>(),
                Some(labels.clone()),
            )
        }
        XAxis::Linear => {
            if x1 <= x0 {
                x1 = x0 + 1.0;
            }
            (x0..x1, ticks(x0, x1), None)
        }
    };
    let y_keys = ticks(y0, y1);

    let mut chart = ChartBuilder::on(&plot)
        .caption(&c.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(
            KeyAxis {
                lo: x_range.start,
                hi: x_range.end,
                keys: x_keys,
            },
            KeyAxis {
                lo: y0,
                hi: y1,
                keys: y_keys,
            },
        )
        .map_err(plot_err)?;
    let x_fmt = |v: &f64| match &cats {
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
        .map_err(plot_err)?;

    let nseries = c.series.len().max(1) as f64;
    for (i, s) in c.series.iter().enumerate() {
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
    }

    // Legend in its own column, so it never hides data.
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
    root.present().map_err(plot_err)?;
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

// ---------------------------------------------------------------------------------------
// Which charts a report has

fn slug(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// Label of a row among `rows`: its values of the parameters that vary, minus `except`.
fn label(row: &Row, varying: &std::collections::BTreeSet<String>, except: &[&str]) -> String {
    let parts: Vec<String> = super::ordered_params(std::iter::once(row))
        .into_iter()
        .filter(|k| varying.contains(k) && !except.contains(&k.as_str()))
        .map(|k| format!("{k}={}", param_str(&row.point, &k)))
        .collect();
    if parts.is_empty() {
        "all points".into()
    } else {
        parts.join(", ")
    }
}

/// Groups rows into at most [`MAX_SERIES`] labelled series, keeping first-seen order.
fn group<'a>(rows: &[&'a Row], except: &[&str]) -> (Vec<(String, Vec<&'a Row>)>, Option<String>) {
    let varying = varying_params(rows.iter().copied());
    let mut order: Vec<(String, Vec<&Row>)> = Vec::new();
    for r in rows {
        let l = label(r, &varying, except);
        match order.iter_mut().find(|(k, _)| *k == l) {
            Some((_, v)) => v.push(r),
            None => order.push((l, vec![r])),
        }
    }
    let note = (order.len() > MAX_SERIES).then(|| {
        format!(
            "{} more series not drawn: {}",
            order.len() - MAX_SERIES,
            order[MAX_SERIES..]
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        )
    });
    order.truncate(MAX_SERIES);
    (order, note)
}

/// `metric.stat` against a numeric parameter shown as categories.
#[allow(clippy::too_many_arguments)]
fn versus(
    report: &Report,
    rows: &[&Row],
    x_param: &str,
    metrics: &[(&str, &str)],
    title: &str,
    x_label: &str,
    y_label: &str,
) -> Option<Chart> {
    let rows: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|r| param_f64(&r.point, x_param).is_some())
        .filter(|r| {
            metrics
                .iter()
                .any(|(m, s)| report.figure(&r.point, m, s).is_some())
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut xs: Vec<f64> = rows
        .iter()
        .filter_map(|r| param_f64(&r.point, x_param))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let (groups, note) = group(&rows, &[x_param]);
    let mut series = Vec::new();
    for (name, members) in &groups {
        for (metric, stat) in metrics {
            let mut pts: Vec<Xy> = members
                .iter()
                .filter_map(|r| {
                    let x = param_f64(&r.point, x_param)?;
                    let f = report.figure(&r.point, metric, stat)?;
                    Some(Xy {
                        x: xs.iter().position(|v| *v == x)? as f64,
                        y: f.value,
                        ci: f.ci,
                    })
                })
                .collect();
            if pts.is_empty() {
                continue;
            }
            pts.sort_by(|a, b| a.x.total_cmp(&b.x));
            let name = if metrics.len() > 1 && groups.len() == 1 && name == "all points" {
                stat.to_string()
            } else if metrics.len() > 1 {
                format!("{name} {stat}")
            } else {
                name.clone()
            };
            series.push(Series { name, points: pts });
        }
    }
    if series.is_empty() {
        return None;
    }
    Some(Chart {
        id: slug(title),
        title: title.into(),
        x_label: x_label.into(),
        y_label: y_label.into(),
        x_axis: XAxis::Categories(xs.iter().map(|x| fmt_num_trim(*x)).collect()),
        style: Style::Lines,
        series,
        note,
    })
}

/// Tick labels: round numbers without trailing zeros (`250`, `0.5`).
fn fmt_tick(v: f64) -> String {
    format!("{}", (v * 1e6).round() / 1e6)
}

fn fmt_num_trim(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        fmt_num(x)
    }
}

fn percentiles(report: &Report, rows: &[&Row], metric: &str) -> Option<Chart> {
    let rows: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|r| r.point.summary.contains_key(metric))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let stats = ["p50", "p90", "p95", "p99", "max"];
    let varying = varying_params(rows.iter().copied());
    let mut series: Vec<Series> = rows
        .iter()
        .map(|r| Series {
            name: label(r, &varying, &[]),
            points: stats
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let f = report.figure(&r.point, metric, s)?;
                    Some(Xy {
                        x: i as f64,
                        y: f.value,
                        ci: f.ci,
                    })
                })
                .collect(),
        })
        .collect();
    let note = (series.len() > MAX_SERIES)
        .then(|| format!("first {MAX_SERIES} of {} points drawn", series.len()));
    series.truncate(MAX_SERIES);
    let name = super::metric_label(metric);
    Some(Chart {
        id: slug(&format!("{metric} percentiles")),
        title: format!("{name} percentiles"),
        x_label: "statistic".into(),
        y_label: name,
        x_axis: XAxis::Categories(stats.map(String::from).to_vec()),
        style: Style::Lines,
        series,
        note,
    })
}

fn timeline(
    rows: &[&Row],
    title: &str,
    y_label: &str,
    get: impl Fn(&crate::record::MemorySample) -> Option<f64>,
) -> Option<Chart> {
    let rows: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|r| r.point.memory.timeline.iter().any(|s| get(s).is_some()))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let varying = varying_params(rows.iter().copied());
    let mut series: Vec<Series> = rows
        .iter()
        .map(|r| Series {
            name: format!("{} ({})", label(r, &varying, &[]), kind_name(r.point.kind)),
            points: r
                .point
                .memory
                .timeline
                .iter()
                .filter_map(|s| {
                    Some(Xy {
                        x: s.t_s,
                        y: get(s)?,
                        ci: None,
                    })
                })
                .collect(),
        })
        .collect();
    let note = (series.len() > MAX_SERIES)
        .then(|| format!("first {MAX_SERIES} of {} points drawn", series.len()));
    series.truncate(MAX_SERIES);
    Some(Chart {
        id: slug(title),
        title: title.into(),
        x_label: "seconds since the point started".into(),
        y_label: y_label.into(),
        x_axis: XAxis::Linear,
        style: Style::Lines,
        series,
        note,
    })
}

fn kind_name(k: PointKind) -> &'static str {
    match k {
        PointKind::Engine => "engine",
        PointKind::Load => "load",
        PointKind::Quality => "quality",
    }
}

/// Quantisation impact: perplexity, size on disk and decode speed per quantisation.
fn quant_charts(report: &Report) -> Vec<Chart> {
    // Category = engine name (when several) + quant.
    let quality: Vec<&Row> = report.ok(PointKind::Quality).collect();
    let engine: Vec<&Row> = report.ok(PointKind::Engine).collect();
    let cat = |r: &Row| quant(&r.point);
    let mut cats: Vec<String> = quality
        .iter()
        .chain(&engine)
        .filter_map(|r| cat(r))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    cats.retain(|c| seen.insert(c.clone()));
    if cats.len() < 2 && quality.is_empty() {
        return Vec::new();
    }
    let idx = |c: &str| cats.iter().position(|x| x == c).map(|i| i as f64);
    let mut out = Vec::new();
    let bar = |id: &str, title: &str, y_label: &str, pts: Vec<Xy>, note: Option<String>| Chart {
        id: id.into(),
        title: title.into(),
        x_label: "quantisation".into(),
        y_label: y_label.into(),
        x_axis: XAxis::Categories(cats.clone()),
        style: Style::Bars,
        series: vec![Series {
            name: y_label.into(),
            points: pts,
        }],
        note,
    };
    // Perplexity (one quality point per quant: the first).
    let mut ppl: BTreeMap<String, Xy> = BTreeMap::new();
    for r in &quality {
        if let (Some(c), Some(&v)) = (cat(r), r.point.scalars.get("perplexity")) {
            let se = r.point.scalars.get("perplexity_stderr").copied();
            ppl.entry(c.clone()).or_insert(Xy {
                x: idx(&c).unwrap_or(0.0),
                y: v,
                ci: se.map(|s| [v - 1.96 * s, v + 1.96 * s]),
            });
        }
    }
    if !ppl.is_empty() {
        out.push(bar(
            "quant-perplexity",
            "Perplexity by quantisation",
            "perplexity (lower is better)",
            ppl.into_values().collect(),
            None,
        ));
    }
    let mut size: BTreeMap<String, Xy> = BTreeMap::new();
    for r in quality.iter().chain(&engine) {
        if let (Some(c), Some(b)) = (cat(r), engine_bytes(&r.point)) {
            size.entry(c.clone()).or_insert(Xy {
                x: idx(&c).unwrap_or(0.0),
                y: b as f64 / (1024.0 * 1024.0),
                ci: None,
            });
        }
    }
    if !size.is_empty() {
        out.push(bar(
            "quant-size",
            "Engine size by quantisation",
            "MiB on disk",
            size.into_values().collect(),
            None,
        ));
    }
    // Decode speed at each quant's smallest batch (then shortest input).
    let mut best: BTreeMap<String, (f64, f64, &Row)> = BTreeMap::new();
    for r in &engine {
        let (Some(c), Some(_)) = (cat(r), report.figure(&r.point, "decode_tok_per_s", "p50"))
        else {
            continue;
        };
        let b = param_f64(&r.point, "batch").unwrap_or(f64::INFINITY);
        let l = param_f64(&r.point, "isl").unwrap_or(f64::INFINITY);
        let e = best.entry(c).or_insert((b, l, r));
        if (b, l) < (e.0, e.1) {
            *e = (b, l, r);
        }
    }
    if !best.is_empty() {
        let pts = best
            .iter()
            .filter_map(|(c, (_, _, r))| {
                let f = report.figure(&r.point, "decode_tok_per_s", "p50")?;
                Some(Xy {
                    x: idx(c)?,
                    y: f.value,
                    ci: f.ci,
                })
            })
            .collect();
        out.push(bar(
            "quant-decode-speed",
            "Decode speed by quantisation",
            "decode tok/s p50",
            pts,
            Some("each quantisation at its smallest batch and input length".into()),
        ));
    }
    out
}

/// Every chart the report's data supports, in display order. A chart without data is
/// left out, so each returned chart has at least one point.
pub fn charts(report: &Report) -> Vec<Chart> {
    let engine: Vec<&Row> = report.ok(PointKind::Engine).collect();
    let load: Vec<&Row> = report.ok(PointKind::Load).collect();
    let all_ok: Vec<&Row> = report
        .rows
        .iter()
        .filter(|r| r.point.status == crate::record::Status::Ok)
        .collect();
    let mut out: Vec<Option<Chart>> = vec![
        versus(
            report,
            &engine,
            "batch",
            &[("decode_tok_per_s", "p50")],
            "Decode throughput vs batch",
            "batch",
            "decode tok/s (p50)",
        ),
        versus(
            report,
            &engine,
            "batch",
            &[("prefill_tok_per_s", "p50")],
            "Prefill throughput vs batch",
            "batch",
            "prefill tok/s (p50)",
        ),
        versus(
            report,
            &engine,
            "isl",
            &[("ttft_ms", "p50")],
            "TTFT vs input length",
            "input tokens",
            "TTFT ms (p50)",
        ),
        versus(
            report,
            &engine,
            "isl",
            &[("tpot_ms", "p50")],
            "TPOT vs input length",
            "input tokens",
            "TPOT ms (p50)",
        ),
        versus(
            report,
            &engine,
            "batch",
            &[("tok_per_j", "p50")],
            "Energy efficiency vs batch",
            "batch",
            "output tokens per joule",
        ),
    ];
    for m in ["ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"] {
        out.push(percentiles(report, &engine, m));
    }
    out.push(timeline(&all_ok, "Memory timeline (RSS)", "RSS MiB", |s| {
        s.rss_bytes.map(|b| b as f64 / 1048576.0)
    }));
    out.push(timeline(
        &all_ok,
        "Device memory timeline",
        "device MiB",
        |s| s.device_bytes.map(|b| b as f64 / 1048576.0),
    ));
    out.push(timeline(&all_ok, "Power timeline", "watts", |s| s.power_w));
    let x = if load
        .iter()
        .any(|r| r.point.parameters.contains_key("concurrency"))
    {
        "concurrency"
    } else {
        "rate"
    };
    let xl = if x == "rate" {
        "request rate (req/s)"
    } else {
        "concurrency"
    };
    for (metric, title, y) in [
        ("ttft_ms", "TTFT", "TTFT ms"),
        ("tpot_ms", "TPOT", "TPOT ms"),
        ("itl_ms", "ITL", "ITL ms"),
        ("e2e_ms", "E2E latency", "E2EL ms"),
    ] {
        out.push(versus(
            report,
            &load,
            x,
            &[(metric, "p50"), (metric, "p99")],
            &format!("{title} vs {x}"),
            xl,
            y,
        ));
    }
    out.push(versus(
        report,
        &load,
        x,
        &[("output_tok_per_s", "p50")],
        &format!("Output throughput vs {x}"),
        xl,
        "output tok/s",
    ));
    let mut charts: Vec<Chart> = out.into_iter().flatten().collect();
    charts.extend(quant_charts(report));
    charts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks() {
        assert_eq!(ticks(0.0, 10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(
            slug("Decode throughput vs batch"),
            "decode-throughput-vs-batch"
        );
    }
}
