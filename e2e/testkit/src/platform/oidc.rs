//! The OpenID Connect provider of the local platform: Ory Hydra (built from its Go
//! module, storing its state in the platform's PostgreSQL, database `hydra`) and its
//! login/consent app `sanxiang-login` (`e2e/tools/hydra/loginapp`), which signs in the
//! sample users of `e2e/fixtures/oidc/users.json` and registers the OAuth 2.0 clients
//! listed there.
//!
//! Hydra issues JWT access tokens (RS256, keys rotated through its admin API) whose
//! audience is what the client requested and was granted, and whose top-level `groups`
//! claim the tenant service maps to roles.

use std::fs;
use std::process::Command;

use anyhow::{Context, Result};

use super::Platform;
use super::process::{self, Spawn, http_get};

/// The audience of the tenant API in the provider's tokens.
pub const TENANT_API_AUDIENCE: &str = "sanxiang-tenant-api";
/// The public client of the sample users file (authorization code with PKCE).
pub const CONSOLE_CLIENT_ID: &str = "sanxiang-console";
/// Its registered redirect URI.
pub const CONSOLE_REDIRECT_URI: &str = "http://127.0.0.1/callback";
/// The password of every sample user.
pub const SAMPLE_PASSWORD: &str = "sanxiang-demo";

impl Platform {
    /// The issuer, exactly as Hydra writes it into `iss`.
    pub fn oidc_issuer(&self) -> String {
        format!("http://127.0.0.1:{}/", self.ports.hydra_public)
    }

    /// Hydra's admin API (keys, clients, login and consent requests).
    pub fn hydra_admin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.hydra_admin)
    }

    /// The sample users and clients file.
    pub fn oidc_users_file() -> std::path::PathBuf {
        crate::operator::e2e_dir().join("fixtures/oidc/users.json")
    }
}

fn hydra_dsn(p: &Platform) -> String {
    format!("{}?sslmode=disable&max_conns=10", p.postgres_url("hydra"))
}

/// Creates the `hydra` database if it is missing and applies Hydra's migrations.
fn prepare_database(p: &Platform) -> Result<()> {
    let psql = |sql: &str| {
        let mut cmd = Command::new(p.tools.postgres_bin.join("psql"));
        cmd.args(["-h", "127.0.0.1", "-p", &p.ports.postgres.to_string()])
            .args(["-U", "postgres", "-d", "postgres", "-tAc", sql])
            .env("PGPASSWORD", &p.postgres_password);
        process::run(&mut cmd, "psql (Hydra's database)")
    };
    if psql("SELECT 1 FROM pg_database WHERE datname = 'hydra'")?.trim() != "1" {
        psql("CREATE DATABASE hydra")?;
    }
    let mut migrate = Command::new(&p.tools.hydra);
    migrate
        .args(["migrate", "sql", "up", "--read-from-env", "--yes"])
        .env("DSN", hydra_dsn(p));
    process::run(&mut migrate, "hydra migrate sql up").context("migrating Hydra's database")?;
    Ok(())
}

pub(super) fn start_hydra(p: &Platform) -> Result<u32> {
    fs::create_dir_all(p.state_dir.join("logs"))?;
    let dir = p.state_dir.join("hydra");
    fs::create_dir_all(&dir)?;
    prepare_database(p)?;
    let secret_file = dir.join("system-secret");
    if !secret_file.exists() {
        fs::write(&secret_file, super::random_secret())?;
    }
    let secret = fs::read_to_string(&secret_file)?;
    let config = dir.join("hydra.yml");
    let login = format!("http://127.0.0.1:{}", p.ports.hydra_login);
    fs::write(
        &config,
        format!(
            "serve:\n  public: {{host: 127.0.0.1, port: {public}}}\n  admin: {{host: 127.0.0.1, port: {admin}}}\n\
             urls:\n  self: {{issuer: \"{issuer}\"}}\n  login: {login}/login\n  consent: {login}/consent\n\
             secrets:\n  system: [\"{secret}\"]\n\
             strategies:\n  access_token: jwt\n\
             ttl:\n  access_token: 1h\n  id_token: 1h\n\
             oauth2:\n  pkce: {{enforced_for_public_clients: true}}\n  allowed_top_level_claims: [groups, name]\n  mirror_top_level_claims: false\n\
             log:\n  level: info\n",
            public = p.ports.hydra_public,
            admin = p.ports.hydra_admin,
            issuer = p.oidc_issuer(),
        ),
    )?;
    Spawn {
        name: "hydra",
        program: &p.tools.hydra,
        // --dev: the local issuer is plain http on 127.0.0.1 (a province's is https).
        args: vec![
            "serve".into(),
            "all".into(),
            "--dev".into(),
            "--sqa-opt-out".into(),
            "--config".into(),
            config.display().to_string(),
        ],
        log: p.log("hydra"),
        user: None,
        env: vec![("DSN".into(), hydra_dsn(p))],
    }
    .start()
}

pub(super) fn hydra_ready(p: &Platform) -> Result<bool> {
    Ok(http_get(p.ports.hydra_admin, "/health/ready")?.0 == 200
        && http_get(p.ports.hydra_public, "/.well-known/openid-configuration")?.0 == 200)
}

pub(super) fn start_login(p: &Platform) -> Result<u32> {
    Spawn {
        name: "hydra-login",
        program: &p.tools.hydra_login,
        args: vec![
            format!("-listen=127.0.0.1:{}", p.ports.hydra_login),
            format!("-hydra-admin={}", p.hydra_admin_url()),
            format!("-users={}", Platform::oidc_users_file().display()),
        ],
        log: p.log("hydra-login"),
        user: None,
        env: Vec::new(),
    }
    .start()
}

pub(super) fn login_ready(p: &Platform) -> Result<bool> {
    Ok(http_get(p.ports.hydra_login, "/healthz")?.0 == 200)
}
