//! The container images of `e2e/images/`, built and started the way a cluster would run them.
//!
//! `e2e/images/build.sh` — the script behind `make images` — builds every image listed in
//! `e2e/images/binaries` as an OCI archive, here from the debug binaries the test command has
//! already built (release builds are for `make images`; the image is the same otherwise). Each
//! archive is then unpacked by umoci into an OCI runtime bundle and started by runc, with the
//! constraints the chart's securityContext asks of a kubelet: the image's own user (65532), a
//! read-only root file system with a tmpfs on /tmp, no capabilities, no new privileges. Only
//! the network namespace is the host's, so the test can reach the admin port.
//!
//! Each image must answer `--version` with its binary's name and version, then serve `/live`
//! on its admin port; its file system must hold nothing but the binary, the shared libraries
//! it links, the CA bundle and the user database — in particular no shell.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use sanxiang_testkit::Platform;
use sanxiang_testkit::operator::{operator_args, workspace_root};
use sanxiang_testkit::platform::debian_program;
use sanxiang_testkit::platform::process::{self, free_port, http_get, wait_until};
use serde_json::{Value, json};

/// The user every image runs as (`USER` in the Containerfiles, `runAsUser` in the chart).
const IMAGE_UID: u64 = 65532;

fn listed_binaries() -> Result<Vec<String>> {
    let path = workspace_root().join("e2e/images/binaries");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

fn program(name: &str) -> Result<PathBuf> {
    debian_program(name, name)
}

fn debug_binaries() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("target"))
        .join("debug")
}

#[test]
fn every_listed_binary_has_a_containerfile() -> Result<()> {
    let binaries = listed_binaries()?;
    ensure!(
        binaries.contains(&"sanxiang-operator".to_string())
            && binaries.contains(&"sanxiang-tenant-service".to_string()),
        "e2e/images/binaries lists {binaries:?}"
    );
    for name in binaries {
        let file = workspace_root().join(format!("e2e/images/{name}.Containerfile"));
        let text =
            fs::read_to_string(&file).with_context(|| format!("{} is missing", file.display()))?;
        for line in [
            "FROM scratch",
            "USER 65532:65532",
            &format!("ENTRYPOINT [\"/usr/local/bin/{name}\"]"),
        ] {
            ensure!(
                text.lines().any(|l| l.trim() == line),
                "{} has no line {line:?}",
                file.display()
            );
        }
    }
    Ok(())
}

/// One image unpacked into an OCI runtime bundle.
struct Bundle {
    name: String,
    dir: PathBuf,
    config: Value,
}

impl Bundle {
    fn unpack(umoci: &Path, archive: &Path, work: &Path, name: &str) -> Result<Self> {
        let layout = work.join(format!("{name}-layout"));
        fs::create_dir_all(&layout)?;
        process::run(
            Command::new("tar")
                .arg("-xf")
                .arg(archive)
                .arg("-C")
                .arg(&layout),
            "unpacking the OCI archive",
        )?;
        let index: Value = serde_json::from_str(&fs::read_to_string(layout.join("index.json"))?)?;
        let reference = index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .context("index.json names no image")?
            .to_string();
        ensure!(
            reference.starts_with(&format!(
                "sanxiang/{}:",
                name.trim_start_matches("sanxiang-")
            )),
            "{name}'s archive holds image {reference}"
        );
        let dir = work.join(format!("{name}-bundle"));
        process::run(
            Command::new(umoci)
                .arg("unpack")
                .arg("--image")
                .arg(format!("{}:{reference}", layout.display()))
                .arg(&dir),
            "umoci unpack",
        )?;
        let config = serde_json::from_str(&fs::read_to_string(dir.join("config.json"))?)?;
        Ok(Self {
            name: name.to_string(),
            dir,
            config,
        })
    }

    fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// The image's own settings, before the test adds anything.
    fn check_image_config(&self) -> Result<()> {
        let process = &self.config["process"];
        ensure!(
            process["user"]["uid"] == IMAGE_UID && process["user"]["gid"] == IMAGE_UID,
            "{} runs as {} instead of {IMAGE_UID}:{IMAGE_UID}",
            self.name,
            process["user"]
        );
        ensure!(
            process["args"][0] == format!("/usr/local/bin/{}", self.name),
            "{} starts {}",
            self.name,
            process["args"]
        );
        Ok(())
    }

