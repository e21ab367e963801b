//! The description's request constraints as data, and the checks that apply
//! them: one source for a client checking a request before sending it and
//! for the sandbox deciding what it refuses as malformed (400).
//!
//! The table itself is generated from `api/hercle.openapi.json`:
//! [`REQUEST_RULES`](crate::REQUEST_RULES), one [`Rule`] per path, query or
//! header parameter and per JSON body field (nested fields as dotted names,
//! `business.companyName`). A rule knows which of its keywords the docs
//! state and which the description only infers ([`Rule::inferred`]); each
//! [`Violation`] carries that [`Confidence`], so a client can refuse only
//! what the docs promise the API refuses and let the server judge the rest.
//!
//! ```
//! use hercle_models::contract::{self, Location};
//! use hercle_models::catalog::Confidence;
//! // pageSize is documented as 5..50.
//! let v = contract::check_params("GetPayees", |loc, name| {
//!     (loc == Location::Query && name == "pageSize").then(|| "51".to_owned())
//! });
//! assert_eq!(v[0].name, "pageSize");
//! assert_eq!(v[0].confidence, Confidence::Documented);
//! ```

use crate::catalog::Confidence;
use crate::decimal::{is_json_number, parse_exact};
use crate::{Decimal, RawJson, Timestamp};
use std::collections::BTreeMap;
use std::fmt;

/// Where a constrained value travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Location {
    /// A `{segment}` of the path.
    Path,
    /// A query-string parameter.
    Query,
    /// A request header.
    Header,
    /// A field of the JSON request body.
    Body,
}

/// The JSON type a value must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// Text.
    String,
    /// Text holding an RFC 3339 date-time.
    DateTime,
    /// A whole number.
    Integer,
    /// A decimal number (money, sizes), read exactly.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
    /// Anything.
    Any,
}

/// A numeric bound, as the decimal text of the description.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Bound {
    /// The bound's value.
    pub value: &'static str,
    /// `exclusiveMinimum` / `exclusiveMaximum`: the bound itself is refused.
    pub exclusive: bool,
}

/// The constraints on one request value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// The operation it belongs to.
    pub operation_id: &'static str,
    /// Where the value travels.
    pub location: Location,
    /// Parameter name, or the body field's dotted path.
    pub name: &'static str,
    /// The value must be present (and not null).
    pub required: bool,
    /// The JSON type.
    pub kind: Kind,
    /// `null` is allowed.
    pub nullable: bool,
    /// Allowed values as JSON text (`"buy"`, `0`); empty when open.
    pub one_of: &'static [&'static str],
    /// Lower bound of a number.
    pub minimum: Option<Bound>,
    /// Upper bound of a number.
    pub maximum: Option<Bound>,
    /// A number must be a whole multiple of this.
    pub multiple_of: Option<&'static str>,
    /// Shortest text, in characters.
    pub min_length: Option<u64>,
    /// Longest text, in characters.
    pub max_length: Option<u64>,
    /// A regular expression the text must contain a match of.
    pub pattern: Option<&'static str>,
    /// Fewest array items.
    pub min_items: Option<u64>,
    /// The JSON type of each array item.
    pub items: Kind,
    /// Keywords (`required`, `minimum`, `pattern`, …) the docs do not
    /// state: the description infers them (`x-inferred-constraints`).
    pub inferred: &'static [&'static str],
}

/// The keyword of a [`Violation`] for a number the JSON allows but an
/// exact decimal cannot hold (beyond 28 fractional digits or about 7.9e28):
/// a valid request the API cannot honour, not a malformed one.
pub const NOT_A_DECIMAL: &str = "decimal";

/// A value that breaks a [`Rule`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Parameter name or body field path.
    pub name: &'static str,
    /// Where the value travels.
    pub location: Location,
    /// The keyword broken: `required`, `type`, `enum`, `minimum`, …
    pub keyword: &'static str,
    /// What is wrong, for people.
    pub message: String,
    /// Documented, or only inferred by the description.
    pub confidence: Confidence,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Violation {}

impl Rule {
    fn violation(&self, keyword: &'static str, message: String) -> Violation {
        let confidence = if self.inferred.contains(&keyword) {
            Confidence::Inferred
        } else {
            Confidence::Documented
        };
        Violation {
            name: self.name,
            location: self.location,
            keyword,
            message,
            confidence,
        }
    }

    fn missing(&self) -> Violation {
        self.violation(
            "required",
            format!("Missing required parameter: {}", self.name),
        )
    }

