//! Where an agency's records live and what deleting the Agency does to them. Records of
//! enforcement are never destroyed by one person: the deletion policy and the two
//! annotations that allow and confirm it are defined here, next to each other.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where the agency's records live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseSpec {
    /// Name of the PostgreSQL server (as configured in the operator) that holds the
    /// agency's database. Default `default`. May be corrected until the database is
    /// provisioned (e.g. after naming an unknown server); from then on it is immutable
    /// (admission policy `sanxiang-agency-placement`): moving records between servers is
    /// a migration, not an edit.
    #[serde(default = "default_server")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub server: String,

    /// What deleting the Agency does to its database: `Retain` (default) keeps the
    /// database and its records and only revokes access; `Delete` drops them for good.
    /// Enforcement records must normally be kept, so use Delete only for test tenants.
    /// Only provincial IT may set Delete, together with the annotation
    /// `sanxiang.io/delete-allowed-by: <their user name>`; deleting an agency whose
    /// database holds records then waits (condition DeletionBlocked) until a second
    /// provincial IT member sets `sanxiang.io/delete-confirmed-by: <their user name>`.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

fn default_server() -> String {
    "default".to_owned()
}

impl Default for DatabaseSpec {
    fn default() -> Self {
        Self {
            server: default_server(),
            deletion_policy: DeletionPolicy::default(),
        }
    }
}

/// Annotation naming the provincial IT member who set `deletionPolicy: Delete` (admission
/// requires it to be the requester's own user name, in the same request).
pub const DELETE_ALLOWED_BY_ANNOTATION: &str = "sanxiang.io/delete-allowed-by";
/// Annotation naming the second provincial IT member who confirms that a deleted agency's
/// records may be destroyed (their own user name; never the one who allowed Delete).
pub const DELETE_CONFIRMED_BY_ANNOTATION: &str = "sanxiang.io/delete-confirmed-by";

/// What deleting an Agency does to its records: Retain (keep, default) or Delete (drop).
///
/// Records of enforcement are never destroyed by one person: only provincial IT may set
/// Delete (annotating `sanxiang.io/delete-allowed-by` with their user name in the same
/// request), and when the deleted agency's database holds records the deletion waits
/// (condition DeletionBlocked) until a second provincial IT member annotates
/// `sanxiang.io/delete-confirmed-by` with theirs. Setting Retain is open to everyone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Keep the database and records; revoke the agency's access.
    #[default]
    Retain,
    /// Drop the database, its role and all records (provincial IT only; records held
    /// need a second person's confirmation).
    Delete,
}
