//! The programs of the local platform, in start order, each with how to start it and how
//! to tell that it is ready. Flags follow controller-runtime's envtest where it applies.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use super::process::{self, Spawn, http_get, wait_until};
use super::{Pki, Platform, oidc};

pub struct Component {
    pub name: &'static str,
    /// A string in the program's command line, to recognise its pid.
    pub needle: &'static str,
    pub start: fn(&Platform) -> Result<u32>,
    pub ready: fn(&Platform) -> Result<()>,
}

impl Component {
    pub fn running(&self, p: &Platform) -> bool {
        p.pids
            .get(self.name)
            .is_some_and(|&pid| process::alive(pid, self.needle))
            && self.ready_quick()(p)
    }

    fn ready_quick(&self) -> fn(&Platform) -> bool {
        match self.name {
            "etcd" => |p| etcd_healthy(p).unwrap_or(false),
            "postgres" => |p| postgres_ready(p).unwrap_or(false),
            "nats-server" => |p| nats_healthy(p).unwrap_or(false),
            "hydra" => |p| oidc::hydra_ready(p).unwrap_or(false),
            "hydra-login" => |p| oidc::login_ready(p).unwrap_or(false),
            _ => |_| true,
        }
    }
}

pub const COMPONENTS: &[Component] = &[
    Component {
        name: "etcd",
        needle: "etcd",
        start: start_etcd,
        ready: |p| wait_ready(p, "etcd", 30, || etcd_healthy(p)),
    },
    Component {
        name: "postgres",
        needle: "postgres",
        start: start_postgres,
        ready: |p| wait_ready(p, "postgres", 30, || postgres_ready(p)),
    },
    Component {
        name: "nats-server",
        needle: "nats-server",
        start: start_nats,
        ready: |p| wait_ready(p, "nats-server", 30, || nats_healthy(p)),
    },
    // The OpenID Connect provider (its state in PostgreSQL) and its login/consent app.
    Component {
        name: "hydra",
        needle: "hydra",
        start: oidc::start_hydra,
        ready: |p| wait_ready(p, "hydra", 60, || oidc::hydra_ready(p)),
    },
    Component {
        name: "hydra-login",
        needle: "sanxiang-login",
        start: oidc::start_login,
        ready: |p| wait_ready(p, "hydra-login", 30, || oidc::login_ready(p)),
    },
    Component {
        name: "kube-apiserver",
        needle: "kube-apiserver",
        start: start_apiserver,
        ready: apiserver_ready,
    },
    Component {
        name: "kube-controller-manager",
        needle: "kube-controller-manager",
        start: start_controller_manager,
        ready: |p| {
            // It serves nothing (--secure-port=0); alive after a moment means it loaded
            // its configuration and reached the apiserver.
            std::thread::sleep(Duration::from_secs(1));
            wait_ready(p, "kube-controller-manager", 5, || Ok(true))
        },
    },
];

/// Waits for `check`, failing at once (with the log's tail) if the component's process exits.
fn wait_ready(
    p: &Platform,
    name: &str,
    timeout_secs: u64,
    check: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let watch = p.pids.get(name).copied();
    wait_until(
        name,
        &p.log(name),
        Duration::from_secs(timeout_secs),
        watch,
        check,
    )
}

fn logs_dir(p: &Platform) -> Result<()> {
    fs::create_dir_all(p.state_dir.join("logs"))?;
    Ok(())
}

fn start_etcd(p: &Platform) -> Result<u32> {
    logs_dir(p)?;
    let data = p.state_dir.join("etcd");
    Spawn {
        name: "etcd",
        program: &p.tools.etcd,
        args: vec![
            "--name=sanxiang-local".into(),
            format!("--data-dir={}", data.display()),
            format!(
                "--listen-client-urls=http://127.0.0.1:{}",
                p.ports.etcd_client
            ),
            format!(
                "--advertise-client-urls=http://127.0.0.1:{}",
                p.ports.etcd_client
            ),
            format!("--listen-peer-urls=http://127.0.0.1:{}", p.ports.etcd_peer),
            format!(
                "--initial-advertise-peer-urls=http://127.0.0.1:{}",
                p.ports.etcd_peer
            ),
            format!(
                "--initial-cluster=sanxiang-local=http://127.0.0.1:{}",
                p.ports.etcd_peer
            ),
            // A local, disposable store: durability across power loss is not wanted.
            "--unsafe-no-fsync".into(),
            "--quota-backend-bytes=4294967296".into(),
        ],
        log: p.log("etcd"),
        user: None,
        env: Vec::new(),
    }
    .start()
}

fn etcd_healthy(p: &Platform) -> Result<bool> {
    let (status, body) = http_get(p.ports.etcd_client, "/health")?;
    Ok(status == 200 && body.contains("\"health\":\"true\""))
}

