//! Makes a NATS installation for Sanxiang once, in a directory: the operator's keys, the
//! system account and the platform users, plus the operator-mode block of nats-server's
//! configuration. Then prints how the files become Secrets.
//!
//! Usage: `sanxiang-nats-init DIR [RESOLVER_DIR]` (RESOLVER_DIR: where nats-server keeps
//! account JWTs, default `/data/resolver`, the official chart's resolver PVC).

use std::path::PathBuf;

use sanxiang_nats_jwt::install::Installation;
use sanxiang_nats_jwt::topology::AggregateQuota;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: sanxiang-nats-init DIR [RESOLVER_DIR]");
        std::process::exit(2);
    };
    let resolver = args
        .next()
        .map_or_else(|| PathBuf::from("/data/resolver"), PathBuf::from);
    if let Err(e) = run(&dir, &resolver) {
        eprintln!("sanxiang-nats-init: {e}");
        std::process::exit(1);
    }
}

fn run(
    dir: &std::path::Path,
    resolver: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let install = Installation::new(dir);
    install.ensure()?;
    // The preloaded aggregate account is replaced by the operator's own push at start-up
    // (with the chart's quota), so these values only matter until then.
    let quota = AggregateQuota {
        disk_bytes: 100 << 30,
        memory_bytes: 256 << 20,
        max_payload: 1 << 20,
    };
    let config = dir.join("nats-operator-mode.conf");
    std::fs::write(&config, install.server_config(resolver, quota)?)?;
    let d = dir.display();
    println!(
        "wrote {d}\n\nOperator's Secret (mounted read-only into the operator only):\n  \
         kubectl -n sanxiang-system create secret generic sanxiang-nats-operator-keys \\\n    \
         --from-file=operator-signing.nk={d}/operator-signing.nk \\\n    \
         --from-file=account-signing.nk={d}/account-signing.nk \\\n    \
         --from-file=system.creds={d}/system.creds\n\n\
         nats-server: {} holds `operator`, `system_account`, `resolver` and `resolver_preload`;\n\
         see charts/nats-values.yaml. Keep {d}/operator.nk (the operator identity) offline.",
        config.display()
    );
    Ok(())
}
