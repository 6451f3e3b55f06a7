//! Deletion safety on the real platform: enforcement records are never destroyed by one
//! person, an Agency whose finalizer is removed by hand while the operator is down still
//! has its database locked once the operator returns, and a Jurisdiction waits while
//! agencies or child jurisdictions hang off it.
//!
//! One test function runs the phases in order because the second stops the operator: no
//! other operator of this binary may run meanwhile (cargo runs test binaries one at a
//! time, so none of another binary does either).

mod support;

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client};
use sanxiang_crds::agency::Agency;
use sanxiang_crds::conditions::{condition_type, find_condition, reason};
use sanxiang_crds::jurisdiction::Jurisdiction;
use sanxiang_testkit::Platform;
use sanxiang_testkit::operator::{OperatorProcess, workspace_root};
use sanxiang_testkit::platform::client_from_kubeconfig;
use sqlx::{Connection, PgConnection};
use support::*;

const PROVINCE_IT: &str = "sanxiang:province-it";

fn operator(platform: &Platform, label: &str) -> anyhow::Result<OperatorProcess> {
    OperatorProcess::start(
        platform,
        Path::new(env!("CARGO_BIN_EXE_sanxiang-operator")),
        label,
    )
}

async fn user(platform: &Platform, name: &str, group: &str) -> anyhow::Result<Client> {
    client_from_kubeconfig(&platform.kubeconfig_for(name, Some(group))?).await
}

/// The API error of a refused request: its HTTP code and message.
fn refusal<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> (u16, String) {
    match result {
        Err(kube::Error::Api(e)) => (e.code, e.message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn merge(api: &Api<Agency>, name: &str, patch: serde_json::Value) -> kube::Result<Agency> {
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
}

fn secret_value(s: &Secret, key: &str) -> String {
    String::from_utf8(s.data.as_ref().unwrap()[key].0.clone()).unwrap()
}

async fn role_can_login(platform: &Platform, role: &str) -> anyhow::Result<Option<bool>> {
    let mut su = PgConnection::connect(&platform.postgres_url("postgres")).await?;
    Ok(
        sqlx::query_scalar("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1")
            .bind(role)
            .fetch_optional(&mut su)
            .await?,
    )
}

async fn database_exists(platform: &Platform, db: &str) -> anyhow::Result<bool> {
    let mut su = PgConnection::connect(&platform.postgres_url("postgres")).await?;
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(db)
            .fetch_one(&mut su)
            .await?,
    )
}

/// Connects as the tenant (its Secret's URL) and writes one enforcement record.
async fn write_record(admin: &Client, ns: &str, agency: &str) -> anyhow::Result<PgConnection> {
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), ns);
    let url = secret_value(&secrets.get(&format!("{agency}-db")).await?, "url");
    let mut conn = PgConnection::connect(&url).await?;
    // The operator migrated the tenant schema; the tenant's role writes rows, never tables.
    sanxiang_testkit::scope::assert_login_writes_rows_only(&mut conn, "行政处罚决定书 第1号")
        .await?;
    Ok(conn)
}

#[tokio::test]
async fn enforcement_records_are_never_destroyed_by_one_person() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    platform.install_sanxiang_crds()?;
    for year in ["2025", "2026"] {
        let path = workspace_root().join(format!("e2e/fixtures/calendars/{year}.yaml"));
        platform.kubectl_apply(&std::fs::read_to_string(path)?)?;
    }
    let op = operator(platform, "deletion-a")?;
    let province = Province::random(1);
    platform.kubectl_apply(&province.jurisdictions_yaml())?;
    let admin = platform.kube_client().await?;
    wait_namespace(&admin, &province.namespace()).await?;

    two_people_destroy_records(platform, &admin, &province).await?;
    let _op = finalizer_removed_while_the_operator_is_down(platform, &admin, &province, op).await?;
    jurisdictions_wait_for_what_hangs_off_them(platform, &admin, &province).await?;
    Ok(())
}

