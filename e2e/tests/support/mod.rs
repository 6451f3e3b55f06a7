//! What the alert tests share: processes killed on drop, a tenant's database URL read from
//! the operator's Secret, the tenant service and Prometheus started the way the local
//! platform starts them, on free ports, logging into the platform's log directory, an
//! agency's matter list published on that tenant service, and an undisclosed decision
//! issued there (what the overdue-disclosure alert is about).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Result;
use sanxiang_testkit::apps::AppBinaries;
use sanxiang_testkit::operator::workspace_root;
use sanxiang_testkit::platform::process::{free_port, http_get, wait_until};
use sanxiang_testkit::{Platform, tenant_api};

/// Kills a child process when dropped (test failure included).
pub struct Guard(pub std::process::Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One key of a Secret, decoded.
pub fn secret_value(platform: &Platform, ns: &str, name: &str, key: &str) -> Result<String> {
    let out = platform
        .kubectl()
        .args(["get", "secret", "-n", ns, name, "-o"])
        .arg(format!("jsonpath={{.data.{key}}}"))
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    use base64::Engine as _;
    Ok(String::from_utf8(
        base64::engine::general_purpose::STANDARD.decode(out.stdout.trim_ascii())?,
    )?)
}

/// A running tenant service and its ports.
pub struct TenantService {
    pub api_port: u16,
    pub admin_port: u16,
    _process: Guard,
}

impl TenantService {
    /// Publishes the sample matter list of `agency` (county agency: its county's justice
    /// bureau approves), which actions and decisions then name a matter of.
    pub async fn publish_matters(
        &self,
        secret: &[u8],
        agency: &str,
        (province, city, county): (&str, &str, &str),
    ) -> Result<()> {
        let (port, secret, agency) = (self.api_port, secret.to_vec(), agency.to_string());
        let place = (province.to_string(), city.to_string(), county.to_string());
        tokio::task::spawn_blocking(move || {
            let (province, city, county) = &place;
            let place = tenant_api::Place {
                province,
                city,
                county,
            };
            tenant_api::publish_matters(port, &secret, &agency, place, None, None)
        })
        .await??;
        Ok(())
    }
}

impl TenantService {
    /// Publishes `agency`'s matter list (see [`Self::publish_matters`]), then, as one of
    /// its officers (HS256 token signed with `secret`), issues a penalty decision
    /// `document_number` decided on `decided_on` (YYYY-MM-DD) and never discloses it.
    pub async fn issue_undisclosed_decision(
        &self,
        secret: &[u8],
        agency: &str,
        place: (&str, &str, &str),
        party_code: &str,
        document_number: &str,
        decided_on: &str,
    ) -> Result<()> {
        use anyhow::Context as _;
        self.publish_matters(secret, agency, place).await?;
        let token = sanxiang_testkit::token::hs256(
            secret,
            &serde_json::json!({"sub": "officer-1", "agency": agency, "role": "officer"}),
        )?;
        let http = reqwest::Client::new();
        let base = format!(
            "http://127.0.0.1:{}/api/v1/agencies/{agency}",
            self.api_port
        );
        let created: serde_json::Value = http
            .post(format!("{base}/decisions"))
            .bearer_auth(&token)
            .json(&serde_json::json!({
                "documentNumber": document_number, "category": "penalty", "procedure": "general",
                "matter": tenant_api::sample_matter("penalty"),
                "party": {"kind": "organisation", "name": "某某商贸有限公司", "idNumber": party_code},
                "facts": "销售过期食品", "legalBasis": "《食品安全法》第一百二十四条",
                "conclusion": "罚款五万元"
            }))
            .send()
            .await?
            .error_for_status()
            .context("creating the decision")?
            .json()
            .await?;
        let id = created["id"].as_str().context("decision id")?;
        http.post(format!("{base}/decisions/{id}/issue"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"decidedOn": decided_on}))
            .send()
            .await?
            .error_for_status()
            .context("issuing the decision")?;
        Ok(())
    }
}

/// Starts the tenant-service binary on `tenants_file` with the fixture calendars, HS256
/// tokens signed with `jwt_secret`, its clock pinned at `now` (RFC 3339) and a one-second
/// scan, and waits until it is live.
pub fn start_tenant_service(
    platform: &Platform,
    bins: &AppBinaries,
    tenants_file: &Path,
    jwt_secret: &Path,
    now: &str,
    log_name: &str,
) -> Result<TenantService> {
    let (api_port, admin_port) = (free_port()?, free_port()?);
    let log = platform.log(log_name);
    let process = Guard(
        Command::new(&bins.tenant_service)
            .arg(format!("--listen=127.0.0.1:{api_port}"))
            .arg(format!("--admin-listen=127.0.0.1:{admin_port}"))
            .arg(format!("--tenants-file={}", tenants_file.display()))
            .arg(format!(
                "--calendar-dir={}",
                workspace_root().join("e2e/fixtures/calendars").display()
            ))
            .arg(format!("--jwt-hs256-secret-file={}", jwt_secret.display()))
            .arg(format!("--now={now}"))
            .arg("--scan-interval-seconds=1")
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log)?)
            .spawn()?,
    );
    wait_until(
        "tenant service",
        &log,
        Duration::from_secs(30),
        Some(process.0.id()),
        || {
            Ok(http_get(admin_port, "/live")
                .map(|(s, _)| s == 200)
                .unwrap_or(false))
        },
    )?;
    Ok(TenantService {
        api_port,
        admin_port,
        _process: process,
    })
}

/// Starts Prometheus in `dir` evaluating the operator's rules every second (its
/// PrometheusRules, written into `dir/rules` first, as the local platform's rules sync
/// does), scraping the operator's and the tenant service's admin ports, and sending to an
/// Alertmanager when one is given; returns the process, its port and its log.
pub fn start_prometheus(
    platform: &Platform,
    dir: &Path,
    operator_admin_port: u16,
    tenant_admin_port: u16,
    alertmanager_port: Option<u16>,
    log_name: &str,
) -> Result<(Guard, u16, PathBuf)> {
    fs::create_dir_all(dir.join("rules"))?;
    sanxiang_testkit::rules_sync::sync_rules_once(platform, &dir.join("rules"))?;
    let port = free_port()?;
    let log = platform.log(log_name);
    let alerting = alertmanager_port.map_or(String::new(), |am| {
        format!(
            "alerting: {{alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{am}']}}]}}]}}\n"
        )
    });
    fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: ['{}/*.yaml']\n{alerting}\
             scrape_configs:\n- job_name: sanxiang-operator\n  static_configs: [{{targets: ['127.0.0.1:{operator_admin_port}']}}]\n\
             - job_name: sanxiang-tenant-service\n  static_configs: [{{targets: ['127.0.0.1:{tenant_admin_port}']}}]\n",
            dir.join("rules").display(),
        ),
    )?;
    let process = Guard(
        Command::new(&platform.tools.prometheus)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log)?)
            .spawn()?,
    );
    Ok((process, port, log))
}
