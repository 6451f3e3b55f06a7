//! The Helm chart as a province installs it, checked by the real `helm` against the real
//! local kube-apiserver:
//!
//! - `helm lint --strict` passes with the defaults and with every option on (Ingresses with
//!   CORS, NetworkPolicies, PodDisruptionBudgets, ServiceMonitors, dashboards);
//! - `helm template` with every option on is accepted by `kubectl apply --dry-run=server`,
//!   so every object is valid for the API server itself, not only for the chart's schema;
//! - every container runs non-root with a read-only root file system, no capabilities,
//!   RuntimeDefault seccomp and resource requests and limits, and every RBAC rule says why;
//! - values.schema.json refuses incomplete NetworkPolicy, CORS and sign-in settings, naming the field;
//! - `helm install`, `upgrade` and `uninstall` keep the CRDs and the data: a Jurisdiction and
//!   an Agency created after the install survive the upgrade and the uninstall unchanged, and
//!   the release installs again on top of them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};
use sanxiang_testkit::Platform;
use sanxiang_testkit::operator::workspace_root;
use sanxiang_testkit::platform::process;
use serde_json::Value;

/// The local platform's Kubernetes version (source-built helm assumes 1.20 offline).
const KUBE_VERSION: &str = "1.34.0";

fn chart() -> PathBuf {
    workspace_root().join("charts/sanxiang")
}

/// A suffix no other run shares, for namespaces, releases and cluster-scoped names.
fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{:x}", std::process::id() ^ nanos)
}

/// Values that turn every option on, for the namespaces given.
fn everything_on(databases_ns: &str, nats_ns: &str) -> String {
    format!(
        r#"serviceMonitor: {{enabled: true}}
dashboards: {{enabled: true}}
ingress:
  className: nginx
  agencyApi: {{enabled: true, host: api.sanxiang.example.cn, path: /, pathType: Prefix, tlsSecretName: api-tls}}
  portal:
    enabled: true
    host: gongshi.sanxiang.example.cn
    path: /
    pathType: Prefix
    tlsSecretName: portal-tls
    cors: {{enabled: true, allowOrigins: ["https://www.gov.cn", "https://www.ln.gov.cn"]}}
networkPolicy:
  enabled: true
  apiserver: {{cidrs: ["10.0.0.1/32"]}}
  postgres:
    to: [{{ipBlock: {{cidr: 10.20.0.0/24}}}}]
    server: {{namespace: {databases_ns}, podSelector: {{matchLabels: {{app: postgres}}}}}}
  nats:
    to: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {nats_ns}}}}}, podSelector: {{matchLabels: {{app.kubernetes.io/name: nats}}}}}}]
    server: {{namespace: {nats_ns}, podSelector: {{matchLabels: {{app.kubernetes.io/name: nats}}}}}}
  metricsFrom: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: monitoring}}}}}}]
  apiFrom: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: ingress-nginx}}}}}}]
  oidc: {{to: [{{ipBlock: {{cidr: 10.30.0.5/32}}}}]}}
tenantService:
  jwt: {{type: none}}
  oidc: {{issuer: "https://idp.ln.gov.cn/", caSecret: idp-ca}}
supervision:
  enabled: true
  stream: SX_PROVINCE_210000
  database: {{existingSecret: supervision-db}}
  nats: {{credsSecret: supervision-nats}}
"#
    )
}

/// `helm` with its caches in the platform's state directory, never the user's home.
fn helm(platform: &Platform) -> Command {
    let mut cmd = Command::new(&platform.tools.helm);
    cmd.arg("--kubeconfig")
        .arg(platform.kubeconfig())
        .env("HELM_CACHE_HOME", platform.state_dir.join("helm/cache"))
        .env("HELM_CONFIG_HOME", platform.state_dir.join("helm/config"))
        .env("HELM_DATA_HOME", platform.state_dir.join("helm/data"));
    cmd
}

fn template(platform: &Platform, namespace: &str, values: &[&Path]) -> Result<String> {
    let mut cmd = helm(platform);
    cmd.args(["template", "sx", "--namespace", namespace])
        .args(["--kube-version", KUBE_VERSION])
        .arg(chart());
    for v in values {
        cmd.arg("-f").arg(v);
    }
    process::run(&mut cmd, "helm template")
}

