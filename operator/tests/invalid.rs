//! Bad input gets a precise error naming the field and the rule: the CRD schema (CEL)
//! rejects what it can see on its own, the operator marks what needs other objects.

mod support;

use std::time::Duration;

use kube::Api;
use sanxiang_crds::agency::Agency;
use sanxiang_crds::conditions::{condition_type, find_condition, reason};
use support::*;

#[tokio::test]
async fn the_schema_rejects_malformed_objects_naming_the_field() -> anyhow::Result<()> {
    let (platform, _) = setup()?;
    let p = Province::random(1);
    let ns = p.namespace();

    // A county code whose parent is not its city.
    let bad = jurisdiction_yaml("County", &p.counties[0], Some("110100"), &[]);
    let err = platform
        .kubectl_apply(&bad)
        .expect_err("wrong parent accepted");
    assert!(err.to_string().contains("spec.parent"), "{err}");

    // A city code at province level.
    let bad = jurisdiction_yaml("Province", &p.city, None, &[]);
    let err = platform
        .kubectl_apply(&bad)
        .expect_err("level/code mismatch accepted");
    assert!(err.to_string().contains("spec.code"), "{err}");

    platform.kubectl_apply(&p.jurisdictions_yaml())?;
    let client = platform.kube_client().await?;
    wait_namespace(&client, &ns).await?;

    // A credit code with a forbidden letter (O) fails the pattern in the schema.
    let bad = agency_yaml("bad-pattern", &ns, &p.counties[0], "Delete", 1)
        .replace("creditCode: \"11", "creditCode: \"1O");
    let err = platform
        .kubectl_apply(&bad)
        .expect_err("bad credit code accepted");
    assert!(err.to_string().contains("spec.creditCode"), "{err}");

    // A disclosure override without its legal basis.
    let bad = agency_yaml("no-basis", &ns, &p.counties[0], "Delete", 2)
        + "  disclosure:\n    overrides:\n    - category: Penalty\n      workingDays: 5\n";
    let err = platform
        .kubectl_apply(&bad)
        .expect_err("override without legal basis accepted");
    assert!(err.to_string().contains("legalBasis"), "{err}");

    // No categories.
    let bad = agency_yaml("no-categories", &ns, &p.counties[0], "Delete", 3).replace(
        "categories: [Licensing, Penalty, Coercion]",
        "categories: []",
    );
    let err = platform
        .kubectl_apply(&bad)
        .expect_err("empty categories accepted");
    assert!(err.to_string().contains("spec.categories"), "{err}");
    delete_jurisdictions(platform, &p);
    Ok(())
}

