//! Tenants from the operator's database Secrets, on the real kube-apiserver.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use sanxiang_tenant_service::kube_source::KubeSecretSource;
use sanxiang_tenant_service::tenants::{TenantRegistry, TenantSource};
use sanxiang_testkit::{Platform, TestScope};
use std::time::Duration;

fn secret(name: &str, agency: &str, county: &str) -> anyhow::Result<Secret> {
    Ok(serde_json::from_value(serde_json::json!({
        "metadata": {
            "name": name,
            "labels": {"sanxiang.io/credentials": "database", "sanxiang.io/agency": agency},
            "annotations": {
                "sanxiang.io/agency": agency,
                "sanxiang.io/province": "210000",
                "sanxiang.io/city": "210100",
                "sanxiang.io/county": county,
                "sanxiang.io/subject-prefix": format!("sx.210000.210100.{county}.{agency}"),
            }
        },
        "stringData": {
            "host": "127.0.0.1", "port": "5432", "dbname": format!("db_{agency}"),
            "username": format!("u_{agency}"), "password": "p@ss"
        }
    }))?)
}

async fn wait(what: &str, f: impl Fn() -> bool) -> anyhow::Result<()> {
    sanxiang_testkit::wait::eventually(what, Duration::from_secs(30), || {
        let done = f();
        async move { Ok(done) }
    })
    .await
}

#[tokio::test]
async fn secrets_become_tenants_and_follow_changes() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    let scope = TestScope::new(platform, "kube-source").await?;
    let ns = scope.create_namespace().await?;
    let client = platform.kube_client().await?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    secrets
        .create(&PostParams::default(), &secret("db-a", "agency-a", "-")?)
        .await?;
    // A Secret without the label is not a tenant.
    let mut other = secret("other", "agency-x", "-")?;
    other.metadata.labels = None;
    secrets.create(&PostParams::default(), &other).await?;

    let registry = TenantRegistry::new();
    let source = Box::new(KubeSecretSource::with_client(client, Some(ns.clone())));
    let task = tokio::spawn(source.run(registry.clone()));
    wait("initial list", || registry.is_ready()).await?;
    let a = registry.get("agency-a").expect("agency-a loaded");
    assert_eq!(
        a.database_url,
        "postgres://u_agency-a:p%40ss@127.0.0.1:5432/db_agency-a"
    );
    assert_eq!(a.subject_prefix, "sx.210000.210100.-.agency-a");
    assert!(registry.get("agency-x").is_none());

    secrets
        .create(
            &PostParams::default(),
            &secret("db-b", "agency-b", "210102")?,
        )
        .await?;
    wait("agency-b added", || registry.get("agency-b").is_some()).await?;
    assert_eq!(registry.get("agency-b").unwrap().county, "210102");
    // A Secret in another namespace claiming an existing agency is ignored.
    secrets
        .create(
            &PostParams::default(),
            &secret("db-b2", "agency-b", "210103")?,
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(registry.get("agency-b").unwrap().county, "210102");
    secrets.delete("db-a", &DeleteParams::default()).await?;
    wait("agency-a removed", || registry.get("agency-a").is_none()).await?;
    assert_eq!(registry.len(), 1);

    task.abort();
    scope.cleanup().await?;
    Ok(())
}
