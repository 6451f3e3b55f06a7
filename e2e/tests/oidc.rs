//! Sign-in with a real OpenID Connect provider: the platform's Ory Hydra and its login app.
//!
//! A sample user signs in by the authorization-code flow with PKCE, driven over HTTP as a
//! browser would (redirects followed by hand, Hydra's CSRF cookies kept, the login form
//! posted); the tenant service (the real binary, OIDC only: no static key) verifies the
//! access token through Hydra's discovery document and JWKS, accepts it within the user's
//! agency and refuses it for another. Tokens for another audience (Hydra's own ID token,
//! an access token for another API), from another issuer, tampered, or of a user whose
//! groups grant nothing are refused with a precise message; a key rotated in Hydra is
//! picked up by the refetch on an unknown `kid`; a service with a shorter longest lifetime
//! than Hydra's token TTL refuses its tokens.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use base64::Engine;
use sanxiang_testkit::operator::workspace_root;
use sanxiang_testkit::platform::process::{self, free_port, wait_until};
use sanxiang_testkit::platform::{
    CONSOLE_CLIENT_ID, CONSOLE_REDIRECT_URI, SAMPLE_PASSWORD, TENANT_API_AUDIENCE,
};
use sanxiang_testkit::{Platform, TestScope};
use serde_json::{Value, json};
use sha2::Digest;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A browser's worth of HTTP: no automatic redirects, cookies kept by name.
struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn new() -> Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            cookies: BTreeMap::new(),
        })
    }

    async fn send(
        &mut self,
        req: reqwest::RequestBuilder,
    ) -> Result<(u16, Option<String>, String)> {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let resp = req.header("Cookie", cookie).send().await?;
        for c in resp.headers().get_all("set-cookie") {
            let pair = c.to_str()?.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                self.cookies.insert(k.trim().into(), v.trim().into());
            }
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        Ok((status, location, resp.text().await?))
    }
}

/// What the provider issued at the end of a sign-in.
struct Tokens {
    access_token: String,
    id_token: String,
}

/// Signs `user` in through Hydra for `audience`: authorization code with PKCE (S256).
async fn sign_in(p: &Platform, user: &str, password: &str, audience: &str) -> Result<Tokens> {
    let issuer = p.oidc_issuer();
    let verifier: String = B64.encode(rand::random::<[u8; 32]>());
    let challenge = B64.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let state = B64.encode(rand::random::<[u8; 12]>());
    let mut b = Browser::new()?;
    let mut url = reqwest::Url::parse_with_params(
        &format!("{issuer}oauth2/auth"),
        &[
            ("response_type", "code"),
            ("client_id", CONSOLE_CLIENT_ID),
            ("redirect_uri", CONSOLE_REDIRECT_URI),
            ("scope", "openid offline_access"),
            ("audience", audience),
            ("state", &state),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )?
    .to_string();
    let login = format!("http://127.0.0.1:{}/login", p.ports.hydra_login);
    let mut code = None;
    for _ in 0..12 {
        let (status, location, body) = b.send(b.http.get(&url)).await?;
        if url.starts_with(&login) {
            // The login page: post the form as a person would.
            ensure!(
                status == 200 && body.contains("name=\"password\""),
                "login page: {status} {body}"
            );
            let challenge = reqwest::Url::parse(&url)?
                .query_pairs()
                .find(|(k, _)| k == "login_challenge")
                .map(|(_, v)| v.to_string())
                .context("login_challenge")?;
            let form = [
                ("challenge", challenge.as_str()),
                ("username", user),
                ("password", password),
            ];
            let (status, location, body) = b.send(b.http.post(&login).form(&form)).await?;
            if status == 401 {
                bail!("login refused: {body}");
            }
            ensure!(status == 302, "login POST: {status} {body}");
            url = location.context("login redirect")?;
            continue;
        }
        ensure!(matches!(status, 302 | 303), "GET {url}: {status} {body}");
        let next = location.context("redirect without Location")?;
        if next.starts_with(CONSOLE_REDIRECT_URI) {
            let back = reqwest::Url::parse(&next)?;
            let q: BTreeMap<_, _> = back.query_pairs().into_owned().collect();
            ensure!(q.get("state") == Some(&state), "state changed: {next}");
            code = Some(
                q.get("code")
                    .with_context(|| format!("no code in {next}"))?
                    .clone(),
            );
            break;
        }
        url = next;
    }
    let code = code.context("the flow did not reach the redirect URI")?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CONSOLE_REDIRECT_URI),
        ("client_id", CONSOLE_CLIENT_ID),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, _, body) = b
        .send(b.http.post(format!("{issuer}oauth2/token")).form(&form))
        .await?;
    ensure!(status == 200, "token endpoint: {status} {body}");
    let v: Value = serde_json::from_str(&body)?;
    Ok(Tokens {
        access_token: v["access_token"].as_str().context("access_token")?.into(),
        id_token: v["id_token"].as_str().context("id_token")?.into(),
    })
}

