//! A CRD version bump, carried out as docs/crd-versions.md describes it, on a private
//! kube-apiserver (the platform's etcd under its own prefix: concurrent tests keep the
//! shared apiserver's v1alpha1-only CRDs):
//!
//! - release N: the committed v1alpha1 CRDs with a province, a city, an agency (Ready
//!   through the real operator), a supervision plan and the calendars, stored in etcd as
//!   v1alpha1 (read back from etcd itself);
//! - N+1 and N+2: CRDs generated here from the committed YAML, serving v1alpha1 and
//!   v1beta1 (same schema, conversion None), v1beta1 the storage version of N+2.
//!   `storedVersions` lists both, dropping v1alpha1 is refused, and the running operator
//!   still brings a new agency to Ready;
//! - a new operator, with the chart's RBAC and admission policies (its ServiceAccount's
//!   identity), migrates on becoming leader: every object is in etcd as v1beta1,
//!   `storedVersions` is `[v1beta1]`, every object reads the same in both versions,
//!   dropping v1alpha1 is accepted (server-side dry run), and a spec change is reconciled.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use base64::Engine as _;
use kube::Api;
use kube::api::{Patch, PatchParams};
use sanxiang_crds::agency::Agency;
use sanxiang_crds::conditions::{condition_type, find_condition};
use sanxiang_testkit::Platform;
use sanxiang_testkit::apps::AppBinaries;
use sanxiang_testkit::operator::{OperatorProcess, kubectl_apply_with, workspace_root};
use sanxiang_testkit::platform::private_apiserver::PrivateApiserver;
use sanxiang_testkit::platform::process;
use sanxiang_testkit::wait::{eventually, eventually_some};
use serde_json::{Value, json};

const PLURALS: [&str; 4] = [
    "jurisdictions",
    "agencies",
    "supervisionplans",
    "workcalendars",
];

/// The committed CRDs, as a province applies them.
fn committed_crds() -> Result<Vec<Value>> {
    PLURALS
        .iter()
        .map(|plural| {
            let path = workspace_root().join(format!("crds/yaml/{plural}.sanxiang.io.yaml"));
            Ok(serde_yaml::from_str(&std::fs::read_to_string(&path)?)?)
        })
        .collect()
}

/// The committed CRDs with `versions` v1alpha1 (served when `old_served`) and v1beta1
/// (same schema); `storage` names the storage version. `None` leaves v1alpha1 out.
fn bumped(storage: &str, old: Option<bool>) -> Result<String> {
    let mut docs = Vec::new();
    for mut crd in committed_crds()? {
        let versions = crd["spec"]["versions"].as_array_mut().context("versions")?;
        ensure!(
            versions.len() == 1 && versions[0]["name"] == "v1alpha1",
            "{versions:?}"
        );
        let mut next = versions[0].clone();
        next["name"] = json!("v1beta1");
        next["storage"] = json!(storage == "v1beta1");
        versions[0]["storage"] = json!(storage == "v1alpha1");
        match old {
            Some(served) => versions[0]["served"] = json!(served),
            None => versions.clear(),
        }
        versions.push(next);
        docs.push(serde_yaml::to_string(&crd)?);
    }
    Ok(docs.join("---\n"))
}

