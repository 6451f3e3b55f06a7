//! Stage 5, status: one condition per part plus `Ready`, `observedGeneration` and the
//! names of what was provisioned, written only when it changed; the `sanxiang_agency_ready`
//! series; an event per new finding; and the next look.
//!
//! The statuses themselves are computed by pure functions ([`refused_status`],
//! [`provisioned_status`]), so what an agency reads is unit-tested.

use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, Client, Resource, ResourceExt};
use sanxiang_crds::agency::{Agency, AgencyStatus};
use sanxiang_crds::conditions::{
    condition_type, find_condition, is_condition_true, new_condition, reason, upsert_condition,
};

use super::apply::{PartFailed, PartResult};
use super::build::Desired;
use super::validate::Refusal;
use crate::context::Context;
use crate::naming::{AgencyNames, Placement};

/// The parts whose conditions an agency carries besides `Ready`.
const PARTS: [&str; 3] = [
    condition_type::DATABASE_READY,
    condition_type::MESSAGING_READY,
    condition_type::ALERTS_READY,
];

/// The status of a refused agency (pure): `Ready=False` with the refusal; parts already
/// provisioned stay as they are, unknown ones wait for a valid spec.
pub fn refused_status(
    before: &AgencyStatus,
    refusal: &Refusal,
    generation: Option<i64>,
    now: DateTime<Utc>,
) -> AgencyStatus {
    let mut status = before.clone();
    let why = refusal.reason();
    for part in PARTS {
        if find_condition(&status.conditions, part).is_none() {
            set(
                &mut status,
                part,
                false,
                why,
                "waiting for a valid spec",
                generation,
                now,
            );
        }
    }
    let message = refusal.to_string();
    set(
        &mut status,
        condition_type::READY,
        false,
        why,
        &message,
        generation,
        now,
    );
    status.observed_generation = generation;
    status
}

/// The status after the apply stage (pure), and the first part that failed.
pub fn provisioned_status<'p>(
    before: &AgencyStatus,
    parts: &'p [PartResult],
    names: &AgencyNames,
    generation: Option<i64>,
    now: DateTime<Utc>,
) -> (AgencyStatus, Option<&'p PartResult>) {
    let mut status = before.clone();
    for part in parts {
        set(
            &mut status,
            part.condition,
            part.ready,
            part.reason,
            &part.message,
            generation,
            now,
        );
    }
    let first_error = parts.iter().find(|p| !p.ready);
    match first_error {
        None => set(
            &mut status,
            condition_type::READY,
            true,
            reason::PROVISIONED,
            "database, messaging and alerts are provisioned",
            generation,
            now,
        ),
        Some(p) => set(
            &mut status,
            condition_type::READY,
            false,
            p.reason,
            &format!("{}: {}", p.condition, p.message),
            generation,
            now,
        ),
    }
    status.observed_generation = generation;
    status.database = Some(names.database.clone());
    status.database_role = Some(names.role.clone());
    status.credentials_secret = Some(names.database_secret.clone());
    status.nats_subject_prefix = Some(names.subject_prefix.clone());
    status.nats_credentials_secret = Some(names.nats_secret.clone());
    status.prometheus_rule = Some(names.prometheus_rule.clone());
    (status, first_error)
}

/// The status the status stage writes after the apply stage (pure): the parts' conditions
/// and `Ready` ([`provisioned_status`]), the aggregate streams, the policies in force and
/// `PoliciesValid`; and the first part that failed.
pub fn stage_status<'p>(
    before: &AgencyStatus,
    desired: &Desired,
    parts: &'p [PartResult],
    generation: Option<i64>,
    now: DateTime<Utc>,
) -> (AgencyStatus, Option<&'p PartResult>) {
    let (mut status, first_error) =
        provisioned_status(before, parts, &desired.names, generation, now);
    // The agency has no stream of its own: its messages are held by these aggregates.
    status.streams = super::apply::aggregate_chain(&desired.placement);
    status.effective_policies = Some(desired.policies.clone());
    policies_valid(&mut status, &desired.loosened, generation, now);
    (status, first_error)
}

/// Sets `PoliciesValid` (pure): True when the agency's own `spec.policies` only tighten
/// the bounds of its city and county, else False, reason PolicyLoosened, naming each
/// field and bound (those values are not obeyed; the agency is provisioned regardless).
pub fn policies_valid(
    status: &mut AgencyStatus,
    loosened: &[String],
    generation: Option<i64>,
    now: DateTime<Utc>,
) {
    let (valid, why, message) = if loosened.is_empty() {
        (
            true,
            reason::WITHIN_BOUNDS,
            "spec.policies only tighten the bounds of the agency's city and county".to_string(),
        )
    } else {
        (false, reason::POLICY_LOOSENED, loosened.join("; "))
    };
    set(
        status,
        condition_type::POLICIES_VALID,
        valid,
        why,
        &message,
        generation,
        now,
    );
}

