//! The claims of nats-io/jwt v2, field by field, as nats-server reads them.
//!
//! Each struct mirrors its Go counterpart (`v2/operator_claims.go`, `account_claims.go`,
//! `user_claims.go`, `types.go`, `exports.go`, `imports.go`) with the same JSON names;
//! Go's `omitempty` becomes `skip_serializing_if`. Numbers use Go's conventions: a limit of
//! `-1` ([`NO_LIMIT`]) is unlimited and an absent limit is `0`, which for JetStream means
//! *disabled* and for connections, subscriptions or payload means *none allowed*, so the
//! constructors here set every limit explicitly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An unlimited limit.
pub const NO_LIMIT: i64 = -1;

fn is_zero(v: &i64) -> bool {
    *v == 0
}
fn is_false(v: &bool) -> bool {
    !*v
}

/// `ClaimsData` plus the type-specific `nats` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims<T> {
    #[serde(rename = "aud", default, skip_serializing_if = "String::is_empty")]
    pub audience: String,
    #[serde(rename = "exp", default, skip_serializing_if = "is_zero")]
    pub expires: i64,
    #[serde(rename = "jti", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(rename = "iat", default, skip_serializing_if = "is_zero")]
    pub issued_at: i64,
    #[serde(rename = "iss", default, skip_serializing_if = "String::is_empty")]
    pub issuer: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(rename = "nbf", default, skip_serializing_if = "is_zero")]
    pub not_before: i64,
    #[serde(rename = "sub")]
    pub subject: String,
    pub nats: T,
}

/// `GenericFields`: tags, claim type and version (2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenericFields {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(rename = "type")]
    pub claim_type: String,
    pub version: u32,
}

impl GenericFields {
    pub fn of(claim_type: &str) -> Self {
        Self {
            tags: Vec::new(),
            claim_type: claim_type.into(),
            version: 2,
        }
    }
}

/// `Operator` (operator_claims.go).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Operator {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signing_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub account_server_url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operator_service_urls: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub system_account: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub assert_server_version: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict_signing_key_usage: bool,
    #[serde(flatten)]
    pub generic: GenericFields,
}

/// `NatsLimits`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NatsLimits {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub subs: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub data: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub payload: i64,
}

impl NatsLimits {
    pub fn unlimited() -> Self {
        Self {
            subs: NO_LIMIT,
            data: NO_LIMIT,
            payload: NO_LIMIT,
        }
    }
}

/// `AccountLimits`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountLimits {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub imports: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub exports: i64,
    #[serde(rename = "wildcards", default, skip_serializing_if = "is_false")]
    pub wildcard_exports: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disallow_bearer: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub conn: i64,
    #[serde(rename = "leaf", default, skip_serializing_if = "is_zero")]
    pub leaf_node_conn: i64,
}

/// `JetStreamLimits`; all zero means JetStream is disabled for the account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JetStreamLimits {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mem_storage: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub disk_storage: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub streams: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub consumer: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_ack_pending: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mem_max_stream_bytes: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub disk_max_stream_bytes: i64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub max_bytes_required: bool,
}

/// `OperatorLimits`: the three limit groups inline, as in Go.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OperatorLimits {
    #[serde(flatten)]
    pub nats: NatsLimits,
    #[serde(flatten)]
    pub account: AccountLimits,
    #[serde(flatten)]
    pub jetstream: JetStreamLimits,
}

/// `ExportType` / import type: serialised as `"stream"` or `"service"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportType {
    Stream,
    Service,
}

/// `Export` (exports.go).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Export {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub subject: String,
    #[serde(rename = "type")]
    pub export_type: ExportType,
    #[serde(default, skip_serializing_if = "is_false")]
    pub token_req: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub revocations: BTreeMap<String, i64>,
    /// `Singleton`, `Stream` or `Chunked`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub response_type: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub advertise: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_trace: bool,
}

/// `Import` (imports.go).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Import {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub subject: String,
    pub account: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub local_subject: String,
    #[serde(rename = "type")]
    pub import_type: ExportType,
    /// For service imports: pass the requester's identity (header `Nats-Request-Info`)
    /// to the exporting account.
    #[serde(default, skip_serializing_if = "is_false")]
    pub share: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_trace: bool,
}

/// `Permission`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Permission {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

impl Permission {
    pub fn allow<S: Into<String>>(subjects: impl IntoIterator<Item = S>) -> Self {
        Self {
            allow: subjects.into_iter().map(Into::into).collect(),
            deny: Vec::new(),
        }
    }
}

/// `ResponsePermission`: how many replies a user may send to a request it received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponsePermission {
    pub max: i64,
    /// Nanoseconds (Go `time.Duration`).
    pub ttl: i64,
}

/// `Permissions`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Permissions {
    #[serde(rename = "pub", default)]
    pub publish: Permission,
    #[serde(rename = "sub", default)]
    pub subscribe: Permission,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resp: Option<ResponsePermission>,
}

/// `Account` (account_claims.go).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<Import>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exports: Vec<Export>,
    #[serde(default)]
    pub limits: OperatorLimits,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signing_keys: Vec<String>,
    /// User public key (or `*` for all) → Unix time: user JWTs issued at or before that
    /// time are refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub revocations: BTreeMap<String, i64>,
    #[serde(default)]
    pub default_permissions: Permissions,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(flatten)]
    pub generic: GenericFields,
}

/// `User` (user_claims.go) with `UserPermissionLimits` and `Limits` inline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    #[serde(flatten)]
    pub permissions: Permissions,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub src: Vec<String>,
    #[serde(flatten)]
    pub limits: NatsLimits,
    #[serde(default, skip_serializing_if = "is_false")]
    pub bearer_token: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_connection_types: Vec<String>,
    /// The account, when the JWT is signed by one of its signing keys.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issuer_account: String,
    #[serde(flatten)]
    pub generic: GenericFields,
}

/// The claims of a request to delete accounts (`$SYS.REQ.CLAIMS.DELETE`): a generic JWT,
/// self-signed by an operator key, whose `nats.accounts` lists the accounts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeleteAccounts {
    pub accounts: Vec<String>,
}
