//! Hub method arguments, written as exact JSON.

use hercle_models::{Decimal, RawJson};

/// One argument of a hub method, after the ClientId the client supplies.
///
/// Written to the wire exactly: a [`Decimal`] as its own digits (never via
/// `f64`), strings JSON-escaped.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Arg {
    /// A string (pair names, ids, enum names, ISO-8601 dates).
    Str(String),
    /// A decimal number (amounts, sizes, slippage).
    Decimal(Decimal),
    /// An integer (pages, page sizes, expirations).
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// JSON `null` (an optional argument left out).
    Null,
    /// Any JSON value, as given (an object argument).
    Raw(RawJson),
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Str(v.to_owned())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Str(v)
    }
}
impl From<Decimal> for Arg {
    fn from(v: Decimal) -> Self {
        Arg::Decimal(v)
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl<T: Into<Arg>> From<Option<T>> for Arg {
    fn from(v: Option<T>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}

impl Arg {
    /// Appends this argument's JSON text.
    pub(crate) fn write_json(&self, out: &mut String) {
        match self {
            // serde_json escapes strings correctly and cannot fail on them.
            Arg::Str(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
            // `Decimal`'s Display is plain digits (no exponent): valid JSON.
            Arg::Decimal(d) => out.push_str(&d.to_string()),
            Arg::Int(i) => out.push_str(&i.to_string()),
            Arg::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Arg::Null => out.push_str("null"),
            Arg::Raw(r) => out.push_str(r.get()),
        }
    }
}

/// `[clientId, args...]` as JSON text.
pub(crate) fn array(client_id: &str, args: &[Arg]) -> String {
    let mut out = String::from("[");
    Arg::Str(client_id.to_owned()).write_json(&mut out);
    for a in args {
        out.push(',');
        a.write_json(&mut out);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decimals_keep_every_digit_and_strings_are_escaped() {
        let d: Decimal = "26798.123456789012345678".parse().unwrap();
        let json = array("c\"1", &[d.into(), "BTC".into(), Arg::Null, 3i64.into()]);
        assert_eq!(json, r#"["c\"1",26798.123456789012345678,"BTC",null,3]"#);
    }
}
