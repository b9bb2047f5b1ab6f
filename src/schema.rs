//! JSON Schema → Gradio descriptor mapping: `type`, `python_type`, `component` and
//! `example_input`, as `/info` shows them.
//!
//! The three official clients need `type.type` to be one string (the Rust client fails on
//! schemars' `["integer", "null"]` and on the bare `true` schema of `serde_json::Value`), so
//! nullability is moved out of `type` into the default and the python type (`int | None`).

use serde_json::{json, Map, Value};

use crate::files::data::{file_description, is_file_schema};

/// Definitions that `$ref`s point into (`#/$defs/Name` or `#/definitions/Name`).
pub(crate) type Defs = Map<String, Value>;

const MAX_DEPTH: usize = 12;

/// Follows `$ref`s (a few hops at most) to the schema they name.
pub(crate) fn resolve<'a>(mut schema: &'a Value, defs: &'a Defs) -> &'a Value {
    for _ in 0..16 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            return schema;
        };
        let name = reference
            .strip_prefix("#/$defs/")
            .or_else(|| reference.strip_prefix("#/definitions/"));
        match name.and_then(|n| defs.get(n)) {
            Some(target) => schema = target,
            None => return schema,
        }
    }
    schema
}

fn schema_types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn is_null_schema(schema: &Value) -> bool {
    schema_types(schema) == ["null"] || schema.get("const") == Some(&Value::Null)
}

/// Splits nullability off a schema: returns the non-null schema and whether null is allowed.
/// Sibling keys such as `description`, `title` and `default` are kept. A union of constants
/// (how schemars writes an enum with documented variants) becomes a plain `enum`.
pub(crate) fn split_nullable(schema: &Value, defs: &Defs) -> (Value, bool) {
    let (mut inner, nullable) = split_nullable_raw(schema, defs);
    collapse_const_union(&mut inner, defs);
    (inner, nullable)
}

/// `{"oneOf": [{"const": "a"}, {"const": "b"}]}` → `{"type": "string", "enum": ["a", "b"]}`.
fn collapse_const_union(schema: &mut Value, defs: &Defs) {
    let Value::Object(object) = schema else {
        return;
    };
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(branches)) = object.get(key) else {
            continue;
        };
        let consts: Option<Vec<Value>> = branches
            .iter()
            .map(|b| resolve(b, defs).get("const").cloned())
            .collect();
        let Some(consts) = consts.filter(|c| !c.is_empty()) else {
            continue;
        };
        let all_strings = consts.iter().all(Value::is_string);
        object.remove(key);
        if all_strings {
            object.insert("type".into(), Value::from("string"));
        }
        object.insert("enum".into(), Value::Array(consts));
        return;
    }
}

fn split_nullable_raw(schema: &Value, defs: &Defs) -> (Value, bool) {
    let schema = resolve(schema, defs);
    let Value::Object(object) = schema else {
        // `true` / `false` schemas.
        return (schema.clone(), schema.as_bool() == Some(true));
    };
    let types = schema_types(schema);
    if types.len() > 1 && types.contains(&"null") {
        let mut out = object.clone();
        let rest: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
        out.insert(
            "type".into(),
            if rest.len() == 1 {
                Value::from(rest[0])
            } else {
                Value::from(rest)
            },
        );
        return (Value::Object(out), true);
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = object.get(key) else {
            continue;
        };
        let nullable = branches.iter().any(|b| is_null_schema(resolve(b, defs)));
        if !nullable {
            continue;
        }
        let rest: Vec<&Value> = branches
            .iter()
            .filter(|b| !is_null_schema(resolve(b, defs)))
            .collect();
        let mut out = object.clone();
        if let [only] = rest.as_slice() {
            out.remove(key);
            if let Value::Object(inner) = resolve(only, defs) {
                for (k, v) in inner {
                    out.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        } else {
            out.insert(
                key.into(),
                Value::from(rest.into_iter().cloned().collect::<Vec<_>>()),
            );
        }
        return (Value::Object(out), true);
    }
    (schema.clone(), false)
}

/// The first concrete type a schema describes, looking through `anyOf`/`oneOf`/`allOf`,
/// `enum` and `const`. `None` for "anything".
fn primary_type(schema: &Value, defs: &Defs, depth: usize) -> Option<String> {
    let schema = resolve(schema, defs);
    if depth > MAX_DEPTH {
        return None;
    }
    if let Some(t) = schema_types(schema).into_iter().find(|t| *t != "null") {
        return Some(t.to_owned());
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(branches)) = schema.get(key) {
            if let Some(t) = branches
                .iter()
                .find_map(|b| primary_type(b, defs, depth + 1))
            {
                return Some(t);
            }
        }
    }
    let sample = schema
        .get("const")
        .or_else(|| schema.get("enum").and_then(|e| e.get(0)));
    sample.and_then(|v| match v {
        Value::String(_) => Some("string".into()),
        Value::Bool(_) => Some("boolean".into()),
        Value::Number(n) if n.is_f64() => Some("number".into()),
        Value::Number(_) => Some("integer".into()),
        Value::Array(_) => Some("array".into()),
        Value::Object(_) => Some("object".into()),
        Value::Null => None,
    })
}

/// The python type string Gradio clients print, e.g. `float`, `list[str]`,
/// `dict[str, float]`, `int | None`, `filepath`.
pub(crate) fn python_type(schema: &Value, defs: &Defs) -> String {
    python_type_at(schema, defs, 0)
}

fn python_type_at(schema: &Value, defs: &Defs, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return "Any".into();
    }
    let (inner, nullable) = split_nullable(schema, defs);
    let base = python_base_type(&inner, defs, depth);
    if nullable && base != "Any" && base != "None" {
        format!("{base} | None")
    } else {
        base
    }
}

