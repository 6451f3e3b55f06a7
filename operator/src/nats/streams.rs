//! The aggregate streams, all in the aggregate account: a county's stream captures its
//! agencies' subjects `sx.<province>.<city>.<county>.>` (what they publish arrives through
//! their accounts' imports); a city's stream captures its city-level agencies'
//! `sx.<province>.<city>.-.>` and sources its counties' streams; the province's sources its
//! cities' and captures its province-level agencies' `sx.<province>.-.-.>` itself (no
//! city stream holds them, so the province holds each of their messages once, as it does
//! every city's). The number of streams is the number of jurisdictions, whatever the number of
//! agencies. Sourcing is durable and resumes after outages, and message ids
//! (`Nats-Msg-Id`) travel with the messages, so each level holds every message once.
//!
//! Every stream has limits (bytes, messages, message size) and refuses new messages when
//! full rather than dropping records (`discard: new`); purging and deleting messages are
//! denied by the stream itself (`deny_purge`, `deny_delete`), whoever asks.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use tokio::sync::Mutex;

use crate::naming::{self, Placement};

/// Limits of every aggregate stream.
#[derive(Clone, Copy, Debug)]
pub struct StreamLimits {
    pub max_bytes: i64,
    pub max_messages: i64,
    pub max_message_size: i32,
    pub replicas: usize,
}

/// Creates the aggregate streams and keeps their source lists complete. Updates of a
/// stream's sources are read-modify-write, so they are serialised here; what was ensured
/// once is remembered, so onboarding the 5,000th agency of a county costs no API call.
pub struct Streams {
    js: jetstream::Context,
    limits: StreamLimits,
    lock: Mutex<()>,
    ensured: std::sync::Mutex<HashSet<String>>,
}

/// The streams an agency's messages go through, nearest first: `[county, city,
/// province]`, `[city, province]`, or `[province]` for a province-level agency.
pub fn aggregate_chain(placement: &Placement) -> Vec<String> {
    let mut chain = Vec::new();
    if let Some(county) = &placement.county {
        chain.push(naming::county_stream(county));
    }
    if let Some(city) = &placement.city {
        chain.push(naming::city_stream(city));
    }
    chain.push(naming::province_stream(&placement.province));
    chain
}

/// The subjects a level captures directly.
fn captured_subjects(placement: &Placement) -> String {
    format!(
        "{}.{}.{}.{}.>",
        sanxiang_nats_jwt::topology::SUBJECT_ROOT,
        placement.province,
        placement.city_token(),
        placement.county_token()
    )
}

impl Streams {
    pub fn new(client: async_nats::Client, limits: StreamLimits) -> Self {
        Self {
            js: jetstream::new(client),
            limits,
            lock: Mutex::new(()),
            ensured: std::sync::Mutex::new(HashSet::new()),
        }
    }

    /// Ensures the chain of aggregates that receives the agency's subjects.
    pub async fn ensure_for(&self, placement: &Placement) -> anyhow::Result<()> {
        let chain = aggregate_chain(placement);
        let key = format!("{}|{}", chain.join(">"), captured_subjects(placement));
        if self.ensured.lock().expect("not poisoned").contains(&key) {
            return Ok(());
        }
        let _guard = self.lock.lock().await;
        // The capturing stream (county, city for a city-level agency, the province for a
        // province-level one).
        self.ensure_stream(&chain[0], Some(captured_subjects(placement)), None)
            .await?;
        for pair in chain.windows(2) {
            self.ensure_stream(&pair[1], None, Some(&pair[0])).await?;
        }
        self.ensured.lock().expect("not poisoned").insert(key);
        Ok(())
    }

    fn config(&self, name: &str) -> stream::Config {
        stream::Config {
            name: name.to_string(),
            description: Some("Sanxiang aggregate stream".into()),
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            discard: stream::DiscardPolicy::New,
            max_bytes: self.limits.max_bytes,
            max_messages: self.limits.max_messages,
            max_message_size: self.limits.max_message_size,
            deny_delete: true,
            deny_purge: true,
            num_replicas: self.limits.replicas,
            // Duplicates from publisher retries (the tenant service's outbox relay after
            // a crash between publish and mark) within an hour are dropped by message id.
            duplicate_window: Duration::from_secs(3600),
            ..Default::default()
        }
    }

    /// Creates `name` or adds `subject` / `source` to it.
    async fn ensure_stream(
        &self,
        name: &str,
        subject: Option<String>,
        source: Option<&str>,
    ) -> anyhow::Result<()> {
        let wanted_source = source.map(|s| stream::Source {
            name: s.to_string(),
            ..Default::default()
        });
        match self.existing(name).await? {
            Some(mut s) => {
                let mut config = s.info().await?.config.clone();
                let mut changed = false;
                if let Some(subject) = subject
                    && !config.subjects.contains(&subject)
                {
                    config.subjects.push(subject);
                    config.subjects.sort();
                    changed = true;
                }
                if let Some(src) = wanted_source {
                    let sources = config.sources.get_or_insert_with(Vec::new);
                    if !sources.iter().any(|s| s.name == src.name) {
                        sources.push(src);
                        sources.sort_by(|a, b| a.name.cmp(&b.name));
                        changed = true;
                    }
                }
                if changed {
                    self.js
                        .update_stream(config)
                        .await
                        .map_err(|e| anyhow::anyhow!("updating stream {name}: {e}"))?;
                }
            }
            None => {
                let mut config = self.config(name);
                config.subjects = subject.into_iter().collect();
                config.sources = wanted_source.map(|s| vec![s]);
                self.js
                    .create_stream(config)
                    .await
                    .map_err(|e| anyhow::anyhow!("creating stream {name}: {e}"))?;
            }
        }
        Ok(())
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
}

fn is_not_found(message: &str) -> bool {
    message.contains("not found") || message.contains("does not exist")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_and_captured_subjects() {
        let county = Placement {
            province: "210000".into(),
            city: Some("211200".into()),
            county: Some("211221".into()),
        };
        assert_eq!(
            aggregate_chain(&county),
            ["SX_COUNTY_211221", "SX_CITY_211200", "SX_PROVINCE_210000"]
        );
        assert_eq!(captured_subjects(&county), "sx.210000.211200.211221.>");
        let city = Placement {
            county: None,
            ..county
        };
        assert_eq!(
            aggregate_chain(&city),
            ["SX_CITY_211200", "SX_PROVINCE_210000"]
        );
        assert_eq!(captured_subjects(&city), "sx.210000.211200.-.>");
        let province = Placement { city: None, ..city };
        assert_eq!(aggregate_chain(&province), ["SX_PROVINCE_210000"]);
        assert_eq!(captured_subjects(&province), "sx.210000.-.-.>");
        assert!(is_not_found("stream not found"));
    }
}
