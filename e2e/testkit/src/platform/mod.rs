//! Starts, reuses and stops the local platform: etcd, kube-apiserver, kube-controller-manager,
//! PostgreSQL, nats-server (JetStream) and Ory Hydra (OpenID Connect) with its login app,
//! on 127.0.0.1 only.
//!
//! State lives in `$SANXIANG_STATE_DIR`, or `/tmp/sanxiang-<uid>/<profile>`: `platform.json`
//! (ports, pids, passwords, program paths), the PKI, data directories and one log per
//! program. [`Platform::up`] is idempotent: it takes a file lock (so parallel test binaries
//! do not race), keeps the ports chosen the first time, and starts only the programs that
//! are not already running and healthy.

mod components;
mod nats_auth;
mod oidc;
mod pki;
pub mod private_apiserver;
pub mod process;
mod tools;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub use components::{COMPONENTS, initdb, nats_info_ready, postgres_user};
pub use nats_auth::{LOCAL_QUOTA, LOCAL_STREAM_MAX_BYTES, NatsAuth, local_nats_auth};
pub use oidc::{CONSOLE_CLIENT_ID, CONSOLE_REDIRECT_URI, SAMPLE_PASSWORD, TENANT_API_AUDIENCE};
pub use pki::Pki;
pub use tools::{Tools, debian_program};

/// The PostgreSQL role the operator uses (`LOGIN CREATEDB CREATEROLE`, no superuser).
pub const OPERATOR_POSTGRES_ROLE: &str = "sanxiang_operator";

/// The profile `make up` uses; tests use [`TEST_PROFILE`] so they never disturb it.
pub const DEV_PROFILE: &str = "dev";
pub const TEST_PROFILE: &str = "test";

/// Ports chosen (free) at the first start and kept afterwards.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ports {
    pub etcd_client: u16,
    pub etcd_peer: u16,
    pub apiserver: u16,
    pub postgres: u16,
    pub nats: u16,
    /// Ory Hydra's public and admin ports and its login app's (0 in an older
    /// platform.json: chosen on the next `up`).
    #[serde(default)]
    pub hydra_public: u16,
    #[serde(default)]
    pub hydra_admin: u16,
    #[serde(default)]
    pub hydra_login: u16,
}

/// A running local platform, as recorded in `platform.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Platform {
    pub profile: String,
    pub state_dir: PathBuf,
    pub tools: Tools,
    pub ports: Ports,
    pub postgres_password: String,
    /// Pid of each started program, by component name.
    pub pids: BTreeMap<String, u32>,
}

