//! The accounts Sanxiang's NATS runs with, defined once for the operator and the local
//! platform.
//!
//! - **System account** (`SYS`): nats-server's own; the operator's system user sends
//!   `$SYS.REQ.CLAIMS.*` requests with it.
//! - **Aggregate account** ([`AGGREGATE_ACCOUNT`]): holds every JetStream stream (county,
//!   city and province aggregates) and exports the service `sx.>`. Platform services (the
//!   operator, the tenant service, the disclosure platform's reader) are users here.
//! - **One account per agency**: JetStream disabled, and a single import of the service
//!   `<its prefix>.>` from the aggregate account, so what it publishes lands in its
//!   county's (or city's) aggregate stream and publish acknowledgements come back through
//!   the import. The agency account has no stream and no JetStream API at all: a reply
//!   subject such as `$JS.API.STREAM.PURGE.<stream>` on an agency's publish (which
//!   nats-server 2.15 refuses anyway) could only reach the agency's own account, where
//!   nothing answers it.
//!
//! **Who published a message** is its subject: an agency's account can carry nothing into
//! the aggregate account but its own `<prefix>.>` (its only import, and its user may
//! publish nothing else), so the agency token of a stored subject ([`agency_of_subject`])
//! is authenticated by NATS, whatever the payload claims. JetStream drops the
//! `Nats-Request-Info` header a service import adds, so that header cannot be used.

use std::collections::BTreeMap;

use crate::claims::{
    Account, AccountLimits, Claims, Export, ExportType, GenericFields, Import, JetStreamLimits,
    NO_LIMIT, NatsLimits, Operator, OperatorLimits, Permission, Permissions, User,
};
use crate::{KeyPair, Result, derive_account, encode, format_creds};

/// First token of every agency subject.
pub const SUBJECT_ROOT: &str = "sx";
/// Name of the aggregate account (also the derivation name of its key).
pub const AGGREGATE_ACCOUNT: &str = "SANXIANG";
/// Name of the system account.
pub const SYSTEM_ACCOUNT: &str = "SYS";

/// The keys the operator holds (from its Secret).
pub struct SigningKeys {
    /// Signs account JWTs; listed in the operator JWT.
    pub operator: KeyPair,
    /// Signs user JWTs; listed in every account JWT.
    pub account: KeyPair,
}

impl SigningKeys {
    /// The aggregate account's key.
    pub fn aggregate_account(&self) -> Result<KeyPair> {
        derive_account(&self.account, AGGREGATE_ACCOUNT)
    }
}

fn claims<T>(subject: String, name: &str, nats: T) -> Claims<T> {
    Claims {
        audience: String::new(),
        expires: 0,
        id: String::new(),
        issued_at: 0,
        issuer: String::new(),
        name: name.into(),
        not_before: 0,
        subject,
        nats,
    }
}

/// The operator JWT nats-server trusts (signed by the operator identity key).
pub fn operator_jwt(
    identity: &KeyPair,
    name: &str,
    signing_keys: &SigningKeys,
    system_account: &str,
    now: i64,
) -> Result<String> {
    let mut c = claims(
        identity.public_key(),
        name,
        Operator {
            signing_keys: vec![signing_keys.operator.public_key()],
            account_server_url: String::new(),
            operator_service_urls: Vec::new(),
            system_account: system_account.into(),
            assert_server_version: String::new(),
            strict_signing_key_usage: false,
            generic: GenericFields::of("operator"),
        },
    );
    encode(&mut c, identity, now)
}

fn account(
    keys: &SigningKeys,
    limits: OperatorLimits,
    imports: Vec<Import>,
    exports: Vec<Export>,
    description: String,
) -> Account {
    Account {
        imports,
        exports,
        limits,
        signing_keys: vec![keys.account.public_key()],
        revocations: BTreeMap::new(),
        default_permissions: Permissions::default(),
        description,
        generic: GenericFields::of("account"),
    }
}

