//! `sanxiang-local up --apps`: the applications on top of the local platform — the
//! operator, the tenant service, the disclosure platform, the supervision workspace,
//! Prometheus with the rules the operator generates, Alertmanager, and the sample
//! province (Liaoning). Each runs detached and is tracked in `platform.json` like the
//! infrastructure, so `sanxiang-local down` stops everything.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use sanxiang_testkit::Platform;
use sanxiang_testkit::apps::{
    AppBinaries, ensure_supervision_database, name_needle, supervision_postgres_url,
};
use sanxiang_testkit::operator::{operator_args, workspace_root};
use sanxiang_testkit::platform::process::{self, Spawn, http_get, wait_until};

use crate::summary::SAMPLE_CALENDAR_YEARS;

/// Where the operator keeps the copies of the database Secrets the tenant service reads:
/// the chart's default for a release in namespace `default`, as
/// [`Platform::render_chart_template`] renders it.
pub const TENANT_CREDENTIALS_NAMESPACE: &str = "default-tenant-credentials";

/// Applies the chart's namespace and RBAC for the tenant service and returns a kubeconfig
/// of its ServiceAccount's identity (release `sanxiang` in namespace `default`).
fn tenant_service_identity(p: &Platform) -> Result<PathBuf> {
    for template in [
        "templates/tenant-credentials-namespace.yaml",
        "templates/rbac-tenant-service.yaml",
    ] {
        p.kubectl_apply(&p.render_chart_template(template)?)?;
    }
    p.kubeconfig_for(
        "system:serviceaccount:default:sanxiang-tenant-service",
        Some("system:serviceaccounts"),
    )
}

/// Ports of the applications, chosen once and kept in `apps.json`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct AppPorts {
    pub operator_admin: u16,
    pub tenant_api: u16,
    pub tenant_admin: u16,
    pub prometheus: u16,
    /// The province's disclosure portal and its admin port (0 in an older apps.json: chosen
    /// on the next `up`).
    #[serde(default)]
    pub portal: u16,
    #[serde(default)]
    pub portal_admin: u16,
    /// Alertmanager (0 in an older apps.json: chosen on the next `up`).
    #[serde(default)]
    pub alertmanager: u16,
    /// The supervision workspace and its admin port (0 in an older apps.json: chosen on
    /// the next `up`).
    #[serde(default)]
    pub supervision: u16,
    #[serde(default)]
    pub supervision_admin: u16,
}

impl AppPorts {
    pub fn load_or_create(p: &Platform) -> Result<Self> {
        let path = p.state_dir.join("apps.json");
        if let Ok(text) = fs::read_to_string(&path) {
            let mut ports: Self = serde_json::from_str(&text)?;
            if ports.portal == 0 || ports.alertmanager == 0 || ports.supervision == 0 {
                if ports.supervision == 0 {
                    ports.supervision = process::free_port()?;
                    ports.supervision_admin = process::free_port()?;
                }
                if ports.portal == 0 {
                    ports.portal = process::free_port()?;
                    ports.portal_admin = process::free_port()?;
                }
                if ports.alertmanager == 0 {
                    ports.alertmanager = process::free_port()?;
                }
                fs::write(&path, serde_json::to_string_pretty(&ports)?)?;
            }
            return Ok(ports);
        }
        let ports = Self {
            operator_admin: process::free_port()?,
            tenant_api: process::free_port()?,
            tenant_admin: process::free_port()?,
            prometheus: process::free_port()?,
            portal: process::free_port()?,
            portal_admin: process::free_port()?,
            alertmanager: process::free_port()?,
            supervision: process::free_port()?,
            supervision_admin: process::free_port()?,
        };
        fs::write(&path, serde_json::to_string_pretty(&ports)?)?;
        Ok(ports)
    }
}

