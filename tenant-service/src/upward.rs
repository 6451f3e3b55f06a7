//! The events that feed the supervision workspace (`sanxiang-supervision`): decision
//! metadata, the agency's compliance counts and its milestone reports, through the same
//! transactional outbox as publications, so they reach the province stream exactly once in
//! effect.
//!
//! The payload types live in `sanxiang_domain::supervision`, shared with the consumer.
//! Nothing here carries personal data or free text: supervisors see codes, dates, flags
//! and counts; the records stay in the agency's database.
//!
//! - [`decision_changed`] is called by the handlers that change a decision's
//!   supervision-relevant state (issue, disclosure, exemption, revocation, withdrawal,
//!   closure after review), inside their transaction. Drafts are not pushed. Each call
//!   bumps the decision's `metadata_version` under the row lock, so the consumer can keep
//!   the newest even if two events were ever applied out of order.
//! - [`push_compliance`] is called by the metrics scan with the counts it computed; it
//!   pushes only when they differ from the last pushed for that agency (kept in memory: a
//!   restart pushes once more, which the consumer absorbs by keeping the newest).
//! - [`milestone_reported`] is called when the agency reports a milestone done.

use crate::outbox::{self, Event};
use crate::scan::Counts;
use crate::state::AppState;
use crate::tenants::Tenant;
use chrono::{DateTime, NaiveDate, Utc};
use sanxiang_domain::supervision::{ComplianceReport, DecisionMetadata, MilestoneReported};
use sanxiang_domain::{EnforcementCategory, Procedure};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

struct Row {
    id: Uuid,
    document_number: String,
    category: String,
    procedure: String,
    matter: Option<String>,
    status: String,
    major: bool,
    review_status: Option<String>,
    decided_on: Option<NaiveDate>,
    issued_at: Option<DateTime<Utc>>,
    publish_online: bool,
    disclosure_due: Option<NaiveDate>,
    disclosure_due_pending_year: Option<i32>,
    published_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    withdrawal_due: Option<DateTime<Utc>>,
    withdrawn_at: Option<DateTime<Utc>>,
    av_required: Option<bool>,
    av_present: Option<bool>,
    metadata_version: i64,
}

/// Review outcomes that count as "reviewed" (an approving opinion, or collective
/// discussion deciding to approve).
const REVIEWED: [&str; 2] = ["approved", "decided_approve"];

