//! A second kube-apiserver on the platform's etcd, under a key prefix of its own: a
//! cluster of its own for a test that changes what every other test relies on (bumping
//! the version of Sanxiang's CRDs, say), while tests share the platform's apiserver
//! concurrently. Same PKI (the admin kubeconfig's user is `system:masters`), no
//! controller manager (no garbage collection or namespace deletion), and the ecosystem
//! CRDs installed as on the shared one. The process is killed when the value is dropped;
//! its keys stay in etcd under the prefix until the platform is purged.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

use super::components::{apiserver_args, ecosystem_crds_dir};
use super::process::{self, free_port, wait_until};
use super::{Pki, Platform};

pub struct PrivateApiserver {
    child: Child,
    /// The admin kubeconfig (group `system:masters`).
    pub kubeconfig: PathBuf,
    /// Its URL.
    pub url: String,
    /// Where its objects are in etcd: `<prefix>/<group>/<plural>/<namespace>/<name>`.
    pub etcd_prefix: String,
    kubectl: PathBuf,
    state_dir: PathBuf,
}

impl Platform {
    /// Starts a private apiserver named `name` (a unique, path-safe word) and waits until
    /// it is ready.
    pub fn private_apiserver(&self, name: &str) -> Result<PrivateApiserver> {
        let port = free_port()?;
        let dir = self.state_dir.join("private").join(name);
        std::fs::create_dir_all(&dir)?;
        let kubeconfig = dir.join("admin.kubeconfig");
        Pki::new(&self.state_dir).write_kubeconfig(
            &kubeconfig,
            &format!("https://127.0.0.1:{port}"),
            "sanxiang-admin",
            Some("system:masters"),
        )?;
        let etcd_prefix = format!("/private/{name}");
        let log = dir.join("kube-apiserver.log");
        let child = Command::new(&self.tools.kube_apiserver)
            .args(apiserver_args(self, port, &dir))
            .arg(format!("--etcd-prefix={etcd_prefix}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("starting a private kube-apiserver")?;
        let apiserver = PrivateApiserver {
            child,
            kubeconfig,
            url: format!("https://127.0.0.1:{port}"),
            etcd_prefix,
            kubectl: self.tools.kubectl.clone(),
            state_dir: self.state_dir.clone(),
        };
        wait_until(
            "private kube-apiserver",
            &log,
            Duration::from_secs(90),
            Some(apiserver.child.id()),
            || {
                let out = apiserver
                    .kubectl()
                    .args(["get", "--raw", "/readyz", "--request-timeout=5s"])
                    .output()?;
                Ok(out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok")
            },
        )?;
        process::run(
            apiserver
                .kubectl()
                .args(["apply", "--server-side", "--force-conflicts", "-f"])
                .arg(ecosystem_crds_dir()),
            "installing ecosystem CRDs on the private apiserver",
        )?;
        Ok(apiserver)
    }
}

impl PrivateApiserver {
    /// `kubectl` preset with its admin kubeconfig.
    pub fn kubectl(&self) -> Command {
        let mut cmd = Command::new(&self.kubectl);
        cmd.arg("--kubeconfig").arg(&self.kubeconfig);
        cmd
    }

    /// Writes a kubeconfig for `user` in `group` next to the admin's, for RBAC tests.
    pub fn kubeconfig_for(&self, user: &str, group: Option<&str>) -> Result<PathBuf> {
        let file: String = user
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = self.kubeconfig.with_file_name(format!("{file}.kubeconfig"));
        Pki::new(&self.state_dir).write_kubeconfig(&path, &self.url, user, group)?;
        Ok(path)
    }

    /// A kube client for its admin.
    pub async fn client(&self) -> Result<kube::Client> {
        super::client_from_kubeconfig(&self.kubeconfig).await
    }
}

impl Drop for PrivateApiserver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