fn python_base_type(schema: &Value, defs: &Defs, depth: usize) -> String {
    let schema = resolve(schema, defs);
    if is_file_schema(schema) {
        return "filepath".into();
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let listed: Vec<String> = values.iter().map(Value::to_string).collect();
        return format!("Literal[{}]", listed.join(", "));
    }
    if let Some(value) = schema.get("const") {
        return format!("Literal[{value}]");
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = schema.get(key) {
            let parts: Vec<String> = branches
                .iter()
                .map(|b| python_type_at(b, defs, depth + 1))
                .collect();
            if !parts.is_empty() {
                return parts.join(" | ");
            }
        }
    }
    match primary_type(schema, defs, depth).as_deref() {
        Some("string") => "str".into(),
        Some("integer") => "int".into(),
        Some("number") => "float".into(),
        Some("boolean") => "bool".into(),
        Some("null") => "None".into(),
        Some("array") => {
            if let Some(Value::Array(prefix)) = schema.get("prefixItems") {
                let parts: Vec<String> = prefix
                    .iter()
                    .map(|s| python_type_at(s, defs, depth + 1))
                    .collect();
                return format!("tuple[{}]", parts.join(", "));
            }
            match schema.get("items") {
                Some(items) if items.is_object() => {
                    format!("list[{}]", python_type_at(items, defs, depth + 1))
                }
                _ => "list[Any]".into(),
            }
        }
        Some("object") => {
            let properties = schema.get("properties").and_then(Value::as_object);
            match properties {
                Some(props) if !props.is_empty() => {
                    let fields: Vec<String> = props
                        .iter()
                        .map(|(k, v)| format!("{k}: {}", python_type_at(v, defs, depth + 1)))
                        .collect();
                    format!("dict({})", fields.join(", "))
                }
                _ => match schema.get("additionalProperties") {
                    Some(values) if values.is_object() => {
                        format!("dict[str, {}]", python_type_at(values, defs, depth + 1))
                    }
                    _ => "dict[str, Any]".into(),
                },
            }
        }
        _ => "Any".into(),
    }
}

/// The Gradio component name that fits a schema.
pub(crate) fn component(schema: &Value, defs: &Defs) -> &'static str {
    let (inner, _) = split_nullable(schema, defs);
    let inner = resolve(&inner, defs);
    if is_file_schema(inner) {
        return "File";
    }
    let is_string_enum = inner
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|v| !v.is_empty() && v.iter().all(Value::is_string));
    if is_string_enum {
        return "Dropdown";
    }
    match primary_type(inner, defs, 0).as_deref() {
        Some("string") => "Textbox",
        Some("integer" | "number") => "Number",
        Some("boolean") => "Checkbox",
        _ => "Json",
    }
}

/// The `type` value shown in `/info`: the non-null schema, with `type` as one string (the
/// first non-null type, else `"object"`), never a bare boolean schema.
pub(crate) fn info_type(schema: &Value, defs: &Defs) -> Value {
    let (inner, _) = split_nullable(schema, defs);
    let inner = resolve(&inner, defs).clone();
    let mut object = match inner {
        Value::Object(o) => o,
        _ => {
            let mut o = Map::new();
            o.insert("description".into(), "any JSON value".into());
            o
        }
    };
    let single = primary_type(&Value::Object(object.clone()), defs, 0)
        .unwrap_or_else(|| "object".to_owned());
    object.insert("type".into(), Value::String(single));
    // Recursive types keep `$ref`s; carry the definitions they point into.
    let mut value = Value::Object(object);
    if !defs.is_empty() && contains_ref(&value, 0) {
        if let Value::Object(o) = &mut value {
            o.insert("$defs".into(), Value::Object(defs.clone()));
        }
    }
    value
}

