//! Milestones due and missed per agency: what the SupervisionPlans ask of each agency,
//! against what the agency reported (`milestone_report` events) and what supervisors
//! made of the reports.
//!
//! The stream only carries what agencies report, so the workspace watches the
//! SupervisionPlan and Agency objects (read-only; `--plans-from-kube`) and computes who
//! owes what and when with the operator's own function
//! ([`sanxiang_crds::responsibility::milestone_dates`]), on the working-day calendars the
//! workspace already loads. The Agency object gives what the plans match on (namespace,
//! labels, jurisdiction) and when it was created; city and province come from the stream.
//!
//! Per applicable milestone: its next due date (`due`, with the report of that occurrence
//! if one came early), and every past occurrence of the last [`LOOK_BACK_DAYS`] that was
//! not reported, or whose report a supervisor returned (`missed`). A report awaiting
//! confirmation or confirmed is not missed. Occurrences before the plan was issued or the
//! agency existed are never missed; a milestone whose dates need a year without a
//! WorkCalendar is `pending` with that year. Computed at each request and scrape: the
//! date moves on without any write.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::NaiveDate;
use futures::StreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use sanxiang_crds::agency::Agency;
use sanxiang_crds::calendar::{Calendar, CalendarError};
use sanxiang_crds::plan::SupervisionPlan;
use sanxiang_crds::responsibility::{ResponsibleAgency, created_on, milestone_dates};
use serde::Serialize;

use crate::AppState;

/// How far back a missed occurrence still shows: a year, so a yearly duty missed stays
/// visible until its next occurrence.
pub const LOOK_BACK_DAYS: i64 = 366;

/// The watched SupervisionPlans and Agencies; empty when not watched.
#[derive(Clone, Default)]
pub struct Plans {
    watched: Option<Watched>,
}

#[derive(Clone)]
struct Watched {
    plans: Store<SupervisionPlan>,
    agencies: Store<Agency>,
    ready: Arc<AtomicBool>,
}

impl Plans {
    /// Not watched: no agency's duties are known.
    pub fn none() -> Self {
        Self::default()
    }

    /// Watches every namespace's SupervisionPlans and Agencies until the process ends.
    pub fn watch(client: Client) -> Self {
        let (plans, plan_writer) = reflector::store::<SupervisionPlan>();
        let (agencies, agency_writer) = reflector::store::<Agency>();
        let plan_events = watcher(
            Api::<SupervisionPlan>::all(client.clone()),
            Default::default(),
        )
        .default_backoff()
        .reflect(plan_writer)
        .touched_objects();
        let agency_events = watcher(Api::<Agency>::all(client), Default::default())
            .default_backoff()
            .reflect(agency_writer)
            .touched_objects();
        tokio::spawn(plan_events.for_each(|e| async move {
            if let Err(e) = e {
                tracing::warn!(error = %e, "watching SupervisionPlans");
            }
        }));
        tokio::spawn(agency_events.for_each(|e| async move {
            if let Err(e) = e {
                tracing::warn!(error = %e, "watching Agencies");
            }
        }));
        let ready = Arc::new(AtomicBool::new(false));
        let (p, a, r) = (plans.clone(), agencies.clone(), ready.clone());
        tokio::spawn(async move {
            if p.wait_until_ready().await.is_ok() && a.wait_until_ready().await.is_ok() {
                r.store(true, Ordering::Relaxed);
            }
        });
        Self {
            watched: Some(Watched {
                plans,
                agencies,
                ready,
            }),
        }
    }

    /// Whether the caches are filled (always, when not watched).
    pub fn is_ready(&self) -> bool {
        self.watched
            .as_ref()
            .is_none_or(|w| w.ready.load(Ordering::Relaxed))
    }

