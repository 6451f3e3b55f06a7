//! Working-day calendars: the WorkCalendar objects of the cluster (watched by
//! [`crate::kube_source::KubeCalendarSource`]), or for runs without Kubernetes the
//! WorkCalendar YAML files of `--calendar-dir`.
//!
//! The arithmetic lives in `sanxiang_domain::calendar`; this module loads the data and
//! keeps the current [`Calendar`] swappable at run time. Each replacement wakes
//! [`Calendars::changed`], so that due dates pending on a year are computed the moment
//! the year is loaded ([`crate::deadlines`]).

use anyhow::Context;
use sanxiang_crds::calendar::{Calendar, WorkCalendarSpec};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;

pub use sanxiang_crds::calendar::CalendarError;

/// Reads every `*.yaml`/`*.yml` file in `dir` (multi-document allowed) and collects the
/// specs of `WorkCalendar` objects.
pub fn load_specs(dir: &Path) -> anyhow::Result<Vec<WorkCalendarSpec>> {
    let mut specs = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading calendar directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        specs.extend(parse_specs(&text).with_context(|| format!("parsing {}", path.display()))?);
    }
    Ok(specs)
}

/// Parses WorkCalendar objects (or bare specs) from YAML text.
pub fn parse_specs(text: &str) -> anyhow::Result<Vec<WorkCalendarSpec>> {
    use serde::Deserialize;
    let mut specs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(doc)?;
        if value.is_null() {
            continue;
        }
        let kind = value.get("kind").and_then(|k| k.as_str());
        let spec = match kind {
            Some("WorkCalendar") => value
                .get("spec")
                .cloned()
                .context("WorkCalendar without spec")?,
            Some(_) => continue,
            None => value,
        };
        specs.push(serde_yaml::from_value(spec)?);
    }
    Ok(specs)
}

/// The calendar in force; replaced when calendars are reloaded.
#[derive(Clone)]
pub struct Calendars {
    inner: Arc<RwLock<Arc<Calendar>>>,
    loaded: Arc<AtomicBool>,
    changed: Arc<Notify>,
}

impl Calendars {
    /// Calendars built from `specs`, loaded.
    pub fn new(specs: &[WorkCalendarSpec]) -> anyhow::Result<Self> {
        let cal = Calendar::from_specs(specs.iter()).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self {
            inner: Arc::new(RwLock::new(Arc::new(cal))),
            loaded: Arc::new(AtomicBool::new(true)),
            changed: Arc::new(Notify::new()),
        })
    }
    pub fn from_dir(dir: Option<&Path>) -> anyhow::Result<Self> {
        match dir {
            Some(d) => Self::new(&load_specs(d)?),
            None => Self::new(&[]),
        }
    }
    /// No calendar yet: a source (the WorkCalendar watch) fills it.
    pub fn awaiting_source() -> Self {
        let c = Self::new(&[]).expect("no specs are consistent");
        c.loaded.store(false, Ordering::SeqCst);
        c
    }
    pub fn replace(&self, specs: &[WorkCalendarSpec]) -> anyhow::Result<()> {
        let cal = Calendar::from_specs(specs.iter()).map_err(|e| anyhow::anyhow!("{e}"))?;
        *self.inner.write().expect("calendar lock") = Arc::new(cal);
        self.loaded.store(true, Ordering::SeqCst);
        // One waiter (the resolver); a permit is kept if it is busy.
        self.changed.notify_one();
        Ok(())
    }
    pub fn get(&self) -> Arc<Calendar> {
        self.inner.read().expect("calendar lock").clone()
    }
    /// Whether calendars were loaded at least once (`/ready` waits for it).
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::SeqCst)
    }
    /// Resolves at the next [`Calendars::replace`] (for one waiter: the resolver).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// Where calendars come from. `run` loads them into `calendars` and keeps them current
/// until the returned future ends (or forever).
pub trait CalendarSource: Send + Sync + 'static {
    fn run(
        self: Box<Self>,
        calendars: Calendars,
    ) -> futures::future::BoxFuture<'static, anyhow::Result<()>>;
}
