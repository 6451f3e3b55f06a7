//! The directory's changes reach the running platform without a rebuild (real tenant
//! service, NATS stream chain, kube-apiserver, portal binary): a county agency renamed
//! on its Agency object is found under its new name and no longer under the old one; its
//! `status.effectivePolicies` (as the operator writes them) hide its natural person's
//! decision from every public output, while a withdrawal notice stays (行政处罚法 Art. 48).

mod support;

use std::time::Duration;

use serde_json::json;
use support::{DISPLAY_NAME, Portal, Rig};

const RENAMED: &str = "铁岭县市场监管综合行政执法局";

fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).unwrap()[1..].to_string()
}

async fn total(rig: &Rig, portal: &Portal, query: &str) -> anyhow::Result<u64> {
    let (s, v) = rig
        .get_json(&portal.url(&format!("/api/v1/decisions?{query}")))
        .await?;
    anyhow::ensure!(s == 200, "{query}: {s} {v}");
    Ok(v["total"].as_u64().unwrap_or(0))
}

fn kubectl(rig: &Rig, args: &[&str]) -> anyhow::Result<()> {
    let out = rig.platform.kubectl().args(args).output()?;
    anyhow::ensure!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn renames_and_retention_apply_to_decisions_already_indexed() -> anyhow::Result<()> {
    let rig = Rig::new("directory").await?;
    let index = tempfile::tempdir()?;
    let portal = Portal::start(&rig, index.path())?;
    let agency = rig.harness.agency(0).to_string();
    let doc = format!("铁县市监罚〔2026〕{}号", rand::random::<u16>());
    let id = rig.publish(&doc).await?;
    Rig::eventually(
        "found by its official name",
        Duration::from_secs(15),
        || async { Ok(total(&rig, &portal, &format!("q={}", enc(DISPLAY_NAME))).await? == 1) },
    )
    .await?;

    // Renamed on the Agency object: found under the new name only, without a rebuild.
    kubectl(
        &rig,
        &[
            "patch",
            "agency",
            &agency,
            "-n",
            &rig.namespace,
            "--type=merge",
            "-p",
            &json!({"spec": {"displayName": RENAMED}}).to_string(),
        ],
    )?;
    let took = Rig::eventually(
        "found under the new name",
        Duration::from_secs(20),
        || async {
            Ok(
                total(&rig, &portal, &format!("q={}", enc(RENAMED))).await? == 1
                    && total(&rig, &portal, &format!("q={}", enc(DISPLAY_NAME))).await? == 0,
            )
        },
    )
    .await?;
    println!("rename applied to the index after {took:?}");
    assert_eq!(
        total(&rig, &portal, &format!("agency={}", enc(RENAMED))).await?,
        1
    );
    assert_eq!(
        total(&rig, &portal, &format!("agency={}", enc(DISPLAY_NAME))).await?,
        0
    );
    let (_, v) = rig
        .get_json(&portal.url(&format!("/api/v1/decisions/{id}")))
        .await?;
    assert_eq!(v["agency"]["displayName"], RENAMED);

    // The operator writes the policies in force: natural persons' items leave after 0
    // days (the party of this decision is a person).
    let national = |v: serde_json::Value| json!({"value": v, "source": "National"});
    let status = json!({"status": {"effectivePolicies": {
        "withdrawalDeadlineDays": national(json!(3)),
        "legalReviewerRatioPermille": national(json!(50)),
        "annualStatisticsDue": national(json!({"month": 1, "day": 31})),
        "naturalPersonRetentionDays": {"value": 0, "source": format!("County {}", rig.county)},
    }}});
    kubectl(
        &rig,
        &[
            "patch",
            "agency",
            &agency,
            "-n",
            &rig.namespace,
            "--subresource=status",
            "--type=merge",
            "-p",
            &status.to_string(),
        ],
    )?;
    Rig::eventually(
        "hidden by the agency's retention",
        Duration::from_secs(20),
        || async { Ok(total(&rig, &portal, &format!("documentNumber={}", enc(&doc))).await? == 0) },
    )
    .await?;
    assert_eq!(
        total(&rig, &portal, &format!("q={}", enc("过期"))).await?,
        0
    );
    let (s, _) = rig
        .get_json(&portal.url(&format!("/api/v1/decisions/{id}")))
        .await?;
    assert_eq!(s, 404, "the detail is gone too");
    let (s, html) = rig
        .get_text(&portal.url(&format!("/decisions/{id}")))
        .await?;
    assert_eq!(s, 404, "{html}");
    let (_, v) = rig
        .get_json(&portal.url(&format!("/api/v1/agencies/{agency}")))
        .await?;
    assert_eq!(v["decisions"], 0, "{v}");
    let (_, html) = rig
        .get_text(&portal.url(&format!("/agencies/{agency}")))
        .await?;
    assert!(html.contains("共 0 条") && !html.contains(&doc), "{html}");

    // Withdrawn: the notice is public whatever the retention.
    rig.withdraw(&id, "行政复议决定撤销").await?;
    Rig::eventually("the withdrawal notice", Duration::from_secs(20), || async {
        let (s, v) = rig
            .get_json(&portal.url(&format!("/api/v1/decisions/{id}")))
            .await?;
        Ok(s == 200 && v["withdrawal"]["reason"] == "行政复议决定撤销")
    })
    .await?;
    let (_, metrics) = rig.get_text(&portal.admin_url("/metrics")).await?;
    assert!(
        metrics.contains("sanxiang_disclosure_reindexed_documents_total"),
        "{metrics}"
    );
    drop(portal);
    rig.cleanup().await
}
