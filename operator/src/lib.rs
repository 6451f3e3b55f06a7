//! The Sanxiang operator.
//!
//! It reconciles three kinds of custom resource (types in the `sanxiang-crds` crate, made
//! of the vocabulary in `sanxiang-domain`):
//!
//! - **Jurisdiction** ([`jurisdiction`]): a city gets a namespace `sx-<code>` and RBAC that
//!   lets its administrator groups manage Agency objects there and nothing else.
//! - **Agency** ([`agency`]): one enforcement agency becomes one tenant — a PostgreSQL
//!   database with a NOLOGIN owner role and a DML-only login role ([`postgres`]), its
//!   schema migrated and its grants synced as the owner ([`tenant_schema`]; a new
//!   agency's roles and copy of the template in a few batches: [`tenant_onboarding`],
//!   its password as an operator-computed verifier: [`scram`]), a NATS account and user (operator mode: JWTs
//!   pushed over NATS) that may publish only under the agency's subject prefix, captured
//!   by its county's or city's aggregate stream and sourced up to the province ([`nats`]), and a
//!   PrometheusRule with its deadline, reviewer-ratio and milestone alerts ([`alerts`]).
//!   WorkCalendar and SupervisionPlan objects are inputs: when one changes, every agency
//!   is reconciled again. The agency's Secret carries the tenant service's
//!   `sanxiang_domain::TenantContract`.
//! - **SupervisionPlan** ([`plan`]): each milestone's next due date in the status.
//! - **JurisdictionPolicy** ([`jurisdiction_policy`]): a city's own tightening of its and
//!   its counties' policies, merged into every agency's inheritance; its status says
//!   whether it is in force and within the bounds provincial IT set.
//!
//! Architecture: [`run`] starts the admin server ([`admin`]: `/live`, `/ready`,
//! `/metrics`), waits for the leader Lease ([`leader`]), fills caches (reflectors) of the
//! cluster-wide inputs, and runs the controllers until leadership is lost, when the
//! process exits so that only one replica ever writes. Reconciles follow one pipeline —
//! read → validate → build (pure) → apply (server-side apply, one field manager,
//! [`apply`]) → status — and write nothing when nothing changed. Beside the controllers
//! the leader keeps the tenant service's copies of the database Secrets
//! ([`credential_copies`]) and migrates its CRDs' storage version after a version bump
//! ([`storage_versions`]).

pub mod admin;
pub mod agency;
pub mod alertmanager;
pub mod alerts;
pub mod apply;
pub mod calendar_watch;
pub mod config;
pub mod context;
pub mod credential_copies;
pub mod jurisdiction;
pub mod jurisdiction_policy;
pub mod leader;
pub mod metrics;
pub mod naming;
pub mod nats;
pub mod orphans;
pub mod plan;
pub mod postgres;
pub mod rule_files;
mod run;
pub mod scram;
pub mod storage_versions;
pub mod tenant_onboarding;
pub mod tenant_schema;
pub mod tenant_template;
#[cfg(test)]
mod test_apiserver;

pub use config::Config;
pub use run::run;
