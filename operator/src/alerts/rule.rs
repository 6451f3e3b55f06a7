//! One alerting rule and how it becomes JSON: the `severity` label, extra labels, and the
//! annotations every Sanxiang alert carries (`summary`, `description`, `runbook_url`).
//! Text that goes into an annotation is escaped here, because Prometheus expands
//! annotations as Go templates; routing label names are checked here, because a bad
//! name would make Prometheus refuse the whole rule group.

use serde_json::{Map, Value, json};

/// Text that ends up in an annotation, which Prometheus expands as a Go template: a
/// literal `{{` must not start an action.
pub(super) fn template_text(value: &str) -> String {
    value.replace("{{", "{{ \"{{\" }}")
}

fn runbook_url(base: &str, alert: &str) -> String {
    format!("{}/{alert}.md", base.trim_end_matches('/'))
}

pub(super) fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

pub(super) struct Rule {
    pub(super) alert: &'static str,
    pub(super) expr: String,
    pub(super) for_: Option<&'static str>,
    pub(super) severity: &'static str,
    pub(super) labels: Vec<(String, String)>,
    pub(super) summary: String,
    pub(super) description: String,
}

impl Rule {
    pub(super) fn to_json(&self, runbook_base_url: &str) -> Value {
        let mut labels = Map::new();
        labels.insert("severity".into(), self.severity.into());
        for (k, v) in &self.labels {
            labels.insert(k.clone(), v.clone().into());
        }
        let mut rule = Map::new();
        rule.insert("alert".into(), self.alert.into());
        rule.insert("expr".into(), self.expr.clone().into());
        if let Some(d) = self.for_ {
            rule.insert("for".into(), d.into());
        }
        rule.insert("labels".into(), Value::Object(labels));
        rule.insert(
            "annotations".into(),
            json!({
                "summary": self.summary,
                "description": self.description,
                "runbook_url": runbook_url(runbook_base_url, self.alert),
            }),
        );
        Value::Object(rule)
    }
}
