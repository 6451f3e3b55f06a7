//! The Jurisdiction controller's writes against a mocked API server
//! ([`crate::test_apiserver`]): the status (`agencyCount`, `Ready`) is written only when
//! it changed, as one server-side apply of the status subresource; the namespace and RBAC
//! are applied only when the server's copy lacks what the operator sets; an API server
//! failure is the `KubeApi` error.

use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::{Value, json};

use super::*;
use crate::test_apiserver::{ApiServerVerifier, nothing, status, verify};

const STATUS: &str = "/apis/sanxiang.io/v1alpha1/jurisdictions/j-211200/status";
const NAMESPACE: &str = "/api/v1/namespaces/sx-211200";
const ROLE: &str =
    "/apis/rbac.authorization.k8s.io/v1/namespaces/sx-211200/roles/sanxiang-agency-admin";
const BINDING: &str =
    "/apis/rbac.authorization.k8s.io/v1/namespaces/sx-211200/rolebindings/sanxiang-agency-admin";

/// Tieling (a city) as the cache holds it: provisioned, counting `agencies`.
fn tieling(agencies: u32) -> Jurisdiction {
    let mut status = JurisdictionStatus {
        namespace: Some("sx-211200".into()),
        agency_count: Some(agencies),
        ..Default::default()
    };
    set_ready(
        &mut status,
        true,
        reason::PROVISIONED,
        "namespace sx-211200 ready",
        Some(1),
    );
    serde_json::from_value(json!({
        "apiVersion": "sanxiang.io/v1alpha1", "kind": "Jurisdiction",
        "metadata": {"name": "j-211200", "uid": "j-uid", "generation": 1},
        "spec": {"level": "City", "code": "211200", "parent": "210000", "displayName": "铁岭市",
                 "administratorGroups": ["tieling-it"]},
        "status": status,
    }))
    .unwrap()
}

/// What the reconcile computes for it when `agencies` agencies under it are Ready.
fn recounted(j: &Jurisdiction, agencies: u32) -> JurisdictionStatus {
    let mut status = j.status.clone().unwrap_or_default();
    status.agency_count = Some(agencies);
    set_ready(
        &mut status,
        true,
        reason::PROVISIONED,
        "namespace sx-211200 ready",
        Some(1),
    );
    status
}

#[tokio::test]
async fn an_unchanged_count_writes_no_status() {
    let j = tieling(3);
    let computed = recounted(&j, 3);
    verify(nothing, |client| async move {
        write(&client, &j, &computed).await
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_new_count_is_one_apply_patch_of_the_status() {
    let j = tieling(3);
    let stored_ready = serde_json::to_value(&j.status.as_ref().unwrap().conditions[0]).unwrap();
    let computed = recounted(&j, 4);
    let mut answer = j.clone();
    answer.status = Some(computed.clone());
    let answer = serde_json::to_value(answer).unwrap();
    let scenario = |mut api: ApiServerVerifier| async move {
        let sent = api.expect_request("PATCH", STATUS, 200, answer).await;
        sent.assert_operator_apply();
        assert_eq!(sent.body["kind"], "Jurisdiction");
        assert_eq!(sent.body["status"]["agencyCount"], 4);
        // Ready did not move: its condition is sent as stored, transition time included.
        assert_eq!(sent.body["status"]["conditions"][0], stored_ready);
        api
    };
    verify(scenario, |client| async move {
        write(&client, &j, &computed).await
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn an_api_server_failure_is_the_kube_api_error() {
    let j = tieling(3);
    let computed = recounted(&j, 4);
    let scenario = |mut api: ApiServerVerifier| async move {
        api.expect("PATCH", STATUS, 503, status(503, "ServiceUnavailable"))
            .await;
        api
    };
    let error = verify(scenario, |client| async move {
        write(&client, &j, &computed).await
    })
    .await
    .expect_err("the API server failed");
    assert_eq!(error.reason(), "KubeApi");
}

fn rbac() -> (Role, RoleBinding) {
    let owner = OwnerReference {
        api_version: "sanxiang.io/v1alpha1".into(),
        kind: "Jurisdiction".into(),
        name: "j-211200".into(),
        uid: "j-uid".into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    build_rbac("sx-211200", Level::City, &["tieling-it".into()], owner)
}

#[tokio::test]
async fn a_namespace_the_server_already_has_is_not_applied_again() {
    let labels = namespace_labels(Level::City, "211200", Some("210000"));
    let desired = namespace_object("sx-211200", labels);
    // The server's copy carries fields of its own: they are no drift.
    let mut on_server = serde_json::to_value(&desired).unwrap();
    on_server["metadata"]["uid"] = json!("ns-uid");
    on_server["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!("sx-211200");
    on_server["status"] = json!({"phase": "Active"});
    let scenario = |mut api: ApiServerVerifier| async move {
        api.expect("GET", NAMESPACE, 200, on_server).await;
        api
    };
    verify(scenario, |client| async move {
        apply_if_changed(&Api::all(client), &desired).await
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn drifted_or_missing_rbac_is_applied_with_the_operators_field_manager() {
    let (role, binding) = rbac();
    // Someone narrowed the role's verbs by hand; the binding was deleted.
    let mut drifted: Value = serde_json::to_value(&role).unwrap();
    drifted["rules"][0]["verbs"] = json!(["get"]);
    let desired_role = serde_json::to_value(&role).unwrap();
    let desired_binding = serde_json::to_value(&binding).unwrap();
    let scenario = |mut api: ApiServerVerifier| async move {
        api.expect("GET", ROLE, 200, drifted).await;
        let sent = api
            .expect_request("PATCH", ROLE, 200, desired_role.clone())
            .await;
        sent.assert_operator_apply();
        assert_eq!(sent.body, desired_role);
        api.expect("GET", BINDING, 404, status(404, "NotFound"))
            .await;
        let sent = api
            .expect("PATCH", BINDING, 201, desired_binding.clone())
            .await;
        assert_eq!(sent, desired_binding);
        api
    };
    verify(scenario, |client| async move {
        let roles: Api<Role> = Api::namespaced(client.clone(), "sx-211200");
        let bindings: Api<RoleBinding> = Api::namespaced(client, "sx-211200");
        apply_if_changed(&roles, &role).await?;
        apply_if_changed(&bindings, &binding).await
    })
    .await
    .unwrap();
}