fn payload(token: &str) -> Result<Value> {
    let part = token.split('.').nth(1).context("not a JWT")?;
    Ok(serde_json::from_slice(&B64.decode(part)?)?)
}

fn kid(token: &str) -> Result<String> {
    jsonwebtoken::decode_header(token)?.kid.context("no kid")
}

/// The tenant service binary, OIDC only, serving two agencies; stopped when dropped.
struct TenantService {
    child: Child,
    api: u16,
    http: reqwest::Client,
}

impl TenantService {
    fn start(p: &Platform, dir: &std::path::Path, tenants: Value, extra: &[&str]) -> Result<Self> {
        let file = dir.join("tenants.yaml");
        fs::write(&file, serde_yaml::to_string(&tenants)?)?;
        let (api, admin) = (free_port()?, free_port()?);
        let log = dir.join("tenant-service.log");
        let out = fs::File::create(&log)?;
        let binary = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| workspace_root().join("target"))
            .join("debug/sanxiang-tenant-service");
        let child = Command::new(&binary)
            .arg(format!("--listen=127.0.0.1:{api}"))
            .arg(format!("--admin-listen=127.0.0.1:{admin}"))
            .arg(format!("--tenants-file={}", file.display()))
            .arg(format!(
                "--calendar-dir={}",
                workspace_root().join("e2e/fixtures/calendars").display()
            ))
            .arg(format!("--oidc-issuer={}", p.oidc_issuer()))
            .arg(format!("--oidc-audience={TENANT_API_AUDIENCE}"))
            .arg("--oidc-jwks-refetch-seconds=1")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id();
        let service = Self {
            child,
            api,
            http: reqwest::Client::new(),
        };
        wait_until(
            "sanxiang-tenant-service",
            &log,
            Duration::from_secs(60),
            Some(pid),
            || {
                Ok(process::http_get(admin, "/ready")
                    .map(|(s, _)| s == 200)
                    .unwrap_or(false))
            },
        )?;
        Ok(service)
    }

    async fn call(
        &self,
        method: &str,
        agency: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let url = format!(
            "http://127.0.0.1:{}/api/v1/agencies/{agency}{path}",
            self.api
        );
        let mut req = self.http.request(method.parse()?, &url).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    async fn error(&self, agency: &str, token: &str) -> Result<(u16, String)> {
        let (s, v) = self.call("GET", agency, "/personnel", token, None).await?;
        Ok((s, v["error"].as_str().unwrap_or_default().to_string()))
    }
}

impl Drop for TenantService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn users_sign_in_through_hydra_and_reach_only_their_agency() -> Result<()> {
    let p = Platform::shared()?;
    let (sy, tl) = (
        TestScope::new(p, "oidc-sy").await?,
        TestScope::new(p, "oidc-tl").await?,
    );
    sy.create_database().await?;
    tl.create_database().await?;
    let dir = tempfile::tempdir()?;
    let tenant = |agency: &str, city: &str, county: &str, s: &TestScope| {
        json!({"agency": agency, "province": "210000", "city": city, "county": county,
               "databaseUrl": s.database_url(), "subjectPrefix": s.subject_prefix})
    };
    let svc = TenantService::start(
        p,
        dir.path(),
        json!({"tenants": [
            tenant("shenyang-market", "210100", "-", &sy),
            tenant("tieling-county-market", "211200", "211221", &tl),
        ]}),
        &[],
    )?;

