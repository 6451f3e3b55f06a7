//! Policy inheritance: the national rules, then the province, the city and the county,
//! each level tightening within the bounds set above it.
//!
//! A level sets only what it wants to tighten (`None` inherits). "Tighter" means, per
//! policy:
//!
//! | policy | tighter | national bound |
//! |---|---|---|
//! | withdrawal deadline (working days) | fewer | 3 (行政处罚法 Art. 48) |
//! | legal reviewers per 1000 officers | more | at least 50 ("in principle 5%") |
//! | annual statistics due | earlier in the year | January 31 (国办发〔2018〕118号) |
//! | online retention of publications (days) | shorter | none (kept online) |
//! | online retention for natural persons (days) | shorter | the publication retention |
//!
//! A level that loosens is not obeyed: the bound above it stays in force and a
//! [`Loosening`] names the field, the layer that tried and the bound, so the operator can
//! report it. Pure, so the rules are unit-tested here; the operator feeds it the
//! Jurisdictions and the cities' policy objects.
//!
//! A level may have two layers: its Jurisdiction's `spec.policies` (provincial IT's) and,
//! for a city or county, the policy object its city's administrators keep in the city
//! namespace ([`PolicySource::object`]). The object comes right after its Jurisdiction, so
//! it too may only tighten: provincial IT's values stay its bound.
//!
//! Last comes the agency's own layer (`Agency.spec.policies`, [`PolicySource::agency`]),
//! which the city's administrators set for one agency: it too only tightens, so the
//! county's (or city's) values are its bound.

use std::fmt;

/// Where a policy value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PolicyLevel {
    National,
    Province,
    City,
    County,
    /// One agency's own `spec.policies`.
    Agency,
}

impl fmt::Display for PolicyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PolicyLevel::National => "National",
            PolicyLevel::Province => "Province",
            PolicyLevel::City => "City",
            PolicyLevel::County => "County",
            PolicyLevel::Agency => "Agency",
        })
    }
}

/// Who set a layer of policies: a Jurisdiction (`City 511700`), the policy object a
/// city's administrators keep for a city or county (`CityPolicy sx-511700/policy-511700`),
/// or an agency's own `spec.policies` (`Agency sx-511700/ag-market`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySource {
    pub level: PolicyLevel,
    /// GB/T 2260 code of the jurisdiction; empty for the national rules.
    pub code: String,
    /// `namespace/name` of the city's policy object; `None` for a Jurisdiction.
    pub object: Option<String>,
}

impl PolicySource {
    /// A Jurisdiction's own `spec.policies`.
    pub fn jurisdiction(level: PolicyLevel, code: impl Into<String>) -> Self {
        Self {
            level,
            code: code.into(),
            object: None,
        }
    }

    /// The city's policy object `namespace/name` for the jurisdiction `code`.
    pub fn object(level: PolicyLevel, code: impl Into<String>, object: impl Into<String>) -> Self {
        Self {
            level,
            code: code.into(),
            object: Some(object.into()),
        }
    }

    /// The Agency `namespace/name` of jurisdiction `code`: its own `spec.policies`.
    pub fn agency(code: impl Into<String>, agency: impl Into<String>) -> Self {
        Self::object(PolicyLevel::Agency, code, agency)
    }

    fn national() -> Self {
        Self::jurisdiction(PolicyLevel::National, "")
    }
}

/// `National`, `City 511700`, `CityPolicy sx-511700/policy-511700`, or
/// `Agency sx-511700/ag-market`.
impl fmt::Display for PolicySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.object, self.code.is_empty()) {
            (Some(object), _) if self.level == PolicyLevel::Agency => {
                write!(f, "Agency {object}")
            }
            (Some(object), _) => write!(f, "{}Policy {object}", self.level),
            (None, true) => write!(f, "{}", self.level),
            (None, false) => write!(f, "{} {}", self.level, self.code),
        }
    }
}

/// The values one level sets; `None` inherits from the level above.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyValues {
    pub withdrawal_deadline_days: Option<u32>,
    pub legal_reviewer_ratio_permille: Option<u32>,
    /// (month, day).
    pub annual_statistics_due: Option<(u32, u32)>,
    pub publication_retention_days: Option<u32>,
    pub natural_person_retention_days: Option<u32>,
}

