//! Alertmanager's configuration file rendered from the cities' `AlertmanagerConfig`
//! objects, purely (no I/O): what prometheus-operator does for its Alertmanagers, for an
//! Alertmanager that no prometheus-operator manages (the local platform's).
//!
//! Like prometheus-operator, every object becomes one child of the top route with
//! `continue: true` (so each city sees every alert it matches, not only the first city),
//! and receiver names are prefixed `<namespace>/<object>/` so that cities cannot collide.
//! Where prometheus-operator adds a `namespace` matcher, this adds the **fence** of the
//! object's namespace ([`Fence`]) in front of the object's own matchers, and to both sides
//! of each inhibit rule: in a city's namespace (label `sanxiang.io/city-code`) the matcher
//! `city="<code>"`; in a province's (label `sanxiang.io/province-code` and no city code)
//! `province="<code>", city="-"`, the alerts of the province-level agencies, which live in
//! that namespace (the same set prometheus-operator's namespace matcher gives). Matchers
//! are ANDed, so nothing an administrator writes (`city=~".+"`, another city's code)
//! widens what the object receives.
//!
//! An object that breaks a rule ([`sanxiang_crds::alertmanager_config::validate_alertmanager_config`],
//! or a namespace that is neither a city's nor a province's) is left out, with its errors;
//! the others are rendered as if it did not exist, so one city's mistake never changes
//! another city's routing. The caller writes each object's errors into its `Accepted`
//! condition.

use serde_json::{Value, json};

use sanxiang_crds::alertmanager_config::{
    AlertmanagerConfigSpec, Matcher, validate_alertmanager_config,
};
use sanxiang_crds::field_error::FieldError;
use sanxiang_domain::NO_CITY;

/// Receiver of alerts that no object routes: notifications go nowhere.
pub const NULL_RECEIVER: &str = "sanxiang-null";

/// One AlertmanagerConfig object with the codes of its namespace.
#[derive(Clone, Debug)]
pub struct RoutingObject {
    pub namespace: String,
    pub name: String,
    /// The namespace's `sanxiang.io/city-code` label; `None` when it has none.
    pub city: Option<String>,
    /// The namespace's `sanxiang.io/province-code` label; `None` when it has none.
    pub province: Option<String>,
    pub spec: AlertmanagerConfigSpec,
}

/// The alerts an object may route: those of its namespace's agencies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fence<'a> {
    /// A city's namespace: its city-level and county-level agencies.
    City(&'a str),
    /// A province's namespace: its province-level agencies (`city="-"`), not its cities'.
    ProvinceLevel(&'a str),
}

impl Fence<'_> {
    /// The matchers put in front of the object's own.
    fn matchers(self) -> Vec<String> {
        match self {
            Fence::City(city) => vec![matcher_string("city", "=", city)],
            Fence::ProvinceLevel(province) => vec![
                matcher_string("province", "=", province),
                matcher_string("city", "=", NO_CITY),
            ],
        }
    }
}

/// The rendered file and what became of each object, in input order.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// Alertmanager's configuration (write it as YAML, e.g. with `serde_yaml`).
    pub config: Value,
    /// `Ok` when the object is part of `config`; its field errors otherwise.
    pub results: Vec<Result<(), Vec<FieldError>>>,
}

/// Renders every valid object; see the module docs.
pub fn render(objects: &[RoutingObject]) -> Rendered {
    let mut receivers = vec![json!({ "name": NULL_RECEIVER })];
    let mut routes = Vec::new();
    let mut inhibit = Vec::new();
    let mut results = Vec::new();
    for object in objects {
        match check(object) {
            Err(errors) => results.push(Err(errors)),
            Ok(fence) => {
                let part = render_one(object, fence);
                receivers.extend(part.receivers);
                routes.extend(part.route);
                inhibit.extend(part.inhibit_rules);
                results.push(Ok(()));
            }
        }
    }
    let mut config = json!({
        "route": {
            "receiver": NULL_RECEIVER,
            "group_by": ["alertname", "agency"],
            "routes": routes,
        },
        "receivers": receivers,
    });
    if !inhibit.is_empty() {
        config["inhibit_rules"] = Value::Array(inhibit);
    }
    Rendered { config, results }
}

/// The file with only `object` (for checking one object with `amtool check-config`).
pub fn render_alone(object: &RoutingObject) -> Rendered {
    render(std::slice::from_ref(object))
}

