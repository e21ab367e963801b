//! Typed REST operations from the description: `hercle_models::ops` (one
//! marker type per operation implementing `Operation`, its path and query
//! types, the paging traits, the exhaustive `OperationId`) and the REST
//! client's convenience methods (`crates/hercle-rest/src/generated.rs`), so
//! that no endpoint is wired by hand.

use crate::codegen::{HEADER, IdEnum, id_enum, rustfmt};
use crate::spec::{Spec, ident, ref_name, snake, str_of};
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Where the client's generated methods live; coverage reads it too.
pub(crate) const CLIENT_FILE: &str = "crates/hercle-rest/src/generated.rs";

/// One parameter of an operation.
struct Param {
    name: String,
    field: String,
    ty: String,
    required: bool,
    /// The schema's `maximum`, for integers (a page size's upper bound).
    maximum: Option<i64>,
}

/// What the generator needs to know about one operation.
struct Op {
    id: String,
    method: String,
    path: String,
    summary: String,
    path_params: Vec<Param>,
    query: Vec<Param>,
    body: Option<String>,
    /// `RequestContent` variant of the request body's media type.
    content: &'static str,
    /// For a multipart body: its properties (wire name, field, is a file).
    form: Vec<(String, String, bool)>,
    response: String,
    empty_ok: bool,
    pagination: String,
    /// Element type of the response list (offset) or of `payload` (cursor).
    item: Option<String>,
    /// For a cursor page: the response's schema (it implements
    /// `CursorPage`) and whether `payload` / `paginationToken` are plain
    /// (required) fields rather than options.
    page: Option<(String, bool, bool)>,
}

fn param_type(spec: &Spec, schema: &Value) -> Result<String, String> {
    if let Some(n) = ref_name(schema) {
        return match spec.schema(n) {
            Some(_) => Ok(n.to_owned()),
            None => Err(format!("unknown schema {n}")),
        };
    }
    Ok(match schema.get("type").and_then(Value::as_str) {
        Some("number") => "Decimal".into(),
        Some("integer") => "i64".into(),
        Some("boolean") => "bool".into(),
        _ => "String".into(),
    })
}

fn read_op(spec: &Spec, path: &str, method: &str, o: &Map<String, Value>) -> Result<Op, String> {
    let id = str_of(o, "operationId").to_owned();
    let mut path_params = Vec::new();
    let mut query = Vec::new();
    for p in o
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        // Shared parameters (`Client-Id`) are headers the client sets itself.
        if p.get("$ref").is_some() {
            continue;
        }
        let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
        let param = Param {
            name: name.to_owned(),
            field: ident(&snake(name)),
            ty: param_type(spec, p.get("schema").unwrap_or(&Value::Null))
                .map_err(|e| format!("{id}.{name}: {e}"))?,
            required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
            maximum: p.pointer("/schema/maximum").and_then(Value::as_i64),
        };
        match p.get("in").and_then(Value::as_str) {
            Some("path") => path_params.push(param),
            Some("query") => query.push(param),
            _ => {}
        }
    }
    // Path parameters in template order, which is what `render` follows.
    let order: Vec<&str> = path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .collect();
    if order.len() != path_params.len() {
        return Err(format!("{id}: path template and parameters disagree"));
    }
    path_params.sort_by_key(|p| order.iter().position(|n| *n == p.name));
    let content_map = o
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object);
    let (content, body) = match content_map.and_then(|c| c.iter().next()) {
        None => ("None", None),
        Some((media, v)) => {
            let content = match media.as_str() {
                "application/json" => "Json",
                "multipart/form-data" => "MultipartFormData",
                other => return Err(format!("{id}: request content {other} is not supported")),
            };
            let body = v
                .get("schema")
                .and_then(ref_name)
                .ok_or_else(|| format!("{id}: the request body needs a named schema"))?;
            (content, Some(body.to_owned()))
        }
    };
    if content_map.is_some_and(|c| c.len() > 1) {
        return Err(format!("{id}: one request content type per operation"));
    }
    let mut form = Vec::new();
    if content == "MultipartFormData"
        && let Some(schema) = body.as_deref().and_then(|b| spec.schema(b))
    {
        if schema.get("x-required-in-types").is_some() {
            return Err(format!("{id}: a form body's fields are all optional"));
        }
        for (key, ps) in schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let file = ps.get("format").and_then(Value::as_str) == Some("binary");
            form.push((key.clone(), ident(&snake(key)), file));
        }
    }
    let mut empty_ok = false;
    let mut schema = None;
    for (status, resp) in o
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if status.starts_with('2') {
            empty_ok |= resp
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| d.contains("empty body"));
            schema = schema.or_else(|| resp.pointer("/content/application~1json/schema"));
        }
    }
    let Some(schema) = schema else {
        return Err(format!("{id}: no success body"));
    };
    let pagination = str_of(o, "x-pagination").to_owned();
    let page = match pagination.as_str() {
        "cursor" => ref_name(schema).map(|name| {
            let plain = |field: &str| {
                spec.schema(name).is_some_and(|s| {
                    s.get("x-required-in-types").and_then(Value::as_bool) == Some(true)
                        && s.get("required")
                            .and_then(Value::as_array)
                            .is_some_and(|r| r.iter().any(|f| f.as_str() == Some(field)))
                })
            };
            (name.to_owned(), plain("payload"), plain("paginationToken"))
        }),
        _ => None,
    };
    let item = match pagination.as_str() {
        "offset" => schema.get("items").and_then(ref_name).map(str::to_owned),
        "cursor" => ref_name(schema)
            .and_then(|n| spec.schema(n))
            .and_then(|s| s.pointer("/properties/payload/items"))
            .and_then(ref_name)
            .map(str::to_owned),
        _ => None,
    };
    Ok(Op {
        method: method.to_uppercase(),
        path: path.to_owned(),
        summary: str_of(o, "summary").to_owned(),
        path_params,
        query,
        body,
        content,
        form,
        response: format!("{id}Response"),
        empty_ok,
        pagination,
        item,
        page,
        id,
    })
}

