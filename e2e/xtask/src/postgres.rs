//! A throwaway PostgreSQL cluster for sqlx's offline data: `initdb` into a temporary
//! directory, served on a Unix socket in that directory only (no TCP port, so it never
//! collides with a running local platform), stopped and deleted when dropped.
//!
//! Debian's server programs, as the local platform runs them (`e2e/src/platform`); as root
//! they run as Debian's `postgres` user, since PostgreSQL refuses to run as root. A few
//! seconds: `--no-sync`, `-F` (no fsync), trust authentication on a private socket.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

pub struct TempPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    user: Option<(u32, u32)>,
}

impl TempPostgres {
    pub fn start() -> Result<Self, String> {
        let bin = postgres_bin()?;
        let user = postgres_user()?;
        let dir = tempfile::Builder::new()
            .prefix("sanxiang-sqlx-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", dir.path().display()))?;
        }
        let pg = Self { dir, bin, user };
        pg.run(
            "initdb",
            &[
                "-D",
                &pg.data(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
        )?;
        let options = format!("-k {} -h '' -F", pg.dir.path().display());
        let log = pg.dir.path().join("postgres.log").display().to_string();
        pg.run(
            "pg_ctl",
            &["-D", &pg.data(), "-l", &log, "-o", &options, "-w", "start"],
        )?;
        Ok(pg)
    }

    /// The URL of `database` on this cluster (superuser `postgres`, over the socket).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@localhost/{database}?host={}",
            self.dir.path().display()
        )
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.args(args).current_dir(self.dir.path());
        if let Some((uid, gid)) = self.user {
            cmd.uid(uid).gid(gid);
        }
        let out = cmd
            .output()
            .map_err(|e| format!("{program}: {e} (install PostgreSQL: `make setup`)"))?;
        if out.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default();
        Err(format!(
            "{program} failed ({}): {}{}{log}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }
}

/// Debian keeps the server programs outside PATH: the newest under /usr/lib/postgresql.
fn postgres_bin() -> Result<PathBuf, String> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b).ok_or_else(|| {
        "PostgreSQL server not found under /usr/lib/postgresql: install the Debian package \
         `postgresql` (run `make setup`)"
            .to_string()
    })
}

/// As root: Debian's `postgres` user and group; otherwise ourselves (`None`).
fn postgres_user() -> Result<Option<(u32, u32)>, String> {
    let id = |args: &[&str]| -> Result<u32, String> {
        let out = Command::new("id")
            .args(args)
            .output()
            .map_err(|e| format!("id: {e}"))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| {
                format!(
                    "`id {}` printed no number: no `postgres` user? (`make setup`)",
                    args.join(" ")
                )
            })
    };
    if id(&["-u"])? != 0 {
        return Ok(None);
    }
    Ok(Some((id(&["-u", "postgres"])?, id(&["-g", "postgres"])?)))
}