    /// The duties of `agencies` (name, province, city) on `today`, with the reports in the
    /// database; an agency without an Agency object (or when nothing is watched) has
    /// `known: false`.
    pub async fn for_agencies(
        &self,
        st: &AppState,
        agencies: &[(String, String, String)],
    ) -> sqlx::Result<HashMap<String, AgencyDuties>> {
        let Some(w) = &self.watched else {
            return Ok(HashMap::new());
        };
        let names: Vec<String> = agencies.iter().map(|a| a.0.clone()).collect();
        let rows: Vec<(String, String, String, NaiveDate, String)> = sqlx::query!(
            "SELECT agency, plan, milestone, due, status FROM milestones WHERE agency = ANY($1)",
            &names
        )
        .map(|r| (r.agency, r.plan, r.milestone, r.due, r.status))
        .fetch_all(&st.pool)
        .await?;
        let mut reports: HashMap<String, Reports> = HashMap::new();
        for (agency, plan, milestone, due, status) in rows {
            reports
                .entry(agency)
                .or_default()
                .insert((plan, milestone, due), status);
        }
        let objects: HashMap<String, Arc<Agency>> = w
            .agencies
            .state()
            .into_iter()
            .map(|a| (a.name_any(), a))
            .collect();
        let plans = w.plans.state();
        let plans: Vec<&SupervisionPlan> = plans.iter().map(|p| p.as_ref()).collect();
        let calendar = st.calendars.get();
        let today = st.clock.today();
        let none = Reports::new();
        let mut out = HashMap::new();
        for (name, province, city) in agencies {
            let Some(object) = objects.get(name) else {
                continue;
            };
            let place = Place {
                agency: object,
                province,
                city,
            };
            let reports = reports.get(name).unwrap_or(&none);
            let duties = duties(&plans, &place, &calendar, today, reports).unwrap_or_else(|e| {
                tracing::warn!(agency = %name, error = %e, "milestone dates not computed");
                AgencyDuties {
                    error: Some(e.to_string()),
                    ..Default::default()
                }
            });
            out.insert(name.clone(), duties);
        }
        Ok(out)
    }
}

/// An agency as the plans match it: its object, with city and province from the stream.
pub struct Place<'a> {
    pub agency: &'a Agency,
    pub province: &'a str,
    pub city: &'a str,
}

/// Report status (reported, confirmed, returned) by (plan, milestone, due).
pub type Reports = HashMap<(String, String, NaiveDate), String>;

/// One dated occurrence of a milestone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = MilestoneOccurrence)]
#[serde(rename_all = "camelCase")]
pub struct Occurrence {
    pub plan: String,
    pub milestone: String,
    pub task: String,
    pub due: NaiveDate,
    /// The report of this occurrence: reported (awaiting confirmation), confirmed,
    /// returned, or none.
    pub report: Option<String>,
}

/// A milestone whose dates wait for the WorkCalendar of `year`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = PendingMilestone)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    pub plan: String,
    pub milestone: String,
    pub year: i32,
}

/// What the plans ask of one agency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgencyDuties {
    /// False when the workspace does not know the agency's plans (no Agency object, or
    /// plans not watched): then the lists say nothing.
    pub known: bool,
    /// Each applicable milestone's next due date.
    pub due: Vec<Occurrence>,
    /// Past occurrences not reported, or whose report was returned.
    pub missed: Vec<Occurrence>,
    pub pending: Vec<Pending>,
    /// An inconsistent schedule or calendar (nothing could be computed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The duties of one agency on `today` (pure).
