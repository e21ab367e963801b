//! Every recorded wire file under `fixtures/{rest,hub,models}` is decoded
//! into its type, re-encoded, compared with the original (numbers by exact
//! digits, `null` = absent), and its decoded value snapshotted. A new file
//! is picked up by its place in the tree: no code change.
//!
//! - `rest/<OperationId>/request*.json`: the operation's request body type;
//! - `rest/<OperationId>/response-<status>*.json`: its success type for 2xx,
//!   `ErrorBody` otherwise;
//! - `hub/<Method>/data*.json`: the method's envelope `data` type;
//! - `hub/<Method>/args*.json`: the ordered argument list (arity checked);
//! - `models/<Type>/*.json`: the named type, or a list of it when the file
//!   holds an array (several variants in one file).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hercle_models::catalog::{Endpoint, HubMethod};
use hercle_models::{__fixture_roundtrip, RawJson, decimal::same_number};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// The type a fixture decodes into, from where it sits.
fn type_for(rel: &[&str]) -> Result<String, String> {
    match rel {
        ["rest", op, file] => {
            let e = Endpoint::find(op).ok_or_else(|| format!("no operation {op}"))?;
            if file.starts_with("request") {
                e.request
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{op} has no request body"))
            } else if let Some(rest) = file.strip_prefix("response-") {
                let status = rest.get(..3).unwrap_or_default();
                if status.starts_with('2') {
                    e.response
                        .map(str::to_owned)
                        .ok_or_else(|| format!("{op} has no response body"))
                } else {
                    Ok("ErrorBody".to_owned())
                }
            } else {
                Err(format!(
                    "{file}: expected request*.json or response-<status>*.json"
                ))
            }
        }
        ["hub", method, file] if file.starts_with("data") => HubMethod::find(method)
            .and_then(|m| m.data)
            .map(str::to_owned)
            .ok_or_else(|| format!("hub method {method} has no data type")),
        ["models", ty, _] => Ok((*ty).to_owned()),
        _ => Err("unrecognised fixture location".to_owned()),
    }
}

/// A JSON tree whose numbers keep their text.
#[derive(Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

/// Keys the models read under another name (quirks 1 and 2).
const ALIASES: &[(&str, &str)] = &[("timeStamp", "timestamp")];

fn tree(text: &str) -> Json {
    let t = text.trim();
    match t.as_bytes().first() {
        Some(b'{') => {
            let map: BTreeMap<String, Box<RawValue>> = serde_json::from_str(t).unwrap();
            Json::Obj(
                map.into_iter()
                    .filter(|(_, v)| v.get() != "null")
                    .map(|(k, v)| {
                        let k = ALIASES
                            .iter()
                            .find(|(a, _)| *a == k)
                            .map_or(k, |(_, c)| (*c).to_owned());
                        (k, tree(v.get()))
                    })
                    .collect(),
            )
        }
        Some(b'[') => {
            let items: Vec<Box<RawValue>> = serde_json::from_str(t).unwrap();
            Json::Arr(items.iter().map(|v| tree(v.get())).collect())
        }
        Some(b'"') => Json::Str(serde_json::from_str(t).unwrap()),
        Some(b't') => Json::Bool(true),
        Some(b'f') => Json::Bool(false),
        Some(b'n') => Json::Null,
        _ => Json::Num(t.to_owned()),
    }
}