/// One layer's values and who set them, e.g. `City 511700`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyLayer {
    pub source: PolicySource,
    pub values: PolicyValues,
}

/// A value in force and the layer it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub from: PolicySource,
}

impl<T> Sourced<T> {
    fn national(value: T) -> Self {
        Self {
            value,
            from: PolicySource::national(),
        }
    }

    /// `City 511700`, `CityPolicy sx-511700/policy-511700`, or `National`.
    pub fn source(&self) -> String {
        self.from.to_string()
    }
}

/// The policy in force for an agency, each value with its level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectivePolicy {
    pub withdrawal_deadline_days: Sourced<u32>,
    pub legal_reviewer_ratio_permille: Sourced<u32>,
    pub annual_statistics_due: Sourced<(u32, u32)>,
    pub publication_retention_days: Option<Sourced<u32>>,
    pub natural_person_retention_days: Option<Sourced<u32>>,
}

/// A layer that tried to loosen a bound set above it (its value is not obeyed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loosening {
    /// The field under `spec.policies`, e.g. `withdrawalDeadlineDays`.
    pub field: &'static str,
    pub by: PolicySource,
    pub value: String,
    /// The bound in force and where it comes from, e.g. `3 (National)`.
    pub bound: String,
}

impl fmt::Display for Loosening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "spec.policies.{}: {} sets {}, looser than the bound {} above it; the bound applies",
            self.field, self.by, self.value, self.bound
        )
    }
}

/// The national rules (the bounds of a province).
pub fn national() -> EffectivePolicy {
    EffectivePolicy {
        withdrawal_deadline_days: Sourced::national(crate::DEFAULT_WITHDRAWAL_DEADLINE_DAYS),
        legal_reviewer_ratio_permille: Sourced::national(
            crate::DEFAULT_LEGAL_REVIEWER_RATIO_PERMILLE,
        ),
        annual_statistics_due: Sourced::national((1, 31)),
        publication_retention_days: None,
        natural_person_retention_days: None,
    }
}

fn at<T>(layer: &PolicyLayer, value: T) -> Sourced<T> {
    Sourced {
        value,
        from: layer.source.clone(),
    }
}

