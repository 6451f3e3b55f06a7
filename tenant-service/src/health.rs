//! Health of the background loops (metrics scanner, outbox relay).
//!
//! A loop that ends, by an error or a panic, is marked dead: `/ready` answers 503 naming it,
//! `sanxiang_background_loop_up{loop}` drops to 0 and the failure is logged. A loop that
//! beats ([`LoopHealth::beat`]) is also reported when its last beat is older than its
//! allowed gap, so a loop stuck on one tenant shows up as well. Failures of a single
//! iteration (one tenant's bad row) do not end a loop: the loop reports them and goes on.

use crate::metrics::Metrics;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct LoopState {
    alive: bool,
    last_beat: Instant,
    /// `None`: the loop does not beat; only its end is watched.
    max_gap: Option<Duration>,
}

/// The registered loops and their state.
#[derive(Debug, Default)]
pub struct LoopHealth {
    // Owned names: a `&'static str` inside the shared state trips the compiler's `Send`
    // check of every future that holds the state.
    loops: Mutex<BTreeMap<String, LoopState>>,
}

impl LoopHealth {
    /// Registers a loop as alive.
    pub fn register(&self, name: &'static str, max_gap: Option<Duration>) {
        self.loops.lock().expect("health lock").insert(
            name.to_string(),
            LoopState {
                alive: true,
                last_beat: Instant::now(),
                max_gap,
            },
        );
    }

    /// The loop finished one round.
    pub fn beat(&self, name: &'static str) {
        if let Some(l) = self.loops.lock().expect("health lock").get_mut(name) {
            l.last_beat = Instant::now();
        }
    }

    fn mark_dead(&self, name: &'static str) {
        if let Some(l) = self.loops.lock().expect("health lock").get_mut(name) {
            l.alive = false;
        }
    }

    /// Loops that are dead or late, with why; empty when all are well.
    pub fn problems(&self) -> Vec<String> {
        self.loops
            .lock()
            .expect("health lock")
            .iter()
            .filter_map(|(name, l)| {
                if !l.alive {
                    return Some(format!("{name} loop stopped"));
                }
                let gap = l.last_beat.elapsed();
                match l.max_gap {
                    Some(max) if gap > max => Some(format!(
                        "{name} loop has not finished a round for {} s",
                        gap.as_secs()
                    )),
                    _ => None,
                }
            })
            .collect()
    }
}

/// Aborts the task when dropped (the supervisor is aborted at shutdown: so is its loop).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Watches a background loop running as its own task; when it ends (returns or panics) it
/// is marked dead, counted and logged.
pub async fn supervise(
    health: &LoopHealth,
    metrics: &Metrics,
    name: &'static str,
    task: tokio::task::JoinHandle<()>,
) {
    metrics.background_loop_up.with_label_values(&[name]).set(1);
    let mut guard = AbortOnDrop(task);
    let outcome = (&mut guard.0).await;
    health.mark_dead(name);
    metrics.background_loop_up.with_label_values(&[name]).set(0);
    metrics
        .background_failures_total
        .with_label_values(&[name])
        .inc();
    match outcome {
        Ok(()) => tracing::error!(loop_name = name, "background loop ended"),
        Err(e) if e.is_panic() => tracing::error!(
            loop_name = name,
            panic = %panic_message(&e.into_panic()),
            "background loop panicked"
        ),
        Err(e) => tracing::error!(loop_name = name, error = %e, "background loop cancelled"),
    }
}

/// The message of a caught panic.
pub fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_loop_is_reported_dead() {
        let h = LoopHealth::default();
        let m = Metrics::new();
        h.register("scanner", Some(Duration::from_secs(60)));
        assert!(h.problems().is_empty());
        let task = tokio::spawn(async { panic!("valid date") });
        supervise(&h, &m, "scanner", task).await;
        assert_eq!(h.problems(), vec!["scanner loop stopped".to_string()]);
        assert!(
            m.render()
                .contains("sanxiang_background_loop_up{loop=\"scanner\"} 0")
        );
    }

    #[test]
    fn a_late_loop_is_reported() {
        let h = LoopHealth::default();
        h.register("scanner", Some(Duration::ZERO));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(h.problems().len(), 1);
        h.register("relay", None);
        assert_eq!(h.problems().len(), 1);
    }
}
