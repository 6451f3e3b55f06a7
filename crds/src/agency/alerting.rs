//! Routing of an agency's alerts: the labels an administrator adds for Alertmanager, and
//! the labels that identify an agency alert, which the operator sets and nobody may
//! override. The CEL rule on `spec.alerting.labels` and [`RESERVED_ALERT_LABELS`] say the
//! same (a unit test keeps them equal), and the operator's alert builder skips the same
//! keys.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Most alert labels an agency may add.
pub const MAX_ALERT_LABELS: usize = 16;
/// Labels that identify an agency alert, set by the operator (and Prometheus); an
/// Agency's `spec.alerting.labels` may not override them. The CEL rule on the field
/// repeats this list (a unit test keeps the two equal).
pub const RESERVED_ALERT_LABELS: [&str; 11] = [
    "alertname",
    "severity",
    "namespace",
    "province",
    "city",
    "county",
    "agency",
    "agency_name",
    "plan",
    "milestone",
    "due",
];

/// Routing of the agency's alerts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertingSpec {
    /// Extra Prometheus labels on every alert of the agency, for Alertmanager routing,
    /// e.g. `{team: market-supervision}`, so that the city's AlertmanagerConfig can route
    /// this agency's alerts to its own receiver. Names are Prometheus label names;
    /// alertname, severity, namespace, province, city, county, agency, agency_name, plan,
    /// milestone and due are set by the operator and may not be given here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend(
        "maxProperties" = 16,
        "x-kubernetes-validations" = [
            {
                "rule": "self.all(k, size(k) <= 63 && k.matches('^[a-zA-Z_][a-zA-Z0-9_]*$') && !k.startsWith('__'))",
                "message": "label names must be Prometheus label names ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __, at most 63 characters)"
            },
            {
                "rule": "self.all(k, size(self[k]) <= 256)",
                "message": "label values must be at most 256 characters"
            },
            {
                "rule": "!self.exists(k, k in ['alertname', 'severity', 'namespace', 'province', 'city', 'county', 'agency', 'agency_name', 'plan', 'milestone', 'due'])",
                "messageExpression": "'label ' + self.filter(k, k in ['alertname', 'severity', 'namespace', 'province', 'city', 'county', 'agency', 'agency_name', 'plan', 'milestone', 'due'])[0] + ' is set by the operator (reserved: alertname, severity, namespace, province, city, county, agency, agency_name, plan, milestone, due)'"
            }
        ]
    ))]
    pub labels: BTreeMap<String, String>,
}

pub(super) fn is_prometheus_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}
