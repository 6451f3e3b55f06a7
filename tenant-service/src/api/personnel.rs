//! Personnel list (执法人员清单): officers and legal reviewers.

use super::tenant::{PathId, Read, Tenant, Write};
use super::{JsonBody, QueryParams, bounded, date_in_range, optional_text, text};
use crate::auth::{Role, require_role};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use sanxiang_domain::{EnforcementCategory as Category, PersonnelEntry};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonnelRole {
    Officer,
    LegalReviewer,
}

impl PersonnelRole {
    fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "officer",
            Self::LegalReviewer => "legal_reviewer",
        }
    }
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonnelInput {
    pub name: String,
    pub unit: String,
    #[serde(default)]
    pub position: String,
    pub role: PersonnelRole,
    pub certificate_number: String,
    #[schema(value_type = Vec<super::openapi::CategoryCode>, min_items = 1)]
    pub categories: Vec<Category>,
    pub region: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    /// National legal professional qualification (法律职业资格), for reviewers.
    #[serde(default)]
    pub legal_qualification: bool,
    /// The person's sign-in subject (the `sub` of their tokens): steps they take in their
    /// own name (a reviewer's opinion) must come from their own token.
    pub subject: Option<String>,
}

impl PersonnelInput {
    fn validate(&self) -> ApiResult<()> {
        text(&self.name, "name", 64)?;
        text(&self.unit, "unit", 128)?;
        optional_text(&self.position, "position", 128)?;
        text(&self.certificate_number, "certificateNumber", 64)?;
        text(&self.region, "region", 128)?;
        if let Some(s) = &self.subject {
            text(s, "subject", 256)?;
        }
        bounded(&self.categories, "categories", 9)?;
        date_in_range(self.valid_from, "validFrom")?;
        date_in_range(self.valid_until, "validUntil")?;
        if self.categories.is_empty() {
            return Err(ApiError::bad_request(
                "categories",
                "categories must list at least one enforcement category",
            ));
        }
        if self.valid_until < self.valid_from {
            return Err(ApiError::unprocessable(
                "validUntil",
                "validUntil must not be before validFrom",
            ));
        }
        Ok(())
    }
}

#[derive(utoipa::ToSchema, Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub id: Uuid,
    pub name: String,
    pub unit: String,
    pub position: String,
    pub role: String,
    pub certificate_number: String,
    pub categories: Vec<String>,
    pub region: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub legal_qualification: bool,
    pub subject: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonView {
    #[serde(flatten)]
    pub person: Person,
    /// Whether the certificate is valid today.
    pub certificate_valid: bool,
}

fn view(person: Person, today: NaiveDate) -> PersonView {
    let certificate_valid =
        person.active && person.valid_from <= today && today <= person.valid_until;
    PersonView {
        person,
        certificate_valid,
    }
}

#[derive(utoipa::IntoParams, Debug, Deserialize)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// `officer` or `legal_reviewer`.
    pub role: Option<String>,
    /// Include removed people.
    #[serde(default)]
    pub include_inactive: bool,
}

