//! NATS for agencies, in operator mode (decentralized JWT authentication, full resolver).
//!
//! nats-server trusts an operator JWT and keeps every account JWT in its resolver
//! directory. This operator holds the operator signing key and the account signing key
//! (from its Secret) and mints, per agency, an **account** ([`topology::agency_account_jwt`]:
//! no JetStream, one import of its own subjects `<prefix>.>` from the aggregate account)
//! and a **user** whose `.creds` go into the agency's Secret. Account JWTs are pushed over
//! NATS itself with `$SYS.REQ.CLAIMS.UPDATE` ([`accounts`]), so nothing is written to the
//! server's configuration and nothing is reloaded: onboarding costs one signature and one
//! request, not a bcrypt hash and a reload.
//!
//! What an agency publishes crosses its import into the aggregate account, where its
//! county's (or city's) stream captures it ([`streams`]); since nothing but its own
//! `<prefix>.>` can cross, the agency token of a stored subject names the publisher
//! whatever the payload claims ([`sanxiang_nats_jwt::topology::agency_of_subject`]).
//! Lifecycle ([`credentials`]): rotation on
//! request with a grace period, revocation of every user when the Agency goes, removal of
//! the account under `deletionPolicy: Delete`; a maintenance loop applies due revocations
//! and repairs servers that lost accounts.
//!
//! [`topology::agency_account_jwt`]: sanxiang_nats_jwt::topology::agency_account_jwt

pub mod accounts;
pub mod credentials;
pub mod streams;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sanxiang_nats_jwt::topology::{self, AgencyAccount, AggregateQuota, SigningKeys};
use sanxiang_nats_jwt::{KeyPair, derive_account, derive_user, key_from_seed};

use crate::config::Config;
use crate::naming::Placement;
use accounts::Accounts;
pub use credentials::{NATS_SECRET_LABEL, NATS_SECRET_LABEL_VALUE, ROTATE_ANNOTATION};
use credentials::{Stored, UserPlan};
pub use streams::{StreamLimits, Streams, aggregate_chain};

/// What an agency may do on NATS, from its spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgencyLimits {
    pub max_connections: i64,
    pub max_subscriptions: i64,
    pub max_payload: i64,
}

/// The agency whose messaging is being provisioned.
pub struct AgencyMessaging<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub subject_prefix: &'a str,
    pub placement: &'a Placement,
    /// Value of [`ROTATE_ANNOTATION`] on the Agency ("" when absent).
    pub rotation_requested: &'a str,
    pub limits: AgencyLimits,
}

/// What the agency's Secret must hold, and the condition message.
pub struct Provisioned {
    pub data: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub message: String,
}

/// An account this operator pushed, kept to re-push it (drift) and to apply revocations
/// that fall due.
struct Pushed {
    spec: AgencyAccount,
    /// Retired users not revoked yet → when they are.
    pending: BTreeMap<String, i64>,
}

