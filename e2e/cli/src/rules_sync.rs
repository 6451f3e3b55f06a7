//! `sanxiang-local rules-sync`: the detached loop `up` starts, because the local platform
//! has no Prometheus operator. Every 10 s it writes each PrometheusRule's groups to a rule
//! file ([`sanxiang_testkit::rules_sync::sync_rules_once`]) and renders the cities'
//! AlertmanagerConfigs ([`sanxiang_testkit::alerting`]), then asks Prometheus and
//! Alertmanager to reload what changed.

use std::fs;
use std::time::Duration;

use anyhow::Result;

use sanxiang_testkit::Platform;
use sanxiang_testkit::platform::process;
use sanxiang_testkit::rules_sync::sync_rules_once;

use crate::up::AppPorts;

/// Runs the rule sync forever (the `rules-sync` process): PrometheusRules into Prometheus,
/// AlertmanagerConfigs into Alertmanager ([`sanxiang_testkit::alerting`]).
pub fn rules_sync_loop(p: &Platform) -> Result<()> {
    let ports = AppPorts::load_or_create(p)?;
    let rules_dir = p.state_dir.join("prometheus/rules");
    fs::create_dir_all(&rules_dir)?;
    let alertmanager_dir = p.state_dir.join("alertmanager");
    let mut reported = String::new();
    loop {
        match sanxiang_testkit::alerting::sync_alertmanager_once(
            p,
            &alertmanager_dir,
            Some(ports.alertmanager),
        ) {
            Ok(outcome) => {
                // Said once per change; the objects' Accepted conditions say it for good.
                let now = format!("{:?}", outcome.rejected);
                if now != reported {
                    for (object, errors) in &outcome.rejected {
                        eprintln!("rules-sync: AlertmanagerConfig {object} left out: {errors:?}");
                    }
                    reported = now;
                }
            }
            Err(e) => eprintln!("rules-sync: alertmanager: {e:#}"),
        }
        match sync_rules_once(p, &rules_dir) {
            Ok(true) => match process::http_request(ports.prometheus, "POST", "/-/reload") {
                Ok((200, _)) => {}
                Ok((status, body)) => eprintln!("rules-sync: reload answered {status}: {body}"),
                Err(e) => eprintln!("rules-sync: reloading Prometheus failed: {e}"),
            },
            Ok(false) => {}
            Err(e) => eprintln!("rules-sync: {e:#}"),
        }
        std::thread::sleep(Duration::from_secs(10));
    }
}
