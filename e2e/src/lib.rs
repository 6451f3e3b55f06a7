//! `sanxiang-e2e`: the system tests, in `tests/` — the products together on the local
//! platform (the operator with the tenant service, the chart, the images, alerting,
//! dashboards, backups, sign-in through the OIDC provider).
//!
//! This library is deliberately empty: the harness the tests run on is `sanxiang-testkit`
//! (`e2e/testkit`), shared with the product crates' own tests; the developer's command line
//! is `sanxiang-local` (`e2e/cli`); the support only these tests need is `tests/support`.
