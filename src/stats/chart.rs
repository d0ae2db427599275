//! Bar charts of rates against the 60 % target, drawn on the server as inline SVG: no
//! script, no external file, only presentation attributes (the Content-Security-Policy
//! allows no inline styles). Each bar has a `<title>` (read by screen readers and shown as
//! a tooltip) and a text label; a bar whose rate is not shown is drawn hatched, labelled
//! with the published counts (`<5 / 6`); a group without clients has no bar.

use std::fmt::Write;

/// One bar.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    /// The published rate, `None` when hidden or when there is nobody to count.
    pub rate: Option<f64>,
    /// The text after the bar: `61,5 %`, or `<5 / 6` when the rate is hidden.
    pub value_text: String,
    /// The bar's `<title>`: label, rate and counts in words.
    pub title: String,
    /// No clients in the group: nothing to draw.
    pub empty: bool,
}

/// Texts of the chart, in the page's language.
#[derive(Debug, Clone)]
pub struct Labels {
    /// The chart's `<title>`.
    pub title: String,
    /// The chart's `<desc>`.
    pub desc: String,
    /// Label of the target line, e.g. `Mục tiêu 60 %`.
    pub target: String,
}

const WIDTH: u32 = 640;
const LABEL_W: u32 = 190;
const BAR_W: u32 = 350;
const ROW_H: u32 = 26;
const TOP: u32 = 30;
const BAR_COLOUR: &str = "#1f5f8b";
const BELOW_COLOUR: &str = "#b35c00";
const TARGET_COLOUR: &str = "#b00020";

/// Escapes text for SVG/XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Shortens a long label to fit the label column (the full text stays in the `<title>`).
fn fit(label: &str) -> String {
    const MAX: usize = 28;
    if label.chars().count() <= MAX {
        label.to_owned()
    } else {
        let mut s: String = label.chars().take(MAX - 1).collect();
        s.push('…');
        s
    }
}

/// The SVG of a horizontal bar chart; `id` makes the element ids unique on the page.
pub fn bars(id: &str, bars: &[Bar], target: f64, labels: &Labels) -> String {
    let rows = u32::try_from(bars.len()).unwrap_or(u32::MAX).max(1);
    let height = TOP + rows * ROW_H + 10;
    let id = escape(id);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" \
         width=\"100%\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" font-family=\"sans-serif\" font-size=\"13\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>\
         <defs><pattern id=\"{id}-hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" \
         patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#ffffff\"/>\
         <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#6b6b6b\" stroke-width=\"2\"/></pattern></defs>",
        escape(&labels.title),
        escape(&labels.desc),
    );
    // Axis: 0 % and 100 % ticks, and the bar area's frame.
    let x0 = LABEL_W;
    let bottom = TOP + rows * ROW_H;
    let _ = write!(
        svg,
        "<line x1=\"{x0}\" y1=\"{}\" x2=\"{x0}\" y2=\"{bottom}\" stroke=\"#444444\"/>\
         <text x=\"{x0}\" y=\"{}\" text-anchor=\"middle\" fill=\"#444444\">0 %</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#444444\">100 %</text>",
        TOP - 4,
        TOP - 16,
        x0 + BAR_W,
        TOP - 16,
    );
    for (i, bar) in bars.iter().enumerate() {
        let i = u32::try_from(i).unwrap_or(0);
        let y = TOP + i * ROW_H;
        let mid = y + ROW_H / 2 + 4;
        let _ = write!(
            svg,
            "<g><title>{}</title><text x=\"{}\" y=\"{mid}\" text-anchor=\"end\" fill=\"#222222\">{}</text>",
            escape(&bar.title),
            LABEL_W - 8,
            escape(&fit(&bar.label)),
        );
        let bar_y = y + 4;
        let bar_h = ROW_H - 8;
        let text_x = match (bar.empty, bar.rate) {
            (true, _) => x0 + 6,
            (false, Some(rate)) => {
                let w = (rate.clamp(0.0, 1.0) * f64::from(BAR_W)).round();
                let colour = if rate >= target { BAR_COLOUR } else { BELOW_COLOUR };
                let _ = write!(
                    svg,
                    "<rect x=\"{x0}\" y=\"{bar_y}\" width=\"{w}\" height=\"{bar_h}\" fill=\"{colour}\"/>"
                );
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0..=BAR_W
                let w = w as u32;
                x0 + w + 6
            }
            (false, None) => {
                // Hidden: a short hatched bar that does not suggest any value.
                let w = 40;
                let _ = write!(
                    svg,
                    "<rect x=\"{x0}\" y=\"{bar_y}\" width=\"{w}\" height=\"{bar_h}\" fill=\"url(#{id}-hatch)\" \
                     stroke=\"#6b6b6b\"/>"
                );
                x0 + w + 6
            }
        };
        let _ = write!(
            svg,
            "<text x=\"{text_x}\" y=\"{mid}\" fill=\"#222222\">{}</text></g>",
            escape(&bar.value_text)
        );
    }
    // The target line last, so it is drawn over the bars.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0..=BAR_W
    let tx = x0 + (target.clamp(0.0, 1.0) * f64::from(BAR_W)).round() as u32;
    let _ = write!(
        svg,
        "<g><title>{label}</title><line x1=\"{tx}\" y1=\"{y1}\" x2=\"{tx}\" y2=\"{bottom}\" \
         stroke=\"{TARGET_COLOUR}\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/><text x=\"{tx}\" y=\"{y2}\" \
         text-anchor=\"middle\" fill=\"{TARGET_COLOUR}\">{label}</text></g></svg>",
        label = escape(&labels.target),
        y1 = TOP - 2,
        y2 = TOP - 4,
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, rate: Option<f64>, empty: bool) -> Bar {
        Bar {
            label: label.into(),
            rate,
            value_text: rate.map_or("<5".into(), |r| format!("{:.1} %", r * 100.0)),
            title: format!("{label}: …"),
            empty,
        }
    }

    #[test]
    fn bars_are_drawn_with_titles_and_hatching() {
        let labels = Labels {
            title: "Tỷ lệ theo địa bàn".into(),
            desc: "…".into(),
            target: "Mục tiêu 60 %".into(),
        };
        let svg = bars(
            "area",
            &[
                bar("Vinh <&>", Some(0.615), false),
                bar("Cửa Lò", None, false),
                bar("Quế Phong", None, true),
            ],
            0.6,
            &labels,
        );
        assert!(svg.starts_with("<svg"));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("<title id=\"area-t\">Tỷ lệ theo địa bàn</title>"));
        assert!(svg.contains("Vinh &lt;&amp;&gt;"));
        assert!(svg.contains("width=\"215\""), "61.5 % of 350");
        assert!(svg.contains("url(#area-hatch)"));
        assert!(svg.contains("&lt;5"));
        assert!(svg.contains("Mục tiêu 60 %"));
        assert!(!svg.contains("style="));
        assert_eq!(svg.matches("<rect x=").count(), 2, "no bar for an empty group");
    }
}
