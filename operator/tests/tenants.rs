//! End to end, against the real local platform and the real operator binary: a province,
//! a city, two counties and agencies become working, isolated tenants.

mod support;

use std::time::Duration;

use async_nats::jetstream;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{ListParams, PostParams};
use kube::{Api, ResourceExt};
use sanxiang_crds::agency::Agency;
use sanxiang_testkit::platform::client_from_kubeconfig;
use sqlx::Connection;
use support::*;

fn secret(s: &Secret, key: &str) -> String {
    String::from_utf8(s.data.as_ref().unwrap()[key].0.clone()).unwrap()
}

async fn nats_as(secret_obj: &Secret) -> anyhow::Result<async_nats::Client> {
    Ok(
        async_nats::ConnectOptions::with_credentials(&secret(secret_obj, "creds"))?
            .request_timeout(Some(Duration::from_secs(2)))
            .connect(secret(secret_obj, "url"))
            .await?,
    )
}

#[tokio::test]
async fn agencies_become_isolated_tenants() -> anyhow::Result<()> {
    let (platform, operator) = setup()?;
    let province = Province::random(2);
    let ns = province.namespace();
    platform.kubectl_apply(&province.jurisdictions_yaml())?;
    let client = platform.kube_client().await?;
    wait_namespace(&client, &ns).await?;

    let (k1, k2) = (&province.counties[0], &province.counties[1]);
    let agencies = [
        ("county-one-market", k1.as_str(), "Retain"),
        ("county-two-ecology", k2.as_str(), "Delete"),
        ("city-approval", province.city.as_str(), "Retain"),
    ];
    let yaml: Vec<String> = agencies
        .iter()
        .enumerate()
        .map(|(i, (name, j, policy))| agency_yaml(name, &ns, j, policy, i as u32 + 1))
        .collect();
    platform.kubectl_apply(&yaml.join("---\n"))?;

    let api: Api<Agency> = Api::namespaced(client.clone(), &ns);
    for (name, _, _) in &agencies {
        let a = wait_ready(&api, name).await?;
        let status = a.status.unwrap();
        assert!(status.database.is_some() && status.nats_subject_prefix.is_some());
    }

    // ---- databases: own one usable, another agency's closed -------------------------
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let db1 = secrets.get("county-one-market-db").await?;
    let db2 = secrets.get("county-two-ecology-db").await?;
    let mut conn = sqlx::PgConnection::connect(&secret(&db1, "url")).await?;
    // The operator migrated the tenant schema; the tenant's role writes rows, never tables.
    sanxiang_testkit::scope::assert_login_writes_rows_only(&mut conn, "执法记录").await?;
    conn.close().await?;
    let foreign = format!(
        "postgres://{}:{}@127.0.0.1:{}/{}",
        secret(&db1, "username"),
        secret(&db1, "password"),
        secret(&db1, "port"),
        secret(&db2, "dbname")
    );
    let err = sqlx::PgConnection::connect(&foreign)
        .await
        .expect_err("agency one must not reach agency two's database");
    assert!(
        err.to_string().contains("permission denied"),
        "unexpected error: {err}"
    );

    // ---- NATS: publish under own prefix only; aggregation upward ------------------
    let n1 = secrets.get("county-one-market-nats").await?;
    let n2 = secrets.get("county-two-ecology-nats").await?;
    let prefix1 = secret(&n1, "subjectPrefix");
    assert_eq!(
        prefix1,
        format!(
            "sx.{}.{}.{k1}.county-one-market",
            province.province, province.city
        )
    );
    let js1 = jetstream::new(nats_as(&n1).await?);
    let subject = format!("{prefix1}.disclosure");
    let ack = js1
        .publish(subject.clone(), "决定书 No.1".into())
        .await?
        .await?;
    assert!(ack.sequence >= 1);
    let foreign_subject = format!("{}.disclosure", secret(&n2, "subjectPrefix"));
    let refused = async {
        js1.publish(foreign_subject.clone(), "forged".into())
            .await?
            .await
            .map_err(anyhow::Error::from)
    }
    .await;
    assert!(
        refused.is_err(),
        "publishing under another agency's prefix must fail"
    );

    let admin = jetstream::new(platform.nats().await?);
    let stream2 = api.get("county-two-ecology").await?.status.unwrap().streams[0].clone();
    assert_eq!(stream2, format!("SX_COUNTY_{k2}"));
    assert_eq!(
        count_in(&admin, &stream2, &foreign_subject).await?,
        0,
        "nothing forged arrived"
    );
    for stream in [
        format!("SX_COUNTY_{k1}"),
        format!("SX_CITY_{}", province.city),
        format!("SX_PROVINCE_{}", province.province),
    ] {
        eventually(
            &format!("message aggregated into {stream}"),
            Duration::from_secs(30),
            || {
                let (admin, stream, subject) = (admin.clone(), stream.clone(), subject.clone());
                async move { Ok(count_in(&admin, &stream, &subject).await? == 1) }
            },
        )
        .await?;
    }
    assert_eq!(
        count_in(&admin, &format!("SX_COUNTY_{k2}"), &subject)
            .await
            .unwrap_or(0),
        0,
        "a county aggregate holds only its own agencies"
    );

    // ---- alerts ------------------------------------------------------------------------
    let rules: Api<kube::api::DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns,
        &sanxiang_operator::agency::build::prometheus_rule_resource(),
    );
    let rule = rules.get("county-one-market-alerts").await?;
    let rule_text = serde_json::to_string(&rule.data["spec"])?;
    for alert in sanxiang_operator::alerts::AGENCY_ALERTS {
        if alert.starts_with("SanxiangMilestone") {
            continue; // no SupervisionPlan names this agency
        }
        if *alert == "SanxiangAnnualStatisticsMissing" {
            // Created this year: the agency owes no report for a year before it existed.
            assert!(
                !rule_text.contains(alert),
                "a fresh agency owes no earlier year's statistics: {rule_text}"
            );
            continue;
        }
        assert!(
            rule_text.contains(alert),
            "{alert} missing from {rule_text}"
        );
    }
    assert!(
        rule_text.contains("sanxiang_disclosures_overdue"),
        "{rule_text}"
    );
    assert!(
        rule_text.contains(r#"agency=\"county-one-market\""#),
        "{rule_text}"
    );

    // ---- idle: a second look changes nothing ------------------------------------------
    let before = api.get("county-one-market").await?.resource_version();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        api.get("county-one-market").await?.resource_version(),
        before
    );
    assert!(operator.metrics()?.contains("sanxiang_agency_ready{"));

    // ---- deletion: Retain keeps records, Delete removes them ------------------------
    let s1 = api.get("county-one-market").await?.status.unwrap();
    let s2 = api.get("county-two-ecology").await?.status.unwrap();
    delete_agencies(&api, &["county-one-market", "county-two-ecology"]).await?;
    let mut su = sqlx::PgConnection::connect(&platform.postgres_url("postgres")).await?;
    let exists = |db: String| async move {
        let mut c = sqlx::PgConnection::connect(&platform.postgres_url("postgres")).await?;
        let found: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(db)
                .fetch_one(&mut c)
                .await?;
        anyhow::Ok(found)
    };
    assert!(
        exists(s1.database.clone().unwrap()).await?,
        "Retain must keep the database"
    );
    assert!(
        !exists(s2.database.clone().unwrap()).await?,
        "Delete must drop the database"
    );
    let kept: i64 = {
        let url = platform.postgres_url(s1.database.as_deref().unwrap());
        let mut c = sqlx::PgConnection::connect(&url).await?;
        sqlx::query_scalar("SELECT count(*) FROM record_access_log")
            .fetch_one(&mut c)
            .await?
    };
    assert_eq!(kept, 1, "the retained records are intact");
    let can_login: bool = sqlx::query_scalar("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1")
        .bind(s1.database_role.as_deref().unwrap())
        .fetch_one(&mut su)
        .await?;
    assert!(!can_login, "a retained role no longer logs in");
    assert!(
        admin.get_stream(&s1.streams[0]).await.is_ok(),
        "the county aggregate stays"
    );
    assert_eq!(
        count_in(
            &admin,
            &format!("SX_PROVINCE_{}", province.province),
            &subject
        )
        .await?,
        1,
        "the province keeps what was pushed"
    );
    // The deleted agency's NATS credentials stop working.
    eventually("revoked NATS user refused", Duration::from_secs(30), || {
        let n1 = n1.clone();
        async move { Ok(nats_as(&n1).await.is_err()) }
    })
    .await?;
    eventually(
        "removed account's user refused",
        Duration::from_secs(30),
        || {
            let n2 = n2.clone();
            async move { Ok(nats_as(&n2).await.is_err()) }
        },
    )
    .await?;

    // Clean up what remains (the retained database stays: that is the point).
    delete_agencies(&api, &["city-approval"]).await?;
    delete_jurisdictions(platform, &province);
    Ok(())
}

