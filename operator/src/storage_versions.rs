//! Storage-version migration of Sanxiang's CRDs (docs/crd-versions.md).
//!
//! Switching a CRD's `storage: true` to a new version changes only how *new writes* are
//! stored: every existing object stays in etcd in the old version, and the CRD's
//! `status.storedVersions` keeps listing it, which forbids ever dropping the old version
//! from the CRD. The migration rewrites each object unchanged (a `PUT` of the object as
//! read: the API server encodes it in the storage version, and since the encoded bytes
//! differ from the stored ones it really writes them), then sets `storedVersions` to the
//! storage version alone. It is what kube-storage-version-migrator does, for our kinds
//! only, with no further component to install.
//!
//! The operator runs it for each of its CRDs when it becomes leader: a CRD whose
//! `storedVersions` is already just its storage version costs one GET. A write that
//! conflicts (the object changed meanwhile, so it was re-encoded anyway) is read again and
//! retried; an object deleted meanwhile is skipped. The list is one consistent snapshot,
//! and objects created after it are written in the storage version already, so after a
//! complete pass no object is stored in an older version.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
};
use kube::{Api, Client, ResourceExt};

/// Objects listed per request.
const PAGE: u32 = 200;
/// Attempts per object when it keeps changing under the migration.
const ATTEMPTS: usize = 5;

/// Why a CRD was not migrated (it is tried again on the next start).
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("CRD {crd}: {source}")]
    Kube {
        crd: String,
        #[source]
        source: kube::Error,
    },
    #[error("CRD {crd}: spec.versions has no version with storage: true")]
    NoStorageVersion { crd: String },
    #[error(
        "CRD {crd}: {kind} {object} kept changing; {ATTEMPTS} attempts to rewrite it conflicted"
    )]
    KeptChanging {
        crd: String,
        kind: String,
        object: String,
    },
}

/// What one migration of a CRD did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migrated {
    pub crd: String,
    pub storage_version: String,
    /// `status.storedVersions` before the migration.
    pub stored_before: Vec<String>,
    /// Objects rewritten (0 when only the storage version was stored).
    pub rewritten: usize,
}

/// Migrates every CRD of `names` in turn; each result is reported, one failing CRD does
/// not stop the others.
pub async fn migrate_all(
    client: &Client,
    names: &[String],
) -> Vec<Result<Migrated, MigrationError>> {
    let mut results = Vec::new();
    for name in names {
        results.push(migrate(client, name).await);
    }
    results
}

/// Logs what [`migrate_all`] did, for the operator's start.
pub async fn run(client: Client, names: Vec<String>) {
    for result in migrate_all(&client, &names).await {
        match result {
            Ok(m) if m.stored_before == [m.storage_version.clone()] => {
                tracing::debug!(crd = %m.crd, version = %m.storage_version, "storage version: nothing to migrate")
            }
            Ok(m) => tracing::info!(
                crd = %m.crd,
                version = %m.storage_version,
                before = ?m.stored_before,
                rewritten = m.rewritten,
                "storage version migrated"
            ),
            Err(e) => {
                tracing::error!(error = %e, "storage version migration failed; retried on the next start")
            }
        }
    }
}

/// Rewrites every object of CRD `name` in its storage version, then trims
/// `status.storedVersions` to that version.
pub async fn migrate(client: &Client, name: &str) -> Result<Migrated, MigrationError> {
    let kube_err = |source| MigrationError::Kube {
        crd: name.to_string(),
        source,
    };
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = crds.get(name).await.map_err(kube_err)?;
    let storage_version = crd
        .spec
        .versions
        .iter()
        .find(|v| v.storage)
        .map(|v| v.name.clone())
        .ok_or_else(|| MigrationError::NoStorageVersion {
            crd: name.to_string(),
        })?;
    let stored_before = crd
        .status
        .as_ref()
        .and_then(|s| s.stored_versions.clone())
        .unwrap_or_default();
    let mut migrated = Migrated {
        crd: name.to_string(),
        storage_version: storage_version.clone(),
        stored_before: stored_before.clone(),
        rewritten: 0,
    };
    if stored_before == [storage_version.clone()] {
        return Ok(migrated);
    }
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(&crd.spec.group, &storage_version, &crd.spec.names.kind),
        &crd.spec.names.plural,
    );
    let namespaced = crd.spec.scope == "Namespaced";
    let all: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let mut params = ListParams::default().limit(PAGE);
    loop {
        let page = all.list(&params).await.map_err(kube_err)?;
        for object in &page.items {
            let api = match (namespaced, object.namespace()) {
                (true, Some(ns)) => Api::namespaced_with(client.clone(), &ns, &resource),
                _ => all.clone(),
            };
            if rewrite(&api, object).await.map_err(kube_err)? {
                migrated.rewritten += 1;
            } else {
                return Err(MigrationError::KeptChanging {
                    crd: name.to_string(),
                    kind: crd.spec.names.kind.clone(),
                    object: object.name_any(),
                });
            }
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    crds.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"status": {"storedVersions": [storage_version]}})),
    )
    .await
    .map_err(kube_err)?;
    Ok(migrated)
}

/// Writes `object` back unchanged; on a conflict reads it again and retries. `false` when
/// every attempt conflicted; an object deleted meanwhile counts as done.
async fn rewrite(api: &Api<DynamicObject>, object: &DynamicObject) -> Result<bool, kube::Error> {
    let name = object.name_any();
    let mut current = object.clone();
    for _ in 0..ATTEMPTS {
        match api.replace(&name, &PostParams::default(), &current).await {
            Ok(_) => return Ok(true),
            Err(kube::Error::Api(e)) if e.code == 404 => return Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => match api.get_opt(&name).await? {
                Some(fresh) => current = fresh,
                None => return Ok(true),
            },
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}