    /// Checks a parameter's text (path segment already percent-decoded).
    pub fn check_text(&self, text: Option<&str>) -> Result<(), Violation> {
        let Some(text) = text else {
            return if self.required {
                Err(self.missing())
            } else {
                Ok(())
            };
        };
        let n = self.name;
        match self.kind {
            Kind::Integer | Kind::Number => {
                let what = if self.kind == Kind::Integer {
                    "an integer"
                } else {
                    "a number"
                };
                let value = match parse_exact(text) {
                    Ok(v) if self.kind == Kind::Number || v.fract().is_zero() => v,
                    // A number, but one an exact decimal cannot hold.
                    Err(e) if is_json_number(text) => {
                        return Err(self.violation(NOT_A_DECIMAL, e.to_string()));
                    }
                    _ => return Err(self.violation("type", format!("{n} must be {what}"))),
                };
                self.check_enum(text)?;
                self.check_number(value)
            }
            Kind::Boolean if text != "true" && text != "false" => {
                Err(self.violation("type", format!("{n} must be true or false")))
            }
            _ => {
                // A string parameter's enum values are JSON strings.
                if !self.one_of.is_empty()
                    && !self.one_of.iter().any(|v| {
                        v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) == Some(text)
                    })
                {
                    return Err(self.enum_violation());
                }
                self.check_string(text)
            }
        }
    }

    /// Checks a JSON value (`None` when the field is absent).
    pub fn check_json(&self, value: Option<&RawJson>) -> Result<(), Violation> {
        let n = self.name;
        let Some(text) = value.map(RawJson::get) else {
            return if self.required {
                Err(self.missing())
            } else {
                Ok(())
            };
        };
        if text == "null" {
            return match (self.nullable, self.required) {
                (true, _) => Ok(()),
                (false, true) => Err(self.missing()),
                // An explicit null where the description allows none.
                (false, false) => Err(self.violation("type", format!("{n} must not be null"))),
            };
        }
        let first = text.as_bytes().first().copied().unwrap_or_default();
        let type_error = |what: &str| self.violation("type", format!("{n} must be {what}"));
        match self.kind {
            Kind::String | Kind::DateTime => {
                let s: String = serde_json::from_str(text).map_err(|_| type_error("a string"))?;
                self.check_enum(text)?;
                self.check_string(&s)
            }
            Kind::Integer | Kind::Number => {
                if !(first == b'-' || first.is_ascii_digit()) {
                    return Err(type_error("a number"));
                }
                let v =
                    parse_exact(text).map_err(|e| self.violation(NOT_A_DECIMAL, e.to_string()))?;
                if self.kind == Kind::Integer && !v.fract().is_zero() {
                    return Err(type_error("an integer"));
                }
                self.check_enum(text)?;
                self.check_number(v)
            }
            Kind::Boolean if text != "true" && text != "false" => Err(type_error("true or false")),
            Kind::Object if first != b'{' => Err(type_error("an object")),
            Kind::Array if first != b'[' => Err(type_error("an array")),
            Kind::Array => {
                let items: Vec<RawJson> =
                    serde_json::from_str(text).map_err(|_| type_error("an array"))?;
                if let Some(min) = self.min_items
                    && (items.len() as u64) < min
                {
                    return Err(
                        self.violation("minItems", format!("{n} must have at least {min} item(s)"))
                    );
                }
                let item = Rule {
                    kind: self.items,
                    items: Kind::Any,
                    ..*self
                };
                match items.iter().find_map(|i| item.kind_error(i.get())) {
                    Some(what) => Err(self.violation("type", format!("{n} items must be {what}"))),
                    None => Ok(()),
                }
            }
            _ => self.check_enum(text),
        }
    }

    /// What a JSON value should have been, when its kind is wrong.
    fn kind_error(&self, text: &str) -> Option<&'static str> {
        let first = text.as_bytes().first().copied().unwrap_or_default();
        let ok = match self.kind {
            Kind::String | Kind::DateTime => first == b'"',
            Kind::Integer | Kind::Number => first == b'-' || first.is_ascii_digit(),
            Kind::Boolean => text == "true" || text == "false",
            Kind::Object => first == b'{',
            Kind::Array => first == b'[',
            Kind::Any => true,
        };
        (!ok).then_some(match self.kind {
            Kind::String | Kind::DateTime => "strings",
            Kind::Integer | Kind::Number => "numbers",
            Kind::Boolean => "booleans",
            Kind::Object => "objects",
            _ => "arrays",
        })
    }

    fn enum_violation(&self) -> Violation {
        let allowed: Vec<&str> = self.one_of.iter().map(|v| v.trim_matches('"')).collect();
        self.violation(
            "enum",
            format!("{} must be one of {}", self.name, allowed.join(", ")),
        )
    }

    fn check_enum(&self, json_text: &str) -> Result<(), Violation> {
        if self.one_of.is_empty() || self.one_of.contains(&json_text) {
            return Ok(());
        }
        // Numbers compare by value (`1.0` is `1`).
        let same_number = parse_exact(json_text)
            .ok()
            .is_some_and(|v| self.one_of.iter().any(|e| parse_exact(e).ok() == Some(v)));
        if same_number {
            Ok(())
        } else {
            Err(self.enum_violation())
        }
    }

    fn check_string(&self, s: &str) -> Result<(), Violation> {
        let n = self.name;
        let len = s.chars().count() as u64;
        if let Some(min) = self.min_length
            && len < min
        {
            return Err(self.violation(
                "minLength",
                format!("{n} must be at least {min} character(s)"),
            ));
        }
        if let Some(max) = self.max_length
            && len > max
        {
            return Err(
                self.violation("maxLength", format!("{n} must be at most {max} characters"))
            );
        }
        if let Some(p) = self.pattern
            && !regex_lite::Regex::new(p).is_ok_and(|re| re.is_match(s))
        {
            return Err(self.violation("pattern", format!("{n} must match {p}")));
        }
        if self.kind == Kind::DateTime && Timestamp::from_text(s).get().is_none() {
            return Err(self.violation("format", format!("{n} must be an ISO-8601 date-time")));
        }
        Ok(())
    }

    fn check_number(&self, v: Decimal) -> Result<(), Violation> {
        let n = self.name;
        let bound = |b: &Bound| parse_exact(b.value).ok();
        if let Some(b) = &self.minimum
            && let Some(min) = bound(b)
            && (v < min || (b.exclusive && v == min))
        {
            let (keyword, rel) = if b.exclusive {
                ("exclusiveMinimum", "greater than")
            } else {
                ("minimum", "at least")
            };
            return Err(self.violation(keyword, format!("{n} must be {rel} {}", b.value)));
        }
        if let Some(b) = &self.maximum
            && let Some(max) = bound(b)
            && (v > max || (b.exclusive && v == max))
        {
            let (keyword, rel) = if b.exclusive {
                ("exclusiveMaximum", "less than")
            } else {
                ("maximum", "at most")
            };
            return Err(self.violation(keyword, format!("{n} must be {rel} {}", b.value)));
        }
        if let Some(m) = self.multiple_of.and_then(|m| parse_exact(m).ok())
            && !m.is_zero()
            && !(v % m).is_zero()
        {
            return Err(self.violation("multipleOf", format!("{n} must be a multiple of {m}")));
        }
        Ok(())
    }
}