#[tokio::test]
async fn a_city_administrator_manages_only_their_city() -> anyhow::Result<()> {
    let (platform, _) = setup()?;
    let home = Province::random(1);
    let other = Province::random(1);
    platform.kubectl_apply(&home.jurisdictions_yaml())?;
    platform.kubectl_apply(&other.jurisdictions_yaml())?;
    let admin = platform.kube_client().await?;
    for p in [&home, &other] {
        wait_namespace(&admin, &p.namespace()).await?;
    }
    let rbac_ready = |ns: String| {
        let admin = admin.clone();
        async move {
            let api: Api<k8s_openapi::api::rbac::v1::RoleBinding> = Api::namespaced(admin, &ns);
            Ok(api.get_opt("sanxiang-agency-admin").await?.is_some())
        }
    };
    eventually("rolebinding", Duration::from_secs(30), || {
        rbac_ready(home.namespace())
    })
    .await?;

    // (A city administrator may not set deletionPolicy Delete: tests/deletion.rs.)
    let kubeconfig =
        platform.kubeconfig_for(&format!("alice-{}", home.city), Some(&home.admin_group))?;
    let alice = client_from_kubeconfig(&kubeconfig).await?;
    let mine: Api<Agency> = Api::namespaced(alice.clone(), &home.namespace());
    let agency: Agency = serde_yaml::from_str(&agency_yaml(
        "self-served",
        &home.namespace(),
        &home.counties[0],
        "Retain",
        7,
    ))?;
    mine.create(&PostParams::default(), &agency).await?;
    assert_eq!(mine.list(&ListParams::default()).await?.items.len(), 1);

    // Nor claim the other city's county from their own namespace (admission policy).
    let mut claim: Agency = serde_yaml::from_str(&agency_yaml(
        "claims-elsewhere",
        &home.namespace(),
        &other.counties[0],
        "Retain",
        8,
    ))?;
    claim.metadata.namespace = Some(home.namespace());
    let err = mine
        .create(&PostParams::default(), &claim)
        .await
        .expect_err("another city's county is refused at admission");
    assert!(
        matches!(&err, kube::Error::Api(e) if e.code == 422 && e.message.contains("spec.jurisdiction")),
        "{err}"
    );

    let theirs: Api<Agency> = Api::namespaced(alice.clone(), &other.namespace());
    let mut foreign = agency.clone();
    foreign.metadata.namespace = Some(other.namespace());
    let err = theirs
        .create(&PostParams::default(), &foreign)
        .await
        .expect_err("another city's namespace is forbidden");
    assert!(
        matches!(&err, kube::Error::Api(e) if e.code == 403),
        "{err}"
    );
    let err = theirs
        .list(&ListParams::default())
        .await
        .expect_err("listing elsewhere is forbidden");
    assert!(
        matches!(&err, kube::Error::Api(e) if e.code == 403),
        "{err}"
    );

    // Agencies only: nothing else in their own namespace.
    let cms: Api<ConfigMap> = Api::namespaced(alice.clone(), &home.namespace());
    let err = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": "x"}}))?,
        )
        .await
        .expect_err("ConfigMaps are not theirs");
    assert!(
        matches!(&err, kube::Error::Api(e) if e.code == 403),
        "{err}"
    );
    let secrets: Api<Secret> = Api::namespaced(alice, &home.namespace());
    let err = secrets
        .list(&ListParams::default())
        .await
        .expect_err("Secrets are not theirs");
    assert!(
        matches!(&err, kube::Error::Api(e) if e.code == 403),
        "{err}"
    );

    let admin_agencies: Api<Agency> = Api::namespaced(admin.clone(), &home.namespace());
    wait_ready(&admin_agencies, "self-served").await?;
    delete_agencies(&admin_agencies, &["self-served"]).await?;
    delete_jurisdictions(platform, &home);
    delete_jurisdictions(platform, &other);
    Ok(())
}

