//! Shared by the operator's end-to-end tests and its benchmark: the real operator binary
//! on the local platform, a random province to work in, and YAML builders.

#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Result;
use kube::Api;
use rand::Rng;
use sanxiang_crds::agency::Agency;
use sanxiang_crds::conditions::{condition_type, find_condition};
use sanxiang_testkit::Platform;
use sanxiang_testkit::operator::{OperatorProcess, workspace_root};

/// The platform with CRDs and this year's calendars installed, and one operator process
/// for the whole test binary.
pub fn setup() -> Result<(&'static Platform, &'static OperatorProcess)> {
    static OPERATOR: OnceLock<std::result::Result<OperatorProcess, String>> = OnceLock::new();
    let platform = Platform::shared()?;
    let operator = OPERATOR
        .get_or_init(|| {
            (|| {
                platform.install_sanxiang_crds()?;
                for year in ["2025", "2026"] {
                    let path = workspace_root().join(format!("e2e/fixtures/calendars/{year}.yaml"));
                    platform.kubectl_apply(&std::fs::read_to_string(path)?)?;
                }
                // Further flags for a benchmark's variants (e.g. `--concurrency=32`).
                let extra: Vec<String> = std::env::var("SANXIANG_OPERATOR_EXTRA_ARGS")
                    .map(|v| v.split_whitespace().map(String::from).collect())
                    .unwrap_or_default();
                OperatorProcess::start_with(
                    platform,
                    std::path::Path::new(env!("CARGO_BIN_EXE_sanxiang-operator")),
                    "test",
                    &extra,
                    None,
                )
            })()
            .map_err(|e| format!("{e:#}"))
        })
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((platform, operator))
}

/// A province (with random codes, so reruns and parallel tests never collide) with one
/// city and `counties` counties.
pub struct Province {
    pub province: String,
    pub city: String,
    pub counties: Vec<String>,
    pub admin_group: String,
}

impl Province {
    pub fn random(counties: usize) -> Self {
        Self::random_in(11..=65, counties)
    }

    /// A province no [`Province::random`] draws (codes 66–99 pass the format rules but
    /// name no real province), for a test that sets province-level policies: tests run
    /// concurrently on one apiserver, and another test re-applying the same province
    /// object without policies would change what this one asserts.
    pub fn random_own_province(counties: usize) -> Self {
        Self::random_in(66..=99, counties)
    }

    fn random_in(provinces: std::ops::RangeInclusive<u32>, counties: usize) -> Self {
        let mut rng = rand::rng();
        let p: u32 = rng.random_range(provinces);
        let c: u32 = rng.random_range(1..=89);
        let province = format!("{p:02}0000");
        let city = format!("{p:02}{c:02}00");
        let counties = (1..=counties)
            .map(|k| format!("{p:02}{c:02}{k:02}"))
            .collect();
        Self {
            admin_group: format!("city-{city}-admins"),
            province,
            city,
            counties,
        }
    }

    /// Another city of the same province (a different city code), with `counties`
    /// counties; its [`Province::jurisdictions_yaml`] would re-apply the shared province,
    /// so apply [`Province::city_yaml`] instead.
    pub fn sibling_city(&self, counties: usize) -> Self {
        let p = &self.province[..2];
        let c: u32 = self.city[2..4].parse().expect("a city code");
        let c = c % 89 + 1;
        let city = format!("{p}{c:02}00");
        Self {
            admin_group: format!("city-{city}-admins"),
            province: self.province.clone(),
            counties: (1..=counties).map(|k| format!("{p}{c:02}{k:02}")).collect(),
            city,
        }
    }

    /// Jurisdiction objects for the city and its counties, without the province.
    pub fn city_yaml(&self) -> String {
        let mut docs = vec![jurisdiction_yaml(
            "City",
            &self.city,
            Some(&self.province),
            &[&self.admin_group],
        )];
        for county in &self.counties {
            docs.push(jurisdiction_yaml("County", county, Some(&self.city), &[]));
        }
        docs.join("---\n")
    }

    pub fn namespace(&self) -> String {
        format!("sx-{}", self.city)
    }

    /// Jurisdiction objects for the province, the city and its counties.
    pub fn jurisdictions_yaml(&self) -> String {
        let mut docs = vec![
            jurisdiction_yaml("Province", &self.province, None, &[]),
            jurisdiction_yaml(
                "City",
                &self.city,
                Some(&self.province),
                &[&self.admin_group],
            ),
        ];
        for county in &self.counties {
            docs.push(jurisdiction_yaml("County", county, Some(&self.city), &[]));
        }
        docs.join("---\n")
    }

    pub fn object_names(&self) -> Vec<String> {
        let mut names = vec![format!("j-{}", self.province), format!("j-{}", self.city)];
        names.extend(self.counties.iter().map(|c| format!("j-{c}")));
        names
    }
}