/// Starts what is not running yet; returns the platform with the apps' pids recorded.
pub fn up(mut p: Platform, bins: &AppBinaries, progress: &mut dyn FnMut(&str)) -> Result<Platform> {
    for (name, bin) in [
        ("operator", &bins.operator),
        ("tenant service", &bins.tenant_service),
        ("disclosure platform", &bins.disclosure),
        ("supervision workspace", &bins.supervision),
    ] {
        anyhow::ensure!(
            bin.exists(),
            "the {name} binary {} is missing: run `cargo build --bins` first (make up does)",
            bin.display()
        );
    }
    let ports = AppPorts::load_or_create(&p)?;
    p.install_sanxiang_crds()?;
    // The ecosystem CRDs again: a platform started before one was added lacks it.
    process::run(
        p.kubectl()
            .args(["apply", "--server-side", "--force-conflicts", "-f"])
            .arg(workspace_root().join("e2e/fixtures/ecosystem-crds")),
        "installing ecosystem CRDs",
    )?;
    for year in SAMPLE_CALENDAR_YEARS {
        let path = workspace_root().join(format!("e2e/fixtures/calendars/{year}.yaml"));
        p.kubectl_apply(&fs::read_to_string(path)?)?;
    }

    let mut start =
        |p: &mut Platform, name: &str, spawn: Spawn, ready: &dyn Fn() -> bool| -> Result<()> {
            if p.pids
                .get(name)
                .is_some_and(|&pid| process::alive(pid, name_needle(name)))
                && ready()
            {
                progress(&format!("{name:<24} running (pid {})", p.pids[name]));
                return Ok(());
            }
            let pid = spawn.start()?;
            p.pids.insert(name.to_string(), pid);
            p.save()?;
            wait_until(
                name,
                &p.log(name),
                Duration::from_secs(90),
                Some(pid),
                || Ok(ready()),
            )?;
            progress(&format!("{name:<24} started (pid {pid})"));
            Ok(())
        };

    let kubeconfig = p.kubeconfig().display().to_string();
    // The tenant service as the chart deploys it: it reads only the operator's copies of
    // the database Secrets, in their namespace, with the chart's RBAC as its identity.
    let tenant_identity = tenant_service_identity(&p)?;
    let mut operator = operator_args(&p, ports.operator_admin, "sanxiang-operator");
    operator.push(format!(
        "--tenant-credentials-namespace={TENANT_CREDENTIALS_NAMESPACE}"
    ));
    operator.push(
        "--runbook-base-url=https://github.com/sanxiang/sanxiang/blob/main/docs/runbooks".into(),
    );
    // Alerts link the agency's page on the local portal.
    operator.push(format!(
        "--portal-base-url=http://127.0.0.1:{}",
        ports.portal
    ));
    let spawn = Spawn {
        name: "sanxiang-operator",
        program: &bins.operator,
        args: operator,
        log: p.log("sanxiang-operator"),
        user: None,
        env: vec![("KUBECONFIG".into(), kubeconfig.clone())],
    };
    start(&mut p, "sanxiang-operator", spawn, &|| {
        healthy(ports.operator_admin, "/ready")
    })?;

    let jwt_secret = p.state_dir.join("jwt-hs256.key");
    if !jwt_secret.exists() {
        fs::write(&jwt_secret, random_token())?;
    }
    let spawn = Spawn {
        name: "tenant-service",
        program: &bins.tenant_service,
        args: vec![
            format!("--listen=127.0.0.1:{}", ports.tenant_api),
            format!("--admin-listen=127.0.0.1:{}", ports.tenant_admin),
            // Calendars: the WorkCalendar objects applied above, watched.
            "--tenants-from-kube".into(),
            format!("--kube-namespace={TENANT_CREDENTIALS_NAMESPACE}"),
            format!("--jwt-hs256-secret-file={}", jwt_secret.display()),
            // Sign-in through the platform's Ory Hydra (the sample users of
            // e2e/fixtures/oidc/users.json); the HS256 key stays for `sanxiang-local token`.
            format!("--oidc-issuer={}", p.oidc_issuer()),
            format!(
                "--oidc-audience={}",
                sanxiang_testkit::platform::TENANT_API_AUDIENCE
            ),
            format!("--nats-url={}", p.nats_url()),
            format!(
                "--nats-creds={}",
                p.nats_auth().tenant_service_creds().display()
            ),
            "--scan-interval-seconds=10".into(),
            // As the seeds have it: the market regulator reviews random-inspection lists.
            "--market-regulator-reviews-random-inspections".into(),
        ],
        log: p.log("tenant-service"),
        user: None,
        env: vec![("KUBECONFIG".into(), tenant_identity.display().to_string())],
    };
    start(&mut p, "tenant-service", spawn, &|| {
        healthy(ports.tenant_admin, "/live")
    })?;

    // Alertmanager, routing by the cities' AlertmanagerConfigs (rendered by the sync loop
    // below; until its first pass, routing nothing).
    let alertmanager_dir = p.state_dir.join("alertmanager");
    sanxiang_testkit::alerting::ensure_initial_config(&alertmanager_dir)?;
    let alertmanager_bin = p.tools.alertmanager.clone();
    let spawn = Spawn {
        name: "alertmanager",
        program: &alertmanager_bin,
        args: sanxiang_testkit::alerting::alertmanager_args(&alertmanager_dir, ports.alertmanager),
        log: p.log("alertmanager"),
        user: None,
        env: Vec::new(),
    };
    start(&mut p, "alertmanager", spawn, &|| {
        healthy(ports.alertmanager, "/-/ready")
    })?;

    let prometheus_dir = p.state_dir.join("prometheus");
    fs::create_dir_all(prometheus_dir.join("rules"))?;
    fs::create_dir_all(prometheus_dir.join("data"))?;
    let config = prometheus_dir.join("prometheus.yml");
    fs::write(&config, prometheus_config(&ports, &prometheus_dir))?;
    let prometheus_bin = p.tools.prometheus.clone();
    let spawn = Spawn {
        name: "prometheus",
        program: &prometheus_bin,
        args: vec![
            format!("--config.file={}", config.display()),
            format!(
                "--storage.tsdb.path={}",
                prometheus_dir.join("data").display()
            ),
            format!("--web.listen-address=127.0.0.1:{}", ports.prometheus),
            "--web.enable-lifecycle".into(),
            "--storage.tsdb.retention.time=7d".into(),
        ],
        log: p.log("prometheus"),
        user: None,
        env: Vec::new(),
    };
    start(&mut p, "prometheus", spawn, &|| {
        healthy(ports.prometheus, "/-/ready")
    })?;

    // The chart's global rules (outbox, push lag, operator health, …), rendered from the
    // chart itself so `make up` alerts exactly as an installed release would.
    let global = p.render_chart_template("templates/prometheusrule-global.yaml")?;
    p.kubectl_apply(&global)?;

    let spawn = Spawn {
        name: "rules-sync",
        program: &bins.local,
        args: vec!["rules-sync".into(), "--profile".into(), p.profile.clone()],
        log: p.log("rules-sync"),
        user: None,
        env: Vec::new(),
    };
    start(&mut p, "rules-sync", spawn, &|| true)?;

    // The province's disclosure platform, fed by SX_PROVINCE_210000 (the operator creates
    // the stream with the first agency; the platform waits for it).
    let index_dir = p.state_dir.join("disclosure-index");
    let spawn = Spawn {
        name: "disclosure-platform",
        program: &bins.disclosure,
        args: vec![
            format!("--listen=127.0.0.1:{}", ports.portal),
            format!("--admin-listen=127.0.0.1:{}", ports.portal_admin),
            "--stream=SX_PROVINCE_210000".into(),
            "--title=辽宁省行政执法信息公示平台".into(),
            format!("--index-dir={}", index_dir.display()),
            format!("--nats-url={}", p.nats_url()),
            format!(
                "--nats-creds={}",
                p.province_reader_creds("210000")?.display()
            ),
            "--directory-from-kube".into(),
        ],
        log: p.log("disclosure-platform"),
        user: None,
        env: vec![("KUBECONFIG".into(), p.kubeconfig().display().to_string())],
    };
    start(&mut p, "disclosure-platform", spawn, &|| {
        healthy(ports.portal_admin, "/live")
    })?;

    // The supervision workspace, fed by the same province stream, with a database of its
    // own on the platform's PostgreSQL (it migrates it at start).
    ensure_supervision_database(&p)?;
    let spawn = Spawn {
        name: "supervision",
        program: &bins.supervision,
        args: vec![
            format!("--listen=127.0.0.1:{}", ports.supervision),
            format!("--admin-listen=127.0.0.1:{}", ports.supervision_admin),
            format!("--database-url={}", supervision_postgres_url(&p)),
            "--stream=SX_PROVINCE_210000".into(),
            format!("--nats-url={}", p.nats_url()),
            format!(
                "--nats-creds={}",
                p.province_reader_creds("210000")?.display()
            ),
            format!("--jwt-hs256-secret-file={}", jwt_secret.display()),
            format!("--oidc-issuer={}", p.oidc_issuer()),
            format!(
                "--oidc-audience={}",
                sanxiang_testkit::platform::TENANT_API_AUDIENCE
            ),
            "--calendars-from-kube".into(),
            "--plans-from-kube".into(),
        ],
        log: p.log("supervision"),
        user: None,
        env: vec![("KUBECONFIG".into(), p.kubeconfig().display().to_string())],
    };
    start(&mut p, "supervision", spawn, &|| {
        healthy(ports.supervision_admin, "/live")
    })?;
    p.save()?;
    apply_sample_province(&p)?;
    progress("sample province (Liaoning: Shenyang, Tieling, Anshan) applied");

    crate::demo::fill(&p, ports.tenant_api, Duration::from_secs(180), progress)?;
    Ok(p)
}

