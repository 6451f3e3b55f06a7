//! Account JWTs on the servers, over NATS itself (system account): pushed with
//! `$SYS.REQ.CLAIMS.UPDATE`, removed with `$SYS.REQ.CLAIMS.DELETE`, and listed per server
//! with `$SYS.REQ.CLAIMS.LIST` to find drift (a server that lost accounts, e.g. one
//! restarted on an empty resolver directory) and repair it.
//!
//! Every server of the cluster answers these requests for itself, so a push collects one
//! reply per server and succeeds only when all of them stored the JWT; how many servers
//! there are is learnt from `$SYS.REQ.SERVER.PING` (and refreshed by the maintenance loop).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde::Deserialize;

/// How long to wait for replies of every server.
const REPLY_TIMEOUT: Duration = Duration::from_secs(3);
/// How long servers get to answer a ping (there is no way to know that all did).
const PING_WINDOW: Duration = Duration::from_millis(400);

#[derive(Debug, Deserialize)]
struct ServerInfo {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
struct ClaimReply {
    #[serde(default)]
    server: Option<ServerInfo>,
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<ClaimError>,
}

#[derive(Debug, Deserialize)]
struct ClaimError {
    #[serde(default)]
    description: String,
}

pub struct Accounts {
    system: async_nats::Client,
    servers: AtomicUsize,
}

impl Accounts {
    pub async fn new(system: async_nats::Client) -> anyhow::Result<Self> {
        let accounts = Self {
            system,
            servers: AtomicUsize::new(1),
        };
        accounts.refresh_servers().await?;
        Ok(accounts)
    }

    /// Number of servers that answered the last ping.
    pub fn servers(&self) -> usize {
        self.servers.load(Ordering::Relaxed)
    }

    /// Counts the servers of the cluster.
    pub async fn refresh_servers(&self) -> anyhow::Result<usize> {
        let replies = self
            .request_all("$SYS.REQ.SERVER.PING", Vec::new(), usize::MAX, PING_WINDOW)
            .await?;
        let n = replies.len().max(1);
        self.servers.store(n, Ordering::Relaxed);
        Ok(n)
    }

    /// Pushes an account JWT to every server; fails unless each stored it.
    pub async fn push(&self, account: &str, jwt: &str) -> anyhow::Result<()> {
        self.expect_all_ok(
            "$SYS.REQ.CLAIMS.UPDATE",
            jwt.as_bytes().to_vec(),
            &format!("account {account}"),
        )
        .await
    }

    /// Removes accounts from every server's resolver (`delete_request_jwt` is the
    /// operator-signed request).
    pub async fn delete(
        &self,
        accounts: &[String],
        delete_request_jwt: &str,
    ) -> anyhow::Result<()> {
        self.expect_all_ok(
            "$SYS.REQ.CLAIMS.DELETE",
            delete_request_jwt.as_bytes().to_vec(),
            &format!("deleting accounts {}", accounts.join(", ")),
        )
        .await
    }

    /// The accounts each server holds, by server name.
    pub async fn list(&self) -> anyhow::Result<BTreeMap<String, BTreeSet<String>>> {
        let expected = self.servers();
        let replies = self
            .request_all("$SYS.REQ.CLAIMS.LIST", Vec::new(), expected, REPLY_TIMEOUT)
            .await?;
        let mut out = BTreeMap::new();
        for reply in replies {
            let server = reply.server.map(|s| s.name).unwrap_or_default();
            let accounts: BTreeSet<String> = reply
                .data
                .and_then(|d| serde_json::from_value(d).ok())
                .unwrap_or_default();
            out.insert(server, accounts);
        }
        Ok(out)
    }

    async fn expect_all_ok(
        &self,
        subject: &str,
        payload: Vec<u8>,
        what: &str,
    ) -> anyhow::Result<()> {
        let expected = self.servers();
        let replies = self
            .request_all(subject, payload, expected, REPLY_TIMEOUT)
            .await?;
        let errors: Vec<String> = replies
            .iter()
            .filter_map(|r| {
                r.error.as_ref().map(|e| {
                    let server = r.server.as_ref().map_or("?", |s| s.name.as_str());
                    format!("{server}: {}", e.description)
                })
            })
            .collect();
        anyhow::ensure!(
            errors.is_empty(),
            "{what}: refused by {}",
            errors.join("; ")
        );
        anyhow::ensure!(
            replies.len() >= expected,
            "{what}: {} of {expected} NATS servers answered within {}s",
            replies.len(),
            REPLY_TIMEOUT.as_secs()
        );
        Ok(())
    }

    /// Publishes a request and collects replies until `expected` arrived or `window`
    /// passed.
    async fn request_all(
        &self,
        subject: &str,
        payload: Vec<u8>,
        expected: usize,
        window: Duration,
    ) -> anyhow::Result<Vec<ClaimReply>> {
        let inbox = self.system.new_inbox();
        let mut sub = self.system.subscribe(inbox.clone()).await?;
        self.system
            .publish_with_reply(subject.to_string(), inbox, payload.into())
            .await?;
        self.system.flush().await?;
        let mut replies = Vec::new();
        let deadline = tokio::time::Instant::now() + window;
        while replies.len() < expected {
            match tokio::time::timeout_at(deadline, sub.next()).await {
                Ok(Some(msg)) => match serde_json::from_slice::<ClaimReply>(&msg.payload) {
                    Ok(r) => replies.push(r),
                    Err(e) => tracing::warn!(%subject, error = %e, "unreadable $SYS reply"),
                },
                Ok(None) | Err(_) => break,
            }
        }
        let _ = sub.unsubscribe().await;
        Ok(replies)
    }
}
