//! An entry's metrics as the JSON text the client sent: checked to be an object, stored as
//! is, and parsed again only when read or followed live. Re-encoding a thousand floats per
//! batch would cost more than storing them. Reads parse with serde_json (`float_roundtrip`):
//! a number comes back with the same bits it was logged with.

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
        parse_object(&self.0)
    }
}

/// The names and values of stored metrics text (empty if it is not an object).
pub fn parse_object(text: &str) -> Map<String, Value> {
    serde_json::from_str(text).unwrap_or_default()
}

/// The value of one metric in stored metrics text, parsing only that value.
pub fn pick(text: &str, name: &str) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde::de::DeserializeSeed::deserialize(Pick(name), &mut de)
        .ok()
        .flatten()
}

/// Appends the entries of stored metrics text to `out` (nothing if it is not an object) as
/// name and numeric value (`None` for any other value, which is skipped unparsed), in the
/// text's order. Names are borrowed from the text when they have no escapes.
pub fn numbers<'t>(text: &'t str, out: &mut Vec<(Cow<'t, str>, Option<f64>)>) {
    let mut de = serde_json::Deserializer::from_str(text);
    let _ = serde::de::Deserializer::deserialize_map(&mut de, Numbers(out));
}

/// Walks an object's entries into a list of names and numbers.
struct Numbers<'o, 't>(&'o mut Vec<(Cow<'t, str>, Option<f64>)>);

impl<'t> serde::de::Visitor<'t> for Numbers<'_, 't> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object of metric names and values")
    }

    fn visit_map<A: serde::de::MapAccess<'t>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'t>>()? {
            let Number(value) = map.next_value::<Number>()?;
            self.0.push((key, value));
        }
        Ok(())
    }
}

/// A value read as a number when it is one (as `Value::as_f64` would), skipped otherwise.
struct Number(Option<f64>);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Number;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(Some(v)))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(Some(v as f64)))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(Some(v as f64)))
            }

            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Number, E> {
                Ok(Number(None))
            }

            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Number, E> {
                Ok(Number(None))
            }

            fn visit_unit<E: serde::de::Error>(self) -> Result<Number, E> {
                Ok(Number(None))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Number, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Number(None))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Number, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Number(None))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// An object key, borrowed from the text when it has no escapes (no allocation per key).
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a metric name")
            }

            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(Visit)
    }
}

/// Walks an object's entries, keeping the value of one key and skipping the others.
struct Pick<'k>(&'k str);

impl<'de> serde::de::DeserializeSeed<'de> for Pick<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Pick<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object of metric names and values")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key == self.0 {
                // A repeated key: the last one wins, as when the whole object is parsed.
                found = Some(map.next_value::<Value>()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
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

    #[test]
    fn values_come_back_with_their_bits() {
        use super::{parse_object, pick};
        let cases = [
            "0.1",
            "-1.5e-300",
            "5e-324",
            "1e308",
            "-0.0",
            "9007199254740994",
            "0.30000000000000004",
            "1.2345678901234567",
        ];
        for case in cases {
            let text = format!(r#"{{"a": 1, "x\u0079": {case}, "b": [1, {{"c": 2}}]}}"#);
            let expected: f64 = case.parse().unwrap();
            let got = pick(&text, "xy").unwrap();
            assert_eq!(
                got.as_f64().unwrap().to_bits(),
                expected.to_bits(),
                "{case}"
            );
            // And again through the JSON text a response carries.
            let sent: f64 = serde_json::to_string(&got).unwrap().parse().unwrap();
            assert_eq!(sent.to_bits(), expected.to_bits(), "{case}");
            let all = parse_object(&text);
            assert_eq!(
                all["xy"].as_f64().unwrap().to_bits(),
                expected.to_bits(),
                "{case}"
            );
        }
        assert_eq!(pick(r#"{"a": 1}"#, "b"), None);
        assert_eq!(pick("[1]", "a"), None);
        assert_eq!(pick(r#"{"a": 1, "a": 2}"#, "a"), Some(serde_json::json!(2)));
    }
}
