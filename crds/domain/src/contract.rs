//! The contract between the operator and the tenant service: what the operator writes
//! onto an agency's database Secret and the tenant service reads from it.
//!
//! The operator provisions a database per agency and writes a Secret with the
//! credentials ([`DatabaseCredentials`] keys) and, as annotations, the agency's place and
//! the rules the tenant service enforces for it ([`TenantContract`]). The tenant
//! service needs nothing but that Secret. Both sides use this module, so no key is
//! spelled anywhere else; a field added here is written by one and read by the other.
//!
//! Every field comes from the Agency and its Jurisdictions: place and subject prefix
//! from the placement, disclosure overrides from the Agency spec,
//! withdrawal limit, reviewer ratio and retention from the city's policies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::category::EnforcementCategory;
use crate::disclosure::DisclosureOverride;

/// Prefix of every annotation of the contract.
pub const ANNOTATION_PREFIX: &str = "sanxiang.io/";
/// Label on Secrets that carry credentials; its value says what for.
pub const CREDENTIALS_LABEL: &str = "sanxiang.io/credentials";
/// [`CREDENTIALS_LABEL`] value of an agency's database Secret.
pub const DATABASE_CREDENTIALS: &str = "database";
/// Label selector of agency database Secrets.
pub const DATABASE_SECRET_SELECTOR: &str = "sanxiang.io/credentials=database";
/// Label (value `"true"`) on the operator's copy of an agency's database Secret in the
/// tenant service's namespace; a watch of every namespace leaves the copies out, a watch
/// of that namespace reads them.
pub const CREDENTIALS_COPY_LABEL: &str = "sanxiang.io/credentials-copy";
/// Label selector of agency database Secrets, without the copies.
pub const DATABASE_SOURCE_SELECTOR: &str =
    "sanxiang.io/credentials=database,!sanxiang.io/credentials-copy";
/// Label naming the agency on everything provisioned for it.
pub const AGENCY_LABEL: &str = "sanxiang.io/agency";

/// Default withdrawal limit in days (行政处罚法 Art. 48: 3).
pub const DEFAULT_WITHDRAWAL_DEADLINE_DAYS: u32 = 3;
/// Default minimum of legal reviewers per 1000 officers (5%).
pub const DEFAULT_LEGAL_REVIEWER_RATIO_PERMILLE: u32 = 50;

/// The county token of a city- or province-level agency (no county).
pub const NO_COUNTY: &str = "-";
/// The city token of a province-level agency (省级行政执法机关: no city, no county), so its
/// subjects are `sx.<province>.-.-.<agency>` and its metrics and alerts carry `city="-"`.
pub const NO_CITY: &str = "-";

/// Keys of the database credentials in the Secret's data.
pub struct DatabaseCredentials;

impl DatabaseCredentials {
    /// Server host name.
    pub const HOST: &'static str = "host";
    /// Server port.
    pub const PORT: &'static str = "port";
    /// Database name.
    pub const DBNAME: &'static str = "dbname";
    /// Login role.
    pub const USERNAME: &'static str = "username";
    /// Password of the login role.
    pub const PASSWORD: &'static str = "password";
    /// `postgres://` URL with all of the above.
    pub const URL: &'static str = "url";
}

/// What the tenant service knows about one agency, besides its database credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantContract {
    /// Agency name (the Agency object's name, unique in the province).
    pub agency: String,
    /// GB/T 2260 code of the province.
    pub province: String,
    /// GB/T 2260 code of the city, or `-` ([`NO_CITY`]) for a province-level agency.
    pub city: String,
    /// GB/T 2260 code of the county, or `-` for a city- or province-level agency.
    #[serde(default = "no_county")]
    pub county: String,
    /// `sx.<province>.<city>.<county|->.<agency>`; empty means derive it.
    #[serde(default)]
    pub subject_prefix: String,
    /// Per-category disclosure deadlines a law sets differently.
    #[serde(default)]
    pub disclosure_overrides: Vec<DisclosureOverride>,
    /// Withdrawal limit for revoked decisions, in days (national ceiling 3, Dazhou 1).
    #[serde(default = "default_withdrawal_days")]
    pub withdrawal_deadline_days: u32,
    /// Minimum legal reviewers per 1000 officers (50 = 5%).
    #[serde(default = "default_ratio")]
    pub legal_reviewer_ratio_permille: u32,
    /// The agency's full official name (Agency `spec.displayName`), for its subject list.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    /// The agency's unified social credit code (Agency `spec.creditCode`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credit_code: String,
    /// The categories the agency holds (Agency `spec.categories`); a matter outside them
    /// is refused. Empty: not told (a contract written before this field), no restriction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<EnforcementCategory>,
    /// Keep publications online this many days (default: keep).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication_retention_days: Option<u32>,
    /// Shorter retention for decisions whose party is a natural person (default: keep).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub natural_person_retention_days: Option<u32>,
}

