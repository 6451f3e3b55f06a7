//! The real binary: configured by flags and environment, tenants from a file, metrics on
//! the admin port, clean exit on SIGTERM.

mod common;

use common::*;
use sanxiang_tenant_service::auth::{Claims, Role};
use sanxiang_testkit::Platform;
use sanxiang_testkit::wait::{eventually, eventually_some};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Kills the child if the test fails before it exits.
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[tokio::test]
async fn binary_serves_tenants_from_a_file_with_a_test_clock() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    let t = TestTenant::new(platform, "binary", "210100").await?;
    let dir = tempfile::tempdir()?;
    let tenants = dir.path().join("tenants.yaml");
    std::fs::write(
        &tenants,
        serde_yaml::to_string(&serde_json::json!({ "tenants": [t.tenant] }))?,
    )?;
    let secret = dir.path().join("jwt");
    std::fs::write(&secret, SECRET)?;
    let (api, admin) = (free_port()?, free_port()?);
    let mut child = Guard(
        Command::new(env!("CARGO_BIN_EXE_sanxiang-tenant-service"))
            .arg(format!("--listen=127.0.0.1:{api}"))
            .arg(format!("--admin-listen=127.0.0.1:{admin}"))
            .arg(format!("--tenants-file={}", tenants.display()))
            .arg(format!("--calendar-dir={}", calendar_dir().display()))
            .arg(format!("--jwt-hs256-secret-file={}", secret.display()))
            .arg("--scan-interval-seconds=1")
            .env("SANXIANG_TEST_NOW", "2026-03-20T02:00:00Z")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let http = reqwest::Client::new();
    eventually("binary ready", Duration::from_secs(30), || async {
        let r = http
            .get(format!("http://127.0.0.1:{admin}/ready"))
            .send()
            .await?;
        Ok(r.status().is_success())
    })
    .await?;
    // The agency's matter list first: no decision without one.
    publish_matter_list(api, &t.tenant, None, None).await?;
    // Issue a penalty decided on 2026-03-02 (due 2026-03-11): overdue at the test clock.
    let token = token_for(Claims {
        sub: "officer-1".into(),
        agency: Some(t.tenant.agency.clone()),
        role: Role::Officer,
        city: None,
        province: None,
        county: None,
        exp: (chrono::Utc::now().timestamp() + 600) as u64,
        nbf: None,
    });
    let base = format!("http://127.0.0.1:{api}/api/v1/agencies/{}", t.tenant.agency);
    let v: serde_json::Value = http
        .post(format!("{base}/decisions"))
        .bearer_auth(&token)
        .json(&penalty("沈市监罚〔2026〕99号"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = v["id"].as_str().unwrap();
    http.post(format!("{base}/decisions/{id}/issue"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"decidedOn": "2026-03-02"}))
        .send()
        .await?
        .error_for_status()?;
    let page = eventually_some("overdue gauge at 1", Duration::from_secs(30), || async {
        let page = http
            .get(format!("http://127.0.0.1:{admin}/metrics"))
            .send()
            .await?
            .text()
            .await?;
        anyhow::ensure!(
            metric(&page, "sanxiang_disclosures_overdue", &t.tenant.agency) == Some(1.0),
            "metrics:\n{page}"
        );
        Ok(Some(page))
    })
    .await?;
    assert!(page.contains("sanxiang_http_requests_total{route=\"/api/v1/agencies/{agency}/decisions\",status=\"201\"} 1"), "{page}");
    // SIGTERM: a clean exit.
    Command::new("kill")
        .arg("-TERM")
        .arg(child.0.id().to_string())
        .status()?;
    let status = eventually_some("binary exited on SIGTERM", Duration::from_secs(20), || {
        let exited = child.0.try_wait();
        async move { Ok(exited?) }
    })
    .await?;
    assert!(status.success(), "{status}");
    t.scope.cleanup().await?;
    Ok(())
}
