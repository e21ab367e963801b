//! What a hub client needs from `x-hub` beyond the method table: the hub
//! path, the documented reconnect delays and each method's error subjects.
//! Written into `generated/hub_contract.rs` through one hook in `codegen`.

use crate::spec::Spec;
use serde_json::Value;
use std::fmt::Write as _;

fn strings(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// The module body (constants only; matching is the client's job).
pub(crate) fn generate(spec: &Spec) -> Result<String, String> {
    let hub = spec.doc.get("x-hub").ok_or("x-hub missing")?;
    let path = hub
        .get("path")
        .and_then(Value::as_str)
        .ok_or("x-hub.path missing")?;
    let delays: Vec<u64> = hub
        .get("reconnectDelaysMs")
        .and_then(Value::as_array)
        .ok_or("x-hub.reconnectDelaysMs missing")?
        .iter()
        .map(|d| {
            d.as_u64()
                .ok_or("x-hub.reconnectDelaysMs: not a whole number")
        })
        .collect::<Result<_, _>>()?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/// The hub's path under the API base URL (`x-hub.path`).\npub const HUB_PATH: &str = {path:?};\n"
    );
    let _ = writeln!(
        out,
        "/// The documented reconnect delays, in milliseconds (`x-hub.reconnectDelaysMs`).\npub const HUB_RECONNECT_DELAYS_MS: &[u64] = &{delays:?};\n"
    );
    out.push_str("/// Each hub method's error subjects, in the description's order: a\n/// subject, or `*.<suffix>` for any subject ending in `.<suffix>`.\npub const HUB_ERROR_SUBJECTS: &[(&str, &[&str])] = &[\n");
    for m in spec.hub_methods() {
        let name = m
            .get("name")
            .and_then(Value::as_str)
            .ok_or("hub method without name")?;
        let subjects = strings(m.get("errorSubjects"));
        let _ = writeln!(out, "    ({name:?}, &{subjects:?}),");
    }
    out.push_str("];\n");
    Ok(out)
}