fn unlimited_account_limits() -> AccountLimits {
    AccountLimits {
        imports: NO_LIMIT,
        exports: NO_LIMIT,
        wildcard_exports: true,
        disallow_bearer: true,
        conn: NO_LIMIT,
        leaf_node_conn: NO_LIMIT,
    }
}

/// The system account JWT.
pub fn system_account_jwt(keys: &SigningKeys, system: &str, now: i64) -> Result<String> {
    let limits = OperatorLimits {
        nats: NatsLimits::unlimited(),
        account: unlimited_account_limits(),
        jetstream: JetStreamLimits::default(),
    };
    let mut c = claims(
        system.into(),
        SYSTEM_ACCOUNT,
        account(keys, limits, Vec::new(), Vec::new(), String::new()),
    );
    encode(&mut c, &keys.operator, now)
}

/// JetStream quota of the aggregate account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AggregateQuota {
    pub disk_bytes: i64,
    pub memory_bytes: i64,
    /// Largest message any client may publish (bytes).
    pub max_payload: i64,
}

/// The aggregate account JWT: JetStream on, the service `sx.>` exported (public: only the
/// operator signs account JWTs, so only accounts it minted can import it, and each
/// agency's account imports exactly its own prefix).
pub fn aggregate_account_jwt(
    keys: &SigningKeys,
    quota: AggregateQuota,
    now: i64,
) -> Result<String> {
    let limits = OperatorLimits {
        nats: NatsLimits {
            subs: NO_LIMIT,
            data: NO_LIMIT,
            payload: quota.max_payload,
        },
        account: unlimited_account_limits(),
        jetstream: JetStreamLimits {
            mem_storage: quota.memory_bytes,
            disk_storage: quota.disk_bytes,
            streams: NO_LIMIT,
            consumer: NO_LIMIT,
            max_ack_pending: NO_LIMIT,
            ..JetStreamLimits::default()
        },
    };
    let exports = vec![Export {
        name: "agency subjects".into(),
        subject: format!("{SUBJECT_ROOT}.>"),
        export_type: ExportType::Service,
        token_req: false,
        revocations: BTreeMap::new(),
        response_type: "Singleton".into(),
        advertise: false,
        allow_trace: false,
    }];
    let mut c = claims(
        keys.aggregate_account()?.public_key(),
        AGGREGATE_ACCOUNT,
        account(
            keys,
            limits,
            Vec::new(),
            exports,
            "Sanxiang aggregate streams (county, city, province)".into(),
        ),
    );
    encode(&mut c, &keys.operator, now)
}

/// What an agency's account allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgencyAccount {
    /// `namespace/name`, shown by nats-server as the account's name.
    pub name: String,
    /// The only subjects the account can publish: `<subject_prefix>.>`.
    pub subject_prefix: String,
    pub max_connections: i64,
    pub max_subscriptions: i64,
    pub max_payload: i64,
    /// Revoked user keys (or `*`) → Unix time.
    pub revocations: BTreeMap<String, i64>,
}

/// An agency account JWT (see the module docs).
pub fn agency_account_jwt(
    keys: &SigningKeys,
    account_key: &str,
    spec: &AgencyAccount,
    now: i64,
) -> Result<String> {
    let subject = format!("{}.>", spec.subject_prefix);
    let limits = OperatorLimits {
        nats: NatsLimits {
            subs: spec.max_subscriptions,
            data: NO_LIMIT,
            payload: spec.max_payload,
        },
        account: AccountLimits {
            imports: 1,
            exports: 0,
            wildcard_exports: false,
            disallow_bearer: true,
            conn: spec.max_connections,
            leaf_node_conn: 0,
        },
        jetstream: JetStreamLimits::default(),
    };
    let imports = vec![Import {
        name: "own subjects".into(),
        subject: subject.clone(),
        account: keys.aggregate_account()?.public_key(),
        token: String::new(),
        local_subject: String::new(),
        import_type: ExportType::Service,
        share: false,
        allow_trace: false,
    }];
    let mut body = account(
        keys,
        limits,
        imports,
        Vec::new(),
        format!("Sanxiang agency {}", spec.name),
    );
    body.revocations = spec.revocations.clone();
    let mut c = claims(account_key.into(), &spec.name, body);
    encode(&mut c, &keys.operator, now)
}

