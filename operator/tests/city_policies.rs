//! Delegated policies on the real platform: a city administrator sets their city's and
//! counties' rules (Dazhou's 1-day withdrawal and January 10 statistics) with
//! JurisdictionPolicy objects in the city namespace; the agencies' status names the object
//! as the source and the tenant service's contract follows. Admission refuses objects for
//! the province, another city or its county (naming `spec.jurisdiction`) and a second
//! object for a jurisdiction (naming `metadata.name`); RBAC keeps another city's
//! administrator out of the namespace; a value looser than provincial IT's is not obeyed
//! and the object says so.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client};
use sanxiang_crds::agency::{Agency, EffectivePolicies};
use sanxiang_crds::conditions::{condition_type, find_condition, reason};
use sanxiang_crds::jurisdiction_policy::JurisdictionPolicy;
use sanxiang_domain::TenantContract;
use support::*;

fn policy(ns: &str, name: &str, code: &str, policies: serde_json::Value) -> JurisdictionPolicy {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "sanxiang.io/v1alpha1", "kind": "JurisdictionPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"jurisdiction": code, "policies": policies}
    }))
    .expect("a JurisdictionPolicy")
}

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

#[tokio::test]
async fn city_administrators_tighten_their_own_policies_only() -> anyhow::Result<()> {
    let (platform, _) = setup()?;
    // A province no other test draws: this one sets province-level policies.
    let home = Province::random_own_province(1);
    let other = home.sibling_city(1);
    let yaml = home.jurisdictions_yaml().replacen(
        "  displayName:",
        "  policies: {legalReviewerRatioPermille: 60, withdrawalDeadlineDays: 2}\n  displayName:",
        1,
    );
    platform.kubectl_apply(&yaml)?;
    platform.kubectl_apply(&other.city_yaml())?;
    let admin = platform.kube_client().await?;
    for p in [&home, &other] {
        wait_namespace(&admin, &p.namespace()).await?;
    }
    let user = |name: String, group: &str| {
        let path = platform.kubeconfig_for(&name, Some(group));
        async move { sanxiang_testkit::platform::client_from_kubeconfig(&path?).await }
    };
    let alice = user(format!("alice-{}", home.city), &home.admin_group).await?;
    let bob = user(format!("bob-{}", other.city), &other.admin_group).await?;
    let ns = home.namespace();
    let county = &home.counties[0];
    let as_alice: Api<JurisdictionPolicy> = Api::namespaced(alice, &ns);

    // Dazhou's rules for the city, and a retention for one county.
    let city_name = format!("policy-{}", home.city);
    let city_policy = policy(
        &ns,
        &city_name,
        &home.city,
        serde_json::json!({"withdrawalDeadlineDays": 1,
                           "annualStatisticsDue": {"month": 1, "day": 10}}),
    );
    // The operator grants the Role a moment after the namespace appears.
    eventually("the city admin sets", Duration::from_secs(30), || {
        let (api, p) = (as_alice.clone(), city_policy.clone());
        async move { Ok(api.create(&Default::default(), &p).await.is_ok()) }
    })
    .await?;
    let county_name = format!("policy-{county}");
    as_alice
        .create(
            &Default::default(),
            &policy(
                &ns,
                &county_name,
                county,
                serde_json::json!({"publicationRetentionDays": 1825}),
            ),
        )
        .await?;

    // Not for the province (the schema), another city or another city's county (admission).
    let (code, message) = refusal(
        as_alice
            .create(
                &Default::default(),
                &policy(
                    &ns,
                    &format!("policy-{}", home.province),
                    &home.province,
                    serde_json::json!({"withdrawalDeadlineDays": 1}),
                ),
            )
            .await,
    );
    assert_eq!(code, 422, "{message}");
    assert!(
        message.contains("spec.jurisdiction") && message.contains("is a province"),
        "{message}"
    );
    for code_of_b in [&other.city, &other.counties[0]] {
        let (code, message) = refusal(
            as_alice
                .create(
                    &Default::default(),
                    &policy(
                        &ns,
                        &format!("policy-{code_of_b}"),
                        code_of_b,
                        serde_json::json!({"withdrawalDeadlineDays": 1}),
                    ),
                )
                .await,
        );
        assert_eq!(code, 403, "{message}");
        assert!(
            message.contains(&format!(
                "spec.jurisdiction: {code_of_b} is not city {} or one of its counties",
                home.city
            )),
            "{message}"
        );
    }
    // One object per jurisdiction: the name is fixed by the code.
    let (code, message) = refusal(
        as_alice
            .create(
                &Default::default(),
                &policy(&ns, "dazhou-rules", &home.city, serde_json::json!({})),
            )
            .await,
    );
    assert_eq!(code, 422, "{message}");
    assert!(
        message.contains("metadata.name: a JurisdictionPolicy is named after its jurisdiction"),
        "{message}"
    );
    // City B's administrator: not in A's namespace (RBAC), but in their own.
    let bobs = policy(
        &ns,
        &format!("policy-{}", other.city),
        &other.city,
        serde_json::json!({"withdrawalDeadlineDays": 1}),
    );
    let (code, message) = refusal(
        Api::<JurisdictionPolicy>::namespaced(bob.clone(), &ns)
            .create(&Default::default(), &bobs)
            .await,
    );
    assert_eq!(code, 403, "{message}");
    assert!(message.contains("jurisdictionpolicies"), "{message}");
    let bob_ns = other.namespace();
    let mut own = bobs.clone();
    own.metadata.namespace = Some(bob_ns.clone());
    let as_bob: Api<JurisdictionPolicy> = Api::namespaced(bob, &bob_ns);
    eventually("city B's admin sets B's", Duration::from_secs(30), || {
        let (api, p) = (as_bob.clone(), own.clone());
        async move { Ok(api.create(&Default::default(), &p).await.is_ok()) }
    })
    .await?;

    // The agencies of the city and of the county follow, naming the object.
    let agencies: Api<Agency> = Api::namespaced(admin.clone(), &ns);
    let city_agency = format!("cityrules-{}", home.city);
    let county_agency = format!("countyrules-{}", home.city);
    platform.kubectl_apply(&agency_yaml(&city_agency, &ns, &home.city, "Retain", 41))?;
    platform.kubectl_apply(&agency_yaml(&county_agency, &ns, county, "Retain", 42))?;
    wait_ready(&agencies, &city_agency).await?;
    wait_ready(&agencies, &county_agency).await?;
    let city_source = format!("CityPolicy {ns}/{city_name}");
    for name in [&city_agency, &county_agency] {
        let e = effective(&agencies, name).await?;
        assert_eq!(
            (
                e.withdrawal_deadline_days.value,
                &e.withdrawal_deadline_days.source
            ),
            (1, &city_source),
            "{name}"
        );
        let due = &e.annual_statistics_due;
        assert_eq!(
            (due.value.month, due.value.day, &due.source),
            (1, 10, &city_source),
            "{name}"
        );
        assert_eq!(
            (
                e.legal_reviewer_ratio_permille.value,
                e.legal_reviewer_ratio_permille.source.clone()
            ),
            (60, format!("Province {}", home.province)),
            "{name}"
        );
        // The tenant service's contract carries the city's withdrawal limit.
        let c = contract(&admin, &ns, name).await?;
        assert_eq!(c.withdrawal_deadline_days, 1, "{name}");
        assert_eq!(c.legal_reviewer_ratio_permille, 60, "{name}");
    }
    let retention = effective(&agencies, &county_agency)
        .await?
        .publication_retention_days
        .expect("the county's retention");
    assert_eq!(
        (retention.value, retention.source),
        (1825, format!("CountyPolicy {ns}/{county_name}"))
    );
    assert!(
        effective(&agencies, &city_agency)
            .await?
            .publication_retention_days
            .is_none(),
        "the county's object does not reach the city"
    );

    // A looser value than provincial IT's is not obeyed, and the object says which.
    let looser = serde_json::json!({"spec": {"policies": {"legalReviewerRatioPermille": 55}}});
    as_alice
        .patch(&city_name, &PatchParams::default(), &Patch::Merge(&looser))
        .await?;
    eventually(
        "PoliciesValid=False on the object",
        Duration::from_secs(30),
        || {
            let (api, name) = (as_alice.clone(), city_name.clone());
            async move {
                let p = api.get(&name).await?;
                let status = p.status.unwrap_or_default();
                Ok(status.observed_generation == p.metadata.generation
                    && find_condition(&status.conditions, condition_type::POLICIES_VALID)
                        .is_some_and(|c| c.status == "False"))
            }
        },
    )
    .await?;
    let conditions = as_alice
        .get(&city_name)
        .await?
        .status
        .unwrap_or_default()
        .conditions;
    let valid = find_condition(&conditions, condition_type::POLICIES_VALID)
        .cloned()
        .expect("PoliciesValid");
    assert_eq!(valid.reason, reason::POLICY_LOOSENED);
    assert!(
        valid.message.starts_with(&format!(
            "spec.policies.legalReviewerRatioPermille: {city_source} sets 55 per mille, looser than the bound at least 60 (Province {})",
            home.province
        )),
        "{}",
        valid.message
    );
    let ready = find_condition(&conditions, condition_type::READY).expect("Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", reason::IN_FORCE)
    );
    let e = effective(&agencies, &city_agency).await?;
    assert_eq!(
        (
            e.legal_reviewer_ratio_permille.value,
            e.legal_reviewer_ratio_permille.source
        ),
        (60, format!("Province {}", home.province)),
        "the bound stays"
    );
    assert_eq!(
        e.withdrawal_deadline_days.value, 1,
        "the rest still applies"
    );

    // Withdrawn, the province's limit applies again, down to the contract. The reconcile
    // writes the contract (Secret) before the status, so both are awaited.
    as_alice
        .delete(&city_name, &DeleteParams::default())
        .await?;
    eventually(
        "the province's limit back in the contract and the status",
        Duration::from_secs(30),
        || {
            let (admin, agencies) = (admin.clone(), agencies.clone());
            let (ns, name) = (ns.clone(), city_agency.clone());
            async move {
                Ok(
                    contract(&admin, &ns, &name).await?.withdrawal_deadline_days == 2
                        && effective(&agencies, &name)
                            .await?
                            .withdrawal_deadline_days
                            .value
                            == 2,
                )
            }
        },
    )
    .await?;
    let e = effective(&agencies, &city_agency).await?;
    assert_eq!(
        e.withdrawal_deadline_days.source,
        format!("Province {}", home.province)
    );

    delete_agencies(&agencies, &[&city_agency, &county_agency]).await?;
    as_alice
        .delete(&county_name, &DeleteParams::default())
        .await?;
    as_bob
        .delete(&format!("policy-{}", other.city), &DeleteParams::default())
        .await?;
    delete_jurisdictions(platform, &other);
    delete_jurisdictions(platform, &home);
    Ok(())
}
