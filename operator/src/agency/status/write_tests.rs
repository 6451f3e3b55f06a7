//! The status stage's write against a mocked API server ([`crate::test_apiserver`]): the
//! status the stage computes is written only when it differs from the one the agency was
//! read with — an idle reconcile sends nothing — and then as one server-side apply of the
//! status subresource with the operator's field manager; an API server failure is the
//! stage's `KubeApi` error.

use chrono::{Duration, Utc};
use kube::api::ObjectMeta;
use sanxiang_crds::agency::{AgencyStatus, EffectivePolicies};
use serde_json::{Value, json};

use super::*;
use crate::agency::build::tenant_contract;
use crate::naming::agency_names;
use crate::test_apiserver::{ApiServerVerifier, nothing, status, verify};

const STATUS: &str = "/apis/sanxiang.io/v1alpha1/namespaces/sx-211200/agencies/market/status";

fn agency(status: Option<&AgencyStatus>) -> Agency {
    // Through JSON, as the cache holds what the API server stored.
    serde_json::from_value(json!({
        "apiVersion": "sanxiang.io/v1alpha1", "kind": "Agency",
        "metadata": {"name": "market", "namespace": "sx-211200", "uid": "u1", "generation": 2},
        "spec": {"jurisdiction": "211221", "displayName": "铁岭县市场监督管理局",
                 "creditCode": "91350100M000100Y43", "categories": ["Penalty"]},
        "status": status,
    }))
    .unwrap()
}

fn desired() -> Desired {
    let placement = Placement {
        province: "210000".into(),
        city: Some("211200".into()),
        county: Some("211221".into()),
    };
    let names = agency_names("sx-211200", "market", &placement);
    let (policies, _) = sanxiang_domain::policy::inherit(&[]);
    let contract = tenant_contract("market", &placement, &names, &agency(None).spec, &policies);
    Desired {
        placement,
        names,
        contract,
        meta: ObjectMeta::default(),
        alerts: Err((reason::ALERTS_UNAVAILABLE, "not built here".into())),
        policies: EffectivePolicies::from_effective(&policies),
        loosened: Vec::new(),
    }
}

fn parts(messaging_ready: bool) -> Vec<PartResult> {
    let part = |condition, ready, reason: &'static str| PartResult {
        condition,
        ready,
        reason,
        message: format!("{condition}: {reason}"),
    };
    vec![
        part(condition_type::DATABASE_READY, true, reason::PROVISIONED),
        if messaging_ready {
            part(condition_type::MESSAGING_READY, true, reason::PROVISIONED)
        } else {
            part(
                condition_type::MESSAGING_READY,
                false,
                reason::NATS_UNAVAILABLE,
            )
        },
        part(condition_type::ALERTS_READY, true, reason::PROVISIONED),
    ]
}

/// An agency provisioned an hour ago, as read back from the API server.
fn provisioned_an_hour_ago() -> Agency {
    let (status, _) = stage_status(
        &AgencyStatus::default(),
        &desired(),
        &parts(true),
        Some(2),
        Utc::now() - Duration::hours(1),
    );
    agency(Some(&status))
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_))
        .unwrap_or_else(|| panic!("condition {type_} in {status}"))
}

#[tokio::test]
async fn an_idle_reconcile_sends_no_status_patch() {
    let stored = provisioned_an_hour_ago();
    let before = stored.status.clone().unwrap();
    let parts = parts(true);
    let (computed, failed) = stage_status(&before, &desired(), &parts, Some(2), Utc::now());
    assert!(failed.is_none());
    assert_eq!(computed, before, "nothing changed, timestamps included");

    verify(nothing, |client| async move {
        write_if_changed(&client, &stored, &computed).await
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_changed_condition_is_one_apply_patch_of_the_status_subresource() {
    let stored = provisioned_an_hour_ago();
    let before = stored.status.clone().unwrap();
    let parts = parts(false);
    let (computed, failed) = stage_status(&before, &desired(), &parts, Some(2), Utc::now());
    assert_eq!(failed.map(|p| p.reason), Some(reason::NATS_UNAVAILABLE));

    let stored_database = serde_json::to_value(&before).unwrap();
    let answer = serde_json::to_value(agency(Some(&computed))).unwrap();
    let scenario = |mut api: ApiServerVerifier| async move {
        let sent = api.expect_request("PATCH", STATUS, 200, answer).await;
        sent.assert_operator_apply();
        assert_eq!(
            (&sent.body["apiVersion"], &sent.body["kind"]),
            (&json!("sanxiang.io/v1alpha1"), &json!("Agency"))
        );
        let status = &sent.body["status"];
        let ready = condition(status, condition_type::READY);
        assert_eq!(
            (&ready["status"], &ready["reason"], &ready["message"]),
            (
                &json!("False"),
                &json!("NatsUnavailable"),
                &json!("MessagingReady: MessagingReady: NatsUnavailable")
            )
        );
        let messaging = condition(status, condition_type::MESSAGING_READY);
        assert_eq!(messaging["status"], "False");
        // The unchanged part keeps its condition, transition time included.
        assert_eq!(
            condition(status, condition_type::DATABASE_READY),
            condition(&stored_database, condition_type::DATABASE_READY)
        );
        assert_eq!(status["observedGeneration"], 2);
        assert_eq!(status["credentialsSecret"], "market-db");
        api
    };
    verify(scenario, |client| async move {
        write_if_changed(&client, &stored, &computed).await
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn an_api_server_failure_is_the_stages_kube_error() {
    let stored = provisioned_an_hour_ago();
    let before = stored.status.clone().unwrap();
    let parts = parts(false);
    let (computed, _) = stage_status(&before, &desired(), &parts, Some(2), Utc::now());

    let scenario = |mut api: ApiServerVerifier| async move {
        api.expect("PATCH", STATUS, 500, status(500, "InternalError"))
            .await;
        api
    };
    let error = verify(scenario, |client| async move {
        write_if_changed(&client, &stored, &computed).await
    })
    .await
    .expect_err("the API server failed");
    let error = StatusError::from(error);
    assert_eq!(error.reason(), "KubeApi");
    assert!(error.to_string().starts_with("writing status: "), "{error}");
}
