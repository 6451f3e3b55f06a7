//! The SupervisionPlan controller: each milestone's next due date, and the plan's
//! earliest, in the status (`kubectl get splan` shows NEXT DUE).
//!
//! Pipeline: read (the plan, the calendar from the cache) → build the status (pure,
//! [`plan_status`]) → write it only when it changed. Due dates move with the calendar
//! and with the date, so the controller re-runs when a WorkCalendar changes and shortly
//! after midnight in China. A milestone whose next date falls in a year without a
//! WorkCalendar is not an error: its status reads "pending: no calendar for YEAR", the
//! plan's `Ready` is False with reason CalendarMissing, and the date appears the moment
//! the year is loaded.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::{Api, Client, ResourceExt};
use sanxiang_crds::calendar::{Calendar, CalendarError, DueDate};
use sanxiang_crds::conditions::{condition_type, new_condition, reason, upsert_condition};
use sanxiang_crds::field_error::join_field_errors;
use sanxiang_crds::plan::{
    MilestoneStatus, SupervisionPlan, SupervisionPlanSpec, SupervisionPlanStatus, next_due,
    validate_plan,
};

use crate::apply;
use crate::context::Context;

pub const CONTROLLER: &str = "plan";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

impl Error {
    /// Metric label of the error.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Kube(_) => "KubeApi",
        }
    }
}

pub async fn reconcile(plan: Arc<SupervisionPlan>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile(CONTROLLER);
    let namespace = plan.namespace().unwrap_or_default();
    let span = tracing::info_span!("reconcile", controller = CONTROLLER, plan = %format!("{namespace}/{}", plan.name_any()));
    let _entered = span.enter();
    let calendar = ctx.calendar();
    let mut status = plan.status.clone().unwrap_or_default();
    plan_status(
        &mut status,
        &plan.spec,
        calendar.as_ref(),
        ctx.clock.today(),
        plan.metadata.generation,
        Time(Utc::now()),
    );
    write(&ctx.client, &plan, &status).await?;
    // The next due date changes with the date: look again soon after midnight in China.
    Ok(Action::requeue(until_next_china_midnight(ctx.clock.now())))
}

/// Writes the plan's status (server-side apply, the operator's field manager) unless it
/// equals the status the plan was read with.
async fn write(
    client: &Client,
    plan: &SupervisionPlan,
    status: &SupervisionPlanStatus,
) -> Result<(), Error> {
    let api: Api<SupervisionPlan> =
        Api::namespaced(client.clone(), &plan.namespace().unwrap_or_default());
    apply::write_status(&api, &plan.name_any(), plan.status.as_ref(), status).await?;
    Ok(())
}

pub fn error_policy(plan: Arc<SupervisionPlan>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.error(CONTROLLER, error.reason());
    let key = format!(
        "{}/{}",
        plan.namespace().unwrap_or_default(),
        plan.name_any()
    );
    tracing::warn!(plan = %key, error = %error, "reconcile failed");
    Action::requeue(ctx.backoff(&key))
}

