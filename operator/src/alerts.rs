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

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use sanxiang_crds::agency::RESERVED_ALERT_LABELS;
use serde_json::{Map, Value, json};

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

/// One dated occurrence of a supervision milestone an agency answers for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MilestoneOccurrence {
    /// SupervisionPlan name.
    pub plan: String,
    /// Milestone id within the plan.
    pub milestone: String,
    /// What has to be done (shown in the alert).
    pub task: String,
    /// Last day on which the milestone may be completed (already moved to a working day).
    pub due: NaiveDate,
    /// First day of the "due soon" reminder.
    pub due_soon_from: NaiveDate,
}

/// Everything the per-agency rules depend on.
pub struct AgencyAlertInput<'a> {
    /// Agency object name (the `agency` label of the tenant service's metrics).
    pub agency: &'a str,
    /// The agency's name as people know it (`spec.displayName`): label `agency_name`,
    /// and the subject of every summary.
    pub display_name: &'a str,
    /// The agency's page on the disclosure platform (annotation `agency_url`), when the
    /// operator knows the platform's address.
    pub agency_url: Option<&'a str>,
    /// First day the agency existed (00:00 Asia/Shanghai of its creation): no statistics
    /// are asked for years before it, and no milestone that fell due before it is missed.
    pub existed_since: Option<NaiveDate>,
    /// Namespace of the Agency object.
    pub namespace: &'a str,
    /// GB/T 2260 codes of the agency's province, city and county (`-` when city-level).
    pub province: &'a str,
    pub city: &'a str,
    pub county: &'a str,
    /// Minimum legal reviewers per 1000 enforcement officers (50 = 5%).
    pub reviewer_ratio_permille: u32,
    /// Extra labels for alert routing (Agency `spec.alerting.labels`); reserved keys and
    /// keys that are not valid Prometheus label names are ignored.
    pub routing_labels: &'a BTreeMap<String, String>,
    pub milestones: &'a [MilestoneOccurrence],
    /// The year the annual statistics cover (reported in the following year).
    pub annual_statistics_year: i32,
    /// Last day to report them.
    pub annual_statistics_due: NaiveDate,
    pub runbook_base_url: &'a str,
}

/// Unix timestamp of 00:00 Asia/Shanghai on `date` (for PromQL `time()` comparisons).
pub fn shanghai_midnight(date: NaiveDate) -> i64 {
    sanxiang_domain::china_midnight(date).timestamp()
}

/// Unix timestamp at which a deadline on `date` has passed: 00:00 Asia/Shanghai of the next
/// day (the whole due day still counts).
pub fn end_of_day(date: NaiveDate) -> i64 {
    shanghai_midnight(date) + 86_400
}

/// A PromQL string literal (double-quoted, escaped).
pub fn promql_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text that ends up in an annotation, which Prometheus expands as a Go template: a
/// literal `{{` must not start an action.
fn template_text(value: &str) -> String {
    value.replace("{{", "{{ \"{{\" }}")
}

