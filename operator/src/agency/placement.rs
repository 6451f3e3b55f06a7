//! Where an Agency belongs, checked against the Jurisdiction objects: its jurisdiction
//! must be the city whose namespace it lives in, or one of that city's counties — or, for
//! a province-level agency (省级行政执法机关), the province whose namespace it lives in
//! (labelled with the province code and no city code); and the
//! policies in force there (the Jurisdictions' and the city's policy objects, see
//! [`crate::jurisdiction_policy::policy_layers`]), then the agency's own `spec.policies`
//! as the last layer. A pure function of the agency and a snapshot of jurisdictions and
//! policy objects, so it is unit-tested directly.

use sanxiang_crds::conditions::reason;
use sanxiang_crds::jurisdiction::{Jurisdiction, JurisdictionLevel};
use sanxiang_crds::jurisdiction_policy::JurisdictionPolicy;
use sanxiang_domain::policy::{EffectivePolicy, Loosening, PolicyLayer, inherit};

use crate::jurisdiction_policy::policy_layers;

use crate::naming::Placement;

/// The agency's place and the policies that apply to it: inherited from its province,
/// city and county and its own `spec.policies`, each only tightening.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub placement: Placement,
    pub policies: EffectivePolicy,
    /// Values on the way that loosen a bound above them (not obeyed).
    pub loosenings: Vec<Loosening>,
    /// The city's quota of agencies, if any.
    pub max_agencies: Option<u32>,
}

/// Why an agency cannot be placed: a condition reason and a message naming the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub reason: &'static str,
    pub message: String,
}

/// The place labels of an agency's namespace (`sanxiang.io/city-code`,
/// `sanxiang.io/province-code`): a city namespace has both, a province namespace only the
/// province's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamespacePlace {
    pub city: Option<String>,
    pub province: Option<String>,
}

