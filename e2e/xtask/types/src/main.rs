//! The second step of `cargo xtask generate [--check]` (see `e2e/xtask`): the files derived
//! from the product crates' Rust types. It is a package of its own because it links the
//! product crates, which compile only once sqlx's offline data (the first step) is current.
//!
//! | files | generated from |
//! |---|---|
//! | `crds/yaml/*.yaml`, `charts/sanxiang/crds/*.yaml` | the CRD types (`sanxiang_crds::crd_manifests`) |
//! | `e2e/fixtures/ecosystem-crds/monitoring.coreos.com_alertmanagerconfigs.yaml`, `charts/sanxiang/templates/alertmanagerconfig-crd.yaml` | the AlertmanagerConfig subset (`sanxiang_crds::alertmanager_config_crd_manifest`) |
//! | `charts/sanxiang/templates/prometheusrule-global.yaml`, `dashboards/tests/sample-rules.yaml` | the alert builder (`sanxiang_operator::rule_files`) |
//! | `charts/sanxiang/dashboards/*.json` | copies of `dashboards/*.json` |
//! | `tenant-service/openapi.json` | the tenant service's handlers and types (`sanxiang_tenant_service::api::openapi`, `utoipa`) |
//! | `tenant-service/supervision/openapi.json` | the supervision workspace's handlers and types (`sanxiang_supervision::api::openapi`, `utoipa`) |
//! | `tenant-service/disclosure-platform/openapi.json` | the disclosure platform's public API handlers and types (`sanxiang_disclosure::web::openapi`, `utoipa`) |
//!
//! Without `--check` it writes what differs and names each file; with `--check` it writes
//! nothing and exits 1 naming each stale file (the test command runs it).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A file that should exist with these contents.
struct Generated {
    path: PathBuf,
    contents: Vec<u8>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(3)
        .expect("xtask-types lives at e2e/xtask/types")
        .to_path_buf()
}

fn crds() -> Vec<Generated> {
    let mut out = Vec::new();
    for dir in sanxiang_crds::CRD_OUTPUT_DIRS {
        for (name, contents) in sanxiang_crds::crd_manifests() {
            out.push(Generated {
                path: Path::new(dir).join(name),
                contents: contents.into_bytes(),
            });
        }
    }
    for (path, contents) in sanxiang_crds::alertmanager_config_crd_manifest() {
        out.push(Generated {
            path: path.into(),
            contents: contents.into_bytes(),
        });
    }
    out
}

fn rule_files() -> Vec<Generated> {
    sanxiang_operator::rule_files::generated_rule_files()
        .into_iter()
        .map(|(path, contents)| Generated {
            path: path.into(),
            contents: contents.into_bytes(),
        })
        .collect()
}

fn chart_dashboards(root: &Path) -> Result<Vec<Generated>, String> {
    let dir = root.join("dashboards");
    let mut out = Vec::new();
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|x| x == "json") {
            let name = path.file_name().expect("a file").to_owned();
            out.push(Generated {
                path: Path::new("charts/sanxiang/dashboards").join(name),
                contents: std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?,
            });
        }
    }
    Ok(out)
}

/// The OpenAPI documents of the tenant service, the supervision workspace and the disclosure
/// platform's public API, from their handlers and types (`utoipa`).
fn openapi() -> Vec<Generated> {
    vec![
        Generated {
            path: "tenant-service/openapi.json".into(),
            contents: sanxiang_tenant_service::api::openapi::document().into_bytes(),
        },
        Generated {
            path: "tenant-service/supervision/openapi.json".into(),
            contents: sanxiang_supervision::api::openapi::document().into_bytes(),
        },
        Generated {
            path: "tenant-service/disclosure-platform/openapi.json".into(),
            contents: sanxiang_disclosure::web::openapi::document().into_bytes(),
        },
    ]
}

fn generate(check: bool) -> Result<Vec<String>, String> {
    let root = workspace_root();
    let mut files = crds();
    files.extend(rule_files());
    files.extend(chart_dashboards(&root)?);
    files.extend(openapi());
    let mut stale = Vec::new();
    for f in files {
        let path = root.join(&f.path);
        let current = std::fs::read(&path).ok();
        if current.as_deref() == Some(f.contents.as_slice()) {
            continue;
        }
        let why = if current.is_none() {
            "missing"
        } else {
            "stale"
        };
        if check {
            stale.push(format!("{} is {why}", f.path.display()));
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&path, &f.contents).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {} (was {why})", f.path.display());
    }
    Ok(stale)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["generate"] => false,
        ["generate", "--check"] => true,
        _ => {
            eprintln!("usage: xtask-types generate [--check] (run by `cargo xtask generate`)");
            return ExitCode::from(2);
        }
    };
    match generate(check) {
        Ok(stale) if stale.is_empty() => ExitCode::SUCCESS,
        Ok(stale) => {
            for s in &stale {
                eprintln!("xtask: {s}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