    // An officer of 沈阳市市场监督管理局 signs in; the token is Hydra's, for this API.
    let officer = sign_in(p, "zhang.wei", SAMPLE_PASSWORD, TENANT_API_AUDIENCE).await?;
    let claims = payload(&officer.access_token)?;
    assert_eq!(claims["iss"], json!(p.oidc_issuer()));
    assert_eq!(claims["sub"], "5b0e8a4e-7c1f-4d2e-9a51-2f4b7d3c1a01");
    assert_eq!(claims["aud"], json!([TENANT_API_AUDIENCE]));
    assert_eq!(claims["groups"], json!(["sx:shenyang-market:officer"]));
    println!(
        "Hydra access token: kid {} claims {claims}",
        kid(&officer.access_token)?
    );

    let (s, v) = svc
        .call(
            "GET",
            "shenyang-market",
            "/personnel",
            &officer.access_token,
            None,
        )
        .await?;
    assert_eq!(s, 200, "{v}");
    // The agency admin (another sample user) adds a person linked to the officer's subject.
    let admin = sign_in(p, "zhao.min", SAMPLE_PASSWORD, TENANT_API_AUDIENCE).await?;
    let (s, v) = svc.call("POST", "shenyang-market", "/personnel", &admin.access_token, Some(json!({
        "name": "张伟", "unit": "执法一队", "role": "officer", "certificateNumber": "LN-ZF-2026-0001",
        "categories": ["penalty"], "region": "辽宁省", "subject": claims["sub"],
        "validFrom": "2024-01-01", "validUntil": "2029-12-31"}))).await?;
    assert_eq!(s, 201, "{v}");
    let (_, people) = svc
        .call(
            "GET",
            "shenyang-market",
            "/personnel",
            &officer.access_token,
            None,
        )
        .await?;
    assert!(
        people
            .to_string()
            .contains(claims["sub"].as_str().unwrap_or_default()),
        "{people}"
    );
    let (s, e) = svc
        .error("tieling-county-market", &officer.access_token)
        .await?;
    assert_eq!(
        (s, e.as_str()),
        (
            403,
            "this token may not access agency 'tieling-county-market'"
        )
    );

    // The city supervisor of Shenyang reads Shenyang's agency, writes nothing, and cannot
    // see Tieling's.
    let city = sign_in(p, "chen.jing", SAMPLE_PASSWORD, TENANT_API_AUDIENCE).await?;
    assert_eq!(
        svc.error("shenyang-market", &city.access_token).await?.0,
        200
    );
    assert_eq!(
        svc.error("tieling-county-market", &city.access_token)
            .await?
            .0,
        403
    );
    let (s, v) = svc
        .call(
            "POST",
            "shenyang-market",
            "/personnel",
            &city.access_token,
            Some(json!({
                "name": "某人", "unit": "执法一队", "role": "officer", "certificateNumber": "LN-ZF-2026-0002",
                "categories": ["penalty"], "region": "辽宁省",
                "validFrom": "2024-01-01", "validUntil": "2029-12-31"})),
        )
        .await?;
    assert_eq!(
        (s, &v["error"]),
        (403, &json!("supervisors have read-only access"))
    );

    // The county supervisor of 铁岭县 (a county justice bureau) reads that county's agency
    // and not a Shenyang one: the provider's `sx:county_supervisor:211221` group is the scope.
    let county = sign_in(p, "zhou.li", SAMPLE_PASSWORD, TENANT_API_AUDIENCE).await?;
    assert_eq!(
        svc.error("tieling-county-market", &county.access_token)
            .await?
            .0,
        200
    );
    assert_eq!(
        svc.error("shenyang-market", &county.access_token).await?.0,
        403
    );

    // Hydra's ID token is for the client, not this API.
    let (s, e) = svc.error("shenyang-market", &officer.id_token).await?;
    assert_eq!(s, 401);
    assert_eq!(
        e,
        format!(
            "token audience [{CONSOLE_CLIENT_ID}] does not include '{TENANT_API_AUDIENCE}': the token was issued for another application"
        )
    );
    // An access token the same user obtained for another API.
    let reports = sign_in(p, "zhang.wei", SAMPLE_PASSWORD, "sanxiang-reports").await?;
    let (s, e) = svc.error("shenyang-market", &reports.access_token).await?;
    assert_eq!(
        (s, e.as_str()),
        (
            401,
            "token audience [sanxiang-reports] does not include 'sanxiang-tenant-api': the token was issued for another application"
        )
    );