/// PostgreSQL refuses to run as root; when we are root it runs as Debian's `postgres` user
/// (its uid and gid), otherwise as us (`None`).
pub fn postgres_user() -> Result<Option<(u32, u32)>> {
    let uid: u32 = process::run(Command::new("id").arg("-u"), "id -u")?
        .trim()
        .parse()?;
    if uid != 0 {
        return Ok(None);
    }
    let id = |flag: &str| -> Result<u32> {
        Ok(process::run(Command::new("id").args([flag, "postgres"]), "id postgres")
            .context("no `postgres` user to run PostgreSQL as (install the Debian package `postgresql`)")?
            .trim()
            .parse()?)
    };
    Ok(Some((id("-u")?, id("-g")?)))
}

fn start_postgres(p: &Platform) -> Result<u32> {
    logs_dir(p)?;
    let root = p.state_dir.join("postgres");
    let data = root.join("data");
    let user = postgres_user()?;
    if !data.join("PG_VERSION").exists() {
        fs::create_dir_all(&root)?;
        if let Some((uid, gid)) = user {
            // The state directory's parents must be traversable by the postgres user.
            let mut dir = Some(p.state_dir.as_path());
            while let Some(d) = dir {
                if d.starts_with("/tmp/") {
                    process::run(Command::new("chmod").arg("a+x").arg(d), "chmod")?;
                }
                dir = d.parent();
            }
            process::run(
                Command::new("chown")
                    .arg("-R")
                    .arg(format!("{uid}:{gid}"))
                    .arg(&root),
                "chown postgres state",
            )?;
        }
        initdb(
            &p.tools.postgres_bin,
            &root,
            &data,
            &p.postgres_password,
            user,
        )
        .context("initialising the PostgreSQL cluster")?;
    }
    Spawn {
        name: "postgres",
        program: &p.tools.postgres_bin.join("postgres"),
        args: vec![
            "-D".into(),
            data.display().to_string(),
            "-p".into(),
            p.ports.postgres.to_string(),
            "-c".into(),
            "listen_addresses=127.0.0.1".into(),
            "-c".into(),
            format!("unix_socket_directories={}", root.display()),
            "-c".into(),
            "max_connections=400".into(),
            "-c".into(),
            "shared_buffers=256MB".into(),
            // A local, disposable cluster: skip fsync as envtest-style setups do.
            "-c".into(),
            "fsync=off".into(),
        ],
        log: p.log("postgres"),
        user,
        env: Vec::new(),
    }
    .start()
}

/// Initialises a PostgreSQL cluster in `data` (Debian's `initdb` from `bin`) whose
/// superuser `postgres` has `password` (scram-sha-256, UTF-8, C.UTF-8), running as `user`
/// when given. The password file exists in `root` only while `initdb` runs.
pub fn initdb(
    bin: &std::path::Path,
    root: &std::path::Path,
    data: &std::path::Path,
    password: &str,
    user: Option<(u32, u32)>,
) -> Result<()> {
    let pwfile = root.join("pwfile");
    fs::write(&pwfile, password)?;
    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .arg("-D")
        .arg(data)
        .args([
            "-U",
            "postgres",
            "-A",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ])
        .arg(format!("--pwfile={}", pwfile.display()));
    if let Some((uid, gid)) = user {
        use std::os::unix::process::CommandExt;
        std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid))?;
        initdb.uid(uid).gid(gid);
    }
    let result = process::run(&mut initdb, "initdb");
    fs::remove_file(&pwfile)?;
    result.map(drop)
}

/// The role the operator provisions tenants with: `LOGIN CREATEDB CREATEROLE` and no
/// superuser, plus `pg_signal_backend` to end a locked-out agency's sessions — what
/// `docs/deploy.md` asks a province's database administrator to create. Idempotent.
pub(super) fn ensure_operator_role(p: &Platform) -> Result<()> {
    let sql = format!(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN \
             CREATE ROLE {role} LOGIN CREATEDB CREATEROLE NOSUPERUSER NOREPLICATION \
               PASSWORD '{password}'; \
           END IF; \
         END $$; \
         GRANT pg_signal_backend TO {role};",
        role = super::OPERATOR_POSTGRES_ROLE,
        password = p.operator_postgres_password(),
    );
    let mut cmd = Command::new(p.tools.postgres_bin.join("psql"));
    cmd.args(["-h", "127.0.0.1", "-p", &p.ports.postgres.to_string()])
        .args([
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            &sql,
        ])
        .env("PGPASSWORD", &p.postgres_password);
    process::run(&mut cmd, "psql (the operator's role)").map(drop)
}

fn postgres_ready(p: &Platform) -> Result<bool> {
    let status = Command::new(p.tools.postgres_bin.join("pg_isready"))
        .args(["-q", "-h", "127.0.0.1", "-p", &p.ports.postgres.to_string()])
        .status()?;
    Ok(status.success())
}

