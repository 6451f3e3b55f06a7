//! Which supervision milestones an agency answers for, and their due dates around today.
//!
//! For each responsible milestone the alert rules get the most recent past occurrence (so
//! a missed one keeps alerting until it is reported done) and the next one (so "due soon"
//! fires in time). Dates come from the working-day calendar, never a guess: a milestone
//! whose dates reach into a year without a WorkCalendar is listed as pending (its alerts
//! appear the moment the year is loaded) and the agency stays Ready.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::ResourceExt;
use sanxiang_crds::calendar::{Calendar, CalendarError};
use sanxiang_crds::plan::{SupervisionPlan, next_due, occurrences};

use crate::alerts::MilestoneOccurrence;
use crate::naming::Placement;

/// How far back a past occurrence still counts (a monthly duty's previous due date).
const LOOK_BACK_DAYS: i64 = 45;

/// A responsible milestone whose dates cannot be known yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingMilestone {
    pub plan: String,
    pub milestone: String,
    /// The first year without a WorkCalendar that its dates need.
    pub year: i32,
}

/// The agency's milestone occurrences around today, and those pending on a calendar.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgencyMilestones {
    pub occurrences: Vec<MilestoneOccurrence>,
    pub pending: Vec<PendingMilestone>,
}

/// Fails only when a schedule or a calendar is inconsistent ([`CalendarError::Invalid`]).
pub fn for_agency(
    plans: &[&SupervisionPlan],
    namespace: &str,
    agency_labels: &BTreeMap<String, String>,
    jurisdiction_code: &str,
    placement: &Placement,
    calendar: &Calendar,
    today: NaiveDate,
) -> Result<AgencyMilestones, CalendarError> {
    let mut out = Vec::new();
    let mut pending = Vec::new();
    let ancestry = [
        Some(jurisdiction_code),
        placement.city.as_deref(),
        Some(placement.province.as_str()),
    ];
    for plan in plans {
        // An occurrence that fell due before the plan was issued is not missed.
        let issued = plan
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| sanxiang_domain::china_date(t.0));
        for m in &plan.spec.milestones {
            let by_jurisdiction = m
                .responsible
                .jurisdictions
                .iter()
                .any(|c| ancestry.contains(&Some(c.as_str())));
            let by_selector = plan.namespace().as_deref() == Some(namespace)
                && m.responsible
                    .agency_selector
                    .as_ref()
                    .is_some_and(|s| selects(s, agency_labels));
            if !(by_jurisdiction || by_selector) {
                continue;
            }
            // Only the years actually needed are asked of the calendar: the window behind
            // today, and up to the next due date. A year without a calendar leaves what
            // needs it pending; the rest (a missed past date) still counts.
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
                Some(yesterday) => keep(occurrences(
                    &m.schedule,
                    calendar,
                    today - chrono::Duration::days(LOOK_BACK_DAYS),
                    yesterday,
                ))?,
                None => Vec::new(),
            };
            let next = keep(next_due(&m.schedule, calendar, today).map(Vec::from_iter))?;
            let past: Vec<NaiveDate> = past
                .into_iter()
                .filter(|d| issued.is_none_or(|i| *d >= i))
                .collect();
            for due in past.last().into_iter().chain(next.first()) {
                let from = due_soon_from(calendar, *due, m.schedule.due_soon_working_days);
                let Some(from) = keep(from.map(|d| vec![d]))?.pop() else {
                    continue;
                };
                out.push(MilestoneOccurrence {
                    plan: plan.name_any(),
                    milestone: m.id.clone(),
                    task: m.task.clone(),
                    due: *due,
                    due_soon_from: from,
                });
            }
            if let Some(year) = missing {
                pending.push(PendingMilestone {
                    plan: plan.name_any(),
                    milestone: m.id.clone(),
                    year,
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.plan, &a.milestone, a.due).cmp(&(&b.plan, &b.milestone, b.due)));
    Ok(AgencyMilestones {
        occurrences: out,
        pending,
    })
}

/// The first day on which `due` is at most `n` working days away.
fn due_soon_from(calendar: &Calendar, due: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
    let mut from = due;
    loop {
        let Some(prev) = from.pred_opt() else {
            return Ok(from);
        };
        if calendar.working_days_between(prev, due)? > n {
            return Ok(from);
        }
        from = prev;
    }
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
    use sanxiang_crds::calendar::WorkCalendar;

    fn calendar() -> Calendar {
        let specs: Vec<WorkCalendar> = ["2025", "2026"]
            .iter()
            .map(|y| {
                let path = format!(
                    "{}/../e2e/fixtures/calendars/{y}.yaml",
                    env!("CARGO_MANIFEST_DIR")
                );
                serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
            })
            .collect();
        Calendar::from_specs(specs.iter().map(|c| &c.spec)).unwrap()
    }

    fn plan(jurisdictions: &[&str]) -> SupervisionPlan {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sanxiang.io/v1alpha1", "kind": "SupervisionPlan",
            "metadata": {"name": "shenyang-2026", "namespace": "sx-210100"},
            "spec": {"title": "月报", "issuedBy": "210100", "milestones": [{
                "id": "monthly-report", "task": "每月20日报送工作进展",
                "responsible": {"jurisdictions": jurisdictions},
                "schedule": {"monthly": {"day": 20}}
            }]}
        }))
        .unwrap()
    }

    fn placement() -> Placement {
        Placement {
            province: "210000".into(),
            city: Some("210100".into()),
            county: Some("210102".into()),
        }
    }

    /// The milestones of a county agency (210102, in Shenyang's namespace) under `plan`.
    fn for_county_agency(
        plan: &SupervisionPlan,
        today: NaiveDate,
    ) -> Result<AgencyMilestones, CalendarError> {
        for_agency(
            &[plan],
            "sx-210100",
            &BTreeMap::new(),
            "210102",
            &placement(),
            &calendar(),
            today,
        )
    }

    #[test]
    fn monthly_day_20_moves_to_the_next_working_day() {
        let p = plan(&["210100"]);
        // 2026-12-20 is a Sunday: due Monday 2026-12-21; the past one is 2026-11-20 (Friday).
        let got = for_county_agency(&p, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
            .unwrap()
            .occurrences;
        let dues: Vec<String> = got.iter().map(|o| o.due.to_string()).collect();
        assert_eq!(dues, ["2026-11-20", "2026-12-21"]);
        // Three working days before Monday the 21st: from Wednesday the 16th.
        assert_eq!(got[1].due_soon_from.to_string(), "2026-12-16");
    }

    #[test]
    fn occurrences_before_the_plan_was_issued_are_not_missed() {
        let mut p = plan(&["210100"]);
        p.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            "2026-11-25T02:00:00Z".parse().unwrap(),
        ));
        // Issued on 2026-11-25: November's report (due the 20th) was never asked for.
        let got = for_county_agency(&p, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
            .unwrap()
            .occurrences;
        let dues: Vec<String> = got.iter().map(|o| o.due.to_string()).collect();
        assert_eq!(dues, ["2026-12-21"]);
        // Issued on the due day itself: it counts.
        p.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            "2026-11-19T17:00:00Z".parse().unwrap(),
        ));
        let got = for_county_agency(&p, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
            .unwrap()
            .occurrences;
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn other_jurisdictions_milestones_do_not_apply() {
        let p = plan(&["211200"]);
        let got = for_county_agency(&p, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()).unwrap();
        assert_eq!(got, AgencyMilestones::default());
    }

    #[test]
    fn a_missing_calendar_year_leaves_the_milestone_pending() {
        // Issue 9: a year without a calendar no longer fails the agency's alerts; the
        // milestone waits, named with the year it needs.
        let p = plan(&["210000"]);
        let got = for_county_agency(&p, NaiveDate::from_ymd_opt(2026, 12, 28).unwrap()).unwrap();
        // December's report (due Monday the 21st) is past and still alerts when missed.
        let dues: Vec<String> = got.occurrences.iter().map(|o| o.due.to_string()).collect();
        assert_eq!(dues, ["2026-12-21"]);
        assert_eq!(
            got.pending,
            [PendingMilestone {
                plan: "shenyang-2026".into(),
                milestone: "monthly-report".into(),
                year: 2027
            }]
        );
    }
}
