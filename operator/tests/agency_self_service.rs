//! Per-agency settings a city administrator self-serves, on the real platform: the
//! city's administrator (not provincial IT) creates an agency with its own shorter
//! publication retention and fewer withdrawal days (`spec.policies`), and routes its
//! alerts with a label (`spec.alerting.labels`). The agency's status names the Agency as
//! the source, the tenant service's contract follows, and the PrometheusRule carries
//! the label. A retention looser than the county's is not obeyed and `PoliciesValid`
//! names the field and the bound; admission refuses a reserved alert label and an
//! agency-level statistics day, naming the field.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams};
use kube::{Api, Client};
use sanxiang_crds::agency::{Agency, EffectivePolicies};
use sanxiang_crds::conditions::{condition_type, find_condition, reason};
use sanxiang_crds::jurisdiction_policy::JurisdictionPolicy;
use sanxiang_domain::TenantContract;
use support::*;

/// The HTTP code and message of a refused request.
fn refusal<T: std::fmt::Debug>(r: kube::Result<T>) -> (u16, String) {
    match r {
        Err(kube::Error::Api(e)) => (e.code, e.message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn effective(api: &Api<Agency>, name: &str) -> anyhow::Result<EffectivePolicies> {
    api.get(name)
        .await?
        .status
        .and_then(|s| s.effective_policies)
        .ok_or_else(|| anyhow::anyhow!("{name} has no effectivePolicies yet"))
}

/// The contract the tenant service reads from the agency's database Secret.
async fn contract(client: &Client, ns: &str, agency: &str) -> anyhow::Result<TenantContract> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let annotations = secrets
        .get(&format!("{agency}-db"))
        .await?
        .metadata
        .annotations
        .unwrap_or_default();
    TenantContract::from_annotations(&annotations).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The `team` label of every alert in the agency's PrometheusRule (`None` where absent).
async fn team_labels(client: &Client, ns: &str, agency: &str) -> anyhow::Result<Vec<String>> {
    let rules: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        ns,
        &sanxiang_operator::agency::build::prometheus_rule_resource(),
    );
    let rule = rules.get(&format!("{agency}-alerts")).await?;
    let mut teams = Vec::new();
    for group in rule.data["spec"]["groups"].as_array().into_iter().flatten() {
        for r in group["rules"].as_array().into_iter().flatten() {
            if r.get("alert").is_some() {
                teams.push(r["labels"]["team"].as_str().unwrap_or("<none>").to_string());
            }
        }
    }
    Ok(teams)
}

#[tokio::test]
async fn a_city_administrator_sets_an_agencys_retention_and_alert_routing() -> anyhow::Result<()> {
    let (platform, _) = setup()?;
    let home = Province::random(1);
    platform.kubectl_apply(&home.jurisdictions_yaml())?;
    let admin = platform.kube_client().await?;
    let ns = home.namespace();
    wait_namespace(&admin, &ns).await?;
    let path = platform.kubeconfig_for(&format!("alice-{}", home.city), Some(&home.admin_group))?;
    let alice = sanxiang_testkit::platform::client_from_kubeconfig(&path).await?;
    let county = &home.counties[0];

    // The county keeps publications online for 5 years (the city's object for it).
    let county_name = format!("policy-{county}");
    let county_policy: JurisdictionPolicy = serde_json::from_value(serde_json::json!({
        "apiVersion": "sanxiang.io/v1alpha1", "kind": "JurisdictionPolicy",
        "metadata": {"name": county_name, "namespace": ns},
        "spec": {"jurisdiction": county, "policies": {"publicationRetentionDays": 1825}}
    }))?;
    let alices_policies: Api<JurisdictionPolicy> = Api::namespaced(alice.clone(), &ns);
    // The operator grants the Role a moment after the namespace appears.
    eventually("the city admin sets", Duration::from_secs(30), || {
        let (api, p) = (alices_policies.clone(), county_policy.clone());
        async move { Ok(api.create(&Default::default(), &p).await.is_ok()) }
    })
    .await?;

    // One agency keeps them online for a year and withdraws within 2 working days.
    let name = format!("selfserve-{}", home.city);
    let mut agency: Agency = serde_yaml::from_str(&agency_yaml(&name, &ns, county, "Retain", 43))?;
    agency.spec.policies.publication_retention_days = Some(365);
    agency.spec.policies.withdrawal_deadline_days = Some(2);
    let as_alice: Api<Agency> = Api::namespaced(alice.clone(), &ns);
    as_alice.create(&Default::default(), &agency).await?;
    let agencies: Api<Agency> = Api::namespaced(admin.clone(), &ns);
    wait_ready(&agencies, &name).await?;
    let source = format!("Agency {ns}/{name}");
    let e = effective(&agencies, &name).await?;
    let retention = e.publication_retention_days.expect("a retention");
    assert_eq!((retention.value, &retention.source), (365, &source));
    assert_eq!(
        (
            e.withdrawal_deadline_days.value,
            &e.withdrawal_deadline_days.source
        ),
        (2, &source)
    );
    let c = contract(&admin, &ns, &name).await?;
    assert_eq!(
        (c.publication_retention_days, c.withdrawal_deadline_days),
        (Some(365), 2)
    );
    let status = agencies.get(&name).await?.status.unwrap_or_default();
    let valid =
        find_condition(&status.conditions, condition_type::POLICIES_VALID).expect("PoliciesValid");
    assert_eq!(
        (valid.status.as_str(), valid.reason.as_str()),
        ("True", reason::WITHIN_BOUNDS)
    );

    // Alert routing: the city admin adds a label; every alert of the agency carries it.
    assert!(
        team_labels(&admin, &ns, &name)
            .await?
            .iter()
            .all(|t| t == "<none>")
    );
    let routed = serde_json::json!({"spec": {"alerting": {"labels": {"team": "market"}}}});
    as_alice
        .patch(&name, &PatchParams::default(), &Patch::Merge(&routed))
        .await?;
    eventually(
        "the routing label on every alert",
        Duration::from_secs(30),
        || {
            let (admin, ns, name) = (admin.clone(), ns.clone(), name.clone());
            async move {
                let teams = team_labels(&admin, &ns, &name).await?;
                Ok(!teams.is_empty() && teams.iter().all(|t| t == "market"))
            }
        },
    )
    .await?;

    // A label the operator sets is refused, naming the field and the label.
    for reserved in ["agency_name", "county", "namespace"] {
        let patch = serde_json::json!({"spec": {"alerting": {"labels": {reserved: "mine"}}}});
        let (code, message) = refusal(
            as_alice
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await,
        );
        assert_eq!(code, 422, "{message}");
        assert!(
            message.contains("spec.alerting.labels")
                && message.contains(&format!("label {reserved} is set by the operator")),
            "{message}"
        );
    }
    // The statistics day is a city's or county's, not one agency's.
    let patch =
        serde_json::json!({"spec": {"policies": {"annualStatisticsDue": {"month": 1, "day": 5}}}});
    let (code, message) = refusal(
        as_alice
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await,
    );
    assert_eq!(code, 422, "{message}");
    assert!(
        message.contains("spec.policies.annualStatisticsDue"),
        "{message}"
    );

    // Longer than the county's 5 years: not obeyed, and the agency says which field.
    let looser = serde_json::json!({"spec": {"policies": {"publicationRetentionDays": 3650}}});
    as_alice
        .patch(&name, &PatchParams::default(), &Patch::Merge(&looser))
        .await?;
    let valid = wait_false(&agencies, &name, condition_type::POLICIES_VALID).await?;
    assert_eq!(valid.reason, reason::POLICY_LOOSENED);
    assert_eq!(
        valid.message,
        format!(
            "spec.policies.publicationRetentionDays: {source} sets 3650 days, looser than the \
             bound at most 1825 days (CountyPolicy {ns}/{county_name}) above it; the bound applies"
        )
    );
    let e = effective(&agencies, &name).await?;
    let retention = e
        .publication_retention_days
        .expect("the county's retention");
    assert_eq!(
        (retention.value, retention.source),
        (1825, format!("CountyPolicy {ns}/{county_name}"))
    );
    assert_eq!(
        e.withdrawal_deadline_days.source, source,
        "the agency's other value still applies"
    );
    eventually(
        "the county's retention in the contract",
        Duration::from_secs(30),
        || {
            let (admin, ns, name) = (admin.clone(), ns.clone(), name.clone());
            async move {
                Ok(contract(&admin, &ns, &name)
                    .await?
                    .publication_retention_days
                    == Some(1825))
            }
        },
    )
    .await?;
    let ready = agencies.get(&name).await?.status.unwrap_or_default();
    assert!(
        find_condition(&ready.conditions, condition_type::READY)
            .is_some_and(|c| c.status == "True"),
        "a looser value does not stop the agency: {:?}",
        ready.conditions
    );

    delete_agencies(&agencies, &[&name]).await?;
    alices_policies
        .delete(&county_name, &DeleteParams::default())
        .await?;
    delete_jurisdictions(platform, &home);
    Ok(())
}
