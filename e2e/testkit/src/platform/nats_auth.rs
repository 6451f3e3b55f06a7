//! The local platform's NATS trust chain, created at `up` like its PKI (see
//! [`sanxiang_nats_jwt::install`]): files in the state directory (`nats/auth/`, mode
//! 0600). nats-server's configuration names only the operator JWT, the system account and
//! the resolver directory; the operator is given the signing keys and the system user's
//! credentials, as a cluster's operator is given them in a Secret.

use std::path::Path;

use sanxiang_nats_jwt::topology::AggregateQuota;

pub use sanxiang_nats_jwt::install::Installation as NatsAuth;

/// JetStream quota of the aggregate account on the local platform. JetStream reserves each
/// stream's `max_bytes` against it (nothing is allocated), and tests create a county
/// stream per run, so it is generous; the server's `max_file_store` is twice as much.
pub const LOCAL_QUOTA: AggregateQuota = AggregateQuota {
    disk_bytes: 128 << 30,
    memory_bytes: 256 << 20,
    max_payload: 1 << 20,
};

/// `max_bytes` of each aggregate stream on the local platform.
pub const LOCAL_STREAM_MAX_BYTES: i64 = 32 << 20;

/// Where the local platform keeps its installation.
pub fn local_nats_auth(state_dir: &Path) -> NatsAuth {
    NatsAuth::new(&state_dir.join("nats/auth"))
}
