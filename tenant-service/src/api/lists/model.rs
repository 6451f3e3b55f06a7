//! The wire types of the lists published before enforcement (事前公开): a version as read,
//! its review steps, and what each step sends.

use chrono::{DateTime, NaiveDate, Utc};
use sanxiang_domain::ListKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(utoipa::ToSchema, Debug, Clone, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ListVersion {
    #[schema(value_type = crate::api::openapi::ListKindCode)]
    pub kind: String,
    pub version: i32,
    #[schema(pattern = "^(draft|submitted|returned|approved|published)$")]
    pub status: String,
    pub items: Value,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub effective_from: Option<NaiveDate>,
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(utoipa::ToSchema, Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ListStep {
    pub step: String,
    pub actor: String,
    pub role: String,
    pub opinion: String,
    pub at: DateTime<Utc>,
}

#[derive(utoipa::ToSchema, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DraftInput {
    /// The items (written kinds); absent for subjects and personnel.
    #[schema(value_type = Option<Vec<Object>>)]
    pub items: Option<Value>,
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewInput {
    pub approve: bool,
    /// The reviewer's opinion (required when returning).
    #[serde(default)]
    pub opinion: String,
}

#[derive(utoipa::ToSchema, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishInput {
    /// First day the version applies (default: today).
    pub effective_from: Option<NaiveDate>,
}

#[derive(utoipa::IntoParams, Debug, Deserialize)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveQuery {
    /// Date (default: today): the version effective on it.
    pub on: Option<NaiveDate>,
}

/// A version of a list without its items, as `GET …/lists/{kind}` lists them.
#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListVersionSummary {
    pub version: i32,
    #[schema(pattern = "^(draft|submitted|returned|approved|published)$")]
    pub status: String,
    pub effective_from: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
}

/// `GET …/lists/{kind}`: every version, and the one effective on `on` (null when none).
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct ListHistory {
    #[schema(value_type = crate::api::openapi::ListKindCode)]
    pub kind: ListKind,
    /// The list's Chinese name.
    pub name: String,
    pub on: NaiveDate,
    pub effective: Option<ListVersion>,
    pub versions: Vec<ListVersionSummary>,
}

/// `GET …/lists/{kind}/versions/{version}`: one version with its review steps.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct ListVersionWithSteps {
    #[serde(flatten)]
    pub version: ListVersion,
    pub steps: Vec<ListStep>,
}