pub fn duties(
    plans: &[&SupervisionPlan],
    place: &Place,
    calendar: &Calendar,
    today: NaiveDate,
    reports: &Reports,
) -> Result<AgencyDuties, CalendarError> {
    let a = place.agency;
    let namespace = a.namespace().unwrap_or_default();
    let agency = ResponsibleAgency {
        namespace: &namespace,
        labels: a.labels(),
        jurisdiction: &a.spec.jurisdiction,
        city: (place.city != sanxiang_domain::NO_CITY).then_some(place.city),
        province: place.province,
        existed_since: created_on(&a.metadata),
    };
    let since = today - chrono::Duration::days(LOOK_BACK_DAYS);
    let mut out = AgencyDuties {
        known: true,
        ..Default::default()
    };
    for plan in plans {
        // From the plan's issue on (and the agency's existence, which the shared
        // function applies too): a window that starts there needs no calendar of the
        // years before.
        let issued = created_on(&plan.metadata);
        let from = [Some(since), issued, agency.existed_since]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(since);
        for m in milestone_dates(&[plan], &agency, calendar, from, today)? {
            let occurrence = |due: NaiveDate| Occurrence {
                plan: m.plan.clone(),
                milestone: m.milestone.clone(),
                task: m.task.clone(),
                due,
                report: reports
                    .get(&(m.plan.clone(), m.milestone.clone(), due))
                    .cloned(),
            };
            out.missed.extend(
                m.past
                    .iter()
                    .map(|d| occurrence(*d))
                    .filter(|o| o.report.as_deref().is_none_or(|r| r == "returned")),
            );
            out.due.extend(m.next.map(occurrence));
            if let Some(year) = m.pending_year {
                out.pending.push(Pending {
                    plan: m.plan.clone(),
                    milestone: m.milestone.clone(),
                    year,
                });
            }
        }
    }
    let key = |o: &Occurrence| (o.due, o.plan.clone(), o.milestone.clone());
    out.missed.sort_by_key(key);
    out.due.sort_by_key(key);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn missed_until_reported_and_again_when_returned() {
        let mut plan: SupervisionPlan = serde_json::from_value(serde_json::json!({
            "apiVersion": "sanxiang.io/v1alpha1", "kind": "SupervisionPlan",
            "metadata": {"name": "tieling-2026", "namespace": "sx-211200"},
            "spec": {"title": "铁岭", "issuedBy": "211200", "milestones": [
                {"id": "a", "task": "甲", "responsible": {"jurisdictions": ["211200"]},
                 "schedule": {"due": "2026-03-10"}},
                {"id": "b", "task": "乙", "responsible": {"jurisdictions": ["211200"]},
                 "schedule": {"due": "2026-03-20"}},
                {"id": "later", "task": "丙", "responsible": {"jurisdictions": ["211200"]},
                 "schedule": {"due": "2026-05-01"}},
                {"id": "elsewhere", "task": "丁", "responsible": {"jurisdictions": ["210100"]},
                 "schedule": {"due": "2026-03-10"}}
            ]}
        }))
        .unwrap();
        plan.metadata.creation_timestamp = Some(Time("2026-01-05T00:00:00Z".parse().unwrap()));
        let mut agency: Agency = serde_json::from_value(serde_json::json!({
            "apiVersion": "sanxiang.io/v1alpha1", "kind": "Agency",
            "metadata": {"name": "tl-market", "namespace": "sx-211200"},
            "spec": {"jurisdiction": "211221", "displayName": "铁岭县市场监督管理局",
                     "creditCode": "11211221MB00000030", "categories": ["Penalty"]}
        }))
        .unwrap();
        agency.metadata.creation_timestamp = Some(Time("2026-01-05T00:00:00Z".parse().unwrap()));
        let place = Place {
            agency: &agency,
            province: "210000",
            city: "211200",
        };
        let cal =
            Calendar::from_specs(std::iter::empty::<&sanxiang_crds::calendar::WorkCalendarSpec>())
                .unwrap();
        let run = |reports: &Reports| {
            duties(&[&plan], &place, &cal, date("2026-04-01"), reports).unwrap()
        };
        let missed = |d: &AgencyDuties| -> Vec<String> {
            d.missed.iter().map(|o| o.milestone.clone()).collect()
        };
        let got = run(&Reports::new());
        assert!(got.known);
        assert_eq!(missed(&got), ["a", "b"]);
        assert_eq!(
            got.due
                .iter()
                .map(|o| (o.milestone.as_str(), o.due))
                .collect::<Vec<_>>(),
            [("later", date("2026-05-01"))]
        );
        let key = |m: &str, d: &str| ("tieling-2026".to_string(), m.to_string(), date(d));
        let mut reports = Reports::from([
            (key("a", "2026-03-10"), "confirmed".to_string()),
            (key("b", "2026-03-20"), "reported".to_string()),
        ]);
        assert!(
            run(&reports).missed.is_empty(),
            "reported or confirmed: not missed"
        );
        reports.insert(key("b", "2026-03-20"), "returned".into());
        let got = run(&reports);
        assert_eq!(missed(&got), ["b"]);
        assert_eq!(got.missed[0].report.as_deref(), Some("returned"));
        // An agency created after the due dates owes none of them.
        agency.metadata.creation_timestamp = Some(Time("2026-03-25T00:00:00Z".parse().unwrap()));
        let place = Place {
            agency: &agency,
            province: "210000",
            city: "211200",
        };
        let got = duties(&[&plan], &place, &cal, date("2026-04-01"), &Reports::new()).unwrap();
        assert!(got.missed.is_empty());
    }
}
