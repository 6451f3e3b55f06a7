//! Condition types and reasons the operator writes into `status.conditions`, and the
//! helper that updates a condition list the Kubernetes way.
//!
//! They live here, next to the types, so that the operator, the e2e tests and the
//! runbooks in `docs/` spell them identically; `kubectl get agency` shows the `Ready`
//! condition's status and reason as columns. Conditions use the standard
//! `metav1.Condition` shape so that generic tools (`kubectl wait --for=condition=Ready`,
//! kstatus) understand them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Condition types (`status.conditions[].type`).
pub mod condition_type {
    /// The tenant database, its login role and the credentials Secret exist.
    pub const DATABASE_READY: &str = "DatabaseReady";
    /// NATS subjects, credentials and JetStream aggregation upward exist.
    pub const MESSAGING_READY: &str = "MessagingReady";
    /// The PrometheusRule with the agency's alerts exists.
    pub const ALERTS_READY: &str = "AlertsReady";
    /// Summary: everything the object asks for is provisioned and current.
    pub const READY: &str = "Ready";
    /// A deletion waits: the message names what is held and how to proceed (an Agency
    /// whose records need a provincial confirmation, a Jurisdiction still in use).
    pub const DELETION_BLOCKED: &str = "DeletionBlocked";
    /// A Jurisdiction's `spec.policies` stay within the bounds set above it (False: the
    /// message names each field that loosens a bound, which is not obeyed).
    pub const POLICIES_VALID: &str = "PoliciesValid";
}

/// Condition reasons (`status.conditions[].reason`), CamelCase as Kubernetes requires.
pub mod reason {
    /// The part is provisioned and matches the spec.
    pub const PROVISIONED: &str = "Provisioned";
    /// Work is under way; the operator will retry.
    pub const PROVISIONING: &str = "Provisioning";
    /// The spec breaks a validation rule; the message names the field.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// A Jurisdiction's `spec.parent` names no existing Jurisdiction.
    pub const PARENT_NOT_FOUND: &str = "ParentNotFound";
    /// The referenced Jurisdiction does not exist.
    pub const JURISDICTION_NOT_FOUND: &str = "JurisdictionNotFound";
    /// The Agency's jurisdiction is not the city of its namespace or one of its counties.
    pub const JURISDICTION_MISMATCH: &str = "JurisdictionMismatch";
    /// Another Agency (in another city's namespace) already has this name; names address
    /// tenants in the tenant service and the public search, so they are province-unique.
    pub const NAME_TAKEN: &str = "NameTaken";
    /// The jurisdiction's `quota.maxAgencies` is reached.
    pub const QUOTA_EXCEEDED: &str = "QuotaExceeded";
    /// The PostgreSQL server is unreachable or refused the change.
    pub const DATABASE_UNAVAILABLE: &str = "DatabaseUnavailable";
    /// The NATS server is unreachable or refused the change.
    pub const NATS_UNAVAILABLE: &str = "NatsUnavailable";
    /// The PrometheusRule could not be written (e.g. its CRD is missing).
    pub const ALERTS_UNAVAILABLE: &str = "AlertsUnavailable";
    /// A WorkCalendar needed for a deadline is missing.
    pub const CALENDAR_MISSING: &str = "CalendarMissing";
    /// Some parts are not ready; see the other conditions.
    pub const NOT_READY: &str = "NotReady";
    /// The object is being deleted.
    pub const DELETING: &str = "Deleting";
    /// The object is being deleted and its records are kept (deletionPolicy Retain).
    pub const RETAINED_ON_DELETE: &str = "RetainedOnDelete";
    /// A deleted Agency under deletionPolicy Delete whose database holds enforcement
    /// records waits for a second provincial IT member's confirmation.
    pub const RECORDS_HELD: &str = "RecordsHeld";
    /// A deleted Jurisdiction still has live agencies or child jurisdictions.
    pub const IN_USE: &str = "InUse";
    /// A JurisdictionPolicy is in force for its jurisdiction.
    pub const IN_FORCE: &str = "InForce";
    /// A policy value loosens a bound set by its province or city (or its Jurisdiction).
    pub const POLICY_LOOSENED: &str = "PolicyLoosened";
    /// A Jurisdiction's policies only tighten the bounds above them.
    pub const WITHIN_BOUNDS: &str = "WithinBounds";
}