fn documents(yaml: &str) -> Result<Vec<Value>> {
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(yaml) {
        let v: Value = serde::Deserialize::deserialize(doc)?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

fn kubectl(platform: &Platform, args: &[&str]) -> Result<String> {
    process::run(
        platform.kubectl().args(args),
        &format!("kubectl {}", args.join(" ")),
    )
}

/// Namespaces deleted (without waiting) when dropped.
struct Namespaces<'a>(&'a Platform, Vec<String>);

impl Drop for Namespaces<'_> {
    fn drop(&mut self) {
        for ns in &self.1 {
            let _ = self
                .0
                .kubectl()
                .args([
                    "delete",
                    "namespace",
                    ns,
                    "--wait=false",
                    "--ignore-not-found",
                ])
                .output();
        }
    }
}

#[test]
fn chart_calendars_are_copies_of_the_fixtures() -> Result<()> {
    let list = |dir: &Path| -> Result<BTreeMap<String, String>> {
        let mut files = BTreeMap::new();
        for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "yaml") {
                let name = p.file_name().unwrap_or_default().to_string_lossy().into();
                files.insert(name, std::fs::read_to_string(&p)?);
            }
        }
        Ok(files)
    };
    let fixtures = list(&workspace_root().join("e2e/fixtures/calendars"))?;
    let shipped = list(&chart().join("calendars"))?;
    ensure!(
        !fixtures.is_empty(),
        "no calendars in e2e/fixtures/calendars"
    );
    ensure!(
        fixtures == shipped,
        "charts/sanxiang/calendars/ must hold exact copies of e2e/fixtures/calendars/*.yaml \
         (cp e2e/fixtures/calendars/*.yaml charts/sanxiang/calendars/)"
    );
    Ok(())
}

#[test]
fn every_rbac_rule_says_why() -> Result<()> {
    for file in [
        "rbac-operator.yaml",
        "rbac-tenant-service.yaml",
        "rbac-province-it.yaml",
        "supervision.yaml",
    ] {
        let text = std::fs::read_to_string(chart().join("templates").join(file))?;
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim_start().starts_with("- apiGroups:") {
                let before = lines[..i]
                    .iter()
                    .rev()
                    .find(|l| !l.trim().starts_with("{{"))
                    .map(|l| l.trim())
                    .unwrap_or_default();
                ensure!(
                    before.starts_with('#'),
                    "{file}:{}: the rule has no comment saying why it is needed",
                    i + 1
                );
            }
        }
    }
    Ok(())
}