/// The status of a deleted agency whose deletion waits (pure): `DeletionBlocked=True`
/// and `Ready=False`, both with `reason` and the message saying what is held and how to
/// proceed.
pub fn blocked_status(
    before: &AgencyStatus,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: DateTime<Utc>,
) -> AgencyStatus {
    let mut status = before.clone();
    set(
        &mut status,
        condition_type::DELETION_BLOCKED,
        true,
        reason,
        message,
        generation,
        now,
    );
    set(
        &mut status,
        condition_type::READY,
        false,
        reason,
        message,
        generation,
        now,
    );
    status
}

/// Writes the status of a deletion that waits, with an event when it is news.
pub async fn deletion_blocked(
    agency: &Agency,
    ctx: &Context,
    reason: &str,
    message: &str,
) -> Result<(), kube::Error> {
    let before = agency.status.clone().unwrap_or_default();
    let status = blocked_status(
        &before,
        reason,
        message,
        agency.metadata.generation,
        Utc::now(),
    );
    write(agency, ctx, &status).await?;
    if before != status {
        publish(ctx, agency, EventType::Warning, reason, message).await;
    }
    Ok(())
}

/// Writes the status of a refused agency and says when to look again.
pub async fn refused(
    agency: &Agency,
    ctx: &Context,
    refusal: &Refusal,
) -> Result<Action, kube::Error> {
    let namespace = agency.namespace().unwrap_or_default();
    let name = agency.name_any();
    let before = agency.status.clone().unwrap_or_default();
    let status = refused_status(&before, refusal, agency.metadata.generation, Utc::now());
    write(agency, ctx, &status).await?;
    // An agency provisioned before (its placement recorded) now reads not Ready. One
    // never provisioned gets no series: without placement labels it could not be
    // removed by the cleanup; its condition and event say it all.
    if let Some(p) = recorded_placement(agency) {
        ctx.metrics
            .agency_ready
            .with_label_values(&[
                &namespace,
                &name,
                &p.province,
                p.city_token(),
                p.county_token(),
            ])
            .set(0);
    }
    // One event per new finding, not one per look: an unchanged refusal stays quiet.
    if before != status {
        publish(
            ctx,
            agency,
            EventType::Warning,
            refusal.reason(),
            &refusal.to_string(),
        )
        .await;
    }
    Ok(if refusal.waits_for_others() {
        Action::requeue(Duration::from_secs(300))
    } else {
        // The rest clear when this Agency or a Jurisdiction changes, which triggers one.
        Action::await_change()
    })
}

/// Writes the status after the apply stage; a failed part is returned as the error (for
/// the backoff and the metric), except a missing calendar, which only waits.
pub async fn provisioned(
    agency: &Agency,
    ctx: &Context,
    desired: &Desired,
    parts: &[PartResult],
) -> Result<Action, StatusError> {
    let before = agency.status.clone().unwrap_or_default();
    let (status, first_error) = stage_status(
        &before,
        desired,
        parts,
        agency.metadata.generation,
        Utc::now(),
    );
    let timer = ctx
        .metrics
        .phase
        .with_label_values(&["status"])
        .start_timer();
    write(agency, ctx, &status).await?;
    drop(timer);
    let was_loosened = find_condition(&before.conditions, condition_type::POLICIES_VALID)
        .is_some_and(|c| {
            c.status == "False" && c.observed_generation == agency.metadata.generation
        });
    if !desired.loosened.is_empty() && !was_loosened {
        publish(
            ctx,
            agency,
            EventType::Warning,
            reason::POLICY_LOOSENED,
            &desired.loosened.join("; "),
        )
        .await;
    }
    let p = &desired.placement;
    ctx.metrics
        .agency_ready
        .with_label_values(&[
            &agency.namespace().unwrap_or_default(),
            &agency.name_any(),
            &p.province,
            p.city_token(),
            p.county_token(),
        ])
        .set(i64::from(first_error.is_none()));
    match first_error {
        None => {
            ctx.reset_backoff(&key(agency));
            // Milestone windows move with the calendar: look again within a day.
            Ok(Action::requeue(Duration::from_secs(6 * 3600)))
        }
        // Waits for a WorkCalendar (the controller re-runs when one is added).
        Some(p) if p.reason == reason::CALENDAR_MISSING => {
            Ok(Action::requeue(Duration::from_secs(3600)))
        }
        Some(p) => {
            publish(ctx, agency, EventType::Warning, p.reason, &p.message).await;
            Err(StatusError::Part(PartFailed {
                part: p.condition,
                reason: p.reason,
                message: p.message.clone(),
            }))
        }
    }
}

