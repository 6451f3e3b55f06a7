//! The OpenID Connect verifier against a discovery document and JWKS served over real
//! HTTP (a small axum server in this test; the flow against a real provider, Ory Hydra,
//! is `e2e/tests/oidc.rs`). The keys in `fixtures/oidc` are throw-away test keys.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use sanxiang_tenant_service::auth::{Oidc, OidcSettings, Role, Verifier};
use serde_json::{Value, json};

const AUDIENCE: &str = "sanxiang-tenant-api";

fn jwk_a() -> Value {
    json!({"kty": "RSA", "kid": "a", "use": "sig", "alg": "RS256", "e": "AQAB",
        "n": "qE3u5qWo9hkXN2K-DEcEdZ6Yi-y3NJQ8h7ADwpH4lNNRCvDtJ-tW9V03sBnzAxepIXIPNkzBi7HGWpNrBB6O9JO8p44Twi4h3maOzPttDahb6FxdzLd354wazfWRgOhgfAG6HsIX9__2hk14xAYwZ17SJ_KqqK10bedjzFu8B1aG5fIW-eI3aix0X4R9ocefHf00J2gvWfyqvz6-gF38plGR35pCJfyscL7QU3irIWdv-DOv6Sc1mrjapUBuiLXapDDMPkYZ8Lp1ZZH8HpjjiBHA4ls_Al6NY9uoVjwNt9Ybcccc9AYNW0QjFAhEKXnv_Yz_v7dDtPE0ADtvnvFTFQ"})
}
fn jwk_b() -> Value {
    // No `alg`: RS256 is inferred from the key type.
    json!({"kty": "RSA", "kid": "b", "e": "AQAB",
        "n": "jqIhMzFlxpxST7ITAsYQ8XWYjv2Y6UGDHOiEgFuO0aXKhWVdxLKJZbWoDn7zmF68a3hTOBhvkAP4giwOMYh6Bx4V-28nT_dhWLHHmHiyyaGzxH4m79pzr7rEa7JpIZwgTS5Bs6tn5PllG5G3u8humT-3GAaq-zpkMzFnTw9y2rA_Ao8KJXr-pmwFnG4HHZLLyu6SSdWTZtqv5mxdsG6YEiMjw-pNYt1lxutZGVmKzywFQt33_DAOI2YZf-FIOqn11lz7xJ9OCSfxyYa68DVmTGuU086YLpF4AgaoBfoYdyLq3-qXje6LmeKAZXIYwwntzDPsUE5rsAcg7TnTOAP_hQ"})
}
fn jwk_c() -> Value {
    json!({"kty": "EC", "kid": "c", "crv": "P-256",
        "x": "gYC1AF1yjg4ppJi-ptd4-c4nwKBRcOcMhH-vjdPQJfk",
        "y": "WhIMp-vRfrQ9_UkV9TeUhIGOzivD_uJR52ENz6GN2cI"})
}

fn key(name: &str) -> EncodingKey {
    let pem = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/oidc")
            .join(name),
    )
    .unwrap();
    if name.starts_with("ec") {
        EncodingKey::from_ec_pem(&pem).unwrap()
    } else {
        EncodingKey::from_rsa_pem(&pem).unwrap()
    }
}

#[derive(Clone)]
struct Provider {
    issuer: Arc<std::sync::Mutex<String>>,
    jwks: Arc<std::sync::Mutex<Value>>,
    jwks_hits: Arc<AtomicU64>,
}