#[tokio::test]
async fn the_operator_marks_what_the_schema_cannot_see() -> anyhow::Result<()> {
    let (platform, _) = setup()?;
    let p = Province::random(1);
    let other = Province::random(1);
    let ns = p.namespace();
    platform.kubectl_apply(&p.jurisdictions_yaml())?;
    platform.kubectl_apply(&other.jurisdictions_yaml())?;
    let client = platform.kube_client().await?;
    wait_namespace(&client, &ns).await?;
    let api: Api<Agency> = Api::namespaced(client.clone(), &ns);

    // The pattern holds but the check digit is wrong: the operator verifies GB 32100.
    let good = credit_code(&p.counties[0], 9);
    let last = good.chars().last().unwrap();
    let wrong = if last == '0' { '1' } else { '0' };
    let typo = format!("{}{wrong}", &good[..17]);
    let yaml = agency_yaml("typo", &ns, &p.counties[0], "Delete", 9).replace(&good, &typo);
    platform.kubectl_apply(&yaml)?;
    let ready = wait_false(&api, "typo", condition_type::READY).await?;
    assert_eq!(ready.reason, reason::INVALID_SPEC);
    assert!(
        ready.message.contains("spec.creditCode"),
        "{}",
        ready.message
    );

    // Another city's county in this city's namespace: refused at admission by the
    // chart's ValidatingAdmissionPolicy, which sees the namespace's city.
    let yaml = agency_yaml("elsewhere", &ns, &other.counties[0], "Delete", 10);
    let err = platform
        .kubectl_apply(&yaml)
        .expect_err("another city's county accepted");
    let expected = format!(
        "spec.jurisdiction: {} is not city {}",
        other.counties[0], p.city
    );
    assert!(err.to_string().contains(&expected), "{err}");

    // Outside any city namespace: refused too.
    let scope = sanxiang_testkit::TestScope::new(platform, "no-city").await?;
    scope.create_namespace().await?;
    let err = platform
        .kubectl_apply(&agency_yaml(
            "homeless",
            &scope.namespace,
            &p.counties[0],
            "Delete",
            11,
        ))
        .expect_err("an agency outside a city namespace accepted");
    assert!(
        err.to_string().contains("metadata.namespace: ")
            && err
                .to_string()
                .contains("is not a city or province namespace"),
        "{err}"
    );
    scope.cleanup().await?;

    // A county of this city that nobody declared: the operator marks it and waits.
    let undeclared = format!("{}99", &p.city[..4]);
    platform.kubectl_apply(&agency_yaml("undeclared", &ns, &undeclared, "Delete", 12))?;
    let ready = wait_false(&api, "undeclared", condition_type::READY).await?;
    assert_eq!(ready.reason, reason::JURISDICTION_NOT_FOUND);
    assert!(
        ready
            .message
            .starts_with("spec.jurisdiction: no Jurisdiction with code"),
        "{}",
        ready.message
    );

    // Fixing the spec makes it Ready: invalid specs wait for a change, then proceed.
    platform.kubectl_apply(&agency_yaml("typo", &ns, &p.counties[0], "Delete", 9))?;
    wait_ready(&api, "typo").await?;

    delete_agencies(&api, &["typo", "undeclared"]).await?;
    delete_jurisdictions(platform, &p);
    delete_jurisdictions(platform, &other);
    Ok(())
}

#[tokio::test]
async fn agencies_over_the_city_quota_are_refused() -> anyhow::Result<()> {
    let (platform, _) = setup()?;
    let p = Province::random(1);
    let ns = p.namespace();
    let with_quota = p.jurisdictions_yaml().replace(
        "  displayName: \"测试 ",
        "  quota: {maxAgencies: 1}\n  displayName: \"测试 ",
    );
    platform.kubectl_apply(&with_quota)?;
    let client = platform.kube_client().await?;
    wait_namespace(&client, &ns).await?;
    let api: Api<Agency> = Api::namespaced(client.clone(), &ns);
    platform.kubectl_apply(&agency_yaml("first", &ns, &p.counties[0], "Delete", 1))?;
    wait_ready(&api, "first").await?;
    platform.kubectl_apply(&agency_yaml("second", &ns, &p.counties[0], "Delete", 2))?;
    let ready = wait_false(&api, "second", condition_type::READY).await?;
    assert_eq!(ready.reason, reason::QUOTA_EXCEEDED);
    assert!(
        ready.message.contains("maxAgencies is 1"),
        "{}",
        ready.message
    );
    // When the first goes, the refused one takes its place without being touched.
    delete_agencies(&api, &["first"]).await?;
    wait_ready(&api, "second").await?;
    delete_agencies(&api, &["second"]).await?;
    delete_jurisdictions(platform, &p);
    Ok(())
}

