//! Where the platform's programs are: the Go-built ones (etcd, Kubernetes, helm,
//! nats-server, Ory Hydra) come from `e2e/tools/build.sh`
//! (which builds into a cache outside the repository and is a no-op when warm), the others
//! from Debian's packages.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tools {
    pub etcd: PathBuf,
    pub kube_apiserver: PathBuf,
    pub kube_controller_manager: PathBuf,
    pub kubectl: PathBuf,
    pub helm: PathBuf,
    pub postgres_bin: PathBuf,
    pub nats_server: PathBuf,
    /// Ory Hydra, the OpenID Connect provider, and the login/consent app beside it.
    #[serde(default)]
    pub hydra: PathBuf,
    #[serde(default)]
    pub hydra_login: PathBuf,
    pub prometheus: PathBuf,
    pub promtool: PathBuf,
    /// Debian's `prometheus-alertmanager` package (the program is named after the package).
    #[serde(default = "default_alertmanager")]
    pub alertmanager: PathBuf,
    #[serde(default = "default_amtool")]
    pub amtool: PathBuf,
}

impl Tools {
    /// Finds every program, building the Go ones first if they are not cached yet (the
    /// build script prints its progress on stderr).
    pub fn locate() -> Result<Self> {
        let script = crate::operator::e2e_dir().join("tools/build.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("running {}", script.display()))?;
        if !out.status.success() {
            bail!(
                "{} failed: the Go-built control plane is missing (see the messages above)",
                script.display()
            );
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let dir = |module: &str| -> Result<PathBuf> {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{module}=")))
                .map(PathBuf::from)
                .with_context(|| format!("build.sh printed no directory for module {module}"))
        };
        let (etcd, kube, helm) = (dir("etcd")?, dir("kube")?, dir("helm")?);
        let nats = dir("nats")?;
        let hydra = dir("hydra")?;
        Ok(Self {
            etcd: etcd.join("etcd"),
            kube_apiserver: kube.join("kube-apiserver"),
            kube_controller_manager: kube.join("kube-controller-manager"),
            kubectl: kube.join("kubectl"),
            helm: helm.join("helm"),
            postgres_bin: postgres_bin()?,
            nats_server: nats.join("nats-server"),
            hydra: hydra.join("hydra"),
            hydra_login: hydra.join("sanxiang-login"),
            prometheus: debian_program("prometheus", "prometheus")?,
            promtool: debian_program("promtool", "prometheus")?,
            alertmanager: debian_program("prometheus-alertmanager", "prometheus-alertmanager")?,
            amtool: debian_program("amtool", "prometheus-alertmanager")?,
        })
    }
}

fn default_alertmanager() -> PathBuf {
    PathBuf::from("/usr/bin/prometheus-alertmanager")
}

fn default_amtool() -> PathBuf {
    PathBuf::from("/usr/bin/amtool")
}

/// PostgreSQL's server programs live outside PATH on Debian; take the newest installed.
fn postgres_bin() -> Result<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b).context(
        "PostgreSQL server not found under /usr/lib/postgresql: install the Debian package \
         `postgresql` (run `make setup`)",
    )
}

/// The path of Debian program `name` (on `PATH`, or in /usr/sbin, /usr/bin); the error
/// names the `package` to install.
pub fn debian_program(name: &str, package: &str) -> Result<PathBuf> {
    for dir in std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/sbin", "/usr/bin"])
    {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("{name} not found: install the Debian package `{package}` (run `make setup`)")
}
