//! Rendering metric families: Prometheus text exposition format 0.0.4, and the JSON shape
//! of Vault's `sys/metrics` (`Gauges`, `Counters`, `Samples`).

use std::fmt::Write as _;

use serde_json::{json, Map};

/// What a family measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One series' value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    /// Cumulative `(upper bound in seconds, count)` pairs ending at `+Inf`, the sum of the
    /// observations in seconds and their count.
    Histogram {
        buckets: Vec<(f64, u64)>,
        sum: f64,
        count: u64,
    },
}

/// A series' labels, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    labels: Vec<(&'static str, String)>,
}

impl Series {
    /// A series with these labels.
    pub fn labelled(labels: &[(&'static str, &String)]) -> Self {
        Series {
            labels: labels.iter().map(|(k, v)| (*k, (*v).clone())).collect(),
        }
    }

    /// Adds a label.
    pub fn label(mut self, name: &'static str, value: &str) -> Self {
        self.labels.push((name, value.to_owned()));
        self
    }
}

/// A metric name with its help text, type and series.
#[derive(Debug, Clone)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub series: Vec<(Series, Value)>,
}

impl Family {
    pub fn new(name: &'static str, help: &'static str, kind: Kind) -> Self {
        Family {
            name,
            help,
            kind,
            series: Vec::new(),
        }
    }

    /// A family of one unlabelled value.
    pub fn single(name: &'static str, help: &'static str, kind: Kind, value: f64) -> Self {
        let mut family = Family::new(name, help, kind);
        family.push(Series::default(), Value::Scalar(value));
        family
    }

    pub fn push(&mut self, series: Series, value: Value) {
        self.series.push((series, value));
    }
}

/// The Prometheus text exposition format, version 0.0.4.
pub fn prometheus(families: &[Family]) -> String {
    let mut out = String::new();
    for family in families {
        let kind = match family.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(out, "# TYPE {} {kind}", family.name);
        for (series, value) in &family.series {
            match value {
                Value::Scalar(v) => line(&mut out, family.name, "", &series.labels, None, *v),
                Value::Histogram {
                    buckets,
                    sum,
                    count,
                } => {
                    for (bound, n) in buckets {
                        let le = if bound.is_infinite() {
                            "+Inf".to_owned()
                        } else {
                            bound.to_string()
                        };
                        let le = Some(("le", le.as_str()));
                        line(
                            &mut out,
                            family.name,
                            "_bucket",
                            &series.labels,
                            le,
                            *n as f64,
                        );
                    }
                    line(&mut out, family.name, "_sum", &series.labels, None, *sum);
                    line(
                        &mut out,
                        family.name,
                        "_count",
                        &series.labels,
                        None,
                        *count as f64,
                    );
                }
            }
        }
    }
    out
}

fn line(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(&'static str, String)],
    extra: Option<(&str, &str)>,
    value: f64,
) {
    out.push_str(name);
    out.push_str(suffix);
    let all = labels
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(extra)
        .collect::<Vec<_>>();
    if !all.is_empty() {
        out.push('{');
        for (index, (key, value)) in all.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            let _ = write!(out, "{key}=\"{}\"", escape(value));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Label values escape backslash, double quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Vault's JSON shape: gauges with `Value`, counters with `Count`/`Sum`, histograms as
/// samples with `Count`/`Sum`/`Mean` in milliseconds, as Vault reports timings.
pub fn json(families: &[Family], timestamp: &str) -> serde_json::Value {
    let (mut gauges, mut counters, mut samples) = (Vec::new(), Vec::new(), Vec::new());
    for family in families {
        for (series, value) in &family.series {
            let labels: Map<String, serde_json::Value> = series
                .labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), json!(v)))
                .collect();
            match (family.kind, value) {
                (Kind::Gauge, Value::Scalar(v)) => gauges.push(json!({
                    "Name": family.name, "Value": v, "Labels": labels,
                })),
                (_, Value::Scalar(v)) => counters.push(json!({
                    "Name": family.name, "Count": v, "Sum": v, "Labels": labels,
                })),
                (_, Value::Histogram { sum, count, .. }) => {
                    let sum_ms = sum * 1000.0;
                    let mean = if *count == 0 {
                        0.0
                    } else {
                        sum_ms / *count as f64
                    };
                    samples.push(json!({
                        "Name": family.name, "Count": count, "Sum": sum_ms, "Mean": mean,
                        "Labels": labels,
                    }));
                }
            }
        }
    }
    json!({
        "Timestamp": timestamp,
        "Gauges": gauges,
        "Counters": counters,
        "Samples": samples,
        "Points": [],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_has_help_type_and_escaped_labels() {
        let mut family = Family::new("cofre_x_total", "An example.", Kind::Counter);
        family.push(
            Series::default().label("mount", "a\"b\\c\nd"),
            Value::Scalar(3.0),
        );
        let text = prometheus(&[family, Family::single("cofre_up", "Up.", Kind::Gauge, 1.0)]);
        assert_eq!(
            text,
            "# HELP cofre_x_total An example.\n# TYPE cofre_x_total counter\n\
             cofre_x_total{mount=\"a\\\"b\\\\c\\nd\"} 3\n\
             # HELP cofre_up Up.\n# TYPE cofre_up gauge\ncofre_up 1\n"
        );
    }

    #[test]
    fn histograms_render_buckets_sum_and_count() {
        let mut family = Family::new("cofre_t_seconds", "T.", Kind::Histogram);
        family.push(
            Series::default().label("operation", "get"),
            Value::Histogram {
                buckets: vec![(0.001, 1), (f64::INFINITY, 2)],
                sum: 0.5,
                count: 2,
            },
        );
        let text = prometheus(std::slice::from_ref(&family));
        assert!(text.contains("cofre_t_seconds_bucket{operation=\"get\",le=\"0.001\"} 1\n"));
        assert!(text.contains("cofre_t_seconds_bucket{operation=\"get\",le=\"+Inf\"} 2\n"));
        assert!(text.contains("cofre_t_seconds_sum{operation=\"get\"} 0.5\n"));
        assert!(text.contains("cofre_t_seconds_count{operation=\"get\"} 2\n"));
        let body = json(&[family], "now");
        assert_eq!(body["Samples"][0]["Count"], 2);
        assert_eq!(body["Samples"][0]["Mean"], 250.0);
        assert_eq!(body["Samples"][0]["Labels"]["operation"], "get");
    }
}
