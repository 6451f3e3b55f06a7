//! sqlx's offline data: the `.sqlx/query-<hash>.json` files beside each crate whose SQL is
//! checked at compile time (`sqlx::query!`, `query_as!`, `query_scalar!`): the tenant service,
//! and the supervision workspace (its own database and migrations). Builds never
//! connect to a database: `.cargo/config.toml` sets `SQLX_OFFLINE=true` for every cargo
//! build, so the macros read these files, and fail on a query that has none.
//!
//! - `generate` migrates a fresh database on a throwaway cluster ([`TempPostgres`]) with the
//!   crate's `migrations/`, compiles the crate against it with `SQLX_OFFLINE_DIR` set (the
//!   macros then describe every query to PostgreSQL and write its file) and replaces the
//!   committed files with what the build wrote (removing files no query uses any more).
//! - `--check` asks the freshly migrated tables to describe every committed query again
//!   (`sqlx::Executor::describe`, what the macros do) and names each query and column whose
//!   types, nullability or parameters differ: a migration that changes a column fails the
//!   test command until the data is regenerated, and the compiler then names the code that
//!   no longer fits. A query with no committed file fails the (offline) build itself.

use crate::postgres::TempPostgres;
use serde_json::{Value, json};
use sqlx::postgres::{PgTypeInfo, Postgres};
use sqlx::{Column, Connection, Describe, Either, Executor, PgConnection};
use std::path::{Path, PathBuf};

/// A crate with compile-time checked SQL: its package and its directory (which holds
/// `migrations/` and `.sqlx/`).
struct SqlxCrate {
    package: &'static str,
    dir: &'static str,
}

const CRATES: &[SqlxCrate] = &[
    SqlxCrate {
        package: "sanxiang-tenant-service",
        dir: "tenant-service",
    },
    SqlxCrate {
        package: "sanxiang-supervision",
        dir: "tenant-service/supervision",
    },
];

/// Regenerates (`check == false`) or checks every crate's offline data; returns the
/// problems found by a check (a regeneration either succeeds or errs).
pub fn run(root: &Path, check: bool) -> Result<Vec<String>, String> {
    let pg = TempPostgres::start()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    let mut problems = Vec::new();
    for krate in CRATES {
        let url = rt.block_on(migrated_database(&pg, root, krate))?;
        if check {
            problems.extend(rt.block_on(check_crate(&url, root, krate))?);
        } else {
            generate_crate(&url, root, krate)?;
        }
    }
    Ok(problems)
}

fn data_dir(root: &Path, krate: &SqlxCrate) -> PathBuf {
    root.join(krate.dir).join(".sqlx")
}

/// A new database named after the package, with the crate's migrations applied.
async fn migrated_database(
    pg: &TempPostgres,
    root: &Path,
    krate: &SqlxCrate,
) -> Result<String, String> {
    let name = krate.package.replace('-', "_");
    let mut admin = PgConnection::connect(&pg.url("postgres"))
        .await
        .map_err(|e| format!("connecting to the throwaway PostgreSQL: {e}"))?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
    let url = pg.url(&name);
    let mut conn = PgConnection::connect(&url)
        .await
        .map_err(|e| format!("connecting to {name}: {e}"))?;
    let migrations = root.join(krate.dir).join("migrations");
    sqlx::migrate::Migrator::new(migrations.as_path())
        .await
        .map_err(|e| format!("{}: {e}", migrations.display()))?
        .run(&mut conn)
        .await
        .map_err(|e| format!("applying {}: {e}", migrations.display()))?;
    Ok(url)
}

fn generate_crate(url: &str, root: &Path, krate: &SqlxCrate) -> Result<(), String> {
    let out = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    // The macros run only when the crate compiles: make it stale (bins follow the lib).
    let lib = root.join(krate.dir).join("src/lib.rs");
    std::fs::File::options()
        .append(true)
        .open(&lib)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()))
        .map_err(|e| format!("touching {}: {e}", lib.display()))?;
    let status = crate::cargo(root)
        .args([
            "check",
            "--quiet",
            "--locked",
            "--lib",
            "--bins",
            "-p",
            krate.package,
        ])
        .env("DATABASE_URL", url)
        .env("SQLX_OFFLINE", "false")
        .env("SQLX_OFFLINE_DIR", out.path())
        .status()
        .map_err(|e| format!("cargo check -p {}: {e}", krate.package))?;
    if !status.success() {
        return Err(format!(
            "cargo check -p {} against the migrated database failed ({status}): the errors \
             above name the queries",
            krate.package
        ));
    }
    replace_dir(out.path(), &data_dir(root, krate), root)
}

/// Makes `dest` hold exactly the files of `src`, naming each change.
fn replace_dir(src: &Path, dest: &Path, root: &Path) -> Result<(), String> {
    let shown = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
    std::fs::create_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let fresh = json_files(src)?;
    for old in json_files(dest)? {
        if !fresh.iter().any(|f| f.file_name() == old.file_name()) {
            std::fs::remove_file(&old).map_err(|e| format!("{}: {e}", old.display()))?;
            println!("removed {} (no query uses it)", shown(&old));
        }
    }
    for f in fresh {
        let target = dest.join(f.file_name().expect("a file"));
        let contents = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let current = std::fs::read(&target).ok();
        if current.as_deref() == Some(contents.as_slice()) {
            continue;
        }
        std::fs::write(&target, &contents).map_err(|e| format!("{}: {e}", target.display()))?;
        let why = if current.is_some() {
            "stale"
        } else {
            "missing"
        };
        println!("wrote {} (was {why})", shown(&target));
    }
    Ok(())
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    files.sort();
    Ok(files)
}

