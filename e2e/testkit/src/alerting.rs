//! Alertmanager on the local platform, and the loop that stands in for prometheus-operator's
//! handling of `AlertmanagerConfig` objects.
//!
//! One pass ([`sync_alertmanager_once`]): list the AlertmanagerConfigs and the namespaces'
//! city and province labels, render them with [`sanxiang_operator::alertmanager::render`] (the city
//! matcher enforced), check each accepted object on its own with `amtool check-config`
//! (so that a mistake the validation did not foresee is pinned on its object, not on the
//! whole file), write the file when it changed, check it once more, ask Alertmanager to
//! reload (`POST /-/reload`), and record on each object an `Accepted` condition naming the
//! field of each error. A rejected object never stops the others from being routed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use sanxiang_crds::alertmanager_config::{ACCEPTED, AlertmanagerConfigSpec};
use sanxiang_crds::field_error::FieldError;
use sanxiang_operator::alertmanager::{RoutingObject, render, render_alone};
use sanxiang_operator::jurisdiction::{CITY_CODE_LABEL, PROVINCE_CODE_LABEL};
use serde_json::{Value, json};

use crate::Platform;
use crate::platform::process;

/// Alertmanager's files under `dir`: `alertmanager.yml` and `data/`.
pub fn config_path(dir: &Path) -> PathBuf {
    dir.join("alertmanager.yml")
}

/// Command-line arguments of an Alertmanager serving `dir`'s configuration on `port`
/// (127.0.0.1 only, no cluster gossip: one instance).
pub fn alertmanager_args(dir: &Path, port: u16) -> Vec<String> {
    vec![
        format!("--config.file={}", config_path(dir).display()),
        format!("--storage.path={}", dir.join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--cluster.listen-address=".into(),
        "--log.level=info".into(),
    ]
}

/// Writes a configuration routing nothing if `dir` has none yet (Alertmanager needs one to
/// start; the first sync fills it).
pub fn ensure_initial_config(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir.join("data"))?;
    let path = config_path(dir);
    if !path.exists() {
        fs::write(&path, serde_yaml::to_string(&render(&[]).config)?)?;
    }
    Ok(())
}