fn jurisdiction_condition(
    j: &Jurisdiction,
    type_: &str,
) -> Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    j.status
        .as_ref()
        .and_then(|s| find_condition(&s.conditions, type_).cloned())
}

async fn jurisdictions_wait_for_what_hangs_off_them(
    platform: &Platform,
    admin: &Client,
    p: &Province,
) -> anyhow::Result<()> {
    let ns = p.namespace();
    let name = "still-here";
    let agencies: Api<Agency> = Api::namespaced(admin.clone(), &ns);
    platform.kubectl_apply(&agency_yaml(name, &ns, &p.counties[0], "Retain", 24))?;
    wait_ready(&agencies, name).await?;
    let jurisdictions: Api<Jurisdiction> = Api::all(admin.clone());
    let county = format!("j-{}", p.counties[0]);
    let city = format!("j-{}", p.city);
    for j in [&county, &city] {
        jurisdictions.delete(j, &DeleteParams::default()).await?;
    }
    for (j, held) in [
        (&county, format!("1 agencies ({ns}/{name})")),
        (&city, format!("1 child jurisdictions ({county})")),
    ] {
        eventually(
            &format!("{j} DeletionBlocked"),
            Duration::from_secs(30),
            || {
                let api = jurisdictions.clone();
                async move {
                    let found = api.get(j).await?;
                    Ok(
                        jurisdiction_condition(&found, condition_type::DELETION_BLOCKED)
                            .is_some_and(|c| c.status == "True"),
                    )
                }
            },
        )
        .await?;
        let c = jurisdiction_condition(
            &jurisdictions.get(j).await?,
            condition_type::DELETION_BLOCKED,
        )
        .unwrap();
        assert_eq!(c.reason, reason::IN_USE);
        assert!(c.message.contains(&held), "{held}: {}", c.message);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        jurisdictions.get_opt(&county).await?.is_some(),
        "still held"
    );
    // The agency goes (by its own policy): then the county, the city and the province.
    delete_agencies(&agencies, &[name]).await?;
    jurisdictions
        .delete(&format!("j-{}", p.province), &DeleteParams::default())
        .await?;
    for j in p.object_names() {
        eventually(&format!("{j} deleted"), Duration::from_secs(60), || {
            let api = jurisdictions.clone();
            let j = j.clone();
            async move { Ok(api.get_opt(&j).await?.is_none()) }
        })
        .await?;
    }
    Ok(())
}