/// The bounds of the integer width a schemars `format` names (`int32`, `uint8`, …).
pub(crate) fn integer_width_bounds(format: &str) -> Option<(Value, Value)> {
    Some(match format {
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int16" => (i16::MIN.into(), i16::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "int64" => (i64::MIN.into(), i64::MAX.into()),
        "uint8" => (0.into(), u8::MAX.into()),
        "uint16" => (0.into(), u16::MAX.into()),
        "uint32" => (0.into(), u32::MAX.into()),
        "uint64" | "uint" => (0.into(), u64::MAX.into()),
        _ => return None,
    })
}

/// Adds to every integer schema with a Rust width `format` (`uint32`, `int64`, ...) the
/// `minimum` and `maximum` that decoding enforces, where the schema sets none: schemars
/// names the width but not its bounds, and a client reading the schema should not have to
/// guess them.
pub(crate) fn add_integer_bounds(schema: &mut Value) {
    fn walk(value: &mut Value, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match value {
            Value::Object(map) => {
                let bounds = map
                    .get("format")
                    .and_then(Value::as_str)
                    .and_then(integer_width_bounds);
                if let Some((min, max)) = bounds {
                    if !map.contains_key("minimum") && !map.contains_key("exclusiveMinimum") {
                        map.insert("minimum".into(), min);
                    }
                    if !map.contains_key("maximum") && !map.contains_key("exclusiveMaximum") {
                        map.insert("maximum".into(), max);
                    }
                }
                map.values_mut().for_each(|v| walk(v, depth + 1));
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, depth + 1)),
            _ => {}
        }
    }
    walk(schema, 0)
}

/// Whether a schema describes a Gradio FileData anywhere inside it (following `$ref`s), so
/// that values of it may hold files.
pub(crate) fn mentions_file(schema: &Value, defs: &Defs) -> bool {
    fn walk(schema: &Value, defs: &Defs, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let schema = resolve(schema, defs);
        if is_file_schema(schema) {
            return true;
        }
        match schema {
            Value::Object(o) => o
                .iter()
                .filter(|(k, _)| *k != "$defs" && *k != "definitions")
                .any(|(_, v)| walk(v, defs, depth + 1)),
            Value::Array(a) => a.iter().any(|v| walk(v, defs, depth + 1)),
            _ => false,
        }
    }
    walk(schema, defs, 0)
}

fn contains_ref(value: &Value, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    match value {
        Value::Object(o) => o
            .iter()
            .any(|(k, v)| k == "$ref" || contains_ref(v, depth + 1)),
        Value::Array(a) => a.iter().any(|v| contains_ref(v, depth + 1)),
        _ => false,
    }
}

