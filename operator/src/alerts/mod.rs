//! Prometheus alerting rules, built purely from data (no I/O).
//!
//! Two sets of rules exist:
//!
//! - **Per agency** ([`agency_rule_spec`]): the `.spec` of the PrometheusRule the operator
//!   applies in each agency's namespace — disclosure and withdrawal deadlines, the legal
//!   reviewer ratio of the agency's jurisdiction, the annual statistics deadline and every
//!   supervision milestone occurrence the agency answers for. Deadlines are absolute
//!   dates, so these rules compare `time()` with Unix timestamps of 00:00 Asia/Shanghai.
//! - **Global** ([`global_rule_groups`]): rules that hold for every agency or for the
//!   platform itself (outbox relay, push lag, missing calendars, A/V recording gaps,
//!   operator errors, tenants not Ready, scrape targets down). The Helm chart ships them
//!   (`charts/sanxiang/templates/prometheusrule-global.yaml`, kept equal by a test).
//!
//! Conventions (kubernetes-mixin style): CamelCase alert names prefixed `Sanxiang`; every
//! alert has a `severity` label (`critical` pages, `warning` needs action within working
//! hours, `info` is a reminder), the placement labels `province`, `city`, `county`
//! (`-` for city-level agencies) and `agency` where the alert concerns one agency, and the
//! annotations `summary`, `description` and `runbook_url` (`<base>/<AlertName>.md`, the
//! files in `docs/runbooks/`). Output is deterministic: the same input always gives the
//! same JSON, so re-applying an unchanged rule writes nothing.
//!
//! The module is split by idea: `expr` holds the PromQL and time vocabulary every
//! expression is written in, `rule` the shape of one rule with its labels and
//! annotations, `agency` and `global` the two rule sets, and `tests` their unit tests.

use serde_json::Value;

mod agency;
mod expr;
mod global;
mod rule;
#[cfg(test)]
mod tests;

pub use agency::{AgencyAlertInput, MilestoneOccurrence, agency_rule_spec};
pub use expr::{end_of_day, promql_string, shanghai_midnight};
pub use global::global_rule_groups;

/// Alerts of the per-agency PrometheusRule, in the order they appear.
pub const AGENCY_ALERTS: &[&str] = &[
    "SanxiangDisclosureOverdue",
    "SanxiangWithdrawalOverdue",
    "SanxiangReviewerRatioBelowPolicy",
    "SanxiangAnnualStatisticsMissing",
    "SanxiangMilestoneDueSoon",
    "SanxiangMilestoneMissed",
];

/// Alerts of the chart's global PrometheusRule, in the order they appear.
pub const GLOBAL_ALERTS: &[&str] = &[
    "SanxiangTenantServiceDown",
    "SanxiangOutboxBacklog",
    "SanxiangPushLagHigh",
    "SanxiangCalendarYearMissing",
    "SanxiangWorkCalendarNotLoaded",
    "SanxiangAVRecordingGap",
    "SanxiangReviewOverdue",
    "SanxiangBackgroundLoopDown",
    "SanxiangSupervisorReadsUnusual",
    "SanxiangOperatorDown",
    "SanxiangOperatorReconcileErrors",
    "SanxiangTenantNotReady",
    "SanxiangDisclosureIndexLag",
    "SanxiangRectificationOverdue",
];

/// Full decisions supervisors may read from one agency in an hour before
/// `SanxiangSupervisorReadsUnusual` fires: a supervisor checking cases reads a few dozen;
/// hundreds in an hour look like bulk copying of personal data (记录信息调阅监督).
pub const SUPERVISOR_READS_PER_HOUR: u32 = 500;

/// The `job` label under which Prometheus scrapes the operator (the chart's ServiceMonitor
/// sets it; a hand-written scrape config must use it too).
pub const OPERATOR_JOB: &str = "sanxiang-operator";
/// The `job` label under which Prometheus scrapes the tenant service.
pub const TENANT_SERVICE_JOB: &str = "sanxiang-tenant-service";

/// Renders rules (or any JSON) as YAML, e.g. a Prometheus rule file for promtool.
pub fn to_yaml(value: &Value) -> String {
    serde_yaml::to_string(value).expect("JSON values always serialise as YAML")
}

/// Names of the alerts in a `{"groups": [...]}` value, in order, with repeats.
pub fn alert_names(spec: &Value) -> Vec<String> {
    spec["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .filter_map(|r| r["alert"].as_str().map(str::to_string))
        .collect()
}