/// The permissions of an agency's user: publish under its prefix, subscribe to inboxes
/// (replies, acknowledgements) only.
pub fn agency_user_permissions(subject_prefix: &str) -> Permissions {
    Permissions {
        publish: Permission::allow([format!("{subject_prefix}.>")]),
        subscribe: Permission::allow(["_INBOX.>"]),
        resp: None,
    }
}

/// A `.creds` file for `user` in `account_key`, signed with the account signing key.
pub fn user_creds(
    keys: &SigningKeys,
    account_key: &str,
    user: &KeyPair,
    name: &str,
    permissions: Permissions,
    now: i64,
) -> Result<String> {
    let mut c = claims(
        user.public_key(),
        name,
        User {
            permissions,
            src: Vec::new(),
            limits: NatsLimits::unlimited(),
            bearer_token: false,
            allowed_connection_types: Vec::new(),
            issuer_account: account_key.into(),
            generic: GenericFields::of("user"),
        },
    );
    let jwt = encode(&mut c, &keys.account, now)?;
    format_creds(&jwt, user)
}

/// The request JWT of `$SYS.REQ.CLAIMS.DELETE` (self-signed by the operator signing key).
pub fn delete_accounts_jwt(keys: &SigningKeys, accounts: &[String], now: i64) -> Result<String> {
    let mut c = claims(
        keys.operator.public_key(),
        "",
        crate::claims::DeleteAccounts {
            accounts: accounts.to_vec(),
        },
    );
    encode(&mut c, &keys.operator, now)
}

/// Permissions of a reader of one aggregate stream (e.g. the disclosure platform reading
/// `SX_PROVINCE_<code>`): its consumers and their messages, nothing else.
pub fn stream_reader_permissions(stream: &str) -> Permissions {
    Permissions {
        publish: Permission::allow([
            format!("$JS.API.STREAM.INFO.{stream}"),
            format!("$JS.API.CONSUMER.CREATE.{stream}.>"),
            format!("$JS.API.CONSUMER.CREATE.{stream}"),
            format!("$JS.API.CONSUMER.DURABLE.CREATE.{stream}.>"),
            format!("$JS.API.CONSUMER.INFO.{stream}.>"),
            format!("$JS.API.CONSUMER.DELETE.{stream}.>"),
            format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.>"),
            format!("$JS.API.CONSUMER.LIST.{stream}"),
            format!("$JS.API.CONSUMER.NAMES.{stream}"),
            format!("$JS.API.STREAM.MSG.GET.{stream}"),
            format!("$JS.ACK.{stream}.>"),
            format!("$JS.FC.{stream}.>"),
            "$JS.API.INFO".into(),
        ]),
        subscribe: Permission::allow(["_INBOX.>", "sx-reader.>"]),
        resp: None,
    }
}

/// Permissions of a platform service that publishes for agencies (the tenant service): any
/// agency subject, acknowledgements on its inboxes, no JetStream API.
pub fn publisher_permissions() -> Permissions {
    Permissions {
        publish: Permission::allow([format!("{SUBJECT_ROOT}.>")]),
        subscribe: Permission::allow(["_INBOX.>"]),
        resp: None,
    }
}

/// The agency that published a message stored under `subject`
/// (`sx.<province>.<city>.<county>.<agency>.<event…>`), as NATS authenticated it.
pub fn agency_of_subject(subject: &str) -> Option<&str> {
    let mut tokens = subject.split('.');
    (tokens.next()? == SUBJECT_ROOT).then_some(())?;
    tokens.nth(3).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agency_token_of_a_subject() {
        assert_eq!(
            agency_of_subject("sx.210000.211200.211221.market.disclosure"),
            Some("market")
        );
        assert_eq!(
            agency_of_subject("sx.210000.211200.-.city-a.x"),
            Some("city-a")
        );
        assert_eq!(agency_of_subject("other.210000.211200.-.a.x"), None);
        assert_eq!(agency_of_subject("sx.210000.211200"), None);
    }
}
