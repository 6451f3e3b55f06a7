//! The whole chain, with real programs only: the operator provisions an agency and its
//! PrometheusRule; the tenant service (with a clock set weeks ahead) holds an issued but
//! undisclosed decision; a real Prometheus scrapes both with the operator's rules — and
//! `SanxiangDisclosureOverdue` fires with the agency's labels.

use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use sanxiang_testkit::Platform;
use sanxiang_testkit::apps::AppBinaries;
use sanxiang_testkit::operator::{OperatorProcess, workspace_root};
use sanxiang_testkit::platform::process::{http_get, wait_until};

mod support;
use support::{secret_value, start_prometheus, start_tenant_service};

#[tokio::test]
async fn an_undisclosed_decision_fires_the_agencys_alert_in_prometheus() -> Result<()> {
    let platform = Platform::shared()?;
    let bins = AppBinaries::from_target_dir();
    for bin in [&bins.operator, &bins.tenant_service] {
        anyhow::ensure!(
            bin.exists(),
            "{} missing: run `cargo build --bins`",
            bin.display()
        );
    }
    platform.install_sanxiang_crds()?;
    for year in ["2025", "2026"] {
        let path = workspace_root().join(format!("e2e/fixtures/calendars/{year}.yaml"));
        platform.kubectl_apply(&fs::read_to_string(path)?)?;
    }
    let operator = OperatorProcess::start(platform, &bins.operator, "alerts")?;

    // A random city so reruns never collide; one county agency.
    let n: u32 = rand::random_range(1..=89);
    let (province, city, county) = (
        "650000".to_string(),
        format!("65{n:02}00"),
        format!("65{n:02}01"),
    );
    let ns = format!("sx-{city}");
    platform.kubectl_apply(&format!(
        "apiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata: {{name: j-{province}}}\nspec: {{level: Province, code: \"{province}\", displayName: 新疆}}\n---\n\
         apiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata: {{name: j-{city}}}\nspec: {{level: City, code: \"{city}\", parent: \"{province}\", displayName: 测试市}}\n---\n\
         apiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata: {{name: j-{county}}}\nspec: {{level: County, code: \"{county}\", parent: \"{city}\", displayName: 测试县}}\n"
    ))?;
    wait_until(
        "namespace",
        &operator.log,
        Duration::from_secs(30),
        None,
        || {
            Ok(platform
                .kubectl()
                .args(["get", "ns", &ns])
                .output()?
                .status
                .success())
        },
    )?;
    let body = format!("11{county}MA{n:07}");
    let code = format!(
        "{body}{}",
        sanxiang_crds::credit_code::check_character(&body).unwrap()
    );
    // Retain: the agency will hold a decision, and destroying records would wait for a
    // second provincial IT member's confirmation (operator/tests/deletion.rs).
    platform.kubectl_apply(&format!(
        "apiVersion: sanxiang.io/v1alpha1\nkind: Agency\nmetadata: {{name: market, namespace: {ns}}}\n\
         spec:\n  jurisdiction: \"{county}\"\n  displayName: 测试县市场监督管理局\n  creditCode: \"{code}\"\n  categories: [Penalty]\n  database: {{deletionPolicy: Retain}}\n"
    ))?;
    let out = platform
        .kubectl()
        .args([
            "wait",
            "--for=condition=Ready",
            "--timeout=90s",
            "-n",
            &ns,
            "agency/market",
        ])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "agency not Ready: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The tenant service, configured from the operator's Secret.
    let dir = tempfile::tempdir()?;
    let tenants = dir.path().join("tenants.yaml");
    fs::write(
        &tenants,
        serde_yaml::to_string(&serde_json::json!([{
            "agency": "market", "province": province, "city": city, "county": county,
            "databaseUrl": secret_value(platform, &ns, "market-db", "url")?,
            "subjectPrefix": format!("sx.{province}.{city}.{county}.market"),
        }]))?,
    )?;
    let jwt_secret = dir.path().join("jwt.key");
    fs::write(&jwt_secret, "e2e-alerts-secret-0123456789")?;
    // The service's clock is pinned inside a fixture calendar year, weeks after the
    // decision below: its due date is computed from the State Council's 2026 notice
    // whatever today's real date (a real "today" near December would reach a year that
    // has no WorkCalendar yet, and the due date would rightly stay pending).
    let decided_on = "2026-03-02";
    let service_now = "2026-04-13T02:00:00Z";
    let service = start_tenant_service(
        platform,
        &bins,
        &tenants,
        &jwt_secret,
        service_now,
        "tenant-service-alerts",
    )?;

    // An officer issues a penalty decision and never discloses it, under the agency's
    // matter list (the justice bureau of its county approves it).
    service
        .issue_undisclosed_decision(
            b"e2e-alerts-secret-0123456789",
            "market",
            (&province, &city, &county),
            &code,
            "测市监罚〔2026〕1号",
            decided_on,
        )
        .await?;

    // A real Prometheus with the rules the operator generated.
    let prom_dir = dir.path().join("prometheus");
    let (_prometheus, prom_port, prom_log) = start_prometheus(
        platform,
        &prom_dir,
        operator.admin_port,
        service.admin_port,
        None,
        "prometheus-alerts",
    )?;

    let firing = wait_for_alert(
        prom_port,
        &prom_log,
        "SanxiangDisclosureOverdue",
        "market",
        &ns,
    )?;
    assert_eq!(firing["labels"]["province"], province);
    assert_eq!(firing["labels"]["city"], city);
    assert_eq!(firing["labels"]["county"], county);
    assert_eq!(firing["labels"]["severity"], "warning");
    assert!(
        firing["annotations"]["runbook_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/SanxiangDisclosureOverdue.md")),
        "{firing}"
    );

    let out = platform
        .kubectl()
        .args(["delete", "agency", "-n", &ns, "market", "--timeout=60s"])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = platform
        .kubectl()
        .args([
            "delete",
            "jurisdiction",
            "--wait=false",
            &format!("j-{county}"),
            &format!("j-{city}"),
        ])
        .output();
    Ok(())
}

/// Polls Prometheus' /api/v1/alerts until `alert` fires for `agency` in `namespace`.
fn wait_for_alert(
    port: u16,
    log: &Path,
    alert: &str,
    agency: &str,
    namespace: &str,
) -> Result<serde_json::Value> {
    let mut found = None;
    wait_until(
        &format!("alert {alert}"),
        log,
        Duration::from_secs(90),
        None,
        || {
            let (status, body) = http_get(port, "/api/v1/alerts")?;
            if status != 200 {
                return Ok(false);
            }
            let v: serde_json::Value = serde_json::from_str(&body)?;
            found = v["data"]["alerts"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| {
                    a["labels"]["alertname"] == alert
                        && a["labels"]["agency"] == agency
                        && a["labels"]["namespace"] == namespace
                        && a["state"] == "firing"
                })
                .cloned();
            Ok(found.is_some())
        },
    )?;
    Ok(found.expect("found"))
}