/// Enqueues decision `id`'s metadata in `tx` (nothing for a draft or an unknown id).
pub async fn decision_changed(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &Tenant,
    id: Uuid,
) -> sqlx::Result<()> {
    let row: Option<Row> = sqlx::query_as!(
        Row,
        "UPDATE decisions d SET metadata_version = metadata_version + 1 \
         WHERE id = $1 AND status <> 'draft' RETURNING d.id, d.document_number, d.category, \
         d.procedure, d.matter, d.status, d.major, \
         (SELECT r.status FROM reviews r WHERE r.decision_id = d.id) AS review_status, \
         d.decided_on, d.issued_at, d.publish_online, d.disclosure_due, \
         d.disclosure_due_pending_year, d.published_at, d.revoked_at, d.withdrawal_due, \
         d.withdrawn_at, \
         (SELECT a.requires_full_av FROM actions a WHERE a.id = d.action_id) AS av_required, \
         (SELECT EXISTS (SELECT 1 FROM record_entries e WHERE e.action_id = a.id AND e.kind = 'av') \
            FROM actions a WHERE a.id = d.action_id) AS av_present, \
         d.metadata_version",
        id
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(r) = row else { return Ok(()) };
    let bad = |what: &str, v: &str| {
        sqlx::Error::Decode(format!("decision {}: unknown {what} {v:?}", r.id).into())
    };
    let meta = DecisionMetadata {
        decision_id: r.id.to_string(),
        category: EnforcementCategory::from_code(&r.category)
            .ok_or_else(|| bad("category", &r.category))?,
        procedure: Procedure::parse(&r.procedure).ok_or_else(|| bad("procedure", &r.procedure))?,
        document_number: r.document_number,
        matter: r.matter,
        status: r.status,
        review_required: r.major || r.review_status.is_some(),
        reviewed: r
            .review_status
            .as_deref()
            .is_some_and(|s| REVIEWED.contains(&s)),
        decided_on: r.decided_on,
        issued_at: r.issued_at,
        publish_online: r.publish_online,
        disclosure_due: r.disclosure_due,
        disclosure_due_pending_year: r.disclosure_due_pending_year,
        disclosed_at: r.published_at,
        revoked_at: r.revoked_at,
        withdrawal_due: r.withdrawal_due,
        withdrawn_at: r.withdrawn_at,
        av_required: r.av_required,
        av_present: r.av_present,
        version: r.metadata_version,
    };
    outbox::enqueue(tx, tenant, Event::DecisionMetadata, &meta).await?;
    Ok(())
}

/// The report for `counts` (without the instant, which always differs).
fn report(tenant: &Tenant, counts: &Counts, statistics_year: i32) -> ComplianceReport {
    ComplianceReport {
        display_name: tenant.display_name.clone(),
        disclosures_overdue: counts.disclosures_overdue,
        oldest_overdue_disclosure_due: (counts.oldest_overdue_disclosure_due > 0)
            .then(|| DateTime::from_timestamp(counts.oldest_overdue_disclosure_due, 0))
            .flatten()
            .map(|t| t.date_naive()),
        disclosures_due_soon: counts.disclosures_due_soon,
        withdrawals_overdue: counts.withdrawals_overdue,
        reviews_pending: counts.reviews_pending,
        reviews_overdue: counts.reviews_overdue,
        av_gaps: counts.av_gaps,
        officers: counts.officers,
        legal_reviewers: counts.legal_reviewers,
        legal_reviewer_ratio_permille: tenant.legal_reviewer_ratio_permille,
        annual_reported: counts.annual_reported,
        statistics_year,
        measured_at: DateTime::<Utc>::UNIX_EPOCH,
    }
}

/// Pushes the agency's compliance counts if they changed since the last push (by this
/// process). Outbox backlog and push lag are left out: they describe the push itself.
/// A failure is logged and retried at the next scan; it never stops the scan's gauges.
pub async fn push_compliance(
    state: &AppState,
    tenant: &Tenant,
    conn: &mut sqlx::PgConnection,
    counts: &Counts,
    statistics_year: i32,
) {
    if let Err(e) = try_push_compliance(state, tenant, conn, counts, statistics_year).await {
        tracing::warn!(agency = %tenant.agency, error = %e, "compliance not pushed; next scan retries");
    }
}

async fn try_push_compliance(
    state: &AppState,
    tenant: &Tenant,
    conn: &mut sqlx::PgConnection,
    counts: &Counts,
    statistics_year: i32,
) -> sqlx::Result<()> {
    let key = report(tenant, counts, statistics_year);
    let last = state
        .compliance_pushed
        .lock()
        .expect("lock")
        .get(&tenant.agency)
        .cloned();
    if last.as_ref() == Some(&key) {
        return Ok(());
    }
    let data = ComplianceReport {
        measured_at: state.clock.now(),
        ..key.clone()
    };
    let mut tx = sqlx::Connection::begin(conn).await?;
    outbox::enqueue(&mut tx, tenant, Event::Compliance, &data).await?;
    tx.commit().await?;
    state
        .compliance_pushed
        .lock()
        .expect("lock")
        .insert(tenant.agency.clone(), key);
    state.kick_relay(&tenant.agency);
    Ok(())
}

/// Enqueues a milestone report in `tx`.
pub async fn milestone_reported(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &Tenant,
    plan: &str,
    milestone: &str,
    due: NaiveDate,
    reported_at: DateTime<Utc>,
    revision: i32,
) -> sqlx::Result<()> {
    let data = MilestoneReported {
        plan: plan.to_string(),
        milestone: milestone.to_string(),
        due,
        reported_at,
        revision,
    };
    outbox::enqueue(tx, tenant, Event::MilestoneReport, &data).await?;
    Ok(())
}
