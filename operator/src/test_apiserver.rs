//! A mocked API server for unit tests of the reconcile stages that talk to Kubernetes
//! (`tower-test`, as kube-rs controller-rs' `ApiServerVerifier`): a scenario answers
//! exactly the requests it expects, in order, and fails on any other, while the stage runs
//! against the [`Client`] of the same [`mock`].
//!
//! [`verify`] runs a stage against a scenario and then checks that nothing more was sent,
//! so a stage that must send nothing (an idle reconcile writes nothing) is verified
//! against the scenario [`nothing`].

use std::future::Future;
use std::time::Duration;

use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

use crate::context::FIELD_MANAGER;

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

/// The server side of a [`mock`]: answers requests one at a time.
pub struct ApiServerVerifier(Handle);

/// What a stage sent in one request.
#[derive(Debug)]
pub struct Sent {
    /// The query string (`fieldManager=…&force=true`), empty when there is none.
    pub query: String,
    pub content_type: Option<String>,
    /// The JSON body, `Null` when empty.
    pub body: Value,
}

impl Sent {
    /// Asserts that this is a server-side apply by the operator's one field manager,
    /// forced (what [`crate::apply`] sends).
    pub fn assert_operator_apply(&self) {
        assert_eq!(
            (
                self.param("fieldManager"),
                self.param("force"),
                self.content_type.as_deref()
            ),
            (
                Some(FIELD_MANAGER),
                Some("true"),
                Some("application/apply-patch+yaml")
            ),
            "{self:?}"
        );
    }

    /// The value of query parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find_map(|(k, v)| (k == key).then_some(v))
    }
}

/// A client whose requests go to the returned verifier.
pub fn mock() -> (Client, ApiServerVerifier) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), ApiServerVerifier(handle))
}

/// A `Status` answer of the API server (`404 NotFound`, `409 Conflict`, …).
pub fn status(code: u16, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
           "reason": reason, "code": code, "message": reason})
}

impl ApiServerVerifier {
    /// Expects `method path`, answers `status` with `body`, returns the body sent.
    pub async fn expect(&mut self, method: &str, path: &str, status: u16, body: Value) -> Value {
        self.expect_request(method, path, status, body).await.body
    }

    /// Expects `method path`, answers `status` with `body`, returns what was sent.
    pub async fn expect_request(
        &mut self,
        method: &str,
        path: &str,
        status: u16,
        body: Value,
    ) -> Sent {
        let (request, send) = self.0.next_request().await.expect("a request");
        assert_eq!(
            (request.method().as_str(), request.uri().path()),
            (method, path)
        );
        let query = request.uri().query().unwrap_or_default().to_string();
        let content_type = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let sent = request.into_body().collect_bytes().await.unwrap();
        let response = Response::builder()
            .status(status)
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap();
        send.send_response(response);
        Sent {
            query,
            content_type,
            body: if sent.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&sent).unwrap()
            },
        }
    }

    /// Asserts that no further request comes, once the client is dropped.
    async fn done(mut self) {
        if let Some((request, _)) = self.0.next_request().await {
            panic!(
                "unexpected request {} {}",
                request.method(),
                request.uri().path()
            );
        }
    }
}

/// Runs `stage` with the client of a fresh [`mock`] while `scenario` answers its requests,
/// then drops the client: fails unless the scenario's requests were all made within a
/// second, and nothing more was sent.
pub async fn verify<T, S, F>(
    scenario: impl FnOnce(ApiServerVerifier) -> S,
    stage: impl FnOnce(Client) -> F,
) -> T
where
    S: Future<Output = ApiServerVerifier> + Send + 'static,
    F: Future<Output = T>,
{
    let (client, api) = mock();
    let answers = scenario(api);
    let server = tokio::spawn(async move { answers.await.done().await });
    let result = stage(client).await;
    tokio::time::timeout(Duration::from_secs(1), server)
        .await
        .expect("every expected request was made")
        .expect("scenario ran");
    result
}

/// The scenario of a stage that must send nothing.
pub async fn nothing(api: ApiServerVerifier) -> ApiServerVerifier {
    api
}
