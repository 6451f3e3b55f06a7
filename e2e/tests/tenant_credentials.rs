//! The tenant service reads no Secret but the operator's copies, on the real apiserver
//! (docs/deploy.md §4):
//!
//! - the chart's RBAC for the tenant service (rendered by helm for a release of this test)
//!   is applied, and a kubeconfig of its ServiceAccount's identity is refused listing
//!   Secrets in an agency namespace and cluster-wide, and allowed in the copies' namespace;
//! - the real operator, with `--tenant-credentials-namespace` and the chart's RBAC as its
//!   identity, copies a newly onboarded
//!   agency's database Secret there, and the real tenant service, running with that
//!   kubeconfig, serves the agency through the copy;
//! - a copy deleted, edited or unlabelled by hand is put back, and the service keeps
//!   serving;
//! - deleting the Agency (Retain) removes the copy, and the service stops serving it.

#[allow(dead_code)] // the process guard only
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use sanxiang_crds::agency::Agency;
use sanxiang_crds::conditions::{condition_type, find_condition};
use sanxiang_crds::domain::DATABASE_SOURCE_SELECTOR;
use sanxiang_operator::credential_copies::copy_name;
use sanxiang_testkit::Platform;
use sanxiang_testkit::apps::AppBinaries;
use sanxiang_testkit::operator::{OperatorProcess, workspace_root};
use sanxiang_testkit::platform::process::{self, free_port, wait_until};
use sanxiang_testkit::token;
use sanxiang_testkit::wait::eventually;
use serde::Deserialize as _;
use serde_json::json;
use support::Guard;

const JWT_SECRET: &[u8] = b"tenant-credentials-test-secret-0123456789";

/// Runs `kubectl delete` of what the test made, when dropped.
struct Cleanup<'a> {
    platform: &'a Platform,
    objects: Vec<Vec<String>>,
}
impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for args in &self.objects {
            let _ = self
                .platform
                .kubectl()
                .arg("delete")
                .args(args)
                .args(["--wait=false", "--ignore-not-found"])
                .output();
        }
    }
}

fn token(agency: &str, province: &str) -> Result<String> {
    token::hs256(
        JWT_SECRET,
        &json!({"sub": "copies-admin", "role": "agency_admin", "agency": agency,
                "province": province}),
    )
}

