//! NATS isolation in operator mode, against the real operator, nats-server and
//! kube-apiserver: what an agency's `.creds` allow, the adversarial findings (purge or
//! delete through a publish's reply subject, forged envelopes, names with dots, no
//! limits), rotation with a grace period, and revocation on deletion.

mod support;

use std::time::Duration;

use async_nats::jetstream;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams};
use sanxiang_crds::agency::Agency;
use sanxiang_crds::conditions::{condition_type, find_condition};
use support::*;

fn value(s: &Secret, key: &str) -> String {
    String::from_utf8(s.data.as_ref().unwrap()[key].0.clone()).unwrap()
}

async fn connect(creds: &str, url: &str) -> anyhow::Result<async_nats::Client> {
    Ok(async_nats::ConnectOptions::with_credentials(creds)?
        .request_timeout(Some(Duration::from_secs(2)))
        .connect(url)
        .await?)
}

async fn nats_as(secret: &Secret) -> anyhow::Result<async_nats::Client> {
    connect(&value(secret, "creds"), &value(secret, "url")).await
}

async fn messages(js: &jetstream::Context, stream: &str) -> anyhow::Result<u64> {
    Ok(js.get_stream(stream).await?.info().await?.state.messages)
}

#[tokio::test]
async fn agency_credentials_reach_only_their_own_subjects() -> anyhow::Result<()> {
    let (platform, _operator) = setup()?;
    let province = Province::random(1);
    let ns = province.namespace();
    platform.kubectl_apply(&province.jurisdictions_yaml())?;
    let client = platform.kube_client().await?;
    wait_namespace(&client, &ns).await?;
    let county = province.counties[0].clone();
    // Agency names are unique across all provinces: suffix them with this run's city.
    let c = &province.city;
    let (n1, n2, n3) = (
        format!("nx-one-{c}"),
        format!("nx-two-{c}"),
        format!("nx-city-{c}"),
    );
    let small =
        agency_yaml(&n1, &ns, &county, "Retain", 1) + "  messaging:\n    maxMessageBytes: 2048\n";
    let yaml = [
        small,
        agency_yaml(&n2, &ns, &county, "Delete", 2),
        agency_yaml(&n3, &ns, &province.city, "Retain", 3),
    ]
    .join("---\n");
    platform.kubectl_apply(&yaml)?;
    let api: Api<Agency> = Api::namespaced(client.clone(), &ns);
    for name in [&n1, &n2, &n3] {
        wait_ready(&api, name).await?;
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let (s1, s2) = (
        secrets.get(&format!("{n1}-nats")).await?,
        secrets.get(&format!("{n2}-nats")).await?,
    );
    let creds = value(&s1, "creds");
    assert!(
        creds.starts_with("-----BEGIN NATS USER JWT-----\n")
            && creds.contains("-----BEGIN USER NKEY SEED-----\nSU"),
        "a standard .creds file"
    );
    assert_ne!(
        value(&s1, "account"),
        value(&s2, "account"),
        "one account per agency"
    );
    let (p1, p2) = (value(&s1, "subjectPrefix"), value(&s2, "subjectPrefix"));
    let county_stream = format!("SX_COUNTY_{county}");
    let province_stream = format!("SX_PROVINCE_{}", province.province);
    let admin = jetstream::new(platform.nats().await?);

    // Own prefix: acknowledged by the county aggregate.
    let one = nats_as(&s1).await?;
    let js1 = jetstream::new(one.clone());
    let ack = js1
        .publish(
            format!("{p1}.disclosure"),
            format!(r#"{{"agency":"{n1}"}}"#).into(),
        )
        .await?
        .await?;
    assert_eq!(ack.stream, county_stream);

    // Another agency's prefix, even in the same county stream: refused.
    let forged = async {
        js1.publish(format!("{p2}.disclosure"), "forged".into())
            .await?
            .await
            .map_err(anyhow::Error::from)
    }
    .await;
    assert!(forged.is_err(), "published under another agency's prefix");

    // Another agency's subjects cannot be read, nor can anything but inboxes.
    let mut spy = one.subscribe(format!("{p2}.>")).await?;
    let mut spy_all = one.subscribe(">").await?;
    let two = nats_as(&s2).await?;
    jetstream::new(two.clone())
        .publish(format!("{p2}.disclosure"), "two".into())
        .await?
        .await?;
    for sub in [&mut spy, &mut spy_all] {
        let got = tokio::time::timeout(Duration::from_secs(1), sub.next()).await;
        assert!(!matches!(got, Ok(Some(_))), "read another agency's subject");
    }

    // No JetStream API at all: not the account's own (it has none), not the aggregates'.
    let one = nats_as(&s1).await?;
    for subject in [
        "$JS.API.INFO".to_string(),
        format!("$JS.API.STREAM.INFO.{county_stream}"),
        format!("$JS.API.STREAM.PURGE.{province_stream}"),
    ] {
        let r = one.request(subject.clone(), "".into()).await;
        assert!(r.is_err(), "{subject} answered: {r:?}");
    }

    // Critical finding: a publish whose reply subject is a JetStream API request, so that
    // the stream's acknowledgement would execute it. nats-server 2.15 refuses such a
    // publish outright ("Publish Violation - Reply"); were it delivered, the acknowledgement
    // would travel back through the agency's import into its own account, which has no
    // JetStream. Either way nothing is purged or deleted anywhere.
    let county_before = messages(&admin, &county_stream).await?;
    eventually("province has the message", Duration::from_secs(30), || {
        let (admin, s) = (admin.clone(), province_stream.clone());
        async move { Ok(messages(&admin, &s).await? >= 2) }
    })
    .await?;
    let province_before = messages(&admin, &province_stream).await?;
    for reply in [
        format!("$JS.API.STREAM.PURGE.{province_stream}"),
        format!("$JS.API.STREAM.PURGE.{county_stream}"),
        format!("$JS.API.STREAM.MSG.DELETE.{county_stream}"),
    ] {
        one.publish_with_reply(format!("{p1}.disclosure"), reply, r#"{"seq":1}"#.into())
            .await?;
    }
    one.flush().await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        messages(&admin, &county_stream).await?,
        county_before,
        "the county stream neither lost messages nor stored the refused publishes"
    );
    assert!(messages(&admin, &province_stream).await? >= province_before);
    // Even the aggregate account's administrator cannot purge or delete: the streams deny it.
    let purge = admin.get_stream(&county_stream).await?.purge().await;
    assert!(purge.is_err(), "an aggregate stream was purged");
    assert!(
        admin
            .get_stream(&county_stream)
            .await?
            .delete_message(1)
            .await
            .is_err(),
        "a message was deleted from an aggregate stream"
    );

    // The aggregate knows who published, whatever the envelope claims: the subject, which
    // only that agency's account can carry into the aggregate account.
    let forged_envelope = js1
        .publish(
            format!("{p1}.disclosure"),
            format!(r#"{{"agency":"{n2}"}}"#).into(),
        )
        .await?
        .await?;
    let stored = admin
        .get_stream(&county_stream)
        .await?
        .get_raw_message(forged_envelope.sequence)
        .await?;
    let publisher = sanxiang_nats_jwt::topology::agency_of_subject(&stored.subject);
    assert_eq!(publisher, Some(n1.as_str()), "{}", stored.subject);
    let claimed: serde_json::Value = serde_json::from_slice(&stored.payload)?;
    assert_ne!(
        claimed["agency"].as_str(),
        publisher,
        "a consumer comparing envelope and subject detects the forgery"
    );

    // Limits: streams have them, and the agency's message size is enforced.
    let config = admin
        .get_stream(&county_stream)
        .await?
        .info()
        .await?
        .config
        .clone();
    assert!(config.max_bytes > 0 && config.max_messages > 0 && config.max_message_size > 0);
    assert!(config.deny_purge && config.deny_delete);
    let big = js1
        .publish(format!("{p1}.disclosure"), vec![b'x'; 4096].into())
        .await;
    let big = match big {
        Ok(ack) => ack.await.map(|_| ()).map_err(anyhow::Error::from),
        Err(e) => Err(e.into()),
    };
    assert!(big.is_err(), "a 4 KiB message passed a 2 KiB limit");

    // A name NATS would split is refused at admission, naming the field.
    let dotted = agency_yaml(&format!("{n1}.x"), &ns, &county, "Retain", 4);
    let out = platform
        .kubectl()
        .args(["apply", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(dotted.as_bytes())?;
            c.wait_with_output()
        })?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a dotted name was admitted");
    assert!(stderr.contains("metadata.name"), "{stderr}");

    // Rotation: new credentials at once, the old ones refused after the grace period.
    api.patch(
        &n2,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({
            "metadata": {"annotations": {sanxiang_operator::nats::ROTATE_ANNOTATION: "r1"}}
        })),
    )
    .await?;
    let old_user = value(&s2, "user");
    eventually("new user in the Secret", Duration::from_secs(30), || {
        let (secrets, old_user, n2) = (secrets.clone(), old_user.clone(), n2.clone());
        async move { Ok(value(&secrets.get(&format!("{n2}-nats")).await?, "user") != old_user) }
    })
    .await?;
    let rotated = secrets.get(&format!("{n2}-nats")).await?;
    nats_as(&rotated).await?.flush().await?;
    let agency = api.get(&n2).await?;
    let messaging = find_condition(
        &agency.status.unwrap().conditions,
        condition_type::MESSAGING_READY,
    )
    .cloned()
    .unwrap();
    assert!(
        messaging.message.contains("stop working at"),
        "grace stated: {}",
        messaging.message
    );
    assert!(
        nats_as(&s2).await.is_ok(),
        "old creds work during the grace period"
    );
    eventually("rotated-out creds refused", Duration::from_secs(40), || {
        let s2 = s2.clone();
        async move { Ok(nats_as(&s2).await.is_err()) }
    })
    .await?;
    assert!(
        nats_as(&rotated).await.is_ok(),
        "the new creds keep working"
    );

    // Deletion revokes at once (Retain) / removes the account (Delete).
    delete_agencies(&api, &[&n1, &n2]).await?;
    for s in [&s1, &rotated] {
        eventually(
            "deleted agency's creds refused",
            Duration::from_secs(10),
            || {
                let s = s.clone();
                async move { Ok(nats_as(&s).await.is_err()) }
            },
        )
        .await?;
    }
    delete_agencies(&api, &[&n3]).await?;
    delete_jurisdictions(platform, &province);
    Ok(())
}