/// Fills `status` for `spec` on `today` (pure): each milestone's next due date or why it
/// is pending, the earliest as `nextDue`, and `Ready`.
pub fn plan_status(
    status: &mut SupervisionPlanStatus,
    spec: &SupervisionPlanSpec,
    calendar: Result<&Calendar, &CalendarError>,
    today: NaiveDate,
    generation: Option<i64>,
    now: Time,
) {
    let mut set_ready = |ready: bool, why: &str, message: String| {
        upsert_condition(
            &mut status.conditions,
            new_condition(
                condition_type::READY,
                ready,
                why,
                message,
                generation,
                now.clone(),
            ),
        );
    };
    let errors = validate_plan(spec);
    let (ready, why, message, milestones) = if !errors.is_empty() {
        (
            false,
            reason::INVALID_SPEC,
            join_field_errors(&errors),
            vec![],
        )
    } else {
        match calendar {
            Err(e) => (false, reason::CALENDAR_MISSING, e.to_string(), vec![]),
            Ok(cal) => {
                let mut milestones = Vec::new();
                let mut pending = Vec::new();
                let mut invalid = None;
                for m in &spec.milestones {
                    let due = match next_due(&m.schedule, cal, today) {
                        Ok(d) => d.map(DueDate::On),
                        Err(CalendarError::MissingYear(year)) => Some(DueDate::Pending { year }),
                        Err(e) => {
                            invalid.get_or_insert(format!("milestone {}: {e}", m.id));
                            None
                        }
                    };
                    if let Some(DueDate::Pending { .. }) = due {
                        pending.push(m.id.as_str());
                    }
                    milestones.push(MilestoneStatus {
                        id: m.id.clone(),
                        next_due: due.and_then(DueDate::date),
                        pending: due.filter(|d| d.date().is_none()).map(|d| d.to_string()),
                    });
                }
                match (invalid, pending.is_empty()) {
                    (Some(message), _) => (false, reason::INVALID_SPEC, message, milestones),
                    (None, false) => (
                        false,
                        reason::CALENDAR_MISSING,
                        format!(
                            "the next due date of {} is pending until the WorkCalendar of its year is loaded",
                            pending.join(", ")
                        ),
                        milestones,
                    ),
                    (None, true) => (
                        true,
                        reason::PROVISIONED,
                        "every milestone's next due date is known".to_string(),
                        milestones,
                    ),
                }
            }
        }
    };
    set_ready(ready, why, message);
    status.next_due = milestones.iter().filter_map(|m| m.next_due).min();
    status.milestones = milestones;
    status.observed_generation = generation;
}

