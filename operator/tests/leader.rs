//! Two replicas are safe: exactly one holds the Lease and reconciles; when it dies the
//! other takes over.

mod support;

use std::path::Path;
use std::time::Duration;

use sanxiang_testkit::Platform;
use sanxiang_testkit::operator::OperatorProcess;
use support::eventually;

fn leads(op: &OperatorProcess) -> bool {
    op.metrics()
        .map(|m| m.lines().any(|l| l == "sanxiang_operator_leader 1"))
        .unwrap_or(false)
}

#[tokio::test]
async fn one_replica_leads_and_a_standby_takes_over() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    platform.install_sanxiang_crds()?;
    let binary = Path::new(env!("CARGO_BIN_EXE_sanxiang-operator"));
    // Same label, same test process: both replicas compete for one Lease.
    let mut first = OperatorProcess::start(platform, binary, "leader")?;
    eventually("first replica leads", Duration::from_secs(30), || async {
        Ok(leads(&first))
    })
    .await?;
    let second = OperatorProcess::start(platform, binary, "leader")?;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(leads(&first), "the first replica keeps the lease");
    assert!(
        !leads(&second),
        "the standby must not lead while the leader renews"
    );

    first.child.kill()?;
    first.child.wait()?;
    // The Lease lasts 15 s; the standby retries every 5 s.
    eventually("standby takes over", Duration::from_secs(40), || async {
        Ok(leads(&second))
    })
    .await?;
    Ok(())
}