    /// Nothing but the binary, its libraries, the CA bundle and the user database.
    fn check_contents(&self) -> Result<()> {
        let root = self.rootfs();
        let mut unexpected = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir)? {
                let path = entry?.path();
                let rel = path.strip_prefix(&root)?.to_string_lossy().into_owned();
                let meta = fs::symlink_metadata(&path)?;
                if meta.is_dir() {
                    stack.push(path);
                    continue;
                }
                let file = rel.rsplit('/').next().unwrap_or_default();
                let allowed = rel == format!("usr/local/bin/{}", self.name)
                    || (rel.starts_with("lib") && file.contains(".so"))
                    || [
                        "etc/ssl/certs/ca-certificates.crt",
                        "etc/passwd",
                        "etc/group",
                        "etc/nsswitch.conf",
                    ]
                    .contains(&rel.as_str());
                if !allowed || ["sh", "bash", "dash", "busybox"].contains(&file) {
                    unexpected.push(rel);
                }
            }
        }
        ensure!(
            unexpected.is_empty(),
            "image {} holds unexpected files: {unexpected:?}",
            self.name
        );
        let passwd = fs::read_to_string(root.join("etc/passwd"))?;
        ensure!(
            passwd.contains(&format!(":{IMAGE_UID}:{IMAGE_UID}:")),
            "{passwd}"
        );
        Ok(())
    }

    /// Writes the runtime configuration: `args` after the entrypoint, a read-only root, no
    /// capabilities, the host's network, a tmpfs on /tmp and `files` bind-mounted read-only.
    fn configure(
        &self,
        args: &[String],
        env: &[String],
        files: &[(PathBuf, String)],
    ) -> Result<()> {
        let mut config = self.config.clone();
        let entrypoint = config["process"]["args"][0].clone();
        let mut argv = vec![entrypoint];
        argv.extend(args.iter().map(|a| json!(a)));
        let process = &mut config["process"];
        process["args"] = json!(argv);
        process["terminal"] = json!(false);
        process["noNewPrivileges"] = json!(true);
        process["capabilities"] = json!({
            "bounding": [], "effective": [], "inheritable": [], "permitted": [], "ambient": []
        });
        let env_list = process["env"].as_array_mut().context("process.env")?;
        env_list.extend(env.iter().map(|e| json!(e)));
        config["root"]["readonly"] = json!(true);
        let namespaces = config["linux"]["namespaces"]
            .as_array_mut()
            .context("linux.namespaces")?;
        namespaces.retain(|n| n["type"] != "network");
        let mounts = config["mounts"].as_array_mut().context("mounts")?;
        mounts.push(json!({
            "destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "mode=1777", "size=16m"]
        }));
        for (source, destination) in files {
            mounts.push(json!({
                "destination": destination, "type": "bind", "source": source,
                "options": ["bind", "ro", "nosuid", "nodev"]
            }));
        }
        fs::write(
            self.dir.join("config.json"),
            serde_json::to_vec_pretty(&config)?,
        )?;
        Ok(())
    }
}

/// A container started by runc; killed and deleted when dropped.
struct Container {
    runc: PathBuf,
    state: PathBuf,
    id: String,
    child: Option<Child>,
}

impl Container {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.runc);
        cmd.arg("--root").arg(&self.state);
        cmd
    }

    /// Runs the bundle to completion; returns its standard output.
    fn run_to_end(runc: &Path, state: &Path, id: &str, bundle: &Bundle) -> Result<String> {
        let out = Command::new(runc)
            .arg("--root")
            .arg(state)
            .args(["run", "--bundle"])
            .arg(&bundle.dir)
            .arg(id)
            .stdin(Stdio::null())
            .output()
            .context("starting runc")?;
        ensure!(
            out.status.success(),
            "runc run {id} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn start(runc: &Path, state: &Path, id: &str, bundle: &Bundle, log: &Path) -> Result<Self> {
        let out = fs::File::create(log)?;
        let mut container = Self {
            runc: runc.to_path_buf(),
            state: state.to_path_buf(),
            id: id.to_string(),
            child: None,
        };
        let child = container
            .command()
            .args(["run", "--bundle"])
            .arg(&bundle.dir)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("starting runc")?;
        container.child = Some(child);
        Ok(container)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self
            .command()
            .args(["kill", &self.id, "KILL"])
            .stderr(Stdio::null())
            .status();
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
        let _ = self
            .command()
            .args(["delete", "--force", &self.id])
            .stderr(Stdio::null())
            .status();
    }
}