/// Places the agency of `jurisdiction_code` in `namespace` and inherits its policies,
/// with `agency_layer` (its `spec.policies`, [`sanxiang_domain::policy::PolicySource::agency`]) as
/// the last layer.
pub fn resolve(
    jurisdiction_code: &str,
    namespace: &str,
    namespace_place: &NamespacePlace,
    jurisdictions: &[&Jurisdiction],
    policy_objects: &[&JurisdictionPolicy],
    agency_layer: Option<PolicyLayer>,
) -> Result<Resolved, Refusal> {
    let find = |code: &str| jurisdictions.iter().find(|j| j.spec.code == code).copied();
    let Some(own) = find(jurisdiction_code) else {
        return Err(Refusal {
            reason: reason::JURISDICTION_NOT_FOUND,
            message: format!(
                "spec.jurisdiction: no Jurisdiction with code {jurisdiction_code} exists; \
                 create it first (kubectl get jurisdictions)"
            ),
        });
    };
    let layers = || {
        let mut layers = policy_layers(jurisdiction_code, jurisdictions, policy_objects);
        layers.extend(agency_layer.clone());
        inherit(&layers)
    };
    if own.spec.level == JurisdictionLevel::Province {
        // A province-level agency: in the province's own namespace, nowhere else.
        if namespace_place.city.is_some()
            || namespace_place.province.as_deref() != Some(jurisdiction_code)
        {
            return Err(Refusal {
                reason: reason::JURISDICTION_MISMATCH,
                message: format!(
                    "spec.jurisdiction: {jurisdiction_code} is a province; a province-level \
                     agency lives in the province's namespace {}, not in {namespace}",
                    crate::naming::jurisdiction_namespace(jurisdiction_code)
                ),
            });
        }
        let (policies, loosenings) = layers();
        return Ok(Resolved {
            placement: Placement {
                province: own.spec.code.clone(),
                city: None,
                county: None,
            },
            policies,
            loosenings,
            max_agencies: own.spec.quota.max_agencies,
        });
    }
    let Some(city_code) = namespace_place.city.as_deref() else {
        return Err(Refusal {
            reason: reason::JURISDICTION_MISMATCH,
            message: format!(
                "spec.jurisdiction: namespace {namespace} belongs to no city (label \
                 sanxiang.io/city-code); agencies of a city or county live in their city's \
                 namespace (sx-<city code>)"
            ),
        });
    };
    // A City, or a County under a city (the province was placed above).
    let (city, county) = match own.spec.level {
        JurisdictionLevel::County => {
            let parent = own.spec.parent.as_deref().unwrap_or_default();
            match find(parent) {
                Some(city) if city.spec.level == JurisdictionLevel::City => {
                    (city, Some(own.spec.code.clone()))
                }
                _ => {
                    return Err(Refusal {
                        reason: reason::JURISDICTION_MISMATCH,
                        message: format!(
                            "spec.jurisdiction: county {jurisdiction_code} is not under a city \
                             (parent {parent:?}); agencies of province-administered counties \
                             are not supported yet"
                        ),
                    });
                }
            }
        }
        _ => (own, None),
    };
    if city.spec.code != city_code {
        return Err(Refusal {
            reason: reason::JURISDICTION_MISMATCH,
            message: format!(
                "spec.jurisdiction: {jurisdiction_code} is not city {city_code} (the city of \
                 namespace {namespace}) or one of its counties"
            ),
        });
    }
    let (policies, loosenings) = layers();
    Ok(Resolved {
        placement: Placement {
            province: city.spec.parent.clone().unwrap_or_default(),
            city: Some(city.spec.code.clone()),
            county,
        },
        policies,
        loosenings,
        max_agencies: city.spec.quota.max_agencies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jurisdiction(level: &str, code: &str, parent: Option<&str>) -> Jurisdiction {
        with_policies(level, code, parent, serde_json::json!({}))
    }

    fn with_policies(
        level: &str,
        code: &str,
        parent: Option<&str>,
        policies: serde_json::Value,
    ) -> Jurisdiction {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sanxiang.io/v1alpha1", "kind": "Jurisdiction",
            "metadata": {"name": format!("j-{code}")},
            "spec": {"level": level, "code": code, "parent": parent, "displayName": code,
                     "policies": policies}
        }))
        .unwrap()
    }

    fn world() -> Vec<Jurisdiction> {
        vec![
            with_policies(
                "Province",
                "210000",
                None,
                serde_json::json!({"legalReviewerRatioPermille": 60}),
            ),
            with_policies(
                "City",
                "211200",
                Some("210000"),
                serde_json::json!({"withdrawalDeadlineDays": 2}),
            ),
            with_policies(
                "County",
                "211221",
                Some("211200"),
                serde_json::json!({"withdrawalDeadlineDays": 1, "legalReviewerRatioPermille": 55}),
            ),
            jurisdiction("City", "210100", Some("210000")),
            jurisdiction("County", "210102", Some("210100")),
        ]
    }

    fn city_ns(city: Option<&str>) -> NamespacePlace {
        NamespacePlace {
            city: city.map(String::from),
            province: Some("210000".into()),
        }
    }

    fn run(code: &str, ns_city: Option<&str>) -> Result<Resolved, Refusal> {
        let w = world();
        let refs: Vec<&Jurisdiction> = w.iter().collect();
        resolve(code, "sx-211200", &city_ns(ns_city), &refs, &[], None)
    }

    #[test]
    fn a_province_agency_is_placed_in_its_provinces_namespace_only() {
        let w = world();
        let refs: Vec<&Jurisdiction> = w.iter().collect();
        let province_ns = NamespacePlace {
            city: None,
            province: Some("210000".into()),
        };
        let r = resolve("210000", "sx-210000", &province_ns, &refs, &[], None).unwrap();
        assert_eq!(
            r.placement,
            Placement {
                province: "210000".into(),
                city: None,
                county: None
            }
        );
        // national → province: the province's ratio, national withdrawal days.
        assert_eq!(r.policies.legal_reviewer_ratio_permille.value, 60);
        assert_eq!(
            r.policies.legal_reviewer_ratio_permille.source(),
            "Province 210000"
        );
        assert_eq!(r.policies.withdrawal_deadline_days.source(), "National");
        // Not in a city's namespace, nor another province's.
        let e = run("210000", Some("211200")).unwrap_err();
        assert_eq!(e.reason, reason::JURISDICTION_MISMATCH);
        assert!(
            e.message.starts_with(
                "spec.jurisdiction: 210000 is a province; a province-level agency lives in the \
                 province's namespace sx-210000, not in sx-211200"
            ),
            "{}",
            e.message
        );
        let elsewhere = NamespacePlace {
            city: None,
            province: Some("510000".into()),
        };
        assert!(resolve("210000", "sx-510000", &elsewhere, &refs, &[], None).is_err());
        // And a city's agency is not placed in the province's namespace.
        let e = resolve("211200", "sx-210000", &province_ns, &refs, &[], None).unwrap_err();
        assert!(e.message.contains("belongs to no city"), "{}", e.message);
    }

    #[test]
    fn the_agency_layer_comes_last_and_only_tightens() {
        use sanxiang_domain::policy::{PolicySource, PolicyValues};
        let w = world();
        let refs: Vec<&Jurisdiction> = w.iter().collect();
        let own = |values| {
            Some(PolicyLayer {
                source: PolicySource::agency("211221", "sx-211200/ag-market"),
                values,
            })
        };
        let r = resolve(
            "211221",
            "sx-211200",
            &city_ns(Some("211200")),
            &refs,
            &[],
            own(PolicyValues {
                publication_retention_days: Some(365),
                withdrawal_deadline_days: Some(2),
                legal_reviewer_ratio_permille: Some(80),
                ..Default::default()
            }),
        )
        .unwrap();
        let kept = r.policies.publication_retention_days.as_ref().unwrap();
        assert_eq!(
            (kept.value, kept.source()),
            (365, "Agency sx-211200/ag-market".to_string())
        );
        assert_eq!(r.policies.legal_reviewer_ratio_permille.value, 80);
        // The county's 1 day binds it: the agency's 2 is not obeyed, and says so.
        assert_eq!(
            r.policies.withdrawal_deadline_days.source(),
            "County 211221"
        );
        let by_agency: Vec<String> = r
            .loosenings
            .iter()
            .filter(|l| l.by.level == sanxiang_domain::policy::PolicyLevel::Agency)
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            by_agency,
            [
                "spec.policies.withdrawalDeadlineDays: Agency sx-211200/ag-market sets 2 working \
              days, looser than the bound 1 (County 211221) above it; the bound applies"
            ]
        );
    }

    #[test]
    fn a_county_agency_in_its_city_namespace_is_placed() {
        let r = run("211221", Some("211200")).unwrap();
        assert_eq!(r.placement.province, "210000");
        assert_eq!(r.placement.city.as_deref(), Some("211200"));
        assert_eq!(r.placement.county.as_deref(), Some("211221"));
    }

    #[test]
    fn county_and_province_policies_apply_with_their_level() {
        let r = run("211221", Some("211200")).unwrap();
        assert_eq!(r.policies.withdrawal_deadline_days.value, 1);
        assert_eq!(
            r.policies.withdrawal_deadline_days.source(),
            "County 211221"
        );
        // The county's 55 loosens the province's 60: refused, the province's stays.
        assert_eq!(r.policies.legal_reviewer_ratio_permille.value, 60);
        assert_eq!(
            r.policies.legal_reviewer_ratio_permille.source(),
            "Province 210000"
        );
        assert_eq!(r.loosenings.len(), 1);
        assert_eq!(r.loosenings[0].field, "legalReviewerRatioPermille");
        let city = run("211200", Some("211200")).unwrap();
        assert_eq!(
            city.policies.withdrawal_deadline_days.source(),
            "City 211200"
        );
        assert_eq!(city.policies.annual_statistics_due.source(), "National");
    }

    #[test]
    fn a_city_agency_has_no_county() {
        let r = run("211200", Some("211200")).unwrap();
        assert_eq!(r.placement.county, None);
    }

    #[test]
    fn another_citys_county_is_refused_naming_the_field() {
        let e = run("210102", Some("211200")).unwrap_err();
        assert_eq!(e.reason, reason::JURISDICTION_MISMATCH);
        assert!(
            e.message
                .starts_with("spec.jurisdiction: 210102 is not city 211200"),
            "{}",
            e.message
        );
    }

    #[test]
    fn unknown_codes_and_foreign_namespaces_are_refused() {
        assert_eq!(
            run("219999", Some("211200")).unwrap_err().reason,
            reason::JURISDICTION_NOT_FOUND
        );
        assert_eq!(
            run("211221", None).unwrap_err().reason,
            reason::JURISDICTION_MISMATCH
        );
    }
}
