//! Working-day calendars, loaded from WorkCalendar YAML files (`--calendar-dir`).
//!
//! The arithmetic lives in `sanxiang_crds::calendar`; this module loads the data and
//! keeps the current [`Calendar`] swappable at run time.

use anyhow::Context;
use sanxiang_crds::calendar::{Calendar, WorkCalendarSpec};
use std::path::Path;
use std::sync::{Arc, RwLock};

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
}

impl Calendars {
    pub fn new(specs: &[WorkCalendarSpec]) -> anyhow::Result<Self> {
        let cal = Calendar::from_specs(specs.iter()).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self {
            inner: Arc::new(RwLock::new(Arc::new(cal))),
        })
    }
    pub fn from_dir(dir: Option<&Path>) -> anyhow::Result<Self> {
        match dir {
            Some(d) => Self::new(&load_specs(d)?),
            None => Self::new(&[]),
        }
    }
    pub fn replace(&self, specs: &[WorkCalendarSpec]) -> anyhow::Result<()> {
        let cal = Calendar::from_specs(specs.iter()).map_err(|e| anyhow::anyhow!("{e}"))?;
        *self.inner.write().expect("calendar lock") = Arc::new(cal);
        Ok(())
    }
    pub fn get(&self) -> Arc<Calendar> {
        self.inner.read().expect("calendar lock").clone()
    }
}
