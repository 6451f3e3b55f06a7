//! NATS for agencies: a user per agency that may publish only under its subject prefix,
//! and durable JetStream aggregation upward.
//!
//! **Users.** nats-server reads users from its configuration, so the operator owns one
//! authorization file: the static users (administrators, the tenant service) plus one
//! entry per agency NATS Secret (`sanxiang.io/credentials=nats`), passwords as bcrypt
//! hashes. A single writer task renders the file whenever asked, writes it only when its
//! content changed, and tells nats-server to reload (SIGHUP via its pid file; in a cluster
//! a config-reloader sidecar does this). Reconciles wait until the file that contains
//! their user is applied, so `MessagingReady` means the credentials work.
//!
//! **Streams.** Each agency gets its own stream capturing `<prefix>.>`. Aggregates source
//! from below: a county's stream sources its agencies' streams, a city's sources its
//! counties' aggregates and its city-level agencies, the province's sources its cities.
//! JetStream sourcing is durable and resumes after outages, and message ids
//! (`Nats-Msg-Id`) travel with the messages, so each level holds every message once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::reflector::Store;
use serde::Deserialize;
use tokio::sync::{Mutex, Notify, watch};

/// Label on the Secrets holding an agency's NATS credentials.
pub const NATS_SECRET_LABEL: &str = "sanxiang.io/credentials";
pub const NATS_SECRET_LABEL_VALUE: &str = "nats";
/// Annotation carrying the bcrypt hash of the password (the file never holds plain text).
pub const PASSWORD_HASH_ANNOTATION: &str = "sanxiang.io/nats-password-hash";

/// A user that exists independently of agencies.
#[derive(Clone, Debug, Deserialize)]
pub struct StaticUser {
    pub user: String,
    pub password: String,
    #[serde(default)]
    pub permissions: Option<serde_json::Value>,
}

/// One agency user as it appears in the authorization file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgencyUser {
    pub user: String,
    pub password_hash: String,
    pub subject_prefix: String,
    pub inbox_prefix: String,
}

impl AgencyUser {
    /// Reads an agency user back from its Secret.
    pub fn from_secret(secret: &Secret) -> Option<Self> {
        let data = secret.data.as_ref()?;
        let get = |k: &str| {
            data.get(k)
                .and_then(|v| String::from_utf8(v.0.clone()).ok())
        };
        Some(Self {
            user: get("user")?,
            password_hash: secret
                .metadata
                .annotations
                .as_ref()?
                .get(PASSWORD_HASH_ANNOTATION)?
                .clone(),
            subject_prefix: get("subjectPrefix")?,
            inbox_prefix: get("inboxPrefix")?,
        })
    }
}

/// Renders the authorization file (pure; deterministic order so unchanged input gives an
/// unchanged file).
pub fn render_auth_file(static_users: &[StaticUser], agencies: &[AgencyUser]) -> String {
    let mut out = String::from(
        "# Written by sanxiang-operator; edits are overwritten.\nauthorization {\n  users = [\n",
    );
    for u in static_users {
        out.push_str(&format!(
            "    {{ user: {}, password: {}",
            json(&u.user),
            json(&u.password)
        ));
        if let Some(p) = u.permissions.as_ref().filter(|p| !p.is_null()) {
            out.push_str(&format!(", permissions: {p}"));
        }
        out.push_str(" }\n");
    }
    let mut agencies: Vec<&AgencyUser> = agencies.iter().collect();
    agencies.sort_by(|a, b| a.user.cmp(&b.user));
    for a in agencies {
        let permissions = serde_json::json!({
            "publish": {"allow": [format!("{}.>", a.subject_prefix)]},
            "subscribe": {"allow": [format!("{}.>", a.inbox_prefix)]},
        });
        out.push_str(&format!(
            "    {{ user: {}, password: {}, permissions: {permissions} }}\n",
            json(&a.user),
            json(&a.password_hash)
        ));
    }
    out.push_str("  ]\n}\n");
    out
}

