//! The subset of prometheus-operator's `AlertmanagerConfig` (`monitoring.coreos.com/v1alpha1`)
//! that Sanxiang supports: one per city namespace, edited by the city's administrators, to
//! route the city's alerts to the city's receivers.
//!
//! On a cluster with prometheus-operator, that operator owns the CRD and merges these
//! objects into its Alertmanager, adding a `namespace` matcher to every route. Sanxiang's
//! alerts are per city rather than per namespace, so wherever Sanxiang renders the objects
//! itself (the local platform's Alertmanager, see `sanxiang_operator::alertmanager`) it adds
//! a `city` matcher instead: a city's route and inhibit rules only ever see that city's
//! alerts, whatever matchers the city writes.
//!
//! Supported: `route` (receiver, groupBy, groupWait/groupInterval/repeatInterval, matchers,
//! one level of child `routes`), `receivers` with `webhookConfigs`, and `inhibitRules`.
//! Anything else a receiver names (e.g. `emailConfigs`) is kept by the apiserver and refused
//! by [`validate_alertmanager_config`] with the field's path, never silently dropped.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::field_error::FieldError;

/// Receivers one AlertmanagerConfig may define.
pub const MAX_RECEIVERS: usize = 20;

/// Routing of a city's alerts to its receivers (prometheus-operator's AlertmanagerConfig,
/// the subset Sanxiang renders; see the module docs).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "monitoring.coreos.com",
    version = "v1alpha1",
    kind = "AlertmanagerConfig",
    doc = "Alert routing of one namespace (the subset of prometheus-operator's AlertmanagerConfig that Sanxiang supports).",
    plural = "alertmanagerconfigs",
    namespaced,
    shortname = "amcfg",
    category = "prometheus-operator",
    status = "AlertmanagerConfigStatus",
    printcolumn = r#"{"name":"Accepted","type":"string","jsonPath":".status.conditions[?(@.type==\"Accepted\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Accepted\")].reason"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerConfigSpec {
    /// The route of this namespace's alerts. Where Sanxiang renders it, a `city` matcher
    /// for the namespace's city is always added first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Route>,
    /// Receivers the route (and its child routes) may name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub receivers: Vec<Receiver>,
    /// Alerts to mute while others fire; the city matcher is added to both sides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub inhibit_rules: Vec<InhibitRule>,
}

/// A route: which alerts (matchers), to whom (receiver) and how they are batched.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    /// Name of a receiver of this object.
    pub receiver: String,
    /// Labels that group alerts into one notification, e.g. `[agency]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// How long to wait before the first notification of a group (Alertmanager
    /// duration, e.g. `30s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<String>,
    /// How long to wait before notifying about new alerts of a group already notified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<String>,
    /// How long before a notification is sent again for alerts still firing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<String>,
    /// Conditions an alert must meet (all of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub matchers: Vec<Matcher>,
    /// Whether later sibling routes are tried after this one matched.
    #[serde(
        default,
        rename = "continue",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub continue_: bool,
    /// Child routes (one level), tried in order within this route's alerts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub routes: Vec<ChildRoute>,
}

/// A child route: like [`Route`] without further children.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChildRoute {
    pub receiver: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub matchers: Vec<Matcher>,
    #[serde(
        default,
        rename = "continue",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub continue_: bool,
}

/// One label condition, e.g. `{name: severity, value: critical}` or
/// `{name: county, value: "2112.*", matchType: "=~"}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Label value (a RE2 regular expression for `=~` and `!~`).
    #[serde(default)]
    pub value: String,
    /// `=` (the default), `!=`, `=~` or `!~`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["=", "!=", "=~", "!~"]))]
    pub match_type: Option<String>,
}

/// A destination of notifications. Only webhooks are supported; any other kind of
/// configuration is kept so that validation can name it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct Receiver {
    /// Unique within the object; referenced by routes.
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub webhook_configs: Vec<WebhookConfig>,
    /// Fields this subset does not support (refused by validation, named).
    #[serde(flatten)]
    #[schemars(skip)]
    pub unsupported: BTreeMap<String, serde_json::Value>,
}