/// `GET …/personnel`: the list, and whether its valid legal reviewers meet the agency's
/// ratio to its valid officers.
#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonnelList {
    pub items: Vec<PersonView>,
    pub valid_officers: usize,
    pub valid_legal_reviewers: usize,
    pub required_legal_reviewers: u64,
    pub reviewer_ratio_met: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/personnel",
    operation_id = "list_personnel",
    tag = "personnel",
    summary = "Personnel list with certificate validity and reviewer ratio",
    params(super::openapi::AgencyPath, ListQuery),
    responses((status = 200, description = "OK", body = PersonnelList), super::openapi::ReadErrors)
)]
pub async fn list(
    State(st): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
    ctx: Tenant<Read>,
) -> ApiResult<Json<PersonnelList>> {
    if let Some(r) = &q.role
        && r != "officer"
        && r != "legal_reviewer"
    {
        return Err(ApiError::bad_request(
            "role",
            "role must be officer or legal_reviewer",
        ));
    }
    let rows = sqlx::query_as!(
        Person,
        "SELECT id, name, unit, position, role, certificate_number, categories, region, \
         valid_from, valid_until, legal_qualification, subject, active, created_at, updated_at \
         FROM personnel WHERE ($1::text IS NULL OR role = $1) AND (active OR $2) \
         ORDER BY role, name",
        q.role.as_deref(),
        q.include_inactive,
    )
    .fetch_all(&ctx.pool)
    .await?;
    let today = st.clock.today();
    let items: Vec<PersonView> = rows.into_iter().map(|p| view(p, today)).collect();
    let officers = items
        .iter()
        .filter(|p| p.person.role == "officer" && p.certificate_valid)
        .count();
    let reviewers = items
        .iter()
        .filter(|p| p.person.role == "legal_reviewer" && p.certificate_valid)
        .count();
    let required =
        (officers as u64 * u64::from(ctx.tenant.legal_reviewer_ratio_permille)).div_ceil(1000);
    Ok(Json(PersonnelList {
        items,
        valid_officers: officers,
        valid_legal_reviewers: reviewers,
        required_legal_reviewers: required,
        reviewer_ratio_met: reviewers as u64 >= required,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/agencies/{agency}/personnel/{id}",
    operation_id = "get_person",
    tag = "personnel",
    summary = "One person",
    params(super::openapi::AgencyIdPath),
    responses((status = 200, description = "OK", body = PersonView), super::openapi::ReadErrors)
)]
pub async fn get_one(
    State(st): State<AppState>,
    PathId(id): PathId,
    ctx: Tenant<Read>,
) -> ApiResult<Json<PersonView>> {
    let p = sqlx::query_as!(
        Person,
        "SELECT id, name, unit, position, role, certificate_number, categories, region, \
         valid_from, valid_until, legal_qualification, subject, active, created_at, updated_at \
         FROM personnel WHERE id = $1",
        id
    )
    .fetch_optional(&ctx.pool)
    .await?;
    let p = p.ok_or_else(|| ApiError::not_found(format!("personnel {id} not found")))?;
    Ok(Json(view(p, st.clock.today())))
}

#[utoipa::path(
    post,
    path = "/api/v1/agencies/{agency}/personnel",
    operation_id = "create_person",
    tag = "personnel",
    summary = "Add a person (agency_admin)",
    params(super::openapi::AgencyPath),
    request_body = PersonnelInput,
    responses((status = 201, description = "Created", body = PersonView), super::openapi::WriteErrors)
)]
pub async fn create(
    State(st): State<AppState>,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<PersonnelInput>,
) -> ApiResult<(StatusCode, Json<PersonView>)> {
    require_role(
        &ctx.claims,
        &[Role::AgencyAdmin],
        "managing the personnel list",
    )?;
    input.validate()?;
    let categories: Vec<String> = input
        .categories
        .iter()
        .map(|c| c.code().to_string())
        .collect();
    let p = sqlx::query_as!(
        Person,
        "INSERT INTO personnel (id, name, unit, position, role, certificate_number, categories, region, \
         valid_from, valid_until, legal_qualification, subject) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) \
         RETURNING id, name, unit, position, role, certificate_number, categories, region, \
         valid_from, valid_until, legal_qualification, subject, active, created_at, updated_at",
        Uuid::new_v4(),
        input.name.trim(),
        input.unit.trim(),
        input.position.trim(),
        input.role.as_str(),
        input.certificate_number.trim(),
        &categories,
        input.region.trim(),
        input.valid_from,
        input.valid_until,
        input.legal_qualification,
        input.subject.as_deref().map(str::trim),
    )
    .fetch_one(&ctx.pool)
    .await
    ?;
    Ok((StatusCode::CREATED, Json(view(p, st.clock.today()))))
}

#[utoipa::path(
    put,
    path = "/api/v1/agencies/{agency}/personnel/{id}",
    operation_id = "update_person",
    tag = "personnel",
    summary = "Replace a person's entry (agency_admin)",
    params(super::openapi::AgencyIdPath),
    request_body = PersonnelInput,
    responses((status = 200, description = "OK", body = PersonView), super::openapi::WriteErrors)
)]
pub async fn update(
    State(st): State<AppState>,
    PathId(id): PathId,
    ctx: Tenant<Write>,
    JsonBody(input): JsonBody<PersonnelInput>,
) -> ApiResult<Json<PersonView>> {
    require_role(
        &ctx.claims,
        &[Role::AgencyAdmin],
        "managing the personnel list",
    )?;
    input.validate()?;
    let categories: Vec<String> = input
        .categories
        .iter()
        .map(|c| c.code().to_string())
        .collect();
    let p = sqlx::query_as!(
        Person,
        "UPDATE personnel SET name=$2, unit=$3, position=$4, role=$5, certificate_number=$6, \
         categories=$7, region=$8, valid_from=$9, valid_until=$10, legal_qualification=$11, \
         subject=$12, active=TRUE, updated_at=now() WHERE id=$1 RETURNING id, name, unit, position, role, certificate_number, categories, region, \
         valid_from, valid_until, legal_qualification, subject, active, created_at, updated_at",
        id,
        input.name.trim(),
        input.unit.trim(),
        input.position.trim(),
        input.role.as_str(),
        input.certificate_number.trim(),
        &categories,
        input.region.trim(),
        input.valid_from,
        input.valid_until,
        input.legal_qualification,
        input.subject.as_deref().map(str::trim),
    )
    .fetch_optional(&ctx.pool)
    .await?;
    let p = p.ok_or_else(|| ApiError::not_found(format!("personnel {id} not found")))?;
    Ok(Json(view(p, st.clock.today())))
}

