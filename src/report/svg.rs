//! The charts of the status page, as inline SVG: bars over the runs,
//! oldest on the left, drawn on one scale per chart. Text stays out of the
//! drawing (the page says the figures in HTML beside it), so a chart can
//! stretch to any width, a phone's or a printed page's, and stay legible.

use std::fmt::Write;

use super::html::escape;

/// One bar: its value, the CSS class that colours it, its tooltip.
#[derive(Debug, Clone)]
pub struct Bar {
    pub value: f64,
    pub class: &'static str,
    pub tip: String,
}

/// The drawing's width in its own units; heights are given per chart.
const WIDTH: f64 = 900.0;

/// A bar chart. Each layer holds one bar per run, oldest first, and is
/// drawn over the one before on the same scale (requests, then the
/// throttled answers among them). The newest run sits at the right edge;
/// room for at least `slots` runs keeps a short history from drawing
/// wide bars. `class` is the `<svg>`'s (its height comes from the CSS).
pub fn bars(label: &str, class: &str, height: f64, slots: usize, layers: &[Vec<Bar>]) -> String {
    let runs = layers.iter().map(Vec::len).max().unwrap_or(0);
    let slots = slots.max(runs).max(1);
    let top = layers
        .iter()
        .flatten()
        .map(|b| b.value)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let scale = if top > 0.0 { height / top } else { 0.0 };
    let slot = WIDTH / slots as f64;
    let mut out = String::new();
    let label = escape(label);
    let _ = write!(
        out,
        "<svg class=\"{class}\" viewBox=\"0 0 {WIDTH} {height}\" preserveAspectRatio=\"none\" \
         role=\"img\" aria-label=\"{label}\"><title>{label}</title>"
    );
    // Grid lines at half and full height; a sparkline goes without.
    let grid: &[f64] = if class == "spark" { &[] } else { &[0.5, 1.0] };
    for frac in grid {
        let y = height - height * frac;
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"0\" x2=\"{WIDTH}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>"
        );
    }
    for layer in layers {
        let first = slots - layer.len();
        for (i, bar) in layer.iter().enumerate() {
            if !(bar.value.is_finite() && bar.value > 0.0) {
                continue;
            }
            // A value too small to see still shows as a sliver.
            let h = (bar.value * scale).max(height / 100.0);
            let x = (first + i) as f64 * slot + slot * 0.1;
            let _ = write!(
                out,
                "<rect class=\"{}\" x=\"{x:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{h:.2}\">\
                 <title>{}</title></rect>",
                bar.class,
                height - h,
                slot * 0.8,
                escape(&bar.tip)
            );
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(value: f64, tip: &str) -> Bar {
        Bar {
            value,
            class: "req",
            tip: tip.to_owned(),
        }
    }

    #[test]
    fn bars_share_one_scale_and_the_newest_is_on_the_right() {
        let layers = vec![
            vec![bar(10.0, "a"), bar(5.0, "b")],
            vec![bar(0.0, "zero"), bar(2.5, "c")],
        ];
        let svg = bars("Requests", "chart", 100.0, 4, &layers);
        // Slots of 225 units: the two runs take the last two.
        assert!(
            svg.contains("x=\"472.50\" y=\"0.00\" width=\"180.00\" height=\"100.00\""),
            "{svg}"
        );
        assert!(
            svg.contains("x=\"697.50\" y=\"50.00\" width=\"180.00\" height=\"50.00\""),
            "{svg}"
        );
        assert!(
            svg.contains("y=\"75.00\" width=\"180.00\" height=\"25.00\""),
            "{svg}"
        );
        assert!(!svg.contains("zero"), "a zero draws nothing");
        assert_eq!(svg.matches("<rect").count(), 3);
    }

    #[test]
    fn tooltips_and_labels_are_escaped() {
        let svg = bars(
            "<b>",
            "chart",
            10.0,
            1,
            &[vec![bar(1.0, "</title><script>")]],
        );
        assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;/title&gt;&lt;script&gt;"));
    }

    #[test]
    fn nothing_to_draw_is_an_empty_frame() {
        let svg = bars("Nothing", "chart", 10.0, 90, &[]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(!svg.contains("<rect"));
        let zeros = bars("Zeros", "chart", 10.0, 90, &[vec![bar(0.0, "z"); 3]]);
        assert!(!zeros.contains("<rect") && !zeros.contains("NaN"));
    }
}