fn no_county() -> String {
    NO_COUNTY.into()
}
fn default_withdrawal_days() -> u32 {
    DEFAULT_WITHDRAWAL_DEADLINE_DAYS
}
fn default_ratio() -> u32 {
    DEFAULT_LEGAL_REVIEWER_RATIO_PERMILLE
}

/// Annotation keys (after [`ANNOTATION_PREFIX`]).
mod key {
    pub const AGENCY: &str = "agency";
    pub const PROVINCE: &str = "province";
    pub const CITY: &str = "city";
    pub const COUNTY: &str = "county";
    pub const SUBJECT_PREFIX: &str = "subject-prefix";
    pub const DISCLOSURE_OVERRIDES: &str = "disclosure-overrides";
    pub const WITHDRAWAL_DEADLINE_DAYS: &str = "withdrawal-deadline-days";
    pub const LEGAL_REVIEWER_RATIO_PERMILLE: &str = "legal-reviewer-ratio-permille";
    pub const DISPLAY_NAME: &str = "display-name";
    pub const CREDIT_CODE: &str = "credit-code";
    pub const CATEGORIES: &str = "categories";
    pub const PUBLICATION_RETENTION_DAYS: &str = "publication-retention-days";
    pub const NATURAL_PERSON_RETENTION_DAYS: &str = "natural-person-retention-days";
}

