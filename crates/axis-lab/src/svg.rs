//! Minimal SVG charts for the validation report (no dependencies; text is escaped).

use std::fmt::Write;

pub const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
];

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One line series.
pub struct Series {
    pub label: String,
    pub color: String,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

/// A chart with linear axes; data coordinates map into a fixed plot area.
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub width: f64,
    pub height: f64,
    body: String,
}

const LEFT: f64 = 60.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 45.0;

impl Chart {
    pub fn new(title: &str, x_label: &str, y_label: &str, x: (f64, f64), y: (f64, f64)) -> Self {
        let pad = |(lo, hi): (f64, f64)| {
            if hi > lo {
                (lo, hi)
            } else {
                (lo - 1.0, lo + 1.0)
            }
        };
        Chart {
            title: title.to_owned(),
            x_label: x_label.to_owned(),
            y_label: y_label.to_owned(),
            x_range: pad(x),
            y_range: pad(y),
            width: 760.0,
            height: 440.0,
            body: String::new(),
        }
    }

    pub fn px(&self, x: f64) -> f64 {
        let (lo, hi) = self.x_range;
        LEFT + (x - lo) / (hi - lo) * (self.width - LEFT - RIGHT)
    }

    pub fn py(&self, y: f64) -> f64 {
        let (lo, hi) = self.y_range;
        self.height - BOTTOM - (y - lo) / (hi - lo) * (self.height - TOP - BOTTOM)
    }

    pub fn line(&mut self, s: &Series, legend_row: usize) {
        let pts: Vec<String> = s
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", self.px(x), self.py(y)))
            .collect();
        let dash = if s.dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let _ = writeln!(
            self.body,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{dash} points=\"{}\"/>",
            s.color,
            pts.join(" ")
        );
        for p in &pts {
            let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
            let _ = writeln!(
                self.body,
                "<circle cx=\"{x}\" cy=\"{y}\" r=\"2.5\" fill=\"{}\"/>",
                s.color
            );
        }
        let ly = TOP + 14.0 * legend_row as f64;
        let lx = self.width - RIGHT + 10.0;
        let _ = writeln!(
            self.body,
            "<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{}\" stroke-width=\"2\"{dash}/><text x=\"{}\" y=\"{}\" font-size=\"10\">{}</text>",
            lx + 18.0,
            s.color,
            lx + 22.0,
            ly + 3.5,
            escape(&s.label)
        );
    }

    pub fn point(&mut self, x: f64, y: f64, color: &str, r: f64, label: Option<&str>) {
        if !(x.is_finite() && y.is_finite()) {
            return;
        }
        let (cx, cy) = (self.px(x), self.py(y));
        let _ = writeln!(
            self.body,
            "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"{r}\" fill=\"{color}\" fill-opacity=\"0.8\"/>"
        );
        if let Some(l) = label {
            let _ = writeln!(
                self.body,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"7\" fill=\"#333\">{}</text>",
                cx + r + 1.0,
                cy + 2.5,
                escape(l)
            );
        }
    }

    pub fn hline(&mut self, y: f64, color: &str, label: &str) {
        let py = self.py(y);
        let _ = writeln!(
            self.body,
            "<line x1=\"{LEFT}\" y1=\"{py:.1}\" x2=\"{:.1}\" y2=\"{py:.1}\" stroke=\"{color}\" stroke-dasharray=\"3 3\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"{color}\">{}</text>",
            self.width - RIGHT,
            LEFT + 4.0,
            py - 3.0,
            escape(label)
        );
    }

    pub fn vline(&mut self, x: f64, color: &str, label: &str) {
        let px = self.px(x);
        let _ = writeln!(
            self.body,
            "<line x1=\"{px:.1}\" y1=\"{TOP}\" x2=\"{px:.1}\" y2=\"{:.1}\" stroke=\"{color}\" stroke-dasharray=\"3 3\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"{color}\">{}</text>",
            self.height - BOTTOM,
            px + 3.0,
            TOP + 10.0,
            escape(label)
        );
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let (w, h) = (self.width, self.height);
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\">"
        );
        let _ = writeln!(out, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        let _ = writeln!(
            out,
            "<text x=\"{LEFT}\" y=\"22\" font-size=\"14\" font-weight=\"bold\">{}</text>",
            escape(&self.title)
        );
        // Axes and ticks.
        let (x0, x1, y0, y1) = (LEFT, w - RIGHT, TOP, h - BOTTOM);
        let _ = writeln!(
            out,
            "<rect x=\"{x0}\" y=\"{y0}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>",
            x1 - x0,
            y1 - y0
        );
        for i in 0..=5 {
            let f = f64::from(i) / 5.0;
            let xv = self.x_range.0 + f * (self.x_range.1 - self.x_range.0);
            let yv = self.y_range.0 + f * (self.y_range.1 - self.y_range.0);
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
                self.px(xv),
                y1 + 14.0,
                tick(xv)
            );
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
                x0 - 4.0,
                self.py(yv) + 3.5,
                tick(yv)
            );
        }
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            (x0 + x1) / 2.0,
            h - 8.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            out,
            "<text transform=\"translate(14 {:.1}) rotate(-90)\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            (y0 + y1) / 2.0,
            escape(&self.y_label)
        );
        out.push_str(&self.body);
        out.push_str("</svg>\n");
        out
    }
}

fn tick(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_text_and_map_coordinates() {
        let mut c = Chart::new("a <b> & c", "x", "y", (0.0, 10.0), (0.0, 1.0));
        assert!((c.px(0.0) - LEFT).abs() < 1e-9);
        assert!(c.py(1.0) < c.py(0.0));
        c.point(5.0, 0.5, "#000", 3.0, Some("<script>"));
        let svg = c.render();
        assert!(svg.contains("a &lt;b&gt; &amp; c") && svg.contains("&lt;script&gt;"));
        assert!(!svg.contains("<script>"));
    }
}