fn check(object: &RoutingObject) -> Result<Fence<'_>, Vec<FieldError>> {
    fn code(c: &Option<String>) -> Option<&str> {
        c.as_deref()
            .filter(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
    }
    let mut errors = Vec::new();
    let fence = match (object.city.as_deref(), code(&object.province)) {
        (None, Some(province)) => Some(Fence::ProvinceLevel(province)),
        (Some(_), _) => code(&object.city).map(Fence::City),
        (None, None) => None,
    };
    if fence.is_none() {
        errors.push(FieldError::new(
            "metadata.namespace",
            format!(
                "namespace {} is neither a city's (label sanxiang.io/city-code) nor a \
                 province's (label sanxiang.io/province-code only); AlertmanagerConfigs route \
                 the alerts of the agencies of their namespace and live in a city's or a \
                 province's namespace",
                object.namespace
            ),
        ));
    }
    errors.extend(validate_alertmanager_config(&object.spec));
    match fence {
        Some(f) if errors.is_empty() => Ok(f),
        _ => Err(errors),
    }
}

struct Part {
    receivers: Vec<Value>,
    route: Option<Value>,
    inhibit_rules: Vec<Value>,
}

fn render_one(object: &RoutingObject, fence: Fence) -> Part {
    let prefix = format!("{}/{}/", object.namespace, object.name);
    let spec = &object.spec;
    let receivers = spec
        .receivers
        .iter()
        .map(|r| {
            let hooks: Vec<Value> = r
                .webhook_configs
                .iter()
                .map(|w| {
                    let mut hook = json!({
                        "url": w.url.trim(),
                        "send_resolved": w.send_resolved.unwrap_or(true),
                    });
                    if let Some(n) = w.max_alerts {
                        hook["max_alerts"] = n.into();
                    }
                    hook
                })
                .collect();
            let mut receiver = json!({ "name": format!("{prefix}{}", r.name) });
            if !hooks.is_empty() {
                receiver["webhook_configs"] = Value::Array(hooks);
            }
            receiver
        })
        .collect();
    let fence = fence.matchers();
    let route = spec.route.as_ref().map(|r| {
        let children: Vec<Value> = r
            .routes
            .iter()
            .map(|c| {
                route_json(
                    &format!("{prefix}{}", c.receiver),
                    &c.group_by,
                    [
                        ("group_wait", &c.group_wait),
                        ("group_interval", &c.group_interval),
                        ("repeat_interval", &c.repeat_interval),
                    ],
                    c.matchers.iter().map(matcher).collect(),
                    c.continue_,
                )
            })
            .collect();
        let mut matchers = fence.clone();
        matchers.extend(r.matchers.iter().map(matcher));
        let mut route = route_json(
            &format!("{prefix}{}", r.receiver),
            &r.group_by,
            [
                ("group_wait", &r.group_wait),
                ("group_interval", &r.group_interval),
                ("repeat_interval", &r.repeat_interval),
            ],
            matchers,
            // Whatever the city says: the next city must see the alerts as well.
            true,
        );
        if !children.is_empty() {
            route["routes"] = Value::Array(children);
        }
        route
    });
    let inhibit_rules = spec
        .inhibit_rules
        .iter()
        .map(|rule| {
            let side = |ms: &[Matcher]| {
                let out = fence.iter().cloned().chain(ms.iter().map(matcher));
                Value::Array(out.map(Value::String).collect())
            };
            let mut v = json!({
                "source_matchers": side(&rule.source_match),
                "target_matchers": side(&rule.target_match),
            });
            if !rule.equal.is_empty() {
                v["equal"] = json!(rule.equal);
            }
            v
        })
        .collect();
    Part {
        receivers,
        route,
        inhibit_rules,
    }
}

fn route_json(
    receiver: &str,
    group_by: &[String],
    durations: [(&str, &Option<String>); 3],
    matchers: Vec<String>,
    continue_: bool,
) -> Value {
    let mut route = json!({ "receiver": receiver, "matchers": matchers });
    if !group_by.is_empty() {
        route["group_by"] = json!(group_by);
    }
    for (key, value) in durations {
        if let Some(v) = value {
            route[key] = v.clone().into();
        }
    }
    if continue_ {
        route["continue"] = true.into();
    }
    route
}

fn matcher(m: &Matcher) -> String {
    matcher_string(&m.name, m.match_type.as_deref().unwrap_or("="), &m.value)
}