/// A webhook receiving Alertmanager's JSON notifications.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookConfig {
    /// `http://` or `https://` URL the notifications are POSTed to.
    pub url: String,
    /// Whether resolved alerts are notified too (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
    /// Most alerts in one notification (0 = all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_alerts: Option<i32>,
}

/// Mutes target alerts while a source alert fires with equal values of `equal`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InhibitRule {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_match: Vec<Matcher>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_match: Vec<Matcher>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equal: Vec<String>,
}

/// What the renderer made of the object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerConfigStatus {
    /// `Accepted`: True when the object is part of the running Alertmanager configuration;
    /// False with reason `InvalidSpec` and the field in the message otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// Condition type of [`AlertmanagerConfigStatus`].
pub const ACCEPTED: &str = "Accepted";

/// The matcher operators Alertmanager knows.
pub const MATCH_TYPES: [&str; 4] = ["=", "!=", "=~", "!~"];

/// Checks what the schema cannot: receiver names unique and referenced names defined,
/// label names valid, durations in Alertmanager's syntax, webhook URLs absolute http(s),
/// no unsupported receiver kinds. Every error names its field from the object root.
pub fn validate_alertmanager_config(spec: &AlertmanagerConfigSpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    if spec.receivers.len() > MAX_RECEIVERS {
        errors.push(FieldError::new(
            "spec.receivers",
            format!("at most {MAX_RECEIVERS} receivers"),
        ));
    }
    for (i, r) in spec.receivers.iter().enumerate() {
        let at = format!("spec.receivers[{i}]");
        if r.name.trim().is_empty() {
            errors.push(FieldError::new(format!("{at}.name"), "must not be empty"));
        } else if names.contains(&r.name.as_str()) {
            errors.push(FieldError::new(
                format!("{at}.name"),
                format!("receiver {:?} is defined twice", r.name),
            ));
        }
        names.push(&r.name);
        for key in r.unsupported.keys() {
            errors.push(FieldError::new(
                format!("{at}.{key}"),
                "not supported here: receivers may only have webhookConfigs",
            ));
        }
        for (j, w) in r.webhook_configs.iter().enumerate() {
            let url = w.url.trim();
            let ok = ["http://", "https://"]
                .iter()
                .any(|s| url.strip_prefix(s).is_some_and(|rest| !rest.is_empty()))
                && !url.contains(char::is_whitespace);
            if !ok {
                errors.push(FieldError::new(
                    format!("{at}.webhookConfigs[{j}].url"),
                    "must be an absolute http:// or https:// URL",
                ));
            }
        }
    }
    if let Some(route) = &spec.route {
        let mut check = |at: String,
                         receiver: &str,
                         group_by: &[String],
                         durations: [(&str, &Option<String>); 3],
                         matchers: &[Matcher]| {
            if !names.contains(&receiver) {
                errors.push(FieldError::new(
                    format!("{at}.receiver"),
                    format!("names no receiver of spec.receivers: {receiver:?}"),
                ));
            }
            for (k, g) in group_by.iter().enumerate() {
                if g != "..." && !valid_label_name(g) {
                    errors.push(FieldError::new(
                        format!("{at}.groupBy[{k}]"),
                        format!("{g:?} is not a label name (letters, digits, _) or \"...\""),
                    ));
                }
            }
            for (field, value) in durations {
                if let Some(v) = value
                    && !valid_duration(v)
                {
                    errors.push(FieldError::new(
                        format!("{at}.{field}"),
                        format!("{v:?} is not a duration such as 30s, 5m or 4h"),
                    ));
                }
            }
            check_matchers(&mut errors, &format!("{at}.matchers"), matchers);
        };
        check(
            "spec.route".into(),
            &route.receiver,
            &route.group_by,
            [
                ("groupWait", &route.group_wait),
                ("groupInterval", &route.group_interval),
                ("repeatInterval", &route.repeat_interval),
            ],
            &route.matchers,
        );
        for (i, c) in route.routes.iter().enumerate() {
            check(
                format!("spec.route.routes[{i}]"),
                &c.receiver,
                &c.group_by,
                [
                    ("groupWait", &c.group_wait),
                    ("groupInterval", &c.group_interval),
                    ("repeatInterval", &c.repeat_interval),
                ],
                &c.matchers,
            );
        }
    }
    for (i, rule) in spec.inhibit_rules.iter().enumerate() {
        let at = format!("spec.inhibitRules[{i}]");
        check_matchers(
            &mut errors,
            &format!("{at}.sourceMatch"),
            &rule.source_match,
        );
        check_matchers(
            &mut errors,
            &format!("{at}.targetMatch"),
            &rule.target_match,
        );
        for (k, e) in rule.equal.iter().enumerate() {
            if !valid_label_name(e) {
                errors.push(FieldError::new(
                    format!("{at}.equal[{k}]"),
                    format!("{e:?} is not a label name"),
                ));
            }
        }
    }
    errors
}

