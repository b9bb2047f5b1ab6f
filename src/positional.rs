//! A positional `data` array, still as JSON text, seen by serde as the arguments struct: the
//! `i`-th item is the field named after the `i`-th parameter. Each item is parsed only when
//! its field asks for it, straight into the field's type.

use std::sync::Arc;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The items of a positional `data` array, named by their parameters.
pub(crate) struct PositionalArgs<'a> {
    names: &'a [Arc<str>],
    items: Vec<&'a RawValue>,
    next: usize,
}

impl<'a> PositionalArgs<'a> {
    /// `items` has at most as many entries as `names`; missing trailing items are absent
    /// fields, left to the type's defaults.
    pub(crate) fn new(names: &'a [Arc<str>], items: Vec<&'a RawValue>) -> Self {
        debug_assert!(items.len() <= names.len());
        Self {
            names,
            items,
            next: 0,
        }
    }
}

impl<'de> de::Deserializer<'de> for PositionalArgs<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de> MapAccess<'de> for PositionalArgs<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        if self.next >= self.items.len() {
            return Ok(None);
        }
        let name: &str = &self.names[self.next];
        seed.deserialize(name.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let item = self
            .items
            .get(self.next)
            .ok_or_else(|| <serde_json::Error as de::Error>::custom("no value left"))?;
        self.next += 1;
        let mut de = serde_json::Deserializer::from_str(item.get());
        let value = seed.deserialize(&mut de)?;
        de.end()?;
        Ok(value)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Args {
        a: String,
        #[serde(default)]
        b: Option<u32>,
        c: Option<Vec<i64>>,
    }

    fn decode(json: &str) -> Result<Args, serde_json::Error> {
        let names: Vec<Arc<str>> = ["a", "b", "c"].into_iter().map(Arc::from).collect();
        let items: Vec<&RawValue> = serde_json::from_str(json).expect("an array");
        Args::deserialize(PositionalArgs::new(&names, items))
    }

    #[test]
    fn items_become_fields_in_order() {
        assert_eq!(
            decode(r#"["x", 3, [1, 2]]"#).unwrap(),
            Args {
                a: "x".into(),
                b: Some(3),
                c: Some(vec![1, 2])
            }
        );
        assert_eq!(
            decode(r#"["x"]"#).unwrap(),
            Args {
                a: "x".into(),
                b: None,
                c: None
            }
        );
        assert!(decode(r#"[1]"#).is_err());
        assert!(decode(r#"["x", 3.5]"#).is_err());
        assert!(decode(r#"[]"#).is_err());
    }
}
