//! The directory of agencies and places, from the Agency and Jurisdiction objects
//! (read-only watches). It gives official names (沈阳市市场监督管理局), credit codes and
//! Chinese place names to what the events only name by slug and code, and each agency's
//! retention periods from its `status.effectivePolicies` ([`crate::retention`]).
//!
//! What the index holds from here (names, retention) can go stale when an Agency or a
//! Jurisdiction changes; every change marks the agencies concerned *stale* and wakes the
//! stream follower, which rewrites their decisions ([`crate::reindex`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, ResourceExt};
use sanxiang_crds::{Agency, Jurisdiction, JurisdictionLevel};
use serde::Serialize;
use tokio::sync::Notify;

use crate::reindex::IndexedAgency;
use crate::retention::Retention;

/// One agency.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgencyEntry {
    /// The agency's name in events and URLs (the Agency object's name).
    pub name: String,
    pub display_name: String,
    pub credit_code: String,
    /// Code of the city or county it belongs to.
    pub jurisdiction: String,
    pub categories: Vec<String>,
}

/// One place.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Place {
    pub code: String,
    pub display_name: String,
    pub level: String,
    pub parent: Option<String>,
}

#[derive(Default)]
struct Data {
    agencies: HashMap<String, AgencyEntry>,
    places: HashMap<String, Place>,
    /// Agencies with a retention policy (absent: kept online).
    retention: HashMap<String, Retention>,
}

/// Agencies whose indexed names or retention may differ from the directory.
#[derive(Default)]
struct Stale {
    all: bool,
    agencies: BTreeSet<String>,
}

/// Shared, read-mostly directory.
#[derive(Clone, Default)]
pub struct Directory {
    data: Arc<RwLock<Data>>,
    agencies_synced: Arc<AtomicBool>,
    places_synced: Arc<AtomicBool>,
    stale: Arc<Mutex<Stale>>,
    /// Woken when something becomes stale.
    changed: Arc<Notify>,
}

impl Directory {
    pub fn agency(&self, name: &str) -> Option<AgencyEntry> {
        self.data.read().expect("lock").agencies.get(name).cloned()
    }

    pub fn place(&self, code: &str) -> Option<Place> {
        self.data.read().expect("lock").places.get(code).cloned()
    }

    /// 铁岭县 for 211221; the code itself when unknown.
    pub fn place_name(&self, code: &str) -> String {
        self.place(code)
            .map_or_else(|| code.to_string(), |p| p.display_name)
    }

    /// The agency's official name; its slug when unknown.
    pub fn agency_name(&self, name: &str) -> String {
        self.agency(name)
            .map_or_else(|| name.to_string(), |a| a.display_name)
    }

    /// Agencies matching `what`: exactly by name, credit code or official name, otherwise
    /// those whose official name contains it.
    pub fn resolve_agency(&self, what: &str) -> Vec<String> {
        let data = self.data.read().expect("lock");
        let exact: Vec<String> = data
            .agencies
            .values()
            .filter(|a| a.name == what || a.credit_code == what || a.display_name == what)
            .map(|a| a.name.clone())
            .collect();
        if !exact.is_empty() {
            return exact;
        }
        let mut found: Vec<String> = data
            .agencies
            .values()
            .filter(|a| a.display_name.contains(what))
            .map(|a| a.name.clone())
            .collect();
        found.sort();
        found
    }

    /// Whether `code` is a province's (its province-level agencies, 省级行政执法机关, are
    /// listed under it where a city's are listed under their city).
    pub fn is_province(&self, code: &str) -> bool {
        self.place(code)
            .map_or(code.ends_with("0000"), |p| p.level == "Province")
    }

    /// (city code, county code or None) of a jurisdiction code; a province-level
    /// agency's is (province code, None).
    pub fn city_and_county(&self, code: &str) -> (String, Option<String>) {
        match self.place(code) {
            Some(p) if p.level == "County" => (p.parent.unwrap_or_default(), Some(code.into())),
            Some(_) => (code.to_string(), None),
            None if code.ends_with("00") => (code.to_string(), None),
            None => (
                format!("{}00", &code[..code.len().min(4)]),
                Some(code.into()),
            ),
        }
    }

    /// Agencies grouped by city, then county (`None`: city-level agencies), sorted by code;
    /// province-level agencies form the group of their province's code, first.
    pub fn by_place(&self) -> BTreeMap<String, BTreeMap<Option<String>, Vec<AgencyEntry>>> {
        let agencies: Vec<AgencyEntry> = self
            .data
            .read()
            .expect("lock")
            .agencies
            .values()
            .cloned()
            .collect();
        let mut out: BTreeMap<String, BTreeMap<Option<String>, Vec<AgencyEntry>>> = BTreeMap::new();
        for a in agencies {
            let (city, county) = self.city_and_county(&a.jurisdiction);
            out.entry(city)
                .or_default()
                .entry(county)
                .or_default()
                .push(a);
        }
        for counties in out.values_mut() {
            for list in counties.values_mut() {
                list.sort_by(|a, b| a.display_name.cmp(&b.display_name));
            }
        }
        out
    }

