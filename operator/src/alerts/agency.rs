//! The per-agency rules: the `.spec` of the PrometheusRule the operator applies in each
//! agency's namespace. One group of compliance rules (disclosure and withdrawal deadlines,
//! the legal reviewer ratio, the annual statistics), and one group with a "due soon" and
//! a "missed" rule per supervision milestone occurrence the agency answers for. What an
//! agency could not have done (statistics for a year before it existed, a milestone due
//! before it was created) is left out.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use sanxiang_crds::agency::RESERVED_ALERT_LABELS;
use serde_json::{Value, json};

use super::expr::{PLACEMENT, end_of_day, promql_string, shanghai_midnight};
use super::rule::{Rule, template_text, valid_label_name};

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
