//! What commands print: aligned tables for people, NDJSON for programs.
//!
//! Every answer is rendered from its JSON text through [`Json`], a tree
//! that keeps each number's own digits: nothing printed ever passes
//! through a float, and the table and `--json` views show the same values.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt::Write as _;
use std::io::{self, Write};

/// A JSON value whose numbers are kept as their text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

struct Entries(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

struct Items(Vec<Box<RawValue>>);

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Items;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<Box<RawValue>>()? {
                    out.push(item);
                }
                Ok(Items(out))
            }
        }
        d.deserialize_seq(V)
    }
}

impl Json {
    /// Parses JSON text, keeping numbers as written.
    pub(crate) fn parse(text: &[u8]) -> Result<Json, serde_json::Error> {
        let raw: Box<RawValue> = serde_json::from_slice(text)?;
        Json::from_raw(&raw)
    }

    fn from_raw(raw: &RawValue) -> Result<Json, serde_json::Error> {
        let text = raw.get();
        Ok(match text.as_bytes().first() {
            Some(b'{') => Json::Object(
                serde_json::from_str::<Entries>(text)?
                    .0
                    .into_iter()
                    .map(|(k, v)| Ok((k, Json::from_raw(&v)?)))
                    .collect::<Result<_, serde_json::Error>>()?,
            ),
            Some(b'[') => Json::Array(
                serde_json::from_str::<Items>(text)?
                    .0
                    .iter()
                    .map(|v| Json::from_raw(v))
                    .collect::<Result<_, _>>()?,
            ),
            Some(b'"') => Json::String(serde_json::from_str(text)?),
            Some(b't') => Json::Bool(true),
            Some(b'f') => Json::Bool(false),
            Some(b'n') => Json::Null,
            _ => Json::Number(text.to_owned()),
        })
    }

    /// Any serialisable value (the generated models write decimals with
    /// their own digits).
    pub(crate) fn of<T: serde::Serialize>(value: &T) -> Result<Json, serde_json::Error> {
        Json::parse(serde_json::to_string(value)?.as_bytes())
    }

    /// A member of an object.
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A scalar as display text (strings unquoted, null empty).
    pub(crate) fn text(&self) -> String {
        match self {
            Json::Null => String::new(),
            Json::Bool(b) => b.to_string(),
            Json::Number(n) => n.clone(),
            Json::String(s) => s.clone(),
            Json::Array(_) | Json::Object(_) => self.compact(),
        }
    }

    /// One line of JSON.
    pub(crate) fn compact(&self) -> String {
        let mut out = String::new();
        self.write_compact(&mut out);
        out
    }

    fn write_compact(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => push_string(s, out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_compact(out);
                }
                out.push(']');
            }
            Json::Object(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_string(k, out);
                    out.push(':');
                    v.write_compact(out);
                }
                out.push('}');
            }
        }
    }

    /// Indented JSON, for one object on a terminal.
    pub(crate) fn pretty(&self) -> String {
        let mut out = String::new();
        self.write_pretty(&mut out, 0);
        out
    }

    fn write_pretty(&self, out: &mut String, depth: usize) {
        let pad = |out: &mut String, d: usize| {
            out.push('\n');
            out.extend(std::iter::repeat_n("  ", d));
        };
        match self {
            Json::Array(items) if !items.is_empty() => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    pad(out, depth + 1);
                    item.write_pretty(out, depth + 1);
                }
                pad(out, depth);
                out.push(']');
            }
            Json::Object(entries) if !entries.is_empty() => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    pad(out, depth + 1);
                    push_string(k, out);
                    out.push_str(": ");
                    v.write_pretty(out, depth + 1);
                }
                pad(out, depth);
                out.push('}');
            }
            other => other.write_compact(out),
        }
    }
}

fn push_string(s: &str, out: &mut String) {
    // serde_json escapes exactly as JSON requires; a str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned()));
}

/// How answers are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Table,
    Ndjson,
}

/// Prints `value`: a list as a table (or one NDJSON line per item), an
/// object as key/value rows (or one line). `columns` picks and orders the
/// table's columns; empty means every scalar member.
pub(crate) fn print(
    out: &mut impl Write,
    format: Format,
    value: &Json,
    columns: &[&str],
) -> io::Result<()> {
    match (format, value) {
        (Format::Ndjson, Json::Array(items)) => {
            for item in items {
                writeln!(out, "{}", item.compact())?;
            }
            Ok(())
        }
        (Format::Ndjson, other) => writeln!(out, "{}", other.compact()),
        (Format::Table, Json::Array(items)) => {
            if items.is_empty() {
                return writeln!(out, "(none)");
            }
            let columns = pick_columns(items, columns);
            let header: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
            let mut rows = vec![header];
            for item in items {
                rows.push(
                    columns
                        .iter()
                        .map(|c| match item {
                            Json::Object(_) => item.get(c).map(Json::text).unwrap_or_default(),
                            scalar => scalar.text(),
                        })
                        .collect(),
                );
            }
            write_rows(out, &rows)
        }
        (Format::Table, Json::Object(entries)) => {
            let rows: Vec<Vec<String>> = entries
                .iter()
                .filter(|(k, _)| columns.is_empty() || columns.contains(&k.as_str()))
                .map(|(k, v)| vec![k.clone(), v.text()])
                .collect();
            write_rows(out, &rows)
        }
        (Format::Table, scalar) => writeln!(out, "{}", scalar.text()),
    }
}

fn pick_columns<'a>(items: &'a [Json], wanted: &[&'a str]) -> Vec<&'a str> {
    if !wanted.is_empty() {
        return wanted.to_vec();
    }
    let mut columns: Vec<&str> = Vec::new();
    for item in items {
        if let Json::Object(entries) = item {
            for (k, v) in entries {
                let scalar = !matches!(v, Json::Array(_) | Json::Object(_));
                if scalar && !columns.contains(&k.as_str()) {
                    columns.push(k);
                }
            }
        }
    }
    if columns.is_empty() {
        columns.push("value");
    }
    columns
}

/// Rows with columns aligned by two spaces; the last column is not padded.
pub(crate) fn write_rows(out: &mut impl Write, rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let w = cell.chars().count();
            match widths.get_mut(i) {
                Some(old) => *old = (*old).max(w),
                None => widths.push(w),
            }
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let w = widths.get(i).copied().unwrap_or(0);
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn numbers_keep_their_digits() {
        let text =
            br#"{"a":1000.50,"b":[0.00000001,123456789012345678.9],"c":"x\"y","d":null,"e":true}"#;
        let json = Json::parse(text).unwrap();
        assert_eq!(json.compact().as_bytes(), text);
        assert_eq!(json.get("a").unwrap().text(), "1000.50");
        assert!(json.pretty().contains("123456789012345678.9"));
    }

    #[test]
    fn bad_json_is_an_error() {
        for bad in [&b"{"[..], b"[1,", b"", b"nul"] {
            assert!(Json::parse(bad).is_err());
        }
    }

    #[test]
    fn tables_align_and_ndjson_is_a_line_per_item() {
        let json =
            Json::parse(br#"[{"pair":"BTCUSDT","price":1.50},{"pair":"ETH","price":2,"x":[1]}]"#)
                .unwrap();
        let mut out = Vec::new();
        print(&mut out, Format::Table, &json, &[]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "pair     price\nBTCUSDT  1.50\nETH      2\n"
        );
        let mut out = Vec::new();
        print(&mut out, Format::Ndjson, &json, &[]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"pair\":\"BTCUSDT\",\"price\":1.50}\n{\"pair\":\"ETH\",\"price\":2,\"x\":[1]}\n"
        );
    }
}
