//! Checks argument values against their parameter's JSON Schema before any job exists.
//!
//! It covers what endpoint schemas use in practice: `type` (one or several), `enum`, `const`,
//! `anyOf`/`oneOf`/`allOf`, `properties`/`required`/`additionalProperties`, `items` and
//! `prefixItems`, numeric bounds, string and array lengths, and `$ref` into `$defs`. Keywords
//! it does not know (formats, patterns) are not enforced. Whole numbers such as `3.0` given for
//! an `integer` are turned into `3`, since JSON Schema counts them as integers and some clients
//! send every number as a float. A Gradio `FileData` value must have a `path`; the paths are
//! collected, and the caller checks them against the filesystem off the async threads.

use std::cell::RefCell;

use serde_json::{Number, Value};

use crate::files::data::is_file_schema;
use crate::schema::{python_type, resolve, Defs};

const MAX_DEPTH: usize = 64;

/// Validates values against schemas that share one set of definitions.
pub(crate) struct Checker<'a> {
    pub(crate) defs: &'a Defs,
    /// The `FileData.path`s of the values checked so far (of branches that matched).
    pub(crate) files: RefCell<Vec<String>>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(defs: &'a Defs) -> Self {
        Self {
            defs,
            files: RefCell::new(Vec::new()),
        }
    }
}

/// A value that does not fit: where inside the value, and what was wrong.
#[derive(Debug, PartialEq)]
pub(crate) struct Mismatch {
    pub(crate) pointer: String,
    pub(crate) msg: String,
}

/// A failed check while it unwinds: the message, and the path to the value that failed,
/// innermost segment first. Nothing is allocated for a value that fits.
struct Fail {
    path: Vec<String>,
    msg: String,
}

impl From<String> for Fail {
    fn from(msg: String) -> Self {
        Fail {
            path: Vec::new(),
            msg,
        }
    }
}

impl From<&str> for Fail {
    fn from(msg: &str) -> Self {
        Fail::from(msg.to_owned())
    }
}

impl Fail {
    /// Adds the segment of the enclosing array item or object field.
    fn inside(mut self, segment: String) -> Self {
        self.path.push(segment);
        self
    }

    /// The path as a JSON Pointer (RFC 6901).
    fn pointer(&self) -> String {
        let mut pointer = String::new();
        for segment in self.path.iter().rev() {
            pointer.push('/');
            pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
        }
        pointer
    }
}

