//! The direct way in for typed endpoints: a positional `data` array decoded straight from
//! the body's text into the arguments struct, with no `serde_json::Value` tree built, walked
//! against the schema and decoded again. For large bodies (a `bulk_log` of thousands of
//! points) that is most of a call's cost.
//!
//! It gives what the checked way ([`Signature::bind`]) gives, or steps aside:
//! - it is offered only to endpoints whose parameter schemas use nothing that serde does not
//!   enforce itself while decoding ([`serde_enforces`]): no `enum`/`const`, `allOf`,
//!   `prefixItems`, lengths, or bounds other than an integer width's, and no files;
//! - any failure (a keyword-object `data`, too many values, a value serde refuses, such as
//!   `3.0` for an integer, which the checked way turns into `3`) sends the call the checked
//!   way, which coerces it or names the parameter and what was expected.

use std::collections::HashSet;

use serde_json::value::RawValue;
use serde_json::Value;

use crate::args::{Bound, Signature};
use crate::auth::is_blank_token;
use crate::files::data::is_file_schema;
use crate::positional::PositionalArgs;
use crate::schema::{integer_width_bounds, Defs};

const MAX_DEPTH: usize = 64;

impl Signature {
    /// Binds a positional `data` array from its text, or `None` when the call must go the
    /// checked way.
    pub(crate) fn bind_direct(&self, data: &RawValue, bearer: Option<&str>) -> Option<Bound> {
        let binder = self.direct.as_ref()?;
        let names = &self.names;
        let substitute: Box<RawValue>;
        let mut items: Vec<&RawValue> = serde_json::from_str(data.get()).ok()?;
        if items.len() > names.len() {
            return None;
        }
        let mut token = None;
        if let Some(i) = self.token_index {
            let own: Option<Value> = match items.get(i) {
                Some(raw) => Some(serde_json::from_str(raw.get()).ok()?),
                None => None,
            };
            if is_blank_token(own.as_ref()) {
                // As the checked way does: a blank token parameter takes the bearer token.
                if let Some(bearer) = bearer {
                    substitute = serde_json::value::to_raw_value(bearer).ok()?;
                    match i.cmp(&items.len()) {
                        std::cmp::Ordering::Less => items[i] = &substitute,
                        std::cmp::Ordering::Equal => items.push(&substitute),
                        std::cmp::Ordering::Greater => return None,
                    }
                }
                token = bearer.map(str::to_owned);
            } else if let Some(Value::String(own)) = &own {
                token = Some(own.trim().to_owned());
            }
        }
        let call = binder(PositionalArgs::new(names, items)).ok()?;
        Some(Bound {
            call,
            token,
            files: Vec::new(),
        })
    }
}

/// Whether decoding with serde enforces everything the checked way would check against
/// `schema`: then a value that decodes is a value that passes.
pub(crate) fn serde_enforces(schema: &Value, defs: &Defs) -> bool {
    enforced(schema, defs, &mut HashSet::new(), 0)
}

