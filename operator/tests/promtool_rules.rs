//! The alert rules, checked by the real `promtool` (and the Helm chart that ships them,
//! checked by the real `helm` against the real local kube-apiserver).
//!
//! - `promtool check rules` accepts the rules of a sample agency and the global rules;
//! - `promtool test rules` runs the unit tests in `tests/promtool/*.test.yaml`, which make
//!   every alert fire with its exact labels and annotations, and stay silent when it
//!   should (other agencies, completed milestones, boundaries at 00:00 Asia/Shanghai);
//! - every alert has a runbook in `docs/runbooks/`, and every `runbook_url` points at one;
//! - the chart's global PrometheusRule template and the dashboards' sample rules are the
//!   builder's output (`sanxiang_operator::rule_files`; regenerate with
//!   `cargo xtask generate`), and the chart's dashboards are copies of `dashboards/`;
//! - `helm lint --strict` and `helm template` pass, and `helm install` is accepted by the
//!   local apiserver in a fresh namespace.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use chrono::{Datelike, NaiveDate, Weekday};
use sanxiang_operator::alerts::{
    AGENCY_ALERTS, AgencyAlertInput, GLOBAL_ALERTS, MilestoneOccurrence, agency_rule_spec,
    alert_names, global_rule_groups, to_yaml,
};
use sanxiang_operator::rule_files::{
    DASHBOARD_SAMPLE_RULES, DEFAULT_RUNBOOK_BASE, GLOBAL_RULE_TEMPLATE, dashboard_sample_rules,
    global_rule_template,
};
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("operator/ has a parent")
        .to_path_buf()
}

/// The sample agency of the promtool tests: a county market regulation bureau of Tieling
/// (Liaoning) under a Shenyang-style monthly report (on the 20th, moved to the next working
/// day) and a one-off summary report, with its deadlines in `year`.
///
/// `year` is 2026 for the real thing (December's report is due Monday 2026-12-21 because
/// the 20th is a Sunday) and 1970 for `promtool test rules`, which evaluates every rule at
/// every step from Unix time 0 up to the last test time: 1970 is, like 2026, a common year
/// starting on a Thursday, so every date falls on the same weekday and the test exercises
/// the same calendar in about a thousand steps instead of sixty thousand.
fn sample_agency_spec(year: i32) -> Value {
    let d = |month: u32, day: u32| NaiveDate::from_ymd_opt(year, month, day).expect("valid date");
    assert_eq!(
        d(12, 20).weekday(),
        Weekday::Sun,
        "{year}-12-20 must be a Sunday"
    );
    let milestones = vec![
        MilestoneOccurrence {
            plan: "shenyang-2026".into(),
            milestone: "monthly-report".into(),
            task: "月度工作进展报告".into(),
            due: d(11, 20),
            due_soon_from: d(11, 18),
        },
        MilestoneOccurrence {
            plan: "shenyang-2026".into(),
            milestone: "monthly-report".into(),
            task: "月度工作进展报告".into(),
            // The 20th is a Sunday: moved to Monday the 21st.
            due: d(12, 21),
            due_soon_from: d(12, 17),
        },
        MilestoneOccurrence {
            plan: "liaoning-2026".into(),
            milestone: "summary-report".into(),
            task: "三项制度年度总结报告".into(),
            due: d(11, 30),
            due_soon_from: d(11, 25),
        },
    ];
    // The routing label reaches every alert (the exact `exp_labels` of the fixtures say
    // `team: market`); the reserved ones an older object might still carry (admission
    // refuses them now) do not override the agency's identity or placement.
    let routing = BTreeMap::from([
        ("team".to_string(), "market".to_string()),
        ("agency_name".to_string(), "spoofed".to_string()),
        ("county".to_string(), "0".to_string()),
        ("namespace".to_string(), "sx-999900".to_string()),
    ]);
    agency_rule_spec(&AgencyAlertInput {
        agency: "tieling-market",
        display_name: "铁岭县市场监督管理局",
        agency_url: Some("https://portal.sanxiang.example/agencies/tieling-market"),
        existed_since: None,
        namespace: "sx-211200",
        province: "210000",
        city: "211200",
        county: "211221",
        reviewer_ratio_permille: 50,
        routing_labels: &routing,
        milestones: &milestones,
        annual_statistics_year: year - 1,
        annual_statistics_due: d(1, 31),
        runbook_base_url: DEFAULT_RUNBOOK_BASE,
    })
}

