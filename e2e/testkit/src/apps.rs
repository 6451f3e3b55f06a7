//! The application binaries on top of the local platform and the state they share with
//! the tests: where the debug binaries are, which command line identifies each detached
//! application (so `down` never signals a recycled pid), and the supervision workspace's
//! own database. `sanxiang-local up` starts the applications; the system tests start the
//! same binaries themselves.

use std::path::PathBuf;

use anyhow::Result;

use crate::Platform;
use crate::operator::workspace_root;
use crate::platform::process;

/// Where the application binaries are (built by `cargo build`).
pub struct AppBinaries {
    pub operator: PathBuf,
    pub tenant_service: PathBuf,
    pub disclosure: PathBuf,
    pub supervision: PathBuf,
    pub local: PathBuf,
}

impl AppBinaries {
    /// The debug binaries of this workspace (`$CARGO_TARGET_DIR` honoured).
    pub fn from_target_dir() -> Self {
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| workspace_root().join("target"));
        let dir = target.join("debug");
        Self {
            operator: dir.join("sanxiang-operator"),
            tenant_service: dir.join("sanxiang-tenant-service"),
            disclosure: dir.join("sanxiang-disclosure"),
            supervision: dir.join("sanxiang-supervision"),
            local: std::env::current_exe().unwrap_or_else(|_| dir.join("sanxiang-local")),
        }
    }
}

/// The supervision workspace's database on the platform's PostgreSQL, and the role that
/// owns it: the workspace migrates its own schema, so it owns its database, and nothing
/// else (no superuser, no CREATEDB, no CREATEROLE, no access to any tenant database, whose
/// CONNECT is revoked from PUBLIC).
pub const SUPERVISION_DATABASE: &str = "sanxiang_supervision";
pub const SUPERVISION_ROLE: &str = "sanxiang_supervision";

/// The workspace's URL: its own role on its own database. The password is derived from
/// the superuser's random one, as the operator role's is (a local, disposable platform).
pub fn supervision_postgres_url(p: &Platform) -> String {
    format!(
        "postgres://{SUPERVISION_ROLE}:sv{}@127.0.0.1:{}/{SUPERVISION_DATABASE}",
        p.postgres_password, p.ports.postgres
    )
}

/// Creates the workspace's role and database (as the superuser) if they are missing, and
/// hands a database created by an earlier version (owned by the superuser) to the role.
pub fn ensure_supervision_database(p: &Platform) -> Result<()> {
    let psql = |sql: &str| {
        let mut cmd = std::process::Command::new(p.tools.postgres_bin.join("psql"));
        cmd.args(["-h", "127.0.0.1", "-p", &p.ports.postgres.to_string()])
            .args(["-U", "postgres", "-d", "postgres", "-tAc", sql])
            .env("PGPASSWORD", &p.postgres_password);
        process::run(&mut cmd, "psql (the supervision database)")
    };
    let (role, db) = (SUPERVISION_ROLE, SUPERVISION_DATABASE);
    if psql(&format!("SELECT 1 FROM pg_roles WHERE rolname = '{role}'"))?.trim() != "1" {
        psql(&format!(
            "CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'sv{}'",
            p.postgres_password
        ))?;
    }
    if psql(&format!("SELECT 1 FROM pg_database WHERE datname = '{db}'"))?.trim() != "1" {
        psql(&format!("CREATE DATABASE {db} OWNER {role}"))?;
    } else {
        psql(&format!("ALTER DATABASE {db} OWNER TO {role}"))?;
    }
    Ok(())
}

/// What the command line of application `name` contains (checked before it is signalled,
/// so a reused pid is never stopped).
pub fn name_needle(name: &str) -> &str {
    match name {
        "tenant-service" => "sanxiang-tenant-service",
        "disclosure-platform" => "sanxiang-disclosure",
        "supervision" => "sanxiang-supervision",
        "rules-sync" => "rules-sync",
        "alertmanager" => "prometheus-alertmanager",
        other => other,
    }
}
