//! Which supervision milestones an agency answers for, and their due dates: the one
//! computation that the operator (its "due soon" and "missed" alerts) and the supervision
//! workspace (milestones due and missed per agency) share, so both always agree on who
//! owes what and when.
//!
//! A milestone of a [`SupervisionPlan`] applies to an agency when one of its responsible
//! jurisdictions is the agency's own jurisdiction, its city or its province, or when its
//! `agencySelector` selects the agency's labels and the plan is in the agency's namespace.
//! Dates come from the working-day calendar, never a guess: a year without a WorkCalendar
//! leaves the milestone pending (named with the first year it needs), while the dates
//! that could be computed still count (a missed past date keeps showing).
//!
//! An occurrence that fell due before the plan was issued, or before the agency existed,
//! was never asked of the agency: it is not among the past dates (issue 13: no milestone
//! missed for occurrences before the agency or the plan existed).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::ResourceExt;

use crate::calendar::{Calendar, CalendarError};
use crate::plan::{Milestone, SupervisionPlan};
use crate::schedule::{next_due, occurrences};

/// Where an agency sits, as plans' responsible units name it.
#[derive(Clone, Debug)]
pub struct ResponsibleAgency<'a> {
    /// Namespace of the Agency object (an `agencySelector` selects in its plan's namespace).
    pub namespace: &'a str,
    /// The Agency object's labels.
    pub labels: &'a BTreeMap<String, String>,
    /// GB/T 2260 code of the agency's jurisdiction (`spec.jurisdiction`).
    pub jurisdiction: &'a str,
    /// GB/T 2260 code of its city; `None` for a province-level agency (省级行政执法机关).
    pub city: Option<&'a str>,
    /// GB/T 2260 code of its province.
    pub province: &'a str,
    /// First day the agency existed (China date of its creation); `None` when unknown,
    /// which filters nothing.
    pub existed_since: Option<NaiveDate>,
}

/// The dates of one milestone an agency answers for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MilestoneDates {
    /// SupervisionPlan name.
    pub plan: String,
    /// Milestone id within the plan.
    pub milestone: String,
    /// What has to be done, as worded in the plan.
    pub task: String,
    /// The schedule's `dueSoonWorkingDays`.
    pub due_soon_working_days: u32,
    /// Due dates in `[since, today)`, ascending, none before the plan was issued or the
    /// agency existed.
    pub past: Vec<NaiveDate>,
    /// The first due date on or after today; `None` for a past one-off milestone and
    /// while pending.
    pub next: Option<NaiveDate>,
    /// The first year without a WorkCalendar that its dates need, if any.
    pub pending_year: Option<i32>,
}

/// Whether milestone `m` of `plan` applies to `agency`.
pub fn applies(plan: &SupervisionPlan, m: &Milestone, agency: &ResponsibleAgency) -> bool {
    let ancestry = [
        Some(agency.jurisdiction),
        agency.city,
        Some(agency.province),
    ];
    let by_jurisdiction = m
        .responsible
        .jurisdictions
        .iter()
        .any(|c| ancestry.contains(&Some(c.as_str())));
    let by_selector = plan.namespace().as_deref() == Some(agency.namespace)
        && m.responsible
            .agency_selector
            .as_ref()
            .is_some_and(|s| selects(s, agency.labels));
    by_jurisdiction || by_selector
}

/// The milestones of `plans` that `agency` answers for, each with its due dates in
/// `[since, today)` and its next one, in the plans' order.
///
/// Only the years actually needed are asked of the calendar. Fails only when a schedule
/// or a calendar is inconsistent ([`CalendarError::Invalid`]); a missing year is
/// [`MilestoneDates::pending_year`].
pub fn milestone_dates(
    plans: &[&SupervisionPlan],
    agency: &ResponsibleAgency,
    calendar: &Calendar,
    since: NaiveDate,
    today: NaiveDate,
) -> Result<Vec<MilestoneDates>, CalendarError> {
    let mut out = Vec::new();
    for plan in plans {
        let issued = created_on(&plan.metadata);
        for m in plan
            .spec
            .milestones
            .iter()
            .filter(|m| applies(plan, m, agency))
        {
            let mut missing = None;
            let mut keep = |r: Result<Vec<NaiveDate>, CalendarError>| match r {
                Ok(dues) => Ok(dues),
                Err(CalendarError::MissingYear(y)) => {
                    missing.get_or_insert(y);
                    Ok(Vec::new())
                }
                Err(e) => Err(e),
            };
            let past = match today.pred_opt() {
                Some(yesterday) => keep(occurrences(&m.schedule, calendar, since, yesterday))?,
                None => Vec::new(),
            };
            let next = keep(next_due(&m.schedule, calendar, today).map(Vec::from_iter))?;
            let asked_from = [issued, agency.existed_since].into_iter().flatten().max();
            out.push(MilestoneDates {
                plan: plan.name_any(),
                milestone: m.id.clone(),
                task: m.task.clone(),
                due_soon_working_days: m.schedule.due_soon_working_days,
                past: past
                    .into_iter()
                    .filter(|d| asked_from.is_none_or(|from| *d >= from))
                    .collect(),
                next: next.first().copied(),
                pending_year: missing,
            });
        }
    }
    Ok(out)
}

