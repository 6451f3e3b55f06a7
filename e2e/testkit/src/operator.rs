//! Running the real operator binary against the local platform, and installing the CRDs
//! it serves — for end-to-end tests, benchmarks and `make up`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::Platform;
use crate::platform::process;

/// The operator as a child process. Its standard input is a pipe it watches
/// (`--exit-on-stdin-close`): when the owner — a test binary, say — exits for any reason,
/// the pipe closes and the operator exits too, so no stray operator outlives its test.
pub struct OperatorProcess {
    pub child: Child,
    pub admin_port: u16,
    pub log: PathBuf,
}

impl OperatorProcess {
    /// Starts `binary` against `platform`, with its own Lease so it never waits on an
    /// operator that ran before it, and waits until `/ready`.
    pub fn start(platform: &Platform, binary: &Path, label: &str) -> Result<Self> {
        Self::start_with(platform, binary, label, &[], None)
    }

    /// [`OperatorProcess::start`] with further flags, and against another apiserver than
    /// the platform's when `kubeconfig` is given (e.g. a
    /// [`PrivateApiserver`](crate::platform::private_apiserver::PrivateApiserver)'s).
    pub fn start_with(
        platform: &Platform,
        binary: &Path,
        label: &str,
        extra_args: &[String],
        kubeconfig: Option<&Path>,
    ) -> Result<Self> {
        let admin_port = process::free_port()?;
        let logs = platform.state_dir.join("logs");
        std::fs::create_dir_all(&logs)?;
        let log = logs.join(format!("operator-{label}.log"));
        let out = std::fs::File::create(&log)?;
        let child = Command::new(binary)
            .args(operator_args(
                platform,
                admin_port,
                &format!("sanxiang-operator-{label}-{}", std::process::id()),
            ))
            .args(extra_args)
            .arg("--exit-on-stdin-close")
            .env(
                "KUBECONFIG",
                kubeconfig.map_or_else(|| platform.kubeconfig(), Path::to_path_buf),
            )
            .env("RUST_LOG", "info,sanxiang_operator=debug,kube=warn")
            .stdin(Stdio::piped())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id();
        process::wait_until(
            "sanxiang-operator",
            &log,
            Duration::from_secs(60),
            Some(pid),
            || {
                Ok(process::http_get(admin_port, "/ready")
                    .map(|(s, _)| s == 200)
                    .unwrap_or(false))
            },
        )?;
        Ok(Self {
            child,
            admin_port,
            log,
        })
    }

    /// The operator's /metrics text.
    pub fn metrics(&self) -> Result<String> {
        Ok(process::http_get(self.admin_port, "/metrics")?.1)
    }
}

/// Flags that point the operator at the local platform.
pub fn operator_args(platform: &Platform, admin_port: u16, lease_name: &str) -> Vec<String> {
    let auth = platform.nats_auth();
    let quota = crate::platform::LOCAL_QUOTA;
    vec![
        format!("--admin-addr=127.0.0.1:{admin_port}"),
        format!(
            "--postgres-url={}",
            platform.operator_postgres_url("postgres")
        ),
        format!("--nats-url={}", platform.nats_url()),
        format!("--nats-system-creds-file={}", auth.system_creds().display()),
        format!(
            "--nats-operator-signing-key-file={}",
            auth.operator_signing_seed().display()
        ),
        format!(
            "--nats-account-signing-key-file={}",
            auth.account_signing_seed().display()
        ),
        format!("--nats-aggregate-disk-bytes={}", quota.disk_bytes),
        format!("--nats-aggregate-memory-bytes={}", quota.memory_bytes),
        format!("--nats-max-payload-bytes={}", quota.max_payload),
        format!(
            "--nats-stream-max-bytes={}",
            crate::platform::LOCAL_STREAM_MAX_BYTES
        ),
        // Short enough to watch rotated-out credentials stop working.
        "--nats-rotation-grace-seconds=10".into(),
        "--lease-namespace=default".into(),
        format!("--lease-name={lease_name}"),
    ]
}

/// The workspace root (for `crds/yaml`, the chart, fixtures).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the testkit lives in e2e/testkit of the workspace")
        .to_path_buf()
}

/// `e2e/` of the workspace: the platform's fixtures, Go tools and images, shared by the
/// testkit, the system tests and `sanxiang-local`.
pub fn e2e_dir() -> PathBuf {
    workspace_root().join("e2e")
}

impl Platform {
    /// Applies Sanxiang's CRDs (the committed YAML), the chart's admission policies and
    /// provincial IT role, and waits until the CRDs are served.
    pub fn install_sanxiang_crds(&self) -> Result<()> {
        let dir = workspace_root().join("crds/yaml");
        process::run(
            self.kubectl()
                .args(["apply", "--server-side", "--force-conflicts", "-f"])
                .arg(&dir),
            "installing the Sanxiang CRDs",
        )?;
        process::run(
            self.kubectl().args([
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd/agencies.sanxiang.io",
                "crd/jurisdictions.sanxiang.io",
                "crd/jurisdictionpolicies.sanxiang.io",
                "crd/workcalendars.sanxiang.io",
                "crd/supervisionplans.sanxiang.io",
            ]),
            "waiting for the Sanxiang CRDs",
        )?;
        // The chart's admission policies (Agency placement, deletion safety, plan and
        // policy authority) and the
        // provincial IT role, rendered from the chart itself.
        for template in [
            "templates/admission-policy.yaml",
            "templates/admission-deletion.yaml",
            "templates/admission-plans.yaml",
            "templates/admission-jurisdiction-policies.yaml",
            "templates/rbac-province-it.yaml",
        ] {
            let yaml = self.render_chart_template(template)?;
            self.kubectl_apply(&yaml)?;
        }
        Ok(())
    }

    /// One template of the chart (`charts/sanxiang`) rendered with its default values, as
    /// release `sanxiang`, so the local platform uses exactly what an install would.
    pub fn render_chart_template(&self, template: &str) -> Result<String> {
        process::run(
            Command::new(&self.tools.helm)
                .args(["template", "sanxiang"])
                .arg(workspace_root().join("charts/sanxiang"))
                // The source-built helm would otherwise assume Kubernetes 1.20.
                .args(["--kube-version", "1.34.0", "--show-only", template]),
            &format!("rendering the chart's {template}"),
        )
    }

    /// `kubectl apply --server-side -f -` of a YAML document or stream.
    pub fn kubectl_apply(&self, yaml: &str) -> Result<String> {
        kubectl_apply_with(&self.kubectl(), yaml)
    }
}

/// Applies YAML with a prepared kubectl (e.g. another user's kubeconfig); the error holds
/// kubectl's message.
pub fn kubectl_apply_with(kubectl: &Command, yaml: &str) -> Result<String> {
    use std::io::Write;
    let mut cmd = Command::new(kubectl.get_program());
    cmd.args(kubectl.get_args())
        .args(["apply", "--server-side", "--field-manager=e2e", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(yaml.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        anyhow::bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
