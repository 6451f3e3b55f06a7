//! Names of everything the operator provisions for an agency, derived (purely) from the
//! agency's place in the hierarchy and its object name.
//!
//! Names must be stable — a rename would orphan a database full of enforcement records —
//! and unique across namespaces, so each one carries a short hash of `namespace/name`.
//! PostgreSQL identifiers are limited to 63 bytes and NATS stream names must avoid `.`,
//! `*`, `>` and whitespace; every name here respects both.

use sha2::{Digest, Sha256};

/// Where an agency sits: GB/T 2260 codes of its province, of its city (`None` for a
/// province-level agency, 省级行政执法机关) and of its county (`None` for a city- or
/// province-level agency).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub province: String,
    pub city: Option<String>,
    pub county: Option<String>,
}

impl Placement {
    /// The city code, or `-` for a province-level agency (subject token and label value,
    /// [`sanxiang_domain::NO_CITY`]).
    pub fn city_token(&self) -> &str {
        self.city.as_deref().unwrap_or(sanxiang_domain::NO_CITY)
    }

    /// The county code, or `-` for a city- or province-level agency (subject token and
    /// label value, [`sanxiang_domain::NO_COUNTY`]).
    pub fn county_token(&self) -> &str {
        self.county.as_deref().unwrap_or(sanxiang_domain::NO_COUNTY)
    }
}

/// All provisioned names of one agency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgencyNames {
    /// PostgreSQL database and its application login role (same identifier; the role in
    /// the `<name>-db` Secret, DML only).
    pub database: String,
    pub role: String,
    /// The NOLOGIN role that owns the database and its schema (migrations run as it).
    pub owner_role: String,
    /// Secret with the database credentials.
    pub database_secret: String,
    /// Secret with the NATS credentials.
    pub nats_secret: String,
    /// NATS user name.
    pub nats_user: String,
    /// The agency's subject prefix, without the trailing `.>`.
    pub subject_prefix: String,
    /// Inbox prefix the agency's clients must use (they may subscribe only there).
    pub inbox_prefix: String,
    /// The agency's own JetStream stream, capturing `<subject_prefix>.>`.
    pub stream: String,
    /// PrometheusRule object name.
    pub prometheus_rule: String,
}

impl AgencyNames {
    /// The database and its two roles.
    pub fn tenant_roles(&self) -> crate::tenant_schema::TenantRoles<'_> {
        crate::tenant_schema::TenantRoles {
            database: &self.database,
            owner: &self.owner_role,
            app: &self.role,
        }
    }
}

/// The agency's PostgreSQL database (and login role) name; it depends on the namespace
/// and name only, so an orphan database can be told apart without the Jurisdictions.
pub fn database_name(namespace: &str, name: &str) -> String {
    let hash = short_hash(&format!("{namespace}/{name}"));
    // 3 ("sx_") + 48 + 1 + 8 = 60 <= 63.
    let slug: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(48)
        .collect();
    format!("sx_{slug}_{hash}")
}

/// What [`database_name`] produces, as a PostgreSQL regular expression (names are lower
/// case: Kubernetes object names are).
pub const DATABASE_NAME_PATTERN: &str = "^sx_[a-z0-9_]+_[0-9a-f]{8}$";

/// What the owner role's name puts in place of the database name's `sx_`: `sxo_` keeps it
/// within 63 bytes (a database name has at most 60) and outside [`DATABASE_NAME_PATTERN`].
pub const OWNER_ROLE_PREFIX: &str = "sxo_";

/// The NOLOGIN role owning a tenant database named by [`database_name`].
pub fn owner_role_name(database: &str) -> String {
    format!(
        "{OWNER_ROLE_PREFIX}{}",
        database.strip_prefix("sx_").unwrap_or(database)
    )
}

pub fn agency_names(namespace: &str, name: &str, placement: &Placement) -> AgencyNames {
    let hash = short_hash(&format!("{namespace}/{name}"));
    let database = database_name(namespace, name);
    let nats_user = format!("sx-{namespace}-{name}");
    AgencyNames {
        role: database.clone(),
        owner_role: owner_role_name(&database),
        database,
        database_secret: format!("{name}-db"),
        nats_secret: format!("{name}-nats"),
        inbox_prefix: format!("_INBOX.{nats_user}"),
        nats_user,
        subject_prefix: format!(
            "sx.{}.{}.{}.{name}",
            placement.province,
            placement.city_token(),
            placement.county_token()
        ),
        stream: format!("SX_AG_{}_{hash}", stream_token(name)),
        prometheus_rule: format!("{name}-alerts"),
    }
}

/// Aggregate stream of a county: sources the streams of the county's agencies.
pub fn county_stream(county: &str) -> String {
    format!("SX_COUNTY_{county}")
}

/// Aggregate stream of a city: sources its county aggregates and its city-level agencies.
pub fn city_stream(city: &str) -> String {
    format!("SX_CITY_{city}")
}

/// Aggregate stream of a province: sources its city aggregates and captures its
/// province-level agencies.
pub fn province_stream(province: &str) -> String {
    format!("SX_PROVINCE_{province}")
}

/// The namespace where the agencies of a city (and its counties), or the province-level
/// agencies of a province, live: `sx-<code>`.
pub fn jurisdiction_namespace(code: &str) -> String {
    format!("sx-{code}")
}

fn stream_token(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .take(40)
        .collect()
}

fn short_hash(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn county() -> Placement {
        Placement {
            province: "210000".into(),
            city: Some("211200".into()),
            county: Some("211221".into()),
        }
    }

    #[test]
    fn names_follow_the_hierarchy() {
        let n = agency_names("sx-211200", "tieling-market", &county());
        assert_eq!(n.subject_prefix, "sx.210000.211200.211221.tieling-market");
        assert!(n.database.starts_with("sx_tieling_market_"));
        assert_eq!(n.database, n.role);
        assert!(n.owner_role.starts_with("sxo_tieling_market_"));
        assert_eq!(n.database_secret, "tieling-market-db");
        assert!(n.stream.starts_with("SX_AG_TIELING_MARKET_"));
        assert_eq!(n.inbox_prefix, "_INBOX.sx-sx-211200-tieling-market");
    }

    #[test]
    fn city_level_agencies_use_a_dash_for_the_county() {
        let city = Placement {
            county: None,
            ..county()
        };
        let n = agency_names("sx-211200", "tieling-approval", &city);
        assert_eq!(n.subject_prefix, "sx.210000.211200.-.tieling-approval");
    }

    #[test]
    fn province_level_agencies_use_dashes_for_city_and_county() {
        let province = Placement {
            province: "210000".into(),
            city: None,
            county: None,
        };
        let n = agency_names("sx-210000", "ln-market", &province);
        assert_eq!(n.subject_prefix, "sx.210000.-.-.ln-market");
    }

    #[test]
    fn same_name_in_two_namespaces_gets_two_databases() {
        let a = agency_names("sx-211200", "market", &county());
        let b = agency_names("sx-210100", "market", &county());
        assert_ne!(a.database, b.database);
        assert_ne!(a.stream, b.stream);
    }

    #[test]
    fn identifiers_fit_postgres_limits() {
        let long = "a".repeat(63);
        let n = agency_names("sx-211200", &long, &county());
        assert!(n.database.len() <= 63, "{}", n.database.len());
        assert!(n.owner_role.len() <= 63, "{}", n.owner_role.len());
        assert!(
            n.database
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        );
    }
}