#[test]
fn the_2026_rules_use_shanghai_midnight_timestamps() {
    let spec = to_yaml(&sample_agency_spec(2026));
    // Due soon from 2026-12-17 00:00 +08:00 until 2026-12-22 00:00 +08:00.
    assert!(
        spec.contains("vector(time()) >= 1797436800 < 1797868800 unless on()"),
        "{spec}"
    );
    assert!(
        spec.contains("vector(time()) >= 1797868800 unless on()"),
        "{spec}"
    );
    assert!(spec.contains("due=\"2026-12-21\""), "{spec}");
    // Annual statistics for 2025 late from 2026-02-01 00:00 +08:00.
    assert!(
        spec.contains("vector(time()) >= 1769875200 unless on()"),
        "{spec}"
    );
}

fn promtool() -> PathBuf {
    for candidate in ["/usr/bin/promtool", "/usr/local/bin/promtool"] {
        if Path::new(candidate).is_file() {
            return candidate.into();
        }
    }
    "promtool".into()
}

fn run(cmd: &mut Command) -> Result<String> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().with_context(|| format!("running {shown}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        out.status.success(),
        "{shown} failed ({}):\n{text}",
        out.status
    );
    Ok(text)
}

/// Writes both rule files and copies the promtool unit tests beside them (rule_files in a
/// test file are relative to the test file).
fn rendered_rules() -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("agency-rules.yaml"),
        to_yaml(&sample_agency_spec(1970)),
    )?;
    std::fs::write(
        dir.path().join("agency-rules-2026.yaml"),
        to_yaml(&sample_agency_spec(2026)),
    )?;
    std::fs::write(
        dir.path().join("global-rules.yaml"),
        to_yaml(&global_rule_groups(DEFAULT_RUNBOOK_BASE)),
    )?;
    for test in promtool_tests()? {
        std::fs::copy(&test, dir.path().join(test.file_name().expect("a file")))?;
    }
    if let Ok(out) = std::env::var("SANXIANG_RULES_OUT") {
        for f in [
            "agency-rules.yaml",
            "agency-rules-2026.yaml",
            "global-rules.yaml",
        ] {
            std::fs::copy(dir.path().join(f), Path::new(&out).join(f))?;
        }
    }
    Ok(dir)
}

fn promtool_tests() -> Result<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promtool");
    let mut tests: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    tests.retain(|p| p.to_string_lossy().ends_with(".test.yaml"));
    tests.sort();
    ensure!(!tests.is_empty(), "no promtool tests in {}", dir.display());
    Ok(tests)
}

#[test]
fn promtool_accepts_the_rules() -> Result<()> {
    let dir = rendered_rules()?;
    run(Command::new(promtool())
        .arg("check")
        .arg("rules")
        .arg(dir.path().join("agency-rules.yaml"))
        .arg(dir.path().join("agency-rules-2026.yaml"))
        .arg(dir.path().join("global-rules.yaml")))?;
    Ok(())
}