fn healthy(port: u16, path: &str) -> bool {
    http_get(port, path).map(|(s, _)| s == 200).unwrap_or(false)
}

fn random_token() -> String {
    use rand::Rng;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(48)
        .map(char::from)
        .collect()
}

fn prometheus_config(ports: &AppPorts, dir: &Path) -> String {
    format!(
        "# Written by sanxiang-local.\nglobal:\n  scrape_interval: 10s\n  evaluation_interval: 10s\n\
         rule_files:\n  - {rules}/*.yaml\n\
         alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am}']\n\
         scrape_configs:\n\
         \x20 - job_name: sanxiang-operator\n    static_configs:\n      - targets: ['127.0.0.1:{op}']\n\
         \x20 - job_name: sanxiang-tenant-service\n    static_configs:\n      - targets: ['127.0.0.1:{ts}']\n\
         \x20 - job_name: sanxiang-disclosure\n    static_configs:\n      - targets: ['127.0.0.1:{dp}']\n\
         \x20 - job_name: sanxiang-supervision\n    static_configs:\n      - targets: ['127.0.0.1:{sv}']\n",
        rules = dir.join("rules").display(),
        op = ports.operator_admin,
        ts = ports.tenant_admin,
        dp = ports.portal_admin,
        sv = ports.supervision_admin,
        am = ports.alertmanager,
    )
}

/// Applies the sample province; a city's own policies and the agencies once their city
/// namespaces exist.
pub fn apply_sample_province(p: &Platform) -> Result<()> {
    let dir = workspace_root().join("e2e/fixtures/sample-province");
    p.kubectl_apply(&fs::read_to_string(dir.join("10-jurisdictions.yaml"))?)?;
    for ns in ["sx-210100", "sx-211200", "sx-210300"] {
        wait_until(
            "city namespaces",
            &p.log("sanxiang-operator"),
            Duration::from_secs(60),
            None,
            || {
                Ok(p.kubectl()
                    .args(["get", "namespace", ns])
                    .output()?
                    .status
                    .success())
            },
        )?;
    }
    p.kubectl_apply(&fs::read_to_string(dir.join("15-city-policies.yaml"))?)?;
    p.kubectl_apply(&fs::read_to_string(dir.join("20-agencies.yaml"))?)?;
    p.kubectl_apply(&fs::read_to_string(dir.join("30-plans.yaml"))?)?;
    Ok(())
}
