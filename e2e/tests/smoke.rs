//! Proves the local platform is made of the real programs: the apiserver stores objects,
//! the controller manager finalises namespace deletion, PostgreSQL answers SQL and NATS
//! JetStream persists and delivers messages.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use sanxiang_testkit::{Platform, TestScope};
use sqlx::Connection;

#[tokio::test]
async fn kubernetes_stores_objects_and_deletes_namespaces() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    let scope = TestScope::new(platform, "smoke-kube").await?;
    scope.create_namespace().await?;
    let client = platform.kube_client().await?;

    let version = client.apiserver_version().await?;
    assert_eq!(
        (version.major.as_str(), version.minor.as_str()),
        ("1", "34")
    );

    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &scope.namespace);
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "greeting"},
        "data": {"text": "三项制度"}
    }))?;
    config_maps.create(&PostParams::default(), &cm).await?;
    let read = config_maps.get("greeting").await?;
    assert_eq!(read.data.unwrap()["text"], "三项制度");

    // Deleting a namespace only completes when kube-controller-manager's namespace
    // controller has removed its content and the finalizer.
    let namespaces: Api<Namespace> = Api::all(client);
    namespaces
        .delete(&scope.namespace, &DeleteParams::default())
        .await?;
    sanxiang_testkit::wait::eventually(
        &format!("namespace {} gone", scope.namespace),
        Duration::from_secs(60),
        || async {
            match namespaces.get_opt(&scope.namespace).await? {
                None => Ok(true),
                Some(ns) => {
                    let phase = ns.status.and_then(|s| s.phase).unwrap_or_default();
                    anyhow::bail!("still present (phase {phase})")
                }
            }
        },
    )
    .await?;
    scope.cleanup().await
}

#[tokio::test]
async fn postgres_answers_as_the_scope_role() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    let scope = TestScope::new(platform, "smoke-pg").await?;
    let url = scope.create_database().await?;
    let mut conn = sqlx::PgConnection::connect(&url).await?;
    let (user, db): (String, String) =
        sqlx::query_as("SELECT current_user::text, current_database()::text")
            .fetch_one(&mut conn)
            .await?;
    assert_eq!(user, scope.database);
    assert_eq!(db, scope.database);
    // The scope's database is provisioned as the operator provisions an agency's: the
    // migrated schema belongs to the owner role, this login role writes rows only.
    sanxiang_testkit::scope::assert_login_writes_rows_only(&mut conn, "公示").await?;
    let (v,): (String,) = sqlx::query_as("SELECT purpose FROM record_access_log")
        .fetch_one(&mut conn)
        .await?;
    assert_eq!(v, "公示");
    conn.close().await?;
    scope.cleanup().await
}

#[tokio::test]
async fn jetstream_persists_and_delivers() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    let scope = TestScope::new(platform, "smoke-nats").await?;
    let js = jetstream::new(platform.nats().await?);
    let name = format!("SMOKE_{}", scope.id);
    js.create_stream(stream::Config {
        name: name.clone(),
        subjects: vec![format!("{}.>", scope.subject_prefix)],
        ..Default::default()
    })
    .await?;

    for i in 0..3 {
        js.publish(
            format!("{}.decision", scope.subject_prefix),
            format!("d{i}").into(),
        )
        .await?
        .await?;
    }
    let stream = js.get_stream(&name).await?;
    let consumer = stream
        .create_consumer(consumer::pull::Config {
            durable_name: Some("smoke".into()),
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.fetch().max_messages(3).messages().await?;
    let mut got = Vec::new();
    while let Some(m) = messages.next().await {
        let m = m.map_err(|e| anyhow::anyhow!(e))?;
        got.push(String::from_utf8(m.payload.to_vec())?);
        m.ack().await.map_err(|e| anyhow::anyhow!(e))?;
    }
    assert_eq!(got, ["d0", "d1", "d2"]);
    js.delete_stream(&name).await?;
    scope.cleanup().await
}

#[tokio::test]
async fn nats_runs_in_operator_mode_and_refuses_anything_but_signed_users() -> anyhow::Result<()> {
    let platform = Platform::shared()?;
    // No passwords in operator mode.
    let result = async_nats::ConnectOptions::with_user_and_password("admin".into(), "wrong".into())
        .connect(platform.nats_url())
        .await;
    assert!(result.is_err(), "NATS accepted a user and password");
    // A user signed by a key the server does not trust.
    let rogue_account = sanxiang_nats_jwt::KeyPair::new_account();
    let user = sanxiang_nats_jwt::KeyPair::new_user();
    let rogue = sanxiang_nats_jwt::topology::SigningKeys {
        operator: sanxiang_nats_jwt::KeyPair::new_operator(),
        account: rogue_account,
    };
    let creds = sanxiang_nats_jwt::topology::user_creds(
        &rogue,
        &rogue.account.public_key(),
        &user,
        "rogue",
        Default::default(),
        1,
    )?;
    let result = async_nats::ConnectOptions::with_credentials(&creds)?
        .connect(platform.nats_url())
        .await;
    assert!(
        result.is_err(),
        "NATS accepted a user of an unknown account"
    );
    // The monitoring endpoint is not served at all (it has no authentication).
    assert!(
        !std::fs::read_to_string(platform.state_dir.join("nats/nats.conf"))?.contains("http"),
        "nats.conf opens a monitoring port"
    );
    Ok(())
}