async fn two_people_destroy_records(
    platform: &Platform,
    admin: &Client,
    p: &Province,
) -> anyhow::Result<()> {
    let ns = p.namespace();
    let alice_name = format!("alice-{}", p.city);
    let alice = user(platform, &alice_name, &p.admin_group).await?;
    let wang_name = format!("wang-{}", p.city);
    let wang = user(platform, &wang_name, PROVINCE_IT).await?;
    let li_name = format!("li-{}", p.city);
    let li = user(platform, &li_name, PROVINCE_IT).await?;
    let as_alice: Api<Agency> = Api::namespaced(alice.clone(), &ns);
    let as_wang: Api<Agency> = Api::namespaced(wang, &ns);
    let as_li: Api<Agency> = Api::namespaced(li, &ns);
    let as_admin: Api<Agency> = Api::namespaced(admin.clone(), &ns);

    // RBAC may need a moment after the city's namespace appears.
    let name = "records-held";
    let agency: Agency =
        serde_yaml::from_str(&agency_yaml(name, &ns, &p.counties[0], "Retain", 21))?;
    eventually("the city admin creates", Duration::from_secs(30), || {
        let (api, agency) = (as_alice.clone(), agency.clone());
        async move { Ok(api.create(&Default::default(), &agency).await.is_ok()) }
    })
    .await?;
    wait_ready(&as_admin, name).await?;

    // A city administrator may not allow Delete, with or without the annotation.
    let (code, message) = refusal(
        merge(
            &as_alice,
            name,
            serde_json::json!({
                "metadata": {"annotations": {"sanxiang.io/delete-allowed-by": alice_name}},
                "spec": {"database": {"deletionPolicy": "Delete"}}
            }),
        )
        .await,
    );
    assert_eq!(code, 403, "{message}");
    assert!(
        message.contains("spec.database.deletionPolicy: only provincial IT"),
        "{message}"
    );
    // Nor get around the rule by editing or removing the policy.
    let policies: Api<ValidatingAdmissionPolicy> = Api::all(alice.clone());
    let (code, message) = refusal(
        policies
            .delete("sanxiang-agency-deletion", &DeleteParams::default())
            .await,
    );
    assert_eq!(code, 403, "{message}");
    let (code, message) = refusal(
        policies
            .patch(
                "sanxiang-agency-deletion",
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({"spec": {"validations": []}})),
            )
            .await,
    );
    assert_eq!(code, 403, "{message}");

    // Provincial IT must say who allows it, under their own name.
    let delete = |by: &str| {
        serde_json::json!({
            "metadata": {"annotations": {"sanxiang.io/delete-allowed-by": by}},
            "spec": {"database": {"deletionPolicy": "Delete"}}
        })
    };
    let (code, message) = refusal(
        merge(
            &as_wang,
            name,
            serde_json::json!({"spec": {"database": {"deletionPolicy": "Delete"}}}),
        )
        .await,
    );
    assert_eq!(code, 422, "{message}");
    assert!(
        message.contains("metadata.annotations[sanxiang.io/delete-allowed-by]"),
        "{message}"
    );
    let (_, message) = refusal(merge(&as_wang, name, delete(&li_name)).await);
    assert!(message.contains(&wang_name), "{message}");
    merge(&as_wang, name, delete(&wang_name)).await?;

    // The agency writes a record; the city admin deletes it: the deletion waits.
    let mut tenant = write_record(admin, &ns, name).await?;
    let database = as_admin.get(name).await?.status.unwrap().database.unwrap();
    as_alice.delete(name, &DeleteParams::default()).await?;
    let blocked_condition = |a: &Agency| {
        a.status
            .as_ref()
            .and_then(|s| find_condition(&s.conditions, condition_type::DELETION_BLOCKED).cloned())
    };
    eventually("DeletionBlocked", Duration::from_secs(30), || {
        let api = as_admin.clone();
        async move {
            let a = api.get(name).await?;
            Ok(blocked_condition(&a).is_some_and(|c| c.status == "True"))
        }
    })
    .await?;
    let blocked = blocked_condition(&as_admin.get(name).await?).unwrap();
    assert_eq!(blocked.reason, reason::RECORDS_HELD);
    for part in [
        database.as_str(),
        "record_access_log: 1",
        "sanxiang.io/delete-confirmed-by",
        &format!("other than {wang_name}"),
        "Retain",
    ] {
        assert!(
            blocked.message.contains(part),
            "{part}: {}",
            blocked.message
        );
    }
    assert!(database_exists(platform, &database).await?);
    assert_eq!(role_can_login(platform, &database).await?, Some(false));
    assert!(
        sqlx::query("SELECT 1").execute(&mut tenant).await.is_err(),
        "the tenant's open session was ended"
    );

    // Nobody confirms alone, for themselves or for someone else.
    let confirm = |by: &str| serde_json::json!({"metadata": {"annotations": {"sanxiang.io/delete-confirmed-by": by}}});
    let (code, message) = refusal(merge(&as_alice, name, confirm(&alice_name)).await);
    assert_eq!(code, 403, "{message}");
    assert!(
        message
            .contains("metadata.annotations[sanxiang.io/delete-confirmed-by]: only provincial IT"),
        "{message}"
    );
    let (_, message) = refusal(merge(&as_wang, name, confirm(&wang_name)).await);
    assert!(
        message.contains("a second provincial IT member"),
        "{message}"
    );
    let (_, message) = refusal(merge(&as_wang, name, confirm(&li_name)).await);
    assert!(message.contains("their own user name"), "{message}");
    // Nor remove the finalizer that guards the records.
    let (code, message) = refusal(
        merge(
            &as_alice,
            name,
            serde_json::json!({"metadata": {"finalizers": null}}),
        )
        .await,
    );
    assert_eq!(code, 403, "{message}");
    assert!(message.contains("metadata.finalizers"), "{message}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        database_exists(platform, &database).await?,
        "still held after refused attempts"
    );

    // A second provincial IT member confirms: now the records go.
    merge(&as_li, name, confirm(&li_name)).await?;
    eventually("agency deleted", Duration::from_secs(60), || {
        let api = as_admin.clone();
        async move { Ok(api.get_opt(name).await?.is_none()) }
    })
    .await?;
    assert!(!database_exists(platform, &database).await?);

    // An empty database under Delete goes without a confirmation.
    let empty = "nothing-held";
    platform.kubectl_apply(&agency_yaml(empty, &ns, &p.counties[0], "Delete", 22))?;
    let db = wait_ready(&as_admin, empty)
        .await?
        .status
        .unwrap()
        .database
        .unwrap();
    delete_agencies(&as_admin, &[empty]).await?;
    assert!(!database_exists(platform, &db).await?);
    Ok(())
}

