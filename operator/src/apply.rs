//! Server-side apply with the operator's single field manager, plus the helpers that keep
//! idle reconciles write-free: an object is applied only when what the operator owns in it
//! differs from what the cache or the server already has.

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::FIELD_MANAGER;

/// Applies `object` (a full intent: every field the operator owns) by server-side apply.
pub async fn apply<K>(api: &Api<K>, name: &str, object: &K) -> Result<K, kube::Error>
where
    K: Resource + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
{
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
}

/// Writes `status` to the status subresource by server-side apply — only when it differs
/// from `current` (the status the object was read with), so an idle reconcile writes
/// nothing.
pub async fn write_status<K, S>(
    api: &Api<K>,
    name: &str,
    current: Option<&S>,
    status: &S,
) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    if current == Some(status) {
        return Ok(());
    }
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

/// Whether every field set in `desired` has the same value in `actual` (fields only in
/// `actual`, like server defaults and other managers' fields, are ignored). Used on JSON
/// forms, so it works for typed and dynamic objects alike.
pub fn is_subset(desired: &serde_json::Value, actual: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (desired, actual) {
        (Value::Object(d), Value::Object(a)) => d
            .iter()
            .all(|(k, dv)| dv.is_null() || a.get(k).is_some_and(|av| is_subset(dv, av))),
        (Value::Array(d), Value::Array(a)) => {
            d.len() == a.len() && d.iter().zip(a).all(|(dv, av)| is_subset(dv, av))
        }
        _ => desired == actual,
    }
}

#[cfg(test)]
mod tests {
    use super::is_subset;
    use serde_json::json;

    #[test]
    fn extra_server_fields_do_not_count_as_drift() {
        let desired = json!({"metadata": {"labels": {"a": "1"}}, "data": {"k": "dg=="}});
        let actual = json!({"metadata": {"labels": {"a": "1"}, "uid": "x", "resourceVersion": "9"},
                            "data": {"k": "dg=="}, "type": "Opaque"});
        assert!(is_subset(&desired, &actual));
    }

    #[test]
    fn a_changed_value_or_a_list_length_is_drift() {
        assert!(!is_subset(
            &json!({"data": {"k": "a"}}),
            &json!({"data": {"k": "b"}})
        ));
        assert!(!is_subset(&json!({"l": [1, 2]}), &json!({"l": [1]})));
        assert!(!is_subset(&json!({"m": {"x": 1}}), &json!({})));
    }
}