#[test]
fn lint_strict_and_server_side_dry_run_with_every_option_on() -> Result<()> {
    let platform = Platform::shared()?;
    platform.install_sanxiang_crds()?;
    let suffix = unique();
    let (release_ns, databases_ns, nats_ns) = (
        format!("chart-dry-{suffix}"),
        format!("chart-db-{suffix}"),
        format!("chart-nats-{suffix}"),
    );
    let _cleanup = Namespaces(
        platform,
        vec![
            release_ns.clone(),
            databases_ns.clone(),
            nats_ns.clone(),
            format!("{release_ns}-tenant-credentials"),
        ],
    );
    let dir = tempfile::tempdir()?;
    let values = dir.path().join("everything.yaml");
    std::fs::write(&values, everything_on(&databases_ns, &nats_ns))?;

    process::run(
        helm(platform).args(["lint", "--strict"]).arg(chart()),
        "helm lint --strict (defaults)",
    )?;
    process::run(
        helm(platform)
            .args(["lint", "--strict"])
            .arg(chart())
            .arg("-f")
            .arg(&values),
        "helm lint --strict (every option on)",
    )?;

    let rendered = template(platform, &release_ns, &[&values])?;
    let docs = documents(&rendered)?;
    let count = |kind: &str| docs.iter().filter(|d| d["kind"] == kind).count();
    ensure!(count("Ingress") == 2, "two Ingresses expected");
    ensure!(count("NetworkPolicy") == 4, "four NetworkPolicies expected");
    ensure!(count("PodDisruptionBudget") == 2, "two PDBs expected");
    ensure!(count("WorkCalendar") >= 2, "the shipped WorkCalendars");
    let portal = docs
        .iter()
        .find(|d| {
            d["kind"] == "Ingress"
                && d["metadata"]["labels"]["app.kubernetes.io/component"] == "disclosure"
        })
        .context("no portal Ingress")?;
    let annotations = &portal["metadata"]["annotations"];
    ensure!(
        annotations["nginx.ingress.kubernetes.io/cors-allow-origin"]
            == "https://www.gov.cn, https://www.ln.gov.cn"
            && annotations["nginx.ingress.kubernetes.io/cors-allow-credentials"] == "false",
        "portal CORS annotations: {annotations}"
    );
    for d in docs.iter().filter(|d| d["kind"] == "Deployment") {
        let name = d["metadata"]["name"].as_str().unwrap_or_default();
        let pod = &d["spec"]["template"]["spec"];
        ensure!(
            pod["securityContext"]["runAsNonRoot"] == true
                && pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault",
            "{name}: pod securityContext {}",
            pod["securityContext"]
        );
        for c in pod["containers"].as_array().context("containers")? {
            let sc = &c["securityContext"];
            ensure!(
                sc["readOnlyRootFilesystem"] == true
                    && sc["allowPrivilegeEscalation"] == false
                    && sc["capabilities"]["drop"] == serde_json::json!(["ALL"]),
                "{name}: container securityContext {sc}"
            );
            ensure!(
                c["resources"]["requests"]["cpu"].is_string()
                    && c["resources"]["requests"]["memory"].is_string()
                    && c["resources"]["limits"]["memory"].is_string(),
                "{name}: resources {}",
                c["resources"]
            );
        }
    }

    // The supervision workspace: its stream, its own database's URL from its Secret, the
    // tenant service's token issuer, and a Service for its API and metrics.
    let supervision = |kind: &str| {
        docs.iter().find(|d| {
            d["kind"] == kind
                && d["metadata"]["labels"]["app.kubernetes.io/component"] == "supervision"
        })
    };
    let workspace = supervision("Deployment").context("no supervision Deployment")?;
    let container = &workspace["spec"]["template"]["spec"]["containers"][0];
    let args = container["args"].to_string();
    for arg in [
        "--stream=SX_PROVINCE_210000",
        "--calendars-from-kube",
        "--plans-from-kube",
        "--nats-creds=/etc/sanxiang/nats/supervision.creds",
        "--oidc-issuer=https://idp.ln.gov.cn/",
    ] {
        ensure!(args.contains(arg), "supervision args lack {arg}: {args}");
    }
    ensure!(
        container["env"].to_string().contains("supervision-db"),
        "the database URL comes from its Secret: {}",
        container["env"]
    );
    ensure!(
        supervision("Service").is_some() && supervision("ServiceAccount").is_some(),
        "the supervision workspace has a Service and a ServiceAccount"
    );

    // The tenant service reads Secrets only in the namespace of the operator's copies,
    // through a Role there; none of its cluster-wide rules names Secrets.
    let copies_ns = format!("{release_ns}-tenant-credentials");
    let tenant_service =
        |d: &&Value| d["metadata"]["labels"]["app.kubernetes.io/component"] == "tenant-service";
    for d in docs.iter().filter(tenant_service) {
        let secrets = d["rules"].as_array().is_some_and(|rules| {
            rules
                .iter()
                .any(|r| r["resources"].to_string().contains("secrets"))
        });
        match d["kind"].as_str() {
            Some("ClusterRole") => ensure!(!secrets, "tenant service ClusterRole on Secrets: {d}"),
            Some("Role") if secrets => ensure!(
                d["metadata"]["namespace"] == copies_ns.as_str(),
                "tenant service Role on Secrets outside {copies_ns}: {d}"
            ),
            _ => {}
        }
    }
    ensure!(
        docs.iter()
            .any(|d| d["kind"] == "Namespace" && d["metadata"]["name"] == copies_ns.as_str()),
        "the chart creates the copies' namespace {copies_ns}"
    );
    let operator = docs
        .iter()
        .find(|d| {
            d["kind"] == "Deployment"
                && d["metadata"]["labels"]["app.kubernetes.io/component"] == "operator"
        })
        .context("no operator Deployment")?;
    ensure!(
        operator["spec"]["template"]["spec"]["containers"][0]["args"]
            .to_string()
            .contains(&format!("--tenant-credentials-namespace={copies_ns}")),
        "the operator keeps the copies in {copies_ns}"
    );

    // The copies' namespace is created by the release; a server-side dry run does not
    // create it, so the Role in it needs it first.
    for ns in [&release_ns, &databases_ns, &nats_ns, &copies_ns] {
        kubectl(platform, &["create", "namespace", ns])?;
    }
    let file = dir.path().join("rendered.yaml");
    std::fs::write(&file, &rendered)?;
    let applied = kubectl(
        platform,
        &[
            "apply",
            "--dry-run=server",
            "--server-side",
            "--field-manager=chart-test",
            "-f",
            file.to_str().context("path")?,
        ],
    )?;
    ensure!(
        applied.lines().count() == docs.len(),
        "the API server accepted {} of {} objects:\n{applied}",
        applied.lines().count(),
        docs.len()
    );
    Ok(())
}