/// Removes a person from the current list (kept for history; `active = false`).
#[utoipa::path(
    delete,
    path = "/api/v1/agencies/{agency}/personnel/{id}",
    tag = "personnel",
    summary = "Remove from the current list (kept for history)",
    params(super::openapi::AgencyIdPath),
    responses((status = 204, description = "Removed"), super::openapi::ReadErrors)
)]
pub async fn deactivate(PathId(id): PathId, ctx: Tenant<Write>) -> ApiResult<StatusCode> {
    require_role(
        &ctx.claims,
        &[Role::AgencyAdmin],
        "managing the personnel list",
    )?;
    let r = sqlx::query!(
        "UPDATE personnel SET active = FALSE, updated_at = now() WHERE id = $1",
        id
    )
    .execute(&ctx.pool)
    .await?;
    if r.rows_affected() == 0 {
        return Err(ApiError::not_found(format!("personnel {id} not found")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The public personnel list (执法人员清单) on `on`: valid (certificate in force that
/// day), active officers; six fields, nothing private.
pub async fn public_entries(
    exec: &mut sqlx::PgConnection,
    on: NaiveDate,
) -> ApiResult<serde_json::Value> {
    let rows: Vec<(String, String, String, String, Vec<String>, String)> = sqlx::query!(
        "SELECT name, unit, position, certificate_number, categories, region FROM personnel \
         WHERE role = 'officer' AND active AND valid_from <= $1 AND valid_until >= $1 \
         ORDER BY unit, name, certificate_number",
        on
    )
    .map(|r| {
        (
            r.name,
            r.unit,
            r.position,
            r.certificate_number,
            r.categories,
            r.region,
        )
    })
    .fetch_all(exec)
    .await?;
    let entries: Vec<PersonnelEntry> = rows
        .into_iter()
        .map(
            |(name, unit, position, certificate_number, cats, region)| PersonnelEntry {
                name,
                unit,
                position,
                certificate_number,
                categories: cats.iter().filter_map(|c| Category::from_code(c)).collect(),
                region,
            },
        )
        .collect();
    Ok(serde_json::json!(entries))
}

/// Checks, when a personnel list version is published, that each of its officers is
/// still an active officer whose certificate is valid today and on the effective date
/// `from`. The list was taken when it was drafted; an officer who left or whose
/// certificate lapses in between must not be published as valid. Refuses (422 naming the
/// first such `items[i]`, every one in the message) rather than dropping them, so what is
/// published is exactly what the justice bureau approved.
pub async fn check_public_entries(
    exec: &mut sqlx::PgConnection,
    items: &serde_json::Value,
    today: NaiveDate,
    from: NaiveDate,
) -> ApiResult<()> {
    let entries: Vec<PersonnelEntry> = serde_json::from_value(items.clone())
        .map_err(|e| ApiError::internal(format!("stored personnel list is unreadable: {e}")))?;
    let certs: Vec<String> = entries
        .iter()
        .map(|e| e.certificate_number.clone())
        .collect();
    let rows: Vec<(String, String, bool, NaiveDate, NaiveDate)> = sqlx::query!(
        "SELECT certificate_number, role, active, valid_from, valid_until FROM personnel \
         WHERE certificate_number = ANY($1)",
        &certs
    )
    .map(|r| {
        (
            r.certificate_number,
            r.role,
            r.active,
            r.valid_from,
            r.valid_until,
        )
    })
    .fetch_all(&mut *exec)
    .await?;
    let mut problems = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let who = format!("{} (certificate {})", e.name, e.certificate_number);
        let why = match rows.iter().find(|r| r.0 == e.certificate_number) {
            None => Some(format!("{who} is no longer on the personnel records")),
            Some((_, role, _, _, _)) if role != "officer" => {
                Some(format!("{who} is no longer an enforcement officer"))
            }
            Some((_, _, false, _, _)) => Some(format!("{who} has left the personnel list")),
            Some((_, _, _, valid_from, valid_until)) => [today, from]
                .into_iter()
                .find(|d| !(*valid_from <= *d && *d <= *valid_until))
                .map(|d| {
                    format!(
                        "the certificate of {who} is valid {valid_from} to {valid_until}, not on {d}{}",
                        if d == from { " (the effective date)" } else { "" }
                    )
                }),
        };
        if let Some(why) = why {
            problems.push((i, why));
        }
    }
    let Some((first, _)) = problems.first() else {
        return Ok(());
    };
    Err(ApiError::unprocessable(
        &format!("items[{first}]"),
        format!(
            "the personnel list would publish officers who are not valid: {}; revise the \
             version (PUT, which retakes the current records) and submit it for review again",
            problems
                .iter()
                .map(|(i, w)| format!("items[{i}]: {w}"))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    ))
}
