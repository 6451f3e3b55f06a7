//! Custom resources of Sanxiang (三项), the multi-tenant platform for the "three systems"
//! of administrative law enforcement (disclosure, full-process recording, legal review of
//! major decisions), and the pure logic that belongs with them.
//!
//! All kinds are in API group `sanxiang.io`, version `v1alpha1`, category `sanxiang`
//! (`kubectl get sanxiang` lists them all):
//!
//! | kind | scope | short name | module |
//! |---|---|---|---|
//! | [`Jurisdiction`] | cluster | `jur` | [`jurisdiction`] |
//! | [`Agency`] | namespaced | `ag` | [`agency`] |
//! | [`JurisdictionPolicy`] | namespaced | `jpol` | [`jurisdiction_policy`] |
//! | [`SupervisionPlan`] | namespaced | `splan` | [`plan`] (due dates: [`schedule`]; who answers for what: [`responsibility`]) |
//! | [`WorkCalendar`] | cluster | `wcal` | [`calendar`] |
//!
//! Besides its own kinds the crate defines the subset of prometheus-operator's
//! `AlertmanagerConfig` that Sanxiang renders for the local Alertmanager
//! ([`alertmanager_config`]); its CRD is generated separately
//! ([`alertmanager_config_crd_manifest`]) because a cluster with prometheus-operator already has it.
//!
//! Why one crate: the operator, the tenant service and the e2e tests must agree on the
//! types, on the validation rules, and on working-day arithmetic. Each schema carries CEL
//! rules so that `kubectl apply` rejects mistakes at once; the same rules exist as
//! `validate_*` functions returning [`FieldError`]s, because the operator must not act on
//! a bad object even where CEL did not run (old clusters, objects stored before a rule
//! existed), and because some checks (the credit-code check digit) do not fit in CEL.
//!
//! The CRD YAML under `crds/yaml/` and `charts/sanxiang/crds/` is generated from these
//! types by `cargo xtask generate` (see [`crd_manifests`]); a test
//! fails when it is stale.

/// The domain vocabulary (categories, working days, codes, disclosure rules) these
/// types are made of; see [`sanxiang_domain`].
pub use sanxiang_domain as domain;
pub use sanxiang_domain::{credit_code, field_error};

pub mod agency;
pub mod alertmanager_config;
pub mod calendar;
pub mod codes;
pub mod conditions;
pub mod jurisdiction;
pub mod jurisdiction_policy;
pub mod manifests;
pub mod month_day;
pub mod plan;
pub mod responsibility;
pub mod schedule;

pub use agency::*;
pub use calendar::*;
pub use codes::*;
pub use conditions::*;
pub use credit_code::*;
pub use field_error::*;
pub use jurisdiction::*;
pub use jurisdiction_policy::*;
pub use manifests::*;
pub use month_day::*;
pub use plan::*;
pub use schedule::*;

/// API group of every Sanxiang kind.
pub const API_GROUP: &str = "sanxiang.io";
/// API version of every Sanxiang kind.
pub const API_VERSION: &str = "v1alpha1";