#[test]
fn promtool_unit_tests_pass() -> Result<()> {
    let dir = rendered_rules()?;
    let mut failures = Vec::new();
    for test in promtool_tests()? {
        let name = test.file_name().expect("a file").to_owned();
        if let Err(e) = run(Command::new(promtool())
            .arg("test")
            .arg("rules")
            .arg(&name)
            .current_dir(dir.path()))
        {
            failures.push(format!("{e:#}"));
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(())
}

/// Every alert is expected to fire in some promtool test, and to be silent in another.
#[test]
fn promtool_tests_cover_every_alert() -> Result<()> {
    let mut fires = BTreeSet::new();
    let mut silent = BTreeSet::new();
    for test in promtool_tests()? {
        let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(&test)?)?;
        for t in doc["tests"].as_array().into_iter().flatten() {
            for case in t["alert_rule_test"].as_array().into_iter().flatten() {
                let name = case["alertname"].as_str().unwrap_or_default().to_string();
                let expected = case["exp_alerts"].as_array().map_or(0, Vec::len);
                if expected > 0 {
                    fires.insert(name);
                } else {
                    silent.insert(name);
                }
            }
        }
    }
    for alert in AGENCY_ALERTS.iter().chain(GLOBAL_ALERTS) {
        ensure!(
            fires.contains(*alert),
            "no promtool test makes {alert} fire"
        );
        ensure!(
            silent.contains(*alert),
            "no promtool test proves {alert} silent"
        );
    }
    Ok(())
}

fn all_rules() -> Vec<Value> {
    [
        sample_agency_spec(2026),
        global_rule_groups(DEFAULT_RUNBOOK_BASE),
    ]
    .iter()
    .flat_map(|spec| {
        spec["groups"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
    })
    .collect()
}

#[test]
fn every_alert_has_a_runbook() -> Result<()> {
    let runbooks = repo_root().join("docs/runbooks");
    let mut missing = Vec::new();
    for alert in AGENCY_ALERTS.iter().chain(GLOBAL_ALERTS) {
        let file = runbooks.join(format!("{alert}.md"));
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                for section in ["## Meaning", "## Legal", "## Diagnosis", "## Resolution"] {
                    if !text.contains(section) {
                        missing.push(format!("{} has no section {section:?}", file.display()));
                    }
                }
                if !text.starts_with(&format!("# {alert}")) {
                    missing.push(format!(
                        "{} does not start with `# {alert}`",
                        file.display()
                    ));
                }
            }
            Err(_) => missing.push(format!("{} is missing", file.display())),
        }
    }
    for rule in all_rules() {
        let url = rule["annotations"]["runbook_url"]
            .as_str()
            .unwrap_or_default();
        let file = url
            .strip_prefix(&format!("{DEFAULT_RUNBOOK_BASE}/"))
            .map(|f| runbooks.join(f));
        match file {
            Some(f) if f.is_file() => {}
            _ => missing.push(format!(
                "{} links to {url:?}, which is no runbook file",
                rule["alert"]
            )),
        }
        let labels = rule["labels"].as_object().cloned().unwrap_or_default();
        let severity = labels
            .get("severity")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !["critical", "warning", "info"].contains(&severity) {
            missing.push(format!("{} has severity {severity:?}", rule["alert"]));
        }
        for a in ["summary", "description"] {
            if rule["annotations"][a].as_str().is_none_or(str::is_empty) {
                missing.push(format!("{} has no {a}", rule["alert"]));
            }
        }
    }
    // No runbook without an alert either.
    for entry in std::fs::read_dir(&runbooks)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(alert) = name.strip_suffix(".md")
            && alert.starts_with("Sanxiang")
            && !AGENCY_ALERTS
                .iter()
                .chain(GLOBAL_ALERTS)
                .any(|a| *a == alert)
        {
            missing.push(format!("docs/runbooks/{name} belongs to no alert"));
        }
    }
    ensure!(missing.is_empty(), "{}", missing.join("\n"));
    Ok(())
}

#[test]
fn sample_agency_has_every_agency_alert() {
    let names: BTreeSet<String> = alert_names(&sample_agency_spec(2026)).into_iter().collect();
    for alert in AGENCY_ALERTS {
        assert!(names.contains(*alert), "{alert} not generated");
    }
}

// ---- sample rules for the dashboards test -------------------------------------------------

#[test]
fn dashboard_sample_rules_are_generated_from_the_builder() -> Result<()> {
    let path = repo_root().join(DASHBOARD_SAMPLE_RULES);
    let expected = dashboard_sample_rules();
    ensure!(
        std::fs::read_to_string(&path).unwrap_or_default() == expected,
        "{} differs from the builder's output; regenerate it with \
         `cargo xtask generate`",
        path.display()
    );
    run(Command::new(promtool()).args(["check", "rules"]).arg(&path))?;
    Ok(())
}

// ---- the Helm chart ---------------------------------------------------------------------

#[test]
fn chart_global_rules_are_generated_from_the_builder() -> Result<()> {
    let path = repo_root().join(GLOBAL_RULE_TEMPLATE);
    let expected = global_rule_template();
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    ensure!(
        actual == expected,
        "{} differs from the builder's output; regenerate it with \
         `cargo xtask generate`",
        path.display()
    );
    Ok(())
}

