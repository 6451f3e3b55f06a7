//! Stage 2, validate (pure): the spec's own rules, its placement among the Jurisdictions,
//! and the city's quota. A refusal is not an error of the operator: it becomes the
//! agency's `Ready=False` condition, whose reason is [`Refusal::reason`], and an event.

use kube::ResourceExt;
use sanxiang_crds::agency::{Agency, validate_agency};
use sanxiang_crds::conditions::reason;
use sanxiang_crds::field_error::join_field_errors;
use sanxiang_domain::policy::{PolicyLayer, PolicySource};

use super::dereference::Inputs;
use super::placement::{self, Resolved};

/// Why an agency is not provisioned; the variant gives the condition reason, the text
/// names the field to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The spec breaks its own rules (the CRD's CEL, plus the credit-code check digit).
    #[error("{0}")]
    InvalidSpec(String),
    /// The jurisdiction is unknown, or not the namespace's city or one of its counties.
    #[error("{}", .0.message)]
    Placement(placement::Refusal),
    /// The city's `quota.maxAgencies` is used up by older agencies.
    #[error("{0}")]
    QuotaExceeded(String),
    /// Another agency holds the name (see [`super::claim`]).
    #[error("{0}")]
    NameTaken(String),
}

impl Refusal {
    /// The condition reason and event reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::InvalidSpec(_) => reason::INVALID_SPEC,
            Refusal::Placement(p) => p.reason,
            Refusal::QuotaExceeded(_) => reason::QUOTA_EXCEEDED,
            Refusal::NameTaken(_) => reason::NAME_TAKEN,
        }
    }

    /// Whether it clears only when another object goes away (the name's holder, an agency
    /// over the quota), which triggers no reconcile of this one: then look again later.
    pub fn waits_for_others(&self) -> bool {
        matches!(self, Refusal::QuotaExceeded(_) | Refusal::NameTaken(_))
    }
}

