//! One pass over a record's JSON object, collecting every property this crate
//! knows about without ever failing on a type mismatch.
//!
//! serde's own errors for a mistyped field are strings; by reading each value
//! through a visitor that accepts any JSON shape and records whether it was the
//! expected one, the caller can report *which* field was wrong as a typed
//! error, while syntax errors still come from serde_json.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{DecodeError, RecordKind};
use crate::message::{Headers, Payload};

/// What one property held.
#[derive(Debug, Default)]
pub(crate) enum Slot<T> {
    /// Not present, or JSON `null`.
    #[default]
    Absent,
    /// Present with the expected shape.
    Ok(T),
    /// Present with another shape.
    Wrong,
}

/// Every property of every record kind. Properties irrelevant to the record's
/// `type` are read (the type may come last) and then ignored.
#[derive(Debug, Default)]
pub(crate) struct RawRecord<'a> {
    pub(crate) type_: Slot<u64>,
    pub(crate) invocation_id: Slot<Cow<'a, str>>,
    pub(crate) target: Slot<Cow<'a, str>>,
    pub(crate) arguments: Slot<Vec<Payload<'a>>>,
    pub(crate) stream_ids: Slot<Vec<Cow<'a, str>>>,
    pub(crate) headers: Slot<Headers<'a>>,
    pub(crate) item: Option<Payload<'a>>,
    pub(crate) result: Option<Payload<'a>>,
    pub(crate) error: Slot<Cow<'a, str>>,
    pub(crate) allow_reconnect: Slot<bool>,
    pub(crate) sequence_id: Slot<u64>,
    pub(crate) protocol: Slot<Cow<'a, str>>,
    pub(crate) version: Slot<u64>,
}

/// Parses a record (no terminator) into its known properties.
pub(crate) fn parse_record(record: &[u8], kind: RecordKind) -> Result<RawRecord<'_>, DecodeError> {
    let text = std::str::from_utf8(record).map_err(|e| DecodeError::InvalidUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    let first = text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .as_bytes()
        .first();
    if first != Some(&b'{') {
        // Tell "valid JSON of the wrong kind" apart from garbage.
        return match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => Err(DecodeError::NotAnObject { record: kind }),
            Err(e) => Err(DecodeError::from_json(&e)),
        };
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let raw = RawRecord::deserialize(&mut de).map_err(|e| DecodeError::from_json(&e))?;
    de.end().map_err(|e| DecodeError::from_json(&e))?;
    Ok(raw)
}

enum Key {
    Type,
    InvocationId,
    Target,
    Arguments,
    StreamIds,
    Headers,
    Item,
    Result,
    Error,
    AllowReconnect,
    SequenceId,
    Protocol,
    Version,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a property name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                // Property names are case-sensitive in the JSON hub protocol.
                Ok(match v {
                    "type" => Key::Type,
                    "invocationId" => Key::InvocationId,
                    "target" => Key::Target,
                    "arguments" => Key::Arguments,
                    "streamIds" => Key::StreamIds,
                    "headers" => Key::Headers,
                    "item" => Key::Item,
                    "result" => Key::Result,
                    "error" => Key::Error,
                    "allowReconnect" => Key::AllowReconnect,
                    "sequenceId" => Key::SequenceId,
                    "protocol" => Key::Protocol,
                    "version" => Key::Version,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for RawRecord<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RecordVisitor;
        impl<'de> Visitor<'de> for RecordVisitor {
            type Value = RawRecord<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut r = RawRecord::default();
                // A repeated property overwrites the earlier one.
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Type => r.type_ = map.next_value::<SlotDe<u64>>()?.0,
                        Key::InvocationId => r.invocation_id = map.next_value::<SlotDe<_>>()?.0,
                        Key::Target => r.target = map.next_value::<SlotDe<_>>()?.0,
                        Key::Arguments => r.arguments = map.next_value::<SlotDe<_>>()?.0,
                        Key::StreamIds => r.stream_ids = map.next_value::<SlotDe<_>>()?.0,
                        Key::Headers => r.headers = map.next_value::<SlotDe<_>>()?.0,
                        Key::Item => r.item = Some(map.next_value()?),
                        Key::Result => r.result = Some(map.next_value()?),
                        Key::Error => r.error = map.next_value::<SlotDe<_>>()?.0,
                        Key::AllowReconnect => {
                            r.allow_reconnect = map.next_value::<SlotDe<_>>()?.0;
                        }
                        Key::SequenceId => r.sequence_id = map.next_value::<SlotDe<_>>()?.0,
                        Key::Protocol => r.protocol = map.next_value::<SlotDe<_>>()?.0,
                        Key::Version => r.version = map.next_value::<SlotDe<_>>()?.0,
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(r)
            }
        }
        d.deserialize_map(RecordVisitor)
    }
}

/// A value shape a slot can hold. Every method defaults to "wrong shape";
/// containers are drained so the parser stays in step.
trait Shape<'de>: Sized {
    fn from_str(_: Cow<'de, str>) -> Slot<Self> {
        Slot::Wrong
    }
    fn from_u64(_: u64) -> Slot<Self> {
        Slot::Wrong
    }
    fn from_bool(_: bool) -> Slot<Self> {
        Slot::Wrong
    }
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Slot<Self>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Slot::Wrong)
    }
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Slot<Self>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Slot::Wrong)
    }
}

impl<'de> Shape<'de> for Cow<'de, str> {
    fn from_str(s: Cow<'de, str>) -> Slot<Self> {
        Slot::Ok(s)
    }
}

impl Shape<'_> for u64 {
    fn from_u64(n: u64) -> Slot<Self> {
        Slot::Ok(n)
    }
}

impl Shape<'_> for bool {
    fn from_bool(b: bool) -> Slot<Self> {
        Slot::Ok(b)
    }
}

impl<'de> Shape<'de> for Vec<Payload<'de>> {
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Slot<Self>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        while let Some(v) = seq.next_element::<Payload<'de>>()? {
            out.push(v);
        }
        Ok(Slot::Ok(out))
    }
}

impl<'de> Shape<'de> for Vec<Cow<'de, str>> {
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Slot<Self>, A::Error> {
        let mut out = Vec::new();
        let mut ok = true;
        while let Some(v) = seq.next_element::<SlotDe<Cow<'de, str>>>()? {
            match v.0 {
                Slot::Ok(s) => out.push(s),
                Slot::Absent | Slot::Wrong => ok = false,
            }
        }
        Ok(if ok { Slot::Ok(out) } else { Slot::Wrong })
    }
}

impl<'de> Shape<'de> for Headers<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Slot<Self>, A::Error> {
        let mut out = Vec::new();
        let mut ok = true;
        while let Some((k, v)) = map.next_entry::<Cow<'de, str>, SlotDe<Cow<'de, str>>>()? {
            match v.0 {
                Slot::Ok(v) => out.push((k, v)),
                Slot::Absent | Slot::Wrong => ok = false,
            }
        }
        Ok(if ok { Slot::Ok(out) } else { Slot::Wrong })
    }
}

struct SlotDe<T>(Slot<T>);

impl<'de, T: Shape<'de>> Deserialize<'de> for SlotDe<T> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SlotVisitor(PhantomData)).map(SlotDe)
    }
}

struct SlotVisitor<T>(PhantomData<T>);

impl<'de, T: Shape<'de>> Visitor<'de> for SlotVisitor<T> {
    type Value = Slot<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(T::from_bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(T::from_u64(v))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Slot::Wrong)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Slot::Wrong)
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(T::from_str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(T::from_str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(T::from_str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Slot::Absent)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Slot::Absent)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        T::from_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::from_map(map)
    }
}
