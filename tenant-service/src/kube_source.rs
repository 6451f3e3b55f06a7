//! Tenants from the operator's database Secrets, and calendars from the WorkCalendar
//! objects (in-cluster).
//!
//! Watches Secrets labelled `sanxiang.io/credentials=database`. Each one is a tenant:
//! the operator's [`TenantContract`] in its annotations and the credentials
//! ([`DatabaseCredentials`](Keys) keys) in its data. Both are defined in `sanxiang_domain`,
//! the one place the operator writes them from. In a cluster the service watches one
//! namespace only, where the operator keeps a copy of every agency's database Secret
//! (`--kube-namespace`; see the operator's `credential_copies`), so its RBAC is a Role
//! there and never a rule on every Secret of the cluster.

use crate::calendar::{CalendarSource, Calendars};
use crate::tenants::{Tenant, TenantRegistry, TenantSource};
use anyhow::Context;
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, Client, ResourceExt};
use sanxiang_crds::calendar::{Calendar, WorkCalendar, WorkCalendarSpec};
use sanxiang_domain::{
    DATABASE_SECRET_SELECTOR, DATABASE_SOURCE_SELECTOR, DatabaseCredentials as Keys, TenantContract,
};
use std::collections::HashMap;
use std::sync::Arc;

pub const LABEL_SELECTOR: &str = DATABASE_SECRET_SELECTOR;

pub struct KubeSecretSource {
    namespace: Option<String>,
    client: Option<Client>,
}