/// Spec rules, then placement against the Jurisdictions and the namespace's city, then the
/// quota (the oldest agencies keep their places).
pub fn validate(agency: &Agency, inputs: &Inputs) -> Result<Resolved, Refusal> {
    // The name becomes a NATS subject token: one NATS could split would break isolation.
    if let Some(message) =
        crate::nats::credentials::subject_token_error("metadata.name", &agency.name_any())
    {
        return Err(Refusal::InvalidSpec(message));
    }
    let errors = validate_agency(&agency.spec);
    if !errors.is_empty() {
        return Err(Refusal::InvalidSpec(join_field_errors(&errors)));
    }
    let jurisdictions: Vec<_> = inputs.jurisdictions.iter().map(|j| j.as_ref()).collect();
    let resolved = placement::resolve(
        &agency.spec.jurisdiction,
        &inputs.namespace,
        &inputs.namespace_place,
        &jurisdictions,
        &inputs
            .jurisdiction_policies
            .iter()
            .map(|p| p.as_ref())
            .collect::<Vec<_>>(),
        Some(PolicyLayer {
            source: PolicySource::agency(
                &agency.spec.jurisdiction,
                format!("{}/{}", inputs.namespace, inputs.name),
            ),
            values: agency.spec.policies.values(),
        }),
    )
    .map_err(Refusal::Placement)?;
    if let Some(max) = resolved.max_agencies {
        // Agencies being deleted give their place up already.
        let mut peers: Vec<&Agency> = inputs
            .namespace_peers
            .iter()
            .map(|a| a.as_ref())
            .filter(|a| a.metadata.deletion_timestamp.is_none())
            .collect();
        peers.sort_by_key(|a| {
            (
                a.metadata.creation_timestamp.clone().map(|t| t.0),
                a.name_any(),
            )
        });
        let position = peers.iter().position(|a| a.uid() == agency.uid());
        if position.is_some_and(|p| p >= max as usize) {
            return Err(Refusal::QuotaExceeded(format!(
                "the {} quota.maxAgencies is {max} and {} agencies exist in {}",
                if resolved.placement.city.is_some() {
                    "city's"
                } else {
                    "province's"
                },
                peers.len(),
                inputs.namespace
            )));
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sanxiang_crds::jurisdiction::Jurisdiction;
    use std::sync::Arc;

    fn jurisdiction(
        level: &str,
        code: &str,
        parent: Option<&str>,
        max: Option<u32>,
    ) -> Arc<Jurisdiction> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "apiVersion": "sanxiang.io/v1alpha1", "kind": "Jurisdiction",
                "metadata": {"name": format!("j-{code}")},
                "spec": {"level": level, "code": code, "parent": parent, "displayName": code,
                         "quota": {"maxAgencies": max}}
            }))
            .unwrap(),
        )
    }

    fn agency(name: &str, uid: &str, created: &str, credit_code: &str) -> Arc<Agency> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "apiVersion": "sanxiang.io/v1alpha1", "kind": "Agency",
                "metadata": {"name": name, "namespace": "sx-211200", "uid": uid,
                             "creationTimestamp": created},
                "spec": {"jurisdiction": "211221", "displayName": "铁岭县市场监督管理局",
                         "creditCode": credit_code, "categories": ["Penalty"]}
            }))
            .unwrap(),
        )
    }

    fn inputs(max: Option<u32>, peers: Vec<Arc<Agency>>) -> Inputs {
        Inputs {
            namespace: "sx-211200".into(),
            name: "a".into(),
            namespace_place: super::placement::NamespacePlace {
                city: Some("211200".into()),
                province: Some("210000".into()),
            },
            jurisdictions: vec![
                jurisdiction("Province", "210000", None, None),
                jurisdiction("City", "211200", Some("210000"), max),
                jurisdiction("County", "211221", Some("211200"), None),
            ],
            jurisdiction_policies: vec![],
            namespace_peers: peers,
            calendar: Ok(Default::default()),
            plans: vec![],
            today: "2026-09-21".parse().unwrap(),
        }
    }

    const GOOD: &str = "91350100M000100Y43";

    #[test]
    fn a_valid_agency_is_placed_under_its_county() {
        let a = agency("market", "u1", "2026-01-01T00:00:00Z", GOOD);
        let r = validate(&a, &inputs(None, vec![a.clone()])).unwrap();
        assert_eq!(r.placement.county.as_deref(), Some("211221"));
    }

    #[test]
    fn refusals_carry_their_reason_and_name_the_field() {
        let bad = agency("market", "u1", "2026-01-01T00:00:00Z", "91350100M000100Y42");
        let e = validate(&bad, &inputs(None, vec![])).unwrap_err();
        assert_eq!(e.reason(), reason::INVALID_SPEC);
        assert!(
            e.to_string().starts_with("spec.creditCode: check digit"),
            "{e}"
        );
        let a = agency("market", "u1", "2026-01-01T00:00:00Z", GOOD);
        let mut i = inputs(None, vec![]);
        i.namespace_place.city = None;
        let e = validate(&a, &i).unwrap_err();
        assert_eq!(e.reason(), reason::JURISDICTION_MISMATCH);
        assert!(!e.waits_for_others());
    }

    #[test]
    fn the_oldest_agencies_keep_the_quota() {
        let old = agency("old", "u1", "2026-01-01T00:00:00Z", GOOD);
        let new = agency("new", "u2", "2026-01-02T00:00:00Z", GOOD);
        let peers = vec![new.clone(), old.clone()];
        assert!(validate(&old, &inputs(Some(1), peers.clone())).is_ok());
        let e = validate(&new, &inputs(Some(1), peers)).unwrap_err();
        assert_eq!(e.reason(), reason::QUOTA_EXCEEDED);
        assert!(e.waits_for_others());
        assert_eq!(
            e.to_string(),
            "the city's quota.maxAgencies is 1 and 2 agencies exist in sx-211200"
        );
    }
}
