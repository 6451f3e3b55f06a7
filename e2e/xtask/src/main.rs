//! `cargo xtask generate [--check]`: the one entry point for every file generated from the
//! Rust sources and committed, in two steps.
//!
//! | files | generated from |
//! |---|---|
//! | `tenant-service/.sqlx/query-*.json` | the crate's queries described by a database migrated with its `migrations/` ([`sqlx_data`]) |
//! | CRD YAML, chart rules and dashboards, the OpenAPI documents (`tenant-service/openapi.json`, `tenant-service/supervision/openapi.json`, `tenant-service/disclosure-platform/openapi.json`) | the product crates' types (package `xtask-types`, `e2e/xtask/types`) |
//!
//! The first step runs here, in a package that links no product crate: those compile from
//! sqlx's offline data, so regenerating it must not need them. The second runs
//! `xtask-types`, which links them, once the data is current.
//!
//! Without `--check` it writes what differs and names each file; with `--check` it writes
//! nothing and exits 1 naming each stale file or query (the test command runs it).

mod postgres;
mod sqlx_data;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("xtask lives at e2e/xtask")
        .to_path_buf()
}

/// A `cargo` command as from the shell that ran `cargo xtask`: without the variables
/// `cargo run` set for this program (its package's `CARGO_PKG_*`, the library path), which
/// build scripts watch, so the inner build reuses the artifacts of the ordinary ones.
pub fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let set_by_cargo_run = (key.starts_with("CARGO_")
            && !matches!(key.as_ref(), "CARGO_HOME" | "CARGO_TARGET_DIR"))
            || key == "LD_LIBRARY_PATH"
            || key == "OUT_DIR";
        if set_by_cargo_run {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd.current_dir(root);
    cmd
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
            eprintln!("usage: cargo xtask generate [--check]");
            return ExitCode::from(2);
        }
    };
    let root = workspace_root();
    let mut failed = false;
    match sqlx_data::run(&root, check) {
        Ok(problems) => {
            for p in &problems {
                eprintln!("xtask: {p}");
            }
            failed |= !problems.is_empty();
        }
        Err(e) => {
            eprintln!("xtask: sqlx offline data: {e}");
            // The product crates would not compile without current data.
            if !check {
                return ExitCode::FAILURE;
            }
            failed = true;
        }
    }
    let mut types = cargo(&root);
    types.args([
        "run",
        "--quiet",
        "--locked",
        "-p",
        "xtask-types",
        "--",
        "generate",
    ]);
    if check {
        types.arg("--check");
    }
    match types.status() {
        Ok(s) if s.success() => {}
        Ok(_) => failed = true,
        Err(e) => {
            eprintln!("xtask: running xtask-types: {e}");
            failed = true;
        }
    }
    if failed {
        if check {
            eprintln!("xtask: run `cargo xtask generate` and commit the result");
        }
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