/// `status` value of a condition that holds.
pub const STATUS_TRUE: &str = "True";
/// `status` value of a condition that does not hold.
pub const STATUS_FALSE: &str = "False";
/// `status` value when the operator cannot tell yet.
pub const STATUS_UNKNOWN: &str = "Unknown";

/// A condition of `type_` that holds (`status: True`) or not, observed at `generation`.
pub fn new_condition(
    type_: &str,
    status: bool,
    reason: &str,
    message: impl Into<String>,
    observed_generation: Option<i64>,
    now: Time,
) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: if status { STATUS_TRUE } else { STATUS_FALSE }.to_owned(),
        reason: reason.to_owned(),
        message: message.into(),
        observed_generation,
        last_transition_time: now,
    }
}

/// The condition of `type_`, if present.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition of `type_` is present with status True.
pub fn is_condition_true(conditions: &[Condition], type_: &str) -> bool {
    find_condition(conditions, type_).is_some_and(|c| c.status == STATUS_TRUE)
}

/// Inserts or replaces the condition of `new.type_`. When the status did not change the
/// old `lastTransitionTime` is kept, so the time says when the status last flipped, not
/// when the operator last looked. Returns whether anything other than the time changed,
/// so callers can skip a status write that would change nothing.
pub fn upsert_condition(conditions: &mut Vec<Condition>, mut new: Condition) -> bool {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            if old.status == new.status {
                new.last_transition_time = old.last_transition_time.clone();
            }
            let changed = *old != new;
            *old = new;
            changed
        }
        None => {
            conditions.push(new);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::chrono::{TimeZone, Utc};

    fn t(secs: i64) -> Time {
        Time(Utc.timestamp_opt(1_770_000_000 + secs, 0).unwrap())
    }

    #[test]
    fn new_condition_spells_status() {
        let c = new_condition(
            condition_type::READY,
            true,
            reason::PROVISIONED,
            "ok",
            Some(3),
            t(0),
        );
        assert_eq!(c.status, "True");
        assert_eq!(c.type_, "Ready");
        assert_eq!(c.observed_generation, Some(3));
        let c = new_condition(
            condition_type::READY,
            false,
            reason::INVALID_SPEC,
            "bad",
            None,
            t(0),
        );
        assert_eq!(c.status, "False");
    }

    #[test]
    fn upsert_inserts_then_keeps_transition_time_while_status_holds() {
        let mut conds = vec![];
        let db = |ok, reason, msg, at| {
            new_condition(
                condition_type::DATABASE_READY,
                ok,
                reason,
                msg,
                Some(1),
                t(at),
            )
        };
        assert!(upsert_condition(
            &mut conds,
            db(false, reason::PROVISIONING, "creating", 0)
        ));
        assert_eq!(conds.len(), 1);

        // Same status, new message: changed, but the transition time stays.
        assert!(upsert_condition(
            &mut conds,
            db(false, reason::DATABASE_UNAVAILABLE, "down", 10)
        ));
        assert_eq!(conds[0].last_transition_time, t(0));
        assert_eq!(conds[0].reason, "DatabaseUnavailable");

        // Identical apart from the time: nothing to write.
        assert!(!upsert_condition(
            &mut conds,
            db(false, reason::DATABASE_UNAVAILABLE, "down", 20)
        ));
        assert_eq!(conds[0].last_transition_time, t(0));

        // Status flips: new transition time.
        assert!(upsert_condition(
            &mut conds,
            db(true, reason::PROVISIONED, "ok", 30)
        ));
        assert_eq!(conds[0].last_transition_time, t(30));
        assert!(is_condition_true(&conds, condition_type::DATABASE_READY));
        assert!(!is_condition_true(&conds, condition_type::READY));

        // Other types are appended, order kept.
        let ready = new_condition(
            condition_type::READY,
            true,
            reason::PROVISIONED,
            "",
            None,
            t(40),
        );
        assert!(upsert_condition(&mut conds, ready));
        let types: Vec<_> = conds.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["DatabaseReady", "Ready"]);
        assert!(find_condition(&conds, "Missing").is_none());
    }
}
