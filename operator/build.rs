//! Rebuilds the operator when the tenant schema's migrations change: `sqlx::migrate!`
//! (in `tenant_schema.rs`) embeds `../tenant-service/migrations`, and cargo does not see
//! a new file there by itself (sqlx's documented build-script workaround).
fn main() {
    println!("cargo:rerun-if-changed=../tenant-service/migrations");
}
