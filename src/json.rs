//! A JSON tree that borrows from the page it was parsed from.
//!
//! `serde_json::Value` allocates every key and every string and builds a
//! B-tree per object. A page of 500 actions holds about a hundred thousand
//! of those, each read once by the flattener and then freed: during a
//! backfill that allocation churn was half of the fetching thread's time.
//! A [`Node`] keeps keys and strings as slices of the page (copied only when
//! they contain escapes) and an object as a short vector of fields, which is
//! also faster to search than a B-tree at the sizes the API sends.
//!
//! Serialized back to text (for `_extra` and `value` columns) a node writes
//! its object keys sorted and a repeated key once, its last value, exactly as
//! `serde_json::Value` does, so stored text does not depend on which tree
//! parsed it.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Number, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    Null,
    Bool(bool),
    Num(Number),
    Str(Cow<'a, str>),
    Arr(Vec<Node<'a>>),
    Obj(Obj<'a>),
}

/// An object's fields in the order they arrived.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Obj<'a> {
    fields: Vec<(Cow<'a, str>, Node<'a>)>,
}

impl<'a> Obj<'a> {
    /// The value of `key` (the last one, should the key repeat).
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
    /// Fields in arrival order (a repeated key appears more than once).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &Node<'a>)> {
        self.fields.iter().map(|(k, v)| (k.as_ref(), v))
    }
    pub fn len(&self) -> usize {
        self.fields.len()
    }
    /// [`Node::hash_into`] for an object.
    pub fn hash_into(&self, h: &mut impl std::hash::Hasher) {
        h.write_u8(6);
        h.write_usize(self.fields.len());
        for (k, v) in &self.fields {
            h.write_usize(k.len());
            h.write(k.as_bytes());
            v.hash_into(h);
        }
    }
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl<'a> Node<'a> {
    /// Parses one JSON text, borrowing from it.
    pub fn parse(text: &'a str) -> Result<Node<'a>, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// A view of a `serde_json::Value` (strings borrowed from it).
    pub fn from_value(v: &'a Value) -> Node<'a> {
        match v {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Num(n.clone()),
            Value::String(s) => Node::Str(Cow::Borrowed(s)),
            Value::Array(a) => Node::Arr(a.iter().map(Node::from_value).collect()),
            Value::Object(o) => Node::Obj(Obj {
                fields: o
                    .iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Node::from_value(v)))
                    .collect(),
            }),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.as_object()?.get(key)
    }
    /// Feeds the value to `h`, tagged and length-prefixed, so that equal
    /// hashes mean equal values (but for 64-bit collisions). Fields count
    /// in their order.
    pub fn hash_into(&self, h: &mut impl std::hash::Hasher) {
        match self {
            Node::Null => h.write_u8(0),
            Node::Bool(b) => h.write_u8(1 + *b as u8),
            Node::Num(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => {
                    h.write_u8(3);
                    h.write_i64(i);
                }
                (None, Some(u)) => {
                    h.write_u8(7);
                    h.write_u64(u);
                }
                _ => {
                    h.write_u8(8);
                    h.write_u64(n.as_f64().unwrap_or(f64::NAN).to_bits());
                }
            },
            Node::Str(s) => {
                h.write_u8(4);
                h.write_usize(s.len());
                h.write(s.as_bytes());
            }
            Node::Arr(items) => {
                h.write_u8(5);
                h.write_usize(items.len());
                items.iter().for_each(|i| i.hash_into(h));
            }
            Node::Obj(o) => o.hash_into(h),
        }
    }
    pub fn as_object(&self) -> Option<&Obj<'a>> {
        match self {
            Node::Obj(o) => Some(o),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Node<'a>]> {
        match self {
            Node::Arr(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Node::Num(n) => n.as_i64(),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }
    /// What kind of value this is, for messages ("a string", "an array").
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Num(_) => "a number",
            Node::Str(_) => "a string",
            Node::Arr(_) => "an array",
            Node::Obj(_) => "an object",
        }
    }
}

impl fmt::Display for Node<'_> {
    /// Compact JSON, keys sorted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

/// Writes `fields` as one JSON object, keys sorted, a repeated key once
/// with its last value (the order `serde_json::Value` gives).
pub fn object_text(fields: &[(Cow<'_, str>, &Node<'_>)]) -> String {
    let sorted = Sorted::new(fields.iter().map(|(k, v)| (k.as_ref(), *v)));
    serde_json::to_string(&sorted).unwrap_or_else(|_| "{}".to_owned())
}

/// Fields to write as an object, in key order.
struct Sorted<'n, 'a>(Vec<(&'n str, &'n Node<'a>)>);

impl<'n, 'a> Sorted<'n, 'a> {
    fn new(fields: impl Iterator<Item = (&'n str, &'n Node<'a>)>) -> Self {
        let mut fields: Vec<_> = fields.collect();
        // Stable: of equal keys, the last to arrive stays last.
        fields.sort_by(|a, b| a.0.cmp(b.0));
        Sorted(fields)
    }
}

impl Serialize for Sorted<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = &self.0;
        let mut map = s.serialize_map(None)?;
        for (i, (k, v)) in fields.iter().enumerate() {
            let repeated_later = fields.get(i + 1).is_some_and(|next| next.0 == *k);
            if !repeated_later {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => s.serialize_unit(),
            Node::Bool(b) => s.serialize_bool(*b),
            Node::Num(n) => n.serialize(s),
            Node::Str(t) => s.serialize_str(t),
            Node::Arr(a) => a.serialize(s),
            Node::Obj(o) => Sorted::new(o.iter()).serialize(s),
        }
    }
}

/// A key or string: borrowed when the text has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::DeserializeSeed::deserialize(Builder(&mut Scratch::default()), d)
    }
}

/// The fields and items of the objects and arrays being parsed, as one
/// stack: each object or array takes its own off the top into a vector of
/// exactly their size once it ends. Pushed straight into its own vector,
/// an object of 25 fields was allocated three times over as it grew.
#[derive(Default)]
pub struct Scratch<'de> {
    fields: Vec<(Cow<'de, str>, Node<'de>)>,
    items: Vec<Node<'de>>,
}

/// Parses one value, using and sharing a [`Scratch`] (keep one for the
/// items of a page: its vectors are then allocated once).
pub struct Builder<'s, 'de>(pub &'s mut Scratch<'de>);

impl<'de> de::DeserializeSeed<'de> for Builder<'_, 'de> {
    type Value = Node<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Builder<'_, 'de> {
    type Value = Node<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Node<'de>, D2::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Node<'de>, E> {
        Ok(Node::Num(n.into()))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Node<'de>, E> {
        Ok(Node::Num(n.into()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Node<'de>, E> {
        Ok(Number::from_f64(n).map_or(Node::Null, Node::Num))
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Owned(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let start = self.0.items.len();
        while let Some(item) = seq.next_element_seed(Builder(&mut *self.0))? {
            self.0.items.push(item);
        }
        Ok(Node::Arr(self.0.items.drain(start..).collect()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let start = self.0.fields.len();
        while let Some(Text(k)) = map.next_key()? {
            let v = map.next_value_seed(Builder(&mut *self.0))?;
            self.0.fields.push((k, v));
        }
        let fields = self.0.fields.drain(start..).collect();
        Ok(Node::Obj(Obj { fields }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_strings_and_keys_are_borrowed_escaped_ones_copied() {
        let text = r#"{"id":"a1","name":"caf\u00e9","n":[1,-2,2.5,null,true]}"#;
        let n = Node::parse(text).unwrap();
        let o = n.as_object().unwrap();
        assert!(matches!(o.get("id"), Some(Node::Str(Cow::Borrowed("a1")))));
        assert!(matches!(o.get("name"), Some(Node::Str(Cow::Owned(s))) if s == "café"));
        assert!(o.iter().all(|(k, _)| k.as_ptr() >= text.as_ptr()));
        assert_eq!(
            n.get("n").unwrap().as_array().unwrap()[1].as_i64(),
            Some(-2)
        );
    }

    #[test]
    fn text_matches_serde_json_value() {
        for text in [
            r#"{"b":1,"a":{"z":[1.5,"x",null],"y":false},"c":"q\"uote"}"#,
            r#"[1e3,-0.0,18446744073709551615,-9223372036854775808,"é"]"#,
            r#"{"k":1,"k":2,"a":0}"#,
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(Node::parse(text).unwrap().to_string(), value.to_string());
            assert_eq!(Node::from_value(&value).to_string(), value.to_string());
        }
    }

    #[test]
    fn a_repeated_key_reads_as_its_last_value() {
        let n = Node::parse(r#"{"k":1,"k":2}"#).unwrap();
        assert_eq!(n.get("k").and_then(Node::as_i64), Some(2));
        let v = json!({"b": 2, "a": 1});
        let fields: Vec<(Cow<str>, &Node)> = Vec::new();
        assert_eq!(object_text(&fields), "{}");
        let node = Node::from_value(&v);
        let b = node.get("b").unwrap();
        let a = node.get("a").unwrap();
        let fields = vec![("b".into(), b), ("a".into(), a), ("b".into(), a)];
        assert_eq!(object_text(&fields), r#"{"a":1,"b":1}"#);
    }
}
