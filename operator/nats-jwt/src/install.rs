//! A NATS installation's trust chain, made once: the operator's identity and signing keys,
//! the account signing key, the system account, and the users Sanxiang's own programs
//! connect as (files in one directory, mode 0600). The local platform makes one at `up`;
//! for a cluster, `sanxiang-nats-init DIR` makes one, and its files become the operator's
//! Secret (signing keys, system user) and nats-server's configuration (operator JWT,
//! system account, resolver). Agency accounts never appear in any file: the operator
//! pushes them.

use std::fs;
use std::path::{Path, PathBuf};

use crate::topology::{self, AggregateQuota, SigningKeys};
use crate::{KeyPair, derive_account, derive_user, key_from_seed};

/// Failures reading or writing the installation's files.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Key { path: PathBuf, source: crate::Error },
    #[error(transparent)]
    Jwt(#[from] crate::Error),
}

type Result<T> = std::result::Result<T, InstallError>;

fn io<T>(path: &Path, r: std::io::Result<T>) -> Result<T> {
    r.map_err(|source| InstallError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The files of an installation, in one directory.
pub struct Installation {
    dir: PathBuf,
}

impl Installation {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
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
        io(&self.dir, fs::create_dir_all(&self.dir))?;
        let seed = |path: PathBuf, new: fn() -> KeyPair| -> Result<KeyPair> {
            if path.exists() {
                let text = io(&path, fs::read_to_string(&path))?;
                return key_from_seed(&text).map_err(|source| InstallError::Key { path, source });
            }
            let kp = new();
            write_private(&path, &kp.seed().map_err(crate::Error::from)?)?;
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
            io(&self.operator_jwt(), fs::write(self.operator_jwt(), jwt))?;
        }
        let aggregate = keys.aggregate_account()?.public_key();
        let mint = |path: PathBuf,
                    account: &str,
                    name: &str,
                    permissions: crate::claims::Permissions|
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
        let read = |path: PathBuf| -> Result<KeyPair> {
            let text = io(&path, fs::read_to_string(&path))?;
            key_from_seed(&text).map_err(|source| InstallError::Key { path, source })
        };
        Ok(SigningKeys {
            operator: read(self.operator_signing_seed())?,
            account: read(self.account_signing_seed())?,
        })
    }

    /// Credentials of a user of the aggregate account with `permissions`, minted on first
    /// use into `<name>.creds`.
    pub fn user_creds(
        &self,
        name: &str,
        permissions: crate::claims::Permissions,
    ) -> Result<PathBuf> {
        let path = self.dir.join(format!("{name}.creds"));
        if !path.exists() {
            let keys = self.signing_keys()?;
            let aggregate = keys.aggregate_account()?.public_key();
            let user = derive_user(&keys.account, &format!("{aggregate}/{name}"))?;
            let creds = topology::user_creds(&keys, &aggregate, &user, name, permissions, now())?;
            write_private(&path, &creds)?;
        }
        Ok(path)
    }

    /// Credentials of a reader of one aggregate stream (e.g. `SX_PROVINCE_210000`),
    /// minted on first use.
    pub fn stream_reader_creds(&self, stream: &str) -> Result<PathBuf> {
        self.user_creds(
            &format!("reader-{stream}"),
            topology::stream_reader_permissions(stream),
        )
    }

    /// The part of nats-server's configuration that sets up operator mode: trusted
    /// operator, system account, the full resolver (every account JWT kept in
    /// `resolver_dir`, pushed by the operator over `$SYS.REQ.CLAIMS.UPDATE`), and the
    /// system and aggregate accounts preloaded so the server is usable before the
    /// operator first runs.
    pub fn server_config(&self, resolver_dir: &Path, quota: AggregateQuota) -> Result<String> {
        let keys = self.signing_keys()?;
        let system = derive_account(&keys.account, topology::SYSTEM_ACCOUNT)?.public_key();
        let aggregate = keys.aggregate_account()?.public_key();
        let now = now();
        let system_jwt = topology::system_account_jwt(&keys, &system, now)?;
        let aggregate_jwt = topology::aggregate_account_jwt(&keys, quota, now)?;
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
    io(path, fs::write(path, content))?;
    io(
        path,
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)),
    )
}
