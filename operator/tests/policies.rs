//! Policy inheritance on the real platform: province, city and county policies all apply,
//! each only tightening; the agency's status shows the policy in force with the level of
//! each value; a looser value is refused with the field named (by the schema for national
//! bounds, by the Jurisdiction's `PoliciesValid` condition for a province's or city's).

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use sanxiang_crds::agency::Agency;
use sanxiang_crds::conditions::{condition_type, find_condition, reason};
use sanxiang_crds::jurisdiction::Jurisdiction;
use support::*;

#[tokio::test]
async fn each_level_tightens_and_the_agency_shows_where_each_value_came_from() -> anyhow::Result<()>
{
    let (platform, _) = setup()?;
    let p = Province::random_own_province(1);
    let county = &p.counties[0];
    let with_policies = |yaml: String, code: &str, policies: &str| {
        yaml.split("---\n")
            .map(|doc| {
                if doc.contains(&format!("code: \"{code}\"")) {
                    format!("{doc}  policies: {policies}\n")
                } else {
                    doc.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("---\n")
    };
    let mut yaml = p.jurisdictions_yaml();
    yaml = with_policies(
        yaml,
        &p.province,
        "{legalReviewerRatioPermille: 60, withdrawalDeadlineDays: 2}",
    );
    // The city tightens the withdrawal limit but tries to lower the province's ratio.
    yaml = with_policies(
        yaml,
        &p.city,
        "{withdrawalDeadlineDays: 1, legalReviewerRatioPermille: 55}",
    );
    yaml = with_policies(
        yaml,
        county,
        "{annualStatisticsDue: {month: 1, day: 10}, publicationRetentionDays: 1825}",
    );
    platform.kubectl_apply(&yaml)?;
    let client = platform.kube_client().await?;
    wait_namespace(&client, &p.namespace()).await?;

    // A national bound is refused at once, naming the field (only the county is applied:
    // applying the others without their policies would remove them).
    let err = platform
        .kubectl_apply(&format!(
            "{}  policies: {{legalReviewerRatioPermille: 30}}\n",
            jurisdiction_yaml("County", county, Some(&p.city), &[])
        ))
        .expect_err("below the national floor");
    assert!(
        err.to_string()
            .contains("spec.policies.legalReviewerRatioPermille"),
        "{err}"
    );

    // The city's looser ratio is reported on the city, naming the field and the bound.
    let jurisdictions: Api<Jurisdiction> = Api::all(client.clone());
    let city_name = format!("j-{}", p.city);
    eventually("PoliciesValid=False", Duration::from_secs(30), || {
        let api = jurisdictions.clone();
        let name = city_name.clone();
        async move {
            let j = api.get(&name).await?;
            Ok(j.status.is_some_and(|s| {
                find_condition(&s.conditions, condition_type::POLICIES_VALID)
                    .is_some_and(|c| c.status == "False")
            }))
        }
    })
    .await?;
    let city = jurisdictions.get(&city_name).await?;
    let c = find_condition(
        &city.status.unwrap().conditions,
        condition_type::POLICIES_VALID,
    )
    .cloned()
    .unwrap();
    assert_eq!(c.reason, reason::POLICY_LOOSENED);
    assert!(
        c.message.starts_with(&format!(
            "spec.policies.legalReviewerRatioPermille: City {} sets 55 per mille",
            p.city
        )),
        "{}",
        c.message
    );
    assert!(
        c.message
            .contains(&format!("at least 60 (Province {})", p.province)),
        "{}",
        c.message
    );

    // The county agency gets every level's tightening, each with its source.
    let ns = p.namespace();
    // Agency names are province-unique: a random city makes a fresh one.
    let name = format!("inherits-{}", p.city);
    platform.kubectl_apply(&agency_yaml(&name, &ns, county, "Retain", 31))?;
    let api: Api<Agency> = Api::namespaced(client.clone(), &ns);
    let a = wait_ready(&api, &name).await?;
    let e = a
        .status
        .unwrap()
        .effective_policies
        .expect("effectivePolicies");
    assert_eq!(e.withdrawal_deadline_days.value, 1);
    assert_eq!(
        e.withdrawal_deadline_days.source,
        format!("City {}", p.city)
    );
    assert_eq!(e.legal_reviewer_ratio_permille.value, 60);
    assert_eq!(
        e.legal_reviewer_ratio_permille.source,
        format!("Province {}", p.province)
    );
    assert_eq!(
        (
            e.annual_statistics_due.value.month,
            e.annual_statistics_due.value.day
        ),
        (1, 10)
    );
    assert_eq!(e.annual_statistics_due.source, format!("County {county}"));
    let retention = e.publication_retention_days.expect("set by the county");
    assert_eq!(
        (retention.value, retention.source),
        (1825, format!("County {county}"))
    );
    assert!(e.natural_person_retention_days.is_none());

    // What the tenant service is told follows the policy in force.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let annotations = secrets
        .get(&format!("{name}-db"))
        .await?
        .metadata
        .annotations
        .unwrap();
    assert_eq!(annotations["sanxiang.io/withdrawal-deadline-days"], "1");
    assert_eq!(
        annotations["sanxiang.io/legal-reviewer-ratio-permille"],
        "60"
    );
    assert_eq!(
        annotations["sanxiang.io/publication-retention-days"],
        "1825"
    );

    delete_agencies(&api, &[&name]).await?;
    delete_jurisdictions(platform, &p);
    Ok(())
}

/// Self-service of the database placement: a city administrator may correct an unknown
/// server, but once the database exists its server is fixed (admission reads the status).
#[tokio::test]
async fn the_database_server_may_be_corrected_only_until_provisioned() -> anyhow::Result<()> {
    use kube::api::{Patch, PatchParams};
    let (platform, _) = setup()?;
    let p = Province::random(1);
    platform.kubectl_apply(&p.jurisdictions_yaml())?;
    let admin = platform.kube_client().await?;
    let ns = p.namespace();
    wait_namespace(&admin, &ns).await?;
    let alice = sanxiang_testkit::platform::client_from_kubeconfig(
        &platform.kubeconfig_for(&format!("alice-{}", p.city), Some(&p.admin_group))?,
    )
    .await?;
    let as_alice: Api<Agency> = Api::namespaced(alice, &ns);
    let name = format!("placed-{}", p.city);
    let mut agency: Agency =
        serde_yaml::from_str(&agency_yaml(&name, &ns, &p.counties[0], "Retain", 32))?;
    agency.spec.database.server = "shard-9".into();
    eventually("the city admin creates", Duration::from_secs(30), || {
        let (api, agency) = (as_alice.clone(), agency.clone());
        async move { Ok(api.create(&Default::default(), &agency).await.is_ok()) }
    })
    .await?;
    let api: Api<Agency> = Api::namespaced(admin.clone(), &ns);
    let c = wait_false(&api, &name, condition_type::DATABASE_READY).await?;
    assert_eq!(c.reason, reason::INVALID_SPEC);
    let server = |s: &str| serde_json::json!({"spec": {"database": {"server": s}}});
    as_alice
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(server("default")),
        )
        .await?;
    let ready = wait_ready(&api, &name).await?;
    let database = ready.status.unwrap().database.unwrap();
    let err = as_alice
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(server("shard-9")),
        )
        .await
        .expect_err("provisioned: the server is fixed");
    match err {
        kube::Error::Api(e) => {
            assert_eq!(e.code, 422, "{}", e.message);
            assert!(
                e.message.contains(&format!(
                    "spec.database.server: is immutable once the database is provisioned (database {database} on server default)"
                )),
                "{}",
                e.message
            );
        }
        other => panic!("{other}"),
    }
    delete_agencies(&api, &[&name]).await?;
    delete_jurisdictions(platform, &p);
    Ok(())
}

/// The admission matrix of SupervisionPlans: a city administrator issues their city's plans
/// in their namespace — never the province's, never another city's; provincial IT may issue
/// any, and only they may change a province plan that lives in a city namespace.
#[tokio::test]
async fn city_administrators_issue_only_their_citys_plans() -> anyhow::Result<()> {
    use kube::api::{DeleteParams, Patch, PatchParams};
    use sanxiang_crds::plan::SupervisionPlan;
    let (platform, _) = setup()?;
    let home = Province::random(1);
    let other = Province::random(1);
    platform.kubectl_apply(&home.jurisdictions_yaml())?;
    platform.kubectl_apply(&other.jurisdictions_yaml())?;
    let admin = platform.kube_client().await?;
    for p in [&home, &other] {
        wait_namespace(&admin, &p.namespace()).await?;
    }
    let client = |user: String, group: &str| {
        let path = platform.kubeconfig_for(&user, Some(group));
        async move { sanxiang_testkit::platform::client_from_kubeconfig(&path?).await }
    };
    let alice = client(format!("alice-{}", home.city), &home.admin_group).await?;
    let bob = client(format!("bob-{}", other.city), &other.admin_group).await?;
    let wang = client(format!("wang-{}", home.city), "sanxiang:province-it").await?;
    let ns = home.namespace();
    let plan = |name: &str, issued_by: &str, responsible: &str| -> SupervisionPlan {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sanxiang.io/v1alpha1", "kind": "SupervisionPlan",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"title": "行政执法三项制度工作任务", "issuedBy": issued_by,
                     "milestones": [{"id": "report", "task": "报送",
                                     "responsible": {"jurisdictions": [responsible]},
                                     "schedule": {"monthly": {"day": 20}}}]}
        }))
        .unwrap()
    };
    let refused = |r: kube::Result<SupervisionPlan>| match r {
        Err(kube::Error::Api(e)) => (e.code, e.message),
        other => panic!("expected a refusal, got {other:?}"),
    };
    let as_alice: Api<SupervisionPlan> = Api::namespaced(alice, &ns);
    let city_plan = plan("city-plan", &home.city, &home.counties[0]);
    eventually("the city admin issues", Duration::from_secs(30), || {
        let (api, p) = (as_alice.clone(), city_plan.clone());
        async move { Ok(api.create(&Default::default(), &p).await.is_ok()) }
    })
    .await?;
    // Not in the province's name…
    let (code, message) = refused(
        as_alice
            .create(
                &Default::default(),
                &plan("as-province", &home.province, &home.city),
            )
            .await,
    );
    assert_eq!(code, 403, "{message}");
    assert!(message.contains("spec.issuedBy: "), "{message}");
    // …nor making another city's county responsible…
    let (code, message) = refused(
        as_alice
            .create(
                &Default::default(),
                &plan("reaches-out", &home.city, &other.counties[0]),
            )
            .await,
    );
    assert_eq!(code, 403, "{message}");
    assert!(
        message.contains("spec.milestones[].responsible.jurisdictions"),
        "{message}"
    );
    // …nor in another city's namespace (RBAC).
    let as_bob: Api<SupervisionPlan> = Api::namespaced(bob, &ns);
    let (code, message) = refused(
        as_bob
            .create(&Default::default(), &plan("b", &other.city, &other.city))
            .await,
    );
    assert_eq!(code, 403, "{message}");
    // Provincial IT issues a province plan there; the city admin may not touch it.
    let as_wang: Api<SupervisionPlan> = Api::namespaced(wang, &ns);
    as_wang
        .create(
            &Default::default(),
            &plan("province-plan", &home.province, &home.city),
        )
        .await?;
    let (code, message) = refused(
        as_alice
            .patch(
                "province-plan",
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({"spec": {"title": "改"}})),
            )
            .await,
    );
    assert_eq!(code, 403, "{message}");
    assert!(
        message.contains(&format!(
            "spec.issuedBy: this plan was issued by {}",
            home.province
        )),
        "{message}"
    );
    let err = as_alice
        .delete("province-plan", &DeleteParams::default())
        .await
        .expect_err("not theirs to delete");
    assert!(
        matches!(&err, kube::Error::Api(e) if e.code == 403 && e.message.contains("spec.issuedBy")),
        "{err}"
    );
    // Their own plan they may change and withdraw.
    as_alice
        .patch(
            "city-plan",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"title": "修订"}})),
        )
        .await?;
    as_alice
        .delete("city-plan", &DeleteParams::default())
        .await?;
    as_wang
        .delete("province-plan", &DeleteParams::default())
        .await?;
    delete_jurisdictions(platform, &home);
    delete_jurisdictions(platform, &other);
    Ok(())
}