async fn finalizer_removed_while_the_operator_is_down(
    platform: &Platform,
    admin: &Client,
    p: &Province,
    mut op: OperatorProcess,
) -> anyhow::Result<OperatorProcess> {
    let ns = p.namespace();
    let name = "orphaned";
    let as_admin: Api<Agency> = Api::namespaced(admin.clone(), &ns);
    platform.kubectl_apply(&agency_yaml(name, &ns, &p.counties[0], "Retain", 23))?;
    let database = wait_ready(&as_admin, name)
        .await?
        .status
        .unwrap()
        .database
        .unwrap();
    let mut tenant = write_record(admin, &ns, name).await?;

    op.child.kill()?;
    op.child.wait()?;
    // Provincial IT deletes and strips the finalizer by hand; a city admin may not.
    as_admin.delete(name, &DeleteParams::default()).await?;
    let alice = user(platform, &format!("alice-{}", p.city), &p.admin_group).await?;
    let (code, message) = refusal(
        merge(
            &Api::namespaced(alice, &ns),
            name,
            serde_json::json!({"metadata": {"finalizers": null}}),
        )
        .await,
    );
    assert_eq!(code, 403, "{message}");
    let wang = user(platform, &format!("wang-{}", p.city), PROVINCE_IT).await?;
    merge(
        &Api::namespaced(wang, &ns),
        name,
        serde_json::json!({"metadata": {"finalizers": null}}),
    )
    .await?;
    assert!(
        as_admin.get_opt(name).await?.is_none(),
        "the Agency is gone"
    );
    // Nobody cleaned up: the tenant still logs in and its session still works.
    assert_eq!(role_can_login(platform, &database).await?, Some(true));
    sqlx::query("SELECT 1").execute(&mut tenant).await?;

    // The operator returns: its sweep locks the orphan and ends the session, keeping
    // the records.
    let op = operator(platform, "deletion-b")?;
    eventually("orphan locked", Duration::from_secs(60), || async {
        Ok(role_can_login(platform, &database).await? == Some(false))
    })
    .await?;
    // The sweep disables the login first (so no new session can start), then ends the open
    // ones: the NOLOGIN seen above may precede the termination by a moment.
    let tenant = tokio::sync::Mutex::new(tenant);
    eventually(
        "the orphan's open session ended",
        Duration::from_secs(10),
        || async {
            let mut session = tenant.lock().await;
            Ok(sqlx::query("SELECT 1")
                .execute(&mut *session)
                .await
                .is_err())
        },
    )
    .await?;
    let mut su = PgConnection::connect(&platform.postgres_url(&database)).await?;
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM record_access_log")
        .fetch_one(&mut su)
        .await?;
    assert_eq!(kept, 1, "the records are kept");
    Ok(op)
}