impl Checker<'_> {
    pub(crate) fn check(&self, value: &mut Value, schema: &Value) -> Result<(), Mismatch> {
        self.check_at(value, schema, 0).map_err(|fail| Mismatch {
            pointer: fail.pointer(),
            msg: fail.msg,
        })
    }

    fn check_at(&self, value: &mut Value, schema: &Value, depth: usize) -> Result<(), Fail> {
        if depth > MAX_DEPTH {
            return Err("the value is nested too deeply".into());
        }
        let schema = resolve(schema, self.defs);
        let object = match schema {
            Value::Bool(true) => return Ok(()),
            Value::Bool(false) => return Err("no value is allowed here".into()),
            Value::Object(o) => o,
            _ => return Ok(()),
        };
        if is_file_schema(schema) {
            return self.check_file(value);
        }
        if let Some(types) = object.get("type") {
            self.check_type(value, types, schema)?;
        }
        if let Some(allowed) = object.get("enum").and_then(Value::as_array) {
            if !allowed.iter().any(|a| json_eq(a, value)) {
                return Err(format!(
                    "expected one of {}, got {}",
                    Value::from(allowed.clone()),
                    describe(value)
                )
                .into());
            }
        }
        if let Some(expected) = object.get("const") {
            if !json_eq(expected, value) {
                return Err(format!("expected {expected}, got {}", describe(value)).into());
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = object.get(key).and_then(Value::as_array) {
                self.check_any(value, branches, schema, depth)?;
            }
        }
        if let Some(all) = object.get("allOf").and_then(Value::as_array) {
            for branch in all {
                self.check_at(value, branch, depth + 1)?;
            }
        }
        match value {
            Value::Number(n) => check_bounds(n, object)?,
            Value::String(s) => {
                let len = s.chars().count() as u64;
                if let Some(min) = object.get("minLength").and_then(Value::as_u64) {
                    if len < min {
                        return Err(format!("expected at least {min} characters, got {len}").into());
                    }
                }
                if let Some(max) = object.get("maxLength").and_then(Value::as_u64) {
                    if len > max {
                        return Err(format!("expected at most {max} characters, got {len}").into());
                    }
                }
            }
            Value::Array(items) => self.check_array(items, object, depth)?,
            Value::Object(fields) => self.check_object(fields, object, depth)?,
            _ => {}
        }
        Ok(())
    }

    fn check_type(&self, value: &mut Value, types: &Value, schema: &Value) -> Result<(), String> {
        let one = std::slice::from_ref(types);
        let names = match types {
            Value::String(_) => one,
            Value::Array(ts) => ts.as_slice(),
            _ => return Ok(()),
        };
        let names = || names.iter().filter_map(Value::as_str);
        if names().any(|t| type_matches(value, t)) {
            return Ok(());
        }
        if names().any(|t| t == "integer") {
            if let Some(whole) = whole_number(value) {
                *value = whole;
                return Ok(());
            }
        }
        Err(format!(
            "expected {}, got {}",
            python_type(schema, self.defs),
            describe(value)
        ))
    }

    fn check_any(
        &self,
        value: &mut Value,
        branches: &[Value],
        schema: &Value,
        depth: usize,
    ) -> Result<(), Fail> {
        let mut first_error = None;
        for branch in branches {
            let mut candidate = value.clone();
            let files_before = self.files.borrow().len();
            match self.check_at(&mut candidate, branch, depth + 1) {
                Ok(()) => {
                    *value = candidate;
                    return Ok(());
                }
                Err(e) => {
                    // A branch that did not match names no files.
                    self.files.borrow_mut().truncate(files_before);
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) if branches.len() == 1 => Err(e),
            _ => Err(format!(
                "expected {}, got {}",
                python_type(schema, self.defs),
                describe(value)
            )
            .into()),
        }
    }

    fn check_array(
        &self,
        items: &mut [Value],
        schema: &serde_json::Map<String, Value>,
        depth: usize,
    ) -> Result<(), Fail> {
        let len = items.len() as u64;
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
            if len < min {
                return Err(format!("expected at least {min} items, got {len}").into());
            }
        }
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
            if len > max {
                return Err(format!("expected at most {max} items, got {len}").into());
            }
        }
        let prefix = schema
            .get("prefixItems")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let rest = schema.get("items");
        for (i, item) in items.iter_mut().enumerate() {
            let item_schema = match prefix.get(i) {
                Some(s) => s,
                None => match rest {
                    Some(s) => s,
                    None => continue,
                },
            };
            self.check_at(item, item_schema, depth + 1)
                .map_err(|fail| fail.inside(i.to_string()))?;
        }
        Ok(())
    }

    fn check_object(
        &self,
        fields: &mut serde_json::Map<String, Value>,
        schema: &serde_json::Map<String, Value>,
        depth: usize,
    ) -> Result<(), Fail> {
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !fields.contains_key(name) {
                    return Err(format!("missing required field {name:?}").into());
                }
            }
        }
        let additional = schema.get("additionalProperties");
        for (key, item) in fields.iter_mut() {
            let item_schema = match properties.and_then(|p| p.get(key)) {
                Some(s) => s,
                None => match additional {
                    Some(Value::Bool(false)) => {
                        let known: Vec<&str> = properties
                            .map(|p| p.keys().map(String::as_str).collect())
                            .unwrap_or_default();
                        return Err(format!(
                            "unknown field {key:?}; expected fields: {}",
                            known.join(", ")
                        )
                        .into());
                    }
                    Some(s) => s,
                    None => continue,
                },
            };
            self.check_at(item, item_schema, depth + 1)
                .map_err(|fail| fail.inside(key.clone()))?;
        }
        Ok(())
    }

    fn check_file(&self, value: &Value) -> Result<(), Fail> {
        let path = value.get("path").and_then(Value::as_str).ok_or_else(|| {
            format!(
                "expected a file object {{\"path\": <path from POST /upload>, \"meta\": \
                 {{\"_type\": \"gradio.FileData\"}}}}, got {}",
                describe(value)
            )
        })?;
        self.files.borrow_mut().push(path.to_owned());
        Ok(())
    }
}