impl KubeSecretSource {
    pub fn new(namespace: Option<String>) -> Self {
        Self {
            namespace,
            client: None,
        }
    }
    pub fn with_client(client: Client, namespace: Option<String>) -> Self {
        Self {
            namespace,
            client: Some(client),
        }
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Builds a tenant from a database Secret: the [`TenantContract`] from its annotations
/// and the database URL from its data (`url`, or the parts it is made of).
pub fn tenant_from_secret(secret: &Secret) -> anyhow::Result<Tenant> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let contract = TenantContract::from_annotations(
        secret
            .metadata
            .annotations
            .as_ref()
            .unwrap_or(&Default::default()),
    )
    .with_context(|| format!("Secret {name}"))?;
    let data = secret.data.clone().unwrap_or_default();
    let d = |k: &str| {
        data.get(k)
            .map(|v| String::from_utf8_lossy(&v.0).to_string())
    };
    let missing = |k: &str| format!("Secret {name}: key {k} missing");
    let url = match d(Keys::URL) {
        Some(u) if !u.is_empty() => u,
        _ => {
            let host = d(Keys::HOST).with_context(|| missing(Keys::HOST))?;
            let port = d(Keys::PORT).unwrap_or_else(|| "5432".into());
            let db = d(Keys::DBNAME).with_context(|| missing(Keys::DBNAME))?;
            let user = d(Keys::USERNAME).with_context(|| missing(Keys::USERNAME))?;
            let pw = d(Keys::PASSWORD).unwrap_or_default();
            format!(
                "postgres://{}:{}@{host}:{port}/{db}",
                percent_encode(&user),
                percent_encode(&pw)
            )
        }
    };
    Tenant::new(contract, url).normalized()
}

impl TenantSource for KubeSecretSource {
    fn run(self: Box<Self>, registry: TenantRegistry) -> BoxFuture<'static, anyhow::Result<()>> {
        Box::pin(async move {
            let client = match self.client {
                Some(c) => c,
                None => Client::try_default().await.context("kube client")?,
            };
            // Every namespace: the agencies' own Secrets, never the operator's copies of
            // them (one agency, one Secret). One namespace: whatever is there, copies
            // included (the operator's copies namespace).
            let (api, selector): (Api<Secret>, _) = match &self.namespace {
                Some(ns) => (Api::namespaced(client, ns), LABEL_SELECTOR),
                None => (Api::all(client), DATABASE_SOURCE_SELECTOR),
            };
            let cfg = watcher::Config::default().labels(selector);
            let mut stream = watcher(api, cfg).default_backoff().boxed();
            // Secret uid -> agency, to remove the right tenant on delete.
            let mut by_uid: HashMap<String, String> = HashMap::new();
            let mut initial: Vec<(String, Tenant)> = Vec::new();
            loop {
                let event = match stream.try_next().await {
                    Ok(Some(e)) => e,
                    Ok(None) => return Ok(()),
                    Err(e) => {
                        tracing::warn!(error = %e, "Secret watch error; retrying");
                        continue;
                    }
                };
                let uid = |s: &Secret| s.metadata.uid.clone().unwrap_or_default();
                match event {
                    watcher::Event::Init => initial.clear(),
                    watcher::Event::InitApply(s) => match tenant_from_secret(&s) {
                        Ok(t) => initial.push((uid(&s), t)),
                        Err(e) => tracing::warn!(error = %e, "ignoring Secret"),
                    },
                    watcher::Event::InitDone => {
                        // Agency names must be unique across namespaces: a second Secret
                        // for the same agency is ignored (and logged), never merged.
                        let mut tenants: Vec<Tenant> = Vec::new();
                        by_uid.clear();
                        for (u, t) in std::mem::take(&mut initial) {
                            if tenants.iter().any(|x| x.agency == t.agency) {
                                tracing::error!(agency = %t.agency, "two database Secrets name the same agency; ignoring one");
                                continue;
                            }
                            by_uid.insert(u, t.agency.clone());
                            tenants.push(t);
                        }
                        if let Err(e) = registry.replace_all(tenants) {
                            tracing::error!(error = %e, "tenant Secrets inconsistent");
                        }
                        registry.set_ready();
                        tracing::info!(tenants = registry.len(), "tenants loaded from Secrets");
                    }
                    watcher::Event::Apply(s) => match tenant_from_secret(&s) {
                        Ok(t) => {
                            let taken_by_other =
                                by_uid.iter().any(|(u, a)| *a == t.agency && *u != uid(&s));
                            if taken_by_other {
                                tracing::error!(agency = %t.agency, "two database Secrets name the same agency; ignoring one");
                                continue;
                            }
                            if let Some(old) = by_uid.insert(uid(&s), t.agency.clone())
                                && old != t.agency
                            {
                                registry.remove(&old);
                            }
                            if let Err(e) = registry.upsert(t) {
                                tracing::warn!(error = %e, "ignoring Secret");
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "ignoring Secret"),
                    },
                    watcher::Event::Delete(s) => {
                        if let Some(agency) = by_uid.remove(&uid(&s)) {
                            registry.remove(&agency);
                        }
                    }
                }
            }
        })
    }
}

/// Calendars from the cluster's WorkCalendar objects, watched: a calendar applied with
/// kubectl is in force within seconds, and due dates pending on its year are computed.
pub struct KubeCalendarSource {
    client: Option<Client>,
}

impl KubeCalendarSource {
    pub fn new() -> Self {
        Self { client: None }
    }
    pub fn with_client(client: Client) -> Self {
        Self {
            client: Some(client),
        }
    }
}

impl Default for KubeCalendarSource {
    fn default() -> Self {
        Self::new()
    }
}

/// The specs to build the calendar from: invalid objects and second objects for a year
/// (admission refuses both; old objects may remain) are left out and logged, so that
/// one bad object never takes the other years away.
pub fn usable_calendar_specs(objects: &[Arc<WorkCalendar>]) -> Vec<WorkCalendarSpec> {
    let mut objects: Vec<&WorkCalendar> = objects.iter().map(|o| o.as_ref()).collect();
    objects.sort_by_key(|o| {
        (
            o.metadata.creation_timestamp.clone().map(|t| t.0),
            o.name_any(),
        )
    });
    let mut specs: Vec<WorkCalendarSpec> = Vec::new();
    for o in objects {
        if let Err(e) = Calendar::validate_spec(&o.spec) {
            tracing::error!(calendar = %o.name_any(), error = %e, "ignoring invalid WorkCalendar");
        } else if specs.iter().any(|s| s.year == o.spec.year) {
            tracing::error!(calendar = %o.name_any(), year = o.spec.year, "ignoring a second WorkCalendar for the year");
        } else {
            specs.push(o.spec.clone());
        }
    }
    specs
}

impl CalendarSource for KubeCalendarSource {
    fn run(self: Box<Self>, calendars: Calendars) -> BoxFuture<'static, anyhow::Result<()>> {
        Box::pin(async move {
            let client = match self.client {
                Some(c) => c,
                None => Client::try_default().await.context("kube client")?,
            };
            let (store, writer) = reflector::store::<WorkCalendar>();
            let stream = watcher(Api::<WorkCalendar>::all(client), watcher::Config::default())
                .default_backoff()
                .reflect(writer);
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => continue,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "WorkCalendar watch error; retrying");
                        continue;
                    }
                }
                let specs = usable_calendar_specs(&store.state());
                let years: Vec<i32> = specs.iter().map(|s| s.year).collect();
                match calendars.replace(&specs) {
                    Ok(()) => tracing::info!(?years, "calendars loaded from WorkCalendars"),
                    Err(e) => tracing::error!(error = %e, "calendars not replaced"),
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    #[test]
    fn secret_to_tenant() {
        let mut secret = Secret::default();
        secret.metadata.name = Some("db".into());
        secret.metadata.annotations = Some(
            [
                ("sanxiang.io/agency", "sy-market"),
                ("sanxiang.io/province", "210000"),
                ("sanxiang.io/city", "210100"),
                ("sanxiang.io/county", "-"),
                ("sanxiang.io/subject-prefix", "sx.210000.210100.-.sy-market"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        secret.data = Some(
            [
                ("host", "pg"),
                ("port", "5433"),
                ("dbname", "d"),
                ("username", "u"),
                ("password", "p@ss/w"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
            .collect(),
        );
        let t = tenant_from_secret(&secret).unwrap();
        assert_eq!(t.database_url, "postgres://u:p%40ss%2Fw@pg:5433/d");
        assert_eq!(t.subject_prefix, "sx.210000.210100.-.sy-market");
        assert_eq!(t.withdrawal_deadline_days, 3);
    }
}