#[tokio::test]
async fn an_agency_name_is_unique_across_cities() -> anyhow::Result<()> {
    let (platform, _) = setup()?;
    let (a, b) = (Province::random(1), Province::random(1));
    platform.kubectl_apply(&a.jurisdictions_yaml())?;
    platform.kubectl_apply(&b.jurisdictions_yaml())?;
    let client = platform.kube_client().await?;
    for ns in [a.namespace(), b.namespace()] {
        wait_namespace(&client, &ns).await?;
    }
    let first: Api<Agency> = Api::namespaced(client.clone(), &a.namespace());
    let second: Api<Agency> = Api::namespaced(client.clone(), &b.namespace());
    platform.kubectl_apply(&agency_yaml(
        "twin-bureau",
        &a.namespace(),
        &a.counties[0],
        "Delete",
        1,
    ))?;
    wait_ready(&first, "twin-bureau").await?;
    platform.kubectl_apply(&agency_yaml(
        "twin-bureau",
        &b.namespace(),
        &b.counties[0],
        "Delete",
        2,
    ))?;
    let ready = wait_false(&second, "twin-bureau", condition_type::READY).await?;
    assert_eq!(ready.reason, reason::NAME_TAKEN);
    assert!(
        ready.message.starts_with("metadata.name:"),
        "{}",
        ready.message
    );
    assert!(ready.message.contains(&a.namespace()), "{}", ready.message);
    // When the holder goes, the other city's agency gets the name.
    delete_agencies(&first, &["twin-bureau"]).await?;
    wait_ready(&second, "twin-bureau").await?;
    delete_agencies(&second, &["twin-bureau"]).await?;
    delete_jurisdictions(platform, &a);
    delete_jurisdictions(platform, &b);
    Ok(())
}

#[tokio::test]
async fn an_unknown_database_server_is_named_in_the_condition() -> anyhow::Result<()> {
    let (platform, _) = setup()?;
    let p = Province::random(1);
    let ns = p.namespace();
    platform.kubectl_apply(&p.jurisdictions_yaml())?;
    let client = platform.kube_client().await?;
    wait_namespace(&client, &ns).await?;
    let api: Api<Agency> = Api::namespaced(client.clone(), &ns);
    let yaml = agency_yaml("far-away", &ns, &p.counties[0], "Delete", 4).replace(
        "    deletionPolicy: Delete\n",
        "    deletionPolicy: Delete\n    server: shard-9\n",
    );
    platform.kubectl_apply(&yaml)?;
    let db = wait_false(&api, "far-away", condition_type::DATABASE_READY).await?;
    assert_eq!(db.reason, reason::INVALID_SPEC);
    assert!(
        db.message
            .contains("spec.database.server: no PostgreSQL server named \"shard-9\""),
        "{}",
        db.message
    );
    // The other parts still proceed.
    wait_condition(
        &api,
        "far-away",
        condition_type::MESSAGING_READY,
        "True",
        Duration::from_secs(30),
    )
    .await?;
    delete_agencies(&api, &["far-away"]).await?;
    delete_jurisdictions(platform, &p);
    Ok(())
}

#[tokio::test]
async fn a_jurisdiction_waits_for_its_parent() -> anyhow::Result<()> {
    use sanxiang_crds::jurisdiction::Jurisdiction;
    let (platform, _) = setup()?;
    let p = Province::random(1);
    let county = &p.counties[0];
    // The county first: its city does not exist yet.
    platform.kubectl_apply(&jurisdiction_yaml("County", county, Some(&p.city), &[]))?;
    let client = platform.kube_client().await?;
    let api: Api<Jurisdiction> = Api::all(client.clone());
    let ready_reason = |j: &Jurisdiction| {
        j.status
            .as_ref()
            .and_then(|s| find_condition(&s.conditions, condition_type::READY).cloned())
    };
    let name = format!("j-{county}");
    eventually("county ParentNotFound", Duration::from_secs(30), || {
        let (api, name) = (api.clone(), name.clone());
        async move {
            let j = api.get(&name).await?;
            Ok(ready_reason(&j).is_some_and(|c| {
                c.reason == reason::PARENT_NOT_FOUND && c.message.starts_with("spec.parent:")
            }))
        }
    })
    .await?;
    // Declaring the rest of the hierarchy makes it Ready.
    platform.kubectl_apply(&p.jurisdictions_yaml())?;
    eventually("county Ready", Duration::from_secs(40), || {
        let (api, name) = (api.clone(), name.clone());
        async move {
            let j = api.get(&name).await?;
            Ok(ready_reason(&j).is_some_and(|c| c.status == "True"))
        }
    })
    .await?;
    delete_jurisdictions(platform, &p);
    Ok(())
}