fn type_matches(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

fn whole_number(value: &Value) -> Option<Value> {
    let f = value.as_f64().filter(|_| value.is_f64())?;
    if f.fract() != 0.0 || !f.is_finite() || f.abs() > 9.007_199_254_740_992e15 {
        return None;
    }
    Some(Value::Number(Number::from(f as i64)))
}

fn check_bounds(n: &Number, schema: &serde_json::Map<String, Value>) -> Result<(), String> {
    let Some(x) = n.as_f64() else { return Ok(()) };
    let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
    if let Some(min) = bound("minimum") {
        if x < min {
            return Err(format!("expected a number >= {min}, got {n}"));
        }
    }
    if let Some(max) = bound("maximum") {
        if x > max {
            return Err(format!("expected a number <= {max}, got {n}"));
        }
    }
    if let Some(min) = bound("exclusiveMinimum") {
        if x <= min {
            return Err(format!("expected a number > {min}, got {n}"));
        }
    }
    if let Some(max) = bound("exclusiveMaximum") {
        if x >= max {
            return Err(format!("expected a number < {max}, got {n}"));
        }
    }
    Ok(())
}

/// JSON equality where `1` and `1.0` are the same number.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// A short description of a value for error messages.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => {
            let shown: String = s.chars().take(40).collect();
            let ellipsis = if s.chars().count() > 40 { "…" } else { "" };
            format!("the string {shown:?}{ellipsis}")
        }
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(value: Value, schema: Value) -> Result<Value, Mismatch> {
        let defs = Defs::new();
        let checker = Checker::new(&defs);
        let mut v = value;
        checker.check(&mut v, &schema).map(|()| v)
    }

    #[test]
    fn the_pointer_names_the_failing_value() {
        let schema = json!({
            "type": "array",
            "items": {"type": "object", "additionalProperties": {"type": "integer"}}
        });
        let err = check(json!([{"a": 1}, {"b": 2, "c/d~e": "x"}]), schema).unwrap_err();
        assert_eq!(err.pointer, "/1/c~1d~0e");
        assert_eq!(err.msg, "expected int, got the string \"x\"");
        let one_branch =
            json!({"anyOf": [{"type": "object", "properties": {"n": {"type": "integer"}}}]});
        let err = check(json!({"n": "x"}), one_branch).unwrap_err();
        assert_eq!(err.pointer, "/n");
        assert!(check(json!(5), json!({"type": "integer"})).is_ok());
    }

    #[test]
    fn types_and_coercion() {
        assert!(check(json!(1), json!({"type": "number"})).is_ok());
        assert_eq!(
            check(json!(3.0), json!({"type": "integer"})).unwrap(),
            json!(3)
        );
        let err = check(json!("abc"), json!({"type": "number"})).unwrap_err();
        assert_eq!(err.msg, "expected float, got the string \"abc\"");
        assert!(check(json!(null), json!({"type": ["integer", "null"]})).is_ok());
        assert!(check(json!(2.5), json!({"type": "integer"})).is_err());
    }

    #[test]
    fn nested_paths_are_reported() {
        let schema = json!({"type": "object", "additionalProperties": {"type": "number"}});
        let err = check(json!({"loss": "x"}), schema).unwrap_err();
        assert_eq!(err.pointer, "/loss");
        let schema = json!({"type": "array", "items": {"type": "object",
            "properties": {"run": {"type": "string"}}, "required": ["run"]}});
        let err = check(json!([{"run": "a"}, {}]), schema).unwrap_err();
        assert_eq!(err.pointer, "/1");
        assert!(err.msg.contains("\"run\""));
    }

    #[test]
    fn file_paths_are_collected_from_matching_branches_only() {
        let schema = crate::FileData::json_schema_value();
        let defs = Defs::new();
        let checker = Checker::new(&defs);
        let mut value = json!({"path": "/a"});
        assert!(checker.check(&mut value, &schema).is_ok());
        assert_eq!(*checker.files.borrow(), ["/a"]);
        assert!(check(json!("just a string"), schema.clone()).is_err());
        // A FileData branch inside an object branch that fails on another field: its path
        // is not kept, since the value matched the other branch.
        let either = json!({"anyOf": [
            {"type": "object", "properties": {"f": schema, "n": {"type": "integer"}},
             "required": ["f", "n"]},
            {"type": "object"}
        ]});
        let checker = Checker::new(&defs);
        let mut value = json!({"f": {"path": "/b"}, "n": "x"});
        assert!(checker.check(&mut value, &either).is_ok());
        assert!(checker.files.borrow().is_empty());
    }

    #[test]
    fn any_of_and_enum() {
        let s = json!({"anyOf": [{"type": "integer"}, {"type": "null"}]});
        assert_eq!(check(json!(4.0), s.clone()).unwrap(), json!(4));
        assert!(check(json!("x"), s).is_err());
        assert!(check(json!("b"), json!({"enum": ["a", "b"]})).is_ok());
        assert!(check(json!("c"), json!({"enum": ["a", "b"]})).is_err());
    }
}
