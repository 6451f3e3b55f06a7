//! The global rules: alerts that hold for every agency or for the platform itself
//! (tenant service and its background loops, outbox relay and push lag, calendars, A/V
//! recording, legal reviews, the operator, the disclosure index, supervision notices).
//! The Helm chart ships them as `charts/sanxiang/templates/prometheusrule-global.yaml`,
//! generated from here ([`crate::rule_files`]).

use serde_json::{Value, json};

use super::expr::PLACEMENT;
use super::rule::Rule;
use super::{OPERATOR_JOB, SUPERVISOR_READS_PER_HOUR, TENANT_SERVICE_JOB};

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