/// Why the status stage failed.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("writing status: {0}")]
    Kube(#[from] kube::Error),
    #[error(transparent)]
    Part(PartFailed),
}

impl StatusError {
    /// Metric label and event reason.
    pub fn reason(&self) -> &'static str {
        match self {
            StatusError::Kube(_) => "KubeApi",
            StatusError::Part(p) => p.reason,
        }
    }
}

async fn write(agency: &Agency, ctx: &Context, status: &AgencyStatus) -> Result<(), kube::Error> {
    write_if_changed(&ctx.client, agency, status).await?;
    recount_if_ready_changed(ctx, agency.status.as_ref(), status);
    Ok(())
}

/// Writes `status` to the agency's status subresource (server-side apply, the operator's
/// field manager) unless it equals the status the agency was read with.
async fn write_if_changed(
    client: &Client,
    agency: &Agency,
    status: &AgencyStatus,
) -> Result<(), kube::Error> {
    let api: Api<Agency> = Api::namespaced(client.clone(), &agency.namespace().unwrap_or_default());
    crate::apply::write_status(&api, &agency.name_any(), agency.status.as_ref(), status).await
}

/// Jurisdictions count Ready agencies: ask them to recount when this one's Ready flipped.
fn recount_if_ready_changed(ctx: &Context, before: Option<&AgencyStatus>, after: &AgencyStatus) {
    let ready = |s: &AgencyStatus| is_condition_true(&s.conditions, condition_type::READY);
    if before.is_none_or(|b| ready(b) != ready(after)) {
        // A full channel already holds a pending request.
        let _ = ctx.recount_agencies.try_send(());
    }
}

/// `namespace/name`, the backoff key.
pub fn key(agency: &Agency) -> String {
    format!(
        "{}/{}",
        agency.namespace().unwrap_or_default(),
        agency.name_any()
    )
}

/// Where the agency was provisioned, from the subject prefix in the status the operator
/// wrote (so deletion works even when its Jurisdiction is gone).
pub fn recorded_placement(agency: &Agency) -> Option<Placement> {
    let prefix = agency.status.as_ref()?.nats_subject_prefix.clone()?;
    let mut tokens = prefix.split('.').skip(1);
    Some(Placement {
        province: tokens.next()?.to_string(),
        city: tokens
            .next()
            .filter(|c| *c != sanxiang_domain::NO_CITY)
            .map(str::to_string),
        county: tokens
            .next()
            .filter(|c| *c != sanxiang_domain::NO_COUNTY)
            .map(str::to_string),
    })
}

pub async fn publish(ctx: &Context, agency: &Agency, type_: EventType, reason: &str, note: &str) {
    ctx.publish_event(&agency.object_ref(&()), type_, "Reconcile", reason, note)
        .await;
}

fn set(
    status: &mut AgencyStatus,
    type_: &str,
    ready: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: DateTime<Utc>,
) {
    upsert_condition(
        &mut status.conditions,
        new_condition(type_, ready, reason, message, generation, Time(now)),
    );
}

