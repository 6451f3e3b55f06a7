//! Copies of the agencies' database Secrets in one namespace, for the tenant service.
//!
//! Why: the tenant service finds its tenants by watching the database Secrets
//! (`sanxiang.io/credentials=database`). Kubernetes RBAC cannot grant `list`/`watch` of
//! Secrets by label, and `resourceNames` does not limit a collection list, so watching the
//! agencies' own namespaces would mean reading every Secret of the cluster. Instead the
//! operator keeps a copy of each agency's database Secret in one namespace that holds
//! nothing else (`--tenant-credentials-namespace`), and the tenant service gets a Role
//! there only.
//!
//! A copy is named `<agency namespace>.<Secret name>` (unique, since Secret names are DNS
//! subdomains), carries the source's data and type, its labels plus [`COPY_LABEL`], its
//! [`TenantContract`](sanxiang_domain::TenantContract) annotations (`sanxiang.io/…`) and
//! [`COPY_OF_ANNOTATION`]. It copies generically: whatever keys the operator writes into
//! the database Secret reach the tenant service unchanged.
//!
//! A copy exists exactly while its source exists and the Agency owning the source exists
//! and is not being deleted: as soon as an Agency has a deletion timestamp its copy goes,
//! so the tenant service stops serving it at the moment the deletion's cleanup revokes the
//! login (`Retain` keeps the records, `Delete` drops them; an ownerReference cannot cross
//! namespaces, hence this rule instead of garbage collection). The loop watches the
//! sources, the copies and the Agencies, so a copy deleted or edited by hand is put back
//! within a moment, and a copy left behind while the operator was down is removed when it
//! returns. Only the leader runs it.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, ObjectMeta, PartialObjectMeta, PostParams, Preconditions};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, metadata_watcher, watcher};
use kube::{Api, Client, ResourceExt};
use sanxiang_crds::agency::Agency;
use sanxiang_domain::{ANNOTATION_PREFIX, CREDENTIALS_COPY_LABEL, DATABASE_SECRET_SELECTOR};
use tokio::sync::mpsc;

/// Label on every copy (value `"true"`).
pub const COPY_LABEL: &str = CREDENTIALS_COPY_LABEL;
/// Annotation on every copy: `<namespace>/<name>` of its source.
pub const COPY_OF_ANNOTATION: &str = "sanxiang.io/copy-of";
/// How often the copies are compared even when nothing was seen to change.
const RESYNC: Duration = Duration::from_secs(60);

/// One write that brings the copies in line with their sources.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    Create(Secret),
    /// The full copy, with the resourceVersion of the one it replaces (an update that
    /// lost a race is retried on the next pass).
    Replace(Secret),
    /// A copy with no live source, or of a type that cannot be updated in place.
    Delete {
        name: String,
        uid: Option<String>,
    },
}

/// Name of the copy of Secret `name` in `namespace`.
pub fn copy_name(namespace: &str, name: &str) -> String {
    format!("{namespace}.{name}")
}

fn is_copy(secret: &Secret) -> bool {
    secret.labels().get(COPY_LABEL).is_some_and(|v| v == "true")
}