fn same(a: &Json, b: &Json, path: &str) -> Result<(), String> {
    match (a, b) {
        (Json::Num(x), Json::Num(y)) if same_number(x, y) => Ok(()),
        (Json::Arr(x), Json::Arr(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .try_for_each(|(i, (x, y))| same(x, y, &format!("{path}[{i}]"))),
        (Json::Obj(x), Json::Obj(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter()
                .try_for_each(|k| match (x.get(k), y.get(k)) {
                    (Some(x), Some(y)) => same(x, y, &format!("{path}.{k}")),
                    _ => Err(format!("{path}.{k}: present on one side only")),
                })
        }
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: {a:?} != {b:?}")),
    }
}

#[test]
fn every_fixture_decodes_round_trips_and_matches_its_snapshot() {
    let root = fixtures_dir();
    let mut files = Vec::new();
    for dir in ["rest", "hub", "models"] {
        json_files(&root.join(dir), &mut files);
    }
    files.sort();
    assert!(
        files.len() > 100,
        "fixtures not found under {}",
        root.display()
    );
    let mut failures = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let parts: Vec<&str> = rel.split('/').collect();
        let text = std::fs::read_to_string(file).unwrap();
        if let ["hub", method, f] = parts.as_slice()
            && f.starts_with("args")
        {
            let m =
                HubMethod::find(method).unwrap_or_else(|| panic!("{rel}: no hub method {method}"));
            let args: Vec<RawJson> = serde_json::from_str(&text).unwrap();
            if args.len() != m.arguments.len() {
                failures.push(format!(
                    "{rel}: {} arguments, {method} takes {}",
                    args.len(),
                    m.arguments.len()
                ));
            }
            continue;
        }
        let ty = match type_for(&parts) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{rel}: {e}"));
                continue;
            }
        };
        let ty = if parts.first() == Some(&"models") && text.trim_start().starts_with('[') {
            format!("Vec<{ty}>")
        } else {
            ty
        };
        match __fixture_roundtrip(&ty, &text) {
            None => failures.push(format!("{rel}: no type {ty}")),
            Some(Err(e)) => failures.push(format!("{rel} as {ty}: {e}")),
            Some(Ok((debug, json))) => {
                if let Err(e) = same(&tree(&text), &tree(&json), "$") {
                    failures.push(format!("{rel} as {ty}: round trip differs at {e}"));
                }
                let name = rel.trim_end_matches(".json").replace('/', "__");
                insta::with_settings!({ snapshot_suffix => "", prepend_module_to_snapshot => false, info => &ty }, {
                    insta::assert_snapshot!(name, debug);
                });
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_postman_example_is_a_fixture() {
    let root = fixtures_dir();
    let text =
        std::fs::read_to_string(root.join("postman/Hercle_REST_API.postman_collection.json"))
            .unwrap();
    let collection: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut stack = vec![&collection["item"]];
    let mut seen = 0;
    while let Some(items) = stack.pop() {
        for item in items.as_array().into_iter().flatten() {
            if item.get("item").is_some() {
                stack.push(&item["item"]);
                continue;
            }
            let request = &item["request"];
            let method = match request["method"].as_str().unwrap() {
                "GET" => hercle_models::catalog::HttpMethod::Get,
                "POST" => hercle_models::catalog::HttpMethod::Post,
                "DELETE" => hercle_models::catalog::HttpMethod::Delete,
                other => panic!("method {other}"),
            };
            let path: Vec<String> = request["url"]["path"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    if s.as_str().unwrap().starts_with("{{") {
                        "x".to_owned()
                    } else {
                        s.as_str().unwrap().to_owned()
                    }
                })
                .collect();
            let path = format!("/{}", path.join("/"));
            let (endpoint, _) = Endpoint::route(method, &path)
                .unwrap_or_else(|| panic!("Postman request {path} matches no endpoint"));
            for response in item["response"].as_array().into_iter().flatten() {
                let body = response["body"].as_str().unwrap_or_default();
                seen += 1;
                if body.is_empty() {
                    // Quirk 17: Postman's "create deposit" answers with no body.
                    assert_eq!(endpoint.operation_id, "CreateDepositAddress");
                    continue;
                }
                let file = root.join(format!(
                    "rest/{}/response-{}-postman.json",
                    endpoint.operation_id, response["code"]
                ));
                let fixture = std::fs::read_to_string(&file)
                    .unwrap_or_else(|_| panic!("missing fixture {}", file.display()));
                assert_eq!(
                    fixture,
                    body,
                    "{} differs from the Postman example",
                    file.display()
                );
            }
        }
    }
    assert_eq!(seen, 25, "Postman example responses");
}
