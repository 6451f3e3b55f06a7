//! Alerts that reach people, with real programs only: two cities, each with an agency and
//! its own `AlertmanagerConfig` routing to a webhook; the tenant service (clock weeks
//! ahead) holds an undisclosed decision in city A only; a real Prometheus evaluates the
//! operator's rules and sends to a real Alertmanager configured from the
//! AlertmanagerConfigs. City A's webhook receives the overdue disclosure, naming the
//! agency's display name and the count; city B's webhook, although B's route tries to
//! match every city (`city=~".+"`), receives nothing; and a broken AlertmanagerConfig in
//! city B is refused with a condition naming its field without disturbing A's routing.
//!
//! And one agency's own alert labels (`spec.alerting.labels`, e.g. `team: market-law`)
//! route its alerts, by a child route of its city's AlertmanagerConfig, to a receiver of
//! their own, while another agency of the same city without the label stays on the
//! city's duty receiver.
//!
//! And a province-level agency (namespace `sx-<province>`, city `-`) publishes its matter
//! list, reviewed by the province's justice bureau, issues a decision it never discloses,
//! and its overdue alert reaches the province's own AlertmanagerConfig, while a city's
//! alert does not, although the province's route tries to match every city.

use std::fs;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result};
use sanxiang_testkit::Platform;
use sanxiang_testkit::alerting::{
    alertmanager_args, ensure_initial_config, sync_alertmanager_once,
};
use sanxiang_testkit::apps::AppBinaries;
use sanxiang_testkit::operator::{OperatorProcess, workspace_root};
use sanxiang_testkit::platform::process::{free_port, http_get, wait_until};

mod support;
use support::{Guard, secret_value, start_prometheus, start_tenant_service};

/// `(path, JSON body)` of every POST the webhook listener received.
type Received = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

/// A minimal HTTP/1.1 listener answering 200 to every request and keeping POST bodies.
fn webhook_listener() -> Result<(u16, Received)> {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let received: Received = Arc::default();
    let store = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let store = store.clone();
            std::thread::spawn(move || -> std::io::Result<()> {
                let mut reader = BufReader::new(stream.try_clone()?);
                let mut request_line = String::new();
                reader.read_line(&mut request_line)?;
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .to_string();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line)? == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body)?;
                if let Ok(json) = serde_json::from_slice(&body) {
                    store.lock().expect("lock").push((path, json));
                }
                let mut stream = stream;
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            });
        }
    });
    Ok((port, received))
}

/// The CRDs, calendars and one operator for the whole test binary (two operators would
/// both reconcile every agency).
fn shared_operator(platform: &Platform, bins: &AppBinaries) -> Result<&'static OperatorProcess> {
    static OPERATOR: OnceLock<std::result::Result<OperatorProcess, String>> = OnceLock::new();
    OPERATOR
        .get_or_init(|| {
            (|| {
                for bin in [&bins.operator, &bins.tenant_service] {
                    anyhow::ensure!(
                        bin.exists(),
                        "{} missing: run `cargo build --bins`",
                        bin.display()
                    );
                }
                platform.install_sanxiang_crds()?;
                platform.kubectl_apply(&fs::read_to_string(workspace_root().join(
                    "e2e/fixtures/ecosystem-crds/monitoring.coreos.com_alertmanagerconfigs.yaml",
                ))?)?;
                for year in ["2025", "2026"] {
                    let path = workspace_root().join(format!("e2e/fixtures/calendars/{year}.yaml"));
                    platform.kubectl_apply(&fs::read_to_string(path)?)?;
                }
                OperatorProcess::start(platform, &bins.operator, "notify")
            })()
            .map_err(|e| format!("{e:#}"))
        })
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// A credit code of region `region` with serial `n` and its check character.
fn credit_code(region: &str, n: u32) -> String {
    let body = format!("11{region}MA{n:07}");
    format!(
        "{body}{}",
        sanxiang_crds::credit_code::check_character(&body).expect("a valid body")
    )
}