/// The description Gradio shows beside the python type: the schema's own description, or
/// for files, how to pass one.
pub(crate) fn description(schema: &Value, defs: &Defs) -> String {
    if let Some(d) = schema.get("description").and_then(Value::as_str) {
        return d.to_owned();
    }
    let (inner, _) = split_nullable(schema, defs);
    if is_file_schema(resolve(&inner, defs)) {
        return file_description().to_owned();
    }
    inner
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// An example value for a schema, as `example_input` shows it.
pub(crate) fn example(schema: &Value, defs: &Defs) -> Value {
    example_at(schema, defs, 0)
}

fn example_at(schema: &Value, defs: &Defs, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    let schema = resolve(schema, defs);
    if let Some(first) = schema
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if let Some(default) = schema.get("default").filter(|d| !d.is_null()) {
        return default.clone();
    }
    let (inner, _) = split_nullable(schema, defs);
    let schema = &inner;
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    if is_file_schema(schema) {
        return json!({
            "path": "<a path returned by POST /gradio_api/upload>",
            "meta": {"_type": "gradio.FileData"}
        });
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(first) = schema.get(key).and_then(|b| b.get(0)) {
            return example_at(first, defs, depth + 1);
        }
    }
    match primary_type(schema, defs, depth).as_deref() {
        Some("string") => Value::from("Hello!!"),
        Some("integer") => Value::from(3),
        Some("number") => Value::from(3.0),
        Some("boolean") => Value::Bool(true),
        Some("array") => match schema.get("items") {
            Some(items) if items.is_object() => {
                Value::Array(vec![example_at(items, defs, depth + 1)])
            }
            _ => Value::Array(Vec::new()),
        },
        Some("object") => {
            let mut out = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, v) in props {
                    out.insert(k.clone(), example_at(v, defs, depth + 1));
                }
            } else if let Some(values) = schema.get("additionalProperties") {
                if values.is_object() {
                    out.insert("key".into(), example_at(values, defs, depth + 1));
                }
            }
            Value::Object(out)
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn widths_get_their_bounds_and_explicit_ones_stay() {
        let mut s = json!({"type": "object", "properties": {
            "a": {"type": ["integer", "null"], "format": "uint32", "minimum": 0},
            "b": {"type": "integer", "format": "int8"},
            "c": {"type": "integer", "format": "uint32", "maximum": 10},
        }});
        add_integer_bounds(&mut s);
        assert_eq!(s["properties"]["a"]["maximum"], json!(4294967295u32));
        assert_eq!(s["properties"]["b"]["minimum"], json!(-128));
        assert_eq!(s["properties"]["b"]["maximum"], json!(127));
        assert_eq!(s["properties"]["c"]["maximum"], json!(10));
    }

    use super::*;

    fn no_defs() -> Defs {
        Map::new()
    }

    #[test]
    fn nullable_primitives_become_single_types() {
        let d = no_defs();
        let s = json!({"type": ["integer", "null"], "format": "int64"});
        assert_eq!(python_type(&s, &d), "int | None");
        assert_eq!(info_type(&s, &d)["type"], "integer");
        assert_eq!(component(&s, &d), "Number");
        let any_of = json!({"anyOf": [{"type": "string"}, {"type": "null"}], "description": "x"});
        assert_eq!(python_type(&any_of, &d), "str | None");
        assert_eq!(
            info_type(&any_of, &d),
            json!({"description": "x", "type": "string"})
        );
    }

    #[test]
    fn containers_enums_and_any() {
        let d = no_defs();
        let dict = json!({"type": "object", "additionalProperties": {"type": "number"}});
        assert_eq!(python_type(&dict, &d), "dict[str, float]");
        assert_eq!(component(&dict, &d), "Json");
        let list = json!({"type": "array", "items": {"type": "string"}});
        assert_eq!(python_type(&list, &d), "list[str]");
        let e = json!({"type": "string", "enum": ["a", "b"]});
        assert_eq!(python_type(&e, &d), "Literal[\"a\", \"b\"]");
        assert_eq!(component(&e, &d), "Dropdown");
        assert_eq!(info_type(&e, &d)["enum"], json!(["a", "b"]));
        let any = Value::Bool(true);
        assert_eq!(python_type(&any, &d), "Any");
        assert_eq!(info_type(&any, &d)["type"], "object");
    }

    #[test]
    fn documented_enum_variants_collapse_to_an_enum() {
        let d = no_defs();
        let s = json!({"description": "A mode.", "oneOf": [
            {"description": "Fast.", "type": "string", "const": "fast"},
            {"description": "Slow.", "type": "string", "const": "slow"}]});
        assert_eq!(
            info_type(&s, &d),
            json!({"description": "A mode.", "type": "string", "enum": ["fast", "slow"]})
        );
        assert_eq!(component(&s, &d), "Dropdown");
        assert_eq!(python_type(&s, &d), "Literal[\"fast\", \"slow\"]");
        assert_eq!(example(&s, &d), json!("fast"));
        let nullable = json!({"anyOf": [s, {"type": "null"}]});
        assert_eq!(
            python_type(&nullable, &d),
            "Literal[\"fast\", \"slow\"] | None"
        );
    }

    #[test]
    fn files_are_found_inside_containers() {
        let mut d = no_defs();
        d.insert("File".into(), crate::FileData::json_schema_value());
        let list = json!({"type": "array", "items": {"$ref": "#/$defs/File"}});
        assert!(mentions_file(&list, &d));
        assert!(mentions_file(
            &crate::FileData::json_schema_value(),
            &no_defs()
        ));
        let named = json!({"type": "object", "properties": {"FileData": {"type": "string"}}});
        assert!(!mentions_file(&named, &no_defs()));
    }

    #[test]
    fn refs_resolve() {
        let mut d = no_defs();
        d.insert(
            "Entry".into(),
            json!({"type": "object", "properties": {"run": {"type": "string"}}}),
        );
        let s = json!({"type": "array", "items": {"$ref": "#/$defs/Entry"}});
        assert_eq!(python_type(&s, &d), "list[dict(run: str)]");
        assert_eq!(example(&s, &d), json!([{"run": "Hello!!"}]));
    }
}
