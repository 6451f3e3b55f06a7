//! The local platform's NATS trust chain, created at `up` like its PKI: the operator's
//! identity and signing keys, the account signing key, the system account and the users
//! the platform's own programs connect as. A cluster's installer does the same once and
//! hands the signing keys and the system user's credentials to the operator as Secrets;
//! here they are files in the state directory (`nats/auth/`, mode 0600), and nats-server's
//! configuration names only the operator JWT, the system account and the resolver
//! directory. Agency accounts never appear in any file: the operator pushes them.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sanxiang_nats_jwt::topology::{self, AggregateQuota, SigningKeys};
use sanxiang_nats_jwt::{KeyPair, derive_account, derive_user, key_from_seed};

/// JetStream quota of the aggregate account on the local platform. JetStream reserves each
/// stream's `max_bytes` against it (nothing is allocated), and tests create a county
/// stream per run, so it is generous; the server's `max_file_store` is twice as much.
pub const LOCAL_QUOTA: AggregateQuota = AggregateQuota {
    disk_bytes: 128 << 30,
    memory_bytes: 256 << 20,
    max_payload: 1 << 20,
};

/// `max_bytes` of each aggregate stream on the local platform.
pub const LOCAL_STREAM_MAX_BYTES: i64 = 32 << 20;

/// Paths of the NATS auth files inside the state directory.
pub struct NatsAuth {
    dir: PathBuf,
}

impl NatsAuth {
    pub fn new(state_dir: &Path) -> Self {
        Self {
            dir: state_dir.join("nats/auth"),
        }
    }

    fn operator_identity(&self) -> PathBuf {
        self.dir.join("operator.nk")
    }
    /// Seed of the operator signing key (signs account JWTs): the operator's Secret.
    pub fn operator_signing_seed(&self) -> PathBuf {
        self.dir.join("operator-signing.nk")
    }
    /// Seed of the account signing key (signs user JWTs): the operator's Secret.
    pub fn account_signing_seed(&self) -> PathBuf {
        self.dir.join("account-signing.nk")
    }
    pub fn operator_jwt(&self) -> PathBuf {
        self.dir.join("operator.jwt")
    }
    /// Credentials of the system user (for `$SYS.REQ.CLAIMS.*`): the operator's Secret.
    pub fn system_creds(&self) -> PathBuf {
        self.dir.join("system.creds")
    }
    /// An administrator of the aggregate account (every stream; tests and people).
    pub fn admin_creds(&self) -> PathBuf {
        self.dir.join("admin.creds")
    }
    /// The tenant service's publisher (any `sx.>` subject, no JetStream API).
    pub fn tenant_service_creds(&self) -> PathBuf {
        self.dir.join("tenant-service.creds")
    }

    /// Creates every key and credential unless they exist (keys are never replaced:
    /// accounts the operator pushed stay valid across `up`).
    pub fn ensure(&self) -> Result<()> {
        fs::create_dir_all(&self.dir)?;
        let seed = |path: PathBuf, new: fn() -> KeyPair| -> Result<KeyPair> {
            if path.exists() {
                let text = fs::read_to_string(&path)?;
                return key_from_seed(&text).with_context(|| format!("{}", path.display()));
            }
            let kp = new();
            write_private(&path, &kp.seed()?)?;
            Ok(kp)
        };
        let identity = seed(self.operator_identity(), KeyPair::new_operator)?;
        let keys = SigningKeys {
            operator: seed(self.operator_signing_seed(), KeyPair::new_operator)?,
            account: seed(self.account_signing_seed(), KeyPair::new_account)?,
        };
        let system = derive_account(&keys.account, topology::SYSTEM_ACCOUNT)?;
        let now = now();
        if !self.operator_jwt().exists() {
            let jwt = topology::operator_jwt(
                &identity,
                "sanxiang-local",
                &keys,
                &system.public_key(),
                now,
            )?;
            fs::write(self.operator_jwt(), jwt)?;
        }
        let aggregate = keys.aggregate_account()?.public_key();
        let mint = |path: PathBuf,
                    account: &str,
                    name: &str,
                    permissions: sanxiang_nats_jwt::claims::Permissions|
         -> Result<()> {
            if path.exists() {
                return Ok(());
            }
            let user = derive_user(&keys.account, &format!("{account}/{name}"))?;
            let creds = topology::user_creds(&keys, account, &user, name, permissions, now)?;
            write_private(&path, &creds)
        };
        mint(
            self.system_creds(),
            &system.public_key(),
            "sanxiang-operator-system",
            Default::default(),
        )?;
        mint(self.admin_creds(), &aggregate, "admin", Default::default())?;
        mint(
            self.tenant_service_creds(),
            &aggregate,
            "tenant-service",
            topology::publisher_permissions(),
        )?;
        Ok(())
    }

    pub fn signing_keys(&self) -> Result<SigningKeys> {
        let read = |p: PathBuf| -> Result<KeyPair> {
            let text = fs::read_to_string(&p).with_context(|| format!("{}", p.display()))?;
            Ok(key_from_seed(&text)?)
        };
        Ok(SigningKeys {
            operator: read(self.operator_signing_seed())?,
            account: read(self.account_signing_seed())?,
        })
    }

    /// Credentials of a reader of one aggregate stream (e.g. `SX_PROVINCE_210000`),
    /// minted on first use.
    pub fn stream_reader_creds(&self, stream: &str) -> Result<PathBuf> {
        let path = self.dir.join(format!("reader-{stream}.creds"));
        if !path.exists() {
            let keys = self.signing_keys()?;
            let aggregate = keys.aggregate_account()?.public_key();
            let name = format!("reader-{stream}");
            let user = derive_user(&keys.account, &format!("{aggregate}/{name}"))?;
            let creds = topology::user_creds(
                &keys,
                &aggregate,
                &user,
                &name,
                topology::stream_reader_permissions(stream),
                now(),
            )?;
            write_private(&path, &creds)?;
        }
        Ok(path)
    }

    /// The part of nats-server's configuration that sets up operator mode: trusted
    /// operator, system account, the full resolver (every account JWT kept in
    /// `resolver_dir`, pushed by the operator over `$SYS.REQ.CLAIMS.UPDATE`), and the
    /// system and aggregate accounts preloaded so the server is usable before the
    /// operator first runs.
    pub fn server_config(&self, resolver_dir: &Path) -> Result<String> {
        let keys = self.signing_keys()?;
        let system = derive_account(&keys.account, topology::SYSTEM_ACCOUNT)?.public_key();
        let aggregate = keys.aggregate_account()?.public_key();
        let now = now();
        let system_jwt = topology::system_account_jwt(&keys, &system, now)?;
        let aggregate_jwt = topology::aggregate_account_jwt(&keys, LOCAL_QUOTA, now)?;
        Ok(format!(
            "operator: \"{}\"\nsystem_account: {system}\n\
             resolver: {{\n  type: full\n  dir: \"{}\"\n  allow_delete: true\n  interval: \"2m\"\n  limit: 0\n}}\n\
             resolver_preload: {{\n  {system}: \"{system_jwt}\"\n  {aggregate}: \"{aggregate_jwt}\"\n}}\n",
            self.operator_jwt().display(),
            resolver_dir.display(),
        ))
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn write_private(path: &Path, content: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, content)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    Ok(())
}
