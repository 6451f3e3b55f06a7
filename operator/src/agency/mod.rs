//! The Agency controller: one agency becomes one tenant.
//!
//! A reconcile runs typed stages, as Stackable's operators do, one file each:
//! 1. [`dereference`] — the inputs, from the reflector caches (no API request);
//! 2. [`validate`] (pure) — the spec's own rules
//!    ([`sanxiang_crds::agency::validate_agency`]), its placement ([`placement`]) and the
//!    city's quota; then [`claim`]: the agency name, atomically, with a Lease;
//! 3. [`build`] (pure) — names, the tenant service's contract, Secrets, PrometheusRule;
//! 4. [`apply`] — database, messaging, alerts, writing only what differs;
//! 5. [`status`] — one condition per part plus `Ready`, `observedGeneration`, the names
//!    of what was provisioned; written only when it changed.
//!
//! A refusal (invalid spec, wrong place, quota, name taken) is not an error: the agency
//! reads `Ready=False` with the refusal's reason and a message naming the field, gets an
//! event, and waits. A part that fails (server unreachable) gets its condition `False`,
//! the other parts still proceed, and the object is retried with exponential backoff;
//! each stage's error enum gives the metric label (`sanxiang_operator_reconcile_errors`)
//! and the event reason. Deletion goes through `kube::runtime::finalizer` ([`cleanup`]),
//! because the database and the stream live outside Kubernetes: `deletionPolicy: Retain`
//! (the default) keeps them and `Delete` drops them — records only once a second
//! provincial IT member confirms ([`cleanup::hold`]). A finalizer removed by hand leaves
//! an orphan database, which [`crate::orphans`] locks.

pub mod apply;
pub mod build;
pub mod claim;
pub mod cleanup;
pub mod dereference;
pub mod milestones;
pub mod placement;
pub mod records;
pub mod status;
pub mod validate;

use std::sync::Arc;

use chrono::Utc;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event};
use kube::{Api, ResourceExt};
use sanxiang_crds::agency::Agency;
use tracing::Instrument;

use crate::context::Context;

pub const CONTROLLER: &str = "agency";
/// Guards the database and stream, which live outside Kubernetes.
pub const FINALIZER: &str = "sanxiang.io/tenant-resources";

/// Why a reconcile failed; [`Error::reason`] is the metric label.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Claim(#[from] claim::Error),
    #[error(transparent)]
    Status(#[from] status::StatusError),
    #[error(transparent)]
    Cleanup(#[from] cleanup::CleanupError),
    #[error("finalizer {FINALIZER}: {0}")]
    Finalizer(kube::Error),
    #[error("finalizer {FINALIZER}: {0}")]
    FinalizerUse(&'static str),
    #[error("refusal not written: {0}")]
    Kube(#[from] kube::Error),
}

impl Error {
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Claim(e) => e.reason(),
            Error::Status(e) => e.reason(),
            Error::Cleanup(e) => e.reason(),
            Error::Finalizer(_) | Error::FinalizerUse(_) => "Finalizer",
            Error::Kube(_) => "KubeApi",
        }
    }

    fn from_finalizer(e: finalizer::Error<Error>) -> Self {
        match e {
            finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e,
            finalizer::Error::AddFinalizer(e) | finalizer::Error::RemoveFinalizer(e) => {
                Error::Finalizer(e)
            }
            finalizer::Error::UnnamedObject => Error::FinalizerUse("the object has no name"),
            finalizer::Error::InvalidFinalizer => Error::FinalizerUse("invalid finalizer name"),
        }
    }
}

pub async fn reconcile(agency: Arc<Agency>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile(CONTROLLER);
    let span =
        tracing::info_span!("reconcile", controller = CONTROLLER, agency = %status::key(&agency));
    let api: Api<Agency> =
        Api::namespaced(ctx.client.clone(), &agency.namespace().unwrap_or_default());
    async {
        // A deletion that destroys records waits for its confirmation before the
        // finalizer's cleanup may run (which would remove the finalizer when it returns).
        if agency.metadata.deletion_timestamp.is_some()
            && agency.finalizers().iter().any(|f| f == FINALIZER)
            && let Some(wait) = cleanup::hold(&agency, &ctx).await?
        {
            return Ok(wait);
        }
        finalizer::finalizer(&api, FINALIZER, agency, |event| async {
            match event {
                Event::Apply(agency) => provision(&agency, &ctx).await,
                Event::Cleanup(agency) => Ok(cleanup::cleanup(&agency, &ctx).await?),
            }
        })
        .await
        .map_err(Error::from_finalizer)
    }
    .instrument(span)
    .await
}

/// The stages for an agency that is not being deleted.
async fn provision(agency: &Agency, ctx: &Context) -> Result<Action, Error> {
    let inputs = dereference::dereference(agency, ctx);
    let resolved = match validate::validate(agency, &inputs) {
        Ok(resolved) => resolved,
        Err(refusal) => return Ok(status::refused(agency, ctx, &refusal).await?),
    };
    if let Err(refusal) = claim::claim_name(
        &ctx.client,
        &ctx.claims,
        &ctx.config.lease_namespace,
        agency,
    )
    .await?
    {
        return Ok(status::refused(agency, ctx, &refusal).await?);
    }
    let desired = build::desired(
        agency,
        &inputs,
        &resolved,
        &ctx.config.runbook_base_url,
        ctx.config.portal_base_url.as_deref(),
    );
    let parts = apply::apply_parts(agency, ctx, &desired).await;
    Ok(status::provisioned(agency, ctx, &desired, &parts).await?)
}

pub fn error_policy(agency: Arc<Agency>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.error(CONTROLLER, error.reason());
    let key = status::key(&agency);
    tracing::warn!(agency = %key, error = %error, "reconcile failed");
    Action::requeue(ctx.backoff(&key))
}

/// Today in China Standard Time, where deadlines are counted.
pub fn shanghai_today() -> chrono::NaiveDate {
    sanxiang_domain::china_date(Utc::now())
}
