//! Which supervision milestones an agency answers for, and their due dates around today.
//!
//! For each responsible milestone the alert rules get the most recent past occurrence (so
//! a missed one keeps alerting until it is reported done) and the next one (so "due soon"
//! fires in time). Dates come from the working-day calendar, never a guess: a milestone
//! whose dates reach into a year without a WorkCalendar is listed as pending (its alerts
//! appear the moment the year is loaded) and the agency stays Ready. Which milestones
//! apply and their dates are computed by `sanxiang_crds::responsibility`, as in the
//! supervision workspace; what is here is what the alerts take of them.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sanxiang_crds::calendar::{Calendar, CalendarError};
use sanxiang_crds::plan::SupervisionPlan;
use sanxiang_crds::responsibility::{ResponsibleAgency, milestone_dates};

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

/// Which milestones apply and their dates are [`milestone_dates`] (shared with the
/// supervision workspace); the alerts take the most recent past date and the next one,
/// each with the first day of its "due soon" reminder. Occurrences before the agency
/// existed are left out by the alert rules ([`crate::alerts::agency_rule_spec`]).
///
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
    let agency = ResponsibleAgency {
        namespace,
        labels: agency_labels,
        jurisdiction: jurisdiction_code,
        city: placement.city.as_deref(),
        province: &placement.province,
        existed_since: None,
    };
    let since = today - chrono::Duration::days(LOOK_BACK_DAYS);
    let mut out = Vec::new();
    let mut pending = Vec::new();
    for m in milestone_dates(plans, &agency, calendar, since, today)? {
        let mut missing = m.pending_year;
        for due in m.past.last().into_iter().chain(m.next.as_ref()) {
            let from = match due_soon_from(calendar, *due, m.due_soon_working_days) {
                Ok(from) => from,
                Err(CalendarError::MissingYear(y)) => {
                    missing.get_or_insert(y);
                    continue;
                }
                Err(e) => return Err(e),
            };
            out.push(MilestoneOccurrence {
                plan: m.plan.clone(),
                milestone: m.milestone.clone(),
                task: m.task.clone(),
                due: *due,
                due_soon_from: from,
            });
        }
        if let Some(year) = missing {
            pending.push(PendingMilestone {
                plan: m.plan,
                milestone: m.milestone,
                year,
            });
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