#[test]
fn schema_refuses_incomplete_network_policy_and_cors() -> Result<()> {
    let platform = Platform::shared()?;
    let refused = |sets: &[&str]| -> Result<String> {
        let mut cmd = helm(platform);
        cmd.args(["template", "sx", "--kube-version", KUBE_VERSION])
            .arg(chart());
        for s in sets {
            cmd.args(["--set", s]);
        }
        let out = cmd.output()?;
        ensure!(!out.status.success(), "helm accepted {sets:?}");
        Ok(String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let err = refused(&["networkPolicy.enabled=true"])?;
    for field in [
        "/networkPolicy/apiserver/cidrs",
        "/networkPolicy/postgres/to",
        "/networkPolicy/nats/to",
    ] {
        ensure!(err.contains(field), "no {field} in: {err}");
    }
    let err = refused(&["ingress.portal.cors.enabled=true"])?;
    ensure!(err.contains("/ingress/portal/cors/allowOrigins"), "{err}");
    let err = refused(&[
        "ingress.portal.cors.enabled=true",
        "ingress.portal.cors.allowOrigins={https://www.gov.cn/path}",
    ])?;
    ensure!(err.contains("/ingress/portal/cors/allowOrigins/0"), "{err}");
    let err = refused(&["supervision.enabled=true"])?;
    ensure!(err.contains("supervision.stream is required"), "{err}");
    let err = refused(&[
        "supervision.enabled=true",
        "supervision.stream=SX_PROVINCE_210000",
    ])?;
    ensure!(
        err.contains("supervision.database.existingSecret is required"),
        "{err}"
    );
    let err = refused(&["podDisruptionBudget.maxUnavailable=0"])?;
    ensure!(err.contains("/podDisruptionBudget/maxUnavailable"), "{err}");
    // Sign-in: no static key needs an OpenID Connect issuer, and the issuer is https.
    // The tenant service may read every Secret of the copies' namespace: never the release
    // namespace, which holds the operator's keys.
    let err = refused(&["tenantService.credentials.namespace=default"])?;
    ensure!(err.contains("must not be the release namespace"), "{err}");
    let err = refused(&["tenantService.jwt.type=none"])?;
    ensure!(err.contains("/tenantService/oidc/issuer"), "{err}");
    let err = refused(&["tenantService.oidc.issuer=http://idp.example/"])?;
    ensure!(err.contains("/tenantService/oidc/issuer"), "{err}");
    let err = refused(&["tenantService.oidc.groupPrefix=sx:"])?;
    ensure!(err.contains("/tenantService/oidc/groupPrefix"), "{err}");
    Ok(())
}

/// The uid of `kind/name` (namespaced when `namespace` is given).
fn uid(platform: &Platform, kind: &str, name: &str, namespace: Option<&str>) -> Result<String> {
    let mut args = vec!["get", kind, name, "-o", "jsonpath={.metadata.uid}"];
    if let Some(ns) = namespace {
        args.extend(["-n", ns]);
    }
    let uid = kubectl(platform, &args)?;
    ensure!(!uid.is_empty(), "{kind}/{name} has no uid");
    Ok(uid)
}

#[test]
fn install_upgrade_uninstall_keep_the_crds_and_the_data() -> Result<()> {
    let platform = Platform::shared()?;
    let suffix = unique();
    let release = format!("sx-{suffix}");
    let namespace = format!("chart-life-{suffix}");
    // A city of its own (a code in the unused 9x range), so no other test sees its objects.
    let n = u32::from_str_radix(&suffix, 16)?;
    let city = format!("9{}{:02}00", n % 9 + 1, (n / 9) % 89 + 1);
    let city_ns = format!("sx-{city}");
    let _cleanup = Namespaces(
        platform,
        vec![
            namespace.clone(),
            city_ns.clone(),
            format!("{namespace}-tenant-credentials"),
        ],
    );
    // Admission allows one WorkCalendar per year (named cn-<year>), and the shared platform
    // already has them: this release ships none (the calendars render in the lint and
    // dry-run tests).
    let common = [
        "--namespace",
        &namespace,
        "--set",
        "workCalendars.enabled=false",
        "--wait=false",
        "--timeout",
        "2m",
    ];
    let result = (|| -> Result<()> {
        process::run(
            helm(platform)
                .args(["install", &release])
                .arg(chart())
                .args(common)
                .arg("--create-namespace"),
            "helm install",
        )?;
        for crd in [
            "agencies.sanxiang.io",
            "jurisdictions.sanxiang.io",
            "jurisdictionpolicies.sanxiang.io",
            "workcalendars.sanxiang.io",
            "supervisionplans.sanxiang.io",
        ] {
            kubectl(platform, &["get", "crd", crd])?;
        }

        // The data: a city and one of its agencies, created through the installed CRDs.
        let jurisdiction = format!("chart-city-{suffix}");
        platform.kubectl_apply(&format!(
            "apiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata:\n  name: {jurisdiction}\n\
             spec:\n  level: City\n  code: \"{city}\"\n  parent: \"{p}0000\"\n  displayName: 测试市\n",
            p = &city[..2]
        ))?;
        kubectl(platform, &["create", "namespace", &city_ns])?;
        kubectl(
            platform,
            &[
                "label",
                "namespace",
                &city_ns,
                &format!("sanxiang.io/city-code={city}"),
            ],
        )?;
        platform.kubectl_apply(&format!(
            "apiVersion: sanxiang.io/v1alpha1\nkind: Agency\nmetadata:\n  name: market\n  namespace: {city_ns}\n\
             spec:\n  jurisdiction: \"{city}\"\n  displayName: 测试市市场监督管理局\n\
             \x20 creditCode: \"11{city}MB0000001T\"\n  categories: [Penalty]\n\
             \x20 database:\n    deletionPolicy: Retain\n"
        ))?;
        let before = (
            uid(platform, "jurisdiction", &jurisdiction, None)?,
            uid(platform, "agency", "market", Some(&city_ns))?,
        );

        process::run(
            helm(platform)
                .args(["upgrade", &release])
                .arg(chart())
                .args(common)
                .args([
                    "--set",
                    "operator.replicas=3",
                    "--set",
                    "ingress.agencyApi.enabled=true",
                ]),
            "helm upgrade",
        )?;
        let status = process::run(
            helm(platform).args(["status", &release, "--namespace", &namespace]),
            "helm status",
        )?;
        ensure!(
            status.contains("STATUS: deployed") && status.contains("REVISION: 2"),
            "{status}"
        );
        let replicas = kubectl(
            platform,
            &[
                "get",
                "deployment",
                &format!("{release}-sanxiang-operator"),
                "-n",
                &namespace,
                "-o",
                "jsonpath={.spec.replicas}",
            ],
        )?;
        ensure!(
            replicas == "3",
            "operator replicas after upgrade: {replicas}"
        );
        kubectl(
            platform,
            &[
                "get",
                "ingress",
                &format!("{release}-sanxiang-tenant-service-api"),
                "-n",
                &namespace,
            ],
        )?;
        let after_upgrade = (
            uid(platform, "jurisdiction", &jurisdiction, None)?,
            uid(platform, "agency", "market", Some(&city_ns))?,
        );
        ensure!(before == after_upgrade, "the upgrade replaced the data");

        process::run(
            helm(platform).args([
                "uninstall",
                &release,
                "--namespace",
                &namespace,
                "--wait=false",
            ]),
            "helm uninstall",
        )?;
        let left = kubectl(
            platform,
            &["get", "deployments", "-n", &namespace, "-o", "name"],
        )?;
        ensure!(
            left.trim().is_empty(),
            "deployments left after uninstall: {left}"
        );
        for crd in ["agencies.sanxiang.io", "jurisdictions.sanxiang.io"] {
            kubectl(platform, &["get", "crd", crd])?;
        }
        let after_uninstall = (
            uid(platform, "jurisdiction", &jurisdiction, None)?,
            uid(platform, "agency", "market", Some(&city_ns))?,
        );
        ensure!(before == after_uninstall, "the uninstall removed the data");
        let spec = kubectl(
            platform,
            &[
                "get",
                "agency",
                "market",
                "-n",
                &city_ns,
                "-o",
                "jsonpath={.spec.creditCode}",
            ],
        )?;
        ensure!(
            spec == format!("11{city}MB0000001T"),
            "agency spec after uninstall: {spec}"
        );

        // Installing again on top of the surviving data works.
        process::run(
            helm(platform)
                .args(["install", &release])
                .arg(chart())
                .args(common),
            "helm install (again)",
        )?;
        process::run(
            helm(platform).args([
                "uninstall",
                &release,
                "--namespace",
                &namespace,
                "--wait=false",
            ]),
            "helm uninstall (again)",
        )?;
        kubectl(
            platform,
            &["delete", "agency", "market", "-n", &city_ns, "--wait=false"],
        )?;
        kubectl(
            platform,
            &["delete", "jurisdiction", &jurisdiction, "--wait=false"],
        )?;
        Ok(())
    })();
    if result.is_err() {
        let _ = helm(platform)
            .args([
                "uninstall",
                &release,
                "--namespace",
                &namespace,
                "--wait=false",
            ])
            .output();
    }
    result
}
