//! The orphan sweep: a tenant database whose Agency is gone without the operator's cleanup
//! (its finalizer removed by hand while the operator was down, say) is locked — login
//! disabled, sessions ended — and never dropped.
//!
//! It runs when the operator becomes leader and then periodically. The order of its reads
//! makes it safe against agencies created meanwhile: it lists the databases first and the
//! Agency objects second, with a consistent LIST (not the cache). A database is created
//! only by a reconcile of an Agency that already existed, so any database in the first
//! list whose Agency is not in the second was orphaned, not just born. Only databases
//! named and owned the way the operator provisions them are candidates
//! ([`crate::naming::DATABASE_NAME_PATTERN`], owned by its owner role
//! [`crate::naming::owner_role_name`], or by the login role of the same name if provisioned
//! before the owner/application split), and only those that can still be reached (the
//! application role can log in, or sessions are open): retained ones are locked already.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kube::api::ListParams;
use kube::{Api, ResourceExt};
use sanxiang_crds::agency::Agency;

use crate::agency::records;
use crate::context::Context;
use crate::naming::{DATABASE_NAME_PATTERN, OWNER_ROLE_PREFIX, database_name};

/// Agencies per page of the sweep's consistent LIST.
const AGENCY_PAGE: u32 = 250;

/// A tenant database that can still be reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reachable {
    pub server: String,
    pub database: String,
}

/// What one sweep did.
#[derive(Debug, Default)]
pub struct Swept {
    /// Databases locked because no Agency owns them.
    pub locked: Vec<Reachable>,
    /// Sessions ended on them.
    pub sessions_ended: u64,
}

/// Sweeps now and then every `interval`, until the process ends. A failed sweep is
/// logged and retried at the next interval: it never stops anything else.
pub async fn run(ctx: Arc<Context>, interval: Duration) {
    loop {
        match sweep(&ctx).await {
            Ok(swept) if !swept.locked.is_empty() => tracing::warn!(
                locked = ?swept.locked,
                sessions_ended = swept.sessions_ended,
                "orphan sweep: locked tenant databases that no Agency owns (records kept)"
            ),
            Ok(_) => tracing::debug!("orphan sweep: no orphan tenant database"),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "orphan sweep failed; retrying later")
            }
        }
        tokio::time::sleep(interval).await;
    }
}

/// One sweep over every configured server.
pub async fn sweep(ctx: &Context) -> anyhow::Result<Swept> {
    let mut reachable = Vec::new();
    for server_name in ctx.config.postgres_servers()?.keys() {
        let server = ctx.postgres.get(server_name)?;
        // Owned by the owner role (or, provisioned before the owner/application split, by
        // the application role); reachable through the application role.
        let databases: Vec<String> = sqlx::query_scalar(
            "SELECT d.datname::text FROM pg_database d \
             JOIN pg_roles o ON o.oid = d.datdba \
             JOIN pg_roles r ON r.rolname = d.datname \
             WHERE d.datname ~ $1 \
               AND o.rolname IN (d.datname, $2 || substr(d.datname, 4)) \
               AND (r.rolcanlogin OR EXISTS (SELECT 1 FROM pg_stat_activity a \
                    WHERE a.datname = d.datname OR a.usename = r.rolname))",
        )
        .bind(DATABASE_NAME_PATTERN)
        .bind(OWNER_ROLE_PREFIX)
        .fetch_all(&server.pool)
        .await?;
        reachable.extend(databases.into_iter().map(|database| Reachable {
            server: server_name.clone(),
            database,
        }));
    }
    let mut swept = Swept::default();
    if reachable.is_empty() {
        return Ok(swept);
    }
    // Second, and consistent (a quorum read of the apiserver, not the cache). In pages: the
    // continue token keeps every page at the first page's resourceVersion, and only the
    // names are kept. One LIST of every agency held the whole response and every object at
    // once, managed fields included: at 5,000 agencies a sweep during onboarding raised the
    // operator's heap by some 100 MB (heaptrack), which the allocator kept.
    let api = Api::<Agency>::all(ctx.client.clone());
    let mut owned = BTreeSet::new();
    let mut params = ListParams::default().limit(AGENCY_PAGE);
    loop {
        let page = api.list(&params).await?;
        owned.extend(owned_databases(&page.items));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    for orphan in orphans(reachable, &owned) {
        let server = ctx.postgres.get(&orphan.server)?;
        // The role has the database's name (the candidates' query checks it).
        swept.sessions_ended +=
            records::lock_out(&server.pool, &orphan.database, &orphan.database).await?;
        swept.locked.push(orphan);
    }
    Ok(swept)
}

/// The database names of `agencies`, present or being deleted (pure).
pub fn owned_databases(agencies: &[Agency]) -> BTreeSet<String> {
    agencies
        .iter()
        .flat_map(|a| {
            let derived = database_name(&a.namespace().unwrap_or_default(), &a.name_any());
            let recorded = a.status.as_ref().and_then(|s| s.database.clone());
            std::iter::once(derived).chain(recorded)
        })
        .collect()
}

/// The reachable databases no Agency owns (pure).
pub fn orphans(reachable: Vec<Reachable>, owned: &BTreeSet<String>) -> Vec<Reachable> {
    reachable
        .into_iter()
        .filter(|r| !owned.contains(&r.database))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::owner_role_name;

    fn agency(namespace: &str, name: &str) -> Agency {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sanxiang.io/v1alpha1", "kind": "Agency",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"jurisdiction": "211221", "displayName": "局",
                     "creditCode": "91350100M000100Y43", "categories": ["Penalty"]}
        }))
        .unwrap()
    }

    #[test]
    fn databases_without_an_agency_are_orphans() {
        let live = agency("sx-211200", "market");
        let owned = owned_databases(&[live]);
        let mine = database_name("sx-211200", "market");
        let gone = database_name("sx-211200", "ecology");
        // The same name in another city is another database.
        let elsewhere = database_name("sx-210100", "market");
        let r = |d: &str| Reachable {
            server: "default".into(),
            database: d.into(),
        };
        assert_eq!(
            orphans(vec![r(&mine), r(&gone), r(&elsewhere)], &owned),
            vec![r(&gone), r(&elsewhere)]
        );
    }

    #[test]
    fn the_pattern_matches_what_naming_produces() {
        let re = DATABASE_NAME_PATTERN;
        assert!(re.starts_with("^sx_") && re.ends_with("{8}$"));
        let name = database_name("sx-211200", "county-one-market");
        let (head, hash) = name.rsplit_once('_').unwrap();
        assert!(head.starts_with("sx_") && hash.len() == 8);
        // The candidates' query derives the owner as the prefix plus what follows "sx_".
        assert_eq!(
            owner_role_name(&name),
            format!("{OWNER_ROLE_PREFIX}{}", &name[3..])
        );
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
    }
}
