//! The real-platform rig of the disclosure tests: a county agency served by the tenant
//! service (in-process, on the platform's PostgreSQL), a private nats-server (so the test
//! can stop it) with the agency → county → city → province chain of streams the operator
//! builds, the agency and its places as real Agency/Jurisdiction objects on the platform's
//! kube-apiserver, and the disclosure platform binary itself.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::jetstream;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use rand::Rng;
use sanxiang_tenant_service::NatsSettings;
use sanxiang_tenant_service::auth::Role;
use sanxiang_testkit::Platform;
use serde_json::{Value, json};

#[path = "../../../tests/common/mod.rs"]
pub mod common;
use common::{Harness, Options, TestTenant};
pub use common::{PrivateNats, free_port, wait_port};

pub const DISPLAY_NAME: &str = "铁岭县市场监督管理局";

/// The disclosure platform process.
pub struct Portal {
    pub port: u16,
    pub admin: u16,
    pub index_dir: PathBuf,
    pub log: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sanxiang-disclosure"))
}

impl Portal {
    pub fn start(rig: &Rig, index_dir: &Path) -> anyhow::Result<Self> {
        let (port, admin) = (free_port()?, free_port()?);
        let log = rig.out_dir.join(format!("portal-{port}.log"));
        let mut args = rig.common_args(index_dir);
        args.extend([
            format!("--listen=127.0.0.1:{port}"),
            format!("--admin-listen=127.0.0.1:{admin}"),
            "--trust-forwarded-for".into(),
            "--rate-limit-per-second=5".into(),
            "--rate-limit-burst=100".into(),
            "--cors-origin=https://www.ln.gov.cn".into(),
        ]);
        let mut p = Self {
            port,
            admin,
            index_dir: index_dir.to_path_buf(),
            log,
            args,
            child: None,
        };
        p.up(rig)?;
        Ok(p)
    }

    pub fn up(&mut self, rig: &Rig) -> anyhow::Result<()> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(binary())
            .args(&self.args)
            .env("KUBECONFIG", rig.platform.kubeconfig())
            .env("RUST_LOG", "info,sanxiang_disclosure=debug")
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("starting sanxiang-disclosure")?;
        self.child = Some(child);
        wait_port(self.admin, Duration::from_secs(30))
            .with_context(|| format!("portal did not start; log {}", self.log.display()))
    }

    /// Kills the process (no graceful shutdown: a crash).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.admin)
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Everything one test needs.
pub struct Rig {
    pub platform: &'static Platform,
    pub nats: PrivateNats,
    pub harness: Harness,
    pub province: String,
    pub city: String,
    pub county: String,
    pub stream: String,
    pub namespace: String,
    pub out_dir: PathBuf,
    pub http: reqwest::Client,
}

