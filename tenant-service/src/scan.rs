//! Periodic per-tenant scan that refreshes the gauges with cheap SQL counts.

use crate::calendar::CalendarError;
use crate::state::AppState;
use crate::tenants::Tenant;
use chrono::Datelike;
use futures::stream::{self, StreamExt};
use std::collections::HashSet;
use std::time::Duration;

#[derive(Debug, Default, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Counts {
    pub disclosures_overdue: i64,
    /// Unix time of 00:00 UTC of the oldest overdue disclosure's due date (0 if none).
    pub oldest_overdue_disclosure_due: i64,
    pub disclosures_due_soon: i64,
    pub withdrawals_overdue: i64,
    pub reviews_pending: i64,
    pub reviews_overdue: i64,
    pub av_gaps: i64,
    pub outbox_backlog: i64,
    pub push_lag_seconds: i64,
    pub officers: i64,
    pub legal_reviewers: i64,
    pub annual_reported: bool,
}

/// Scans one tenant and sets its gauges. Returns the counts.
pub async fn scan_tenant(state: &AppState, tenant: &Tenant) -> anyhow::Result<Counts> {
    let mut conn = state
        .pools
        .job_connection(tenant)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let result = scan_with(state, tenant, &mut conn).await;
    conn.finish().await;
    result
}

async fn scan_with(
    state: &AppState,
    tenant: &Tenant,
    conn: &mut sqlx::PgConnection,
) -> anyhow::Result<Counts> {
    let now = state.clock.now();
    let today = state.clock.today();
    let cal = state.calendars.get();
    let mut missing: Option<i32> = None;
    // "due soon" = due within the next 2 working days (today included).
    let soon_limit = match cal.add_working_days(today, 2) {
        Ok(d) => d,
        Err(CalendarError::MissingYear(y)) => {
            missing = Some(y);
            today
        }
        Err(_) => today,
    };
    if missing.is_none() {
        // A deadline computation failed earlier: still missing?
        let noted = state
            .calendar_missing
            .lock()
            .expect("lock")
            .get(&tenant.agency)
            .copied();
        if let Some(y) = noted {
            // A year outside the API's date range (or one chrono cannot represent) is no
            // deadline anybody can have: forget it.
            let still_missing = crate::api::YEARS.contains(&y)
                && chrono::NaiveDate::from_ymd_opt(y, 1, 1)
                    .is_some_and(|jan1| cal.is_working_day(jan1).is_err());
            if still_missing {
                missing = Some(y);
            } else {
                state
                    .calendar_missing
                    .lock()
                    .expect("lock")
                    .remove(&tenant.agency);
            }
        }
    }
    // Due dates pending on a missing year: compute those the calendar answers now.
    let pending_due_dates = crate::deadlines::resolve_pending_with(&cal, tenant, conn).await?;
    let counts: Counts = sqlx::query_as!(
        Counts,
        r#"SELECT
          (SELECT count(*) FROM decisions WHERE status = 'issued' AND publish_online AND published_at IS NULL
             AND disclosure_due < $1) AS "disclosures_overdue!",
          (SELECT COALESCE(EXTRACT(EPOCH FROM min(disclosure_due)::timestamp), 0)::bigint FROM decisions
             WHERE status = 'issued' AND publish_online AND published_at IS NULL
             AND disclosure_due < $1) AS "oldest_overdue_disclosure_due!",
          (SELECT count(*) FROM decisions WHERE status = 'issued' AND publish_online AND published_at IS NULL
             AND disclosure_due >= $1 AND disclosure_due <= $2) AS "disclosures_due_soon!",
          (SELECT count(*) FROM decisions WHERE status = 'revoked' AND published_at IS NOT NULL
             AND withdrawn_at IS NULL AND withdrawal_due < $3) AS "withdrawals_overdue!",
          (SELECT count(*) FROM reviews WHERE status IN ('submitted','resubmitted','negotiation',
             'collective_discussion')) AS "reviews_pending!",
          (SELECT count(*) FROM reviews WHERE status IN ('submitted','resubmitted') AND opinion_due < $1)
             AS "reviews_overdue!",
          (SELECT count(*) FROM actions a WHERE a.requires_full_av AND NOT EXISTS
             (SELECT 1 FROM record_entries e WHERE e.action_id = a.id AND e.kind = 'av')) AS "av_gaps!",
          (SELECT count(*) FROM outbox WHERE relayed_at IS NULL) AS "outbox_backlog!",
          (SELECT COALESCE(floor(EXTRACT(EPOCH FROM (clock_timestamp() - min(created_at)))), 0)::bigint
             FROM outbox WHERE relayed_at IS NULL) AS "push_lag_seconds!",
          (SELECT count(*) FROM personnel WHERE active AND role = 'officer' AND valid_from <= $1
             AND valid_until >= $1) AS "officers!",
          (SELECT count(*) FROM personnel WHERE active AND role = 'legal_reviewer' AND valid_from <= $1
             AND valid_until >= $1) AS "legal_reviewers!",
          EXISTS (SELECT 1 FROM annual_reports WHERE year = $4) AS "annual_reported!""#,
        today,
        soon_limit,
        now,
        today.year() - 1,
    )
    .fetch_one(&mut *conn)
    .await?;
    crate::upward::push_compliance(state, tenant, conn, &counts, today.year() - 1).await;
    if counts.outbox_backlog > 0 {
        state
            .relay_pending
            .lock()
            .expect("lock")
            .insert(tenant.agency.clone());
    }
    // Retention of the outbox: relayed rows are kept 7 days for inspection, then purged.
    sqlx::query!("DELETE FROM outbox WHERE relayed_at < now() - interval '7 days'")
        .execute(&mut *conn)
        .await?;
    let milestones: Vec<(String, String, chrono::NaiveDate)> = sqlx::query!(
        "SELECT plan, milestone, due FROM milestone_reports WHERE due >= $1",
        today - chrono::Duration::days(400)
    )
    .map(|r| (r.plan, r.milestone, r.due))
    .fetch_all(&mut *conn)
    .await?;
    let m = &state.metrics;
    let l = tenant.labels();
    for (plan, milestone, due) in &milestones {
        let due = due.to_string();
        m.milestone_completed
            .with_label_values(&[l[0], l[1], l[2], l[3], plan, milestone, &due])
            .set(1);
    }
    m.disclosures_overdue
        .with_label_values(&l)
        .set(counts.disclosures_overdue);
    m.disclosures_oldest_overdue_due_date
        .with_label_values(&l)
        .set(counts.oldest_overdue_disclosure_due);
    m.disclosures_due_soon
        .with_label_values(&l)
        .set(counts.disclosures_due_soon);
    m.withdrawals_overdue
        .with_label_values(&l)
        .set(counts.withdrawals_overdue);
    m.reviews_pending
        .with_label_values(&l)
        .set(counts.reviews_pending);
    m.reviews_overdue
        .with_label_values(&l)
        .set(counts.reviews_overdue);
    m.av_gaps.with_label_values(&l).set(counts.av_gaps);
    m.outbox_backlog
        .with_label_values(&l)
        .set(counts.outbox_backlog);
    m.push_lag_seconds
        .with_label_values(&l)
        .set(counts.push_lag_seconds);
    m.officers.with_label_values(&l).set(counts.officers);
    m.legal_reviewers
        .with_label_values(&l)
        .set(counts.legal_reviewers);
    let year = (today.year() - 1).to_string();
    m.annual_statistics_reported
        .with_label_values(&[l[0], l[1], l[2], l[3], &year])
        .set(i64::from(counts.annual_reported));
    m.calendar_missing_year
        .with_label_values(&l)
        .set(i64::from(missing.is_some() || pending_due_dates > 0));
    Ok(counts)
}