/// Waits until the operator has made the city namespace `ns`.
fn wait_namespace(platform: &Platform, operator: &OperatorProcess, ns: &str) -> Result<()> {
    wait_until(
        "city namespace",
        &operator.log,
        Duration::from_secs(30),
        None,
        || {
            Ok(platform
                .kubectl()
                .args(["get", "ns", ns])
                .output()?
                .status
                .success())
        },
    )
}

/// Waits until agency `ns/name` is Ready.
fn wait_agency_ready(platform: &Platform, ns: &str, name: &str) -> Result<()> {
    let out = platform
        .kubectl()
        .args([
            "wait",
            "--for=condition=Ready",
            "--timeout=90s",
            "-n",
            ns,
            &format!("agency/{name}"),
        ])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "agency {ns}/{name} not Ready: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Starts Alertmanager on the configuration in `dir` and waits until it is ready.
fn start_alertmanager(
    platform: &Platform,
    dir: &std::path::Path,
    label: &str,
) -> Result<(Guard, u16, std::path::PathBuf)> {
    let am_port = free_port()?;
    let am_log = platform.log(label);
    let alertmanager = Guard(
        Command::new(&platform.tools.alertmanager)
            .args(alertmanager_args(dir, am_port))
            .stdout(Stdio::null())
            .stderr(fs::File::create(&am_log)?)
            .spawn()?,
    );
    wait_until(
        "alertmanager",
        &am_log,
        Duration::from_secs(30),
        None,
        || {
            Ok(http_get(am_port, "/-/ready")
                .map(|(s, _)| s == 200)
                .unwrap_or(false))
        },
    )?;
    Ok((alertmanager, am_port, am_log))
}

/// The tenant service serving `tenants` (with HS256 tokens signed with `secret`), its clock
/// pinned weeks after the decisions the tests leave undisclosed: inside a fixture calendar
/// year, as in alerts_fire.rs (a real "today" near December would reach a year that has no
/// WorkCalendar yet, and the due date would rightly stay pending).
fn notify_service(
    platform: &Platform,
    bins: &AppBinaries,
    dir: &std::path::Path,
    tenants: &[serde_json::Value],
    secret: &str,
    label: &str,
) -> Result<support::TenantService> {
    let tenants_file = dir.join("tenants.yaml");
    fs::write(&tenants_file, serde_yaml::to_string(tenants)?)?;
    let jwt_secret = dir.join("jwt.key");
    fs::write(&jwt_secret, secret)?;
    start_tenant_service(
        platform,
        bins,
        &tenants_file,
        &jwt_secret,
        "2026-04-13T02:00:00Z",
        label,
    )
}

/// Alertmanager configured from every AlertmanagerConfig, as the local platform's sync
/// renders them, and Prometheus with the operator's rules scraping the operator and
/// `service`, sending to that Alertmanager. Both run while this lives.
struct Alerting {
    /// What the sync made of the objects (which it refused, and why).
    outcome: sanxiang_testkit::alerting::SyncOutcome,
    am_port: u16,
    am_log: std::path::PathBuf,
    _alertmanager: Guard,
    _prometheus: Guard,
}

impl Alerting {
    /// Fails unless the sync kept the AlertmanagerConfig `namespace/name`.
    fn assert_accepted(&self, object: &str) {
        let refused: Vec<_> = self
            .outcome
            .rejected
            .iter()
            .filter(|(k, _)| k == object)
            .collect();
        assert!(refused.is_empty(), "{refused:?}");
    }
}

fn start_alerting(
    platform: &Platform,
    operator: &OperatorProcess,
    service: &support::TenantService,
    dir: &std::path::Path,
    label: &str,
) -> Result<Alerting> {
    let am_dir = dir.join("alertmanager");
    ensure_initial_config(&am_dir)?;
    let outcome = sync_alertmanager_once(platform, &am_dir, None)?;
    let (alertmanager, am_port, am_log) =
        start_alertmanager(platform, &am_dir, &format!("alertmanager-{label}"))?;
    let prom_dir = dir.join("prometheus");
    let (prometheus, _, _) = start_prometheus(
        platform,
        &prom_dir,
        operator.admin_port,
        service.admin_port,
        Some(am_port),
        &format!("prometheus-{label}"),
    )?;
    Ok(Alerting {
        outcome,
        am_port,
        am_log,
        _alertmanager: alertmanager,
        _prometheus: prometheus,
    })
}

/// The firing `SanxiangDisclosureOverdue` alerts of `agency` posted to `path`.
fn overdue_alerts(received: &Received, path: &str, agency: &str) -> Vec<serde_json::Value> {
    received
        .lock()
        .expect("lock")
        .iter()
        .filter(|(p, _)| p == path)
        .flat_map(|(_, body)| body["alerts"].as_array().cloned().unwrap_or_default())
        .filter(|alert| {
            alert["labels"]["alertname"] == "SanxiangDisclosureOverdue"
                && alert["labels"]["agency"] == agency
                && alert["status"] == "firing"
        })
        .collect()
}

struct City {
    code: String,
    county: String,
    ns: String,
    agency: String,
    display_name: String,
    credit_code: String,
}

#[tokio::test]
async fn an_overdue_disclosure_notifies_its_city_and_no_other() -> Result<()> {
    let platform = Platform::shared()?;
    let bins = AppBinaries::from_target_dir();
    let operator = shared_operator(platform, &bins)?;

    // A random province prefix so reruns never collide; two cities with one county agency.
    let n: u32 = rand::random_range(10..=44);
    let province = "540000".to_string();
    let cities: Vec<City> = [(2 * n, "甲"), (2 * n + 1, "乙")]
        .into_iter()
        .map(|(c, tag)| {
            let body = format!("1154{c:02}01MA{n:07}");
            City {
                code: format!("54{c:02}00"),
                county: format!("54{c:02}01"),
                ns: format!("sx-54{c:02}00"),
                agency: format!("market-{c:02}"),
                display_name: format!("{tag}县市场监督管理局"),
                credit_code: format!(
                    "{body}{}",
                    sanxiang_crds::credit_code::check_character(&body).unwrap()
                ),
            }
        })
        .collect();
    let mut yaml = format!(
        "apiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata: {{name: j-{province}}}\nspec: {{level: Province, code: \"{province}\", displayName: 西藏}}\n"
    );
    for c in &cities {
        yaml.push_str(&format!(
            "---\napiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata: {{name: j-{code}}}\nspec: {{level: City, code: \"{code}\", parent: \"{province}\", displayName: 测试市{code}, administratorGroups: [admins-{code}]}}\n\
             ---\napiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata: {{name: j-{county}}}\nspec: {{level: County, code: \"{county}\", parent: \"{code}\", displayName: 测试县{county}}}\n",
            code = c.code,
            county = c.county
        ));
    }
    platform.kubectl_apply(&yaml)?;
    for c in &cities {
        wait_namespace(platform, operator, &c.ns)?;
        let code = &c.credit_code;
        platform.kubectl_apply(&format!(
            "apiVersion: sanxiang.io/v1alpha1\nkind: Agency\nmetadata: {{name: {}, namespace: {}}}\n\
             spec:\n  jurisdiction: \"{}\"\n  displayName: {}\n  creditCode: \"{code}\"\n  categories: [Penalty]\n  database: {{deletionPolicy: Retain}}\n",
            c.agency, c.ns, c.county, c.display_name
        ))?;
    }

    // City A's administrators may edit A's routing, and not B's (the operator's Role).
    let a_admin = platform.kubeconfig_for(
        &format!("admin-{}", cities[0].code),
        Some(&format!("admins-{}", cities[0].code)),
    )?;
    let can_i = |ns: &str| -> Result<bool> {
        let out = Command::new(&platform.tools.kubectl)
            .arg("--kubeconfig")
            .arg(&a_admin)
            .args([
                "auth",
                "can-i",
                "patch",
                "alertmanagerconfigs.monitoring.coreos.com",
                "-n",
                ns,
            ])
            .output()?;
        Ok(String::from_utf8_lossy(&out.stdout).trim() == "yes")
    };
    wait_until(
        "city A's administrators may edit A's AlertmanagerConfigs",
        &operator.log,
        Duration::from_secs(30),
        None,
        || can_i(&cities[0].ns),
    )?;
    assert!(
        !can_i(&cities[1].ns)?,
        "A's administrators may edit B's routing"
    );

    // Each city routes to its own webhook path; B's route tries to take every city's alerts.
    let (hook_port, received) = webhook_listener()?;
    let route = |c: &City, matchers: &str| {
        format!(
            "apiVersion: monitoring.coreos.com/v1alpha1\nkind: AlertmanagerConfig\nmetadata: {{name: duty, namespace: {ns}}}\n\
             spec:\n  route: {{receiver: duty, groupBy: [agency], groupWait: 1s, groupInterval: 1s, repeatInterval: 1h, matchers: [{matchers}]}}\n\
             \x20 receivers: [{{name: duty, webhookConfigs: [{{url: 'http://127.0.0.1:{hook_port}/{city}'}}]}}]\n",
            ns = c.ns,
            city = c.code
        )
    };
    platform.kubectl_apply(&route(
        &cities[0],
        "{name: alertname, value: SanxiangDisclosureOverdue}",
    ))?;
    platform.kubectl_apply(&route(
        &cities[1],
        "{name: city, value: '.+', matchType: '=~'}",
    ))?;
    // A mistake the schema lets through: a route naming no receiver.
    platform.kubectl_apply(&format!(
        "apiVersion: monitoring.coreos.com/v1alpha1\nkind: AlertmanagerConfig\nmetadata: {{name: broken, namespace: {}}}\n\
         spec:\n  route: {{receiver: nobody}}\n  receivers: [{{name: duty, webhookConfigs: [{{url: 'http://127.0.0.1:{hook_port}/broken'}}]}}]\n",
        cities[1].ns
    ))?;

    for c in &cities {
        wait_agency_ready(platform, &c.ns, &c.agency)?;
    }

    // The tenant service, configured from the operator's Secrets.
    let dir = tempfile::tempdir()?;
    let mut tenants = Vec::new();
    for c in &cities {
        tenants.push(serde_json::json!({
            "agency": c.agency, "province": province, "city": c.code, "county": c.county,
            "databaseUrl": secret_value(platform, &c.ns, &format!("{}-db", c.agency), "url")?,
            "subjectPrefix": format!("sx.{province}.{}.{}.{}", c.code, c.county, c.agency),
        }));
    }
    let secret = "e2e-notify-secret-0123456789";
    let decided_on = "2026-03-02";
    let service = notify_service(
        platform,
        &bins,
        dir.path(),
        &tenants,
        secret,
        "tenant-service-notify",
    )?;

    // City A's officer issues a penalty decision and never discloses it.
    let a = &cities[0];
    service
        .issue_undisclosed_decision(
            secret.as_bytes(),
            &a.agency,
            (&province, &a.code, &a.county),
            &a.credit_code,
            "甲市监罚〔2026〕1号",
            decided_on,
        )
        .await?;

    let Alerting {
        outcome,
        am_port,
        am_log,
        ..
    } = &start_alerting(platform, operator, &service, dir.path(), "notify")?;
    let broken = format!("{}/broken", cities[1].ns);
    let refused = outcome
        .rejected
        .iter()
        .find(|(k, _)| *k == broken)
        .context("the broken AlertmanagerConfig was not refused")?;
    assert_eq!(refused.1[0].field, "spec.route.receiver", "{refused:?}");
    let mut condition = platform.kubectl();
    condition.args([
        "get",
        "alertmanagerconfig",
        "-n",
        &cities[1].ns,
        "broken",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Accepted\")]}",
    ]);
    let condition: serde_json::Value = serde_json::from_str(&run_output(condition)?)?;
    assert_eq!(condition["status"], "False");
    assert_eq!(condition["reason"], "InvalidSpec");
    assert!(
        condition["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("spec.route.receiver:")),
        "{condition}"
    );
    // What Alertmanager loaded: B's route carries B's city matcher ahead of its own.
    let (_, status) = http_get(*am_port, "/api/v2/status")?;
    let status: serde_json::Value = serde_json::from_str(&status)?;
    let original = status["config"]["original"].as_str().unwrap_or_default();
    let b_matchers = format!("city=\"{}\"", cities[1].code);
    assert!(original.contains(&b_matchers), "{original}");

    // City A's webhook receives the overdue disclosure of A's agency.
    let a_path = format!("/{}", a.code);
    let mut notified = None;
    wait_until(
        "a notification on city A's webhook",
        am_log,
        Duration::from_secs(120),
        None,
        || {
            notified = overdue_alerts(&received, &a_path, &a.agency)
                .into_iter()
                .next();
            Ok(notified.is_some())
        },
    )?;
    let alert = notified.expect("found");
    assert_eq!(alert["labels"]["city"], a.code.as_str());
    assert_eq!(alert["labels"]["agency_name"], a.display_name.as_str());
    let summary = alert["annotations"]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains(&a.display_name), "{alert}");
    assert!(
        summary.contains(": 1 enforcement decision(s)"),
        "the overdue count is named: {alert}"
    );
    // The oldest due date, read from the tenant service's gauge (a date, not "unknown").
    let description = alert["annotations"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        description.contains("the oldest was due on 20"),
        "{description}"
    );

    // Give B's route every chance: Prometheus resends firing alerts each evaluation and
    // Alertmanager would flush B's group within a second.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let b_path = format!("/{}", cities[1].code);
    let to_b: Vec<_> = received
        .lock()
        .expect("lock")
        .iter()
        .filter(|(p, _)| *p == b_path || p == "/broken")
        .cloned()
        .collect();
    assert!(to_b.is_empty(), "city B received {to_b:?}");

    for c in &cities {
        let _ = platform
            .kubectl()
            .args(["delete", "agency", "-n", &c.ns, &c.agency, "--timeout=60s"])
            .output();
        let _ = platform
            .kubectl()
            .args(["delete", "alertmanagerconfig", "-n", &c.ns, "--all"])
            .output();
        let _ = platform
            .kubectl()
            .args([
                "delete",
                "jurisdiction",
                "--wait=false",
                &format!("j-{}", c.county),
                &format!("j-{}", c.code),
            ])
            .output();
    }
    Ok(())
}

#[tokio::test]
async fn an_agencys_own_label_routes_its_alerts_to_its_own_receiver() -> Result<()> {
    let platform = Platform::shared()?;
    let bins = AppBinaries::from_target_dir();
    let operator = shared_operator(platform, &bins)?;

    // A city of the same province the other test never draws (its cities are 20..=89).
    let c: u32 = rand::random_range(91..=99);
    let n: u32 = rand::random_range(1..=9_999_999);
    let province = "540000";
    let (city, county, ns) = (
        format!("54{c:02}00"),
        format!("54{c:02}01"),
        format!("sx-54{c:02}00"),
    );
    platform.kubectl_apply(&format!(
        "apiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata: {{name: j-{province}}}\nspec: {{level: Province, code: \"{province}\", displayName: 西藏}}\n\
         ---\napiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata: {{name: j-{city}}}\nspec: {{level: City, code: \"{city}\", parent: \"{province}\", displayName: 测试市{city}, administratorGroups: [admins-{city}]}}\n\
         ---\napiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata: {{name: j-{county}}}\nspec: {{level: County, code: \"{county}\", parent: \"{city}\", displayName: 测试县{county}}}\n"
    ))?;
    wait_namespace(platform, operator, &ns)?;
    // Two agencies of the county: the market bureau's law team routes its own alerts.
    let law = format!("law-{c:02}");
    let plain = format!("ecology-{c:02}");
    let agencies = [
        (
            &law,
            "丙县市场监督管理局",
            credit_code(&county, n),
            "\n  alerting: {labels: {team: market-law}}",
        ),
        (
            &plain,
            "丙县生态环境局",
            credit_code(&county, n % 9_999_999 + 1),
            "",
        ),
    ];
    for (name, display, code, alerting) in &agencies {
        platform.kubectl_apply(&format!(
            "apiVersion: sanxiang.io/v1alpha1\nkind: Agency\nmetadata: {{name: {name}, namespace: {ns}}}\n\
             spec:\n  jurisdiction: \"{county}\"\n  displayName: {display}\n  creditCode: \"{code}\"\n  categories: [Penalty]\n  database: {{deletionPolicy: Retain}}{alerting}\n"
        ))?;
    }

    // The city's routing: overdue disclosures to the duty office, and a child route on the
    // agency-set label to the law team's own receiver.
    let (hook_port, received) = webhook_listener()?;
    platform.kubectl_apply(&format!(
        "apiVersion: monitoring.coreos.com/v1alpha1\nkind: AlertmanagerConfig\nmetadata: {{name: duty, namespace: {ns}}}\n\
         spec:\n  route:\n    receiver: duty\n    groupBy: [agency]\n    groupWait: 1s\n    groupInterval: 1s\n    repeatInterval: 1h\n\
         \x20   matchers: [{{name: alertname, value: SanxiangDisclosureOverdue}}]\n\
         \x20   routes: [{{receiver: law-team, matchers: [{{name: team, value: market-law}}]}}]\n\
         \x20 receivers:\n\
         \x20   - {{name: duty, webhookConfigs: [{{url: 'http://127.0.0.1:{hook_port}/{city}/duty'}}]}}\n\
         \x20   - {{name: law-team, webhookConfigs: [{{url: 'http://127.0.0.1:{hook_port}/{city}/law'}}]}}\n"
    ))?;
    for (name, ..) in &agencies {
        wait_agency_ready(platform, &ns, name)?;
    }

    // Both agencies hold an undisclosed decision, weeks overdue.
    let dir = tempfile::tempdir()?;
    let mut tenants = Vec::new();
    for (name, ..) in &agencies {
        tenants.push(serde_json::json!({
            "agency": name, "province": province, "city": city, "county": county,
            "databaseUrl": secret_value(platform, &ns, &format!("{name}-db"), "url")?,
            "subjectPrefix": format!("sx.{province}.{city}.{county}.{name}"),
        }));
    }
    let secret = "e2e-notify-team-secret-0123456789";
    let service = notify_service(
        platform,
        &bins,
        dir.path(),
        &tenants,
        secret,
        "tenant-service-notify-team",
    )?;
    for (name, _, code, _) in &agencies {
        service
            .issue_undisclosed_decision(
                secret.as_bytes(),
                name,
                (province, &city, &county),
                code,
                "丙市监罚〔2026〕1号",
                "2026-03-02",
            )
            .await?;
    }

    let alerting = start_alerting(platform, operator, &service, dir.path(), "notify-team")?;
    alerting.assert_accepted(&format!("{ns}/duty"));

    // The law team's receiver gets the law agency's alert, with the label that routed it;
    // the duty office gets the other agency's (so it fired, and went elsewhere).
    let (law_path, duty_path) = (format!("/{city}/law"), format!("/{city}/duty"));
    wait_until(
        "the law team's and the duty office's notifications",
        &alerting.am_log,
        Duration::from_secs(120),
        None,
        || {
            Ok(!overdue_alerts(&received, &law_path, &law).is_empty()
                && !overdue_alerts(&received, &duty_path, &plain).is_empty())
        },
    )?;
    let alert = overdue_alerts(&received, &law_path, &law).remove(0);
    assert_eq!(alert["labels"]["team"], "market-law", "{alert}");
    assert_eq!(alert["labels"]["city"], city.as_str());
    assert_eq!(alert["labels"]["agency_name"], "丙县市场监督管理局");
    assert!(
        alert["annotations"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("丙县市场监督管理局: 1 enforcement decision(s)")),
        "{alert}"
    );
    // Give either a wrong turn every chance, as the other test does for city B.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        overdue_alerts(&received, &law_path, &plain).is_empty(),
        "the law team received the other agency's alert"
    );
    assert!(
        overdue_alerts(&received, &duty_path, &law).is_empty(),
        "the child route did not take the law agency's alert off the duty route"
    );

    for (name, ..) in &agencies {
        let _ = platform
            .kubectl()
            .args(["delete", "agency", "-n", &ns, name, "--timeout=60s"])
            .output();
    }
    let _ = platform
        .kubectl()
        .args(["delete", "alertmanagerconfig", "-n", &ns, "--all"])
        .output();
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

#[tokio::test]
async fn a_province_level_agencys_alert_notifies_its_province_and_no_city() -> Result<()> {
    let platform = Platform::shared()?;
    let bins = AppBinaries::from_target_dir();
    let operator = shared_operator(platform, &bins)?;

    // A city the other tests never draw (theirs are 20..=89 and 91..=99).
    let c: u32 = rand::random_range(1..=19);
    let n: u32 = rand::random_range(1..=9_999_999);
    let province = "540000";
    let province_ns = format!("sx-{province}");
    let (city, city_ns) = (format!("54{c:02}00"), format!("sx-54{c:02}00"));
    platform.kubectl_apply(&format!(
        "apiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata: {{name: j-{province}}}\nspec: {{level: Province, code: \"{province}\", displayName: 西藏}}\n\
         ---\napiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata: {{name: j-{city}}}\nspec: {{level: City, code: \"{city}\", parent: \"{province}\", displayName: 测试市{city}}}\n"
    ))?;
    wait_namespace(platform, operator, &province_ns)?;
    wait_namespace(platform, operator, &city_ns)?;
    // One agency of the province itself, one city-level agency.
    let provincial = format!("prov-market-{n}");
    let municipal = format!("city-market-{c:02}");
    let agencies = [
        (
            &provincial,
            &province_ns,
            province,
            "西藏自治区市场监督管理局",
            "-",
        ),
        (
            &municipal,
            &city_ns,
            city.as_str(),
            "测试市市场监督管理局",
            city.as_str(),
        ),
    ];
    for (name, ns, jurisdiction, display, _) in &agencies {
        platform.kubectl_apply(&format!(
            "apiVersion: sanxiang.io/v1alpha1\nkind: Agency\nmetadata: {{name: {name}, namespace: {ns}}}\n\
             spec:\n  jurisdiction: \"{jurisdiction}\"\n  displayName: {display}\n  creditCode: \"{}\"\n  categories: [Penalty]\n  database: {{deletionPolicy: Retain}}\n",
            credit_code(jurisdiction, n)
        ))?;
    }

    // Each namespace routes overdue disclosures to its own path; the province's route
    // tries to take every city's alerts too.
    let (hook_port, received) = webhook_listener()?;
    let route = |ns: &str, name: &str, path: &str, extra: &str| {
        format!(
            "apiVersion: monitoring.coreos.com/v1alpha1\nkind: AlertmanagerConfig\nmetadata: {{name: {name}, namespace: {ns}}}\n\
             spec:\n  route: {{receiver: duty, groupBy: [agency], groupWait: 1s, groupInterval: 1s, repeatInterval: 1h, \
             matchers: [{{name: alertname, value: SanxiangDisclosureOverdue}}{extra}]}}\n\
             \x20 receivers: [{{name: duty, webhookConfigs: [{{url: 'http://127.0.0.1:{hook_port}/{path}'}}]}}]\n"
        )
    };
    let province_route = format!("duty-{n}");
    platform.kubectl_apply(&route(
        &province_ns,
        &province_route,
        "province",
        ", {name: city, value: '.+', matchType: '=~'}",
    ))?;
    platform.kubectl_apply(&route(&city_ns, "duty", "city", ""))?;
    for (name, ns, ..) in &agencies {
        wait_agency_ready(platform, ns, name)?;
    }

    // Both agencies hold an undisclosed decision, weeks overdue. The province-level
    // agency's matter list is reviewed by the province's justice bureau.
    let dir = tempfile::tempdir()?;
    let mut tenants = Vec::new();
    for (name, ns, _, _, city_label) in &agencies {
        tenants.push(serde_json::json!({
            "agency": name, "province": province, "city": city_label, "county": "-",
            "databaseUrl": secret_value(platform, ns, &format!("{name}-db"), "url")?,
            "subjectPrefix": format!("sx.{province}.{city_label}.-.{name}"),
        }));
    }
    let secret = "e2e-notify-province-secret-0123456789";
    let service = notify_service(
        platform,
        &bins,
        dir.path(),
        &tenants,
        secret,
        "tenant-service-notify-province",
    )?;
    for (name, _, jurisdiction, _, city_label) in &agencies {
        service
            .issue_undisclosed_decision(
                secret.as_bytes(),
                name,
                (province, city_label, "-"),
                &credit_code(jurisdiction, n),
                "藏市监罚〔2026〕1号",
                "2026-03-02",
            )
            .await?;
    }

    let alerting = start_alerting(platform, operator, &service, dir.path(), "notify-province")?;
    alerting.assert_accepted(&format!("{province_ns}/{province_route}"));

    wait_until(
        "the province's and the city's notifications",
        &alerting.am_log,
        Duration::from_secs(120),
        None,
        || {
            Ok(
                !overdue_alerts(&received, "/province", &provincial).is_empty()
                    && !overdue_alerts(&received, "/city", &municipal).is_empty(),
            )
        },
    )?;
    let alert = overdue_alerts(&received, "/province", &provincial).remove(0);
    assert_eq!(alert["labels"]["city"], "-", "{alert}");
    assert_eq!(alert["labels"]["province"], province);
    assert_eq!(alert["labels"]["agency_name"], "西藏自治区市场监督管理局");
    // Give either a wrong turn every chance, as the other tests do.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        overdue_alerts(&received, "/province", &municipal).is_empty(),
        "the province's route took a city's alert"
    );
    assert!(
        overdue_alerts(&received, "/city", &provincial).is_empty(),
        "a city's route took the province-level agency's alert"
    );

    for (name, ns, ..) in &agencies {
        let _ = platform
            .kubectl()
            .args(["delete", "agency", "-n", ns, name, "--timeout=60s"])
            .output();
    }
    for (ns, name) in [(&province_ns, province_route.as_str()), (&city_ns, "duty")] {
        let _ = platform
            .kubectl()
            .args(["delete", "alertmanagerconfig", "-n", ns, name])
            .output();
    }
    let _ = platform
        .kubectl()
        .args([
            "delete",
            "jurisdiction",
            "--wait=false",
            &format!("j-{city}"),
        ])
        .output();
    Ok(())
}

fn run_output(mut cmd: Command) -> Result<String> {
    let out = cmd.output()?;
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}