async fn check_crate(url: &str, root: &Path, krate: &SqlxCrate) -> Result<Vec<String>, String> {
    let mut conn = PgConnection::connect(url)
        .await
        .map_err(|e| format!("connecting to the migrated database: {e}"))?;
    let mut problems = Vec::new();
    for path in json_files(&data_dir(root, krate))? {
        let shown = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{shown}: {e}"))?;
        let file: Value = serde_json::from_str(&text).map_err(|e| format!("{shown}: {e}"))?;
        let Some(query) = file["query"].as_str() else {
            problems.push(format!("{shown}: no `query` string"));
            continue;
        };
        let label = format!("{shown} ({})", excerpt(query));
        let fresh = match conn.describe(query).await {
            Ok(d) => described(&d),
            Err(e) => {
                problems.push(format!("{label}: the migrated database rejects it: {e}"));
                continue;
            }
        };
        problems.extend(
            describe_differences(&file["describe"], &fresh)
                .into_iter()
                .map(|d| format!("{label}: {d}")),
        );
    }
    Ok(problems)
}

/// The database's description in the offline files' shape (`columns` with `name` and
/// `type_info`, `parameters`, `nullable`). A type is its sqlx name, the variant of
/// `PgType` the files hold, read from its `Debug` form: the serialisable form needs
/// sqlx-postgres' `offline` feature, which would give this package other sqlx builds than
/// the product crates' (each `cargo` run would rebuild sqlx and everything above it).
fn described(d: &Describe<Postgres>) -> Value {
    let type_name = |t: &PgTypeInfo| {
        let debug = format!("{t:?}");
        let name = debug
            .strip_prefix("PgTypeInfo(")
            .and_then(|s| s.strip_suffix(')'))
            .unwrap_or(&debug);
        Value::String(name.to_string())
    };
    let columns: Vec<Value> = d
        .columns
        .iter()
        .enumerate()
        .map(
            |(i, c)| json!({"ordinal": i, "name": c.name(), "type_info": type_name(c.type_info())}),
        )
        .collect();
    let parameters = match &d.parameters {
        Some(Either::Left(types)) => {
            json!({"Left": types.iter().map(type_name).collect::<Vec<_>>()})
        }
        Some(Either::Right(n)) => json!({"Right": n}),
        None => Value::Null,
    };
    json!({"columns": columns, "parameters": parameters, "nullable": d.nullable})
}

/// The query's start on one line, for messages.
fn excerpt(query: &str) -> String {
    let one_line = query.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(90) {
        Some((i, _)) => format!("`{}…`", &one_line[..i]),
        None => format!("`{one_line}`"),
    }
}

/// What differs between the committed description and the database's, column by column.
fn describe_differences(committed: &Value, fresh: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let columns = |d: &Value| d["columns"].as_array().cloned().unwrap_or_default();
    let (old, new) = (columns(committed), columns(fresh));
    let name = |c: &Value| c["name"].as_str().unwrap_or("?").to_string();
    if old.len() != new.len() {
        out.push(format!(
            "the database returns {} columns ({}), the committed data {} ({})",
            new.len(),
            new.iter().map(name).collect::<Vec<_>>().join(", "),
            old.len(),
            old.iter().map(name).collect::<Vec<_>>().join(", "),
        ));
        return out;
    }
    for (i, (o, n)) in old.iter().zip(&new).enumerate() {
        let column = format!("column {i} `{}`", name(n));
        if o["name"] != n["name"] {
            out.push(format!("{column}: committed as `{}`", name(o)));
        }
        if o["type_info"] != n["type_info"] {
            out.push(format!(
                "{column}: type {} in the database, {} committed",
                n["type_info"], o["type_info"]
            ));
        }
        let nullable = |d: &Value| d["nullable"].get(i).cloned().unwrap_or(Value::Null);
        if nullable(committed) != nullable(fresh) {
            out.push(format!(
                "{column}: nullable {} in the database, {} committed",
                nullable(fresh),
                nullable(committed)
            ));
        }
    }
    if committed["parameters"] != fresh["parameters"] {
        out.push(format!(
            "parameters {} in the database, {} committed",
            fresh["parameters"], committed["parameters"]
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::describe_differences;
    use serde_json::json;

    #[test]
    fn names_the_column_whose_nullability_or_type_changed() {
        let committed = json!({
            "columns": [{"ordinal": 0, "name": "id", "type_info": "Uuid"},
                        {"ordinal": 1, "name": "facts", "type_info": "Text"}],
            "parameters": {"Left": ["Uuid"]},
            "nullable": [false, false]
        });
        let fresh = json!({
            "columns": [{"ordinal": 0, "name": "id", "type_info": "Uuid"},
                        {"ordinal": 1, "name": "facts", "type_info": "Varchar"}],
            "parameters": {"Left": ["Uuid"]},
            "nullable": [false, true]
        });
        assert_eq!(
            describe_differences(&committed, &fresh),
            vec![
                "column 1 `facts`: type \"Varchar\" in the database, \"Text\" committed",
                "column 1 `facts`: nullable true in the database, false committed",
            ]
        );
        assert!(describe_differences(&committed, &committed).is_empty());
    }
}