/// The China date an object was created: when a plan was issued, since when an agency
/// existed.
pub fn created_on(meta: &ObjectMeta) -> Option<NaiveDate> {
    meta.creation_timestamp
        .as_ref()
        .map(|t| sanxiang_domain::china_date(t.0))
}

/// Label selector semantics (matchLabels and the four matchExpressions operators).
pub fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_ok = selector
        .match_labels
        .as_ref()
        .is_none_or(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)));
    let expressions_ok = selector.match_expressions.as_ref().is_none_or(|exprs| {
        exprs.iter().all(|e| {
            let values = e.values.clone().unwrap_or_default();
            let value = labels.get(&e.key);
            match e.operator.as_str() {
                "In" => value.is_some_and(|v| values.contains(v)),
                "NotIn" => value.is_none_or(|v| !values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
    });
    labels_ok && expressions_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::date;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    /// One-off dates need no calendar.
    fn no_calendar() -> Calendar {
        Calendar::from_specs(std::iter::empty::<&crate::calendar::WorkCalendarSpec>()).unwrap()
    }

    fn plan(schedule: serde_json::Value, created: &str) -> SupervisionPlan {
        let mut p: SupervisionPlan = serde_json::from_value(serde_json::json!({
            "apiVersion": "sanxiang.io/v1alpha1", "kind": "SupervisionPlan",
            "metadata": {"name": "tieling-2026", "namespace": "sx-211200"},
            "spec": {"title": "铁岭", "issuedBy": "211200", "milestones": [
                {"id": "summary", "task": "总结", "responsible": {"jurisdictions": ["211221"]},
                 "schedule": schedule},
                {"id": "penalty-only", "task": "处罚", "responsible": {
                    "agencySelector": {"matchLabels": {"sanxiang.io/category": "Penalty"}}},
                 "schedule": schedule}
            ]}
        }))
        .unwrap();
        p.metadata.creation_timestamp = Some(Time(created.parse().unwrap()));
        p
    }

    fn agency<'a>(
        labels: &'a BTreeMap<String, String>,
        existed_since: Option<NaiveDate>,
    ) -> ResponsibleAgency<'a> {
        ResponsibleAgency {
            namespace: "sx-211200",
            labels,
            jurisdiction: "211221",
            city: Some("211200"),
            province: "210000",
            existed_since,
        }
    }

    #[test]
    fn past_dates_start_when_both_the_plan_and_the_agency_existed() {
        let cal = no_calendar();
        let labels = BTreeMap::new();
        let dates = |created: &str, existed: Option<NaiveDate>| {
            let schedule = serde_json::json!({"due": "2026-03-10"});
            let p = plan(schedule, created);
            milestone_dates(
                &[&p],
                &agency(&labels, existed),
                &cal,
                date("2026-01-01"),
                date("2026-04-01"),
            )
            .unwrap()
        };
        let got = dates("2026-01-05T00:00:00Z", None);
        assert_eq!(got.len(), 1, "the selector milestone does not apply");
        assert_eq!(
            (got[0].past.clone(), got[0].next),
            (vec![date("2026-03-10")], None)
        );
        assert!(dates("2026-03-11T00:00:00Z", None)[0].past.is_empty());
        let existed = Some(date("2026-03-11"));
        assert!(dates("2026-01-05T00:00:00Z", existed)[0].past.is_empty());
        // Existing from the due day itself: it counts.
        let existed = Some(date("2026-03-10"));
        assert_eq!(dates("2026-01-05T00:00:00Z", existed)[0].past.len(), 1);
    }

    #[test]
    fn selectors_select_in_the_plans_namespace_only() {
        let cal = no_calendar();
        let p = plan(
            serde_json::json!({"due": "2026-05-10"}),
            "2026-01-05T00:00:00Z",
        );
        let labels = BTreeMap::from([("sanxiang.io/category".into(), "Penalty".into())]);
        let mut a = agency(&labels, None);
        a.jurisdiction = "211222";
        let ids = |a: &ResponsibleAgency| -> Vec<String> {
            milestone_dates(&[&p], a, &cal, date("2026-01-01"), date("2026-04-01"))
                .unwrap()
                .into_iter()
                .map(|m| m.milestone)
                .collect()
        };
        assert_eq!(ids(&a), ["penalty-only"]);
        a.namespace = "sx-210100";
        assert!(ids(&a).is_empty());
    }
}
