//! Raw JSON holders: free-form values, double-encoded payloads, and
//! single results that may arrive wrapped in an array.

use crate::DecodeError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::fmt;

/// Any JSON value, kept as its exact text (numbers included).
///
/// Used for fields whose shape the public documentation does not give, and
/// for unknown fields, so that nothing received is lost.
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// Wraps JSON text after checking that it is one valid JSON value.
    pub fn from_text(text: impl Into<String>) -> Result<Self, DecodeError> {
        RawValue::from_string(text.into())
            .map(RawJson)
            .map_err(|e| DecodeError::from_serde("", e))
    }

    /// Serializes `value` into raw JSON.
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, DecodeError> {
        serde_json::value::to_raw_value(value)
            .map(RawJson)
            .map_err(|e| DecodeError::from_serde("", e))
    }

    /// The JSON text exactly as received.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Decodes the value into `T`, borrowing from it where `T` can.
    pub fn decode<'a, T: Deserialize<'a>>(&'a self) -> Result<T, DecodeError> {
        crate::decode_str(self.0.get())
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({})", self.get())
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <Box<RawValue>>::deserialize(deserializer).map(RawJson)
    }
}

/// A payload that HercleX double-encodes: the hub envelope's `data` and the
/// webhook envelope's `Data` are documented as JSON *strings* holding JSON,
/// while the docs' examples show plain objects (quirks 10 and 11). Both are
/// accepted; the original form is kept so re-encoding gives the same bytes.
///
/// ```
/// use hercle_models::EmbeddedJson;
/// #[derive(serde::Deserialize)]
/// struct Msg { message: String }
/// let a: EmbeddedJson = serde_json::from_str(r#""{\"message\":\"hi\"}""#).unwrap();
/// let b: EmbeddedJson = serde_json::from_str(r#"{"message":"hi"}"#).unwrap();
/// assert_eq!(a.decode::<Msg>().unwrap().message, b.decode::<Msg>().unwrap().message);
/// ```
#[derive(Clone, PartialEq)]
pub struct EmbeddedJson(Form);

#[derive(Clone, PartialEq)]
enum Form {
    /// Sent as a JSON string; holds the unescaped text, checked when decoded.
    Encoded(Box<str>),
    /// Sent as the JSON value itself.
    Inline(RawJson),
}

impl EmbeddedJson {
    /// Encodes `value` the documented way: as a JSON string holding JSON.
    pub fn encode_as_string<T: Serialize + ?Sized>(value: &T) -> Result<Self, DecodeError> {
        serde_json::to_string(value)
            .map(|s| EmbeddedJson(Form::Encoded(s.into())))
            .map_err(|e| DecodeError::from_serde("", e))
    }

    /// Embeds `value` as a plain JSON value (the form the docs' examples show).
    pub fn encode_inline<T: Serialize + ?Sized>(value: &T) -> Result<Self, DecodeError> {
        RawJson::encode(value).map(|r| EmbeddedJson(Form::Inline(r)))
    }

    /// The inner JSON text (unescaped when it came as a string).
    pub fn json_text(&self) -> &str {
        match &self.0 {
            Form::Encoded(s) => s,
            Form::Inline(r) => r.get(),
        }
    }

    /// Whether it arrived as a JSON string (the documented form).
    pub fn was_string(&self) -> bool {
        matches!(self.0, Form::Encoded(_))
    }

    /// Decodes the inner JSON into `T`; errors name the path inside it.
    pub fn decode<'a, T: Deserialize<'a>>(&'a self) -> Result<T, DecodeError> {
        crate::decode_str(self.json_text())
    }

    /// Decodes into an owned `T`.
    pub fn decode_owned<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        crate::decode_str(self.json_text())
    }
}

impl fmt::Debug for EmbeddedJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let form = if self.was_string() {
            "string"
        } else {
            "inline"
        };
        write!(f, "EmbeddedJson({form} {})", self.json_text())
    }
}

impl Serialize for EmbeddedJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Form::Encoded(s) => serializer.serialize_str(s),
            Form::Inline(r) => r.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for EmbeddedJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The documented form is a string: take its unescaped text straight
        // from the parser (one copy). The inline form is rebuilt from its
        // members' raw text, so numbers keep their exact digits.
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = EmbeddedJson;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON string holding JSON, or a JSON object or array")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<EmbeddedJson, E> {
                Ok(EmbeddedJson(Form::Encoded(v.into())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<EmbeddedJson, E> {
                Ok(EmbeddedJson(Form::Encoded(v.into_boxed_str())))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<EmbeddedJson, A::Error> {
                let mut text = String::from("{");
                while let Some(key) = map.next_key::<String>()? {
                    let value: Box<RawValue> = map.next_value()?;
                    if text.len() > 1 {
                        text.push(',');
                    }
                    text.push_str(&serde_json::to_string(&key).map_err(serde::de::Error::custom)?);
                    text.push(':');
                    text.push_str(value.get());
                }
                text.push('}');
                inline(text)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<EmbeddedJson, A::Error> {
                let mut items = Vec::new();
                while let Some(value) = seq.next_element::<Box<RawValue>>()? {
                    items.push(value);
                }
                let parts: Vec<&str> = items.iter().map(|v| v.get()).collect();
                inline(format!("[{}]", parts.join(",")))
            }
        }
        fn inline<E: serde::de::Error>(text: String) -> Result<EmbeddedJson, E> {
            RawValue::from_string(text)
                .map(|r| EmbeddedJson(Form::Inline(RawJson(r))))
                .map_err(E::custom)
        }
        deserializer.deserialize_any(V)
    }
}

/// A single result that some sources wrap in a one-element array
/// (quirks 6 and 7). Keeps which form arrived so re-encoding matches.
#[derive(Clone, Debug, PartialEq)]
pub enum OneOrMany<T> {
    /// A bare object, as documented.
    One(T),
    /// An array, as Postman's saved examples show.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The first (normally only) item.
    pub fn first(&self) -> Option<&T> {
        match self {
            OneOrMany::One(t) => Some(t),
            OneOrMany::Many(v) => v.first(),
        }
    }

    /// All items as a vector.
    pub fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        }
    }
}

impl<T: Default> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany::One(T::default())
    }
}

impl<T: Serialize> Serialize for OneOrMany<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OneOrMany::One(t) => t.serialize(serializer),
            OneOrMany::Many(v) => v.serialize(serializer),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Buffer as raw text, not as serde's untagged `Content`, which would
        // turn numbers into floats before the exact-decimal codec saw them.
        let raw = RawJson::deserialize(deserializer)?;
        let result = if raw.get().starts_with('[') {
            crate::decode_str(raw.get()).map(OneOrMany::Many)
        } else {
            crate::decode_str(raw.get()).map(OneOrMany::One)
        };
        result.map_err(serde::de::Error::custom)
    }
}
