//! The Prometheus text exposition format, written by hand: a family is a
//! name, a help line, a type and its samples; [`render`] writes each
//! family's `# HELP` and `# TYPE` once, then its samples, escaping label
//! values and help text as the format requires.

use std::fmt::Write as _;

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

/// One sample: its labels (in order) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// A metric family.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<Sample>,
}

impl Family {
    pub fn gauge(name: &'static str, help: &'static str) -> Family {
        Family {
            name,
            help,
            kind: Kind::Gauge,
            samples: Vec::new(),
        }
    }

    pub fn counter(name: &'static str, help: &'static str) -> Family {
        Family {
            kind: Kind::Counter,
            ..Family::gauge(name, help)
        }
    }

    /// Adds a sample labelled `labels`.
    pub fn add(&mut self, labels: &[(&'static str, &str)], value: f64) {
        let labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        self.samples.push(Sample { labels, value });
    }

    /// `self` with one sample added, for building a family in one go.
    pub fn with(mut self, labels: &[(&'static str, &str)], value: f64) -> Family {
        self.add(labels, value);
        self
    }
}

/// The text of `families`; a family without samples is left out.
pub fn render(families: &[Family]) -> String {
    let mut out = String::new();
    for f in families.iter().filter(|f| !f.samples.is_empty()) {
        let kind = match f.kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(f.help));
        let _ = writeln!(out, "# TYPE {} {kind}", f.name);
        for s in &f.samples {
            out.push_str(f.name);
            if !s.labels.is_empty() {
                let each: Vec<String> = s
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                    .collect();
                let _ = write!(out, "{{{}}}", each.join(","));
            }
            let _ = writeln!(out, " {}", number(s.value));
        }
    }
    out
}

/// A value as the format spells it (`+Inf`, `-Inf`, `NaN`, else Rust's
/// shortest text that reads back the same).
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// Help text: backslash and newline escaped.
fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A label value: backslash, double quote and newline escaped.
fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_help_and_type_per_family_then_its_samples() {
        let runs = Family::counter("x_runs_total", "Runs.\nAll of them.")
            .with(&[("pipeline", "a")], 3.0)
            .with(&[("pipeline", "b")], 0.5);
        let empty = Family::gauge("x_empty", "Nothing.");
        let up = Family::gauge("x_up", "Up.").with(&[], 1.0);
        let text = render(&[runs, empty, up]);
        assert_eq!(
            text,
            "# HELP x_runs_total Runs.\\nAll of them.\n# TYPE x_runs_total counter\n\
             x_runs_total{pipeline=\"a\"} 3\nx_runs_total{pipeline=\"b\"} 0.5\n\
             # HELP x_up Up.\n# TYPE x_up gauge\nx_up 1\n"
        );
    }

    #[test]
    fn label_values_and_odd_numbers_are_escaped() {
        let f = Family::gauge("x", "h")
            .with(&[("p", "a \"b\" \\ c\nd"), ("q", "")], f64::INFINITY)
            .with(&[], f64::NAN)
            .with(&[], -f64::INFINITY)
            .with(&[], 1_700_000_000.0);
        let text = render(&[f]);
        assert!(
            text.contains("x{p=\"a \\\"b\\\" \\\\ c\\nd\",q=\"\"} +Inf\n"),
            "{text}"
        );
        assert!(text.contains("x NaN\nx -Inf\nx 1700000000\n"), "{text}");
    }
}
