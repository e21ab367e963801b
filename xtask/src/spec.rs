//! Reading the API description into what code generation needs.

use serde_json::{Map, Value};
use std::path::Path;

/// The parsed description, with helpers to walk it.
pub(crate) struct Spec {
    pub(crate) doc: Value,
}

/// One REST operation.
pub(crate) struct Operation<'a> {
    pub(crate) path: &'a str,
    pub(crate) method: &'a str,
    pub(crate) op: &'a Map<String, Value>,
}

impl Spec {
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let doc: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Spec { doc })
    }

    pub(crate) fn schemas(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v))
    }

    pub(crate) fn schema(&self, name: &str) -> Option<&Value> {
        self.doc.pointer(&format!("/components/schemas/{name}"))
    }

    pub(crate) fn operations(&self) -> Vec<Operation<'_>> {
        let mut out = Vec::new();
        for (path, item) in self
            .doc
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            for (method, op) in item.as_object().into_iter().flatten() {
                if let Some(op) = op.as_object() {
                    out.push(Operation { path, method, op });
                }
            }
        }
        out
    }

    pub(crate) fn hub_methods(&self) -> Vec<&Map<String, Value>> {
        self.doc
            .pointer("/x-hub/methods")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .collect()
    }

    pub(crate) fn webhooks(&self) -> Vec<(&str, &Map<String, Value>)> {
        self.doc
            .get("webhooks")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str(), v.get("post")?.as_object()?)))
            .collect()
    }
}

pub(crate) fn ref_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
}

/// The string items of array property `key`.
pub(crate) fn strings<'a>(v: &'a Map<String, Value>, key: &str) -> impl Iterator<Item = &'a str> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

pub(crate) fn str_of<'a>(v: &'a Map<String, Value>, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// `camelCase` or `PascalCase` to `snake_case`.
pub(crate) fn snake(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower = i > 0
                && chars
                    .get(i - 1)
                    .is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            let prev_upper = i > 0 && chars.get(i - 1).is_some_and(char::is_ascii_uppercase);
            if i > 0 && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '-' || c == ' ' || c == '.' {
            out.push('_');
        } else {
            out.push(c);
        }
    }
    out
}

/// Rust keywords become raw identifiers.
pub(crate) fn ident(name: &str) -> String {
    match name {
        "type" | "ref" | "match" | "self" | "struct" | "enum" | "mod" | "fn" | "use" => {
            format!("r#{name}")
        }
        _ => name.to_owned(),
    }
}