/// Why annotations do not make a contract; names the annotation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// A required annotation is absent.
    #[error("annotation {ANNOTATION_PREFIX}{0} missing")]
    Missing(&'static str),
    /// An annotation's value does not parse.
    #[error("annotation {ANNOTATION_PREFIX}{key}: {reason}")]
    Invalid {
        /// The annotation (after the prefix).
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl TenantContract {
    /// A contract with the defaults: no overrides, withdrawal within 3 days, 5%
    /// reviewers, publications kept.
    pub fn new(
        agency: impl Into<String>,
        province: impl Into<String>,
        city: impl Into<String>,
        county: impl Into<String>,
    ) -> Self {
        Self {
            agency: agency.into(),
            province: province.into(),
            city: city.into(),
            county: county.into(),
            subject_prefix: String::new(),
            disclosure_overrides: Vec::new(),
            withdrawal_deadline_days: DEFAULT_WITHDRAWAL_DEADLINE_DAYS,
            legal_reviewer_ratio_permille: DEFAULT_LEGAL_REVIEWER_RATIO_PERMILLE,
            display_name: String::new(),
            credit_code: String::new(),
            categories: Vec::new(),
            publication_retention_days: None,
            natural_person_retention_days: None,
        }
    }

    /// The annotations the operator writes (full keys, e.g. `sanxiang.io/agency`).
    /// Every field is written, so that an apply removes nothing the reader expects;
    /// retention is left out when it is "keep".
    pub fn to_annotations(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            m.insert(format!("{ANNOTATION_PREFIX}{k}"), v);
        };
        put(key::AGENCY, self.agency.clone());
        put(key::PROVINCE, self.province.clone());
        put(key::CITY, self.city.clone());
        put(key::COUNTY, self.county.clone());
        put(key::SUBJECT_PREFIX, self.subject_prefix.clone());
        put(
            key::DISCLOSURE_OVERRIDES,
            serde_json::to_string(&self.disclosure_overrides).expect("overrides serialize"),
        );
        put(
            key::WITHDRAWAL_DEADLINE_DAYS,
            self.withdrawal_deadline_days.to_string(),
        );
        put(
            key::LEGAL_REVIEWER_RATIO_PERMILLE,
            self.legal_reviewer_ratio_permille.to_string(),
        );
        if !self.display_name.is_empty() {
            put(key::DISPLAY_NAME, self.display_name.clone());
        }
        if !self.credit_code.is_empty() {
            put(key::CREDIT_CODE, self.credit_code.clone());
        }
        if !self.categories.is_empty() {
            put(
                key::CATEGORIES,
                self.categories
                    .iter()
                    .map(|c| c.code())
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        if let Some(d) = self.publication_retention_days {
            put(key::PUBLICATION_RETENTION_DAYS, d.to_string());
        }
        if let Some(d) = self.natural_person_retention_days {
            put(key::NATURAL_PERSON_RETENTION_DAYS, d.to_string());
        }
        m
    }

    /// Reads the annotations the operator wrote. Agency, province and city are
    /// required; everything else has the defaults of [`TenantContract::new`].
    pub fn from_annotations(ann: &BTreeMap<String, String>) -> Result<Self, ContractError> {
        let get = |k: &'static str| ann.get(&format!("{ANNOTATION_PREFIX}{k}"));
        let required = |k: &'static str| get(k).cloned().ok_or(ContractError::Missing(k));
        let invalid = |key: &'static str, reason: String| ContractError::Invalid { key, reason };
        let number = |k: &'static str| -> Result<Option<u32>, ContractError> {
            get(k)
                .map(|v| {
                    v.trim()
                        .parse()
                        .map_err(|e| invalid(k, format!("{v:?}: {e}")))
                })
                .transpose()
        };
        let mut c = Self::new(
            required(key::AGENCY)?,
            required(key::PROVINCE)?,
            required(key::CITY)?,
            get(key::COUNTY).cloned().unwrap_or_else(no_county),
        );
        c.subject_prefix = get(key::SUBJECT_PREFIX).cloned().unwrap_or_default();
        if let Some(j) = get(key::DISCLOSURE_OVERRIDES) {
            c.disclosure_overrides = serde_json::from_str(j)
                .map_err(|e| invalid(key::DISCLOSURE_OVERRIDES, e.to_string()))?;
        }
        if let Some(d) = number(key::WITHDRAWAL_DEADLINE_DAYS)? {
            c.withdrawal_deadline_days = d;
        }
        if let Some(r) = number(key::LEGAL_REVIEWER_RATIO_PERMILLE)? {
            c.legal_reviewer_ratio_permille = r;
        }
        c.display_name = get(key::DISPLAY_NAME).cloned().unwrap_or_default();
        c.credit_code = get(key::CREDIT_CODE).cloned().unwrap_or_default();
        if let Some(s) = get(key::CATEGORIES) {
            c.categories = s
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(|x| {
                    x.parse().map_err(|e: crate::UnknownCategory| {
                        invalid(key::CATEGORIES, e.to_string())
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        c.publication_retention_days = number(key::PUBLICATION_RETENTION_DAYS)?;
        c.natural_person_retention_days = number(key::NATURAL_PERSON_RETENTION_DAYS)?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> TenantContract {
        TenantContract {
            subject_prefix: "sx.210000.211200.211221.tl-market".into(),
            disclosure_overrides: vec![DisclosureOverride {
                category: EnforcementCategory::Penalty,
                working_days: 5,
                legal_basis: "《某某条例》第十二条".into(),
            }],
            withdrawal_deadline_days: 1,
            legal_reviewer_ratio_permille: 80,
            display_name: "铁岭县市场监督管理局".into(),
            credit_code: "11211221MB0123456X".into(),
            categories: vec![EnforcementCategory::Penalty, EnforcementCategory::Licensing],
            publication_retention_days: Some(1825),
            natural_person_retention_days: Some(730),
            ..TenantContract::new("tl-market", "210000", "211200", "211221")
        }
    }

    #[test]
    fn what_the_operator_writes_the_tenant_service_reads() {
        for c in [
            full(),
            TenantContract::new("sy-market", "210000", "210100", "-"),
        ] {
            assert_eq!(TenantContract::from_annotations(&c.to_annotations()), Ok(c));
        }
    }

    #[test]
    fn annotation_keys_and_formats_are_stable() {
        let a = full().to_annotations();
        assert_eq!(a["sanxiang.io/agency"], "tl-market");
        assert_eq!(a["sanxiang.io/county"], "211221");
        assert_eq!(
            a["sanxiang.io/disclosure-overrides"],
            r#"[{"category":"Penalty","workingDays":5,"legalBasis":"《某某条例》第十二条"}]"#
        );
        assert_eq!(a["sanxiang.io/withdrawal-deadline-days"], "1");
        assert_eq!(a["sanxiang.io/legal-reviewer-ratio-permille"], "80");
        // The review catalogue is the matter list now (published by the tenant service).
        assert!(!a.contains_key("sanxiang.io/review-catalog"));
        assert_eq!(a["sanxiang.io/categories"], "penalty,licensing");
        assert_eq!(a["sanxiang.io/display-name"], "铁岭县市场监督管理局");
        assert_eq!(a["sanxiang.io/publication-retention-days"], "1825");
        assert_eq!(a["sanxiang.io/natural-person-retention-days"], "730");
        let keep = TenantContract::new("a", "p", "c", "-").to_annotations();
        assert!(!keep.contains_key("sanxiang.io/publication-retention-days"));
    }

    #[test]
    fn errors_name_the_annotation() {
        let mut a = full().to_annotations();
        a.remove("sanxiang.io/city");
        assert_eq!(
            TenantContract::from_annotations(&a)
                .unwrap_err()
                .to_string(),
            "annotation sanxiang.io/city missing"
        );
        let mut a = full().to_annotations();
        a.insert(
            "sanxiang.io/withdrawal-deadline-days".into(),
            "three".into(),
        );
        let e = TenantContract::from_annotations(&a)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("annotation sanxiang.io/withdrawal-deadline-days: \"three\""),
            "{e}"
        );
        let mut a = full().to_annotations();
        a.insert(
            "sanxiang.io/disclosure-overrides".into(),
            r#"[{"category":"fees"}]"#.into(),
        );
        let e = TenantContract::from_annotations(&a)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown category `fees`"), "{e}");
    }
}
