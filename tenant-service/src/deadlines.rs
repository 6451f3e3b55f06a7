//! Disclosure due dates that wait for a calendar.
//!
//! A decision's disclosure is due a number of working days after it is decided, counted
//! with the WorkCalendars. When that count reaches into a year nobody has loaded yet
//! (the State Council announces next year's holidays only in the autumn), the decision
//! is still issued and recorded; its due date is pending
//! (`disclosureDue: "pending: no calendar for 2027"`, column
//! `disclosure_due_pending_year`) and becomes a date as soon as the year is loaded:
//! [`resolve_pending`] runs whenever the calendars change and on every metrics scan, and
//! pushes each decision it dates to the supervision workspace.
//! While any due date is pending, `sanxiang_calendar_missing_year` is 1 for the agency.

use chrono::NaiveDate;
use sanxiang_domain::{Calendar, DueDate};
use serde::{Serialize, Serializer};

use crate::state::AppState;
use crate::tenants::Tenant;

/// A decision's disclosure due date as stored: a date, pending on a year, or neither
/// (a draft). Serialized as the date, "pending: no calendar for YEAR", or null.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DisclosureDue {
    pub disclosure_due: Option<NaiveDate>,
    pub disclosure_due_pending_year: Option<i32>,
}

impl DisclosureDue {
    /// What a due date computed for an issue is stored as.
    pub fn from_due(due: DueDate) -> Self {
        match due {
            DueDate::On(d) => Self {
                disclosure_due: Some(d),
                disclosure_due_pending_year: None,
            },
            DueDate::Pending { year } => Self {
                disclosure_due: None,
                disclosure_due_pending_year: Some(year),
            },
        }
    }

    /// The due date, if known or pending.
    pub fn due(self) -> Option<DueDate> {
        match (self.disclosure_due, self.disclosure_due_pending_year) {
            (Some(d), _) => Some(DueDate::On(d)),
            (None, Some(year)) => Some(DueDate::Pending { year }),
            (None, None) => None,
        }
    }
}

impl Serialize for DisclosureDue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.due() {
            Some(due) => s.collect_str(&due),
            None => s.serialize_none(),
        }
    }
}

/// Computes the pending due dates of one tenant that the calendar can now answer. Each
/// decision whose due date became a date (or waits on another year now) is updated in a
/// transaction of its own that also pushes its metadata upward
/// ([`crate::upward::decision_changed`]), so the supervision workspace learns the date
/// when it is known, not at the decision's next change. A decision that still waits on
/// the same year is not written. Returns how many are still pending.
pub async fn resolve_pending_with(
    calendar: &Calendar,
    tenant: &Tenant,
    conn: &mut sqlx::PgConnection,
) -> sqlx::Result<usize> {
    use sqlx::Connection as _;
    let pending: Vec<(uuid::Uuid, NaiveDate, i32, i32)> = sqlx::query!(
        r#"SELECT id, decided_on AS "decided_on!", disclosure_days AS "disclosure_days!",
                  disclosure_due_pending_year AS "pending_year!" FROM decisions
         WHERE disclosure_due_pending_year IS NOT NULL AND decided_on IS NOT NULL
           AND disclosure_days IS NOT NULL"#
    )
    .map(|r| (r.id, r.decided_on, r.disclosure_days, r.pending_year))
    .fetch_all(&mut *conn)
    .await?;
    let mut still_pending = 0;
    for (id, decided_on, days, pending_year) in pending {
        let Ok(due) = calendar.due_after(decided_on, u32::try_from(days).unwrap_or(0)) else {
            // An inconsistent calendar answers nothing: keep waiting.
            still_pending += 1;
            continue;
        };
        let stored = DisclosureDue::from_due(due);
        if stored.disclosure_due.is_none() {
            still_pending += 1;
            if stored.disclosure_due_pending_year == Some(pending_year) {
                continue;
            }
        }
        let mut tx = conn.begin().await?;
        let updated = sqlx::query!(
            "UPDATE decisions SET disclosure_due = $2, disclosure_due_pending_year = $3 \
             WHERE id = $1 AND disclosure_due_pending_year = $4",
            id,
            stored.disclosure_due,
            stored.disclosure_due_pending_year,
            pending_year,
        )
        .execute(&mut *tx)
        .await?;
        // Unchanged since it was read (another replica resolved it first): nothing to push.
        if updated.rows_affected() == 1 {
            crate::upward::decision_changed(&mut tx, tenant, id).await?;
        }
        tx.commit().await?;
    }
    Ok(still_pending)
}

/// [`resolve_pending_with`] for one tenant on a job connection.
pub async fn resolve_pending(state: &AppState, tenant: &Tenant) -> anyhow::Result<usize> {
    let mut conn = state
        .pools
        .job_connection(tenant)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let calendar = state.calendars.get();
    let result = resolve_pending_with(&calendar, tenant, &mut conn).await;
    conn.finish().await;
    Ok(result?)
}

/// Resolves pending due dates of every tenant each time the calendars change.
pub async fn run_resolver(state: AppState) {
    loop {
        state.calendars.changed().await;
        for tenant in state.tenants.all() {
            match resolve_pending(&state, &tenant).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(agency = %tenant.agency, pending = n, "due dates still pending")
                }
                Err(e) => {
                    tracing::warn!(agency = %tenant.agency, error = %e, "resolving pending due dates failed")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialized_as_date_pending_or_null() {
        let d: NaiveDate = "2026-10-15".parse().unwrap();
        let json = |x: DisclosureDue| serde_json::to_value(x).unwrap();
        assert_eq!(json(DisclosureDue::from_due(DueDate::On(d))), "2026-10-15");
        assert_eq!(
            json(DisclosureDue::from_due(DueDate::Pending { year: 2027 })),
            "pending: no calendar for 2027"
        );
        assert_eq!(json(DisclosureDue::default()), serde_json::Value::Null);
    }
}
