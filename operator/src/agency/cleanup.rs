//! Deletion (the `Cleanup` of `kube::runtime::finalizer`): what lives outside Kubernetes
//! — the database and the NATS account — is kept (`deletionPolicy: Retain`, the default: records
//! stay, the login is disabled and open sessions end) or dropped (`Delete`); the NATS user is
//! revoked; the name claim is released, and agencies waiting for the name or the quota place
//! look again.
//!
//! Records are never destroyed by one person: before the finalizer runs, [`hold`] locks the
//! database of a `Delete` agency and, if it holds any record, keeps the deletion waiting
//! (condition DeletionBlocked) until a second provincial IT member confirms
//! ([`confirmation`]; admission checks who may write the annotations).

use k8s_openapi::api::core::v1::Secret;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use std::collections::BTreeMap;
use std::time::Duration;

use kube::{Api, ResourceExt};
use sanxiang_crds::agency::{
    Agency, DELETE_ALLOWED_BY_ANNOTATION, DELETE_CONFIRMED_BY_ANNOTATION, DeletionPolicy,
};
use sanxiang_crds::conditions::{condition_type, find_condition, reason};

use super::apply::PartFailed;
use super::status::{self, publish, recorded_placement};
use super::{claim, records};
use crate::context::Context;
use crate::{naming, postgres};

/// Why a deletion cannot finish yet (it is retried; records are never left behind).
#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error(transparent)]
    Part(PartFailed),
    #[error(transparent)]
    Claim(#[from] claim::Error),
}

impl CleanupError {
    /// Metric label and event reason.
    pub fn reason(&self) -> &'static str {
        match self {
            CleanupError::Kube(_) => "KubeApi",
            CleanupError::Part(p) => p.reason,
            CleanupError::Claim(c) => c.reason(),
        }
    }
}

/// Who confirmed that a deleted agency's records may be destroyed, or what is missing
/// (pure; the annotations' writers are checked by admission, this checks them again for
/// objects that predate the policy).
pub fn confirmation(annotations: &BTreeMap<String, String>) -> Result<String, String> {
    let get = |k: &str| {
        annotations
            .get(k)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let allowed = get(DELETE_ALLOWED_BY_ANNOTATION);
    match (get(DELETE_CONFIRMED_BY_ANNOTATION), allowed) {
        (None, _) => Err(format!(
            "a provincial IT member{} confirms by annotating {DELETE_CONFIRMED_BY_ANNOTATION}=<their user name>",
            allowed
                .map(|a| format!(" other than {a} (who allowed deletionPolicy Delete)"))
                .unwrap_or_default()
        )),
        (Some(c), Some(a)) if c == a => Err(format!(
            "{DELETE_CONFIRMED_BY_ANNOTATION} is {c}, who also allowed deletionPolicy Delete; a second provincial IT member must confirm"
        )),
        (Some(c), _) => Ok(c.to_string()),
    }
}

/// Before the finalizer's cleanup of a `Delete` agency: locks its database (no more
/// writes) and, if the database holds records without a valid confirmation, writes
/// DeletionBlocked and returns when to look again; `None` lets the cleanup proceed.
pub async fn hold(agency: &Agency, ctx: &Context) -> Result<Option<Action>, CleanupError> {
    if agency.spec.database.deletion_policy != DeletionPolicy::Delete {
        return Ok(None);
    }
    let Some(placement) = recorded_placement(agency) else {
        return Ok(None);
    };
    // An unknown server is the cleanup's to report (it never drops there).
    let Ok(server) = ctx.postgres.get(&agency.spec.database.server) else {
        return Ok(None);
    };
    let names = naming::agency_names(
        &agency.namespace().unwrap_or_default(),
        &agency.name_any(),
        &placement,
    );
    let unavailable = |e: postgres::DbError| {
        CleanupError::Part(PartFailed {
            part: "database",
            reason: reason::DATABASE_UNAVAILABLE,
            message: e.to_string(),
        })
    };
    records::lock_out(&server.pool, &names.database, &names.role)
        .await
        .map_err(unavailable)?;
    let held = records::held_records(&server.pool, names.tenant_roles())
        .await
        .map_err(unavailable)?;
    if held.is_empty() {
        return Ok(None);
    }
    let how = match confirmation(agency.annotations()) {
        Ok(_) => return Ok(None),
        Err(how) => how,
    };
    let message = format!(
        "deletionPolicy Delete would destroy enforcement records: database {} holds {} (login disabled meanwhile). To destroy them, {how}: kubectl annotate agency -n {} {} {DELETE_CONFIRMED_BY_ANNOTATION}=<user>. To keep them, set spec.database.deletionPolicy Retain",
        names.database,
        records::describe(&held),
        agency.namespace().unwrap_or_default(),
        agency.name_any(),
    );
    status::deletion_blocked(agency, ctx, reason::RECORDS_HELD, &message).await?;
    // An annotation or a policy change triggers a reconcile; look again anyway.
    Ok(Some(Action::requeue(Duration::from_secs(60))))
}

pub async fn cleanup(agency: &Agency, ctx: &Context) -> Result<Action, CleanupError> {
    let namespace = agency.namespace().unwrap_or_default();
    let name = agency.name_any();
    let policy = agency.spec.database.deletion_policy;
    // The placement recorded in the Secret annotations survives a deleted Jurisdiction.
    let (placement, names) = match recorded_placement(agency) {
        Some(p) => {
            let names = naming::agency_names(&namespace, &name, &p);
            (p, names)
        }
        None => {
            // Never provisioned (e.g. invalid all along): nothing outside Kubernetes.
            claim::release_name(&ctx.client, &ctx.config.lease_namespace, agency).await?;
            retrigger_waiting_peers(ctx, agency);
            return Ok(Action::await_change());
        }
    };
    let part_error = |part: &'static str, reason: &'static str| {
        move |message: String| {
            CleanupError::Part(PartFailed {
                part,
                reason,
                message,
            })
        }
    };
    // A database on a server the operator never knew (DatabaseReady refused with
    // InvalidSpec) was never created: there is nothing to keep or drop there. Any other
    // failure to reach the server waits, so records are never left behind by accident.
    let database_never_created = agency.status.as_ref().is_some_and(|s| {
        sanxiang_crds::conditions::find_condition(&s.conditions, condition_type::DATABASE_READY)
            .is_some_and(|c| c.status != "True" && c.reason == reason::INVALID_SPEC)
    });
    let server = match ctx.postgres.get(&agency.spec.database.server) {
        Ok(server) => Some(server),
        Err(_) if database_never_created => None,
        Err(e) => {
            return Err(part_error("database", reason::DATABASE_UNAVAILABLE)(
                e.to_string(),
            ));
        }
    };
    match (policy, server) {
        (DeletionPolicy::Delete, server) => {
            if let Some(server) = server {
                postgres::drop_tenant_database(&server.pool, names.tenant_roles())
                    .await
                    .map_err(|e| {
                        part_error("database", reason::DATABASE_UNAVAILABLE)(e.to_string())
                    })?;
            }
        }
        (DeletionPolicy::Retain, Some(server)) => {
            // Records stay; the credentials (whose Secrets go with the Agency) stop working
            // and open sessions end.
            records::lock_out(&server.pool, &names.database, &names.role)
                .await
                .map_err(|e| part_error("database", reason::DATABASE_UNAVAILABLE)(e.to_string()))?;
        }
        (DeletionPolicy::Retain, None) => {}
    }
    // Every user of the agency's NATS account is refused from now on; under Delete the
    // account leaves the servers too. (Its messages stay in the aggregates.)
    ctx.nats
        .revoke_agency(
            &agency.uid().unwrap_or_default(),
            &format!("{namespace}/{name}"),
            &names.subject_prefix,
            policy == DeletionPolicy::Delete,
        )
        .await
        .map_err(|e| part_error("messaging", reason::NATS_UNAVAILABLE)(format!("{e:#}")))?;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    match secrets
        .delete(&names.nats_secret, &Default::default())
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => {}
        Err(e) => return Err(e.into()),
    }
    let (why, note) = match policy {
        DeletionPolicy::Retain => (
            reason::RETAINED_ON_DELETE,
            format!(
                "deletionPolicy Retain: database {} kept, login disabled; NATS account \
                 revoked; its messages stay in the aggregates",
                names.database
            ),
        ),
        DeletionPolicy::Delete => (
            reason::DELETING,
            format!(
                "deletionPolicy Delete: database {} and NATS account removed{}; its \
                 messages stay in the aggregates",
                names.database,
                confirmation(agency.annotations())
                    .map(|c| format!(
                        " (allowed by {}, confirmed by {c})",
                        agency
                            .annotations()
                            .get(DELETE_ALLOWED_BY_ANNOTATION)
                            .map(String::as_str)
                            .unwrap_or("nobody recorded")
                    ))
                    .unwrap_or_default()
            ),
        ),
    };
    publish(ctx, agency, EventType::Normal, why, &note).await;
    let _ = ctx.metrics.agency_ready.remove_label_values(&[
        &namespace,
        &name,
        &placement.province,
        placement.city_token(),
        placement.county_token(),
    ]);
    // The name and the quota place are free: whoever waits for them may proceed (the
    // finalizer helper removes the finalizer when this returns).
    claim::release_name(&ctx.client, &ctx.config.lease_namespace, agency).await?;
    let _ = ctx.recount_agencies.try_send(());
    retrigger_waiting_peers(ctx, agency);
    Ok(Action::await_change())
}