#[cfg(test)]
mod write_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::agency_names;
    use sanxiang_crds::conditions::find_condition;

    fn names() -> AgencyNames {
        let placement = Placement {
            province: "210000".into(),
            city: Some("211200".into()),
            county: Some("211221".into()),
        };
        agency_names("sx-211200", "market", &placement)
    }

    fn part(condition: &'static str, ready: bool, reason: &'static str) -> PartResult {
        PartResult {
            condition,
            ready,
            reason,
            message: format!("{condition} says {reason}"),
        }
    }

    #[test]
    fn all_parts_ready_make_the_agency_ready_with_its_names() {
        let parts = PARTS.map(|c| part(c, true, reason::PROVISIONED));
        let (s, failed) =
            provisioned_status(&Default::default(), &parts, &names(), Some(2), Utc::now());
        assert!(failed.is_none());
        assert!(is_condition_true(&s.conditions, condition_type::READY));
        assert_eq!(s.observed_generation, Some(2));
        assert_eq!(s.credentials_secret.as_deref(), Some("market-db"));
        assert!(recorded_placement_of(&s).is_some_and(|p| p.county.as_deref() == Some("211221")));
    }

    fn recorded_placement_of(s: &AgencyStatus) -> Option<Placement> {
        let mut a: Agency = serde_json::from_value(serde_json::json!({
            "apiVersion": "sanxiang.io/v1alpha1", "kind": "Agency",
            "metadata": {"name": "market", "namespace": "sx-211200"},
            "spec": {"jurisdiction": "211221", "displayName": "局",
                     "creditCode": "91350100M000100Y43", "categories": ["Penalty"]}
        }))
        .unwrap();
        a.status = Some(s.clone());
        recorded_placement(&a)
    }

    #[test]
    fn the_first_failed_part_names_ready_and_the_others_stay() {
        let parts = [
            part(condition_type::DATABASE_READY, true, reason::PROVISIONED),
            part(
                condition_type::MESSAGING_READY,
                false,
                reason::NATS_UNAVAILABLE,
            ),
            part(
                condition_type::ALERTS_READY,
                false,
                reason::ALERTS_UNAVAILABLE,
            ),
        ];
        let (s, failed) =
            provisioned_status(&Default::default(), &parts, &names(), None, Utc::now());
        assert_eq!(failed.map(|p| p.reason), Some(reason::NATS_UNAVAILABLE));
        let ready = find_condition(&s.conditions, condition_type::READY).unwrap();
        assert_eq!(ready.reason, reason::NATS_UNAVAILABLE);
        assert_eq!(
            ready.message,
            "MessagingReady: MessagingReady says NatsUnavailable"
        );
        assert!(is_condition_true(
            &s.conditions,
            condition_type::DATABASE_READY
        ));
    }

    #[test]
    fn a_blocked_deletion_says_why_in_ready_and_its_own_condition() {
        let s = blocked_status(
            &Default::default(),
            reason::RECORDS_HELD,
            "database x holds records: 1",
            Some(3),
            Utc::now(),
        );
        for type_ in [condition_type::DELETION_BLOCKED, condition_type::READY] {
            let c = find_condition(&s.conditions, type_).unwrap();
            assert_eq!(c.reason, reason::RECORDS_HELD);
            assert_eq!(c.message, "database x holds records: 1");
        }
        assert!(is_condition_true(
            &s.conditions,
            condition_type::DELETION_BLOCKED
        ));
        assert!(!is_condition_true(&s.conditions, condition_type::READY));
        let again = blocked_status(
            &s,
            reason::RECORDS_HELD,
            "database x holds records: 1",
            Some(3),
            Utc::now(),
        );
        assert_eq!(again, s, "an unchanged block writes nothing");
    }

    #[test]
    fn a_refusal_keeps_provisioned_parts_and_marks_unknown_ones() {
        let mut before = AgencyStatus::default();
        set(
            &mut before,
            condition_type::DATABASE_READY,
            true,
            reason::PROVISIONED,
            "ok",
            Some(1),
            Utc::now(),
        );
        let refusal = Refusal::NameTaken("metadata.name: taken".into());
        let s = refused_status(&before, &refusal, Some(2), Utc::now());
        assert!(is_condition_true(
            &s.conditions,
            condition_type::DATABASE_READY
        ));
        let messaging = find_condition(&s.conditions, condition_type::MESSAGING_READY).unwrap();
        assert_eq!(
            (messaging.reason.as_str(), messaging.message.as_str()),
            ("NameTaken", "waiting for a valid spec")
        );
        let ready = find_condition(&s.conditions, condition_type::READY).unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.message.as_str()),
            ("False", "metadata.name: taken")
        );
        // The same refusal again changes nothing (so no new event, no write).
        assert_eq!(refused_status(&s, &refusal, Some(2), Utc::now()), s);
    }

    #[test]
    fn a_looser_agency_policy_reads_policies_valid_false_naming_the_field() {
        let mut status = AgencyStatus::default();
        let said = "spec.policies.publicationRetentionDays: Agency sx-211200/ag sets 4000 days, \
                    looser than the bound at most 1825 days (County 211221) above it; the bound applies";
        policies_valid(&mut status, &[said.to_string()], Some(3), Utc::now());
        let c = find_condition(&status.conditions, condition_type::POLICIES_VALID).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str(), c.message.as_str()),
            ("False", reason::POLICY_LOOSENED, said)
        );
        policies_valid(&mut status, &[], Some(4), Utc::now());
        let c = find_condition(&status.conditions, condition_type::POLICIES_VALID).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("True", reason::WITHIN_BOUNDS)
        );
    }
}
