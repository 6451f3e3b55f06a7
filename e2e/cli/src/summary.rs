//! What `make up` prints at the end: where everything listens, how to sign in, and which
//! alerts the sample province is expected to fire today.

use anyhow::{Context, Result};

use sanxiang_testkit::Platform;

use crate::up::AppPorts;

/// The years whose State Council holiday notice ships as a WorkCalendar fixture.
pub const SAMPLE_CALENDAR_YEARS: [i32; 2] = [2025, 2026];

/// Which alerts the sample province is expected to fire today, for the summary: the demo
/// data itself keeps every deadline, but from November 1 (the operator's default
/// `--calendar-warn-from`) the calendar alert says, truthfully, that next year's notice is
/// not loaded yet.
fn expected_alerts(today: chrono::NaiveDate) -> String {
    let warn_from = sanxiang_operator::calendar_watch::parse_month_day("11-01")
        .expect("the operator's default warn date parses");
    let missing =
        sanxiang_operator::calendar_watch::missing_years(&SAMPLE_CALENDAR_YEARS, today, warn_from);
    let kept = "the demo data publishes what it issues, withdraws what it revokes and reports 2025";
    match missing.as_slice() {
        [] => format!("none should fire: {kept}"),
        years => format!(
            "{kept}; SanxiangWorkCalendarNotLoaded fires: no WorkCalendar for {} is loaded \
             (add the State Council's holiday notice with kubectl apply)",
            years
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// What `make up` prints at the end.
pub fn summary(p: &Platform) -> Result<String> {
    let ports = AppPorts::load_or_create(p).context("apps.json")?;
    Ok(format!(
        "kube-apiserver   {api}\n\
         kubeconfig       {kc}\n\
         postgres         {pg}\n\
         nats             {nats} (operator mode; admin creds {creds})\n\
         operator         http://127.0.0.1:{op}/metrics\n\
         tenant service   http://127.0.0.1:{ta}/openapi.json  (metrics http://127.0.0.1:{tm}/metrics)\n\
         portal           http://127.0.0.1:{portal}/  (公示平台 of Liaoning; API http://127.0.0.1:{portal}/api/v1/openapi.json)\n\
         supervision      http://127.0.0.1:{sv}/api/v1/supervision/agencies  (执法监督 workspace; metrics http://127.0.0.1:{svm}/metrics)\n\
         sign-in          {issuer}  (Ory Hydra; users of e2e/fixtures/oidc/users.json, password {pw}, client {client})\n\
         prometheus       http://127.0.0.1:{prom}/alerts  ({alerts})\n\
         alertmanager     http://127.0.0.1:{am}/#/status  (routes: the AlertmanagerConfigs of each city and of the province, `kubectl get amcfg -A`)\n\
         logs             {logs}\n\n\
         Try:\n  export KUBECONFIG={kc}\n  kubectl get jurisdictions,agencies -A\n  kubectl describe agency -n sx-210100 shenyang-market\n  TOKEN=$(cargo run -q -p sanxiang-local --bin sanxiang-local -- token --agency shenyang-market --role officer)\n  curl -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:{ta}/api/v1/agencies/shenyang-market/decisions\n",
        alerts = expected_alerts(sanxiang_crds::domain::time::china_date(chrono::Utc::now())),
        api = p.apiserver_url(),
        kc = p.kubeconfig().display(),
        pg = p.postgres_url("postgres"),
        nats = p.nats_url(),
        creds = p.nats_admin_creds().display(),
        op = ports.operator_admin,
        ta = ports.tenant_api,
        tm = ports.tenant_admin,
        prom = ports.prometheus,
        am = ports.alertmanager,
        portal = ports.portal,
        sv = ports.supervision,
        svm = ports.supervision_admin,
        issuer = p.oidc_issuer(),
        pw = sanxiang_testkit::platform::SAMPLE_PASSWORD,
        client = sanxiang_testkit::platform::CONSOLE_CLIENT_ID,
        logs = p.state_dir.join("logs").display(),
    ))
}