async fn provider() -> (Provider, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let p = Provider {
        issuer: Arc::new(std::sync::Mutex::new(base.clone())),
        jwks: Arc::new(std::sync::Mutex::new(json!({"keys": [jwk_a(), jwk_c()]}))),
        jwks_hits: Arc::new(AtomicU64::new(0)),
    };
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(|State(p): State<Provider>| async move {
                let iss = p.issuer.lock().unwrap().clone();
                axum::Json(json!({"issuer": iss, "jwks_uri": format!("{iss}/jwks")}))
            }),
        )
        .route(
            "/jwks",
            get(|State(p): State<Provider>| async move {
                p.jwks_hits.fetch_add(1, Ordering::SeqCst);
                axum::Json(p.jwks.lock().unwrap().clone())
            }),
        )
        .with_state(p.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (p, base)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(iss: &str, groups: &[&str]) -> Value {
    json!({"iss": iss, "sub": "u-1", "aud": [AUDIENCE], "iat": now(), "nbf": now(),
        "exp": now() + 600, "groups": groups})
}

fn sign(kid: &str, alg: Algorithm, key_file: &str, claims: &Value) -> String {
    let mut h = Header::new(alg);
    h.kid = Some(kid.into());
    encode(&h, claims, &key(key_file)).unwrap()
}

fn verifier(issuer: &str) -> Verifier {
    let mut s = OidcSettings::new(issuer, AUDIENCE);
    s.refetch_min_interval = Duration::from_secs(1);
    Verifier::new()
        .with_hs256_secret(b"0123456789abcdef0123")
        .with_max_lifetime(Duration::from_secs(3600))
        .with_oidc(Oidc::new(s).unwrap())
}

async fn refusal(v: &Verifier, token: &str) -> (u16, String) {
    let e = v.verify(token).await.unwrap_err();
    (e.status.as_u16(), e.error)
}

#[tokio::test]
async fn provider_tokens_are_checked_for_issuer_audience_times_and_groups() {
    let (_p, iss) = provider().await;
    let v = verifier(&iss);
    let good = sign(
        "a",
        Algorithm::RS256,
        "rsa-a.pem",
        &claims(&iss, &["sx:shenyang-amr:officer"]),
    );
    let c = v.verify(&good).await.unwrap();
    assert_eq!((c.sub.as_str(), c.role), ("u-1", Role::Officer));
    assert_eq!(c.agency.as_deref(), Some("shenyang-amr"));
    // ES256 from the same key set.
    let es = sign(
        "c",
        Algorithm::ES256,
        "ec-p256.pem",
        &claims(&iss, &["sx:city_supervisor:210100"]),
    );
    assert_eq!(v.verify(&es).await.unwrap().role, Role::CitySupervisor);

    let mut wrong_aud = claims(&iss, &["sx:a:officer"]);
    wrong_aud["aud"] = json!("sanxiang-console");
    let (s, m) = refusal(&v, &sign("a", Algorithm::RS256, "rsa-a.pem", &wrong_aud)).await;
    assert_eq!(s, 401);
    assert_eq!(
        m,
        "token audience [sanxiang-console] does not include 'sanxiang-tenant-api': the token was issued for another application"
    );
    let no_aud = {
        let mut c = claims(&iss, &["sx:a:officer"]);
        c.as_object_mut().unwrap().remove("aud");
        c
    };
    let (s, m) = refusal(&v, &sign("a", Algorithm::RS256, "rsa-a.pem", &no_aud)).await;
    assert!(
        s == 401 && m.starts_with("token audience [] does not include"),
        "{m}"
    );

    let foreign = sign(
        "a",
        Algorithm::RS256,
        "rsa-a.pem",
        &claims("https://idp.example", &["sx:a:officer"]),
    );
    let (s, m) = refusal(&v, &foreign).await;
    assert_eq!(s, 401);
    assert_eq!(
        m,
        format!("token issuer 'https://idp.example' is not the accepted issuer '{iss}'")
    );

    let mut expired = claims(&iss, &["sx:a:officer"]);
    expired["exp"] = json!(now() - 120);
    expired["iat"] = json!(now() - 700);
    assert_eq!(
        refusal(&v, &sign("a", Algorithm::RS256, "rsa-a.pem", &expired)).await,
        (401, "token expired".into())
    );

    let mut long = claims(&iss, &["sx:a:officer"]);
    long["exp"] = json!(now() + 2 * 86_400);
    let (s, m) = refusal(&v, &sign("a", Algorithm::RS256, "rsa-a.pem", &long)).await;
    assert!(
        s == 401 && m.contains("longest accepted lifetime is 3600 s"),
        "{m}"
    );
    // Issued two days ago, expiring in a minute: lived longer than allowed.
    let mut old = claims(&iss, &["sx:a:officer"]);
    old["iat"] = json!(now() - 2 * 86_400);
    old["nbf"] = json!(now() - 2 * 86_400);
    old["exp"] = json!(now() + 60);
    let (s, m) = refusal(&v, &sign("a", Algorithm::RS256, "rsa-a.pem", &old)).await;
    assert!(s == 401 && m.contains("longest accepted lifetime"), "{m}");
    let mut early = claims(&iss, &["sx:a:officer"]);
    early["nbf"] = json!(now() + 600);
    let (s, m) = refusal(&v, &sign("a", Algorithm::RS256, "rsa-a.pem", &early)).await;
    assert!(s == 401 && m.contains("not valid yet"), "{m}");

    // Signed by another key under a known kid.
    let (s, m) = refusal(
        &v,
        &sign(
            "a",
            Algorithm::RS256,
            "rsa-b.pem",
            &claims(&iss, &["sx:a:officer"]),
        ),
    )
    .await;
    assert_eq!((s, m.as_str()), (401, "token signature is invalid"));
    // A symmetric token claiming the provider's issuer.
    let hs =
        sanxiang_testkit::token::hs256(b"0123456789abcdef0123", &claims(&iss, &["sx:a:officer"]))
            .unwrap();
    let (s, m) = refusal(&v, &hs).await;
    assert!(
        s == 401 && m.contains("HS256 is not accepted from the identity provider"),
        "{m}"
    );

    // Valid, but groups grant nothing: 403 naming the claim.
    let (s, m) = refusal(
        &v,
        &sign(
            "a",
            Algorithm::RS256,
            "rsa-a.pem",
            &claims(&iss, &["staff", "sx:a:janitor"]),
        ),
    )
    .await;
    assert_eq!(s, 403);
    assert!(
        m.contains("'groups' claim holds no Sanxiang group") && m.contains("sx:a:janitor"),
        "{m}"
    );

    // Tokens without `iss` still go to the static key (local tools and tests).
    let local = sanxiang_testkit::token::hs256(
        b"0123456789abcdef0123",
        &json!({"sub": "dev", "role": "officer", "agency": "a", "exp": now() + 60}),
    )
    .unwrap();
    assert_eq!(v.verify(&local).await.unwrap().sub, "dev");
}

#[tokio::test]
async fn rotated_keys_are_fetched_again_at_a_bounded_rate() {
    let (p, iss) = provider().await;
    let v = verifier(&iss);
    let oidc = v.oidc().unwrap();
    let ok = |kid: &str, file: &str| {
        sign(
            kid,
            Algorithm::RS256,
            file,
            &claims(&iss, &["sx:a:reviewer"]),
        )
    };
    v.verify(&ok("a", "rsa-a.pem")).await.unwrap();
    assert_eq!(oidc.fetches().await, 1);
    // Cached: no fetch for a known kid.
    v.verify(&ok("a", "rsa-a.pem")).await.unwrap();
    assert_eq!(p.jwks_hits.load(Ordering::SeqCst), 1);

    // The provider rotates to key b. Within the refetch interval the unknown kid is refused…
    *p.jwks.lock().unwrap() = json!({"keys": [jwk_b()]});
    let (s, m) = refusal(&v, &ok("b", "rsa-b.pem")).await;
    assert_eq!(s, 401);
    assert_eq!(
        m,
        "token signing key 'b' is not among the issuer's keys (keys are fetched again at most every 1 s)"
    );
    // …after it, the unknown kid fetches the keys again and is accepted.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        v.verify(&ok("b", "rsa-b.pem")).await.unwrap().role,
        Role::Reviewer
    );
    assert_eq!(p.jwks_hits.load(Ordering::SeqCst), 2);
    // The withdrawn key a is gone with the fetch.
    let (_, m) = refusal(&v, &ok("a", "rsa-a.pem")).await;
    assert!(m.contains("'a' is not among the issuer's keys"), "{m}");

    // A burst of made-up kids: at most one fetch per interval.
    let before = p.jwks_hits.load(Ordering::SeqCst);
    for i in 0..50 {
        let t = ok(&format!("made-up-{i}"), "rsa-a.pem");
        assert_eq!(refusal(&v, &t).await.0, 401);
    }
    let after = p.jwks_hits.load(Ordering::SeqCst);
    assert!(
        after - before <= 1,
        "{} fetches for 50 unknown kids",
        after - before
    );
    println!(
        "50 tokens with unknown kids caused {} JWKS fetch(es)",
        after - before
    );
}

#[tokio::test]
async fn discovery_must_name_the_configured_issuer_and_an_unreachable_provider_is_503() {
    let (p, iss) = provider().await;
    *p.issuer.lock().unwrap() = "https://elsewhere.example".into();
    let v = verifier(&iss);
    let t = sign(
        "a",
        Algorithm::RS256,
        "rsa-a.pem",
        &claims(&iss, &["sx:a:officer"]),
    );
    let (s, m) = refusal(&v, &t).await;
    assert_eq!(s, 503);
    assert!(
        m.contains("names issuer Some(\"https://elsewhere.example\")"),
        "{m}"
    );

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let v = verifier(&closed);
    let t = sign(
        "a",
        Algorithm::RS256,
        "rsa-a.pem",
        &claims(&closed, &["sx:a:officer"]),
    );
    let (s, m) = refusal(&v, &t).await;
    assert_eq!(s, 503);
    assert!(m.contains("signing keys could not be fetched"), "{m}");
}