/// Agencies refused because this one held the name or a quota place may proceed now that
/// it goes: ask the controller to look again at once (a no-op for the others, which
/// write nothing when nothing changed).
fn retrigger_waiting_peers(ctx: &Context, gone: &Agency) {
    let waiting = ctx.agencies.state().into_iter().any(|peer| {
        let related = peer.namespace() == gone.namespace() || peer.name_any() == gone.name_any();
        related
            && peer.uid() != gone.uid()
            && peer.status.as_ref().is_some_and(|s| {
                find_condition(&s.conditions, condition_type::READY).is_some_and(|c| {
                    c.reason == reason::NAME_TAKEN || c.reason == reason::QUOTA_EXCEEDED
                })
            })
    });
    if waiting {
        // A full channel already holds a pending request.
        let _ = ctx.reconcile_all.try_send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn records_need_a_second_persons_confirmation() {
        let none = confirmation(&annotations(&[(DELETE_ALLOWED_BY_ANNOTATION, "wang")]));
        assert!(
            none.as_ref().unwrap_err().contains("other than wang"),
            "{none:?}"
        );
        let same = confirmation(&annotations(&[
            (DELETE_ALLOWED_BY_ANNOTATION, "wang"),
            (DELETE_CONFIRMED_BY_ANNOTATION, "wang"),
        ]));
        assert!(
            same.as_ref()
                .unwrap_err()
                .contains("a second provincial IT member"),
            "{same:?}"
        );
        assert_eq!(
            confirmation(&annotations(&[
                (DELETE_ALLOWED_BY_ANNOTATION, "wang"),
                (DELETE_CONFIRMED_BY_ANNOTATION, "li"),
            ])),
            Ok("li".to_string())
        );
        assert!(confirmation(&annotations(&[(DELETE_CONFIRMED_BY_ANNOTATION, "  ")])).is_err());
    }
}