fn json(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Hashes a password the way nats-server accepts (`$2a$` bcrypt).
pub fn hash_password(password: &str, cost: u32) -> anyhow::Result<String> {
    Ok(bcrypt::hash_with_result(password, cost)?.format_for_version(bcrypt::Version::TwoA))
}

/// The single writer of the authorization file.
pub struct AuthWriter {
    file: PathBuf,
    static_users_file: PathBuf,
    pid_file: Option<PathBuf>,
    secrets: Store<Secret>,
    wake: Notify,
    applied: watch::Sender<Arc<BTreeSet<String>>>,
}

impl AuthWriter {
    pub fn new(
        file: PathBuf,
        static_users_file: PathBuf,
        pid_file: Option<PathBuf>,
        secrets: Store<Secret>,
    ) -> Arc<Self> {
        Arc::new(Self {
            file,
            static_users_file,
            pid_file,
            secrets,
            wake: Notify::new(),
            applied: watch::Sender::new(Arc::new(BTreeSet::new())),
        })
    }

    /// Asks for a rewrite soon (e.g. a NATS Secret changed).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Asks for a rewrite and waits (up to `timeout`) until the applied file contains
    /// (`present`) or no longer contains `user`.
    pub async fn sync_user(
        &self,
        user: &str,
        present: bool,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let mut rx = self.applied.subscribe();
        self.wake.notify_one();
        let wait = rx.wait_for(|users| users.contains(user) == present);
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => anyhow::bail!("the NATS authorization writer stopped"),
            Err(_) => anyhow::bail!(
                "NATS user {user} not {} in {} within {}s",
                if present { "applied" } else { "removed" },
                self.file.display(),
                timeout.as_secs()
            ),
        }
    }

    /// Runs forever: on each wake-up (and every 30 s, to pick up deletions made while the
    /// operator was down) renders the file and applies it if it changed.
    pub async fn run(self: Arc<Self>) {
        loop {
            if let Err(e) = self.apply_once().await {
                tracing::warn!(error = %format!("{e:#}"), "writing the NATS authorization file failed");
            }
            let _ = tokio::time::timeout(Duration::from_secs(30), self.wake.notified()).await;
            // Coalesce a burst of requests (many agencies at once) into one write: every
            // reload briefly interrupts nats-server's JetStream API, so fewer is better.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn apply_once(&self) -> anyhow::Result<()> {
        let static_users: Vec<StaticUser> =
            serde_json::from_str(&tokio::fs::read_to_string(&self.static_users_file).await?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", self.static_users_file.display()))?;
        let agencies: Vec<AgencyUser> = self
            .secrets
            .state()
            .iter()
            .filter(|s| s.metadata.deletion_timestamp.is_none())
            .filter_map(|s| AgencyUser::from_secret(s))
            .collect();
        let rendered = render_auth_file(&static_users, &agencies);
        let current = tokio::fs::read_to_string(&self.file)
            .await
            .unwrap_or_default();
        if current != rendered {
            let tmp = self.file.with_extension("tmp");
            tokio::fs::write(&tmp, &rendered).await?;
            tokio::fs::rename(&tmp, &self.file).await?;
            self.reload().await?;
            tracing::info!(users = agencies.len(), "NATS authorization file rewritten");
        }
        let users: BTreeSet<String> = agencies.into_iter().map(|a| a.user).collect();
        self.applied.send_if_modified(|current| {
            if **current != users {
                *current = Arc::new(users);
                true
            } else {
                false
            }
        });
        Ok(())
    }

    async fn reload(&self) -> anyhow::Result<()> {
        let Some(pid_file) = &self.pid_file else {
            return Ok(());
        };
        let pid = tokio::fs::read_to_string(pid_file).await?;
        let status = tokio::process::Command::new("kill")
            .args(["-HUP", pid.trim()])
            .status()
            .await?;
        anyhow::ensure!(
            status.success(),
            "signalling nats-server (pid {}) failed",
            pid.trim()
        );
        // nats-server applies a reload within milliseconds; give it a moment so the next
        // connection with new credentials does not race it.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(())
    }
}

/// Creates streams and keeps aggregates' source lists complete. Aggregate updates are
/// read-modify-write on the stream config, so they are serialised here.
pub struct Streams {
    js: jetstream::Context,
    aggregate_lock: Mutex<()>,
}

/// Where an agency's stream feeds into: the chain of aggregates from its level upward,
/// e.g. `[county, city, province]` or `[city, province]`.
pub type AggregateChain = Vec<String>;

impl Streams {
    pub fn new(client: async_nats::Client) -> Self {
        Self {
            js: jetstream::new(client),
            aggregate_lock: Mutex::new(()),
        }
    }

    /// Ensures the agency's stream and the chain of aggregates above it.
    pub async fn ensure_agency(
        &self,
        stream_name: &str,
        subject_prefix: &str,
        chain: &AggregateChain,
    ) -> anyhow::Result<()> {
        retry_transient(|| async {
            self.js
                .get_or_create_stream(stream::Config {
                    name: stream_name.to_string(),
                    description: Some(format!("Sanxiang agency stream for {subject_prefix}.>")),
                    subjects: vec![format!("{subject_prefix}.>")],
                    storage: stream::StorageType::File,
                    retention: stream::RetentionPolicy::Limits,
                    // Records are kept (retention is the default). Duplicates from
                    // publisher retries — e.g. the tenant service's outbox relay after a
                    // crash between publish and mark — within an hour are dropped by
                    // message id.
                    duplicate_window: Duration::from_secs(3600),
                    ..Default::default()
                })
                .await
                .map_err(|e| anyhow::anyhow!("creating stream {stream_name}: {e}"))?;
            let _guard = self.aggregate_lock.lock().await;
            let mut source = stream_name.to_string();
            for aggregate in chain {
                self.ensure_source(aggregate, &source).await?;
                source = aggregate.clone();
            }
            Ok(())
        })
        .await
    }

    /// Deletes the agency's stream and removes it from its aggregate's sources (the
    /// aggregates keep the messages they already copied).
    pub async fn delete_agency(
        &self,
        stream_name: &str,
        parent: Option<&str>,
    ) -> anyhow::Result<()> {
        retry_transient(|| async {
            let _guard = self.aggregate_lock.lock().await;
            if let Some(parent) = parent
                && let Some(mut s) = self.existing(parent).await?
            {
                let mut config = s.info().await?.config.clone();
                let before = config.sources.as_ref().map_or(0, Vec::len);
                if let Some(sources) = config.sources.as_mut() {
                    sources.retain(|src| src.name != stream_name);
                }
                if config.sources.as_ref().map_or(0, Vec::len) != before {
                    self.js
                        .update_stream(config)
                        .await
                        .map_err(|e| anyhow::anyhow!("updating aggregate {parent}: {e}"))?;
                }
            }
            match self.js.delete_stream(stream_name).await {
                Ok(_) => Ok(()),
                Err(e) if is_not_found(&e.to_string()) => Ok(()),
                Err(e) => Err(anyhow::anyhow!("deleting stream {stream_name}: {e}")),
            }
        })
        .await
    }

    /// The stream, `None` when it does not exist; other failures are errors (a stream
    /// that merely could not be read must not be re-created or skipped).
    async fn existing(&self, name: &str) -> anyhow::Result<Option<stream::Stream>> {
        match self.js.get_stream(name).await {
            Ok(s) => Ok(Some(s)),
            Err(e) if is_not_found(&e.to_string()) => Ok(None),
            Err(e) => Err(anyhow::anyhow!("reading stream {name}: {e}")),
        }
    }

    async fn ensure_source(&self, aggregate: &str, source: &str) -> anyhow::Result<()> {
        let wanted = stream::Source {
            name: source.to_string(),
            ..Default::default()
        };
        match self.existing(aggregate).await? {
            Some(mut s) => {
                let mut config = s.info().await?.config.clone();
                let sources = config.sources.get_or_insert_with(Vec::new);
                if sources.iter().any(|s| s.name == source) {
                    return Ok(());
                }
                sources.push(wanted);
                sources.sort_by(|a, b| a.name.cmp(&b.name));
                self.js.update_stream(config).await.map_err(|e| {
                    anyhow::anyhow!("adding {source} to aggregate {aggregate}: {e}")
                })?;
            }
            None => {
                self.js
                    .create_stream(stream::Config {
                        name: aggregate.to_string(),
                        description: Some("Sanxiang aggregate stream".into()),
                        sources: Some(vec![wanted]),
                        storage: stream::StorageType::File,
                        duplicate_window: Duration::from_secs(120),
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| anyhow::anyhow!("creating aggregate {aggregate}: {e}"))?;
            }
        }
        Ok(())
    }
}

fn is_not_found(message: &str) -> bool {
    message.contains("not found") || message.contains("does not exist")
}

/// nats-server briefly answers JetStream API requests with "unavailable" / "not enabled
/// for account" while it reloads its configuration (which the operator triggers for every
/// new agency). Such answers are retried a few times here, so a burst of onboarding does
/// not turn into a burst of failed reconciles; anything else fails at once.
async fn retry_transient<T, F, Fut>(mut op: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Err(e) if attempt < 6 && is_transient(&format!("{e:#}")) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(150 * attempt)).await;
            }
            other => return other,
        }
    }
}

