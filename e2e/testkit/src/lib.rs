//! `sanxiang-testkit`: the local Sanxiang platform, made of the real programs, and the
//! helpers every test, benchmark and `sanxiang-local` use on it.
//!
//! Integration and end-to-end tests in this workspace never talk to fakes: they run against
//! etcd, kube-apiserver and kube-controller-manager built from their Go modules
//! (`e2e/tools/`), PostgreSQL and nats-server from Debian, all listening on 127.0.0.1 only.
//! This crate depends on the product crates for their types (the CRDs, the operator's
//! database provisioning and Alertmanager rendering); product crates use it only as a
//! dev-dependency.
//!
//! - [`platform`] starts, reuses and stops those programs. Its state (ports, pids, passwords,
//!   certificates) lives in one directory per *profile* (`dev` for `make up`, `test` for the
//!   test suite), so a second start reuses what already runs and a developer's platform is
//!   never disturbed by the tests.
//! - [`scope`] gives each test its own namespace, database and NATS subject prefix on that
//!   shared platform, so tests run in parallel without seeing each other.
//! - [`operator`] runs the real operator binary against the platform and installs the CRDs.
//! - [`apps`] finds the application binaries and prepares what they share with the
//!   platform; [`rules_sync`] turns PrometheusRules into Prometheus rule files.
//! - [`alerting`] runs Alertmanager and renders the cities' AlertmanagerConfigs for it.
//! - [`tenant_api`] drives the tenant service's API, and publishes the matter list an
//!   agency needs before it can create actions and decisions.
//! - The shared helpers, each defined once: [`free_port`], [`wait`] (polling with a
//!   deadline and a message saying what was awaited) and [`token`] (the bearer-token
//!   minter).
//!
//! The developer's command line, `sanxiang-local` (`up`, `down`, `status`, `env`, …), is
//! the `sanxiang-local` crate in `e2e/cli`; the system tests are `sanxiang-e2e` (`e2e/tests`).

pub mod alerting;
pub mod apps;
pub mod operator;
pub mod platform;
pub mod rules_sync;
pub mod scope;
pub mod tenant_api;
pub mod token;
pub mod wait;

pub use platform::Platform;
pub use platform::process::free_port;
pub use scope::TestScope;