/// How to start one image so that it serves: its arguments, environment and files, and the
/// admin port to probe.
struct Serving {
    args: Vec<String>,
    env: Vec<String>,
    files: Vec<(PathBuf, String)>,
    admin_port: u16,
}

/// A copy of `content` the image's user can read (the platform keeps its files private).
fn readable_file(dir: &Path, name: &str, content: &[u8]) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    fs::File::create(&path)?.write_all(content)?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
    Ok(path)
}

fn serving(name: &str, platform: &Platform, work: &Path) -> Result<Serving> {
    let admin_port = free_port()?;
    match name {
        // The operator with a kubeconfig of a user without any RBAC grant: it starts, serves
        // /live and keeps waiting for its caches, so it never reconciles the objects of
        // the tests running beside this one on the shared platform.
        "sanxiang-operator" => {
            let kubeconfig = platform.kubeconfig_for("sanxiang-image-test", None)?;
            let kubeconfig = readable_file(work, "kubeconfig", &fs::read(kubeconfig)?)?;
            // The NATS key and credentials files, readable inside the container.
            let mut files = vec![(kubeconfig, "/etc/sanxiang/kubeconfig".to_string())];
            let mut args = Vec::new();
            for arg in operator_args(platform, admin_port, "sanxiang-operator-image-test") {
                match arg.split_once('=') {
                    Some((flag, path))
                        if flag.starts_with("--nats-") && flag.ends_with("-file") =>
                    {
                        let file = Path::new(path);
                        let base = file.file_name().and_then(|n| n.to_str()).unwrap_or("nats");
                        let copy = readable_file(work, base, &fs::read(file)?)?;
                        let inside = format!("/etc/sanxiang/{base}");
                        args.push(format!("{flag}={inside}"));
                        files.push((copy, inside));
                    }
                    _ => args.push(arg),
                }
            }
            Ok(Serving {
                args,
                env: vec!["KUBECONFIG=/etc/sanxiang/kubeconfig".into()],
                files,
                admin_port,
            })
        }
        "sanxiang-tenant-service" => {
            let tenants = readable_file(work, "tenants.yaml", b"tenants: []\n")?;
            let jwt = readable_file(work, "jwt", b"image-test-secret-0123456789abcdef\n")?;
            Ok(Serving {
                args: vec![
                    format!("--listen=127.0.0.1:{}", free_port()?),
                    format!("--admin-listen=127.0.0.1:{admin_port}"),
                    "--tenants-file=/etc/sanxiang/tenants.yaml".into(),
                    "--jwt-hs256-secret-file=/etc/sanxiang/jwt".into(),
                ],
                env: Vec::new(),
                files: vec![
                    (tenants, "/etc/sanxiang/tenants.yaml".to_string()),
                    (jwt, "/etc/sanxiang/jwt".to_string()),
                ],
                admin_port,
            })
        }
        // The disclosure platform reading the province stream with the reader credentials;
        // its index lives on the tmpfs (a volume in a cluster).
        "sanxiang-disclosure" => {
            let creds = platform.province_reader_creds("210000")?;
            let creds = readable_file(work, "province-reader.creds", &fs::read(creds)?)?;
            Ok(Serving {
                args: vec![
                    format!("--listen=127.0.0.1:{}", free_port()?),
                    format!("--admin-listen=127.0.0.1:{admin_port}"),
                    format!("--nats-url={}", platform.nats_url()),
                    "--nats-creds=/etc/sanxiang/province-reader.creds".into(),
                    "--stream=SX_PROVINCE_210000".into(),
                    "--consumer=disclosure-image-test".into(),
                    "--index-dir=/tmp/index".into(),
                ],
                env: Vec::new(),
                files: vec![(creds, "/etc/sanxiang/province-reader.creds".to_string())],
                admin_port,
            })
        }
        // The supervision workspace on its own database and role (as `make up` makes them),
        // following the province stream with the reader credentials.
        "sanxiang-supervision" => {
            sanxiang_testkit::apps::ensure_supervision_database(platform)?;
            let creds = platform.province_reader_creds("210000")?;
            let creds = readable_file(work, "province-reader.creds", &fs::read(creds)?)?;
            let jwt = readable_file(work, "jwt", b"image-test-secret-0123456789abcdef\n")?;
            Ok(Serving {
                args: vec![
                    format!("--listen=127.0.0.1:{}", free_port()?),
                    format!("--admin-listen=127.0.0.1:{admin_port}"),
                    format!(
                        "--database-url={}",
                        sanxiang_testkit::apps::supervision_postgres_url(platform)
                    ),
                    format!("--nats-url={}", platform.nats_url()),
                    "--nats-creds=/etc/sanxiang/province-reader.creds".into(),
                    "--stream=SX_PROVINCE_210000".into(),
                    "--consumer=supervision-image-test".into(),
                    "--jwt-hs256-secret-file=/etc/sanxiang/jwt".into(),
                ],
                env: Vec::new(),
                files: vec![
                    (creds, "/etc/sanxiang/province-reader.creds".to_string()),
                    (jwt, "/etc/sanxiang/jwt".to_string()),
                ],
                admin_port,
            })
        }
        other => bail!(
            "e2e/images/binaries lists {other}, but e2e/tests/images.rs does not know how to \
             start it: add its arguments to `serving`"
        ),
    }
}