pub struct Nats {
    keys: SigningKeys,
    url: String,
    quota: AggregateQuota,
    grace_seconds: i64,
    accounts: Accounts,
    pub streams: Streams,
    pushed: Mutex<HashMap<String, Pushed>>,
    /// Phase timings (`nats_account`, `streams`) for the operator's metrics.
    phase: prometheus::HistogramVec,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Nats {
    /// Reads the keys, connects as the system user (claims) and as the operator's own user
    /// of the aggregate account (streams), and pushes the aggregate account's JWT.
    pub async fn connect(config: &Config, phase: prometheus::HistogramVec) -> anyhow::Result<Self> {
        let read_key = |path: &std::path::Path| -> anyhow::Result<KeyPair> {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            key_from_seed(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        };
        let keys = SigningKeys {
            operator: read_key(&config.nats_operator_signing_key_file)?,
            account: read_key(&config.nats_account_signing_key_file)?,
        };
        let connect = |opts: async_nats::ConnectOptions, name: &'static str| {
            let url = config.nats_url.clone();
            async move {
                opts.name(name)
                    .retry_on_initial_connect()
                    .connection_timeout(Duration::from_secs(5))
                    .connect(&url)
                    .await
                    .map_err(|e| anyhow::anyhow!("NATS at {url}: {e}"))
            }
        };
        let system = connect(
            async_nats::ConnectOptions::with_credentials_file(&config.nats_system_creds_file)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", config.nats_system_creds_file.display()))?,
            "sanxiang-operator-system",
        )
        .await?;
        let accounts = Accounts::new(system).await?;
        let quota = AggregateQuota {
            disk_bytes: config.nats_aggregate_disk_bytes,
            memory_bytes: config.nats_aggregate_memory_bytes,
            max_payload: config.nats_max_payload_bytes,
        };
        let aggregate = keys.aggregate_account()?.public_key();
        accounts
            .push(
                &aggregate,
                &topology::aggregate_account_jwt(&keys, quota, now())?,
            )
            .await?;
        let me = derive_user(&keys.account, "sanxiang-operator")?;
        let creds = topology::user_creds(
            &keys,
            &aggregate,
            &me,
            "sanxiang-operator",
            Default::default(),
            now(),
        )?;
        let streams_client = connect(
            async_nats::ConnectOptions::with_credentials(&creds)?,
            "sanxiang-operator",
        )
        .await?;
        let limits = StreamLimits {
            max_bytes: config.nats_stream_max_bytes,
            max_messages: config.nats_stream_max_messages,
            max_message_size: i32::try_from(config.nats_max_payload_bytes).unwrap_or(i32::MAX),
            replicas: config.nats_stream_replicas,
        };
        Ok(Self {
            keys,
            url: config.nats_url.clone(),
            quota,
            grace_seconds: i64::try_from(config.nats_rotation_grace_seconds).unwrap_or(i64::MAX),
            accounts,
            streams: Streams::new(streams_client, limits),
            pushed: Mutex::new(HashMap::new()),
            phase,
        })
    }

    /// Credentials for the tenant service: a user of the aggregate account that may publish
    /// any agency subject and nothing else (its code puts each agency's messages under that
    /// agency's prefix; NATS refuses anything outside `sx.>` and every JetStream API).
    pub fn tenant_service_creds(&self) -> anyhow::Result<String> {
        let aggregate = self.keys.aggregate_account()?.public_key();
        let user = derive_user(&self.keys.account, "tenant-service")?;
        Ok(topology::user_creds(
            &self.keys,
            &aggregate,
            &user,
            "tenant-service",
            topology::publisher_permissions(),
            now(),
        )?)
    }

    /// The agency's account (derived from its uid: a new Agency of the same name is a new
    /// account).
    pub fn account_key(&self, uid: &str) -> anyhow::Result<String> {
        Ok(derive_account(&self.keys.account, &format!("agency:{uid}"))?.public_key())
    }

    /// Ensures the agency's account, user and aggregate streams; returns what its Secret
    /// must hold.
    pub async fn ensure_agency(
        &self,
        agency: &AgencyMessaging<'_>,
        stored: Option<&Stored>,
    ) -> anyhow::Result<Provisioned> {
        let timer = self
            .phase
            .with_label_values(&["nats_account"])
            .start_timer();
        let account = self.account_key(agency.uid)?;
        let now = now();
        let plan = plan_user(stored, &account, agency, now, self.grace_seconds);
        let mut retired = stored
            .filter(|s| s.account == account)
            .map(|s| s.retired.clone())
            .unwrap_or_default();
        let (user, creds) = match &plan {
            UserPlan::Keep => {
                let s = stored.expect("Keep only with stored credentials");
                (s.user.clone(), s.creds.clone())
            }
            UserPlan::Mint | UserPlan::Rotate { .. } => {
                if let UserPlan::Rotate { old, revoke_at } = &plan {
                    retired.insert(old.clone(), *revoke_at);
                }
                let user = KeyPair::new_user();
                let creds = topology::user_creds(
                    &self.keys,
                    &account,
                    &user,
                    &format!("{}/{}", agency.namespace, agency.name),
                    topology::agency_user_permissions(agency.subject_prefix),
                    now,
                )?;
                (user.public_key(), creds)
            }
        };
        let spec = AgencyAccount {
            name: format!("{}/{}", agency.namespace, agency.name),
            subject_prefix: agency.subject_prefix.to_string(),
            max_connections: agency.limits.max_connections,
            max_subscriptions: agency.limits.max_subscriptions,
            max_payload: agency.limits.max_payload.min(self.quota.max_payload),
            revocations: credentials::due_revocations(&retired, now),
        };
        let pending: BTreeMap<String, i64> = retired
            .iter()
            .filter(|&(u, _)| !spec.revocations.contains_key(u))
            .map(|(u, &at)| (u.clone(), at))
            .collect();
        self.push_agency(&account, spec, pending).await?;
        drop(timer);
        let timer = self.phase.with_label_values(&["streams"]).start_timer();
        self.streams.ensure_for(agency.placement).await?;
        drop(timer);
        let mut message = format!(
            "account {account} (user {user}) may publish under {}.>; messages land in {}",
            agency.subject_prefix,
            aggregate_chain(agency.placement).join(" → ")
        );
        if let Some((old, at)) = retired
            .iter()
            .filter(|&(_, &at)| at > now)
            .max_by_key(|(_, at)| **at)
        {
            let at = chrono::DateTime::from_timestamp(*at, 0).unwrap_or_default();
            message.push_str(&format!(
                "; previous credentials (user {old}) stop working at {}",
                at.to_rfc3339()
            ));
        }
        Ok(Provisioned {
            data: credentials::secret_data(
                &self.url,
                agency.subject_prefix,
                &account,
                &user,
                &creds,
            ),
            annotations: credentials::secret_annotations(agency.rotation_requested, &retired),
            message,
        })
    }

    /// Pushes the account JWT unless this exact account was pushed already.
    async fn push_agency(
        &self,
        account: &str,
        spec: AgencyAccount,
        pending: BTreeMap<String, i64>,
    ) -> anyhow::Result<()> {
        let unchanged = self
            .pushed
            .lock()
            .expect("not poisoned")
            .get(account)
            .is_some_and(|p| p.spec == spec && p.pending == pending);
        if unchanged {
            return Ok(());
        }
        let jwt = topology::agency_account_jwt(&self.keys, account, &spec, now())?;
        self.accounts.push(account, &jwt).await?;
        self.pushed
            .lock()
            .expect("not poisoned")
            .insert(account.to_string(), Pushed { spec, pending });
        Ok(())
    }

    /// The Agency is going: every user of its account is refused from now on (the
    /// revocation `*` in its JWT; the server also closes their connections), and with
    /// `remove` the account leaves every server's resolver.
    pub async fn revoke_agency(
        &self,
        uid: &str,
        name: &str,
        subject_prefix: &str,
        remove: bool,
    ) -> anyhow::Result<()> {
        let account = self.account_key(uid)?;
        let spec = AgencyAccount {
            name: name.to_string(),
            subject_prefix: subject_prefix.to_string(),
            max_connections: 0,
            max_subscriptions: 0,
            max_payload: 0,
            revocations: BTreeMap::from([("*".to_string(), now())]),
        };
        let jwt = topology::agency_account_jwt(&self.keys, &account, &spec, now())?;
        self.accounts.push(&account, &jwt).await?;
        self.pushed.lock().expect("not poisoned").remove(&account);
        if remove {
            let accounts = vec![account];
            let request = topology::delete_accounts_jwt(&self.keys, &accounts, now())?;
            self.accounts.delete(&accounts, &request).await?;
        }
        Ok(())
    }

    /// Runs forever: applies revocations that fell due (rotation grace periods) and, every
    /// 30 s, recounts the servers and re-pushes accounts a server is missing.
    pub async fn run_maintenance(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        let mut round = 0u64;
        loop {
            tick.tick().await;
            self.apply_due_revocations().await;
            if round.is_multiple_of(6)
                && let Err(e) = self.repair_drift().await
            {
                tracing::warn!(error = %format!("{e:#}"), "NATS drift check failed");
            }
            round += 1;
        }
    }

    async fn apply_due_revocations(&self) {
        let now = now();
        let due: Vec<(String, AgencyAccount, BTreeMap<String, i64>)> = self
            .pushed
            .lock()
            .expect("not poisoned")
            .iter()
            .filter(|(_, p)| p.pending.values().any(|&at| at <= now))
            .map(|(a, p)| {
                let mut spec = p.spec.clone();
                let mut pending = p.pending.clone();
                pending.retain(|u, at| {
                    if *at <= now {
                        spec.revocations.insert(u.clone(), *at);
                        false
                    } else {
                        true
                    }
                });
                (a.clone(), spec, pending)
            })
            .collect();
        for (account, spec, pending) in due {
            match self.push_agency(&account, spec, pending).await {
                Ok(()) => tracing::info!(%account, "rotated-out NATS user revoked"),
                Err(e) => {
                    tracing::warn!(%account, error = %format!("{e:#}"), "revoking a rotated-out NATS user failed")
                }
            }
        }
    }

    /// The accounts each server's resolver holds, by server name.
    pub async fn accounts_by_server(
        &self,
    ) -> anyhow::Result<BTreeMap<String, std::collections::BTreeSet<String>>> {
        self.accounts.refresh_servers().await?;
        self.accounts.list().await
    }

    /// Compares each server's accounts with the ones pushed and pushes what is missing.
    /// Returns how many accounts were re-pushed.
    pub async fn repair_drift(&self) -> anyhow::Result<usize> {
        self.accounts.refresh_servers().await?;
        let listed = self.accounts.list().await?;
        let mut missing: Vec<(String, AgencyAccount)> = Vec::new();
        {
            let pushed = self.pushed.lock().expect("not poisoned");
            for (account, p) in pushed.iter() {
                if listed.values().any(|accounts| !accounts.contains(account)) {
                    missing.push((account.clone(), p.spec.clone()));
                }
            }
        }
        let aggregate = self.keys.aggregate_account()?.public_key();
        if listed
            .values()
            .any(|accounts| !accounts.contains(&aggregate))
        {
            self.accounts
                .push(
                    &aggregate,
                    &topology::aggregate_account_jwt(&self.keys, self.quota, now())?,
                )
                .await?;
        }
        for (account, spec) in &missing {
            let jwt = topology::agency_account_jwt(&self.keys, account, spec, now())?;
            self.accounts.push(account, &jwt).await?;
        }
        if !missing.is_empty() {
            tracing::warn!(
                repaired = missing.len(),
                "NATS servers were missing accounts; pushed again"
            );
        }
        Ok(missing.len())
    }
}

fn plan_user(
    stored: Option<&Stored>,
    account: &str,
    agency: &AgencyMessaging<'_>,
    now: i64,
    grace: i64,
) -> UserPlan {
    credentials::plan_user(stored, account, agency.rotation_requested, now, grace)
}
