//! Province-level agencies (省级行政执法机关) on the real platform: the province's
//! Jurisdiction gets a namespace `sx-<province>` (label `sanxiang.io/province-code`, no
//! city code) where its administrators onboard agencies of the province itself. Such an
//! agency becomes Ready with a database, a NATS user under `sx.<province>.-.-.<name>` and
//! its alert rule (labels `city="-"`, `county="-"`); its policies come national → province
//! → agency; its messages reach the province stream once, through no city stream. The
//! province's administrator groups (the operator's Role) and provincial IT (the chart's
//! ClusterRole) onboard it; a city administrator cannot: not in their own namespace
//! (admission, naming `spec.jurisdiction`), not in the province's (RBAC).

mod support;

use std::time::Duration;

use async_nats::jetstream;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{DynamicObject, PostParams};
use kube::{Api, ResourceExt};
use sanxiang_crds::agency::Agency;
use sanxiang_domain::TenantContract;
use sanxiang_testkit::platform::client_from_kubeconfig;
use sqlx::Connection;
use support::*;

fn secret(s: &Secret, key: &str) -> String {
    String::from_utf8(s.data.as_ref().expect("data")[key].0.clone()).expect("utf-8")
}

/// The HTTP code and message of a refused request.
fn refusal<T: std::fmt::Debug>(r: kube::Result<T>) -> (u16, String) {
    match r {
        Err(kube::Error::Api(e)) => (e.code, e.message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The refusal of creating `agency` once it names `spec.jurisdiction`: until the
/// operator's Role for the namespace exists, RBAC refuses first.
async fn admission_refusal(api: &Api<Agency>, agency: &Agency) -> anyhow::Result<(u16, String)> {
    eventually_some(
        "a refusal naming spec.jurisdiction",
        Duration::from_secs(30),
        || async {
            let (code, message) = refusal(api.create(&PostParams::default(), agency).await);
            anyhow::ensure!(
                message.contains("spec.jurisdiction"),
                "refused first with {code}: {message}"
            );
            Ok(Some((code, message)))
        },
    )
    .await
}

fn agency(name: &str, namespace: &str, jurisdiction: &str, serial: u32) -> Agency {
    serde_yaml::from_str(&agency_yaml(
        name,
        namespace,
        jurisdiction,
        "Retain",
        serial,
    ))
    .expect("an Agency")
}

#[tokio::test]
async fn province_level_agencies_are_onboarded_by_provincial_it_only() -> anyhow::Result<()> {
    let (platform, _) = setup()?;
    // A province of this test's own: it carries administrators and a policy.
    let home = Province::random_own_province(1);
    let province_admins = format!("province-{}-it", home.province);
    let yaml = [
        jurisdiction_yaml("Province", &home.province, None, &[&province_admins]).replacen(
            "  displayName:",
            "  policies: {legalReviewerRatioPermille: 70}\n  displayName:",
            1,
        ),
        home.city_yaml(),
    ]
    .join("---\n");
    platform.kubectl_apply(&yaml)?;
    let admin = platform.kube_client().await?;
    let province_ns = format!("sx-{}", home.province);
    let city_ns = home.namespace();
    for ns in [&province_ns, &city_ns] {
        wait_namespace(&admin, ns).await?;
    }
    let labels = Api::<Namespace>::all(admin.clone())
        .get(&province_ns)
        .await?
        .labels()
        .clone();
    assert_eq!(
        labels.get("sanxiang.io/province-code"),
        Some(&home.province)
    );
    assert!(
        !labels.contains_key("sanxiang.io/city-code"),
        "a province namespace is no city's: {labels:?}"
    );

    let user = |name: String, group: String| {
        let path = platform.kubeconfig_for(&name, Some(&group));
        async move { client_from_kubeconfig(&path?).await }
    };
    let it = user(format!("wang-{}", home.province), province_admins.clone()).await?;
    let alice = user(format!("alice-{}", home.city), home.admin_group.clone()).await?;

    // ---- a city administrator cannot onboard one ---------------------------------------
    let name = format!("prov-market-{}", home.province);
    let in_city = Api::<Agency>::namespaced(alice.clone(), &city_ns);
    let as_city_agency = agency(&name, &city_ns, &home.province, 1);
    let (code, message) = admission_refusal(&in_city, &as_city_agency).await?;
    // 422: the placement policy refuses with reason Invalid.
    assert_eq!(code, 422, "{message}");
    assert!(
        message.contains(&format!(
            "spec.jurisdiction: {} is a province: a province-level agency lives in the \
             namespace of its province, sx-{}",
            home.province, home.province
        )),
        "{message}"
    );
    let (code, message) = refusal(
        Api::<Agency>::namespaced(alice.clone(), &province_ns)
            .create(
                &PostParams::default(),
                &agency(&name, &province_ns, &home.province, 1),
            )
            .await,
    );
    assert_eq!(code, 403, "{message}");
    assert!(
        message.contains("agencies") && message.contains(&province_ns),
        "RBAC keeps city administrators out of the province namespace: {message}"
    );

    // ---- the province's administrators onboard it --------------------------------------
    let in_province = Api::<Agency>::namespaced(it.clone(), &province_ns);
    // The province namespace holds the province's agencies only.
    let city_agency_here = format!("misplaced-{}", home.city);
    let (code, message) = admission_refusal(
        &in_province,
        &agency(&city_agency_here, &province_ns, &home.city, 2),
    )
    .await?;
    assert_eq!(code, 422, "{message}");
    assert!(
        message.contains(&format!(
            "spec.jurisdiction: {} is not province {}",
            home.city, home.province
        )),
        "{message}"
    );
    in_province
        .create(
            &PostParams::default(),
            &agency(&name, &province_ns, &home.province, 1),
        )
        .await?;
    // Provincial IT's own group (ClusterRole province-it) may onboard one there too
    // (a server-side dry run: admission and RBAC answer, nothing is stored).
    let province_it = user(
        format!("li-{}", home.province),
        "sanxiang:province-it".to_string(),
    )
    .await?;
    Api::<Agency>::namespaced(province_it, &province_ns)
        .create(
            &PostParams {
                dry_run: true,
                ..Default::default()
            },
            &agency(&format!("{name}-dry"), &province_ns, &home.province, 3),
        )
        .await?;
    let agencies: Api<Agency> = Api::namespaced(admin.clone(), &province_ns);
    let ready = wait_ready(&agencies, &name).await?;
    let status = ready.status.expect("status");
    let prefix = format!("sx.{}.-.-.{name}", home.province);
    assert_eq!(status.nats_subject_prefix.as_deref(), Some(prefix.as_str()));
    assert!(status.database.is_some());
    assert_eq!(
        status.streams,
        [format!("SX_PROVINCE_{}", home.province)],
        "no county or city stream on the way"
    );
    // Policies: national → province → agency.
    let effective = status.effective_policies.expect("effective policies");
    let ratio = serde_json::to_value(&effective)?["legalReviewerRatioPermille"].clone();
    assert_eq!(
        ratio,
        serde_json::json!({"value": 70, "source": format!("Province {}", home.province)})
    );

    // The contract the tenant service reads.
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), &province_ns);
    let db = secrets.get(&format!("{name}-db")).await?;
    let contract = TenantContract::from_annotations(&db.annotations().clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(
        (
            contract.province.as_str(),
            contract.city.as_str(),
            contract.county.as_str()
        ),
        (home.province.as_str(), "-", "-")
    );
    assert_eq!(contract.legal_reviewer_ratio_permille, 70);
    let mut conn = sqlx::PgConnection::connect(&secret(&db, "url")).await?;
    sanxiang_testkit::scope::assert_login_writes_rows_only(&mut conn, "省级执法记录").await?;

    // ---- its event reaches the province stream, once ---------------------------------
    let nats = secrets.get(&format!("{name}-nats")).await?;
    assert_eq!(secret(&nats, "subjectPrefix"), prefix);
    let client = async_nats::ConnectOptions::with_credentials(&secret(&nats, "creds"))?
        .request_timeout(Some(Duration::from_secs(2)))
        .connect(secret(&nats, "url"))
        .await?;
    let subject = format!("{prefix}.disclosure");
    jetstream::new(client)
        .publish(subject.clone(), "省级决定书 No.1".into())
        .await?
        .await?;
    let js = jetstream::new(platform.nats().await?);
    let province_stream = format!("SX_PROVINCE_{}", home.province);
    eventually(
        "the province stream holds it",
        Duration::from_secs(30),
        || {
            let (js, s, subject) = (js.clone(), province_stream.clone(), subject.clone());
            async move { Ok(count_in(&js, &s, &subject).await? >= 1) }
        },
    )
    .await?;
    // Sourcing is asynchronous: a second copy (through a city stream) would come later.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count_in(&js, &province_stream, &subject).await?, 1);
    assert_eq!(
        count_in(&js, &format!("SX_CITY_{}", home.city), &subject)
            .await
            .unwrap_or(0),
        0,
        "no city stream holds a province-level agency's messages"
    );

    // ---- its alerts: the province's, no city's or county's ------------------------------
    let rules: Api<DynamicObject> = Api::namespaced_with(
        admin.clone(),
        &province_ns,
        &sanxiang_operator::agency::build::prometheus_rule_resource(),
    );
    let rule = rules.get(&format!("{name}-alerts")).await?;
    let groups = rule.data["spec"]["groups"].as_array().expect("groups");
    let alert_rules: Vec<serde_json::Value> = groups
        .iter()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .collect();
    assert!(!alert_rules.is_empty());
    for r in &alert_rules {
        let l = &r["labels"];
        assert_eq!(
            (&l["province"], &l["city"], &l["county"], &l["agency"]),
            (
                &serde_json::json!(home.province),
                &serde_json::json!("-"),
                &serde_json::json!("-"),
                &serde_json::json!(name)
            ),
            "{r}"
        );
    }

    conn.close().await?;
    delete_agencies(&agencies, &[&name]).await?;
    delete_jurisdictions(platform, &home);
    Ok(())
}
