//! Request extractors whose every rejection is the API's `{ error, field }` 400 naming the
//! parameter or the JSON path, never axum's plain-text rejection.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

/// Query-string extractor whose errors are `{ error, field }` 400s naming the parameter.
pub struct QueryParams<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for QueryParams<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        if let Some(q) = parts.uri.query()
            && q.to_ascii_lowercase().contains("%00")
        {
            let field = q
                .split('&')
                .find(|kv| kv.to_ascii_lowercase().contains("%00"))
                .and_then(|kv| kv.split('=').next())
                .filter(|f| f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or("query");
            return Err(ApiError::bad_request(
                field,
                format!("{field} must not contain NUL characters"),
            ));
        }
        // The query string is parsed as axum's Query parses it (serde_urlencoded), with the
        // path of the failing parameter tracked structurally instead of read from a message.
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(
            parts.uri.query().unwrap_or_default().as_bytes(),
        ));
        serde_path_to_error::deserialize(de)
            .map(QueryParams)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = Some(path.as_str())
                    .filter(|f| {
                        *f != "." && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    })
                    .unwrap_or("query");
                let detail = match field {
                    "query" => e.into_inner().to_string(),
                    _ => format!("{path}: {}", e.into_inner()),
                };
                ApiError::bad_request(field, format!("invalid query parameter: {detail}"))
            })
    }
}

/// JSON body extractor whose errors are `{ error, field }` 400s naming the field.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request("body", format!("cannot read body: {e}")))?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The first string of a JSON value that holds a NUL character, as a field path.
fn nul_path(v: &serde_json::Value, path: &mut Vec<String>) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
            path.push(format!("[{i}]"));
            let found = nul_path(item, path);
            if !found {
                path.pop();
            }
            found
        }),
        serde_json::Value::Object(map) => map.iter().any(|(k, item)| {
            path.push(k.clone());
            let found = k.contains('\0') || nul_path(item, path);
            if !found {
                path.pop();
            }
            found
        }),
        _ => false,
    }
}

/// Refuses NUL characters anywhere in a JSON body: PostgreSQL cannot store them in text,
/// and no field of this API has a use for them.
fn refuse_nul(bytes: &[u8]) -> Result<(), ApiError> {
    // In JSON a NUL can only be written as the escape \u0000; look for it before parsing.
    if !bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(()); // the typed parse reports the syntax error
    };
    let mut path = Vec::new();
    if !nul_path(&value, &mut path) {
        return Ok(());
    }
    let field = path.iter().fold(String::new(), |mut acc, p| {
        if !acc.is_empty() && !p.starts_with('[') {
            acc.push('.');
        }
        acc.push_str(p);
        acc
    });
    let field = if field.is_empty() {
        "body".to_string()
    } else {
        field
    };
    Err(ApiError::bad_request(
        &field,
        format!("{field} must not contain NUL characters"),
    ))
}

/// Parses JSON, naming the offending field on error.
/// A JSON body whose every field is optional: an empty body means the defaults, anything
/// else is parsed (and refused) exactly as [`parse_json`] does.
pub fn parse_json_or_default<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        Ok(T::default())
    } else {
        parse_json(bytes)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request("body", "a JSON body is required"));
    }
    refuse_nul(bytes)?;
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        // "missing field `x`" is reported at the parent's path; name the field itself.
        let field = match msg.split('`').nth(1) {
            Some(name) if msg.starts_with("missing field") => {
                if path == "." || path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                }
            }
            _ if path == "." || path.is_empty() => "body".to_string(),
            _ => path,
        };
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        ApiError::bad_request(&field, format!("invalid request: {msg}"))
    })
}