fn start_nats(p: &Platform) -> Result<u32> {
    logs_dir(p)?;
    let dir = p.state_dir.join("nats");
    fs::create_dir_all(dir.join("jetstream"))?;
    fs::create_dir_all(dir.join("resolver"))?;
    let auth = p.nats_auth();
    auth.ensure()?;
    let config = dir.join("nats.conf");
    // No `http:` block: nats-server's monitoring endpoint has no authentication, so it is
    // not opened at all; readiness is read from the client port's INFO line instead.
    fs::write(
        &config,
        format!(
            "server_name: sanxiang-local\nlisten: 127.0.0.1:{}\n\
             jetstream {{\n  store_dir: \"{}\"\n  max_memory_store: 536870912\n  max_file_store: 274877906944\n}}\n{}",
            p.ports.nats,
            dir.join("jetstream").display(),
            auth.server_config(&dir.join("resolver"), super::LOCAL_QUOTA)?,
        ),
    )?;
    Spawn {
        name: "nats-server",
        program: &p.tools.nats_server,
        args: vec!["-c".into(), config.display().to_string()],
        log: p.log("nats-server"),
        user: None,
        env: Vec::new(),
    }
    .start()
}

/// Ready when the client port greets with an INFO line announcing JetStream.
pub fn nats_healthy(p: &Platform) -> Result<bool> {
    nats_info_ready(p.ports.nats)
}

/// Whether a nats-server on `port` accepts clients with JetStream enabled.
pub fn nats_info_ready(port: u16) -> Result<bool> {
    use std::io::{BufRead, BufReader};
    let stream = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    )?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    Ok(line.starts_with("INFO ") && line.contains("\"jetstream\":true"))
}

fn start_apiserver(p: &Platform) -> Result<u32> {
    logs_dir(p)?;
    let pki = Pki::new(&p.state_dir);
    let cert_dir = p.state_dir.join("apiserver");
    fs::create_dir_all(&cert_dir)?;
    pki.write_kubeconfig(
        &p.kubeconfig(),
        &p.apiserver_url(),
        "sanxiang-admin",
        Some("system:masters"),
    )?;
    Spawn {
        name: "kube-apiserver",
        program: &p.tools.kube_apiserver,
        args: apiserver_args(p, p.ports.apiserver, &cert_dir),
        log: p.log("kube-apiserver"),
        user: None,
        env: Vec::new(),
    }
    .start()
}

/// The kube-apiserver's flags on the platform's etcd, PKI and service-account keys.
pub(crate) fn apiserver_args(p: &Platform, port: u16, cert_dir: &Path) -> Vec<String> {
    let pki = Pki::new(&p.state_dir);
    vec![
        format!("--etcd-servers=http://127.0.0.1:{}", p.ports.etcd_client),
        format!("--cert-dir={}", cert_dir.display()),
        format!("--tls-cert-file={}", pki.serving_cert().display()),
        format!("--tls-private-key-file={}", pki.serving_key().display()),
        format!("--client-ca-file={}", pki.ca_cert().display()),
        format!("--secure-port={port}"),
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        "--service-cluster-ip-range=10.0.0.0/24".into(),
        "--authorization-mode=RBAC".into(),
        "--allow-privileged=true".into(),
        // No kubelet or service-account token controller runs here.
        "--disable-admission-plugins=ServiceAccount".into(),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
        format!(
            "--service-account-key-file={}",
            pki.service_account_public_key().display()
        ),
        format!(
            "--service-account-signing-key-file={}",
            pki.service_account_key().display()
        ),
        "--enable-priority-and-fairness=false".into(),
        "--event-ttl=1h".into(),
    ]
}

/// CRDs of the wider ecosystem that Sanxiang writes objects of (PrometheusRule, …).
pub(crate) fn ecosystem_crds_dir() -> PathBuf {
    crate::operator::e2e_dir().join("fixtures/ecosystem-crds")
}

fn apiserver_ready(p: &Platform) -> Result<()> {
    wait_ready(p, "kube-apiserver", 90, || {
        let out = p
            .kubectl()
            .args(["get", "--raw", "/readyz", "--request-timeout=5s"])
            .output()?;
        Ok(out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok")
    })?;
    // CRDs of the wider ecosystem that Sanxiang writes objects of (PrometheusRule,
    // ServiceMonitor), as a cluster with the Prometheus operator would have them.
    let fixtures = ecosystem_crds_dir();
    if fixtures.exists() {
        process::run(
            p.kubectl()
                .args(["apply", "--server-side", "--force-conflicts", "-f"])
                .arg(&fixtures),
            "installing ecosystem CRDs",
        )?;
    }
    Ok(())
}

fn start_controller_manager(p: &Platform) -> Result<u32> {
    logs_dir(p)?;
    let pki = Pki::new(&p.state_dir);
    Spawn {
        name: "kube-controller-manager",
        program: &p.tools.kube_controller_manager,
        args: vec![
            format!("--kubeconfig={}", p.kubeconfig().display()),
            "--leader-elect=false".into(),
            "--secure-port=0".into(),
            // Garbage collection (ownerReferences) and namespace deletion are what the
            // operator relies on; service accounts make namespaces look like a cluster's.
            "--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller".into(),
            format!("--service-account-private-key-file={}", pki.service_account_key().display()),
            format!("--root-ca-file={}", pki.ca_cert().display()),
            "--concurrent-gc-syncs=10".into(),
        ],
        log: p.log("kube-controller-manager"),
        user: None,
        env: Vec::new(),
    }
    .start()
}
