//! Plots of experiment results with plotters: grouped bar charts (a measure per collection and
//! method) and line charts (a measure against a swept setting), each written as SVG and PNG.
//!
//! Text is laid out with a TrueType font: the first of [`FONT_CANDIDATES`] that exists (or the file in
//! `OPTICAL_FONT`) is registered once.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{Error, Result};

/// Fonts tried for PNG text, in order (Debian: `fonts-dejavu-core`, `fonts-liberation`).
pub const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// One series: a name and, per x position, a value with an optional spread (± sd).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// `None` where the series has no value.
    pub points: Vec<Option<(f64, f64)>>,
}

fn register_font() -> std::result::Result<(), String> {
    static FONT: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let from_env = std::env::var("OPTICAL_FONT").ok();
        let candidates = from_env
            .iter()
            .map(String::as_str)
            .chain(FONT_CANDIDATES.iter().copied());
        for path in candidates {
            if let Ok(bytes) = std::fs::read(path) {
                // Registered fonts live for the whole process.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                return plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                    .map_err(|_| format!("{path} is not a usable TrueType font"));
            }
        }
        Err(format!(
            "no TrueType font found (tried {}); install fonts-dejavu-core or point OPTICAL_FONT \
             at a .ttf file",
            FONT_CANDIDATES.join(", ")
        ))
    })
    .clone()
}

fn plot_err(path: &Path) -> impl Fn(String) -> Error + '_ {
    move |reason| Error::Plot {
        path: path.into(),
        reason,
    }
}

/// What a chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Title above the plot.
    pub title: String,
    /// Label of the y axis.
    pub y_label: String,
    /// Label of the x axis.
    pub x_label: String,
    /// The x positions: category names (bars) or numeric values as text (lines).
    pub x: Vec<String>,
    /// The series.
    pub series: Vec<Series>,
    /// y-axis range.
    pub y_range: (f64, f64),
}

impl Chart {
    /// A grouped bar chart (one group per x category, one bar per series) to `stem.svg` and
    /// `stem.png`; returns the two paths.
    pub fn bars(&self, stem: &Path) -> Result<Vec<PathBuf>> {
        self.write(stem, Kind::Bars)
    }

    /// A line chart over numeric x values (`x` must parse as numbers) to `stem.svg` and
    /// `stem.png`; returns the two paths.
    pub fn lines(&self, stem: &Path) -> Result<Vec<PathBuf>> {
        self.write(stem, Kind::Lines)
    }

