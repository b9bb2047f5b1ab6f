//! Request bodies: read within the size limit, parsed as JSON, and checked for their shape
//! strictly: a call body must be a JSON object (serde's derive would also take an array for
//! a struct), and no key may appear twice (a JSON map would silently keep the last one).

use std::fmt;

use bytes::Bytes;
use http::header;
use http::request::Parts;
use http_body_util::BodyExt;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Reads a request body within `limit` bytes (413 past it).
pub(crate) async fn read_body<B>(
    limit: usize,
    parts: &Parts,
    body: B,
    route: &(dyn std::fmt::Display + Sync),
) -> Result<Bytes, ApiError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let too_large = || {
        ApiError::too_large(format!(
            "{route}: the request body is larger than the limit of {limit} bytes"
        ))
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let collected = http_body_util::Limited::new(body, limit)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                too_large()
            } else {
                ApiError::bad_request(format!("{route}: the request body could not be read: {e}"))
            }
        })?;
    Ok(collected.to_bytes())
}

/// The error for a body that is not JSON at all.
pub(crate) fn not_json(
    route: &(dyn std::fmt::Display + Sync),
    problem: &dyn std::fmt::Display,
) -> ApiError {
    ApiError::unprocessable(format!(
        "{route}: the body is not valid JSON ({problem}); send {{\"data\": [...]}} with \
         content-type application/json"
    ))
}

/// Parses a JSON body, naming the route in the error.
pub(crate) fn parse_json(
    bytes: &[u8],
    route: &(dyn std::fmt::Display + Sync),
) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| not_json(route, &e))
}

/// Reads a JSON body within the size limit and parses it.
pub(crate) async fn read_json<B>(
    limit: usize,
    parts: &Parts,
    body: B,
    route: &(dyn std::fmt::Display + Sync),
) -> Result<Value, ApiError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let bytes = read_body(limit, parts, body, route).await?;
    parse_json(&bytes, route)
}

/// How the call body carries its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyForm {
    /// `{"data": [...]}` or `{"data": {...}}`.
    Data,
    /// `call/v2`: the whole body is an object keyed by parameter name.
    Keywords,
}

/// The body of `POST {p}/call/{api}`: `{"data": …}`, other keys ignored. Read without
/// building a map for the whole body. `D` is what `data` is read as: a `Value`, or its text
/// (`&RawValue`) for the direct way in.
#[derive(Debug)]
pub(crate) struct CallBody<D = Value> {
    /// The `data` value, when the body has one.
    pub(crate) data: Option<D>,
    /// Whether `data` appeared more than once.
    pub(crate) repeated: bool,
}

impl<'de, D: Deserialize<'de>> Deserialize<'de> for CallBody<D> {
    fn deserialize<De: Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        struct CallBodyVisitor<D>(std::marker::PhantomData<D>);
        impl<'de, D: Deserialize<'de>> Visitor<'de> for CallBodyVisitor<D> {
            type Value = CallBody<D>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<CallBody<D>, M::Error> {
                let mut body = CallBody {
                    data: None,
                    repeated: false,
                };
                while let Some(key) = map.next_key::<KeyName>()? {
                    match key {
                        KeyName::Data if body.data.is_some() => {
                            body.repeated = true;
                            map.next_value::<IgnoredAny>()?;
                        }
                        KeyName::Data => body.data = Some(map.next_value()?),
                        KeyName::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(body)
            }
        }
        deserializer.deserialize_map(CallBodyVisitor(std::marker::PhantomData))
    }
}

/// A key of a call body: `data` or anything else (not kept).
enum KeyName {
    Data,
    Other,
}

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<KeyName, E> {
                Ok(if key == "data" {
                    KeyName::Data
                } else {
                    KeyName::Other
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A JSON object whose keys are all different: the body of `call/v2` and `queue/join`.
#[derive(Debug, Default)]
pub(crate) struct UniqueObject {
    /// The members, in order.
    pub(crate) map: Map<String, Value>,
    /// The first key that appeared more than once.
    pub(crate) repeated: Option<String>,
}

impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut access: M) -> Result<UniqueObject, M::Error> {
                let mut object = UniqueObject::default();
                while let Some(key) = access.next_key::<String>()? {
                    let value: Value = access.next_value()?;
                    if object.map.contains_key(&key) {
                        object.repeated.get_or_insert(key);
                    } else {
                        object.map.insert(key, value);
                    }
                }
                Ok(object)
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// How a body failed to parse: broken JSON, or valid JSON of the wrong shape.
pub(crate) enum BodyProblem {
    /// Not JSON at all (syntax error or cut short); the text says where.
    Syntax(String),
    /// JSON, but not an object.
    NotObject,
}

/// Parses `bytes` as `T` (one of the strict shapes above).
pub(crate) fn parse_strict<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, BodyProblem> {
    serde_json::from_slice(bytes).map_err(|e| {
        if e.is_data() {
            BodyProblem::NotObject
        } else {
            BodyProblem::Syntax(e.to_string())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_bodies() {
        let body: CallBody = parse_strict(br#"{"x": [1], "data": [1, 2]}"#).ok().unwrap();
        assert_eq!(body.data, Some(serde_json::json!([1, 2])));
        assert!(!body.repeated);
        let body: CallBody = parse_strict(br#"{"data": [1], "data": [2]}"#).ok().unwrap();
        assert!(body.repeated);
        let body: CallBody = parse_strict(br#"{"session_hash": "x"}"#).ok().unwrap();
        assert!(body.data.is_none());
        for wrong in [
            &br#"[["x"]]"#[..],
            b"[]",
            b"\"data\"",
            b"3",
            b"null",
            b"true",
        ] {
            assert!(matches!(
                parse_strict::<CallBody>(wrong),
                Err(BodyProblem::NotObject)
            ));
        }
        assert!(matches!(
            parse_strict::<CallBody>(b"{\"data\": "),
            Err(BodyProblem::Syntax(_))
        ));
        assert!(matches!(
            parse_strict::<CallBody>(b"{data}"),
            Err(BodyProblem::Syntax(_))
        ));
    }

    #[test]
    fn unique_objects() {
        let o: UniqueObject = parse_strict(br#"{"a": 1, "b": 2}"#).ok().unwrap();
        assert_eq!(o.map.len(), 2);
        assert!(o.repeated.is_none());
        let o: UniqueObject = parse_strict(br#"{"a": 1, "b": 2, "a": 3}"#).ok().unwrap();
        assert_eq!(o.repeated.as_deref(), Some("a"));
        assert_eq!(o.map["a"], 1);
        assert!(matches!(
            parse_strict::<UniqueObject>(b"[1]"),
            Err(BodyProblem::NotObject)
        ));
    }
}