/// `kubectl` as the identity of `kubeconfig`: (succeeded, stdout + stderr).
fn kubectl_as(platform: &Platform, kubeconfig: &Path, args: &[&str]) -> Result<(bool, String)> {
    let out = Command::new(&platform.tools.kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()?;
    Ok((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

/// How long the operator and the tenant service get to act on a change.
const WITHIN: Duration = Duration::from_secs(60);

#[tokio::test]
async fn the_tenant_service_reads_only_the_operators_copies() -> Result<()> {
    let platform = Platform::shared()?;
    platform.install_sanxiang_crds()?;
    for year in ["2025", "2026"] {
        let path = workspace_root().join(format!("e2e/fixtures/calendars/{year}.yaml"));
        platform.kubectl_apply(&std::fs::read_to_string(path)?)?;
    }
    let bins = AppBinaries::from_target_dir();
    let n: u32 = rand::random();
    let suffix = format!("{:06x}", n & 0xff_ffff);
    // A province as the operator tests draw them (11–65), a city of its own.
    let p = 11 + n % 55;
    let (province, city) = (
        format!("{p:02}0000"),
        format!("{p:02}{:02}00", 1 + n / 55 % 89),
    );
    let (release, release_ns, copies) = (
        format!("creds-{suffix}"),
        format!("creds-rel-{suffix}"),
        format!("creds-copies-{suffix}"),
    );
    let city_ns = format!("sx-{city}");
    let agency_name = format!("copied-{suffix}");
    let agency = agency_name.as_str();

    // ---- the chart's RBAC for the tenant service, and its identity -------------------
    let rbac = process::run(
        Command::new(&platform.tools.helm)
            .args(["template", &release, "--namespace", &release_ns])
            .arg(workspace_root().join("charts/sanxiang"))
            .args(["--kube-version", "1.34.0"])
            .args([
                "--set",
                &format!("tenantService.credentials.namespace={copies}"),
            ])
            .args(["--show-only", "templates/rbac-tenant-service.yaml"]),
        "rendering the tenant service's RBAC",
    )?;
    let rbac_file = platform
        .state_dir
        .join(format!("tenant-rbac-{suffix}.yaml"));
    std::fs::write(&rbac_file, &rbac)?;
    let _cleanup = Cleanup {
        platform,
        objects: vec![
            vec!["-f".into(), rbac_file.display().to_string()],
            vec!["agency".into(), agency.into(), "-n".into(), city_ns.clone()],
            vec!["jurisdiction".into(), format!("j-{city}")],
            vec!["namespace".into(), release_ns.clone()],
            vec!["namespace".into(), copies.clone()],
        ],
    };
    for ns in [&release_ns, &copies] {
        process::run(
            platform.kubectl().args(["create", "namespace", ns]),
            "creating a namespace",
        )?;
    }
    platform.kubectl_apply(&rbac)?;
    let account = serde_yaml::Deserializer::from_str(&rbac)
        .filter_map(|d| serde_json::Value::deserialize(d).ok())
        .find(|d| d["kind"] == "RoleBinding")
        .and_then(|d| d["subjects"][0]["name"].as_str().map(str::to_string))
        .context("no RoleBinding in the rendered RBAC")?;
    let user = format!("system:serviceaccount:{release_ns}:{account}");
    let kubeconfig = platform.kubeconfig_for(&user, Some("system:serviceaccounts"))?;

    // ---- the province, the operator keeping copies, the agency ------------------------
    platform.kubectl_apply(&format!(
        "apiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata:\n  name: j-{province}\nspec:\n  level: Province\n  code: \"{province}\"\n  displayName: \"测试 {province}\"\n\
         ---\napiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata:\n  name: j-{city}\nspec:\n  level: City\n  code: \"{city}\"\n  parent: \"{province}\"\n  displayName: \"测试 {city}\"\n"
    ))?;
    // The operator with the chart's RBAC as its identity too (release `sanxiang` in
    // namespace `default`, whose ServiceAccount the platform's admission policies know),
    // so that its rules are shown to suffice for keeping, repairing and removing copies.
    let label = format!("copies-{suffix}");
    let lease = format!("sanxiang-operator-{label}-{}", std::process::id());
    platform.kubectl_apply(&process::run(
        Command::new(&platform.tools.helm)
            .args(["template", "sanxiang"])
            .arg(workspace_root().join("charts/sanxiang"))
            .args([
                "--kube-version",
                "1.34.0",
                "--show-only",
                "templates/rbac-operator.yaml",
            ])
            .args([
                "--set",
                &format!("operator.leaderElection.leaseName={lease}"),
            ]),
        "rendering the operator's RBAC",
    )?)?;
    let operator_identity = platform.kubeconfig_for(
        "system:serviceaccount:default:sanxiang-operator",
        Some("system:serviceaccounts"),
    )?;
    let operator = OperatorProcess::start_with(
        platform,
        &bins.operator,
        &label,
        &[format!("--tenant-credentials-namespace={copies}")],
        Some(&operator_identity),
    )?;
    let client = platform.kube_client().await?;
    let agencies: Api<Agency> = Api::namespaced(client.clone(), &city_ns);
    eventually(&format!("namespace {city_ns}"), WITHIN, || {
        let c = client.clone();
        let ns = city_ns.clone();
        async move {
            Ok(Api::<k8s_openapi::api::core::v1::Namespace>::all(c)
                .get_opt(&ns)
                .await?
                .is_some())
        }
    })
    .await?;
    let first17 = format!("11{city}{:09}", 1);
    let credit = format!(
        "{first17}{}",
        sanxiang_crds::credit_code::check_character(&first17).context("credit code")?
    );
    platform.kubectl_apply(&format!(
        "apiVersion: sanxiang.io/v1alpha1\nkind: Agency\nmetadata:\n  name: {agency}\n  namespace: {city_ns}\nspec:\n  jurisdiction: \"{city}\"\n  displayName: \"复制测试 市场监督管理局\"\n  creditCode: \"{credit}\"\n  categories: [Licensing, Penalty, Coercion]\n  database:\n    deletionPolicy: Retain\n"
    ))?;
    eventually(&format!("agency {agency} Ready"), WITHIN, || {
        let api = agencies.clone();
        async move {
            let a = api.get(agency).await?;
            Ok(a.status.is_some_and(|s| {
                find_condition(&s.conditions, condition_type::READY)
                    .is_some_and(|c| c.status == "True")
            }))
        }
    })
    .await?;

    // ---- RBAC: refused everywhere but the copies' namespace ---------------------------
    let (ok, out) = kubectl_as(platform, &kubeconfig, &["get", "secrets", "-n", &city_ns])?;
    ensure!(
        !ok && out.contains("forbidden"),
        "listing Secrets in {city_ns}: {out}"
    );
    let (ok, out) = kubectl_as(platform, &kubeconfig, &["get", "secrets", "-A"])?;
    ensure!(
        !ok && out.contains("forbidden"),
        "listing every Secret: {out}"
    );
    let (ok, out) = kubectl_as(
        platform,
        &kubeconfig,
        &["get", "secret", "-n", &city_ns, &format!("{agency}-db")],
    )?;
    ensure!(
        !ok && out.contains("forbidden"),
        "reading the agency's own Secret: {out}"
    );
    let (ok, out) = kubectl_as(platform, &kubeconfig, &["get", "secrets", "-n", &copies])?;
    ensure!(ok, "listing the copies: {out}");

    // ---- the copy: same data and contract as the agency's Secret ---------------------
    let copied = copy_name(&city_ns, &format!("{agency}-db"));
    let sources: Api<Secret> = Api::namespaced(client.clone(), &city_ns);
    let copies_api: Api<Secret> = Api::namespaced(client.clone(), &copies);
    let source = sources.get(&format!("{agency}-db")).await?;
    eventually("the copy exists", WITHIN, || {
        let api = copies_api.clone();
        let name = copied.clone();
        async move { Ok(api.get_opt(&name).await?.is_some()) }
    })
    .await?;
    // A watch of every namespace (a tenant service run without --kube-namespace) reads
    // the source and never the copy: one Secret per agency.
    let everywhere: Api<Secret> = Api::all(client.clone());
    let sources_everywhere: Vec<String> = everywhere
        .list(&ListParams::default().labels(DATABASE_SOURCE_SELECTOR))
        .await?
        .items
        .iter()
        .filter(|s| {
            s.annotations()
                .get("sanxiang.io/agency")
                .map(String::as_str)
                == Some(agency)
        })
        .map(|s| format!("{}/{}", s.namespace().unwrap_or_default(), s.name_any()))
        .collect();
    ensure!(
        sources_everywhere == [format!("{city_ns}/{agency}-db")],
        "the sources' selector matched {sources_everywhere:?}"
    );
    let copy = copies_api.get(&copied).await?;
    ensure!(
        copy.data == source.data,
        "the copy's data differ from its source"
    );
    ensure!(
        copy.annotations()
            .get("sanxiang.io/agency")
            .map(String::as_str)
            == Some(agency),
        "the copy lacks the contract: {:?}",
        copy.annotations()
    );

    // ---- the tenant service, as its ServiceAccount, serves the agency ------------------
    let (api_port, admin_port) = (free_port()?, free_port()?);
    let secret_file = platform.state_dir.join(format!("copies-jwt-{suffix}"));
    std::fs::write(&secret_file, JWT_SECRET)?;
    let log = platform.log(&format!("tenant-service-copies-{suffix}"));
    let out = std::fs::File::create(&log)?;
    let service = Guard(
        Command::new(&bins.tenant_service)
            .arg(format!("--listen=127.0.0.1:{api_port}"))
            .arg(format!("--admin-listen=127.0.0.1:{admin_port}"))
            .arg("--tenants-from-kube")
            .arg(format!("--kube-namespace={copies}"))
            .arg(format!("--jwt-hs256-secret-file={}", secret_file.display()))
            .env("KUBECONFIG", &kubeconfig)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", bins.tenant_service.display()))?,
    );
    wait_until(
        "tenant service",
        &log,
        Duration::from_secs(60),
        Some(service.0.id()),
        || {
            Ok(process::http_get(admin_port, "/ready")
                .map(|(s, _)| s == 200)
                .unwrap_or(false))
        },
    )?;
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{api_port}/api/v1/agencies/{agency}/personnel");
    let bearer = token(agency, &province)?;
    let status = || {
        let (http, url, bearer) = (http.clone(), url.clone(), bearer.clone());
        async move {
            Ok::<u16, anyhow::Error>(
                http.get(&url)
                    .bearer_auth(&bearer)
                    .send()
                    .await?
                    .status()
                    .as_u16(),
            )
        }
    };
    eventually("the service serves the new agency", WITHIN, || async {
        Ok(status().await? == 200)
    })
    .await?;

    // ---- a copy deleted by hand comes back, one edited by hand is repaired ------------
    let old_uid = copy.uid();
    copies_api.delete(&copied, &DeleteParams::default()).await?;
    eventually("the deleted copy is put back", WITHIN, || {
        let api = copies_api.clone();
        let name = copied.clone();
        let old = old_uid.clone();
        async move { Ok(api.get_opt(&name).await?.is_some_and(|c| c.uid() != old)) }
    })
    .await?;
    copies_api
        .patch(
            &copied,
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"password": "dGFtcGVyZWQ="}})),
        )
        .await?;
    eventually("the edited copy is repaired", WITHIN, || {
        let api = copies_api.clone();
        let name = copied.clone();
        let data = source.data.clone();
        async move { Ok(api.get(&name).await?.data == data) }
    })
    .await?;
    // Without its label the watches no longer see it (nor would the tenant service).
    copies_api
        .patch(
            &copied,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"sanxiang.io/credentials": null}}})),
        )
        .await?;
    eventually("the unlabelled copy is labelled again", WITHIN, || {
        let api = copies_api.clone();
        let name = copied.clone();
        async move {
            Ok(api
                .get(&name)
                .await?
                .labels()
                .get("sanxiang.io/credentials")
                .is_some_and(|v| v == "database"))
        }
    })
    .await?;
    eventually("the service still serves the agency", WITHIN, || async {
        Ok(status().await? == 200)
    })
    .await?;

    // ---- deleting the Agency (Retain) removes the copy; the service stops serving ------
    agencies.delete(agency, &DeleteParams::default()).await?;
    eventually("the copy is removed with the Agency", WITHIN, || {
        let api = copies_api.clone();
        let name = copied.clone();
        async move { Ok(api.get_opt(&name).await?.is_none()) }
    })
    .await?;
    eventually(
        "the service no longer serves the agency",
        WITHIN,
        || async { Ok(status().await? == 404) },
    )
    .await?;
    eventually("the Agency's deletion completes", WITHIN, || {
        let api = agencies.clone();
        async move { Ok(api.get_opt(agency).await?.is_none()) }
    })
    .await?;
    let operator_log = std::fs::read_to_string(&operator.log)?;
    ensure!(
        !operator_log.contains("forbidden"),
        "the operator's chart identity was refused something:\n{operator_log}"
    );
    let log_text = std::fs::read_to_string(&log)?;
    ensure!(
        log_text.contains("tenants loaded from Secrets") && !log_text.contains("forbidden"),
        "the tenant service was refused something it needs:\n{log_text}"
    );
    drop(service);
    Ok(())
}