fn check_matchers(errors: &mut Vec<FieldError>, at: &str, matchers: &[Matcher]) {
    for (i, m) in matchers.iter().enumerate() {
        if !valid_label_name(&m.name) {
            errors.push(FieldError::new(
                format!("{at}[{i}].name"),
                format!("{:?} is not a label name (letters, digits, _)", m.name),
            ));
        }
        if let Some(t) = &m.match_type
            && !MATCH_TYPES.contains(&t.as_str())
        {
            errors.push(FieldError::new(
                format!("{at}[{i}].matchType"),
                format!("{t:?} is none of =, !=, =~, !~"),
            ));
        }
    }
}

/// A Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`.
pub fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

/// Alertmanager's (Prometheus') duration: one or more `<number><unit>` with units
/// ms, s, m, h, d, w, y, e.g. `30s` or `1h30m`.
pub fn valid_duration(value: &str) -> bool {
    let mut rest = value;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ms", "s", "m", "h", "d", "w", "y"]
            .into_iter()
            .find(|u| rest.starts_with(u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> AlertmanagerConfigSpec {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn fields(spec: &AlertmanagerConfigSpec) -> Vec<String> {
        validate_alertmanager_config(spec)
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_webhook_route_is_valid() {
        let s = spec(
            "route: {receiver: duty, groupBy: [agency], groupWait: 10s, repeatInterval: 4h,\n\
             \x20 matchers: [{name: severity, value: critical|warning, matchType: '=~'}]}\n\
             receivers: [{name: duty, webhookConfigs: [{url: 'http://127.0.0.1:9/hook'}]}]\n",
        );
        assert_eq!(fields(&s), Vec::<String>::new());
    }

    #[test]
    fn every_mistake_names_its_field() {
        let s = spec(
            "route:\n  receiver: nobody\n  groupBy: [bad-label]\n  groupWait: soon\n  matchers: [{name: '1x', value: a, matchType: '=='}]\n  routes: [{receiver: ghost}]\n\
             receivers:\n- {name: duty, webhookConfigs: [{url: 'ftp://x'}], emailConfigs: [{to: a@b}]}\n- {name: duty}\n\
             inhibitRules: [{equal: ['-']}]\n",
        );
        assert_eq!(
            fields(&s),
            [
                "spec.receivers[0].emailConfigs",
                "spec.receivers[0].webhookConfigs[0].url",
                "spec.receivers[1].name",
                "spec.route.receiver",
                "spec.route.groupBy[0]",
                "spec.route.groupWait",
                "spec.route.matchers[0].name",
                "spec.route.matchers[0].matchType",
                "spec.route.routes[0].receiver",
                "spec.inhibitRules[0].equal[0]",
            ]
        );
    }

    #[test]
    fn durations_follow_alertmanager() {
        for ok in ["30s", "5m", "1h30m", "100ms", "1d", "2w"] {
            assert!(valid_duration(ok), "{ok}");
        }
        for bad in ["", "30", "s", "1.5h", "-1s", "1 h", "10x"] {
            assert!(!valid_duration(bad), "{bad}");
        }
    }

    #[test]
    fn unsupported_receiver_kinds_survive_a_round_trip() {
        let s = spec("receivers: [{name: a, slackConfigs: [{channel: x}]}]\n");
        let back: AlertmanagerConfigSpec =
            serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert!(back.receivers[0].unsupported.contains_key("slackConfigs"));
    }
}