#[tokio::test]
async fn supervision_milestones_reach_the_agency_alerts() -> anyhow::Result<()> {
    use sanxiang_crds::calendar::{Calendar, CalendarError, WorkCalendar};
    use sanxiang_crds::conditions::{condition_type, reason};
    use sanxiang_crds::plan::{Schedule, next_due};

    let (platform, _) = setup()?;
    let p = Province::random(1);
    let ns = p.namespace();
    platform.kubectl_apply(&p.jurisdictions_yaml())?;
    let client = platform.kube_client().await?;
    wait_namespace(&client, &ns).await?;
    // Shenyang's monthly progress report: the 20th, moved to the next working day.
    platform.kubectl_apply(&format!(
        "apiVersion: sanxiang.io/v1alpha1\nkind: SupervisionPlan\nmetadata:\n  name: monthly-report\n  namespace: {ns}\nspec:\n  title: 行政执法三项制度月报\n  issuedBy: \"{city}\"\n  milestones:\n  - id: progress-report\n    task: 每月20日前报送工作进展\n    responsible:\n      jurisdictions: [\"{city}\"]\n    schedule:\n      monthly:\n        day: 20\n",
        city = p.city
    ))?;
    platform.kubectl_apply(&agency_yaml("reporter", &ns, &p.counties[0], "Delete", 3))?;
    let api: Api<Agency> = Api::namespaced(client.clone(), &ns);

    let calendars: Vec<WorkCalendar> = ["2025", "2026"]
        .iter()
        .map(|y| {
            let path = sanxiang_testkit::operator::workspace_root()
                .join(format!("e2e/fixtures/calendars/{y}.yaml"));
            serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
        })
        .collect();
    let calendar = Calendar::from_specs(calendars.iter().map(|c| &c.spec))?;
    let today = sanxiang_operator::agency::shanghai_today();
    match next_due(&Schedule::monthly(20), &calendar, today) {
        Ok(Some(due)) => {
            wait_ready(&api, "reporter").await?;
            let rules: Api<kube::api::DynamicObject> = Api::namespaced_with(
                client.clone(),
                &ns,
                &sanxiang_operator::agency::build::prometheus_rule_resource(),
            );
            let text = serde_json::to_string(&rules.get("reporter-alerts").await?.data["spec"])?;
            assert!(text.contains("SanxiangMilestoneDueSoon"), "{text}");
            assert!(text.contains("SanxiangMilestoneMissed"), "{text}");
            assert!(text.contains("progress-report"), "{text}");
            assert!(
                text.contains(&due.to_string()),
                "next due {due} missing: {text}"
            );
        }
        Ok(None) => unreachable!("a monthly schedule always has a next date"),
        Err(CalendarError::MissingYear(year)) => {
            // Past the fixtures' years: the operator must say so, not guess.
            let c = wait_false(&api, "reporter", condition_type::ALERTS_READY).await?;
            assert_eq!(c.reason, reason::CALENDAR_MISSING);
            assert!(c.message.contains(&year.to_string()), "{}", c.message);
        }
        Err(e) => return Err(e.into()),
    }
    delete_agencies(&api, &["reporter"]).await?;
    delete_jurisdictions(platform, &p);
    Ok(())
}