/// Time left until five minutes past the next midnight in China.
fn until_next_china_midnight(now: chrono::DateTime<Utc>) -> Duration {
    let tomorrow = sanxiang_domain::china_date(now)
        .succ_opt()
        .unwrap_or(NaiveDate::MAX);
    let at = sanxiang_domain::china_midnight(tomorrow) + chrono::Duration::minutes(5);
    (at - now).to_std().unwrap_or(Duration::from_secs(300))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_apiserver::{ApiServerVerifier, nothing, status, verify};
    use sanxiang_crds::calendar::WorkCalendar;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn cal_2026() -> Calendar {
        let c: WorkCalendar =
            serde_yaml::from_str(include_str!("../../e2e/fixtures/calendars/2026.yaml")).unwrap();
        Calendar::from_specs([&c.spec]).unwrap()
    }

    fn spec() -> SupervisionPlanSpec {
        serde_yaml::from_str(
            "title: 沈阳市推行三项制度工作任务\n\
             issuedBy: '210100'\n\
             milestones:\n\
             - {id: monthly-report, task: 每月20日报送, responsible: {jurisdictions: ['210100']}, schedule: {monthly: {day: 20}}}\n\
             - {id: summary, task: 总结报告, responsible: {jurisdictions: ['210100']}, schedule: {due: '2026-11-30'}}\n",
        )
        .unwrap()
    }

    fn status_on(today: &str, cal: Result<&Calendar, &CalendarError>) -> SupervisionPlanStatus {
        let mut s = SupervisionPlanStatus::default();
        plan_status(&mut s, &spec(), cal, date(today), Some(1), Time(Utc::now()));
        s
    }

    fn ready(s: &SupervisionPlanStatus) -> (&str, &str) {
        let c = &s.conditions[0];
        (c.status.as_str(), c.reason.as_str())
    }

    #[test]
    fn next_due_per_milestone_and_for_the_plan() {
        let cal = cal_2026();
        let s = status_on("2026-09-21", Ok(&cal));
        assert_eq!(ready(&s), ("True", "Provisioned"));
        // 20 Oct 2026 is a Tuesday and a working day.
        assert_eq!(s.milestones[0].next_due, Some(date("2026-10-20")));
        assert_eq!(s.milestones[1].next_due, Some(date("2026-11-30")));
        assert_eq!(s.next_due, Some(date("2026-10-20")));
        assert_eq!(s.observed_generation, Some(1));
    }

    #[test]
    fn a_date_in_a_year_without_calendar_is_pending_not_an_error() {
        let cal = cal_2026();
        let s = status_on("2026-12-22", Ok(&cal));
        assert_eq!(s.milestones[0].next_due, None);
        assert_eq!(
            s.milestones[0].pending.as_deref(),
            Some("pending: no calendar for 2027")
        );
        // The one-off summary is past: no date, nothing pending.
        assert_eq!(
            (s.milestones[1].next_due, &s.milestones[1].pending),
            (None, &None)
        );
        assert_eq!(s.next_due, None);
        assert_eq!(ready(&s), ("False", "CalendarMissing"));
        assert!(s.conditions[0].message.contains("monthly-report"));
    }

    #[test]
    fn no_calendar_at_all_and_invalid_specs() {
        let e = CalendarError::MissingYear(2026);
        let s = status_on("2026-09-21", Err(&e));
        assert_eq!(ready(&s), ("False", "CalendarMissing"));
        assert!(s.milestones.is_empty());
        let mut bad = spec();
        bad.milestones[1].id = "monthly-report".into();
        let mut s = SupervisionPlanStatus::default();
        let cal = cal_2026();
        plan_status(
            &mut s,
            &bad,
            Ok(&cal),
            date("2026-09-21"),
            None,
            Time(Utc::now()),
        );
        assert_eq!(ready(&s), ("False", "InvalidSpec"));
    }

    /// The plan as the cache holds it, with the status computed on `day`.
    fn plan_read_on(day: &str) -> SupervisionPlan {
        let mut plan = SupervisionPlan::new("shenyang-2026", spec());
        plan.metadata.namespace = Some("sx-210100".into());
        plan.metadata.generation = Some(1);
        plan.status = Some(status_on(day, Ok(&cal_2026())));
        serde_json::from_value(serde_json::to_value(plan).unwrap()).unwrap()
    }

    fn recomputed(plan: &SupervisionPlan, today: &str) -> SupervisionPlanStatus {
        let mut status = plan.status.clone().unwrap();
        let cal = cal_2026();
        plan_status(
            &mut status,
            &plan.spec,
            Ok(&cal),
            date(today),
            Some(1),
            Time(Utc::now()),
        );
        status
    }

    const STATUS: &str =
        "/apis/sanxiang.io/v1alpha1/namespaces/sx-210100/supervisionplans/shenyang-2026/status";

    #[tokio::test]
    async fn the_same_day_again_writes_nothing() {
        let plan = plan_read_on("2026-09-21");
        let status = recomputed(&plan, "2026-09-21");
        verify(nothing, |client| async move {
            write(&client, &plan, &status).await
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_moved_next_due_is_one_apply_patch_of_the_status() {
        let plan = plan_read_on("2026-09-21");
        // 20 October has passed: the monthly report is next due on 20 November.
        let status = recomputed(&plan, "2026-10-21");
        let mut answer = plan.clone();
        answer.status = Some(status.clone());
        let answer = serde_json::to_value(answer).unwrap();
        let scenario = |mut api: ApiServerVerifier| async move {
            let sent = api.expect_request("PATCH", STATUS, 200, answer).await;
            sent.assert_operator_apply();
            assert_eq!(sent.body["kind"], "SupervisionPlan");
            assert_eq!(sent.body["status"]["nextDue"], "2026-11-20");
            assert_eq!(
                sent.body["status"]["milestones"][0]["nextDue"],
                "2026-11-20"
            );
            assert_eq!(
                sent.body["status"]["conditions"][0]["reason"],
                "Provisioned"
            );
            api
        };
        verify(scenario, |client| async move {
            write(&client, &plan, &status).await
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn an_api_server_failure_is_the_kube_api_error() {
        let plan = plan_read_on("2026-09-21");
        let computed = recomputed(&plan, "2026-12-22");
        let scenario = |mut api: ApiServerVerifier| async move {
            api.expect("PATCH", STATUS, 409, status(409, "Conflict"))
                .await;
            api
        };
        let error = verify(scenario, |client| async move {
            write(&client, &plan, &computed).await
        })
        .await
        .expect_err("the API server refused");
        assert_eq!(error.reason(), "KubeApi");
    }

    #[test]
    fn requeue_lands_just_after_midnight_in_china() {
        let now = "2026-09-21T15:00:00Z".parse().unwrap(); // 23:00 in China
        assert_eq!(
            until_next_china_midnight(now),
            Duration::from_secs(3600 + 300)
        );
    }
}