    // A token from another issuer, well formed and signed.
    let mut foreign = claims.clone();
    foreign["iss"] = json!("https://idp.other.example/");
    let key = fs::read(workspace_root().join("tenant-service/tests/fixtures/oidc/rsa-b.pem"))?;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid(&officer.access_token)?);
    let forged = jsonwebtoken::encode(
        &header,
        &foreign,
        &jsonwebtoken::EncodingKey::from_rsa_pem(&key)?,
    )?;
    let (s, e) = svc.error("shenyang-market", &forged).await?;
    assert_eq!(
        (s, e),
        (
            401,
            format!(
                "token issuer 'https://idp.other.example/' is not the accepted issuer '{}'",
                p.oidc_issuer()
            )
        )
    );
    // The real token with its payload changed (another agency's group).
    let mut tampered_claims = claims.clone();
    tampered_claims["groups"] = json!(["sx:tieling-county-market:officer"]);
    let parts: Vec<&str> = officer.access_token.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(serde_json::to_vec(&tampered_claims)?),
        parts[2]
    );
    assert_eq!(
        svc.error("tieling-county-market", &tampered).await?,
        (401, "token signature is invalid".into())
    );

    // A user whose groups grant nothing, and a wrong password.
    let guest = sign_in(p, "guest", SAMPLE_PASSWORD, TENANT_API_AUDIENCE).await?;
    let (s, e) = svc.error("shenyang-market", &guest.access_token).await?;
    assert_eq!(s, 403);
    assert!(
        e.starts_with("the token's 'groups' claim holds no Sanxiang group"),
        "{e}"
    );
    let err = sign_in(p, "zhang.wei", "wrong", TENANT_API_AUDIENCE)
        .await
        .err()
        .context("wrong password accepted")?;
    assert!(format!("{err}").contains("用户名或密码错误"), "{err}");

    // Key rotation in Hydra: a new signing key, the old one withdrawn. The next token names
    // the new kid, which the service has never seen: it fetches the keys again and accepts.
    let old_kid = kid(&officer.access_token)?;
    let admin_api = reqwest::Client::new();
    let set = format!("{}/admin/keys/hydra.jwt.access-token", p.hydra_admin_url());
    let new_kid = format!("rotated-{}", sy.id);
    let r = admin_api
        .post(&set)
        .json(&json!({"alg": "RS256", "use": "sig", "kid": new_kid}))
        .send()
        .await?;
    ensure!(
        r.status().is_success(),
        "creating a key: {} {}",
        r.status(),
        r.text().await?
    );
    let r = admin_api.delete(format!("{set}/{old_kid}")).send().await?;
    ensure!(
        r.status().is_success(),
        "deleting key {old_kid}: {}",
        r.status()
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let rotated = sign_in(p, "li.na", SAMPLE_PASSWORD, TENANT_API_AUDIENCE).await?;
    assert_eq!(kid(&rotated.access_token)?, new_kid);
    assert_eq!(
        svc.error("shenyang-market", &rotated.access_token).await?.0,
        200
    );
    println!("rotated: old kid {old_kid}, new kid {new_kid}, new token accepted");
    drop(svc);

    // Hydra's access tokens live 1 h: a service allowing at most 10 minutes refuses them.
    let strict_dir = tempfile::tempdir()?;
    let strict = TenantService::start(
        p,
        strict_dir.path(),
        json!({"tenants": [tenant("shenyang-market", "210100", "-", &sy)]}),
        &["--max-token-lifetime-seconds=600"],
    )?;
    let (s, e) = strict
        .error("shenyang-market", &rotated.access_token)
        .await?;
    assert_eq!(
        (s, e.as_str()),
        (
            401,
            "token expires too far in the future (the longest accepted lifetime is 600 s)"
        )
    );
    drop(strict);
    sy.cleanup().await?;
    tl.cleanup().await?;
    Ok(())
}
