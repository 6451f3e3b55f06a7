//! Writes the Sanxiang CRDs as YAML, one file per kind, into `crds/yaml/` and
//! `charts/sanxiang/crds/` of the workspace.
//!
//! `crdgen --check` writes nothing and exits 1, naming each stale or missing file, when
//! the committed YAML differs from what the Rust types generate (for CI).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sanxiang_crds::{CRD_OUTPUT_DIRS, crd_manifests};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crds crate lives inside the workspace")
        .to_path_buf()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = match args.as_slice() {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => {
            eprintln!("usage: crdgen [--check]");
            return ExitCode::from(2);
        }
    };
    let root = workspace_root();
    let manifests = crd_manifests();
    let mut stale = Vec::new();
    for dir in CRD_OUTPUT_DIRS {
        let dir = root.join(dir);
        for (name, contents) in &manifests {
            let path = dir.join(name);
            let current = std::fs::read_to_string(&path).ok();
            if current.as_deref() == Some(contents.as_str()) {
                continue;
            }
            if check {
                let why = if current.is_none() {
                    "missing"
                } else {
                    "stale"
                };
                stale.push(format!("{} is {why}", path.display()));
                continue;
            }
            if let Err(e) =
                std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, contents))
            {
                eprintln!("crdgen: cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
            println!("wrote {}", path.display());
        }
    }
    if stale.is_empty() {
        return ExitCode::SUCCESS;
    }
    for s in &stale {
        eprintln!("crdgen: {s}");
    }
    eprintln!("crdgen: run `cargo run -p sanxiang-crds --bin crdgen` and commit the result");
    ExitCode::FAILURE
}