/// Scans every tenant once (bounded concurrency).
pub async fn scan_all(state: &AppState) {
    let tenants = state.tenants.all();
    let known: HashSet<String> = tenants.iter().map(|t| t.agency.clone()).collect();
    stream::iter(tenants)
        .for_each_concurrent(4, |t| {
            let state = state.clone();
            async move {
                // One tenant's bad row (or a bug it triggers) is reported and skipped; it
                // never stops the scan of the others.
                // Its own task: a panic ends that task, not the loop.
                let task = {
                    let (state, t) = (state.clone(), t.clone());
                    tokio::spawn(async move { scan_tenant(&state, &t).await.map(|_| ()) })
                };
                let failure = match task.await {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e.to_string()),
                    Err(e) if e.is_panic() => Some(format!(
                        "panic: {}",
                        crate::health::panic_message(&e.into_panic())
                    )),
                    Err(e) => Some(e.to_string()),
                };
                if let Some(error) = failure {
                    state
                        .metrics
                        .scan_failures_total
                        .with_label_values(&t.labels())
                        .inc();
                    tracing::warn!(agency = %t.agency, %error, "metrics scan failed");
                }
            }
        })
        .await;
    // Forget series of tenants that are gone.
    let mut seen = state.scanned.lock().expect("lock");
    for gone in seen.difference(&known) {
        if let Some((p, c, k)) = state.last_labels.lock().expect("lock").remove(gone) {
            state.metrics.forget_tenant(&[&p, &c, &k, gone]);
        }
    }
    *seen = known;
    let mut labels = state.last_labels.lock().expect("lock");
    for t in state.tenants.all() {
        labels.insert(
            t.agency.clone(),
            (t.province.clone(), t.city.clone(), t.county.clone()),
        );
    }
}

pub async fn run_scanner(state: AppState, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        scan_all(&state).await;
        state.loops.beat("scanner");
        let closed = state.pools.evict_idle().await;
        if closed > 0 {
            tracing::debug!(closed, "idle tenant pools closed");
        }
    }
}