/// The copy `source` should have in `namespace` (pure).
pub fn desired_copy(source: &Secret, namespace: &str) -> Secret {
    let source_ns = source.namespace().unwrap_or_default();
    let mut labels = source.labels().clone();
    labels.insert(COPY_LABEL.into(), "true".into());
    let mut annotations: BTreeMap<String, String> = source
        .annotations()
        .iter()
        .filter(|(k, _)| k.starts_with(ANNOTATION_PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    annotations.insert(
        COPY_OF_ANNOTATION.into(),
        format!("{source_ns}/{}", source.name_any()),
    );
    Secret {
        metadata: ObjectMeta {
            name: Some(copy_name(&source_ns, &source.name_any())),
            namespace: Some(namespace.into()),
            labels: Some(labels),
            annotations: Some(annotations),
            ..Default::default()
        },
        type_: source.type_.clone(),
        data: source.data.clone(),
        ..Default::default()
    }
}

/// Whether `copy` already says what `desired` says (labels and annotations exactly: the
/// copy is the operator's alone).
fn same(copy: &Secret, desired: &Secret) -> bool {
    copy.data.clone().unwrap_or_default() == desired.data.clone().unwrap_or_default()
        && copy.type_ == desired.type_
        && copy.labels() == desired.labels()
        && copy.annotations() == desired.annotations()
}

/// The Agency uid a database Secret belongs to (its owner reference).
fn owner_agency(secret: &Secret) -> Option<&str> {
    secret
        .owner_references()
        .iter()
        .find(|o| o.kind == "Agency" && o.api_version.starts_with("sanxiang.io/"))
        .map(|o| o.uid.as_str())
}

/// The writes that make the copies in `namespace` match the database Secrets (pure).
/// `secrets` are all Secrets labelled as database credentials (sources and copies);
/// `live_agencies` the uids of Agencies that exist and are not being deleted.
pub fn plan(secrets: &[Secret], live_agencies: &HashSet<String>, namespace: &str) -> Vec<Change> {
    let copies: BTreeMap<String, &Secret> = secrets
        .iter()
        .filter(|s| is_copy(s) && s.namespace().as_deref() == Some(namespace))
        .map(|s| (s.name_any(), s))
        .collect();
    let mut wanted: HashSet<String> = HashSet::new();
    let mut changes = Vec::new();
    for source in secrets {
        // A Secret already in the namespace is read there directly.
        if is_copy(source) || source.namespace().as_deref() == Some(namespace) {
            continue;
        }
        if !owner_agency(source).is_some_and(|uid| live_agencies.contains(uid)) {
            continue;
        }
        let desired = desired_copy(source, namespace);
        let name = desired.name_any();
        if name.len() > 253 {
            tracing::error!(copy = %name, "the copy's name would exceed 253 characters; not copied");
            continue;
        }
        wanted.insert(name.clone());
        match copies.get(&name) {
            None => changes.push(Change::Create(desired)),
            Some(copy) if same(copy, &desired) => {}
            Some(copy) if copy.type_ != desired.type_ => changes.push(Change::Delete {
                name,
                uid: copy.uid(),
            }),
            Some(copy) => {
                let mut desired = desired;
                desired.metadata.resource_version = copy.resource_version();
                changes.push(Change::Replace(desired));
            }
        }
    }
    for (name, copy) in copies {
        if !wanted.contains(&name) {
            changes.push(Change::Delete {
                name,
                uid: copy.uid(),
            });
        }
    }
    changes
}

/// Keeps the copies in `namespace` until the process ends: a pass on every change of a
/// database Secret (source or copy) or of an Agency, and every [`RESYNC`].
pub async fn run(client: Client, namespace: String) {
    let (secrets, writer) = reflector::store::<Secret>();
    let secret_events = watcher(
        Api::<Secret>::all(client.clone()),
        watcher::Config::default().labels(DATABASE_SECRET_SELECTOR),
    )
    .default_backoff()
    .reflect(writer)
    .touched_objects();
    let (agencies, writer) = reflector::store::<PartialObjectMeta<Agency>>();
    let agency_events = metadata_watcher(Api::<Agency>::all(client.clone()), Default::default())
        .default_backoff()
        .reflect(writer)
        .touched_objects();
    let (ping, mut pings) = mpsc::channel::<()>(1);
    tokio::spawn(crate::run::drive(secret_events, vec![ping.clone()]));
    tokio::spawn(crate::run::drive(agency_events, vec![ping]));
    if secrets.wait_until_ready().await.is_err() || agencies.wait_until_ready().await.is_err() {
        tracing::error!("credential copies: caches never filled; copies not kept");
        return;
    }
    let api: Api<Secret> = Api::namespaced(client, &namespace);
    tracing::info!(%namespace, "keeping copies of the agencies' database Secrets");
    loop {
        let wait = match sync(&api, &namespace, &secrets, &agencies).await {
            Ok(()) => RESYNC,
            Err(e) => {
                tracing::warn!(%namespace, error = %e, "credential copies: pass failed; retrying");
                Duration::from_secs(2)
            }
        };
        if let Ok(None) = tokio::time::timeout(wait, pings.recv()).await {
            return;
        }
        // Let a burst of events (an onboarding writes several objects) settle.
        tokio::time::sleep(Duration::from_millis(200)).await;
        while pings.try_recv().is_ok() {}
    }
}

/// One pass: plans from the caches and writes the differences.
async fn sync(
    api: &Api<Secret>,
    namespace: &str,
    secrets: &Store<Secret>,
    agencies: &Store<PartialObjectMeta<Agency>>,
) -> Result<(), kube::Error> {
    let live: HashSet<String> = agencies
        .state()
        .iter()
        .filter(|a| a.metadata.deletion_timestamp.is_none())
        .filter_map(|a| a.uid())
        .collect();
    let secrets: Vec<Secret> = secrets.state().iter().map(|s| (**s).clone()).collect();
    for change in plan(&secrets, &live, namespace) {
        let result = match &change {
            Change::Create(copy) => create_or_replace(api, copy).await,
            Change::Replace(copy) => api
                .replace(&copy.name_any(), &PostParams::default(), copy)
                .await
                .map(|_| ()),
            Change::Delete { name, uid } => {
                let params = DeleteParams {
                    preconditions: Some(Preconditions {
                        uid: uid.clone(),
                        resource_version: None,
                    }),
                    ..Default::default()
                };
                api.delete(name, &params).await.map(|_| ())
            }
        };
        match result {
            Ok(()) => {
                tracing::info!(%namespace, change = %describe(&change), "credential copy written")
            }
            // Already there, already gone, or changed meanwhile: the watch brings the
            // current state and the next pass decides again.
            Err(kube::Error::Api(e)) if matches!(e.code, 404 | 409) => {
                tracing::debug!(change = %describe(&change), "credential copy: {}", e.message)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Creates `copy`; if a Secret of that name is there but not in the cache — the cache
/// lagging behind an earlier pass, or a copy whose labels were removed by hand so that the
/// watch no longer sees it — replaces it, so that it is a copy again.
async fn create_or_replace(api: &Api<Secret>, copy: &Secret) -> Result<(), kube::Error> {
    match api.create(&PostParams::default(), copy).await {
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let Some(existing) = api.get_opt(&copy.name_any()).await? else {
                return Ok(()); // gone meanwhile: the next pass creates it
            };
            let mut copy = copy.clone();
            copy.metadata.resource_version = existing.resource_version();
            if existing.type_ != copy.type_ {
                // The type cannot change in place: delete, the next pass creates.
                return api
                    .delete(&copy.name_any(), &DeleteParams::default())
                    .await
                    .map(|_| ());
            }
            api.replace(&copy.name_any(), &PostParams::default(), &copy)
                .await
                .map(|_| ())
        }
        other => other.map(|_| ()),
    }
}

fn describe(change: &Change) -> String {
    match change {
        Change::Create(s) => format!("created {}", s.name_any()),
        Change::Replace(s) => format!("repaired {}", s.name_any()),
        Change::Delete { name, .. } => format!("deleted {name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    const NS: &str = "sanxiang-tenant-credentials";

    fn source(ns: &str, name: &str, agency_uid: &str, password: &str) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(ns.into()),
                labels: Some(BTreeMap::from([
                    ("sanxiang.io/credentials".into(), "database".into()),
                    ("sanxiang.io/agency".into(), "market".into()),
                ])),
                annotations: Some(BTreeMap::from([
                    ("sanxiang.io/agency".into(), "market".into()),
                    (
                        "kubectl.kubernetes.io/last-applied-configuration".into(),
                        "{}".into(),
                    ),
                ])),
                owner_references: Some(vec![OwnerReference {
                    api_version: "sanxiang.io/v1alpha1".into(),
                    kind: "Agency".into(),
                    name: "market".into(),
                    uid: agency_uid.into(),
                    ..Default::default()
                }]),
                uid: Some(format!("uid-{name}")),
                ..Default::default()
            },
            type_: Some("Opaque".into()),
            data: Some(BTreeMap::from([(
                "password".into(),
                ByteString(password.as_bytes().to_vec()),
            )])),
            ..Default::default()
        }
    }

    fn stored(mut copy: Secret, rv: &str) -> Secret {
        copy.metadata.resource_version = Some(rv.into());
        copy.metadata.uid = Some(format!("uid-{}", copy.name_any()));
        copy
    }

    fn live(uids: &[&str]) -> HashSet<String> {
        uids.iter().map(|u| u.to_string()).collect()
    }

    #[test]
    fn a_live_agency_gets_a_copy_with_its_data_and_contract_only() {
        let src = source("sx-210100", "market-db", "a1", "pw");
        let changes = plan(std::slice::from_ref(&src), &live(&["a1"]), NS);
        let [Change::Create(copy)] = changes.as_slice() else {
            panic!("{changes:?}")
        };
        assert_eq!(copy.name_any(), "sx-210100.market-db");
        assert_eq!(copy.namespace().as_deref(), Some(NS));
        assert_eq!(copy.data, src.data);
        assert_eq!(copy.labels()[COPY_LABEL], "true");
        assert_eq!(copy.labels()["sanxiang.io/credentials"], "database");
        assert_eq!(
            copy.annotations()[COPY_OF_ANNOTATION],
            "sx-210100/market-db"
        );
        assert_eq!(copy.annotations()["sanxiang.io/agency"], "market");
        assert!(
            !copy
                .annotations()
                .contains_key("kubectl.kubernetes.io/last-applied-configuration")
        );
        assert!(copy.owner_references().is_empty());
        // In line: nothing to write.
        let copy = stored(copy.clone(), "7");
        assert_eq!(plan(&[src, copy], &live(&["a1"]), NS), vec![]);
    }

    #[test]
    fn drift_is_repaired_and_rotation_follows() {
        let src = source("sx-210100", "market-db", "a1", "new");
        let old = stored(
            desired_copy(&source("sx-210100", "market-db", "a1", "old"), NS),
            "9",
        );
        let changes = plan(&[src.clone(), old], &live(&["a1"]), NS);
        let [Change::Replace(copy)] = changes.as_slice() else {
            panic!("{changes:?}")
        };
        assert_eq!(copy.data, src.data);
        assert_eq!(copy.resource_version().as_deref(), Some("9"));
        // A label removed by hand is drift too.
        let mut edited = stored(desired_copy(&src, NS), "10");
        edited.labels_mut().remove("sanxiang.io/agency");
        assert!(matches!(
            plan(&[src.clone(), edited], &live(&["a1"]), NS).as_slice(),
            [Change::Replace(_)]
        ));
        // A type changed by hand cannot be updated: the copy is deleted, then re-created.
        let mut retyped = stored(desired_copy(&src, NS), "11");
        retyped.type_ = Some("kubernetes.io/basic-auth".into());
        assert!(matches!(
            plan(&[src, retyped], &live(&["a1"]), NS).as_slice(),
            [Change::Delete { .. }]
        ));
    }

    #[test]
    fn copies_go_when_the_agency_is_being_deleted_or_the_source_is_gone() {
        let src = source("sx-210100", "market-db", "a1", "pw");
        let copy = stored(desired_copy(&src, NS), "3");
        let changes = plan(&[src, copy.clone()], &live(&[]), NS);
        assert_eq!(
            changes,
            vec![Change::Delete {
                name: "sx-210100.market-db".into(),
                uid: copy.uid()
            }]
        );
        assert!(matches!(
            plan(&[copy], &live(&["a1"]), NS).as_slice(),
            [Change::Delete { .. }]
        ));
    }

    #[test]
    fn secrets_without_an_agency_in_the_namespace_or_elsewhere_are_left_alone() {
        // No Agency owner: not a tenant's Secret.
        let mut stray = source("sx-210100", "stray-db", "a1", "pw");
        stray.metadata.owner_references = None;
        // Already in the copies' namespace: read there directly, never copied again.
        let local = source(NS, "local-db", "a1", "pw");
        // A copy in another namespace (another setting, another operator) is not ours.
        let foreign = stored(
            desired_copy(&source("sx-210100", "market-db", "a1", "pw"), "other"),
            "1",
        );
        assert_eq!(plan(&[stray, local, foreign], &live(&["a1"]), NS), vec![]);
    }
}