impl Platform {
    /// The state directory of `profile` (`$SANXIANG_STATE_DIR` wins).
    pub fn state_dir_for(profile: &str) -> PathBuf {
        if let Ok(dir) = std::env::var("SANXIANG_STATE_DIR") {
            return PathBuf::from(dir);
        }
        let uid = process::run(Command::new("id").arg("-u"), "id -u")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "user".into());
        PathBuf::from(format!("/tmp/sanxiang-{uid}/{profile}"))
    }

    /// The platform every test in this process shares: the `test` profile (or
    /// `$SANXIANG_PROFILE`), started on first use if it is not running yet.
    pub fn shared() -> Result<&'static Platform> {
        static SHARED: OnceLock<std::result::Result<Platform, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let profile =
                    std::env::var("SANXIANG_PROFILE").unwrap_or_else(|_| TEST_PROFILE.into());
                Platform::up(&profile, &mut |_| {}).map_err(|e| format!("{e:#}"))
            })
            .as_ref()
            .map_err(|e| anyhow::anyhow!("the local platform is not available: {e}"))
    }

    /// Starts whatever is not running yet and returns the platform; `progress` receives one
    /// line per step.
    pub fn up(profile: &str, progress: &mut dyn FnMut(&str)) -> Result<Platform> {
        let state_dir = Self::state_dir_for(profile);
        fs::create_dir_all(&state_dir)
            .with_context(|| format!("creating state directory {}", state_dir.display()))?;
        let _lock = lock(&state_dir)?;
        let mut platform = match Self::load_from(&state_dir)? {
            Some(mut p) => {
                p.tools = Tools::locate()?;
                p
            }
            None => Platform {
                profile: profile.to_string(),
                state_dir: state_dir.clone(),
                tools: Tools::locate()?,
                ports: Ports {
                    etcd_client: process::free_port()?,
                    etcd_peer: process::free_port()?,
                    apiserver: process::free_port()?,
                    postgres: process::free_port()?,
                    nats: process::free_port()?,
                    hydra_public: process::free_port()?,
                    hydra_admin: process::free_port()?,
                    hydra_login: process::free_port()?,
                },
                postgres_password: random_secret(),
                pids: BTreeMap::new(),
            },
        };
        for port in [
            &mut platform.ports.hydra_public,
            &mut platform.ports.hydra_admin,
            &mut platform.ports.hydra_login,
        ] {
            if *port == 0 {
                *port = process::free_port()?;
            }
        }
        Pki::new(&state_dir).ensure()?;
        for component in COMPONENTS {
            let started = Instant::now();
            if component.running(&platform) {
                progress(&format!(
                    "{:<24} running (pid {})",
                    component.name, platform.pids[component.name]
                ));
                continue;
            }
            let pid = (component.start)(&platform)?;
            platform.pids.insert(component.name.to_string(), pid);
            platform.save()?;
            (component.ready)(&platform)?;
            progress(&format!(
                "{:<24} started (pid {pid}, ready in {:.1}s)",
                component.name,
                started.elapsed().as_secs_f64()
            ));
        }
        components::ensure_operator_role(&platform)?;
        platform.save()?;
        Ok(platform)
    }

    /// Stops every program of `profile`; with `purge`, deletes its state as well.
    pub fn down(profile: &str, purge: bool, progress: &mut dyn FnMut(&str)) -> Result<()> {
        let state_dir = Self::state_dir_for(profile);
        if !state_dir.exists() {
            progress("nothing to stop");
            return Ok(());
        }
        let _lock = lock(&state_dir)?;
        if let Some(platform) = Self::load_from(&state_dir)? {
            // Applications first (everything not infrastructure), then the infrastructure
            // in reverse start order.
            for (name, &pid) in &platform.pids {
                if COMPONENTS.iter().all(|c| c.name != name) {
                    process::stop(pid, crate::apps::name_needle(name), Duration::from_secs(15));
                    progress(&format!("{name:<24} stopped"));
                }
            }
            for component in COMPONENTS.iter().rev() {
                if let Some(&pid) = platform.pids.get(component.name) {
                    process::stop(pid, component.needle, Duration::from_secs(15));
                    progress(&format!("{:<24} stopped", component.name));
                }
            }
        }
        if purge {
            fs::remove_dir_all(&state_dir)
                .with_context(|| format!("removing {}", state_dir.display()))?;
            progress(&format!("removed {}", state_dir.display()));
        }
        Ok(())
    }

    /// The recorded platform of `profile`, if it was ever started.
    pub fn load(profile: &str) -> Result<Option<Platform>> {
        Self::load_from(&Self::state_dir_for(profile))
    }

    fn load_from(state_dir: &Path) -> Result<Option<Platform>> {
        let path = state_dir.join("platform.json");
        if !path.exists() {
            return Ok(None);
        }
        let text = fs::read_to_string(&path)?;
        serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("{} is unreadable; run `make down-purge`", path.display()))
    }

    pub fn save(&self) -> Result<()> {
        let path = self.state_dir.join("platform.json");
        let tmp = path.with_extension("json.tmp");
        fs::write(&tmp, serde_json::to_string_pretty(self)?)?;
        fs::rename(tmp, path)?;
        Ok(())
    }

    /// Whether each component is running, by name.
    pub fn status(&self) -> Vec<(&'static str, bool)> {
        COMPONENTS
            .iter()
            .map(|c| (c.name, c.running(self)))
            .collect()
    }

    // ---- Kubernetes -------------------------------------------------------------------

    pub fn apiserver_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.ports.apiserver)
    }

    /// The cluster-admin kubeconfig (group `system:masters`).
    pub fn kubeconfig(&self) -> PathBuf {
        self.state_dir.join("admin.kubeconfig")
    }

    /// Writes (or reuses) a kubeconfig for `user` in `group`, for RBAC tests and for people.
    pub fn kubeconfig_for(&self, user: &str, group: Option<&str>) -> Result<PathBuf> {
        let dir = self.state_dir.join("kubeconfigs");
        fs::create_dir_all(&dir)?;
        // User names may hold ':' or '/' (system:serviceaccount:…); file names may not.
        let file: String = user
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{file}.kubeconfig"));
        Pki::new(&self.state_dir).write_kubeconfig(&path, &self.apiserver_url(), user, group)?;
        Ok(path)
    }

    /// A kube client for the cluster admin.
    pub async fn kube_client(&self) -> Result<kube::Client> {
        client_from_kubeconfig(&self.kubeconfig()).await
    }

    /// `kubectl` preset with the admin kubeconfig.
    pub fn kubectl(&self) -> Command {
        let mut cmd = Command::new(&self.tools.kubectl);
        cmd.arg("--kubeconfig").arg(self.kubeconfig());
        cmd
    }

    // ---- PostgreSQL --------------------------------------------------------------------

    /// Superuser URL of database `db`.
    pub fn postgres_url(&self, db: &str) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/{db}",
            self.postgres_password, self.ports.postgres
        )
    }

    /// URL of database `db` as the operator's role ([`OPERATOR_POSTGRES_ROLE`]: creates
    /// databases and roles, is no superuser).
    pub fn operator_postgres_url(&self, db: &str) -> String {
        format!(
            "postgres://{OPERATOR_POSTGRES_ROLE}:{}@127.0.0.1:{}/{db}",
            self.operator_postgres_password(),
            self.ports.postgres
        )
    }

    /// The operator role's password, derived from the superuser's random one (so
    /// `platform.json` needs no new field; this is a local, disposable platform).
    pub fn operator_postgres_password(&self) -> String {
        format!("op{}", self.postgres_password)
    }

    // ---- NATS --------------------------------------------------------------------------

    pub fn nats_url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.ports.nats)
    }

    /// The NATS trust chain (operator mode): keys, operator JWT, platform users' creds.
    pub fn nats_auth(&self) -> NatsAuth {
        local_nats_auth(&self.state_dir)
    }

    /// Credentials of the NATS administrator: every stream of the aggregate account.
    pub fn nats_admin_creds(&self) -> PathBuf {
        self.nats_auth().admin_creds()
    }

    /// Credentials of a reader of the province aggregate `SX_PROVINCE_<code>` (what the
    /// disclosure platform connects with).
    pub fn province_reader_creds(&self, province: &str) -> Result<PathBuf> {
        Ok(self
            .nats_auth()
            .stream_reader_creds(&format!("SX_PROVINCE_{province}"))?)
    }

    /// nats-server's resolver directory (every account JWT the operator pushed).
    pub fn nats_resolver_dir(&self) -> PathBuf {
        self.state_dir.join("nats/resolver")
    }

    pub fn nats_pid(&self) -> Option<u32> {
        self.pids.get("nats-server").copied()
    }

    /// An admin connection to NATS.
    pub async fn nats(&self) -> Result<async_nats::Client> {
        self.nats_with_creds(&self.nats_admin_creds()).await
    }

    /// A connection with the given `.creds` file.
    pub async fn nats_with_creds(&self, creds: &Path) -> Result<async_nats::Client> {
        async_nats::ConnectOptions::with_credentials_file(creds)
            .await
            .with_context(|| format!("reading {}", creds.display()))?
            .connect(self.nats_url())
            .await
            .with_context(|| format!("connecting to NATS at {}", self.nats_url()))
    }

    /// Log file of a component.
    pub fn log(&self, component: &str) -> PathBuf {
        self.state_dir.join("logs").join(format!("{component}.log"))
    }
}

/// A kube client from a kubeconfig file.
pub async fn client_from_kubeconfig(path: &Path) -> Result<kube::Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("reading kubeconfig {}", path.display()))?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await?;
    Ok(kube::Client::try_from(config)?)
}

fn random_secret() -> String {
    use rand::Rng;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// An exclusive lock on the state directory, released when dropped.
fn lock(state_dir: &Path) -> Result<fs::File> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(state_dir.join("lock"))?;
    file.lock()
        .with_context(|| format!("locking {}", state_dir.display()))?;
    Ok(file)
}
