//! A three-server NATS cluster in operator mode on 127.0.0.1 (routes between all three,
//! full resolver on each, aggregate streams with three replicas), driven by the operator's
//! own NATS module: an account pushed once is usable on every server; a server killed and
//! restarted comes back with every account from its resolver directory and the aggregates
//! still hold each message exactly once; a server that lost its resolver directory is
//! found by the drift check and repaired.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use async_nats::jetstream;
use clap::Parser;
use sanxiang_operator::config::Config;
use sanxiang_operator::naming::Placement;
use sanxiang_operator::nats::{AgencyLimits, AgencyMessaging, Nats, credentials::Stored};
use sanxiang_testkit::platform::{NatsAuth, Tools, nats_info_ready, process::free_port};
use sanxiang_testkit::wait::{eventually, eventually_some};

struct Server {
    name: String,
    port: u16,
    config: PathBuf,
    dir: PathBuf,
    program: PathBuf,
    child: Option<Child>,
}

impl Server {
    fn start(&mut self) -> anyhow::Result<()> {
        let log = std::fs::File::create(self.dir.join(format!("{}.log", self.name)))?;
        self.child = Some(
            Command::new(&self.program)
                .args(["-c", &self.config.display().to_string()])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()?,
        );
        sanxiang_testkit::wait::until(
            &format!("{} started", self.name),
            Duration::from_secs(30),
            || nats_info_ready(self.port),
        )
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn cluster(root: &Path, auth: &NatsAuth) -> anyhow::Result<Vec<Server>> {
    let program = Tools::locate()?.nats_server;
    let ports: Vec<(u16, u16)> = (0..3)
        .map(|_| Ok((free_port()?, free_port()?)))
        .collect::<anyhow::Result<_>>()?;
    let routes: Vec<String> = ports
        .iter()
        .map(|(_, c)| format!("\"nats-route://127.0.0.1:{c}\""))
        .collect();
    let mut servers = Vec::new();
    for (i, (port, cluster_port)) in ports.iter().enumerate() {
        let name = format!("sx-{}", i + 1);
        let dir = root.join(&name);
        std::fs::create_dir_all(dir.join("resolver"))?;
        let config = dir.join("nats.conf");
        std::fs::write(
            &config,
            format!(
                "server_name: {name}\nlisten: 127.0.0.1:{port}\n\
                 jetstream {{ store_dir: \"{}\", max_file_store: 1073741824, max_memory_store: 67108864 }}\n\
                 cluster {{ name: sx, listen: 127.0.0.1:{cluster_port}, routes: [{}] }}\n{}",
                dir.join("js").display(),
                routes.join(", "),
                auth.server_config(
                    &dir.join("resolver"),
                    sanxiang_testkit::platform::LOCAL_QUOTA
                )?,
            ),
        )?;
        servers.push(Server {
            name,
            port: *port,
            config,
            dir,
            program: program.clone(),
            child: None,
        });
    }
    Ok(servers)
}

fn config(auth: &NatsAuth, url: &str) -> Config {
    Config::parse_from([
        "sanxiang-operator".to_string(),
        "--postgres-url=postgres://unused".into(),
        format!("--nats-url={url}"),
        format!("--nats-system-creds-file={}", auth.system_creds().display()),
        format!(
            "--nats-operator-signing-key-file={}",
            auth.operator_signing_seed().display()
        ),
        format!(
            "--nats-account-signing-key-file={}",
            auth.account_signing_seed().display()
        ),
        "--nats-aggregate-disk-bytes=536870912".into(),
        "--nats-stream-max-bytes=16777216".into(),
        "--nats-stream-replicas=3".into(),
        "--lease-namespace=default".into(),
        "--lease-name=unused".into(),
    ])
}

async fn publish_ids(creds: &str, url: &str, subject: &str, ids: &[String]) -> anyhow::Result<()> {
    let client = async_nats::ConnectOptions::with_credentials(creds)?
        .connect(url)
        .await?;
    let js = jetstream::new(client);
    for id in ids {
        // While a killed server's streams elect new leaders JetStream briefly answers
        // "no stream"; a publisher retries (the message id makes a retry harmless).
        eventually(
            &format!("publish {id} acked"),
            Duration::from_secs(20),
            || async {
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
                js.publish_with_headers(subject.to_string(), headers, id.clone().into())
                    .await?
                    .await?;
                Ok(true)
            },
        )
        .await?;
    }
    Ok(())
}

async fn count(js: &jetstream::Context, stream: &str) -> anyhow::Result<u64> {
    Ok(js.get_stream(stream).await?.info().await?.state.messages)
}

#[tokio::test]
async fn accounts_and_aggregates_survive_a_server_restart() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let auth = NatsAuth::new(root.path());
    auth.ensure()?;
    let mut servers = cluster(root.path(), &auth)?;
    for s in servers.iter_mut() {
        s.start()?;
    }
    // The cluster is formed when every server answers a ping through server 1.
    let system = async_nats::ConnectOptions::with_credentials_file(auth.system_creds())
        .await?
        .connect(servers[0].url())
        .await?;
    eventually("three servers routed", Duration::from_secs(30), || {
        let system = system.clone();
        async move {
            let inbox = system.new_inbox();
            let mut sub = system.subscribe(inbox.clone()).await?;
            system
                .publish_with_reply("$SYS.REQ.SERVER.PING", inbox, "".into())
                .await?;
            let mut n = 0;
            while let Ok(Some(_)) = tokio::time::timeout(
                Duration::from_millis(300),
                futures::StreamExt::next(&mut sub),
            )
            .await
            {
                n += 1;
            }
            Ok(n == 3)
        }
    })
    .await?;

    let phase = sanxiang_operator::metrics::Metrics::default().phase;
    let nats = Nats::connect(&config(&auth, &servers[0].url()), phase).await?;
    let placement = Placement {
        province: "990000".into(),
        city: Some("990100".into()),
        county: Some("990101".into()),
    };
    let prefix = "sx.990000.990100.990101.cluster-agency";
    let agency = AgencyMessaging {
        namespace: "sx-990100",
        name: "cluster-agency",
        uid: "0f0f0f0f-cluster",
        subject_prefix: prefix,
        placement: &placement,
        rotation_requested: "",
        limits: AgencyLimits {
            max_connections: 8,
            max_subscriptions: 100,
            max_payload: 65536,
        },
    };
    // Streams need the JetStream meta leader; retry until elected.
    let provisioned = eventually_some("agency provisioned", Duration::from_secs(60), || async {
        Ok(Some(nats.ensure_agency(&agency, None).await?))
    })
    .await?;
    let creds = provisioned.data["creds"].clone();
    let account = provisioned.data["account"].clone();
    let stored = Stored {
        account: account.clone(),
        user: provisioned.data["user"].clone(),
        creds: creds.clone(),
        rotation_applied: String::new(),
        retired: Default::default(),
    };
    // Pushed once, present on every server, usable on every server.
    let listed = nats.accounts_by_server().await?;
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(listed.values().all(|a| a.contains(&account)), "{listed:?}");
    let subject = format!("{prefix}.disclosure");
    let ids = |r: std::ops::Range<u32>| -> Vec<String> { r.map(|i| format!("m-{i}")).collect() };
    for (i, s) in servers.iter().enumerate() {
        publish_ids(
            &creds,
            &s.url(),
            &subject,
            &ids(i as u32 * 10..i as u32 * 10 + 10),
        )
        .await?;
    }

    // Server 3 dies; publishing goes on through server 1, with retried duplicates.
    servers[2].kill();
    publish_ids(&creds, &servers[0].url(), &subject, &ids(25..40)).await?;
    // Back from its own resolver directory: the account works there at once.
    servers[2].start()?;
    let again = nats.ensure_agency(&agency, Some(&stored)).await?;
    assert_eq!(again.data["user"], stored.user, "credentials unchanged");
    eventually(
        "server 3 serves the account again",
        Duration::from_secs(30),
        || {
            let (creds, url, subject) = (creds.clone(), servers[2].url(), subject.clone());
            async move {
                publish_ids(&creds, &url, &subject, &ids(40..45)).await?;
                Ok(true)
            }
        },
    )
    .await?;

    let admin = jetstream::new(
        async_nats::ConnectOptions::with_credentials_file(auth.admin_creds())
            .await?
            .connect(servers[0].url())
            .await?,
    );
    for stream in ["SX_COUNTY_990101", "SX_CITY_990100", "SX_PROVINCE_990000"] {
        eventually(
            &format!("{stream} holds each message once"),
            Duration::from_secs(60),
            || {
                let admin = admin.clone();
                async move { Ok(count(&admin, stream).await? == 45) }
            },
        )
        .await?;
    }

    // Drift: server 3 restarts with an empty resolver directory; the drift check finds it
    // and pushes the account again.
    servers[2].kill();
    std::fs::remove_dir_all(servers[2].dir.join("resolver"))?;
    std::fs::create_dir_all(servers[2].dir.join("resolver"))?;
    servers[2].start()?;
    let repaired = eventually_some("drift check", Duration::from_secs(30), || async {
        Ok(Some(nats.repair_drift().await?))
    })
    .await?;
    let listed = nats.accounts_by_server().await?;
    assert!(
        listed.values().all(|a| a.contains(&account)),
        "after repair (re-pushed {repaired}): {listed:?}"
    );
    publish_ids(&creds, &servers[2].url(), &subject, &ids(45..46)).await?;
    eventually("province after repair", Duration::from_secs(30), || {
        let admin = admin.clone();
        async move { Ok(count(&admin, "SX_PROVINCE_990000").await? == 46) }
    })
    .await?;
    Ok(())
}