fn jurisdiction(level: &str, code: &str, parent: Option<&str>, name: &str) -> String {
    let parent = parent
        .map(|p| format!("  parent: \"{p}\"\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: sanxiang.io/v1alpha1\nkind: Jurisdiction\nmetadata:\n  name: j-{code}\n\
         spec:\n  level: {level}\n  code: \"{code}\"\n{parent}  displayName: \"{name}\"\n"
    )
}

pub fn credit_code(region: &str, n: u32) -> String {
    let first17 = format!("11{region}MB{n:07}");
    let check = sanxiang_crds::credit_code::check_character(&first17).expect("valid body");
    format!("{first17}{check}")
}

impl Rig {
    pub async fn new(label: &str) -> anyhow::Result<Self> {
        let platform = Platform::shared()?;
        platform.install_sanxiang_crds()?;
        // Codes 71..82 are not used by the operator's tests (11..65), so their operators
        // and ours do not meet over the same Jurisdiction.
        let (p, c): (u32, u32) = {
            let mut rng = rand::rng();
            (rng.random_range(71..=82), rng.random_range(1..=89))
        };
        let (province, city, county) = (
            format!("{p}0000"),
            format!("{p}{c:02}00"),
            format!("{p}{c:02}21"),
        );
        let mut tenant = TestTenant::new(platform, label, &city).await?;
        tenant.tenant.county = county.clone();
        let agency = tenant.tenant.agency.clone();
        let prefix = tenant.tenant.subject_prefix.clone();
        let namespace = tenant.scope.namespace.clone();
        let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("disclosure-{label}-{}", tenant.scope.id));
        std::fs::create_dir_all(&out_dir)?;

        // Places and the agency, as the operator and a city administrator would write them.
        platform.kubectl_apply(
            &[
                jurisdiction("Province", &province, None, "测试省"),
                jurisdiction("City", &city, Some(&province), "铁岭市"),
                jurisdiction("County", &county, Some(&city), "铁岭县"),
            ]
            .join("---\n"),
        )?;
        let client = platform.kube_client().await?;
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": namespace,
            "labels": {"sanxiang.io/test": "true", "sanxiang.io/city-code": city}}}))?;
        Api::<Namespace>::all(client)
            .create(&PostParams::default(), &ns)
            .await?;
        platform.kubectl_apply(&format!(
            "apiVersion: sanxiang.io/v1alpha1\nkind: Agency\nmetadata:\n  name: {agency}\n  namespace: {namespace}\n\
             spec:\n  jurisdiction: \"{county}\"\n  displayName: \"{DISPLAY_NAME}\"\n  creditCode: \"{}\"\n\
             \x20 categories: [Penalty, Licensing]\n",
            credit_code(&county, 1)
        ))?;

        // The chain of streams the operator builds: agency → county → city → province.
        let nats = PrivateNats::start()?;
        let js = jetstream::new(async_nats::connect(nats.url()).await?);
        common::create_aggregate_chain(&js, &prefix, &tenant.scope.id, (&province, &city, &county))
            .await?;
        let harness = Harness::start(
            vec![tenant],
            Options {
                nats: Some(NatsSettings {
                    url: nats.url(),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await?;
        Ok(Self {
            platform,
            nats,
            harness,
            stream: format!("SX_PROVINCE_{province}"),
            province,
            city,
            county,
            namespace,
            out_dir,
            http: reqwest::Client::new(),
        })
    }

    pub fn common_args(&self, index_dir: &Path) -> Vec<String> {
        vec![
            format!("--nats-url={}", self.nats.url()),
            format!("--stream={}", self.stream),
            format!("--index-dir={}", index_dir.display()),
            "--directory-from-kube".into(),
            format!("--agency-namespace={}", self.namespace),
        ]
    }

    /// Publishes a penalty decision whose facts name the party's ID number and phone and a
    /// third person; returns its id.
    pub async fn publish(&self, doc: &str) -> anyhow::Result<String> {
        let h = &self.harness;
        let id = h.draft(0, common::penalty(doc)).await?;
        let (s, v) = h
            .post(
                0,
                &format!("/decisions/{id}/issue"),
                Role::Officer,
                json!({"decidedOn": "2026-03-02"}),
            )
            .await?;
        anyhow::ensure!(s.is_success(), "issue: {v}");
        // Requested by the officer, approved by a second person (the agency's admin).
        h.publish(0, &id).await?;
        Ok(id)
    }

    pub async fn withdraw(&self, id: &str, reason: &str) -> anyhow::Result<()> {
        let h = &self.harness;
        let (s, v) = h
            .post(
                0,
                &format!("/decisions/{id}/revoke"),
                Role::Officer,
                json!({"reason": reason}),
            )
            .await?;
        // A published decision is withdrawn with its revocation, the reason kept.
        anyhow::ensure!(s.is_success(), "revoke: {v}");
        Ok(())
    }

    pub async fn get_json(&self, url: &str) -> anyhow::Result<(u16, Value)> {
        let r = self.http.get(url).send().await?;
        let s = r.status().as_u16();
        Ok((s, r.json().await.unwrap_or(Value::Null)))
    }

    pub async fn get_text(&self, url: &str) -> anyhow::Result<(u16, String)> {
        let r = self.http.get(url).send().await?;
        Ok((r.status().as_u16(), r.text().await?))
    }

    /// Waits until `check` holds ([`sanxiang_testkit::wait::eventually`]); returns how long
    /// it took.
    pub async fn eventually<F, Fut>(
        what: &str,
        within: Duration,
        check: F,
    ) -> anyhow::Result<Duration>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<bool>>,
    {
        let started = Instant::now();
        sanxiang_testkit::wait::eventually(what, within, check).await?;
        Ok(started.elapsed())
    }

    pub async fn cleanup(self) -> anyhow::Result<()> {
        let client = self.platform.kube_client().await?;
        for name in [&self.county, &self.city, &self.province] {
            let _ = self
                .platform
                .kubectl()
                .args([
                    "delete",
                    "jurisdiction",
                    &format!("j-{name}"),
                    "--ignore-not-found",
                    "--wait=false",
                ])
                .output();
        }
        let _ = Api::<Namespace>::all(client)
            .delete(&self.namespace, &DeleteParams::background())
            .await;
        self.harness.stop().await;
        Ok(())
    }
}