fn enforced<'a>(
    schema: &'a Value,
    defs: &'a Defs,
    seen: &mut HashSet<&'a str>,
    depth: usize,
) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let object = match schema {
        Value::Object(o) => o,
        Value::Bool(_) => return true,
        _ => return false,
    };
    if is_file_schema(schema) {
        return false;
    }
    let sub = |s: &'a Value, seen: &mut HashSet<&'a str>| enforced(s, defs, seen, depth + 1);
    for (key, value) in object {
        let ok = match key.as_str() {
            "$ref" => match value.as_str() {
                Some(reference) => {
                    let name = reference
                        .strip_prefix("#/$defs/")
                        .or_else(|| reference.strip_prefix("#/definitions/"));
                    match name.and_then(|n| defs.get_key_value(n)) {
                        // A definition is checked once (recursive types refer to themselves).
                        Some((name, target)) => !seen.insert(name) || sub(target, seen),
                        None => false,
                    }
                }
                None => false,
            },
            "properties" => value
                .as_object()
                .is_some_and(|p| p.values().all(|s| sub(s, seen))),
            "additionalProperties" | "items" => sub(value, seen),
            "anyOf" | "oneOf" => value
                .as_array()
                .is_some_and(|branches| branches.iter().all(|s| sub(s, seen))),
            "minimum" | "maximum" => width_bound(object, key, value),
            // Checked by the checked way, not by serde (or not always): go that way.
            "enum" | "const" | "allOf" | "prefixItems" | "minItems" | "maxItems" | "minLength"
            | "maxLength" | "exclusiveMinimum" | "exclusiveMaximum" => false,
            // The rest is either enforced by decoding (`type`, `required`) or checked by
            // neither way (`format`, `pattern`, annotations).
            _ => true,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Whether a `minimum`/`maximum` is the bound of the schema's integer width, which decoding
/// into that width enforces.
fn width_bound(object: &serde_json::Map<String, Value>, key: &str, value: &Value) -> bool {
    let Some((min, max)) = object
        .get("format")
        .and_then(Value::as_str)
        .and_then(integer_width_bounds)
    else {
        return false;
    };
    let bound = if key == "minimum" { min } else { max };
    bound == *value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::CompiledParam;
    use crate::registry::Endpoint;
    use crate::CallContext;
    use schemars::JsonSchema;
    use serde::Deserialize;
    use serde_json::json;
    use std::sync::Arc;

    /// The signature the builder makes of `endpoint` (token parameter `hf_token`).
    fn signature(endpoint: Endpoint) -> Signature {
        let params: Vec<CompiledParam> = endpoint
            .params
            .into_iter()
            .map(|spec| CompiledParam {
                name: Arc::from(spec.name.as_str()),
                spec,
            })
            .collect();
        let direct = endpoint.direct.filter(|_| {
            params
                .iter()
                .all(|p| serde_enforces(&p.spec.schema, &endpoint.defs))
        });
        Signature {
            name: Arc::from(endpoint.name.as_str()),
            names: params.iter().map(|p| p.name.clone()).collect(),
            token_index: params.iter().position(|p| &*p.name == "hf_token"),
            params,
            defs: endpoint.defs,
            binder: endpoint.binder,
            direct,
        }
    }

    #[allow(dead_code)] // decoded, never read: these tests look at binding only
    #[derive(Deserialize, JsonSchema)]
    struct LogArgs {
        run: String,
        metrics: serde_json::Map<String, Value>,
        step: Option<u32>,
        hf_token: Option<String>,
    }

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    enum Level {
        Low,
        High,
    }

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    struct LevelArgs {
        level: Level,
    }

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).expect("JSON")
    }

    #[test]
    fn typed_positional_calls_bind_directly() {
        let sig = signature(Endpoint::typed("log", |_: LogArgs, _: CallContext| async {
            Ok::<(), String>(())
        }));
        assert!(sig.direct.is_some());
        let bound = sig.bind_direct(&raw(r#"["r", {"loss": 0.5}, 3]"#), None);
        assert!(bound.is_some_and(|b| b.token.is_none()));
        // The token parameter takes the bearer token when blank, as on the checked way.
        let bound = sig.bind_direct(&raw(r#"["r", {}, null, " "]"#), Some("bearer"));
        assert_eq!(bound.and_then(|b| b.token).as_deref(), Some("bearer"));
        let bound = sig.bind_direct(&raw(r#"["r", {}, null]"#), Some("bearer"));
        assert_eq!(bound.and_then(|b| b.token).as_deref(), Some("bearer"));
        let bound = sig.bind_direct(&raw(r#"["r", {}, null, " own "]"#), Some("bearer"));
        assert_eq!(bound.and_then(|b| b.token).as_deref(), Some("own"));
    }

    #[test]
    fn anything_else_goes_the_checked_way() {
        let sig = signature(Endpoint::typed("log", |_: LogArgs, _: CallContext| async {
            Ok::<(), String>(())
        }));
        for text in [
            // 3.0 for an integer: the checked way coerces it.
            r#"["r", {}, 3.0]"#,
            r#"["r", {}, -1]"#,
            r#"[1, {}]"#,
            r#"["r"]"#,
            r#"["r", {}, null, null, "extra"]"#,
            r#"{"run": "r", "metrics": {}}"#,
        ] {
            assert!(sig.bind_direct(&raw(text), None).is_none(), "{text}");
        }
        let data: Value = serde_json::from_str(r#"["r", {}, 3.0]"#).unwrap();
        assert!(sig.bind(data, None).is_ok());
        // An enum is checked by the schema, not left to serde.
        let sig = signature(Endpoint::typed(
            "level",
            |_: LevelArgs, _: CallContext| async { Ok::<(), String>(()) },
        ));
        assert!(sig.direct.is_none());
        assert!(sig.bind_direct(&raw(r#"["low"]"#), None).is_none());
    }

    fn enforces(schema: Value) -> bool {
        serde_enforces(&schema, &Defs::new())
    }

    #[test]
    fn what_serde_enforces() {
        assert!(enforces(json!({"type": "string"})));
        assert!(enforces(
            json!({"type": ["integer", "null"], "format": "uint32",
            "minimum": 0, "maximum": 4294967295u64})
        ));
        assert!(enforces(
            json!({"type": "object", "additionalProperties": true})
        ));
        assert!(enforces(
            json!({"type": "array", "items": {"type": "number"}})
        ));
        assert!(enforces(
            json!({"anyOf": [{"type": "string"}, {"type": "null"}]})
        ));
        assert!(!enforces(json!({"type": "integer", "minimum": 1})));
        assert!(!enforces(
            json!({"type": "integer", "format": "uint8", "maximum": 10})
        ));
        assert!(!enforces(json!({"type": "string", "enum": ["a", "b"]})));
        assert!(!enforces(json!({"type": "string", "maxLength": 3})));
        assert!(!enforces(json!({"type": "array", "items": {"const": 1}})));
        assert!(!enforces(json!({"allOf": [{"type": "string"}]})));
        assert!(!enforces(json!({"title": "FileData", "type": "object",
            "properties": {"path": {"type": "string"}}})));
        assert!(!enforces(json!({"$ref": "#/$defs/Missing"})));
    }

    #[test]
    fn definitions_are_followed_and_recursion_ends() {
        let mut defs = Defs::new();
        defs.insert(
            "Node".into(),
            json!({"type": "object", "properties": {
                "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                "name": {"type": "string"}
            }}),
        );
        defs.insert(
            "Level".into(),
            json!({"type": "string", "enum": ["low", "high"]}),
        );
        assert!(serde_enforces(&json!({"$ref": "#/$defs/Node"}), &defs));
        assert!(!serde_enforces(
            &json!({"type": "array", "items": {"$ref": "#/$defs/Level"}}),
            &defs
        ));
    }
}
