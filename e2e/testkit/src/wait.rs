//! The one way tests wait for something to become true.
//!
//! Why: against real programs most effects are eventual (a reconcile, a stream consumer, a
//! server starting), so tests poll. Written once, a poll always has a deadline, always says
//! what it awaited and for how long, and reports the last error the check met, instead of
//! a bare "timed out" or a loop that spins forever. [`eventually`] is for async tests;
//! [`until`] for the blocking code of the platform and the synchronous tests. Both poll
//! quickly at first (a condition that already holds costs 50 ms at most) and back off to
//! every 250 ms.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};

/// An error a check returns to stop waiting at once (the awaited process exited, say):
/// the wait fails with it instead of polling on to the deadline.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GiveUp(pub String);

/// The pause before the `n`th retry: 50 ms doubling up to 250 ms.
fn pause(n: u32) -> Duration {
    Duration::from_millis((50u64 << n.min(3)).min(250))
}

/// The error of a wait that ran out: what was awaited, for how long, and the last error the
/// check returned (if it returned any).
fn ran_out(what: &str, timeout: Duration, last: Option<anyhow::Error>) -> anyhow::Error {
    let message = format!("{what}: not true within {timeout:?}");
    match last {
        Some(e) => e.context(message),
        None => anyhow!(message),
    }
}

/// Polls the async `check` until it returns `Ok(true)` or `timeout` passes. An `Err` from
/// the check counts as "not yet" (the thing may still be starting, or the check says what
/// it saw); the last one is reported if the time runs out, unless it is a [`GiveUp`].
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    eventually_some(what, timeout, || {
        let done = check();
        async move { Ok(done.await?.then_some(())) }
    })
    .await
}

/// [`eventually`] for a check that finds something: polls until it returns `Ok(Some(value))`
/// and returns the value.
pub async fn eventually_some<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = None;
    for n in 0.. {
        match check().await {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => {}
            Err(e) if e.is::<GiveUp>() => return Err(e.context(what.to_string())),
            Err(e) => last = Some(e),
        }
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(pause(n)).await;
    }
    Err(ran_out(what, timeout, last))
}

/// [`eventually`] for blocking code: polls `check` on this thread.
pub fn until(what: &str, timeout: Duration, mut check: impl FnMut() -> Result<bool>) -> Result<()> {
    until_some(what, timeout, || Ok(check()?.then_some(())))
}

/// [`eventually_some`] for blocking code.
pub fn until_some<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    let mut last = None;
    for n in 0.. {
        match check() {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => {}
            Err(e) if e.is::<GiveUp>() => return Err(e.context(what.to_string())),
            Err(e) => last = Some(e),
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(pause(n));
    }
    Err(ran_out(what, timeout, last))
}

/// Waits until something accepts connections on the loopback `port`.
pub fn port_open(port: u16, timeout: Duration) -> Result<()> {
    until(
        &format!("something listens on 127.0.0.1:{port}"),
        timeout,
        || Ok(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_what_it_awaited_and_the_last_error() {
        let mut calls = 0;
        let e = until("the answer", Duration::from_millis(120), || {
            calls += 1;
            anyhow::bail!("attempt {calls}")
        })
        .unwrap_err();
        let text = format!("{e:#}");
        assert!(
            text.starts_with("the answer: not true within 120ms: attempt "),
            "{text}"
        );
        assert!(calls >= 2, "polled {calls} times");
    }

    #[test]
    fn a_give_up_ends_the_wait_at_once() {
        let started = Instant::now();
        let e = until("the server", Duration::from_secs(30), || {
            Err(GiveUp("the process exited".into()).into())
        })
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(format!("{e:#}"), "the server: the process exited");
    }

    #[tokio::test]
    async fn returns_as_soon_as_the_check_holds() {
        let mut calls = 0;
        eventually("third time", Duration::from_secs(5), || {
            calls += 1;
            let done = calls == 3;
            async move { Ok(done) }
        })
        .await
        .unwrap();
        assert_eq!(calls, 3);
    }
}
