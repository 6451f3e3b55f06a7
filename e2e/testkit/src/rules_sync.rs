//! Prometheus rule files from PrometheusRule objects. The local platform has no
//! Prometheus operator, so one pass of this sync writes each PrometheusRule's `spec` to a
//! rule file: `sanxiang-local rules-sync` runs it in a loop for `make up`, and the alert
//! tests run it once before asking Prometheus to reload.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::Result;

use crate::Platform;
use crate::platform::process;

/// One pass of the rule sync: every PrometheusRule's groups into `rules/<ns>_<name>.yaml`,
/// stale files removed; returns whether anything changed.
pub fn sync_rules_once(p: &Platform, rules_dir: &Path) -> Result<bool> {
    let out = process::run(
        p.kubectl()
            .args(["get", "prometheusrules", "--all-namespaces", "-o", "json"]),
        "listing PrometheusRules",
    )?;
    let list: serde_json::Value = serde_json::from_str(&out)?;
    let mut wanted = BTreeSet::new();
    let mut changed = false;
    for item in list["items"].as_array().into_iter().flatten() {
        let ns = item["metadata"]["namespace"].as_str().unwrap_or("cluster");
        let name = item["metadata"]["name"].as_str().unwrap_or("rule");
        let file = format!("{ns}_{name}.yaml");
        let content = serde_yaml::to_string(&item["spec"])?;
        let path = rules_dir.join(&file);
        if fs::read_to_string(&path).ok().as_deref() != Some(content.as_str()) {
            fs::write(&path, content)?;
            changed = true;
        }
        wanted.insert(file);
    }
    for entry in fs::read_dir(rules_dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".yaml") && !wanted.contains(&name) {
            fs::remove_file(entry.path())?;
            changed = true;
        }
    }
    Ok(changed)
}
