//! Sanxiang's domain vocabulary, with no Kubernetes in it.
//!
//! Every crate of the platform speaks about the same things — enforcement categories
//! (执法类别), procedures, working days, credit and place codes, disclosure deadlines,
//! the date in China — and each is defined here, once:
//!
//! | module | what |
//! |---|---|
//! | [`category`] | [`EnforcementCategory`] (one enum: Kubernetes name, storage code, Chinese label), [`Procedure`], action kinds and the A/V-recording rule |
//! | [`disclosure`] | the 7/20-working-day rule and [`DisclosureOverride`] (with its legal basis) |
//! | [`calendar`] | the working-day engine ([`Calendar`]) built from yearly holiday notices |
//! | [`credit_code`] | GB 32100-2015 unified social credit codes and their check digit |
//! | [`place`] | GB/T 2260 division codes, their level and Chinese names of the sample provinces |
//! | [`policy`] | policy inheritance national → province → city → county → agency, each level only tightening |
//! | [`time`] | China Standard Time and the injectable [`Clock`] |
//! | [`contract`] | [`TenantContract`]: what the operator writes onto an agency's database Secret and the tenant service reads |
//! | [`matter`] | [`Matter`]: an enforcement matter, its review requirement, disclosure override, A/V rule and discretion [`Benchmark`] |
//! | [`prepublication`] | [`ListKind`]: the lists published before enforcement (事前公开) and their item schemas |
//! | [`field_error`] | [`FieldError`]: a validation problem named by its field |
//! | [`supervision`] | the payloads pushed upward for the supervision workspace (decision metadata, compliance counts, milestone reports), without personal data |
//!
//! Why no Kubernetes: the CRD types (`sanxiang-crds`), the operator, the tenant service
//! and the disclosure platform all need these rules, but only some of them talk to an
//! API server; the rules are pure and tested on their own. Schemas (`schemars`) are
//! derived here where a type is embedded in a CRD, so that the CRD YAML and the Rust
//! type cannot drift.

pub mod calendar;
pub mod category;
pub mod contract;
pub mod credit_code;
pub mod disclosure;
pub mod field_error;
pub mod matter;
pub mod place;
pub mod policy;
pub mod prepublication;
pub mod supervision;
pub mod time;

pub use calendar::*;
pub use category::*;
pub use contract::*;
pub use credit_code::*;
pub use disclosure::*;
pub use field_error::*;
pub use matter::*;
pub use place::*;
pub use prepublication::*;
pub use time::*;
