//! The matter as the backbone of actions and decisions: each names a matter of the
//! agency's **effective** matter list ([`super::lists`]), which fixes its category and
//! allowed procedures, its legal-review requirement, its disclosure deadline, its A/V
//! rule and, for penalties, the discretion benchmark the decision is checked against.
//!
//! There is no other source: the matter list's `legalReviewRequired` *is* the catalogue of
//! major decisions that need legal review (no separate catalogue; the Agency's deprecated
//! `spec.reviewCatalog` is ignored), and an agency without a matter list in force cannot
//! create actions or decisions — it publishes its list first (draft, the same-level
//! justice bureau's approval, publication). The agency-wide disclosure overrides stay as
//! the fallback for matters without their own deadline.

use super::lists::{self, ListVersion};
use crate::error::{ApiError, ApiResult};
use crate::state::TenantCtx;
use chrono::NaiveDate;
use sanxiang_domain::{
    DecisionDiscretion, EnforcementCategory as Category, ListKind, Matter, Procedure,
};
use serde_json::{Value, json};
use sqlx::PgConnection;

/// What a request's matter fixes.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub category: Category,
    /// The matter and the list version it was taken from.
    pub matter: (Matter, i32),
}

impl Resolved {
    pub fn version(&self) -> i32 {
        self.matter.1
    }
    pub fn matter(&self) -> &Matter {
        &self.matter.0
    }
}

/// The effective matter list on `on`.
pub async fn effective_list(
    exec: &mut PgConnection,
    on: NaiveDate,
) -> ApiResult<Option<(ListVersion, Vec<Matter>)>> {
    let Some(v) = lists::effective(exec, ListKind::Matters, on).await? else {
        return Ok(None);
    };
    let m = lists::matters_of(&v)?;
    Ok(Some((v, m)))
}

/// Resolves a request's matter against the list effective on `on`: the category comes
/// from the matter (a given `category` must agree), the procedure must be one of the
/// matter's, and the matter must lie within the Agency's categories.
pub async fn resolve(
    exec: &mut PgConnection,
    ctx: &TenantCtx,
    matter: Option<&str>,
    category: Option<Category>,
    procedure: Procedure,
    on: NaiveDate,
) -> ApiResult<Resolved> {
    let code = matter.map(str::trim).filter(|m| !m.is_empty());
    let Some((list, matters)) = effective_list(exec, on).await? else {
        return Err(ApiError::unprocessable(
            "matter",
            format!(
                "the agency has no matter list (执法事项清单) in force on {on}: a matter list must be \
                 published first (draft, the justice bureau's approval, publication), and every \
                 action and decision names a matter of it"
            ),
        ));
    };
    let Some(code) = code else {
        return Err(ApiError::unprocessable(
            "matter",
            format!(
                "matter is required: name a matter of the agency's matter list (version {}, in force since {})",
                list.version,
                list.effective_from
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            ),
        ));
    };
    let Some(m) = matters.into_iter().find(|m| m.is(code)) else {
        return Err(ApiError::unprocessable(
            "matter",
            format!(
                "matter {code} is not on the agency's effective matter list (version {}, in force since {})",
                list.version,
                list.effective_from
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            ),
        ));
    };
    if let Some(c) = category
        && c != m.category
    {
        return Err(ApiError::unprocessable(
            "category",
            format!(
                "category {} differs from the category {} of matter {}",
                c.code(),
                m.category.code(),
                m.code
            ),
        ));
    }
    let held = &ctx.tenant.categories;
    if !held.is_empty() && !held.contains(&m.category) {
        return Err(ApiError::unprocessable(
            "matter",
            format!(
                "matter {} is of category {}, which the agency does not hold",
                m.code,
                m.category.code()
            ),
        ));
    }
    if !m.allows(procedure) {
        return Err(ApiError::unprocessable(
            "procedure",
            format!(
                "matter {} is enforced by {} procedure only",
                m.code,
                m.procedures
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ));
    }
    Ok(Resolved {
        category: m.category,
        matter: (m, list.version),
    })
}

/// Checks a decision's discretion against its matter's benchmark: a penalty matter with a
/// benchmark needs the discretion, and 说明理由 where it leaves the range or applies
/// 从轻 / 减轻 / 不予处罚.
pub fn check_discretion(
    matter: Option<&Matter>,
    discretion: Option<&DecisionDiscretion>,
) -> ApiResult<()> {
    let Some(b) = matter.and_then(|m| m.benchmark.as_ref()) else {
        return Ok(());
    };
    let d = discretion.ok_or_else(|| {
        ApiError::unprocessable(
            "discretion",
            "the matter has a discretion benchmark: state the circumstance level and the penalty",
        )
    })?;
    if let Some(r) = &d.statement_of_reasons {
        super::optional_text(r, "discretion.statementOfReasons", 4_000)?;
    }
    super::text(&d.penalty_kind, "discretion.penaltyKind", 128)?;
    b.check(d)
        .map(|_| ())
        .map_err(|e| ApiError::unprocessable(&e.field, e.message))
}

/// The matter a stored decision or action was drafted under: from the list in force
/// `on` if the matter is still on it, else from the version it named.
pub async fn matter_now(
    exec: &mut PgConnection,
    code: Option<&str>,
    version: Option<i32>,
    on: NaiveDate,
) -> ApiResult<Option<Matter>> {
    let Some(code) = code else {
        return Ok(None);
    };
    if let Some((_, matters)) = effective_list(exec, on).await?
        && let Some(m) = matters.into_iter().find(|m| m.is(code))
    {
        return Ok(Some(m));
    }
    let Some(version) = version else {
        return Ok(None);
    };
    let v = sqlx::query_as!(
        ListVersion,
        "SELECT kind, version, status, items, created_by, created_at, effective_from, published_at \
         FROM list_versions WHERE kind = 'matters' AND version = $1",
        version
    )
    .fetch_optional(exec)
    .await?;
    Ok(match v {
        Some(v) => lists::matters_of(&v)?.into_iter().find(|m| m.is(code)),
        None => None,
    })
}

/// What the legal review shows next to the decision: its matter, the benchmark and the
/// decision's discretion with why reasons were needed.
pub async fn review_context(
    exec: &mut PgConnection,
    decision: uuid::Uuid,
    on: NaiveDate,
) -> ApiResult<Option<Value>> {
    let row: Option<(Option<String>, Option<i32>, Option<Value>)> = sqlx::query!(
        "SELECT matter, matter_version, discretion FROM decisions WHERE id = $1",
        decision
    )
    .map(|r| (r.matter, r.matter_version, r.discretion))
    .fetch_optional(&mut *exec)
    .await?;
    let Some((code, version, discretion)) = row else {
        return Ok(None);
    };
    let Some(m) = matter_now(exec, code.as_deref(), version, on).await? else {
        return Ok(None);
    };
    let d: Option<DecisionDiscretion> = discretion.and_then(|d| serde_json::from_value(d).ok());
    let why = match (&m.benchmark, &d) {
        (Some(b), Some(d)) => b.check(d).unwrap_or_else(|e| vec![e.message]),
        _ => Vec::new(),
    };
    Ok(Some(json!({
        "code": m.code, "name": m.name, "category": m.category.code(),
        "legalBasis": m.legal_basis, "legalReviewRequired": m.legal_review_required,
        "listVersion": version, "benchmark": m.benchmark, "discretion": d,
        "reasonsRequiredFor": why,
    })))
}