fn read_ops(spec: &Spec) -> Result<Vec<Op>, String> {
    spec.operations()
        .iter()
        .map(|o| read_op(spec, o.path, o.method, o.op))
        .collect()
}

/// Where a named parameter lives, and whether it is required.
fn find<'a>(op: &'a Op, name: &str) -> Option<(&'static str, &'a Param)> {
    op.path_params
        .iter()
        .find(|p| p.name == name)
        .map(|p| ("path", p))
        .or_else(|| {
            op.query
                .iter()
                .find(|p| p.name == name)
                .map(|p| ("query", p))
        })
}

fn setter(op: &Op, name: &str, value: &str) -> Option<String> {
    let (place, p) = find(op, name)?;
    let value = if place == "path" || p.required {
        value.to_owned()
    } else {
        format!("Some({value})")
    };
    Some(format!("input.{place}.{} = {value};", p.field))
}

fn gen_models(spec: &Spec, ops: &[Op]) -> Result<String, String> {
    let mut out = String::from(HEADER);
    out.push_str(
        "//! One type per REST operation of the description, implementing\n\
         //! [`Operation`](crate::operation::Operation), with its path and query types.\n\n\
         #![allow(unused_imports)]\n\n\
         use crate::catalog::Endpoint;\n\
         use crate::operation::*;\n\
         use crate::*;\n\n",
    );
    for server in spec
        .doc
        .get("servers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
    {
        let description = str_of(server, "description");
        let _ = writeln!(
            out,
            "/// Base URL of the {description} environment (the description's `servers`).\npub const SERVER_{}: &str = \"{}\";\n",
            snake(description).to_uppercase(),
            str_of(server, "url")
        );
    }
    id_enum(
        &mut out,
        &IdEnum {
            name: "OperationId",
            doc: "Every REST operation, for matching exhaustively (sandbox, CLI).",
            variants: ops
                .iter()
                .map(|op| (format!("`{} {}`", op.method, op.path), op.id.clone()))
                .collect(),
            what: "operation id",
            accessor: "endpoint",
            table: "crate::ENDPOINTS",
            row: "Endpoint",
        },
    );
    out.push('\n');

    let mut pages = std::collections::BTreeSet::new();
    for op in ops {
        let id = &op.id;
        let _ = writeln!(
            out,
            "/// `{} {}`{}",
            op.method,
            op.path,
            if op.summary.is_empty() || op.summary == *id {
                String::new()
            } else {
                format!(": {}", op.summary)
            }
        );
        let _ = writeln!(
            out,
            "#[derive(Clone, Copy, Debug, PartialEq, Eq)]\npub struct {id};\n"
        );
        let path_ty = if op.path_params.is_empty() {
            "()".to_owned()
        } else {
            // An offset-paged operation's first page is built from defaults
            // (`OffsetPaged::first_page`): its path needs one.
            let default = if op.pagination == "offset" {
                ", Default"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "/// Path parameters of [`{id}`].\n#[derive(Clone, Debug{default}, PartialEq)]\npub struct {id}Path {{"
            );
            for p in &op.path_params {
                let _ = writeln!(
                    out,
                    "    /// `{{{}}}`\n    pub {}: {},",
                    p.name, p.field, p.ty
                );
            }
            let _ = writeln!(
                out,
                "}}\n\nimpl PathParams for {id}Path {{\n    fn values(&self) -> Vec<(&'static str, String)> {{\n        vec![{}]\n    }}\n}}\n",
                op.path_params
                    .iter()
                    .map(|p| format!("(\"{}\", self.{}.to_string())", p.name, p.field))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            format!("{id}Path")
        };
        let query_ty = if op.query.is_empty() {
            "()".to_owned()
        } else {
            let _ = writeln!(
                out,
                "/// Query parameters of [`{id}`].\n#[derive(Clone, Debug, Default, PartialEq)]\npub struct {id}Query {{"
            );
            for p in &op.query {
                let ty = if p.required {
                    p.ty.clone()
                } else {
                    format!("Option<{}>", p.ty)
                };
                let req = if p.required { " (required)" } else { "" };
                let _ = writeln!(out, "    /// `{}`{req}\n    pub {}: {ty},", p.name, p.field);
            }
            let _ = writeln!(
                out,
                "}}\n\nimpl QueryParams for {id}Query {{\n    fn pairs(&self, out: &mut Vec<(&'static str, String)>) {{"
            );
            for p in &op.query {
                if p.required {
                    let _ = writeln!(
                        out,
                        "        out.push((\"{}\", self.{}.to_string()));",
                        p.name, p.field
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "        if let Some(v) = &self.{} {{ out.push((\"{}\", v.to_string())); }}",
                        p.field, p.name
                    );
                }
            }
            out.push_str("    }\n}\n\n");
            format!("{id}Query")
        };
        let response = if op.empty_ok {
            format!("Option<{}>", op.response)
        } else {
            op.response.clone()
        };
        let _ = writeln!(
            out,
            "impl Operation for {id} {{\n    const ID: OperationId = OperationId::{id};\n    const REQUEST_CONTENT: RequestContent = RequestContent::{};\n    const EMPTY_BODY_OK: bool = {};\n    type Path = {path_ty};\n    type Query = {query_ty};\n    type Body = {};\n    type Response = {response};",
            op.content,
            op.empty_ok,
            op.body.as_deref().unwrap_or("()"),
        );
        if op.content == "MultipartFormData" {
            out.push_str("\n    fn form_parts(body: &Self::Body) -> Result<Vec<FormPart<'_>>, serde_json::Error> {\n        let mut parts = Vec::new();\n");
            for (key, field, file) in &op.form {
                let push = if *file {
                    format!("v.part(\"{key}\")")
                } else {
                    format!("FormPart::value(\"{key}\", v)?")
                };
                let _ = writeln!(
                    out,
                    "        if let Some(v) = &body.{field} {{ parts.push({push}); }}"
                );
            }
            out.push_str("        for (k, v) in &body.extra { parts.push(FormPart::value(k.clone(), v)?); }\n        Ok(parts)\n    }\n");
        }
        out.push_str("}\n\n");
        if let (Some(start), Some(end)) = (
            setter(op, "startDate", "start"),
            setter(op, "endDate", "end"),
        ) {
            let _ = writeln!(
                out,
                "impl DateRanged for {id} {{\n    fn set_range(input: &mut Input<Self>, start: String, end: String) {{\n        {start}\n        {end}\n    }}\n}}\n"
            );
        }
        match (op.pagination.as_str(), &op.item) {
            ("offset", Some(item)) => {
                if let (Some(set), Some(first), Some(set_size), Some((place, size))) = (
                    setter(op, "page", "page"),
                    setter(op, "page", "0"),
                    setter(op, "pageSize", "page_size"),
                    find(op, "pageSize"),
                ) {
                    let get = if place == "path" || size.required {
                        format!("Some(input.{place}.{})", size.field)
                    } else {
                        format!("input.{place}.{}", size.field)
                    };
                    let Some(max) = size.maximum else {
                        return Err(format!("{id}: pageSize needs a maximum"));
                    };
                    let _ = writeln!(
                        out,
                        "impl OffsetPaged for {id} {{\n    type Item = {item};\n    const MAX_PAGE_SIZE: i64 = {max};\n    fn first_page(page_size: i64) -> Input<Self> {{\n        let mut input: Input<Self> = Input {{ path: Default::default(), query: Default::default(), body: Default::default() }};\n        {first}\n        {set_size}\n        input\n    }}\n    fn set_page(input: &mut Input<Self>, page: i64) {{\n        {set}\n    }}\n    fn page_size(input: &Input<Self>) -> Option<i64> {{\n        {get}\n    }}\n    fn items(page: Self::Response) -> Vec<{item}> {{\n        page.into_items()\n    }}\n}}\n"
                    );
                }
            }
            ("cursor", Some(item)) => {
                // One impl per page type, however many operations answer it.
                if let Some((page, plain_items, plain_token)) = &op.page
                    && pages.insert(page.clone())
                {
                    let items = if *plain_items { "items" } else { "Some(items)" };
                    let token = if *plain_token {
                        "token.unwrap_or_default()"
                    } else {
                        "token"
                    };
                    let _ = writeln!(
                        out,
                        "impl CursorPage for {page} {{\n    type Item = {item};\n    fn new(items: Vec<{item}>, token: Option<String>) -> Self {{\n        {page} {{ payload: {items}, pagination_token: {token}, ..Default::default() }}\n    }}\n    fn into_parts(self) -> (Vec<{item}>, Option<String>) {{\n        (self.payload.into_items(), self.pagination_token.into_token())\n    }}\n}}\n"
                    );
                }
                if let Some(set) = setter(op, "paginationToken", "token") {
                    // `token` is already an Option: do not wrap it twice.
                    let set = set.replace("Some(token)", "token");
                    let _ = writeln!(
                        out,
                        "impl CursorPaged for {id} {{\n    type Item = {item};\n    fn set_token(input: &mut Input<Self>, token: Option<String>) {{\n        {set}\n    }}\n    fn split(page: Self::Response) -> (Vec<{item}>, Option<String>) {{\n        page.into_parts()\n    }}\n}}\n"
                    );
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn gen_client(ops: &[Op]) -> String {
    let mut out = String::from(HEADER);
    out.push_str(
        "//! One method per REST operation, each a call of [`Client::call`] with the\n\
         //! operation's generated descriptor.\n\n\
         use crate::{Client, Error};\n\
         use hercle_models::operation::{Input, Operation};\n\
         use hercle_models::ops;\n\n\
         impl Client {\n",
    );
    for op in ops {
        let id = &op.id;
        let mut args = Vec::new();
        let path = if op.path_params.is_empty() {
            "path: ()".to_owned()
        } else {
            args.push(format!("path: ops::{id}Path"));
            "path".to_owned()
        };
        let query = if op.query.is_empty() {
            "query: ()".to_owned()
        } else {
            args.push(format!("query: ops::{id}Query"));
            "query".to_owned()
        };
        let body = match &op.body {
            Some(b) => {
                args.push(format!("body: hercle_models::{b}"));
                "body".to_owned()
            }
            None => "body: ()".to_owned(),
        };
        let _ = writeln!(
            out,
            "    /// `{} {}`{}\n    pub async fn {}(&self{}) -> Result<<ops::{id} as Operation>::Response, Error> {{\n        self.call::<ops::{id}>(Input {{ {path}, {query}, {body} }}).await\n    }}\n",
            op.method,
            op.path,
            if op.empty_ok {
                " (`None`: the server answered with an empty body)"
            } else {
                ""
            },
            snake(id),
            args.iter().map(|a| format!(", {a}")).collect::<String>(),
        );
    }
    out.push_str("}\n");
    out
}

/// The generated files: `hercle_models::ops` and the client's methods.
pub(crate) fn generate(spec: &Spec) -> Result<Vec<(PathBuf, String)>, String> {
    let ops = read_ops(spec)?;
    Ok(vec![
        (
            PathBuf::from("crates/hercle-models/src/generated/ops.rs"),
            rustfmt(&gen_models(spec, &ops)?)?,
        ),
        (PathBuf::from(CLIENT_FILE), rustfmt(&gen_client(&ops))?),
    ])
}

/// Whether the generated client has a method calling operation `id`.
pub(crate) fn client_supports(client_source: &str, id: &str) -> bool {
    client_source.contains(&format!("pub async fn {}(", snake(id)))
        && client_source.contains(&format!("self.call::<ops::{id}>("))
}