fn is_transient(message: &str) -> bool {
    ["unavailable", "not enabled for account", "timed out", "no responders"]
        .iter()
        .any(|m| message.contains(m))
        // A concurrent create of the same aggregate, seen during a reload blip.
        || message.contains("already in use with a different configuration")
}

/// Builds the agency's Secret data (plain values; the API encodes them).
pub fn secret_data(
    nats_url: &str,
    user: &str,
    password: &str,
    subject_prefix: &str,
    inbox_prefix: &str,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("url".into(), nats_url.into()),
        ("user".into(), user.into()),
        ("password".into(), password.into()),
        ("subjectPrefix".into(), subject_prefix.into()),
        ("inboxPrefix".into(), inbox_prefix.into()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_file_limits_each_agency_to_its_prefix() {
        let text = render_auth_file(
            &[StaticUser {
                user: "admin".into(),
                password: "pw\"x".into(),
                permissions: None,
            }],
            &[AgencyUser {
                user: "sx-a".into(),
                password_hash: "$2a$10$abc".into(),
                subject_prefix: "sx.210000.211200.211221.a".into(),
                inbox_prefix: "_INBOX.sx-a".into(),
            }],
        );
        assert!(
            text.contains(r#"{ user: "admin", password: "pw\"x" }"#),
            "{text}"
        );
        assert!(
            text.contains(r#""publish":{"allow":["sx.210000.211200.211221.a.>"]}"#),
            "{text}"
        );
        assert!(
            text.contains(r#""subscribe":{"allow":["_INBOX.sx-a.>"]}"#),
            "{text}"
        );
    }

    #[test]
    fn rendering_is_deterministic() {
        let a = AgencyUser {
            user: "b".into(),
            password_hash: "h".into(),
            subject_prefix: "p".into(),
            inbox_prefix: "i".into(),
        };
        let b = AgencyUser {
            user: "a".into(),
            ..a.clone()
        };
        assert_eq!(
            render_auth_file(&[], &[a.clone(), b.clone()]),
            render_auth_file(&[], &[b, a])
        );
    }

    #[test]
    fn reload_blips_are_retried_other_errors_are_not() {
        assert!(is_transient("creating stream X: jetstream unavailable"));
        assert!(is_transient(
            "request failed: JetStream not enabled for account (code 503)"
        ));
        assert!(!is_transient("creating stream X: insufficient resources"));
        assert!(is_not_found("stream not found"));
    }

    #[test]
    fn bcrypt_hashes_use_the_2a_prefix() {
        let h = hash_password("secret", 4).unwrap();
        assert!(h.starts_with("$2a$04$"), "{h}");
        assert!(bcrypt::verify("secret", &h).unwrap());
    }
}