/// `name="value"` in Alertmanager's matcher syntax, the value quoted and escaped.
fn matcher_string(name: &str, op: &str, value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("{name}{op}\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(ns: &str, city: Option<&str>, yaml: &str) -> RoutingObject {
        RoutingObject {
            namespace: ns.into(),
            name: "routing".into(),
            city: city.map(Into::into),
            province: city.map(|_| "210000".into()),
            spec: serde_yaml::from_str(yaml).unwrap(),
        }
    }

    const DUTY: &str = "route: {receiver: duty, groupBy: [agency], groupWait: 1s,\n\
        \x20 matchers: [{name: city, value: '.+', matchType: '=~'}],\n\
        \x20 routes: [{receiver: duty, matchers: [{name: severity, value: critical}]}]}\n\
        receivers: [{name: duty, webhookConfigs: [{url: 'http://127.0.0.1:9/a'}]}]\n\
        inhibitRules: [{sourceMatch: [{name: severity, value: critical}], targetMatch: [{name: severity, value: warning}], equal: [agency]}]\n";

    #[test]
    fn a_city_route_always_starts_with_its_city_matcher() {
        let r = render(&[object("sx-211200", Some("211200"), DUTY)]);
        assert_eq!(r.results, vec![Ok(())]);
        let route = &r.config["route"]["routes"][0];
        assert_eq!(route["receiver"], "sx-211200/routing/duty");
        // The city's own `city=~".+"` is kept, but ANDed after the enforced matcher.
        assert_eq!(
            route["matchers"],
            json!(["city=\"211200\"", "city=~\".+\""])
        );
        assert_eq!(route["continue"], true);
        assert_eq!(route["group_wait"], "1s");
        assert_eq!(
            route["routes"][0]["matchers"],
            json!(["severity=\"critical\""])
        );
        let inhibit = &r.config["inhibit_rules"][0];
        assert_eq!(
            inhibit["source_matchers"],
            json!(["city=\"211200\"", "severity=\"critical\""])
        );
        assert_eq!(inhibit["target_matchers"][0], "city=\"211200\"");
        assert_eq!(
            r.config["receivers"][1]["webhook_configs"][0]["send_resolved"],
            true
        );
    }

    #[test]
    fn a_bad_object_is_left_out_and_the_others_are_unchanged() {
        let good = object("sx-211200", Some("211200"), DUTY);
        let bad = object(
            "sx-210100",
            Some("210100"),
            "route: {receiver: nobody}\nreceivers: [{name: duty}]\n",
        );
        let alone = render(std::slice::from_ref(&good));
        let both = render(&[bad.clone(), good]);
        assert_eq!(both.config, alone.config);
        let errors = both.results[0].clone().unwrap_err();
        assert_eq!(errors[0].field, "spec.route.receiver");
        assert_eq!(both.results[1], Ok(()));
    }

    #[test]
    fn objects_outside_city_namespaces_are_refused() {
        let r = render(&[object("default", None, DUTY)]);
        let errors = r.results[0].clone().unwrap_err();
        assert_eq!(errors[0].field, "metadata.namespace");
        assert_eq!(r.config["route"]["routes"], json!([]));
    }

    #[test]
    fn a_province_route_takes_only_its_province_level_agencies() {
        let mut province = object("sx-210000", None, DUTY);
        province.province = Some("210000".into());
        let r = render(&[province]);
        assert_eq!(r.results, vec![Ok(())]);
        let route = &r.config["route"]["routes"][0];
        assert_eq!(route["receiver"], "sx-210000/routing/duty");
        // Its own `city=~".+"` cannot reach a city's alerts: `city="-"` is ANDed first.
        assert_eq!(
            route["matchers"],
            json!(["province=\"210000\"", "city=\"-\"", "city=~\".+\""])
        );
        let inhibit = &r.config["inhibit_rules"][0];
        assert_eq!(
            inhibit["target_matchers"],
            json!(["province=\"210000\"", "city=\"-\"", "severity=\"warning\""])
        );
    }

    #[test]
    fn a_malformed_code_fences_nothing() {
        let mut bad = object("sx-x", Some("21-100"), DUTY);
        bad.province = Some("210000".into());
        // A city label that is not a code is not read as a province namespace either.
        assert_eq!(
            render(&[bad]).results[0].clone().unwrap_err()[0].field,
            "metadata.namespace"
        );
    }

    #[test]
    fn matcher_values_are_quoted() {
        assert_eq!(
            matcher_string("agency", "=", "a\"b\\c"),
            r#"agency="a\"b\\c""#
        );
    }
}
