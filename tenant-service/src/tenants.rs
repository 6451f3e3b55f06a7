//! Tenants (one per enforcement agency) and where they come from.
//!
//! A [`TenantSource`] fills the [`TenantRegistry`]: [`FileTenantSource`] reads a YAML
//! directory file (`--tenants-file`) for local runs and reloads it when it changes;
//! [`crate::kube_source::KubeSecretSource`] watches the operator's database Secrets in a
//! cluster. Both produce a [`Tenant`]: the [`TenantContract`] the operator provisions
//! (place and rules) plus the database URL.

use anyhow::Context;
use futures::future::BoxFuture;
use sanxiang_domain::{EnforcementCategory, NO_COUNTY, TenantContract, disclosure_working_days};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// One tenant: an enforcement agency (its contract: place and rules) and its database.
///
/// In the tenants file the contract's fields and `databaseUrl` stand side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    #[serde(flatten)]
    pub contract: TenantContract,
    pub database_url: String,
}

/// A tenant reads as its contract (`tenant.agency`, `tenant.categories`).
impl Deref for Tenant {
    type Target = TenantContract;
    fn deref(&self) -> &TenantContract {
        &self.contract
    }
}

impl DerefMut for Tenant {
    fn deref_mut(&mut self) -> &mut TenantContract {
        &mut self.contract
    }
}

impl Tenant {
    pub fn new(contract: TenantContract, database_url: impl Into<String>) -> Self {
        Self {
            contract,
            database_url: database_url.into(),
        }
    }

    /// Fills defaults (subject prefix) and checks the entry.
    pub fn normalized(mut self) -> anyhow::Result<Self> {
        let c = &mut self.contract;
        for (name, v) in [
            ("agency", &c.agency),
            ("province", &c.province),
            ("city", &c.city),
            ("county", &c.county),
        ] {
            anyhow::ensure!(
                !v.is_empty()
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "tenant {:?}: {name} {:?} must be a non-empty token of letters, digits, '-' or '_'",
                c.agency,
                v
            );
        }
        if c.county.is_empty() {
            c.county = NO_COUNTY.into();
        }
        if c.subject_prefix.is_empty() {
            c.subject_prefix = format!("sx.{}.{}.{}.{}", c.province, c.city, c.county, c.agency);
        }
        anyhow::ensure!(
            !self.database_url.is_empty(),
            "tenant {:?}: databaseUrl is empty",
            self.agency
        );
        Ok(self)
    }

    /// Disclosure period for a category: the agency's override if any, else 7 or 20.
    pub fn disclosure_days(&self, category: EnforcementCategory) -> u32 {
        disclosure_working_days(category, &self.disclosure_overrides)
    }

    pub fn subject(&self, event: &str) -> String {
        format!("{}.{}", self.subject_prefix, event)
    }

    /// Metric labels: province, city, county, agency.
    pub fn labels(&self) -> [&str; 4] {
        [&self.province, &self.city, &self.county, &self.agency]
    }
}

/// The tenants currently known, by agency.
#[derive(Clone, Default)]
pub struct TenantRegistry {
    tenants: Arc<RwLock<HashMap<String, Arc<Tenant>>>>,
    ready: Arc<AtomicBool>,
}

