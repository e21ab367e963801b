//! `hercle call`: any REST operation by name, its parameters checked
//! against the generated operation table.

use crate::Ctx;
use crate::failure::Failure;
use crate::output::{Format, Json, write_rows};
use crate::terminal::Spinner;
use hercle::rest::ops::OperationId;
use std::io::Write as _;

/// `hercle call`.
#[derive(clap::Args, Debug)]
pub(crate) struct CallArgs {
    /// The operation, e.g. GetPairPrice (see --list).
    #[arg(required_unless_present = "list")]
    operation: Option<String>,
    /// A path or query parameter, as NAME=VALUE (repeatable).
    #[arg(long = "param", short, value_name = "NAME=VALUE", value_parser = param)]
    params: Vec<(String, String)>,
    /// The JSON body, or @FILE to read it from a file.
    #[arg(long, value_name = "JSON")]
    body: Option<String>,
    /// List the operations and their parameters.
    #[arg(long)]
    list: bool,
}

fn param(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?}: expected NAME=VALUE"))
}

/// The `{name}` segments of a path template, in order.
fn path_params(template: &str) -> Vec<&str> {
    template
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

fn list(ctx: &Ctx) -> Result<(), Failure> {
    let mut rows = vec![
        ["OPERATION", "METHOD", "PATH", "QUERY", "BODY"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for id in OperationId::ALL {
        let e = id.endpoint();
        let query: Vec<String> = e
            .query
            .iter()
            .map(|q| {
                if q.required {
                    q.name.to_owned()
                } else {
                    format!("[{}]", q.name)
                }
            })
            .collect();
        rows.push(vec![
            id.as_str().to_owned(),
            e.method.as_str().to_owned(),
            e.path.to_owned(),
            query.join(" "),
            e.request.unwrap_or("").to_owned(),
        ]);
    }
    if ctx.format() == Format::Ndjson {
        let mut out = std::io::stdout().lock();
        for row in rows.iter().skip(1) {
            let fields = ["operation", "method", "path", "query", "body"];
            let object = Json::Object(
                fields
                    .iter()
                    .zip(row)
                    .map(|(k, v)| ((*k).to_owned(), Json::String(v.clone())))
                    .collect(),
            );
            writeln!(out, "{}", object.compact())?;
        }
        return Ok(());
    }
    write_rows(&mut std::io::stdout().lock(), &rows)?;
    Ok(())
}

pub(crate) async fn run(ctx: &Ctx, args: CallArgs) -> Result<(), Failure> {
    if args.list {
        return list(ctx);
    }
    let name = args.operation.unwrap_or_default();
    let id = OperationId::ALL
        .into_iter()
        .find(|id| id.as_str().eq_ignore_ascii_case(&name))
        .ok_or_else(|| {
            Failure::Usage(format!(
                "unknown operation {name:?}: `hercle call --list` shows them"
            ))
        })?;
    let e = id.endpoint();
    let in_path = path_params(e.path);
    let mut path = Vec::new();
    let mut query = Vec::new();
    for (k, v) in &args.params {
        if let Some(p) = in_path.iter().find(|p| p.eq_ignore_ascii_case(k)) {
            path.push((*p, v.as_str()));
        } else if let Some(q) = e.query.iter().find(|q| q.name.eq_ignore_ascii_case(k)) {
            query.push((q.name, v.as_str()));
        } else {
            let known: Vec<&str> = in_path
                .iter()
                .copied()
                .chain(e.query.iter().map(|q| q.name))
                .collect();
            return Err(Failure::Usage(format!(
                "{} has no parameter {k:?}; its parameters: {}",
                id.as_str(),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    if let Some(missing) = in_path.iter().find(|p| !path.iter().any(|(n, _)| n == *p)) {
        return Err(Failure::Usage(format!(
            "{} needs --param {missing}=VALUE (path {})",
            id.as_str(),
            e.path
        )));
    }
    if let Some(q) = e
        .query
        .iter()
        .find(|q| q.required && !query.iter().any(|(n, _)| *n == q.name))
    {
        return Err(Failure::Usage(format!(
            "{} needs --param {}=VALUE",
            id.as_str(),
            q.name
        )));
    }
    let body = match (&args.body, e.request) {
        (Some(b), Some(_)) => Some(match b.strip_prefix('@') {
            Some(file) => std::fs::read_to_string(file)?,
            None => b.clone(),
        }),
        (Some(_), None) => {
            return Err(Failure::Usage(format!("{} takes no body", id.as_str())));
        }
        (None, Some(ty)) => {
            return Err(Failure::Usage(format!(
                "{} needs --body JSON (a {ty})",
                id.as_str()
            )));
        }
        (None, None) => None,
    };
    if let Some(b) = &body {
        // Checked here so a typo is a usage error, not a 400 from the API.
        Json::parse(b.as_bytes())
            .map_err(|err| Failure::Usage(format!("--body is not JSON: {err}")))?;
    }
    let answer = {
        let _s = Spinner::start(id.as_str());
        ctx.rest()?
            .call_raw(id, &path, &query, body.as_deref(), Default::default())
            .await?
    };
    if answer.trim_ascii().is_empty() {
        return Ok(());
    }
    let json = Json::parse(&answer)
        .map_err(|err| Failure::Invalid(format!("the answer is not JSON: {err}")))?;
    match ctx.format() {
        Format::Ndjson => ctx.print(&json, &[]),
        Format::Table => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", json.pretty())?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_in_order() {
        assert_eq!(path_params("/api/v1/price/{pair}/{size}"), ["pair", "size"]);
        assert!(path_params("/api/v1/pairs").is_empty());
    }
}
