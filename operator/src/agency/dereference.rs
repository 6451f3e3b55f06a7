//! Stage 1, dereference: everything a reconcile reads, taken from the reflector caches
//! (no request to the API server), so that validate and build are pure functions of it.

use std::sync::Arc;

use chrono::NaiveDate;
use k8s_openapi::api::core::v1::Namespace;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use sanxiang_crds::agency::Agency;
use sanxiang_crds::calendar::{Calendar, CalendarError};
use sanxiang_crds::jurisdiction::Jurisdiction;
use sanxiang_crds::jurisdiction_policy::JurisdictionPolicy;
use sanxiang_crds::plan::SupervisionPlan;

use super::placement::NamespacePlace;
use crate::context::Context;
use crate::jurisdiction::{CITY_CODE_LABEL, PROVINCE_CODE_LABEL};

/// What the agency's reconcile depends on besides the agency itself.
pub struct Inputs {
    pub namespace: String,
    pub name: String,
    /// The place labels of the agency's namespace: a city's (city and province code), a
    /// province's (province code only), or none (not a Sanxiang namespace, or not in the
    /// cache yet: the controller looks again when it appears).
    pub namespace_place: NamespacePlace,
    pub jurisdictions: Vec<Arc<Jurisdiction>>,
    /// The cities' own policies (JurisdictionPolicy objects), every namespace's: the
    /// placement rules decide which are in force.
    pub jurisdiction_policies: Vec<Arc<JurisdictionPolicy>>,
    /// The Agency objects of the same namespace (for the city's quota).
    pub namespace_peers: Vec<Arc<Agency>>,
    /// The working-day engine from every WorkCalendar (an error: inconsistent calendars).
    pub calendar: Result<Calendar, CalendarError>,
    pub plans: Vec<Arc<SupervisionPlan>>,
    /// Today in China.
    pub today: NaiveDate,
}

/// Reads the inputs of `agency` from the caches of `ctx`.
pub fn dereference(agency: &Agency, ctx: &Context) -> Inputs {
    let namespace = agency.namespace().unwrap_or_default();
    let labels = ctx
        .namespaces
        .get(&ObjectRef::<Namespace>::new(&namespace))
        .map(|n| n.labels().clone())
        .unwrap_or_default();
    let namespace_place = NamespacePlace {
        city: labels.get(CITY_CODE_LABEL).cloned(),
        province: labels.get(PROVINCE_CODE_LABEL).cloned(),
    };
    let namespace_peers = ctx
        .agencies
        .state()
        .into_iter()
        .filter(|a| a.namespace().as_deref() == Some(namespace.as_str()))
        .collect();
    Inputs {
        name: agency.name_any(),
        namespace_place,
        jurisdictions: ctx.jurisdictions.state(),
        jurisdiction_policies: ctx.jurisdiction_policies.state(),
        namespace_peers,
        calendar: ctx.calendar(),
        plans: ctx.plans.state(),
        today: ctx.clock.today(),
        namespace,
    }
}
