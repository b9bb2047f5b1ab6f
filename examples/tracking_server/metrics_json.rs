//! An entry's metrics as the JSON text the client sent: checked to be an object, stored as
//! is, and parsed again only when someone follows the run live. Re-encoding a thousand floats
//! per batch would cost more than storing them.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{Deserialize, Deserializer, Error as _, Unexpected};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A JSON object of metric names and values, kept as text (valid JSON: it was parsed once).
#[derive(Clone, Debug)]
pub struct MetricsJson(Box<str>);

impl MetricsJson {
    /// The JSON text (an object).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The names and values.
    pub fn parse(&self) -> Map<String, Value> {
        serde_json::from_str(&self.0).unwrap_or_default()
    }
}

impl From<Map<String, Value>> for MetricsJson {
    fn from(map: Map<String, Value>) -> Self {
        MetricsJson(Value::Object(map).to_string().into())
    }
}

impl<'de> Deserialize<'de> for MetricsJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        if !raw.get().trim_start().starts_with('{') {
            return Err(D::Error::invalid_type(
                Unexpected::Other(raw.get().chars().take(40).collect::<String>().as_str()),
                &"an object of metric names and values",
            ));
        }
        Ok(MetricsJson(raw.into()))
    }
}

impl JsonSchema for MetricsJson {
    fn schema_name() -> Cow<'static, str> {
        "Metrics".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "object", "additionalProperties": true})
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn objects_are_kept_as_sent_and_others_refused() {
        use super::MetricsJson;
        use serde::Deserialize;
        let m: MetricsJson = serde_json::from_str(r#" {"loss": 0.25, "acc": 1}"#).unwrap();
        assert_eq!(m.as_str(), r#"{"loss": 0.25, "acc": 1}"#);
        assert_eq!(m.parse()["loss"], 0.25);
        for wrong in ["[1]", "3", "\"x\"", "null"] {
            assert!(
                serde_json::from_str::<MetricsJson>(wrong).is_err(),
                "{wrong}"
            );
        }
        // From a parsed value too (the checked way decodes from one).
        let v = serde_json::json!({"loss": 0.5});
        let m = MetricsJson::deserialize(&v).unwrap();
        assert_eq!(m.parse()["loss"], 0.5);
    }
}