/// `amtool check-config` on `yaml`; `Err` carries amtool's explanation.
pub fn amtool_check(amtool: &Path, yaml: &str) -> Result<Result<(), String>> {
    let file = tempfile_in_tmp(yaml)?;
    let out = Command::new(amtool)
        .arg("check-config")
        .arg(&file)
        .output()
        .with_context(|| format!("running {}", amtool.display()))?;
    let _ = fs::remove_file(&file);
    if out.status.success() {
        return Ok(Ok(()));
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let why = text
        .lines()
        .filter(|l| l.contains("FAILED") || l.contains("error") || l.contains(':'))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    Ok(Err(if why.is_empty() { text } else { why }))
}

fn tempfile_in_tmp(contents: &str) -> Result<PathBuf> {
    let path = std::env::temp_dir().join(format!(
        "sanxiang-am-{}-{}.yml",
        std::process::id(),
        rand::random::<u64>()
    ));
    fs::write(&path, contents)?;
    Ok(path)
}

/// What one pass did.
#[derive(Debug, Default)]
pub struct SyncOutcome {
    /// Whether the file changed (and Alertmanager was asked to reload).
    pub changed: bool,
    /// `namespace/name` of the objects left out, with their errors.
    pub rejected: Vec<(String, Vec<FieldError>)>,
}

/// One pass of the sync into `dir`; `port` is the Alertmanager to reload (`None`: only
/// write the file, e.g. before Alertmanager starts).
pub fn sync_alertmanager_once(p: &Platform, dir: &Path, port: Option<u16>) -> Result<SyncOutcome> {
    let list: Value = serde_json::from_str(&process::run(
        p.kubectl().args([
            "get",
            "alertmanagerconfigs",
            "--all-namespaces",
            "-o",
            "json",
        ]),
        "listing AlertmanagerConfigs",
    )?)?;
    let namespaces: Value = serde_json::from_str(&process::run(
        p.kubectl().args(["get", "namespaces", "-o", "json"]),
        "listing namespaces",
    )?)?;
    let label_of = |ns: &str, label: &str| {
        namespaces["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["metadata"]["name"] == ns)
            .and_then(|n| n["metadata"]["labels"][label].as_str())
            .map(str::to_string)
    };
    let items: Vec<&Value> = list["items"].as_array().into_iter().flatten().collect();
    let mut objects = Vec::new();
    let mut errors: Vec<Option<Vec<FieldError>>> = Vec::new();
    for item in &items {
        let namespace = item["metadata"]["namespace"].as_str().unwrap_or_default();
        let spec: std::result::Result<AlertmanagerConfigSpec, _> = if item["spec"].is_null() {
            Ok(AlertmanagerConfigSpec::default())
        } else {
            serde_path_to_error::deserialize(&item["spec"])
        };
        let (spec, error) = match spec {
            Ok(s) => (s, None),
            Err(e) => (
                AlertmanagerConfigSpec::default(),
                Some(vec![FieldError::new(
                    format!("spec.{}", e.path()),
                    e.inner().to_string(),
                )]),
            ),
        };
        objects.push(RoutingObject {
            namespace: namespace.to_string(),
            name: item["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            city: label_of(namespace, CITY_CODE_LABEL),
            province: label_of(namespace, PROVINCE_CODE_LABEL),
            spec,
        });
        errors.push(error);
    }
    // Validation, then amtool on each object alone: only objects that pass both are kept.
    let first = render(&objects);
    let mut kept = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        if errors[i].is_some() {
            continue;
        }
        if let Err(e) = &first.results[i] {
            errors[i] = Some(e.clone());
            continue;
        }
        let alone = serde_yaml::to_string(&render_alone(object).config)?;
        match amtool_check(&p.tools.amtool, &alone)? {
            Ok(()) => kept.push(object.clone()),
            Err(why) => {
                errors[i] = Some(vec![FieldError::new(
                    "spec",
                    format!("Alertmanager refuses the rendered configuration: {why}"),
                )])
            }
        }
    }
    let yaml = serde_yaml::to_string(&render(&kept).config)?;
    let path = config_path(dir);
    let mut outcome = SyncOutcome::default();
    if fs::read_to_string(&path).ok().as_deref() != Some(yaml.as_str()) {
        match amtool_check(&p.tools.amtool, &yaml)? {
            Ok(()) => {
                fs::create_dir_all(dir)?;
                fs::write(&path, &yaml)?;
                outcome.changed = true;
            }
            // Each object passed alone; together they cannot fail unless two collide,
            // which the prefixed names prevent. Keep the running file if it happens.
            Err(why) => anyhow::bail!("the combined configuration is refused: {why}"),
        }
    }
    if outcome.changed
        && let Some(port) = port
    {
        match process::http_request(port, "POST", "/-/reload") {
            Ok((200, _)) => {}
            Ok((status, body)) => anyhow::bail!("Alertmanager reload answered {status}: {body}"),
            Err(e) => anyhow::bail!("reloading Alertmanager: {e}"),
        }
    }
    for (item, error) in items.iter().zip(errors) {
        let key = format!(
            "{}/{}",
            item["metadata"]["namespace"].as_str().unwrap_or_default(),
            item["metadata"]["name"].as_str().unwrap_or_default()
        );
        write_condition(p, item, error.as_deref())?;
        if let Some(e) = error {
            outcome.rejected.push((key, e));
        }
    }
    Ok(outcome)
}

/// Sets the `Accepted` condition when it differs from what the object shows.
fn write_condition(p: &Platform, item: &Value, errors: Option<&[FieldError]>) -> Result<()> {
    let generation = item["metadata"]["generation"].as_i64();
    let (status, reason, message) = match errors {
        None => (
            "True",
            "Accepted",
            "routed by the local Alertmanager (city matcher enforced)".to_string(),
        ),
        Some(e) => (
            "False",
            "InvalidSpec",
            e.iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    };
    let current = item["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == ACCEPTED);
    if current.is_some_and(|c| {
        c["status"] == status
            && c["reason"] == reason
            && c["message"] == message.as_str()
            && c["observedGeneration"].as_i64() == generation
    }) {
        return Ok(());
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let patch = json!({"status": {"conditions": [{
        "type": ACCEPTED, "status": status, "reason": reason, "message": message,
        "observedGeneration": generation, "lastTransitionTime": now,
    }]}});
    process::run(
        p.kubectl().args([
            "patch",
            "alertmanagerconfig",
            "-n",
            item["metadata"]["namespace"].as_str().unwrap_or_default(),
            item["metadata"]["name"].as_str().unwrap_or_default(),
            "--subresource=status",
            "--type=merge",
            "-p",
            &patch.to_string(),
        ]),
        "writing an AlertmanagerConfig's status",
    )?;
    Ok(())
}
