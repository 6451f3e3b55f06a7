//! Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does:
//! a replica acquires the Lease when it is free or expired, renews it every
//! `duration / 3`, and writes with the Lease's resourceVersion so two replicas can never
//! both win a round. A leader that cannot renew before the Lease expires exits, and is
//! restarted as a follower: controllers never run on two replicas at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
}

impl LeaderElector {
    pub fn new(client: Client, namespace: &str, name: &str, identity: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_string(),
            identity: identity.to_string(),
            duration: Duration::from_secs(15),
        }
    }

    /// Waits until this replica holds the Lease.
    pub async fn acquire(&self) -> anyhow::Result<()> {
        let mut logged = false;
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(lease = %self.name, identity = %self.identity, "became leader");
                    return Ok(());
                }
                Ok(false) => {
                    if !logged {
                        tracing::info!(lease = %self.name, "another replica leads; standing by");
                        logged = true;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "leader election round failed"),
            }
            tokio::time::sleep(self.duration / 3).await;
        }
    }

    /// Renews the Lease forever; returns (an error) only when leadership is lost.
    pub async fn keep_renewing(&self) -> anyhow::Error {
        let mut last_renewal = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.duration / 3).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewal = tokio::time::Instant::now(),
                Ok(false) => return anyhow::anyhow!("leader lease {} taken over", self.name),
                Err(e) => {
                    tracing::warn!(error = %e, "renewing the leader lease failed");
                    if last_renewal.elapsed() >= self.duration {
                        return anyhow::anyhow!("leader lease {} expired: {e}", self.name);
                    }
                }
            }
        }
    }

    /// One election round: true when this replica holds the Lease afterwards.
    async fn try_acquire_or_renew(&self) -> anyhow::Result<bool> {
        let now = Utc::now();
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..Default::default()
                },
                spec: Some(self.spec(now, now, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e.into()),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let expired = spec.renew_time.as_ref().is_none_or(|t| {
            let secs = spec.lease_duration_seconds.unwrap_or(15) as i64;
            t.0 + chrono::Duration::seconds(secs) < now
        });
        if holder != self.identity && !holder.is_empty() && !expired {
            return Ok(false);
        }
        let (acquired, transitions) = if holder == self.identity {
            (
                spec.acquire_time.map(|t| t.0).unwrap_or(now),
                spec.lease_transitions.unwrap_or(0),
            )
        } else {
            (now, spec.lease_transitions.unwrap_or(0) + 1)
        };
        lease.spec = Some(self.spec(acquired, now, transitions));
        // replace() carries the resourceVersion we read: a concurrent winner makes it 409.
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn spec(&self, acquired: DateTime<Utc>, renewed: DateTime<Utc>, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.duration.as_secs() as i32),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(renewed)),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }
}