#[test]
fn images_run_from_their_archives_and_answer_version_and_live() -> Result<()> {
    let platform = Platform::shared()?;
    let (umoci, runc) = (program("umoci")?, program("runc")?);
    program("buildah")?;
    ensure!(
        process::run(Command::new("id").arg("-u"), "id -u")?.trim() == "0",
        "runc starts the images with their own user and mounts, which needs root here"
    );
    let work = tempfile::tempdir()?;
    let out = work.path().join("archives");
    let bin_dir = debug_binaries();
    let built = process::run(
        Command::new("bash")
            .arg(workspace_root().join("e2e/images/build.sh"))
            .arg("--bin-dir")
            .arg(&bin_dir)
            .arg("--out")
            .arg(&out),
        "e2e/images/build.sh",
    )?;
    println!("{built}");
    let state = work.path().join("runc");
    for name in listed_binaries()? {
        let archive = out.join(format!("{name}.oci.tar"));
        ensure!(archive.is_file(), "build.sh wrote no {}", archive.display());
        let bundle = Bundle::unpack(&umoci, &archive, work.path(), &name)?;
        bundle.check_image_config()?;
        bundle.check_contents()?;

        let expected = process::run(
            Command::new(bin_dir.join(&name)).arg("--version"),
            "--version on the host",
        )?;
        bundle.configure(&["--version".into()], &[], &[])?;
        let id = format!("sx-image-{}-{}", name, std::process::id());
        let version = Container::run_to_end(&runc, &state, &id, &bundle)?;
        let _ = Command::new(&runc)
            .arg("--root")
            .arg(&state)
            .args(["delete", "--force", &id])
            .stderr(Stdio::null())
            .status();
        ensure!(
            version.trim() == expected.trim() && version.starts_with(&format!("{name} ")),
            "{name} in its image answered --version with {version:?} (host binary: {expected:?})"
        );

        let serve = serving(&name, platform, work.path())?;
        bundle.configure(&serve.args, &serve.env, &serve.files)?;
        let log = work.path().join(format!("{name}.log"));
        let container = Container::start(&runc, &state, &id, &bundle, &log)?;
        let pid = container.child.as_ref().map(Child::id);
        wait_until(
            &format!("{name} in its image"),
            &log,
            Duration::from_secs(60),
            pid,
            || {
                Ok(http_get(serve.admin_port, "/live")
                    .map(|(status, _)| status == 200)
                    .unwrap_or(false))
            },
        )?;
        println!("{name}: --version {:?}, /live 200", version.trim());
        drop(container);
    }
    Ok(())
}
