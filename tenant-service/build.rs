//! Rebuilds the service when its migrations change: `sqlx::migrate!` (in `db.rs`) embeds
//! `migrations/`, and cargo does not see a new file there by itself (sqlx's documented
//! build-script workaround).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