/// The rules of one operation, in description order.
pub fn rules(operation_id: &str) -> impl Iterator<Item = &'static Rule> + '_ {
    crate::REQUEST_RULES
        .iter()
        .filter(move |r| r.operation_id == operation_id)
}

/// Checks an operation's path, query and header parameters; `value` gives
/// a parameter's text by location and name (`None` when absent).
pub fn check_params(
    operation_id: &str,
    value: impl Fn(Location, &str) -> Option<String>,
) -> Vec<Violation> {
    rules(operation_id)
        .filter(|r| r.location != Location::Body)
        .filter_map(|r| r.check_text(value(r.location, r.name).as_deref()).err())
        .collect()
}

/// Checks a JSON request body against the operation's body rules. A body
/// that is not a JSON object breaks a rule named `body`.
pub fn check_body(operation_id: &str, body: &[u8]) -> Vec<Violation> {
    let mut body_rules = rules(operation_id)
        .filter(|r| r.location == Location::Body)
        .peekable();
    if body_rules.peek().is_none() {
        return Vec::new();
    }
    let Ok(top) = serde_json::from_slice::<BTreeMap<String, RawJson>>(body) else {
        return vec![Violation {
            name: "body",
            location: Location::Body,
            keyword: "type",
            message: "The request body must be a JSON object".to_owned(),
            confidence: Confidence::Documented,
        }];
    };
    body_rules
        .filter_map(|r| {
            // Walk to the objects holding the field: `a.b` goes through
            // object `a`, `a[].b` through every item of array `a`. A parent
            // that is absent or of the wrong type has nothing to check here
            // (its own rule reports it).
            let (parents, field) = r.name.rsplit_once('.').unwrap_or(("", r.name));
            let mut holders = vec![top.clone()];
            for step in parents.split('.').filter(|s| !s.is_empty()) {
                let (key, each) = match step.strip_suffix("[]") {
                    Some(key) => (key, true),
                    None => (step, false),
                };
                let values: Vec<RawJson> = holders
                    .iter()
                    .filter_map(|h| h.get(key))
                    .flat_map(|v| {
                        if each {
                            serde_json::from_str::<Vec<RawJson>>(v.get()).unwrap_or_default()
                        } else {
                            vec![v.clone()]
                        }
                    })
                    .collect();
                holders = values
                    .iter()
                    .filter_map(|v| serde_json::from_str(v.get()).ok())
                    .collect();
            }
            holders
                .iter()
                .find_map(|h| r.check_json(h.get(field)).err())
        })
        .collect()
}

/// Checks a typed request body before sending it: serialises `body` (money
/// keeps its exact digits) and applies [`check_body`].
pub fn check_request<T: serde::Serialize>(operation_id: &str, body: &T) -> Vec<Violation> {
    match serde_json::to_vec(body) {
        Ok(bytes) => check_body(operation_id, &bytes),
        Err(e) => vec![Violation {
            name: "body",
            location: Location::Body,
            keyword: "type",
            message: e.to_string(),
            confidence: Confidence::Documented,
        }],
    }
}