#[test]
fn chart_dashboards_are_copies_of_the_dashboards() -> Result<()> {
    let root = repo_root();
    let list = |dir: &Path| -> Result<BTreeMap<String, Vec<u8>>> {
        let mut files = BTreeMap::new();
        for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "json") {
                files.insert(
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p)?,
                );
            }
        }
        Ok(files)
    };
    let source = list(&root.join("dashboards"))?;
    let chart = list(&root.join("charts/sanxiang/dashboards"))?;
    ensure!(!source.is_empty(), "no dashboards in dashboards/");
    ensure!(
        source == chart,
        "charts/sanxiang/dashboards/ must hold exact copies of dashboards/*.json \
         (cp dashboards/*.json charts/sanxiang/dashboards/); source {:?}, chart {:?}",
        source.keys().collect::<Vec<_>>(),
        chart.keys().collect::<Vec<_>>()
    );
    Ok(())
}

/// The Kubernetes version of the local platform, for `helm template`.
const KUBE_VERSION: &str = "1.34.0";

fn helm_binary() -> Result<PathBuf> {
    if let Ok(h) = std::env::var("HELM") {
        return Ok(h.into());
    }
    Ok(sanxiang_testkit::platform::Tools::locate()?.helm)
}

fn helm_template(helm: &Path, extra: &[&str]) -> Result<Vec<Value>> {
    let chart = repo_root().join("charts/sanxiang");
    let out = run(Command::new(helm)
        .args(["template", "sanxiang", "--namespace", "sanxiang-system"])
        // Helm built from source defaults to Kubernetes v1.20 for offline rendering.
        .args(["--kube-version", KUBE_VERSION])
        .arg(&chart)
        .args(extra))?;
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&out) {
        let v: Value = serde::Deserialize::deserialize(doc)?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

#[test]
fn helm_lint_and_template() -> Result<()> {
    let helm = helm_binary()?;
    let chart = repo_root().join("charts/sanxiang");
    run(Command::new(&helm).arg("lint").arg("--strict").arg(&chart))?;
    run(Command::new(&helm)
        .arg("lint")
        .arg("--strict")
        .arg(&chart)
        .args([
            "--set",
            "serviceMonitor.enabled=true",
            "--set",
            "dashboards.enabled=true",
        ]))?;

    // Defaults: the global rules are exactly the builder's output.
    let docs = helm_template(&helm, &[])?;
    let kinds: BTreeSet<String> = docs
        .iter()
        .map(|d| d["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    for kind in [
        "Deployment",
        "Service",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "PrometheusRule",
    ] {
        ensure!(
            kinds.contains(kind),
            "helm template renders no {kind}: {kinds:?}"
        );
    }
    let rule = docs
        .iter()
        .find(|d| d["kind"] == "PrometheusRule")
        .context("no PrometheusRule")?;
    ensure!(
        rule["spec"] == global_rule_groups(DEFAULT_RUNBOOK_BASE),
        "the chart's PrometheusRule differs from global_rule_groups()"
    );
    ensure!(
        !kinds.contains("ServiceMonitor"),
        "ServiceMonitor rendered although disabled by default"
    );
    ensure!(
        !docs.iter().any(
            |d| d["kind"] == "ConfigMap" && d["metadata"]["labels"]["grafana_dashboard"] == "1"
        ),
        "dashboard ConfigMaps rendered although disabled by default"
    );

    // Flags on: ServiceMonitor, dashboard ConfigMaps, and the runbook base from the values.
    let docs = helm_template(
        &helm,
        &[
            "--set",
            "serviceMonitor.enabled=true",
            "--set",
            "dashboards.enabled=true",
            "--set",
            "alerts.runbookBaseUrl=https://wiki.example.cn/sanxiang/runbooks/",
        ],
    )?;
    let rule = docs
        .iter()
        .find(|d| d["kind"] == "PrometheusRule")
        .context("no PrometheusRule")?;
    ensure!(rule["spec"] == global_rule_groups("https://wiki.example.cn/sanxiang/runbooks"));
    ensure!(
        docs.iter()
            .filter(|d| d["kind"] == "ServiceMonitor")
            .count()
            == 2
    );
    let dashboards: Vec<&Value> = docs
        .iter()
        .filter(|d| d["kind"] == "ConfigMap" && d["metadata"]["labels"]["grafana_dashboard"] == "1")
        .collect();
    let files = std::fs::read_dir(repo_root().join("dashboards"))?
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count();
    ensure!(
        dashboards.len() == files,
        "{} dashboard ConfigMaps for {files} dashboards",
        dashboards.len()
    );
    for cm in dashboards {
        for (name, text) in cm["data"].as_object().context("ConfigMap data")? {
            let json: Value = serde_json::from_str(text.as_str().unwrap_or_default())
                .with_context(|| format!("{name} is not JSON"))?;
            ensure!(json["uid"].is_string(), "{name} has no uid");
        }
    }
    let operator = docs
        .iter()
        .find(|d| {
            d["kind"] == "Deployment"
                && d["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("-operator"))
        })
        .context("no operator Deployment")?;
    let args = operator["spec"]["template"]["spec"]["containers"][0]["args"].clone();
    ensure!(
        args.as_array().is_some_and(|a| a
            .iter()
            .any(|x| x == "--runbook-base-url=https://wiki.example.cn/sanxiang/runbooks/")),
        "operator args {args}"
    );

    // values.schema.json catches typos.
    let typo = Command::new(&helm)
        .args(["template", "sanxiang", "--kube-version", KUBE_VERSION])
        .arg(&chart)
        .args(["--set", "serviceMonitr.enabled=true"])
        .output()?;
    ensure!(
        !typo.status.success(),
        "a misspelt top-level value was accepted"
    );
    Ok(())
}

#[test]
fn helm_install_is_accepted_by_the_apiserver() -> Result<()> {
    let platform = sanxiang_testkit::Platform::shared()?;
    let helm = &platform.tools.helm;
    let chart = repo_root().join("charts/sanxiang");
    let suffix: String = format!(
        "{:x}",
        std::process::id()
            ^ (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .subsec_nanos())
    );
    let namespace = format!("chart-test-{suffix}");
    let release = format!("sx-{suffix}");
    let kubeconfig = platform.kubeconfig();
    let helm_cmd = || {
        let mut c = Command::new(helm);
        c.arg("--kubeconfig").arg(&kubeconfig);
        // Keep helm's caches away from the user's home.
        c.env("HELM_CACHE_HOME", platform.state_dir.join("helm/cache"))
            .env("HELM_CONFIG_HOME", platform.state_dir.join("helm/config"))
            .env("HELM_DATA_HOME", platform.state_dir.join("helm/data"));
        c
    };
    let installed = run(helm_cmd()
        .args(["install", &release])
        .arg(&chart)
        .args([
            "--namespace",
            &namespace,
            "--create-namespace",
            "--wait=false",
            "--timeout",
            "2m",
        ])
        .args([
            "--set",
            "serviceMonitor.enabled=true",
            "--set",
            "dashboards.enabled=true",
            // Other tests apply the fixtures' WorkCalendars (cn-2025, cn-2026) to the shared
            // platform, as a province that keeps its own calendars would; the chart's
            // calendars are tested by e2e/tests/chart.rs.
            "--set",
            "workCalendars.enabled=false",
        ]));
    let result = (|| -> Result<()> {
        installed?;
        let out = run(platform.kubectl().args([
            "get",
            "deployments,services,serviceaccounts,configmaps,prometheusrules,servicemonitors",
            "-n",
            &namespace,
            "-o",
            "name",
        ]))?;
        for expected in [
            "deployment.apps/",
            "service/",
            "prometheusrule.monitoring.coreos.com/",
            "servicemonitor.monitoring.coreos.com/",
            "configmap/",
        ] {
            ensure!(
                out.contains(expected),
                "no {expected} object after helm install:\n{out}"
            );
        }
        let status = run(helm_cmd().args(["status", &release, "--namespace", &namespace]))?;
        ensure!(status.contains("STATUS: deployed"), "{status}");
        Ok(())
    })();
    let uninstalled = run(helm_cmd().args([
        "uninstall",
        &release,
        "--namespace",
        &namespace,
        "--wait=false",
    ]));
    let _ = platform
        .kubectl()
        .args([
            "delete",
            "namespace",
            &namespace,
            "--wait=false",
            "--ignore-not-found",
        ])
        .output();
    result?;
    if let Err(e) = uninstalled {
        bail!("helm uninstall failed: {e:#}");
    }
    Ok(())
}