/// The policy in force under `layers` (province first, county then agency last, each
/// level's Jurisdiction before its policy object), and the values
/// that were refused because they loosen a bound above them.
pub fn inherit(layers: &[PolicyLayer]) -> (EffectivePolicy, Vec<Loosening>) {
    let mut effective = national();
    let mut loosenings = Vec::new();
    for layer in layers {
        let v = &layer.values;
        let mut loosened = |field, value: String, bound: String| {
            loosenings.push(Loosening {
                field,
                by: layer.source.clone(),
                value,
                bound,
            })
        };
        let e = &mut effective;
        if let Some(days) = v.withdrawal_deadline_days {
            let bound = &e.withdrawal_deadline_days;
            if days <= bound.value {
                e.withdrawal_deadline_days = at(layer, days);
            } else {
                loosened(
                    "withdrawalDeadlineDays",
                    format!("{days} working days"),
                    format!("{} ({})", bound.value, bound.source()),
                );
            }
        }
        if let Some(ratio) = v.legal_reviewer_ratio_permille {
            let bound = &e.legal_reviewer_ratio_permille;
            if ratio >= bound.value {
                e.legal_reviewer_ratio_permille = at(layer, ratio);
            } else {
                loosened(
                    "legalReviewerRatioPermille",
                    format!("{ratio} per mille"),
                    format!("at least {} ({})", bound.value, bound.source()),
                );
            }
        }
        if let Some(due) = v.annual_statistics_due {
            let bound = &e.annual_statistics_due;
            if due <= bound.value {
                e.annual_statistics_due = at(layer, due);
            } else {
                loosened(
                    "annualStatisticsDue",
                    format!("month {} day {}", due.0, due.1),
                    format!(
                        "month {} day {} at the latest ({})",
                        bound.value.0,
                        bound.value.1,
                        bound.source()
                    ),
                );
            }
        }
        for (field, value, slot) in [
            (
                "publicationRetentionDays",
                v.publication_retention_days,
                &mut e.publication_retention_days,
            ),
            (
                "naturalPersonRetentionDays",
                v.natural_person_retention_days,
                &mut e.natural_person_retention_days,
            ),
        ] {
            let Some(days) = value else { continue };
            match slot {
                Some(bound) if days > bound.value => loosened(
                    field,
                    format!("{days} days"),
                    format!("at most {} days ({})", bound.value, bound.source()),
                ),
                _ => *slot = Some(at(layer, days)),
            }
        }
        // Natural persons are never kept online longer than publications in general.
        if let (Some(all), Some(persons)) = (
            &e.publication_retention_days,
            &e.natural_person_retention_days,
        ) && persons.value > all.value
        {
            e.natural_person_retention_days = Some(all.clone());
        }
    }
    (effective, loosenings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PolicyLevel::*;

    fn layer(level: PolicyLevel, code: &str, values: PolicyValues) -> PolicyLayer {
        PolicyLayer {
            source: PolicySource::jurisdiction(level, code),
            values,
        }
    }

    #[test]
    fn nothing_set_means_the_national_rules() {
        let (e, l) = inherit(&[layer(Province, "210000", PolicyValues::default())]);
        assert_eq!(e, national());
        assert!(l.is_empty());
        assert_eq!(e.withdrawal_deadline_days.source(), "National");
        assert_eq!(e.annual_statistics_due.value, (1, 31));
    }

    #[test]
    fn each_level_tightens_and_the_value_names_its_level() {
        let (e, l) = inherit(&[
            layer(
                Province,
                "510000",
                PolicyValues {
                    legal_reviewer_ratio_permille: Some(60),
                    publication_retention_days: Some(1825),
                    ..Default::default()
                },
            ),
            layer(
                City,
                "511700",
                PolicyValues {
                    withdrawal_deadline_days: Some(1),
                    annual_statistics_due: Some((1, 10)),
                    ..Default::default()
                },
            ),
            layer(
                County,
                "511722",
                PolicyValues {
                    natural_person_retention_days: Some(730),
                    ..Default::default()
                },
            ),
        ]);
        assert!(l.is_empty(), "{l:?}");
        assert_eq!(e.withdrawal_deadline_days.value, 1);
        assert_eq!(e.withdrawal_deadline_days.source(), "City 511700");
        assert_eq!(e.legal_reviewer_ratio_permille.source(), "Province 510000");
        assert_eq!(e.annual_statistics_due.value, (1, 10));
        assert_eq!(
            e.publication_retention_days.as_ref().unwrap().source(),
            "Province 510000"
        );
        assert_eq!(
            e.natural_person_retention_days.as_ref().unwrap().source(),
            "County 511722"
        );
    }

    #[test]
    fn loosening_is_refused_by_field_and_the_bound_stays() {
        let (e, l) = inherit(&[
            layer(
                Province,
                "510000",
                PolicyValues {
                    withdrawal_deadline_days: Some(2),
                    ..Default::default()
                },
            ),
            layer(
                City,
                "511700",
                PolicyValues {
                    withdrawal_deadline_days: Some(3),
                    legal_reviewer_ratio_permille: Some(30),
                    annual_statistics_due: Some((2, 1)),
                    ..Default::default()
                },
            ),
        ]);
        assert_eq!(e.withdrawal_deadline_days.value, 2);
        assert_eq!(e.withdrawal_deadline_days.source(), "Province 510000");
        assert_eq!(e.legal_reviewer_ratio_permille.value, 50);
        assert_eq!(e.annual_statistics_due.value, (1, 31));
        let fields: Vec<_> = l.iter().map(|l| l.field).collect();
        assert_eq!(
            fields,
            [
                "withdrawalDeadlineDays",
                "legalReviewerRatioPermille",
                "annualStatisticsDue"
            ]
        );
        assert_eq!(
            l[0].to_string(),
            "spec.policies.withdrawalDeadlineDays: City 511700 sets 3 working days, looser \
             than the bound 2 (Province 510000) above it; the bound applies"
        );
    }

    #[test]
    fn retention_only_shortens_and_natural_persons_never_stay_longer() {
        let (e, l) = inherit(&[
            layer(
                Province,
                "210000",
                PolicyValues {
                    publication_retention_days: Some(1000),
                    ..Default::default()
                },
            ),
            layer(
                City,
                "210100",
                PolicyValues {
                    publication_retention_days: Some(2000),
                    natural_person_retention_days: Some(1500),
                    ..Default::default()
                },
            ),
        ]);
        assert_eq!(e.publication_retention_days.as_ref().unwrap().value, 1000);
        assert_eq!(
            e.natural_person_retention_days.as_ref().unwrap().value,
            1000,
            "capped by the publication retention in force"
        );
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].field, "publicationRetentionDays");
    }

    #[test]
    fn a_citys_policy_object_tightens_under_its_jurisdiction_and_binds_the_county() {
        let object = |level, code: &str, values| PolicyLayer {
            source: PolicySource::object(level, code, format!("sx-511700/policy-{code}")),
            values,
        };
        let (e, l) = inherit(&[
            layer(
                Province,
                "510000",
                PolicyValues {
                    legal_reviewer_ratio_permille: Some(60),
                    ..Default::default()
                },
            ),
            layer(
                City,
                "511700",
                PolicyValues {
                    withdrawal_deadline_days: Some(2),
                    ..Default::default()
                },
            ),
            object(
                City,
                "511700",
                PolicyValues {
                    withdrawal_deadline_days: Some(3),
                    legal_reviewer_ratio_permille: Some(55),
                    annual_statistics_due: Some((1, 10)),
                    ..Default::default()
                },
            ),
            layer(County, "511722", PolicyValues::default()),
            object(
                County,
                "511722",
                PolicyValues {
                    withdrawal_deadline_days: Some(1),
                    annual_statistics_due: Some((1, 15)),
                    ..Default::default()
                },
            ),
        ]);
        assert_eq!(e.annual_statistics_due.value, (1, 10));
        assert_eq!(
            e.annual_statistics_due.source(),
            "CityPolicy sx-511700/policy-511700"
        );
        assert_eq!(e.withdrawal_deadline_days.value, 1);
        assert_eq!(
            e.withdrawal_deadline_days.source(),
            "CountyPolicy sx-511700/policy-511722"
        );
        assert_eq!(e.legal_reviewer_ratio_permille.source(), "Province 510000");
        let said: Vec<String> = l.iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "spec.policies.withdrawalDeadlineDays: CityPolicy sx-511700/policy-511700 sets \
                 3 working days, looser than the bound 2 (City 511700) above it; the bound applies",
                "spec.policies.legalReviewerRatioPermille: CityPolicy sx-511700/policy-511700 \
                 sets 55 per mille, looser than the bound at least 60 (Province 510000) above it; \
                 the bound applies",
                "spec.policies.annualStatisticsDue: CountyPolicy sx-511700/policy-511722 sets \
                 month 1 day 15, looser than the bound month 1 day 10 at the latest \
                 (CityPolicy sx-511700/policy-511700) above it; the bound applies",
            ]
        );
    }

    #[test]
    fn an_agency_only_shortens_its_countys_retention() {
        let agency = |values| PolicyLayer {
            source: PolicySource::agency("511722", "sx-511700/ag-market"),
            values,
        };
        let county = layer(
            County,
            "511722",
            PolicyValues {
                publication_retention_days: Some(1825),
                ..Default::default()
            },
        );
        let (e, l) = inherit(&[
            county.clone(),
            agency(PolicyValues {
                publication_retention_days: Some(365),
                withdrawal_deadline_days: Some(1),
                ..Default::default()
            }),
        ]);
        assert!(l.is_empty(), "{l:?}");
        let kept = e.publication_retention_days.unwrap();
        assert_eq!(
            (kept.value, kept.source()),
            (365, "Agency sx-511700/ag-market".to_string())
        );
        assert_eq!(
            e.withdrawal_deadline_days.source(),
            "Agency sx-511700/ag-market"
        );
        let (e, l) = inherit(&[
            county,
            agency(PolicyValues {
                publication_retention_days: Some(3650),
                ..Default::default()
            }),
        ]);
        assert_eq!(e.publication_retention_days.unwrap().value, 1825);
        assert_eq!(
            l.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "spec.policies.publicationRetentionDays: Agency sx-511700/ag-market sets 3650 \
              days, looser than the bound at most 1825 days (County 511722) above it; the bound \
              applies"
            ]
        );
    }
}