    fn write(&self, stem: &Path, kind: Kind) -> Result<Vec<PathBuf>> {
        if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Write {
                path: dir.into(),
                source,
            })?;
        }
        // Both backends measure text with the registered font.
        register_font().map_err(plot_err(&stem.with_extension("svg")))?;
        let width = (160 + 90 * self.x.len() as u32).clamp(640, 1600);
        let size = (width + self.legend_width(), 480);
        let mut written = Vec::new();
        for ext in ["svg", "png"] {
            let path = stem.with_extension(ext);
            let tmp = stem.with_extension(format!("tmp{}.{ext}", std::process::id()));
            let result = if ext == "svg" {
                let root = SVGBackend::new(&tmp, size).into_drawing_area();
                self.draw(&root, kind)
                    .and_then(|()| root.present().map_err(|e| e.to_string()))
            } else {
                let root = BitMapBackend::new(&tmp, size).into_drawing_area();
                self.draw(&root, kind)
                    .and_then(|()| root.present().map_err(|e| e.to_string()))
            };
            if let Err(reason) = result {
                let _ = std::fs::remove_file(&tmp);
                return Err(plot_err(&path)(reason));
            }
            std::fs::rename(&tmp, &path).map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
            written.push(path);
        }
        Ok(written)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        kind: Kind,
    ) -> std::result::Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        // The legend sits in a column right of the plot, so it never covers a point.
        let (total, _) = root.dim_in_pixel();
        let (plot, legend) = root.split_horizontally(total.saturating_sub(self.legend_width()));
        let n = self.x.len().max(1);
        let (x_range, xs): (std::ops::Range<f64>, Vec<f64>) = match kind {
            Kind::Bars => (0.0..n as f64, (0..n).map(|i| i as f64 + 0.5).collect()),
            Kind::Lines => {
                let xs: Vec<f64> = self
                    .x
                    .iter()
                    .map(|v| {
                        v.parse::<f64>()
                            .map_err(|_| format!("x value `{v}` is not a number"))
                    })
                    .collect::<std::result::Result<_, _>>()?;
                let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let pad = ((hi - lo) * 0.05).max(1e-9);
                ((lo - pad)..(hi + pad), xs)
            }
        };
        let mut chart = ChartBuilder::on(&plot)
            .caption(&self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(if kind == Kind::Bars { 70 } else { 40 })
            .y_label_area_size(55)
            .build_cartesian_2d(x_range, self.y_range.0..self.y_range.1)
            .map_err(e)?;
        let mut mesh = chart.configure_mesh();
        mesh.y_desc(self.y_label.as_str())
            .x_desc(self.x_label.as_str())
            .disable_x_mesh();
        if kind == Kind::Bars {
            mesh.x_labels(0);
        }
        mesh.draw().map_err(e)?;
        let m = self.series.len().max(1) as f64;
        for (j, s) in self.series.iter().enumerate() {
            let color = Palette99::pick(j).to_rgba();
            let points: Vec<(f64, f64, f64)> = s
                .points
                .iter()
                .zip(&xs)
                .filter_map(|(p, &x)| p.map(|(v, sd)| (x, v, sd)))
                .collect();
            match kind {
                Kind::Bars => {
                    let w = 0.8 / m;
                    let left = |x: f64| x - 0.4 + w * j as f64;
                    let bars = points.iter().map(|&(x, v, _)| {
                        Rectangle::new([(left(x), 0.0), (left(x) + w * 0.9, v)], color.filled())
                    });
                    chart.draw_series(bars).map_err(e)?;
                    chart
                        .draw_series(points.iter().filter(|p| p.2 > 0.0).map(|&(x, v, sd)| {
                            let c = left(x) + w * 0.45;
                            PathElement::new(vec![(c, v - sd), (c, v + sd)], BLACK)
                        }))
                        .map_err(e)?;
                }
                Kind::Lines => {
                    chart
                        .draw_series(points.iter().filter(|p| p.2 > 0.0).map(|&(x, v, sd)| {
                            PathElement::new(vec![(x, v - sd), (x, v + sd)], color)
                        }))
                        .map_err(e)?;
                    chart
                        .draw_series(
                            points
                                .iter()
                                .map(|&(x, v, _)| Circle::new((x, v), 3, color.filled())),
                        )
                        .map_err(e)?;
                    chart
                        .draw_series(LineSeries::new(
                            points.iter().map(|&(x, v, _)| (x, v)),
                            color.stroke_width(2),
                        ))
                        .map_err(e)?;
                }
            }
        }
        // One row per series, level with the top of the plotting area.
        let top = chart.plotting_area().get_pixel_range().1.start;
        let style = ("sans-serif", LEGEND_FONT).into_font().color(&BLACK).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Left,
                plotters::style::text_anchor::VPos::Center,
            ),
        );
        for (j, s) in self.series.iter().enumerate() {
            let color = Palette99::pick(j).to_rgba();
            let y = top + 8 + LEGEND_ROW * j as i32;
            legend
                .draw(&Rectangle::new([(8, y - 5), (20, y + 5)], color.filled()))
                .map_err(e)?;
            legend
                .draw(&Text::new(s.name.as_str(), (26, y), style.clone()))
                .map_err(e)?;
        }
        if kind == Kind::Bars {
            let style = ("sans-serif", 13).into_font().color(&BLACK).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Top,
                ),
            );
            for (name, &x) in self.x.iter().zip(&xs) {
                let (px, py) = chart.backend_coord(&(x, self.y_range.0));
                root.draw(&Text::new(name.as_str(), (px, py + 6), style.clone()))
                    .map_err(e)?;
            }
        }
        Ok(())
    }
}

