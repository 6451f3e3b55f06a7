//! Public-route middleware: a per-client rate limit (token bucket), and ETag /
//! Cache-Control on successful GETs (a matching If-None-Match gets 304).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::AppState;
use super::problem::{HtmlProblem, JsonProblem, Problem};

/// Buckets kept before idle ones are dropped.
const MAX_CLIENTS: usize = 100_000;

/// Token buckets by client address.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_second: f64, burst: f64) -> Self {
        Self {
            per_second: per_second.max(0.001),
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client`; false when none is left.
    pub fn allow(&self, client: IpAddr, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().expect("lock");
        if buckets.len() >= MAX_CLIENTS {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(client).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn client_of(req: &Request, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for
        && let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip())
}

pub async fn rate_limit(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let client = client_of(&req, st.web.trust_forwarded_for);
    if st.limiter.allow(client, Instant::now()) {
        return next.run(req).await;
    }
    st.metrics.rate_limited.inc();
    if req.uri().path().starts_with("/api/") {
        JsonProblem(Problem::too_many_requests()).into_response()
    } else {
        HtmlProblem(Problem::too_many_requests()).into_response()
    }
}

/// Largest body hashed for an ETag.
const MAX_BODY: usize = 8 * 1024 * 1024;

pub async fn cache_headers(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let cacheable = matches!(*req.method(), Method::GET | Method::HEAD);
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).cloned();
    let response = next.run(req).await;
    st.metrics
        .requests
        .with_label_values(&[response.status().as_str()])
        .inc();
    if !cacheable || response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Problem::unavailable().status.into_response();
    };
    let digest = Sha256::digest(&bytes);
    let tag = format!(
        "\"{}\"",
        digest[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let etag = HeaderValue::from_str(&tag).expect("hex is a valid header");
    parts.headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={}", st.web.cache_max_age))
            .expect("valid header"),
    );
    parts.headers.insert(header::ETAG, etag.clone());
    let matches = if_none_match.is_some_and(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim() == tag || t.trim() == "*"))
    });
    if matches {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_refills_at_the_rate() {
        let l = RateLimiter::new(2.0, 3.0);
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let t0 = Instant::now();
        assert!((0..3).all(|_| l.allow(a, t0)));
        assert!(!l.allow(a, t0), "burst used up");
        assert!(l.allow(b, t0), "another client has its own bucket");
        assert!(
            l.allow(a, t0 + Duration::from_millis(500)),
            "one token after 0.5 s"
        );
        assert!(!l.allow(a, t0 + Duration::from_millis(500)));
    }
}
