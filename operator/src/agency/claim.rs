//! Agency names are unique across the province: the tenant service, the subjects and the
//! public search address an agency by its name. The name is claimed atomically before
//! anything is provisioned, with a Lease named after it in the operator's namespace
//! (`sanxiang-agency-<name>`, holder `<namespace>/<uid>`): creating an object is atomic
//! in the API server, so of two Agencies with one name created in two cities at the same
//! moment exactly one gets the Lease and a database; the other reads `NameTaken` until
//! the holder is deleted (its cleanup releases the Lease).

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use kube::api::{DeleteParams, ObjectMeta, PostParams, Preconditions};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client, ResourceExt};
use sanxiang_crds::agency::Agency;

use super::validate::Refusal;
use crate::context::MANAGED_BY;

/// Failures talking to the API server about the claim.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("claiming the agency name: {0}")]
    Kube(#[from] kube::Error),
    #[error("claiming the agency name: the Lease {0} changed while it was taken over; retrying")]
    Contended(String),
}

impl Error {
    /// Metric label of the error.
    pub fn reason(&self) -> &'static str {
        "NameClaim"
    }
}

/// Name of the Lease that holds an agency name.
pub fn lease_name(agency: &str) -> String {
    format!("sanxiang-agency-{agency}")
}

fn holder(agency: &Agency) -> String {
    format!(
        "{}/{}",
        agency.namespace().unwrap_or_default(),
        agency.uid().unwrap_or_default()
    )
}

fn lease(namespace: &str, agency: &Agency) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(lease_name(&agency.name_any())),
            namespace: Some(namespace.to_string()),
            labels: Some(
                [
                    (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
                    (sanxiang_domain::AGENCY_LABEL.to_string(), agency.name_any()),
                ]
                .into(),
            ),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder(agency)),
            ..Default::default()
        }),
    }
}

fn holder_of(lease: &Lease) -> Option<(String, String)> {
    let h = lease.spec.as_ref()?.holder_identity.as_deref()?;
    let (namespace, uid) = h.rsplit_once('/')?;
    Some((namespace.to_string(), uid.to_string()))
}

/// Claims the agency's name with a Lease in `namespace`: `Ok(Ok(()))` when it holds it
/// (now or already), `Ok(Err(NameTaken))` when another existing Agency does.
///
/// `claims` is the operator's cache of the claim Leases: a claim it shows held by this
/// agency needs no request (every reconcile of a provisioned agency, about two per new
/// one, read the Lease from the API server before); a name it has not seen claimed is
/// created at once (a new agency: one request); one it shows held by another is read
/// from the API server.
pub async fn claim_name(
    client: &Client,
    claims: &Store<Lease>,
    namespace: &str,
    agency: &Agency,
) -> Result<Result<(), Refusal>, Error> {
    let name = lease_name(&agency.name_any());
    let cached = claims.get(&ObjectRef::new(&name).within(namespace));
    if cached
        .as_ref()
        .is_some_and(|l| holder_of(l).is_some_and(|(_, uid)| agency.uid() == Some(uid)))
    {
        return Ok(Ok(()));
    }
    let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
    // A name the cache has never seen claimed is most likely free (every new agency):
    // the create settles it in one request, and one that already exists (the cache lags,
    // or another reconcile won) is then read to see who holds it.
    let current = match cached {
        Some(_) => api.get_opt(&name).await?,
        None => None,
    };
    let current = match current {
        Some(l) => l,
        None => match api
            .create(&PostParams::default(), &lease(namespace, agency))
            .await
        {
            Ok(_) => return Ok(Ok(())),
            Err(kube::Error::Api(e)) if e.code == 409 => api.get(&name).await?,
            Err(e) => return Err(e.into()),
        },
    };
    let Some((holder_namespace, uid)) = holder_of(&current) else {
        return take_over(&api, namespace, agency, current).await;
    };
    if Some(uid.as_str()) == agency.uid().as_deref() {
        return Ok(Ok(()));
    }
    // The holder still exists (even while it is being deleted: its cleanup releases).
    let holder_exists = Api::<Agency>::namespaced(client.clone(), &holder_namespace)
        .get_opt(&agency.name_any())
        .await?
        .is_some_and(|a| a.uid().as_deref() == Some(uid.as_str()));
    if holder_exists {
        return Ok(Err(Refusal::NameTaken(format!(
            "metadata.name: agency name {:?} is already used in namespace {holder_namespace}; \
             agency names are unique across the province (e.g. prefix the city: shenyang-market)",
            agency.name_any(),
        ))));
    }
    take_over(&api, namespace, agency, current).await
}

