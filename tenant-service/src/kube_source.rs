//! Tenants from the operator's database Secrets (in-cluster).
//!
//! Watches Secrets labelled `sanxiang.io/credentials=database`. Each one is a tenant:
//! keys `url` (or `host`, `port`, `dbname`, `username`, `password`), annotations
//! `sanxiang.io/agency`, `sanxiang.io/province`, `sanxiang.io/city`, `sanxiang.io/county`
//! (`-` for city-level agencies) and `sanxiang.io/subject-prefix`. Optional annotations:
//! `sanxiang.io/disclosure-overrides` (JSON list of `{category, workingDays, legalBasis}`),
//! `sanxiang.io/withdrawal-deadline-days`, `sanxiang.io/legal-reviewer-ratio-permille`,
//! `sanxiang.io/review-catalog` (comma-separated matter codes),
//! `sanxiang.io/publication-retention-days`, `sanxiang.io/natural-person-retention-days`.

use crate::tenants::{Tenant, TenantRegistry, TenantSource};
use anyhow::Context;
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use std::collections::HashMap;

pub const LABEL_SELECTOR: &str = "sanxiang.io/credentials=database";

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

/// Builds a tenant from a database Secret.
pub fn tenant_from_secret(secret: &Secret) -> anyhow::Result<Tenant> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let ann = secret.metadata.annotations.clone().unwrap_or_default();
    let a = |k: &str| -> anyhow::Result<String> {
        ann.get(&format!("sanxiang.io/{k}"))
            .cloned()
            .with_context(|| format!("Secret {name}: annotation sanxiang.io/{k} missing"))
    };
    let data = secret.data.clone().unwrap_or_default();
    let d = |k: &str| {
        data.get(k)
            .map(|v| String::from_utf8_lossy(&v.0).to_string())
    };
    let url = match d("url") {
        Some(u) if !u.is_empty() => u,
        _ => {
            let host = d("host").with_context(|| format!("Secret {name}: key host missing"))?;
            let port = d("port").unwrap_or_else(|| "5432".into());
            let db = d("dbname").with_context(|| format!("Secret {name}: key dbname missing"))?;
            let user =
                d("username").with_context(|| format!("Secret {name}: key username missing"))?;
            let pw = d("password").unwrap_or_default();
            format!(
                "postgres://{}:{}@{host}:{port}/{db}",
                percent_encode(&user),
                percent_encode(&pw)
            )
        }
    };
    let overrides = match ann.get("sanxiang.io/disclosure-overrides") {
        Some(j) => serde_json::from_str(j)
            .with_context(|| format!("Secret {name}: disclosure-overrides"))?,
        None => Vec::new(),
    };
    let num = |k: &str, default: u32| -> anyhow::Result<u32> {
        match ann.get(&format!("sanxiang.io/{k}")) {
            Some(v) => v
                .parse()
                .with_context(|| format!("Secret {name}: annotation {k}")),
            None => Ok(default),
        }
    };
    let opt_num = |k: &str| -> anyhow::Result<Option<u32>> {
        ann.get(&format!("sanxiang.io/{k}"))
            .map(|v| {
                v.parse()
                    .with_context(|| format!("Secret {name}: annotation {k}"))
            })
            .transpose()
    };
    Tenant {
        agency: a("agency")?,
        province: a("province")?,
        city: a("city")?,
        county: a("county").unwrap_or_else(|_| "-".into()),
        database_url: url,
        subject_prefix: ann
            .get("sanxiang.io/subject-prefix")
            .cloned()
            .unwrap_or_default(),
        disclosure_overrides: overrides,
        withdrawal_deadline_days: num("withdrawal-deadline-days", 3)?,
        legal_reviewer_ratio_permille: num("legal-reviewer-ratio-permille", 50)?,
        review_catalog: ann
            .get("sanxiang.io/review-catalog")
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        publication_retention_days: opt_num("publication-retention-days")?,
        natural_person_retention_days: opt_num("natural-person-retention-days")?,
    }
    .normalized()
}

impl TenantSource for KubeSecretSource {
    fn run(self: Box<Self>, registry: TenantRegistry) -> BoxFuture<'static, anyhow::Result<()>> {
        Box::pin(async move {
            let client = match self.client {
                Some(c) => c,
                None => Client::try_default().await.context("kube client")?,
            };
            let api: Api<Secret> = match &self.namespace {
                Some(ns) => Api::namespaced(client, ns),
                None => Api::all(client),
            };
            let cfg = watcher::Config::default().labels(LABEL_SELECTOR);
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
