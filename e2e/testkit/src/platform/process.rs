//! Detached child processes: started in their own process group (so a Ctrl-C in the shell
//! that ran `sanxiang-local up` does not take the platform down), logged to files, tracked
//! by pid files and stopped with SIGTERM, then SIGKILL.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A program to start in the background.
pub struct Spawn<'a> {
    pub name: &'a str,
    pub program: &'a Path,
    pub args: Vec<String>,
    pub log: PathBuf,
    /// Run as this user and group (PostgreSQL refuses to run as root).
    pub user: Option<(u32, u32)>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

impl Spawn<'_> {
    /// Starts the program and returns its pid.
    pub fn start(self) -> Result<u32> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening log {}", self.log.display()))?;
        let mut cmd = Command::new(self.program);
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0);
        if let Some((uid, gid)) = self.user {
            cmd.uid(uid).gid(gid);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        let child = cmd.spawn().with_context(|| {
            format!(
                "starting {} ({}): is it installed? run `make setup`",
                self.name,
                self.program.display()
            )
        })?;
        Ok(child.id())
    }
}

/// Whether `pid` is a live (not zombie) process whose command line mentions `needle`, so a
/// recycled pid is never mistaken for our program.
pub fn alive(pid: u32, needle: &str) -> bool {
    running(pid)
        && fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains(needle))
            .unwrap_or(false)
}

/// Whether `pid` exists and has not exited (a zombie has exited). Used for a child we just
/// spawned, whose command line may still be the parent's until it calls exec.
pub fn running(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state field follows the parenthesised command name.
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().next());
    !matches!(state, Some("Z" | "X"))
}

/// Stops a process politely, then firmly after `grace`.
pub fn stop(pid: u32, needle: &str, grace: Duration) {
    if !alive(pid, needle) {
        return;
    }
    signal(pid, "TERM");
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !alive(pid, needle) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(pid, "KILL");
}

pub fn signal(pid: u32, sig: &str) {
    // `kill(1)` keeps this crate free of unsafe libc calls.
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

/// A port on 127.0.0.1 that is free right now.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Plain-HTTP GET on loopback, enough for health endpoints; returns (status, body).
pub fn http_get(port: u16, path: &str) -> Result<(u16, String)> {
    http_request(port, "GET", path)
}

/// Plain-HTTP request without a body on loopback; returns (status, body).
pub fn http_request(port: u16, method: &str, path: &str) -> Result<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("malformed HTTP response")?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Polls `check` until it succeeds or `timeout` passes ([`crate::wait::until`]), giving up
/// at once if the process `watch` exits; the error names the component and shows the end
/// of its log.
pub fn wait_until(
    what: &str,
    log: &Path,
    timeout: Duration,
    watch: Option<u32>,
    mut check: impl FnMut() -> Result<bool>,
) -> Result<()> {
    crate::wait::until(&format!("{what} ready"), timeout, || {
        if let Some(pid) = watch
            && !running(pid)
        {
            return Err(crate::wait::GiveUp("the process exited".into()).into());
        }
        check()
    })
    .map_err(|e| {
        let tail = fs::read_to_string(log)
            .map(|l| {
                let lines: Vec<&str> = l.lines().collect();
                lines[lines.len().saturating_sub(15)..].join("\n")
            })
            .unwrap_or_default();
        anyhow::anyhow!("{e:#}; log {}:\n{tail}", log.display())
    })
}

/// Runs a short command to completion, failing with its stderr.
pub fn run(cmd: &mut Command, what: &str) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("{what}: could not start {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