/// Legend text size and row height (pixels).
const LEGEND_FONT: u32 = 13;
const LEGEND_ROW: i32 = 20;

impl Chart {
    /// Width of the legend column: swatch, gap, the widest series name and a margin.
    fn legend_width(&self) -> u32 {
        let font = ("sans-serif", LEGEND_FONT).into_font();
        let widest = self
            .series
            .iter()
            .map(|s| {
                font.box_size(&s.name)
                    .map_or(8 * s.name.len() as u32, |b| b.0)
            })
            .max()
            .unwrap_or(0);
        26 + widest + 12
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bars,
    Lines,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> Chart {
        Chart {
            title: "nDCG@10".into(),
            y_label: "nDCG@10".into(),
            x_label: "collection".into(),
            x: vec!["0".into(), "0.1".into(), "0.3".into()],
            series: vec![
                Series {
                    name: "zero-shot".into(),
                    points: vec![Some((0.3, 0.0)), Some((0.28, 0.01)), Some((0.2, 0.02))],
                },
                Series {
                    name: "optical".into(),
                    points: vec![Some((0.4, 0.02)), None, Some((0.3, 0.01))],
                },
            ],
            y_range: (0.0, 1.0),
        }
    }

    #[test]
    fn writes_svg_and_png_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let c = chart();
        for (stem, written) in [
            ("bars", c.bars(&dir.path().join("bars"))),
            ("lines", c.lines(&dir.path().join("lines"))),
        ] {
            let written = match written {
                Ok(w) => w,
                // Without any font the PNG is refused with a clear message: acceptable.
                Err(Error::Plot { reason, .. }) if reason.contains("no TrueType font") => continue,
                Err(e) => panic!("{stem}: {e}"),
            };
            assert_eq!(written.len(), 2);
            let svg = std::fs::read_to_string(&written[0]).unwrap();
            assert!(svg.contains("<svg") && svg.contains("optical"), "{stem}");
            let png = std::fs::read(&written[1]).unwrap();
            assert_eq!(&png[1..4], b"PNG");
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn the_legend_sits_right_of_the_plot() {
        let dir = tempfile::tempdir().unwrap();
        let c = chart();
        let written = match c.lines(&dir.path().join("lines")) {
            Ok(w) => w,
            Err(Error::Plot { reason, .. }) if reason.contains("no TrueType font") => return,
            Err(e) => panic!("{e}"),
        };
        let svg = std::fs::read_to_string(&written[0]).unwrap();
        let width: u32 = svg
            .split("width=\"")
            .nth(1)
            .and_then(|w| w.split('"').next()?.parse().ok())
            .unwrap();
        assert_eq!(width, 640 + c.legend_width());
        // Each series name is drawn once, in the legend column (x ≥ the plot's 640 pixels).
        for name in ["zero-shot", "optical"] {
            let xs: Vec<f64> = svg
                .split("<text")
                .skip(1)
                .filter_map(|t| {
                    let (attrs, rest) = t.split_once('>')?;
                    let text = rest.split("</text>").next()?.trim();
                    let x = attrs.split("x=\"").nth(1)?.split('"').next()?;
                    (text == name).then(|| x.parse().unwrap())
                })
                .collect();
            assert_eq!(xs.len(), 1, "{name}: {xs:?}");
            assert!(xs[0] >= 640.0, "{name} at x = {}", xs[0]);
        }
    }

    #[test]
    fn line_charts_need_numeric_x() {
        let mut c = chart();
        c.x[1] = "ten".into();
        let dir = tempfile::tempdir().unwrap();
        let err = c.lines(&dir.path().join("x")).unwrap_err().to_string();
        assert!(err.contains("not a number"), "{err}");
    }
}
