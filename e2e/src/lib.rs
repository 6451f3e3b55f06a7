//! The local Sanxiang platform, made of the real programs, and the helpers tests use on it.
//!
//! Integration and end-to-end tests in this workspace never talk to fakes: they run against
//! etcd, kube-apiserver and kube-controller-manager built from their Go modules
//! (`e2e/tools/`), PostgreSQL and nats-server from Debian, all listening on 127.0.0.1 only.
//!
//! - [`platform`] starts, reuses and stops those programs. Its state (ports, pids, passwords,
//!   certificates) lives in one directory per *profile* (`dev` for `make up`, `test` for the
//!   test suite), so a second start reuses what already runs and a developer's platform is
//!   never disturbed by the tests.
//! - [`scope`] gives each test its own namespace, database and NATS subject prefix on that
//!   shared platform, so tests run in parallel without seeing each other.
//!
//! - [`operator`] runs the real operator binary against the platform and installs the
//!   CRDs.
//!
//! - [`alerting`] runs Alertmanager and renders the cities' AlertmanagerConfigs for it.
//!
//! - [`tenant_api`] drives the tenant service's API, and publishes the matter list an
//!   agency needs before it can create actions and decisions.
//!
//! The `sanxiang-local` binary is the command-line face of [`platform`]: `up`, `down`,
//! `status`, `env`.

pub mod alerting;
pub mod apps;
pub mod demo;
pub mod operator;
pub mod platform;
pub mod scope;
pub mod tenant_api;

pub use platform::Platform;
pub use scope::TestScope;