impl TenantRegistry {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with_tenants(tenants: Vec<Tenant>) -> anyhow::Result<Self> {
        let r = Self::new();
        r.replace_all(tenants)?;
        r.set_ready();
        Ok(r)
    }
    pub fn get(&self, agency: &str) -> Option<Arc<Tenant>> {
        self.tenants
            .read()
            .expect("tenants lock")
            .get(agency)
            .cloned()
    }
    pub fn all(&self) -> Vec<Arc<Tenant>> {
        let mut v: Vec<_> = self
            .tenants
            .read()
            .expect("tenants lock")
            .values()
            .cloned()
            .collect();
        v.sort_by(|a, b| a.agency.cmp(&b.agency));
        v
    }
    pub fn upsert(&self, tenant: Tenant) -> anyhow::Result<()> {
        let t = tenant.normalized()?;
        self.tenants
            .write()
            .expect("tenants lock")
            .insert(t.agency.clone(), Arc::new(t));
        Ok(())
    }
    pub fn remove(&self, agency: &str) {
        self.tenants.write().expect("tenants lock").remove(agency);
    }
    pub fn replace_all(&self, tenants: Vec<Tenant>) -> anyhow::Result<()> {
        let mut map = HashMap::new();
        for t in tenants {
            let t = t.normalized()?;
            anyhow::ensure!(
                !map.contains_key(&t.agency),
                "agency {:?} listed twice",
                t.agency
            );
            map.insert(t.agency.clone(), Arc::new(t));
        }
        *self.tenants.write().expect("tenants lock") = map;
        Ok(())
    }
    pub fn len(&self) -> usize {
        self.tenants.read().expect("tenants lock").len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

/// Where tenants come from. `run` loads the current tenants into the registry, marks it
/// ready, and keeps it updated until the returned future ends (or forever).
pub trait TenantSource: Send + Sync + 'static {
    fn run(self: Box<Self>, registry: TenantRegistry) -> BoxFuture<'static, anyhow::Result<()>>;
}

/// The directory file: either a list of tenants or `{ tenants: [...] }`.
#[derive(Deserialize)]
#[serde(untagged)]
enum TenantFile {
    List(Vec<Tenant>),
    Wrapped { tenants: Vec<Tenant> },
}

/// Parses a tenants file.
pub fn parse_tenants_file(text: &str) -> anyhow::Result<Vec<Tenant>> {
    let file: TenantFile = serde_yaml::from_str(text).context("tenants file")?;
    let list = match file {
        TenantFile::List(l) => l,
        TenantFile::Wrapped { tenants } => tenants,
    };
    list.into_iter().map(Tenant::normalized).collect()
}

/// Tenants from a YAML file, reloaded when the file changes.
pub struct FileTenantSource {
    pub path: PathBuf,
    pub poll: Duration,
}

impl FileTenantSource {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            poll: Duration::from_secs(10),
        }
    }
    fn load(&self) -> anyhow::Result<Vec<Tenant>> {
        let text = std::fs::read_to_string(&self.path)
            .with_context(|| format!("reading {}", self.path.display()))?;
        parse_tenants_file(&text)
    }
}

impl TenantSource for FileTenantSource {
    fn run(self: Box<Self>, registry: TenantRegistry) -> BoxFuture<'static, anyhow::Result<()>> {
        Box::pin(async move {
            registry.replace_all(self.load()?)?;
            registry.set_ready();
            tracing::info!(tenants = registry.len(), path = %self.path.display(), "tenants loaded");
            let mtime = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
            let mut last = mtime(&self.path);
            loop {
                tokio::time::sleep(self.poll).await;
                let now = mtime(&self.path);
                if now != last {
                    last = now;
                    match self.load().and_then(|t| registry.replace_all(t)) {
                        Ok(()) => tracing::info!(tenants = registry.len(), "tenants reloaded"),
                        Err(e) => {
                            tracing::error!(error = %e, "tenants file reload failed; keeping the previous tenants")
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

    #[test]
    fn parse_file_with_defaults() {
        let text = r#"
tenants:
  - agency: sy-market
    province: "210000"
    city: "210100"
    county: "-"
    databaseUrl: postgres://u:p@localhost/sy
    disclosureOverrides:
      - category: penalty
        workingDays: 5
        legalBasis: 某条例第十条
  - agency: hp-eco
    province: "210000"
    city: "210100"
    county: "210102"
    databaseUrl: postgres://u:p@localhost/hp
    subjectPrefix: sx.custom
    withdrawalDeadlineDays: 1
"#;
        let t = parse_tenants_file(text).unwrap();
        assert_eq!(t[0].subject_prefix, "sx.210000.210100.-.sy-market");
        assert_eq!(t[0].withdrawal_deadline_days, 3);
        assert_eq!(t[0].legal_reviewer_ratio_permille, 50);
        assert_eq!(t[0].disclosure_days(EnforcementCategory::Penalty), 5);
        assert_eq!(t[0].disclosure_days(EnforcementCategory::Licensing), 7);
        assert_eq!(t[0].disclosure_days(EnforcementCategory::Coercion), 20);
        assert_eq!(t[1].subject_prefix, "sx.custom");
        assert_eq!(t[1].withdrawal_deadline_days, 1);
        assert_eq!(t[1].subject("disclosure"), "sx.custom.disclosure");
    }

    #[test]
    fn example_file_parses() {
        let t = parse_tenants_file(include_str!("../examples-config/tenants.yaml")).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].natural_person_retention_days, Some(730));
        assert_eq!(t[1].subject_prefix, "sx.210000.210100.210102.hp-eco");
    }

    #[test]
    fn bad_entries_are_rejected() {
        let text = "- agency: 'a.b'\n  province: p\n  city: c\n  databaseUrl: x\n";
        assert!(parse_tenants_file(text).is_err());
        let reg = TenantRegistry::new();
        let t = Tenant::new(TenantContract::new("a", "p", "c", "-"), "u");
        assert!(reg.replace_all(vec![t.clone(), t]).is_err());
    }
}