/// Applies CRDs as the upgrade procedure does (server-side, taking over the fields),
/// or only tries them (`dry_run`, server-side); the error holds the API server's message.
fn apply_crds(apiserver: &PrivateApiserver, yaml: &str, dry_run: bool) -> Result<String> {
    use std::io::Write as _;
    let mut cmd = apiserver.kubectl();
    cmd.args(["apply", "--server-side", "--force-conflicts", "-f", "-"]);
    if dry_run {
        cmd.arg("--dry-run=server");
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(yaml.as_bytes())?;
    let out = child.wait_with_output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn kubectl(apiserver: &PrivateApiserver, args: &[&str]) -> Result<String> {
    process::run(
        apiserver.kubectl().args(args),
        &format!("kubectl {}", args.join(" ")),
    )
}

/// `storedVersions` of each CRD.
fn stored_versions(apiserver: &PrivateApiserver) -> Result<Vec<String>> {
    PLURALS
        .iter()
        .map(|p| {
            kubectl(
                apiserver,
                &[
                    "get",
                    "crd",
                    &format!("{p}.sanxiang.io"),
                    "-o",
                    "jsonpath={.status.storedVersions}",
                ],
            )
        })
        .collect()
}

/// The apiVersion an object is stored with, read from etcd (its gRPC gateway).
async fn stored_as(
    platform: &Platform,
    apiserver: &PrivateApiserver,
    path: &str,
) -> Result<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = format!("{}/sanxiang.io/{path}", apiserver.etcd_prefix);
    let reply: Value = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/v3/kv/range",
            platform.ports.etcd_client
        ))
        .json(&json!({"key": b64.encode(&key)}))
        .send()
        .await?
        .json()
        .await?;
    let value = reply["kvs"][0]["value"]
        .as_str()
        .with_context(|| format!("no key {key} in etcd: {reply}"))?;
    let object: Value = serde_json::from_slice(&b64.decode(value)?)?;
    Ok(object["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

async fn wait_ready(api: &Api<Agency>, name: &str) -> Result<Agency> {
    eventually_some(
        &format!("agency {name} Ready at its generation"),
        Duration::from_secs(90),
        || async {
            let a = api.get(name).await?;
            if let Some(s) = &a.status
                && s.observed_generation == a.metadata.generation
                && find_condition(&s.conditions, condition_type::READY)
                    .is_some_and(|c| c.status == "True")
            {
                return Ok(Some(a));
            }
            anyhow::bail!("status: {:#?}", a.status)
        },
    )
    .await
}

fn agency_yaml(name: &str, ns: &str, city: &str, serial: u32) -> Result<String> {
    let first17 = format!("11{city}{serial:09}");
    let check = sanxiang_crds::credit_code::check_character(&first17).context("credit code")?;
    Ok(format!(
        "apiVersion: sanxiang.io/v1alpha1\nkind: Agency\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  jurisdiction: \"{city}\"\n  displayName: \"{name} 执法局\"\n  creditCode: \"{first17}{check}\"\n  categories: [Licensing, Penalty]\n  database:\n    deletionPolicy: Retain\n"
    ))
}

#[tokio::test]
async fn a_crd_version_bump_is_migrated_while_the_operator_keeps_reconciling() -> Result<()> {
    let platform = Platform::shared()?;
    let bins = AppBinaries::from_target_dir();
    let n: u32 = rand::random();
    let suffix = format!("{:06x}", n & 0xff_ffff);
    let apiserver = platform.private_apiserver(&format!("bump-{suffix}"))?;
    let client = apiserver.client().await?;

    // ---- release N: the committed CRDs, the chart's admission policies, the data --------
    kubectl(
        &apiserver,
        &[
            "apply",
            "--server-side",
            "-f",
            &workspace_root().join("crds/yaml").display().to_string(),
        ],
    )?;
    let establish = |apiserver: &PrivateApiserver| -> Result<String> {
        let mut args = vec!["wait", "--for=condition=Established", "--timeout=60s"];
        let names: Vec<String> = PLURALS
            .iter()
            .map(|p| format!("crd/{p}.sanxiang.io"))
            .collect();
        args.extend(names.iter().map(String::as_str));
        kubectl(apiserver, &args)
    };
    establish(&apiserver)?;
    // The operator identity of a release `sanxiang` in namespace `default` (as rendered by
    // render_chart_template), with the Lease name the second operator below uses.
    let label = format!("bump-{suffix}");
    let lease = format!("sanxiang-operator-{label}-{}", std::process::id());
    for template in [
        "templates/admission-policy.yaml",
        "templates/admission-deletion.yaml",
        "templates/admission-plans.yaml",
    ] {
        kubectl_apply_with(
            &apiserver.kubectl(),
            &platform.render_chart_template(template)?,
        )?;
    }
    let rbac = process::run(
        std::process::Command::new(&platform.tools.helm)
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
    )?;
    kubectl_apply_with(&apiserver.kubectl(), &rbac)?;
    for year in ["2025", "2026"] {
        let path = workspace_root().join(format!("e2e/fixtures/calendars/{year}.yaml"));
        kubectl_apply_with(&apiserver.kubectl(), &std::fs::read_to_string(path)?)?;
    }
    // Codes no shared-apiserver test draws (province 9x), agency names of this run only:
    // the operators share PostgreSQL and NATS with the other tests.
    let p = 90 + n % 10;
    let (province, city) = (format!("{p}0000"), format!("{p}{:02}00", 1 + n / 10 % 89));
    let ns = format!("sx-{city}");
    kubectl_apply_with(
        &apiserver.kubectl(),
        &format!(
            "apiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata:\n  name: j-{province}\nspec:\n  level: Province\n  code: \"{province}\"\n  displayName: \"测试 {province}\"\n\
             ---\napiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata:\n  name: j-{city}\nspec:\n  level: City\n  code: \"{city}\"\n  parent: \"{province}\"\n  displayName: \"测试 {city}\"\n"
        ),
    )?;
    let operator_args = vec!["--orphan-sweep-seconds=0".to_string()];
    // Release N's operator, as the platform runs it (cluster admin).
    let mut first = OperatorProcess::start_with(
        platform,
        &bins.operator,
        &format!("{label}-n"),
        &operator_args,
        Some(&apiserver.kubeconfig),
    )?;
    let agencies: Api<Agency> = Api::namespaced(client.clone(), &ns);
    eventually(
        &format!("namespace {ns} created"),
        Duration::from_secs(30),
        || async { kubectl(&apiserver, &["get", "namespace", &ns]).map(|_| true) },
    )
    .await?;
    let (old_agency, new_agency) = (format!("bump-old-{suffix}"), format!("bump-new-{suffix}"));
    kubectl_apply_with(
        &apiserver.kubectl(),
        &agency_yaml(&old_agency, &ns, &city, 1)?,
    )?;
    kubectl_apply_with(
        &apiserver.kubectl(),
        &format!(
            "apiVersion: sanxiang.io/v1alpha1\nkind: SupervisionPlan\nmetadata:\n  name: monthly-report\n  namespace: {ns}\nspec:\n  title: 行政执法三项制度月报\n  issuedBy: \"{city}\"\n  milestones:\n  - id: progress-report\n    task: 每月20日前报送工作进展\n    responsible:\n      jurisdictions: [\"{city}\"]\n    schedule:\n      monthly:\n        day: 20\n"
        ),
    )?;
    wait_ready(&agencies, &old_agency).await?;
    let objects = [
        format!("jurisdictions/j-{city}"),
        format!("agencies/{ns}/{old_agency}"),
        format!("supervisionplans/{ns}/monthly-report"),
        "workcalendars/cn-2026".to_string(),
    ];
    for path in &objects {
        let v = stored_as(platform, &apiserver, path).await?;
        ensure!(
            v == "sanxiang.io/v1alpha1",
            "{path} stored as {v} at release N"
        );
    }

    // ---- N+1 (v1beta1 served) and N+2 (v1beta1 the storage version) -------------------
    apply_crds(&apiserver, &bumped("v1alpha1", Some(true))?, false)?;
    apply_crds(&apiserver, &bumped("v1beta1", Some(true))?, false)?;
    establish(&apiserver)?;
    for v in stored_versions(&apiserver)? {
        ensure!(
            v == r#"["v1alpha1","v1beta1"]"#,
            "storedVersions after N+2: {v}"
        );
    }
    let refused = apply_crds(&apiserver, &bumped("v1beta1", None)?, true)
        .err()
        .context("dropping v1alpha1 while objects are stored in it was accepted")?;
    ensure!(refused.to_string().contains("storedVersions"), "{refused}");
    // Release N's operator (still watching v1alpha1) keeps working: a new agency.
    kubectl_apply_with(
        &apiserver.kubectl(),
        &agency_yaml(&new_agency, &ns, &city, 2)?,
    )?;
    wait_ready(&agencies, &new_agency).await?;
    let v = stored_as(platform, &apiserver, &format!("agencies/{ns}/{new_agency}")).await?;
    ensure!(
        v == "sanxiang.io/v1beta1",
        "a new agency stored as {v} under N+2"
    );
    let v = stored_as(platform, &apiserver, &objects[1]).await?;
    ensure!(
        v == "sanxiang.io/v1alpha1",
        "the old agency rewritten before the migration: {v}"
    );

    // ---- a new operator, with the chart's identity, migrates on becoming leader --------
    first.child.kill()?;
    first.child.wait()?;
    let identity = apiserver.kubeconfig_for(
        "system:serviceaccount:default:sanxiang-operator",
        Some("system:serviceaccounts"),
    )?;
    let second = OperatorProcess::start_with(
        platform,
        &bins.operator,
        &label,
        &operator_args,
        Some(&identity),
    )?;
    eventually(
        "storedVersions trimmed",
        Duration::from_secs(60),
        || async {
            let versions = stored_versions(&apiserver)?;
            ensure!(
                versions.iter().all(|v| v == r#"["v1beta1"]"#),
                "storedVersions {versions:?}; operator log:\n{}",
                std::fs::read_to_string(&second.log).unwrap_or_default()
            );
            Ok(true)
        },
    )
    .await?;
    for path in &objects {
        let v = stored_as(platform, &apiserver, path).await?;
        ensure!(
            v == "sanxiang.io/v1beta1",
            "{path} stored as {v} after the migration"
        );
    }
    for plural in PLURALS {
        let read = |version: &str| -> Result<Vec<Value>> {
            let list: Value = serde_json::from_str(&kubectl(
                &apiserver,
                &[
                    "get",
                    &format!("{plural}.{version}.sanxiang.io"),
                    "-A",
                    "-o",
                    "json",
                ],
            )?)?;
            Ok(list["items"]
                .as_array()
                .context("items")?
                .iter()
                .map(|o| json!([o["metadata"]["uid"], o["spec"]]))
                .collect())
        };
        let (alpha, beta) = (read("v1alpha1")?, read("v1beta1")?);
        ensure!(
            !alpha.is_empty() && alpha == beta,
            "{plural} differ between the versions"
        );
    }
    apply_crds(&apiserver, &bumped("v1beta1", None)?, true)
        .context("dropping v1alpha1 after the migration")?;

    // The migrating operator reconciles a change of the migrated agency.
    agencies
        .patch(
            &old_agency,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"displayName": "迁移后 执法局"}})),
        )
        .await?;
    let agency = wait_ready(&agencies, &old_agency).await?;
    ensure!(
        agency.metadata.generation == Some(2),
        "generation {:?}",
        agency.metadata.generation
    );
    let log = std::fs::read_to_string(&second.log)?;
    ensure!(
        log.contains("storage version migrated"),
        "no migration in the log:\n{log}"
    );
    ensure!(
        !log.contains("forbidden"),
        "the chart's operator identity was refused:\n{log}"
    );
    Ok(())
}
