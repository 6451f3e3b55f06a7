//! Extractors for what every agency route starts with: the authenticated tenant (token
//! verified, agency authorized for the access the route needs, pool opened) and the
//! resource id of the path, so that a handler begins with its rule instead of with
//! `parse_id` and `tenant_ctx` lines.
//!
//! Order matters and is the one the handlers had: the path id is checked (400 naming
//! `id`) before the token (401/403), and a JSON body, extracted last, after both.

use super::validate::parse_id;
use crate::auth::Access;
use crate::error::ApiError;
use crate::state::{AppState, TenantCtx};
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use std::marker::PhantomData;
use std::ops::Deref;
use uuid::Uuid;

/// The access a route needs, as a type.
pub trait AccessLevel: Send + Sync + 'static {
    const ACCESS: Access;
}

/// Reads of the agency's own data (supervisors of its place included).
pub struct Read;
/// Writes by the agency's own staff.
pub struct Write;
/// Reading and reviewing the lists published before enforcement.
pub struct Lists;

impl AccessLevel for Read {
    const ACCESS: Access = Access::Read;
}
impl AccessLevel for Write {
    const ACCESS: Access = Access::Write;
}
impl AccessLevel for Lists {
    const ACCESS: Access = Access::Lists;
}

/// The tenant of `/agencies/{agency}/…`, authorized for `A`.
pub struct Tenant<A: AccessLevel> {
    ctx: TenantCtx,
    access: PhantomData<A>,
}

impl<A: AccessLevel> Deref for Tenant<A> {
    type Target = TenantCtx;
    fn deref(&self) -> &TenantCtx {
        &self.ctx
    }
}

/// A named segment of the matched path.
async fn path_param(parts: &mut Parts, state: &AppState, name: &str) -> Result<String, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::bad_request(name, format!("{name} must be a path segment")))?;
    params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .ok_or_else(|| ApiError::bad_request(name, format!("the route has no {name}")))
}

impl<A: AccessLevel> FromRequestParts<AppState> for Tenant<A> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let agency = path_param(parts, state, "agency").await?;
        let ctx = state.tenant_ctx(&parts.headers, &agency, A::ACCESS).await?;
        Ok(Self {
            ctx,
            access: PhantomData,
        })
    }
}

/// The `{id}` of the path, a UUID (400 naming `id` otherwise).
pub struct PathId(pub Uuid);

impl FromRequestParts<AppState> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let id = path_param(parts, state, "id").await?;
        parse_id(&id, "id").map(PathId)
    }
}