fn runbook_url(base: &str, alert: &str) -> String {
    format!("{}/{alert}.md", base.trim_end_matches('/'))
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

/// The labels the tenant service's per-agency series carry.
const PLACEMENT: &str = "province, city, county, agency";

struct Rule {
    alert: &'static str,
    expr: String,
    for_: Option<&'static str>,
    severity: &'static str,
    labels: Vec<(String, String)>,
    summary: String,
    description: String,
}

impl Rule {
    fn to_json(&self, runbook_base_url: &str) -> Value {
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

/// The PrometheusRule `.spec` of one agency: `{"groups": [...]}`.
///
/// Group `sanxiang.agency.<namespace>.<agency>` holds the compliance rules, and group
/// `sanxiang.milestones.<namespace>.<agency>` (only when there are milestones) one "due
/// soon" and one "missed" rule per occurrence, sorted by plan, milestone and due date.
pub fn agency_rule_spec(input: &AgencyAlertInput) -> Value {
    let q = promql_string;
    let selector = format!(
        "province={}, city={}, county={}, agency={}",
        q(input.province),
        q(input.city),
        q(input.county),
        q(input.agency)
    );
    let mut identity = vec![
        ("namespace".to_string(), input.namespace.to_string()),
        ("province".to_string(), input.province.to_string()),
        ("city".to_string(), input.city.to_string()),
        ("county".to_string(), input.county.to_string()),
        ("agency".to_string(), input.agency.to_string()),
        ("agency_name".to_string(), input.display_name.to_string()),
    ];
    for (k, v) in input.routing_labels {
        if valid_label_name(k) && !RESERVED_ALERT_LABELS.contains(&k.as_str()) {
            identity.push((k.clone(), v.clone()));
        }
    }
    let who = template_text(&format!(
        "{} ({}, {}/{}/{})",
        input.display_name, input.agency, input.province, input.city, input.county
    ));
    let name = template_text(input.display_name);
    // The oldest due date among the overdue, read from the tenant service's gauge when the
    // annotation is expanded (its value is 00:00 UTC of the date, so it formats as one).
    let oldest_due = format!(
        "{{{{ with query `max by ({PLACEMENT}) (sanxiang_disclosures_oldest_overdue_due_date{{{selector}}}) > 0` }}}}\
         {{{{ (. | first | value | toTime).Format \"2006-01-02\" }}}}{{{{ else }}}}unknown{{{{ end }}}}"
    );
    let permille = input.reviewer_ratio_permille;
    let percent = format!("{}.{}%", permille / 10, permille % 10);

    let compliance = [
        Rule {
            alert: "SanxiangDisclosureOverdue",
            expr: format!("max by ({PLACEMENT}) (sanxiang_disclosures_overdue{{{selector}}}) > 0"),
            for_: None,
            severity: "warning",
            labels: identity.clone(),
            summary: format!(
                "{name}: {{{{ $value | humanize }}}} enforcement decision(s) past their \
                 disclosure deadline."
            ),
            description: format!(
                "{{{{ $value | humanize }}}} decision(s) issued by {who} passed their \
                 disclosure due date without being published (7 working days for licensing \
                 and penalty decisions, 20 for the others, unless an override applies); the \
                 oldest was due on {oldest_due}."
            ),
        },
        Rule {
            alert: "SanxiangWithdrawalOverdue",
            expr: format!("max by ({PLACEMENT}) (sanxiang_withdrawals_overdue{{{selector}}}) > 0"),
            for_: None,
            severity: "critical",
            labels: identity.clone(),
            summary: format!(
                "{name}: {{{{ $value | humanize }}}} revoked decision(s) still published."
            ),
            description: format!(
                "{{{{ $value | humanize }}}} published decision(s) of {who} were revoked, \
                 found illegal or ordered remade and are still on the disclosure platform \
                 after the withdrawal deadline."
            ),
        },
        Rule {
            alert: "SanxiangReviewerRatioBelowPolicy",
            // The comparison stays in integers (reviewers × 1000 < permille × officers);
            // the division afterwards only turns the value into a percentage, and the
            // `> 0` guard leaves agencies without officers alone.
            expr: format!(
                "(max by ({PLACEMENT}) (sanxiang_legal_reviewers{{{selector}}}) * 1000 \
                 < {permille} * max by ({PLACEMENT}) (sanxiang_officers{{{selector}}} > 0)) \
                 / max by ({PLACEMENT}) (sanxiang_officers{{{selector}}}) / 10"
            ),
            for_: Some("15m"),
            severity: "warning",
            labels: identity.clone(),
            summary: format!("{name} has too few legal reviewers."),
            description: format!(
                "Legal reviewers of {who} number {{{{ printf \"%.1f\" $value }}}}% of its \
                 enforcement officers; the policy requires at least {percent}."
            ),
        },
        // Only for a year the agency existed in (a fresh tenant owes nothing for the past).
        Rule {
            alert: "SanxiangAnnualStatisticsMissing",
            expr: format!(
                "vector(time()) >= {} unless on() \
                 (sanxiang_annual_statistics_reported{{{selector}, year=\"{}\"}} == 1)",
                end_of_day(input.annual_statistics_due),
                input.annual_statistics_year
            ),
            for_: None,
            severity: "warning",
            labels: identity.clone(),
            summary: format!(
                "{name} has not reported its {} enforcement statistics.",
                input.annual_statistics_year
            ),
            description: format!(
                "The annual enforcement statistics of {who} for {} were due by {} and have \
                 not been reported.",
                input.annual_statistics_year, input.annual_statistics_due
            ),
        },
    ];
    let owes_statistics = input
        .existed_since
        .is_none_or(|d| d.year() <= input.annual_statistics_year);
    let to_json = |r: &Rule| {
        let mut v = r.to_json(input.runbook_base_url);
        if let Some(url) = input.agency_url {
            v["annotations"]["agency_url"] = url.into();
        }
        v
    };
    let mut groups = vec![json!({
        "name": format!("sanxiang.agency.{}.{}", input.namespace, input.agency),
        "rules": compliance
            .iter()
            .filter(|r| owes_statistics || r.alert != "SanxiangAnnualStatisticsMissing")
            .map(to_json)
            .collect::<Vec<_>>(),
    })];

    // Occurrences that fell due before the agency existed are nobody's miss.
    let mut milestones: Vec<&MilestoneOccurrence> = input
        .milestones
        .iter()
        .filter(|m| input.existed_since.is_none_or(|d| m.due >= d))
        .collect();
    milestones.sort_by(|a, b| {
        (&a.plan, &a.milestone, a.due, &a.task, a.due_soon_from).cmp(&(
            &b.plan,
            &b.milestone,
            b.due,
            &b.task,
            b.due_soon_from,
        ))
    });
    milestones.dedup_by(|a, b| (&a.plan, &a.milestone, a.due) == (&b.plan, &b.milestone, b.due));
    let mut milestone_rules = Vec::new();
    for m in milestones {
        let due = m.due.to_string();
        let completed = format!(
            "sanxiang_milestone_completed{{{selector}, plan={}, milestone={}, due={}}} == 1",
            q(&m.plan),
            q(&m.milestone),
            q(&due)
        );
        let mut labels = identity.clone();
        labels.extend([
            ("plan".to_string(), m.plan.clone()),
            ("milestone".to_string(), m.milestone.clone()),
            ("due".to_string(), due.clone()),
        ]);
        let task = template_text(&m.task);
        let what = template_text(&format!("{}/{}", m.plan, m.milestone));
        let (plan, milestone) = (template_text(&m.plan), template_text(&m.milestone));
        let soon_from = shanghai_midnight(m.due_soon_from.min(m.due));
        let passed = end_of_day(m.due);
        milestone_rules.push(Rule {
            alert: "SanxiangMilestoneDueSoon",
            expr: format!("vector(time()) >= {soon_from} < {passed} unless on() ({completed})"),
            for_: None,
            severity: "info",
            labels: labels.clone(),
            summary: format!("Supervision milestone {what} of {name} is due on {due}."),
            description: format!(
                "{who} must complete \"{task}\" (supervision plan {plan}, milestone \
                 {milestone}) by {due} and has not reported it done."
            ),
        });
        milestone_rules.push(Rule {
            alert: "SanxiangMilestoneMissed",
            expr: format!("vector(time()) >= {passed} unless on() ({completed})"),
            for_: None,
            severity: "warning",
            labels,
            summary: format!("Supervision milestone {what} of {name} was missed."),
            description: format!(
                "{who} was to complete \"{task}\" (supervision plan {plan}, milestone \
                 {milestone}) by {due} and has not reported it done."
            ),
        });
    }
    if !milestone_rules.is_empty() {
        groups.push(json!({
            "name": format!("sanxiang.milestones.{}.{}", input.namespace, input.agency),
            "rules": milestone_rules.iter().map(to_json).collect::<Vec<_>>(),
        }));
    }
    json!({ "groups": groups })
}

/// The chart's global rules: `{"groups": [...]}`.
pub fn global_rule_groups(runbook_base_url: &str) -> Value {
    let tenant_service = [
        Rule {
            alert: "SanxiangTenantServiceDown",
            expr: format!("absent(up{{job=\"{TENANT_SERVICE_JOB}\"}} == 1)"),
            for_: Some("15m"),
            severity: "critical",
            labels: Vec::new(),
            summary: "The tenant service has disappeared from Prometheus target discovery or \
                      is not answering scrapes."
                .into(),
            description: format!(
                "No target of job {TENANT_SERVICE_JOB} has been up for 15 minutes: agencies \
                 cannot record actions or publish decisions, and every deadline alert is \
                 blind."
            ),
        },
        Rule {
            alert: "SanxiangOutboxBacklog",
            expr: format!(
                "max by ({PLACEMENT}) (sanxiang_outbox_backlog) > 0 unless on({PLACEMENT}) \
                 sum by ({PLACEMENT}) (rate(sanxiang_outbox_relayed_total[10m])) > 0"
            ),
            for_: Some("15m"),
            severity: "warning",
            labels: Vec::new(),
            summary: "The outbox of an agency is not being relayed to NATS.".into(),
            description: "{{ $value | humanize }} outbox event(s) of agency {{ $labels.agency }} \
                          ({{ $labels.province }}/{{ $labels.city }}/{{ $labels.county }}) are \
                          waiting and nothing has been relayed upward for at least 15 minutes."
                .into(),
        },
        Rule {
            alert: "SanxiangPushLagHigh",
            expr: format!("max by ({PLACEMENT}) (sanxiang_push_lag_seconds) > 300"),
            for_: Some("10m"),
            severity: "warning",
            labels: Vec::new(),
            summary: "Disclosures of an agency reach the city and province late.".into(),
            description: "The oldest event of agency {{ $labels.agency }} ({{ $labels.province }}/\
                          {{ $labels.city }}/{{ $labels.county }}) not yet pushed upward is \
                          {{ $value | humanizeDuration }} old; pushes should be immediate."
                .into(),
        },
        Rule {
            alert: "SanxiangCalendarYearMissing",
            expr: format!(
                "count by (province) (max by ({PLACEMENT}) (sanxiang_calendar_missing_year) == 1) > 0"
            ),
            for_: Some("15m"),
            severity: "warning",
            labels: Vec::new(),
            summary: "Working-day deadlines cannot be computed: a WorkCalendar year is missing."
                .into(),
            description: "{{ $value | humanize }} agency(ies) of province {{ $labels.province }} \
                          hit a date outside every loaded WorkCalendar, so their disclosure \
                          deadlines are not computed and deadline alerts cannot fire."
                .into(),
        },
        Rule {
            alert: "SanxiangWorkCalendarNotLoaded",
            expr: "max by (year) (sanxiang_calendar_year_missing) == 1".into(),
            for_: Some("1h"),
            severity: "warning",
            labels: Vec::new(),
            summary: "A year's WorkCalendar is not loaded.".into(),
            description: "No WorkCalendar describes {{ $labels.year }}: load the State Council \
                          holiday notice for it. Until then due dates that reach into it are \
                          pending and milestones in it have no alerts."
                .into(),
        },
        Rule {
            alert: "SanxiangAVRecordingGap",
            expr: format!("max by ({PLACEMENT}) (sanxiang_av_gaps) > 0"),
            for_: Some("1h"),
            severity: "warning",
            labels: Vec::new(),
            summary: "Enforcement actions that require full-process A/V recording have none."
                .into(),
            description: "{{ $value | humanize }} action(s) of agency {{ $labels.agency }} \
                          ({{ $labels.province }}/{{ $labels.city }}/{{ $labels.county }}) \
                          require full-process audio/video recording and have had no A/V \
                          evidence attached for over an hour."
                .into(),
        },
        Rule {
            alert: "SanxiangReviewOverdue",
            expr: format!("max by ({PLACEMENT}) (sanxiang_reviews_overdue) > 0"),
            for_: Some("1h"),
            severity: "warning",
            labels: Vec::new(),
            summary: "Legal reviews of an agency are past the review time limit.".into(),
            description: "{{ $value | humanize }} legal review(s) of agency {{ $labels.agency }} \
                          ({{ $labels.province }}/{{ $labels.city }}/{{ $labels.county }}) \
                          have waited for the legal office's opinion longer than the review \
                          time limit in working days."
                .into(),
        },
        Rule {
            alert: "SanxiangBackgroundLoopDown",
            // Per replica: one replica whose scanner stopped serves stale gauges even when
            // another replica's loop runs.
            expr: "max by (instance, loop) (sanxiang_background_loop_up) == 0".into(),
            for_: Some("5m"),
            severity: "critical",
            labels: Vec::new(),
            summary: "A background loop of the tenant service stopped.".into(),
            description: "The {{ $labels.loop }} loop of tenant service {{ $labels.instance }} \
                          has been stopped for 5 minutes: its compliance gauges (scanner) or \
                          outbox pushes (relay) no longer move."
                .into(),
        },
        Rule {
            alert: "SanxiangSupervisorReadsUnusual",
            expr: format!(
                "sum by ({PLACEMENT}) (increase(sanxiang_supervisor_decision_reads_total[1h])) \
                 > {SUPERVISOR_READS_PER_HOUR}"
            ),
            for_: Some("10m"),
            severity: "warning",
            labels: Vec::new(),
            summary: "Supervisors read an unusual number of an agency's full decisions.".into(),
            description: format!(
                "Supervisors read {{{{ $value | humanize }}}} full (unredacted) decisions of \
                 agency {{{{ $labels.agency }}}} ({{{{ $labels.province }}}}/{{{{ $labels.city }}}}/\
                 {{{{ $labels.county }}}}) in the last hour (more than \
                 {SUPERVISOR_READS_PER_HOUR}): check the access log for bulk copying."
            ),
        },
    ];
    let operator = [
        Rule {
            alert: "SanxiangOperatorDown",
            expr: format!("absent(up{{job=\"{OPERATOR_JOB}\"}} == 1)"),
            for_: Some("15m"),
            severity: "critical",
            labels: Vec::new(),
            summary: "The Sanxiang operator has disappeared from Prometheus target discovery \
                      or is not answering scrapes."
                .into(),
            description: format!(
                "No target of job {OPERATOR_JOB} has been up for 15 minutes: new agencies are \
                 not provisioned and alert rules, credentials and RBAC are not kept up to date."
            ),
        },
        Rule {
            alert: "SanxiangOperatorReconcileErrors",
            expr: "sum by (controller) (rate(sanxiang_operator_reconcile_errors_total[5m])) \
                   / sum by (controller) (rate(sanxiang_operator_reconciles_total[5m])) > 0.1"
                .into(),
            for_: Some("15m"),
            severity: "warning",
            labels: Vec::new(),
            summary: "The Sanxiang operator fails many reconciliations.".into(),
            description: "{{ $value | humanizePercentage }} of the {{ $labels.controller }} \
                          controller's reconciliations failed over the last 5 minutes."
                .into(),
        },
        Rule {
            alert: "SanxiangTenantNotReady",
            expr: format!("max by (namespace, {PLACEMENT}) (sanxiang_agency_ready) == 0"),
            for_: Some("15m"),
            severity: "warning",
            labels: Vec::new(),
            summary: "An agency tenant is not Ready.".into(),
            description: "Agency {{ $labels.namespace }}/{{ $labels.agency }} \
                          ({{ $labels.province }}/{{ $labels.city }}/{{ $labels.county }}) \
                          has not been Ready for 15 minutes; see its status conditions."
                .into(),
        },
    ];
    let disclosure = [Rule {
        alert: "SanxiangDisclosureIndexLag",
        expr: "max by (stream) (sanxiang_disclosure_lag_seconds) > 120".into(),
        for_: Some("10m"),
        severity: "warning",
        labels: Vec::new(),
        summary: "The disclosure platform's search index is behind its stream.".into(),
        description: "The disclosure platform following {{ $labels.stream }} has been \
                      {{ $value | humanizeDuration }} behind for 10 minutes: new disclosures \
                      and withdrawals are not visible on the public portal."
            .into(),
    }];
    let supervision = [Rule {
        alert: "SanxiangRectificationOverdue",
        expr: format!("max by ({PLACEMENT}) (sanxiang_supervision_rectification_overdue) > 0"),
        for_: Some("15m"),
        severity: "warning",
        labels: Vec::new(),
        summary: "A notice's rectification deadline has passed without an accepted answer.".into(),
        description: "{{ $value | humanize }} notice(s) (通报) to agency {{ $labels.agency }} \
                      ({{ $labels.province }}/{{ $labels.city }}/{{ $labels.county }}) are \
                      past their rectification deadline without an accepted answer: follow \
                      up, or record accountability (问责) in the supervision workspace."
            .into(),
    }];
    let group = |name: &str, rules: &[Rule]| {
        json!({
            "name": name,
            "rules": rules.iter().map(|r| r.to_json(runbook_base_url)).collect::<Vec<_>>(),
        })
    };
    json!({
        "groups": [
            group("sanxiang.tenant-service", &tenant_service),
            group("sanxiang.operator", &operator),
            group("sanxiang.disclosure", &disclosure),
            group("sanxiang.supervision", &supervision),
        ]
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn milestones() -> Vec<MilestoneOccurrence> {
        vec![
            MilestoneOccurrence {
                plan: "shenyang-2026".into(),
                milestone: "monthly-report".into(),
                task: "月度进展报告 {{ not a template }}".into(),
                due: date("2026-12-21"),
                due_soon_from: date("2026-12-17"),
            },
            MilestoneOccurrence {
                plan: "liaoning-2019".into(),
                milestone: "summary".into(),
                task: "总结报告".into(),
                due: date("2019-11-30"),
                due_soon_from: date("2019-11-26"),
            },
        ]
    }

    fn spec_with(routing: &BTreeMap<String, String>, milestones: &[MilestoneOccurrence]) -> Value {
        agency_rule_spec(&AgencyAlertInput {
            agency: "tieling-market",
            display_name: "铁岭县市场监督管理局",
            agency_url: Some("https://portal.example/agencies/tieling-market"),
            existed_since: None,
            namespace: "sx-211200",
            province: "210000",
            city: "211200",
            county: "211221",
            reviewer_ratio_permille: 50,
            routing_labels: routing,
            milestones,
            annual_statistics_year: 2025,
            annual_statistics_due: date("2026-01-31"),
            runbook_base_url: "https://runbooks.example/docs/runbooks/",
        })
    }

    fn rules(spec: &Value) -> Vec<&Value> {
        spec["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap())
            .collect()
    }

    #[test]
    fn shanghai_midnight_is_utc_minus_eight_hours() {
        // 2026-12-21T00:00+08:00 = 2026-12-20T16:00Z.
        assert_eq!(shanghai_midnight(date("2026-12-21")), 1_797_782_400);
        assert_eq!(shanghai_midnight(date("1970-01-02")), 86_400 - 8 * 3600);
        assert_eq!(end_of_day(date("2026-12-21")), 1_797_782_400 + 86_400);
    }

    #[test]
    fn label_values_are_escaped_for_promql() {
        assert_eq!(promql_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(promql_string("x\ny"), r#""x\ny""#);
        let tricky = MilestoneOccurrence {
            plan: "p\"} or vector(1) #".into(),
            milestone: "m\\".into(),
            task: "t".into(),
            due: date("2026-01-05"),
            due_soon_from: date("2026-01-01"),
        };
        let spec = spec_with(&BTreeMap::new(), &[tricky]);
        let expr = rules(&spec)[4]["expr"].as_str().unwrap().to_string();
        assert!(expr.contains(r#"plan="p\"} or vector(1) #""#), "{expr}");
        assert!(expr.contains(r#"milestone="m\\""#), "{expr}");
    }

    #[test]
    fn every_agency_alert_is_generated_with_labels_and_annotations() {
        let spec = spec_with(&BTreeMap::new(), &milestones());
        let names = alert_names(&spec);
        for alert in AGENCY_ALERTS {
            assert!(
                names.iter().any(|n| n == alert),
                "{alert} missing in {names:?}"
            );
        }
        for rule in rules(&spec) {
            let labels = &rule["labels"];
            assert!(
                ["critical", "warning", "info"].contains(&labels["severity"].as_str().unwrap())
            );
            assert_eq!(labels["province"], "210000");
            assert_eq!(labels["city"], "211200");
            assert_eq!(labels["county"], "211221");
            assert_eq!(labels["agency"], "tieling-market");
            assert_eq!(labels["namespace"], "sx-211200");
            let a = &rule["annotations"];
            assert!(a["summary"].as_str().is_some_and(|s| !s.is_empty()));
            assert!(a["description"].as_str().is_some_and(|s| !s.is_empty()));
            assert_eq!(
                a["runbook_url"],
                format!(
                    "https://runbooks.example/docs/runbooks/{}.md",
                    rule["alert"].as_str().unwrap()
                )
            );
        }
    }

    #[test]
    fn reviewer_ratio_compares_integers_and_needs_officers() {
        let spec = spec_with(&BTreeMap::new(), &[]);
        let rule = rules(&spec)
            .into_iter()
            .find(|r| r["alert"] == "SanxiangReviewerRatioBelowPolicy")
            .unwrap();
        let expr = rule["expr"].as_str().unwrap();
        assert!(expr.contains("(sanxiang_legal_reviewers{province=\"210000\", city=\"211200\", county=\"211221\", agency=\"tieling-market\"}) * 1000 < 50 * "), "{expr}");
        assert!(expr.contains("sanxiang_officers{province=\"210000\", city=\"211200\", county=\"211221\", agency=\"tieling-market\"} > 0"), "{expr}");
        assert_eq!(rule["for"], "15m");
        assert!(
            rule["annotations"]["description"]
                .as_str()
                .unwrap()
                .contains("at least 5.0%")
        );
    }

    #[test]
    fn milestones_become_due_soon_and_missed_rules_at_shanghai_midnight() {
        let spec = spec_with(&BTreeMap::new(), &milestones());
        let groups = spec["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(
            groups[1]["name"],
            "sanxiang.milestones.sx-211200.tieling-market"
        );
        let rs = groups[1]["rules"].as_array().unwrap();
        // Sorted by plan: liaoning-2019 before shenyang-2026.
        assert_eq!(rs[0]["labels"]["plan"], "liaoning-2019");
        let monthly = &rs[2];
        assert_eq!(monthly["alert"], "SanxiangMilestoneDueSoon");
        assert_eq!(monthly["labels"]["due"], "2026-12-21");
        let soon = shanghai_midnight(date("2026-12-17"));
        let passed = shanghai_midnight(date("2026-12-22"));
        assert_eq!(
            monthly["expr"],
            format!(
                "vector(time()) >= {soon} < {passed} unless on() (sanxiang_milestone_completed{{province=\"210000\", city=\"211200\", county=\"211221\", agency=\"tieling-market\", plan=\"shenyang-2026\", milestone=\"monthly-report\", due=\"2026-12-21\"}} == 1)"
            )
        );
        assert_eq!(rs[3]["alert"], "SanxiangMilestoneMissed");
        assert!(
            rs[3]["expr"]
                .as_str()
                .unwrap()
                .starts_with(&format!("vector(time()) >= {passed} unless on()"))
        );
        // A literal "{{" in the task text is not a template action.
        assert!(
            monthly["annotations"]["description"]
                .as_str()
                .unwrap()
                .contains("{{ \"{{\" }} not a template }}")
        );
    }

    #[test]
    fn no_milestones_means_no_milestone_group() {
        let spec = spec_with(&BTreeMap::new(), &[]);
        assert_eq!(spec["groups"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn output_is_deterministic_whatever_the_input_order() {
        let mut reversed = milestones();
        reversed.reverse();
        let a = spec_with(&BTreeMap::new(), &milestones());
        let b = spec_with(&BTreeMap::new(), &reversed);
        assert_eq!(a, b);
        assert_eq!(to_yaml(&a), to_yaml(&b));
    }

    #[test]
    fn routing_labels_are_added_but_cannot_override_identity() {
        let routing = BTreeMap::from([
            ("team".to_string(), "market-supervision".to_string()),
            ("agency".to_string(), "someone-else".to_string()),
            ("severity".to_string(), "none".to_string()),
            ("bad-name".to_string(), "x".to_string()),
        ]);
        let spec = spec_with(&routing, &milestones());
        for rule in rules(&spec) {
            assert_eq!(rule["labels"]["team"], "market-supervision");
            assert_eq!(rule["labels"]["agency"], "tieling-market");
            assert_ne!(rule["labels"]["severity"], "none");
            assert!(rule["labels"].get("bad-name").is_none());
        }
    }

    #[test]
    fn global_rules_cover_every_global_alert() {
        let spec = global_rule_groups("https://sanxiang.example/docs/runbooks");
        assert_eq!(alert_names(&spec), GLOBAL_ALERTS);
        for rule in rules(&spec) {
            assert!(
                rule["annotations"]["runbook_url"]
                    .as_str()
                    .unwrap()
                    .starts_with("https://sanxiang.example/docs/runbooks/Sanxiang")
            );
        }
    }

    #[test]
    fn alerts_name_the_agency_and_link_its_page() {
        let spec = spec_with(&BTreeMap::new(), &[]);
        let overdue = rules(&spec)
            .into_iter()
            .find(|r| r["alert"] == "SanxiangDisclosureOverdue")
            .unwrap();
        assert_eq!(overdue["labels"]["agency_name"], "铁岭县市场监督管理局");
        let a = &overdue["annotations"];
        assert_eq!(
            a["summary"],
            "铁岭县市场监督管理局: {{ $value | humanize }} enforcement decision(s) past their disclosure deadline."
        );
        assert!(
            a["description"].as_str().unwrap().contains(
                "{{ with query `max by (province, city, county, agency) (sanxiang_disclosures_oldest_overdue_due_date{province=\"210000\", city=\"211200\", county=\"211221\", agency=\"tieling-market\"}) > 0` }}"
            ),
            "{a}"
        );
        assert_eq!(
            a["agency_url"],
            "https://portal.example/agencies/tieling-market"
        );
    }

    #[test]
    fn a_fresh_agency_owes_nothing_from_before_it_existed() {
        let routing = BTreeMap::new();
        let ms = milestones();
        let input = |since: Option<NaiveDate>| AgencyAlertInput {
            agency: "tieling-market",
            display_name: "铁岭县市场监督管理局",
            agency_url: None,
            existed_since: since,
            namespace: "sx-211200",
            province: "210000",
            city: "211200",
            county: "211221",
            reviewer_ratio_permille: 50,
            routing_labels: &routing,
            milestones: &ms,
            annual_statistics_year: 2025,
            annual_statistics_due: date("2026-01-31"),
            runbook_base_url: "https://runbooks.example/docs/runbooks/",
        };
        // Created in 2026: the 2025 statistics and the 2019 milestone are not its duty.
        let fresh = agency_rule_spec(&input(Some(date("2026-03-02"))));
        let names = alert_names(&fresh);
        assert!(
            !names.iter().any(|n| n == "SanxiangAnnualStatisticsMissing"),
            "{names:?}"
        );
        let dues: Vec<_> = rules(&fresh)
            .iter()
            .filter_map(|r| r["labels"]["due"].as_str().map(str::to_string))
            .collect();
        assert_eq!(dues, ["2026-12-21", "2026-12-21"]);
        // Created during 2025 (or unknown): it owes 2025's statistics.
        for since in [Some(date("2025-12-31")), None] {
            let names = alert_names(&agency_rule_spec(&input(since)));
            assert!(names.iter().any(|n| n == "SanxiangAnnualStatisticsMissing"));
        }
        // An occurrence due on the day of creation still counts.
        let same_day = agency_rule_spec(&input(Some(date("2019-11-30"))));
        assert_eq!(alert_names(&same_day).len(), 4 + 4);
    }

    #[test]
    fn yaml_round_trips() {
        let spec = spec_with(&BTreeMap::new(), &milestones());
        let back: Value = serde_yaml::from_str(&to_yaml(&spec)).unwrap();
        assert_eq!(back, spec);
    }
}