pub fn jurisdiction_yaml(level: &str, code: &str, parent: Option<&str>, groups: &[&str]) -> String {
    let parent = parent
        .map(|p| format!("  parent: \"{p}\"\n"))
        .unwrap_or_default();
    let groups = if groups.is_empty() {
        String::new()
    } else {
        format!(
            "  administratorGroups: [{}]\n",
            groups
                .iter()
                .map(|g| format!("\"{g}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        "apiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata:\n  name: j-{code}\nspec:\n  level: {level}\n  code: \"{code}\"\n{parent}  displayName: \"测试 {code}\"\n{groups}"
    )
}

/// A valid unified social credit code for region `region`, serial `n`.
pub fn credit_code(region: &str, n: u32) -> String {
    let first17 = format!("11{region}{n:09}");
    let check = sanxiang_crds::credit_code::check_character(&first17).expect("valid body");
    format!("{first17}{check}")
}

/// The user name of the platform's admin kubeconfig (group `system:masters`, which the
/// chart counts among provincial IT).
pub const ADMIN_USER: &str = "sanxiang-admin";

/// An Agency; under `Delete` it records the admin as the provincial IT member who allowed
/// it (admission requires the annotation).
pub fn agency_yaml(
    name: &str,
    namespace: &str,
    jurisdiction: &str,
    policy: &str,
    serial: u32,
) -> String {
    let annotations = if policy == "Delete" {
        format!("  annotations:\n    sanxiang.io/delete-allowed-by: {ADMIN_USER}\n")
    } else {
        String::new()
    };
    format!(
        "apiVersion: sanxiang.io/v1alpha1\nkind: Agency\nmetadata:\n  name: {name}\n  namespace: {namespace}\n{annotations}spec:\n  jurisdiction: \"{jurisdiction}\"\n  displayName: \"{name} 执法局\"\n  creditCode: \"{}\"\n  categories: [Licensing, Penalty, Coercion]\n  database:\n    deletionPolicy: {policy}\n",
        credit_code(jurisdiction, serial)
    )
}

/// Waits until the agency's condition `type_` has `status` ("True"/"False"), returning
/// the agency.
pub async fn wait_condition(
    api: &Api<Agency>,
    name: &str,
    type_: &str,
    status: &str,
    timeout: Duration,
) -> Result<Agency> {
    eventually_some(
        &format!("agency {name}: {type_} {status} at its generation"),
        timeout,
        || async {
            let agency = api.get_opt(name).await?;
            if let Some(a) = &agency
                && let Some(s) = &a.status
                && find_condition(&s.conditions, type_).is_some_and(|c| c.status == status)
                && s.observed_generation == a.metadata.generation
            {
                return Ok(Some(a.clone()));
            }
            let conditions = agency
                .and_then(|a| a.status)
                .map(|s| format!("{:#?}", s.conditions))
                .unwrap_or_else(|| "no status".into());
            anyhow::bail!("conditions: {conditions}")
        },
    )
    .await
}

/// Waits until the agency's condition `type_` is False and returns that condition.
pub async fn wait_false(
    api: &Api<Agency>,
    name: &str,
    type_: &str,
) -> Result<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    let agency = wait_condition(api, name, type_, "False", Duration::from_secs(30)).await?;
    let conditions = agency.status.map(|s| s.conditions).unwrap_or_default();
    Ok(find_condition(&conditions, type_)
        .cloned()
        .expect("wait_condition saw it"))
}

pub async fn wait_ready(api: &Api<Agency>, name: &str) -> Result<Agency> {
    wait_condition(
        api,
        name,
        condition_type::READY,
        "True",
        Duration::from_secs(90),
    )
    .await
}

pub use sanxiang_testkit::wait::{eventually, eventually_some};

/// Waits until the operator has created a city's namespace.
pub async fn wait_namespace(client: &kube::Client, ns: &str) -> Result<()> {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    eventually(
        &format!("namespace {ns} exists"),
        Duration::from_secs(30),
        || {
            let api = api.clone();
            async move { Ok(api.get_opt(ns).await?.is_some()) }
        },
    )
    .await
}

/// Deletes agencies and waits until each is gone (its finalizer ran).
pub async fn delete_agencies(api: &Api<Agency>, names: &[&str]) -> Result<()> {
    for name in names {
        api.delete(name, &Default::default()).await?;
    }
    for name in names {
        eventually(
            &format!("agency {name} deleted"),
            Duration::from_secs(60),
            || {
                let api = api.clone();
                async move { Ok(api.get_opt(name).await?.is_none()) }
            },
        )
        .await?;
    }
    Ok(())
}

/// Deletes the province's jurisdictions (agencies must be gone first).
pub fn delete_jurisdictions(platform: &Platform, province: &Province) {
    let mut cmd = platform.kubectl();
    cmd.args([
        "delete",
        "jurisdictions",
        "--ignore-not-found",
        "--wait=false",
    ]);
    cmd.args(province.object_names());
    let _ = cmd.output();
}

/// Number of messages with `subject` in `stream` (an error when the stream does not exist).
pub async fn count_in(
    js: &async_nats::jetstream::Context,
    stream: &str,
    subject: &str,
) -> Result<u64> {
    use futures::StreamExt;
    let s = js.get_stream(stream).await?;
    let info = s
        .info_with_subjects(subject)
        .await?
        .next()
        .await
        .transpose()?;
    Ok(info.map(|(_, n)| n as u64).unwrap_or(0))
}
