//! The directory of agencies and places, from the Agency and Jurisdiction objects
//! (read-only watches). It gives official names (沈阳市市场监督管理局), credit codes and
//! Chinese place names to what the events only name by slug and code.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, ResourceExt};
use sanxiang_crds::{Agency, Jurisdiction, JurisdictionLevel};
use serde::Serialize;

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
}

/// Shared, read-mostly directory.
#[derive(Clone, Default)]
pub struct Directory {
    data: Arc<RwLock<Data>>,
    agencies_synced: Arc<AtomicBool>,
    places_synced: Arc<AtomicBool>,
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

    /// (city code, county code or None) of a jurisdiction code.
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

    /// Agencies grouped by city, then county (`None`: city-level agencies), sorted by code.
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
        self.data
            .write()
            .expect("lock")
            .agencies
            .insert(a.name.clone(), a);
    }

    pub fn upsert_place(&self, p: Place) {
        self.data
            .write()
            .expect("lock")
            .places
            .insert(p.code.clone(), p);
    }

    /// Marks the directory complete without watches (tests and benchmarks).
    pub fn mark_synced(&self) {
        self.agencies_synced.store(true, Ordering::Relaxed);
        self.places_synced.store(true, Ordering::Relaxed);
    }
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
        let mut buffer: Option<HashMap<String, AgencyEntry>> = None;
        let mut events = watcher::watcher(agencies, watcher::Config::default())
            .default_backoff()
            .boxed();
        while let Some(event) = events.next().await {
            match event {
                Ok(Event::Init) => buffer = Some(HashMap::new()),
                Ok(Event::InitApply(a)) => {
                    let e = agency_entry(&a);
                    buffer.get_or_insert_default().insert(e.name.clone(), e);
                }
                Ok(Event::InitDone) => {
                    d.data.write().expect("lock").agencies = buffer.take().unwrap_or_default();
                    d.agencies_synced.store(true, Ordering::Relaxed);
                }
                Ok(Event::Apply(a)) => d.upsert_agency(agency_entry(&a)),
                Ok(Event::Delete(a)) => {
                    d.data.write().expect("lock").agencies.remove(&a.name_any());
                }
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
                    dir.data.write().expect("lock").places = buffer.take().unwrap_or_default();
                    dir.places_synced.store(true, Ordering::Relaxed);
                }
                Ok(Event::Apply(j)) => dir.upsert_place(place_entry(&j)),
                Ok(Event::Delete(j)) => {
                    dir.data.write().expect("lock").places.remove(&j.spec.code);
                }
                Err(e) => tracing::warn!(error = %e, "jurisdiction watch"),
            }
        }
    });
}