/// Replaces a claim whose holder is gone; the resourceVersion makes it atomic.
async fn take_over(
    api: &Api<Lease>,
    namespace: &str,
    agency: &Agency,
    current: Lease,
) -> Result<Result<(), Refusal>, Error> {
    let mut next = lease(namespace, agency);
    next.metadata.resource_version = current.metadata.resource_version.clone();
    let name = current.name_any();
    match api.replace(&name, &PostParams::default(), &next).await {
        Ok(_) => Ok(Ok(())),
        Err(kube::Error::Api(e)) if e.code == 409 => Err(Error::Contended(name)),
        Err(e) => Err(e.into()),
    }
}

/// Releases the agency's name if it holds it (on deletion).
pub async fn release_name(client: &Client, namespace: &str, agency: &Agency) -> Result<(), Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let name = lease_name(&agency.name_any());
    let Some(current) = api.get_opt(&name).await? else {
        return Ok(());
    };
    let ours = holder_of(&current).is_some_and(|(_, uid)| Some(uid) == agency.uid());
    if !ours {
        return Ok(());
    }
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: current.uid(),
            resource_version: current.resource_version(),
        }),
        ..Default::default()
    };
    match api.delete(&name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    //! The claim against a mocked API server (`tower-test`, as kube-rs controller-rs'
    //! `ApiServerVerifier`): each scenario answers exactly the requests it expects, in
    //! order, and fails on any other.
    use super::*;
    use serde_json::{Value, json};

    use crate::test_apiserver::{mock, status};

    fn agency(namespace: &str, uid: &str) -> Agency {
        serde_json::from_value(json!({
            "apiVersion": "sanxiang.io/v1alpha1", "kind": "Agency",
            "metadata": {"name": "twin", "namespace": namespace, "uid": uid},
            "spec": {"jurisdiction": "211221", "displayName": "局",
                     "creditCode": "91350100M000100Y43", "categories": ["Penalty"]}
        }))
        .unwrap()
    }

    fn held_by(holder: &str) -> Value {
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
               "metadata": {"name": "sanxiang-agency-twin", "namespace": "default",
                            "uid": "lease-uid", "resourceVersion": "7"},
               "spec": {"holderIdentity": holder}})
    }

    const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
    const LEASE: &str =
        "/apis/coordination.k8s.io/v1/namespaces/default/leases/sanxiang-agency-twin";
    const HOLDER: &str = "/apis/sanxiang.io/v1alpha1/namespaces/sx-210100/agencies/twin";

    fn no_cache() -> Store<Lease> {
        kube::runtime::reflector::store().0
    }

    #[tokio::test]
    async fn a_claim_the_cache_shows_held_by_the_agency_needs_no_request() {
        let (client, _server) = mock();
        let ours = agency("sx-210100", "uid-ours");
        let (claims, mut writer) = kube::runtime::reflector::store();
        let held: Lease = serde_json::from_value(held_by("sx-210100/uid-ours")).unwrap();
        writer.apply_watcher_event(&kube::runtime::watcher::Event::Apply(held));
        // The mocked server answers nothing: a request would never return.
        let got = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            claim_name(&client, &claims, "default", &ours),
        )
        .await
        .expect("answered from the cache");
        assert!(matches!(got, Ok(Ok(()))));
    }

    async fn run(
        scenario: impl std::future::Future<Output = ()> + Send + 'static,
        call: impl std::future::Future<Output = Result<Result<(), Refusal>, Error>>,
    ) -> Result<(), Refusal> {
        let server = tokio::spawn(scenario);
        let result = call.await.expect("no API error");
        tokio::time::timeout(std::time::Duration::from_secs(1), server)
            .await
            .expect("every expected request was made")
            .expect("scenario ran");
        result
    }

    #[tokio::test]
    async fn a_free_name_is_claimed_by_creating_the_lease() {
        let (client, mut api) = mock();
        let ours = agency("sx-211200", "u1");
        let scenario = async move {
            // Not in the cache: created at once, no read first.
            let sent = api
                .expect("POST", LEASES, 201, held_by("sx-211200/u1"))
                .await;
            assert_eq!(sent["spec"]["holderIdentity"], "sx-211200/u1");
            assert_eq!(sent["metadata"]["labels"]["sanxiang.io/agency"], "twin");
        };
        let got = run(scenario, claim_name(&client, &no_cache(), "default", &ours)).await;
        assert_eq!(got, Ok(()));
    }

    #[tokio::test]
    async fn of_two_agencies_created_at_once_only_the_first_creation_wins() {
        // Issue 11: two Agencies named alike in two cities within a second. The second's
        // cache shows no Lease yet, but its create loses the race (409): it reads the
        // holder and is refused, before anything is provisioned.
        let (client, mut api) = mock();
        let second = agency("sx-211200", "u2");
        let scenario = async move {
            api.expect("POST", LEASES, 409, status(409, "AlreadyExists"))
                .await;
            api.expect("GET", LEASE, 200, held_by("sx-210100/u0")).await;
            let holder = serde_json::to_value(agency("sx-210100", "u0")).unwrap();
            api.expect("GET", HOLDER, 200, holder).await;
        };
        let got = run(
            scenario,
            claim_name(&client, &no_cache(), "default", &second),
        )
        .await;
        let Err(refusal) = got else {
            panic!("the second agency must be refused")
        };
        assert_eq!(refusal.reason(), "NameTaken");
        assert!(
            refusal.to_string().starts_with(
                "metadata.name: agency name \"twin\" is already used in namespace sx-210100"
            ),
            "{refusal}"
        );
    }

    #[tokio::test]
    async fn the_holder_keeps_its_claim_when_the_cache_lags() {
        let (client, mut api) = mock();
        let ours = agency("sx-210100", "u0");
        let scenario = async move {
            api.expect("POST", LEASES, 409, status(409, "AlreadyExists"))
                .await;
            api.expect("GET", LEASE, 200, held_by("sx-210100/u0")).await;
        };
        assert_eq!(
            run(scenario, claim_name(&client, &no_cache(), "default", &ours)).await,
            Ok(())
        );
    }

    #[tokio::test]
    async fn a_claim_whose_holder_is_gone_is_taken_over_atomically() {
        let (client, mut api) = mock();
        let ours = agency("sx-211200", "u2");
        // The cache shows the claim held by another agency: read, not created.
        let (claims, mut writer) = kube::runtime::reflector::store();
        let held: Lease = serde_json::from_value(held_by("sx-210100/u0")).unwrap();
        writer.apply_watcher_event(&kube::runtime::watcher::Event::Apply(held));
        let scenario = async move {
            api.expect("GET", LEASE, 200, held_by("sx-210100/u0")).await;
            api.expect("GET", HOLDER, 404, status(404, "NotFound"))
                .await;
            let sent = api.expect("PUT", LEASE, 200, held_by("sx-211200/u2")).await;
            assert_eq!(
                sent["metadata"]["resourceVersion"], "7",
                "replace is conditional"
            );
            assert_eq!(sent["spec"]["holderIdentity"], "sx-211200/u2");
        };
        assert_eq!(
            run(scenario, claim_name(&client, &claims, "default", &ours)).await,
            Ok(())
        );
    }

    #[tokio::test]
    async fn release_deletes_only_its_own_claim() {
        let (client, mut api) = mock();
        let scenario = async move {
            api.expect("GET", LEASE, 200, held_by("sx-210100/u0")).await;
            let sent = api
                .expect("DELETE", LEASE, 200, status(200, "Success"))
                .await;
            assert_eq!(sent["preconditions"]["uid"], "lease-uid");
            assert_eq!(sent["preconditions"]["resourceVersion"], "7");
            // Another agency's release leaves the claim alone (one GET, no DELETE).
            api.expect("GET", LEASE, 200, held_by("sx-210100/u0")).await;
        };
        let server = tokio::spawn(scenario);
        release_name(&client, "default", &agency("sx-210100", "u0"))
            .await
            .unwrap();
        release_name(&client, "default", &agency("sx-211200", "u2"))
            .await
            .unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(1), server)
            .await
            .expect("every expected request was made")
            .expect("scenario ran");
    }
}