    /// Both watches have delivered their initial lists.
    pub fn synced(&self) -> bool {
        self.agencies_synced.load(Ordering::Relaxed) && self.places_synced.load(Ordering::Relaxed)
    }

    pub fn len(&self) -> (usize, usize) {
        let d = self.data.read().expect("lock");
        (d.agencies.len(), d.places.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }

    pub fn upsert_agency(&self, a: AgencyEntry) {
        let retention = self.retention(&a.name);
        self.apply_agency(a, retention);
    }

    /// Adds or replaces an agency with its retention; marks it stale when what the
    /// index holds of it changes (or when it appears after the first sync: decisions
    /// may have arrived before its Agency object).
    pub fn apply_agency(&self, a: AgencyEntry, retention: Retention) {
        let name = a.name.clone();
        let changed = {
            let mut d = self.data.write().expect("lock");
            let before = (
                d.agencies.get(&name).cloned(),
                d.retention.get(&name).copied().unwrap_or(Retention::KEEP),
            );
            let changed = match &before.0 {
                Some(old) => {
                    old.display_name != a.display_name
                        || old.jurisdiction != a.jurisdiction
                        || before.1 != retention
                }
                None => self.synced(),
            };
            d.agencies.insert(name.clone(), a);
            if retention == Retention::KEEP {
                d.retention.remove(&name);
            } else {
                d.retention.insert(name.clone(), retention);
            }
            changed
        };
        if changed {
            self.mark_stale(Some(&name));
        }
    }

    /// Sets an agency's retention periods (marks it stale when they change).
    pub fn set_retention(&self, agency: &str, retention: Retention) {
        match self.agency(agency) {
            Some(a) => self.apply_agency(a, retention),
            None => {
                let mut d = self.data.write().expect("lock");
                d.retention.insert(agency.to_string(), retention);
                drop(d);
                self.mark_stale(Some(agency));
            }
        }
    }

    fn remove_agency(&self, name: &str) {
        let mut d = self.data.write().expect("lock");
        d.agencies.remove(name);
        d.retention.remove(name);
        drop(d);
        self.mark_stale(Some(name));
    }

    pub fn upsert_place(&self, p: Place) {
        let renamed = {
            let mut d = self.data.write().expect("lock");
            let renamed =
                d.places.get(&p.code).is_some_and(|old| {
                    old.display_name != p.display_name || old.parent != p.parent
                }) || self.synced() && !d.places.contains_key(&p.code);
            d.places.insert(p.code.clone(), p);
            renamed
        };
        if renamed {
            // Place names are indexed with every agency there: check them all (cheap
            // for agencies whose decisions are current).
            self.mark_stale(None);
        }
    }

    /// An agency's retention periods (kept online when it has none, or is unknown).
    pub fn retention(&self, agency: &str) -> Retention {
        self.data
            .read()
            .expect("lock")
            .retention
            .get(agency)
            .copied()
            .unwrap_or(Retention::KEEP)
    }

    /// Whether any agency has a retention period.
    pub fn any_retention(&self) -> bool {
        !self.data.read().expect("lock").retention.is_empty()
    }

    /// What the index holds about an agency besides its decisions: its official name
    /// and place names (searchable), and its retention.
    pub fn indexed(&self, agency: &str) -> IndexedAgency {
        let mut names = Vec::new();
        if let Some(a) = self.agency(agency) {
            names.push(a.display_name.clone());
            let (city, county) = self.city_and_county(&a.jurisdiction);
            for code in std::iter::once(city).chain(county) {
                if let Some(p) = self.place(&code) {
                    names.push(p.display_name);
                }
            }
        }
        IndexedAgency {
            names,
            retention: self.retention(agency),
        }
    }

    /// Marks one agency (or, with `None`, every agency) stale and wakes the follower.
    pub fn mark_stale(&self, agency: Option<&str>) {
        let mut s = self.stale.lock().expect("lock");
        match agency {
            Some(a) => {
                s.agencies.insert(a.to_string());
            }
            None => s.all = true,
        }
        drop(s);
        self.changed.notify_one();
    }

    /// Takes the stale agencies (every known one after a [`Self::mark_stale`]`(None)`).
    pub fn take_stale(&self) -> Vec<String> {
        let mut s = self.stale.lock().expect("lock");
        let mut out = std::mem::take(&mut s.agencies);
        if std::mem::take(&mut s.all) {
            out.extend(self.data.read().expect("lock").agencies.keys().cloned());
        }
        out.into_iter().collect()
    }

    /// Notified when agencies become stale.
    pub fn changed(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    /// Marks the directory complete without watches (tests and benchmarks).
    pub fn mark_synced(&self) {
        self.agencies_synced.store(true, Ordering::Relaxed);
        self.places_synced.store(true, Ordering::Relaxed);
    }
}

fn retention_of(a: &Agency) -> Retention {
    Retention::from_policies(
        a.status
            .as_ref()
            .and_then(|s| s.effective_policies.as_ref()),
    )
}

fn agency_entry(a: &Agency) -> AgencyEntry {
    AgencyEntry {
        name: a.name_any(),
        display_name: a.spec.display_name.clone(),
        credit_code: a.spec.credit_code.clone(),
        jurisdiction: a.spec.jurisdiction.clone(),
        categories: a
            .spec
            .categories
            .iter()
            .map(|c| crate::labels::category_code(*c).to_string())
            .collect(),
    }
}

fn place_entry(j: &Jurisdiction) -> Place {
    Place {
        code: j.spec.code.clone(),
        display_name: j.spec.display_name.clone(),
        level: match j.spec.level {
            JurisdictionLevel::Province => "Province",
            JurisdictionLevel::City => "City",
            JurisdictionLevel::County => "County",
        }
        .into(),
        parent: j.spec.parent.clone(),
    }
}

/// Watches Agencies (in `namespace`, or all) and Jurisdictions until the process ends.
pub fn spawn_watches(client: Client, namespace: Option<String>, dir: Directory) {
    let agencies: Api<Agency> = match &namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let d = dir.clone();
    tokio::spawn(async move {
        let mut buffer: Option<HashMap<String, (AgencyEntry, Retention)>> = None;
        let mut events = watcher::watcher(agencies, watcher::Config::default())
            .default_backoff()
            .boxed();
        while let Some(event) = events.next().await {
            match event {
                Ok(Event::Init) => buffer = Some(HashMap::new()),
                Ok(Event::InitApply(a)) => {
                    let e = agency_entry(&a);
                    buffer
                        .get_or_insert_default()
                        .insert(e.name.clone(), (e, retention_of(&a)));
                }
                Ok(Event::InitDone) => {
                    let listed = buffer.take().unwrap_or_default();
                    // A re-list after a broken watch: apply each (changes mark stale),
                    // drop those gone.
                    let gone: Vec<String> = d
                        .data
                        .read()
                        .expect("lock")
                        .agencies
                        .keys()
                        .filter(|k| !listed.contains_key(*k))
                        .cloned()
                        .collect();
                    for name in gone {
                        d.remove_agency(&name);
                    }
                    for (e, r) in listed.into_values() {
                        d.apply_agency(e, r);
                    }
                    d.agencies_synced.store(true, Ordering::Relaxed);
                    // However late the list came, check every agency against the index.
                    d.mark_stale(None);
                }
                Ok(Event::Apply(a)) => d.apply_agency(agency_entry(&a), retention_of(&a)),
                Ok(Event::Delete(a)) => d.remove_agency(&a.name_any()),
                Err(e) => tracing::warn!(error = %e, "agency watch"),
            }
        }
    });
    let places: Api<Jurisdiction> = Api::all(client);
    tokio::spawn(async move {
        let mut buffer: Option<HashMap<String, Place>> = None;
        let mut events = watcher::watcher(places, watcher::Config::default())
            .default_backoff()
            .boxed();
        while let Some(event) = events.next().await {
            match event {
                Ok(Event::Init) => buffer = Some(HashMap::new()),
                Ok(Event::InitApply(j)) => {
                    let p = place_entry(&j);
                    buffer.get_or_insert_default().insert(p.code.clone(), p);
                }
                Ok(Event::InitDone) => {
                    let listed = buffer.take().unwrap_or_default();
                    dir.data
                        .write()
                        .expect("lock")
                        .places
                        .retain(|code, _| listed.contains_key(code));
                    for p in listed.into_values() {
                        dir.upsert_place(p);
                    }
                    dir.places_synced.store(true, Ordering::Relaxed);
                    dir.mark_stale(None);
                }
                Ok(Event::Apply(j)) => dir.upsert_place(place_entry(&j)),
                Ok(Event::Delete(j)) => {
                    dir.data.write().expect("lock").places.remove(&j.spec.code);
                    dir.mark_stale(None);
                }
                Err(e) => tracing::warn!(error = %e, "jurisdiction watch"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agency(name: &str, jurisdiction: &str) -> AgencyEntry {
        AgencyEntry {
            name: name.into(),
            display_name: name.into(),
            credit_code: String::new(),
            jurisdiction: jurisdiction.into(),
            categories: vec![],
        }
    }

    #[test]
    fn province_level_agencies_group_under_their_province_first() {
        let d = Directory::default();
        d.upsert_place(Place {
            code: "210000".into(),
            display_name: "辽宁省".into(),
            level: "Province".into(),
            parent: None,
        });
        d.upsert_agency(agency("ln-market", "210000"));
        d.upsert_agency(agency("sy-market", "210100"));
        d.upsert_agency(agency("hp-market", "210102"));
        let groups: Vec<(String, Vec<Option<String>>)> = d
            .by_place()
            .into_iter()
            .map(|(k, v)| (k, v.into_keys().collect()))
            .collect();
        assert_eq!(
            groups,
            [
                ("210000".to_string(), vec![None]),
                ("210100".to_string(), vec![None, Some("210102".to_string())]),
            ]
        );
        assert!(d.is_province("210000") && !d.is_province("210100"));
        assert_eq!(d.indexed("ln-market").names, ["ln-market", "辽宁省"]);
    }
}
