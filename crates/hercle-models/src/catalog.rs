//! The API's shape as data: every REST endpoint, hub method and webhook
//! event of the description, for the layers above (REST client, hub client,
//! sandbox router, coverage docs). The tables themselves are generated:
//! [`ENDPOINTS`](crate::ENDPOINTS), [`HUB_METHODS`](crate::HUB_METHODS),
//! [`WEBHOOK_EVENTS`](crate::WEBHOOK_EVENTS).

/// HTTP method of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HttpMethod {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE` (with a JSON body on this API, quirk 18)
    Delete,
}

impl HttpMethod {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
        }
    }
}

/// How an endpoint pages its results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pagination {
    /// One response holds everything.
    None,
    /// `/{startDate}/{endDate}/{page}/{pageSize}` path segments (page 0-based, size 5–50).
    Offset,
    /// `?pageSize=&paginationToken=` with `{payload, paginationToken}` responses.
    Cursor,
}

/// How sure the description is about an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Confidence {
    /// Explicit schema in the docs or the Postman collection.
    Documented,
    /// Documented, but part of the schema could not be read.
    Partial,
    /// Known only from an example payload.
    ExampleOnly,
    /// Derived by analogy; not seen in any source.
    Inferred,
}

/// A query parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryParam {
    /// Name on the wire.
    pub name: &'static str,
    /// Whether the API requires it.
    pub required: bool,
}

/// An endpoint matched by [`Endpoint::route`] and its path parameters in
/// template order.
pub type Route<'p> = (&'static Endpoint, Vec<(&'static str, &'p str)>);

/// One REST endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Stable name, e.g. `PlaceOtcOrder`.
    pub operation_id: &'static str,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path template with `{param}` segments.
    pub path: &'static str,
    /// Area of the API (`orders`, `banking`, …).
    pub domain: &'static str,
    /// Documented success statuses.
    pub success: &'static [u16],
    /// Name of the request body type, if any.
    pub request: Option<&'static str>,
    /// Name of the success body type, if any.
    pub response: Option<&'static str>,
    /// Query parameters.
    pub query: &'static [QueryParam],
    /// Honours the `Client-Id` idempotency header.
    pub idempotent: bool,
    /// Paging style.
    pub pagination: Pagination,
    /// Longest documented date range for offset paging.
    pub max_range_days: Option<u32>,
    /// Exists only in the sandbox environment.
    pub sandbox_only: bool,
    /// How well the docs describe it.
    pub confidence: Confidence,
}

impl Endpoint {
    /// The endpoint with this operation id.
    pub fn find(operation_id: &str) -> Option<&'static Endpoint> {
        crate::ENDPOINTS
            .iter()
            .find(|e| e.operation_id == operation_id)
    }

    /// Finds the endpoint serving `method` and `path` (no query string), and
    /// the path parameters in template order. Literal segments win over
    /// parameters, so `/withdrawals/address` is not read as a client id.
    ///
    /// ```
    /// use hercle_models::catalog::{Endpoint, HttpMethod};
    /// let (e, params) = Endpoint::route(HttpMethod::Get, "/api/v1/price/BTCUSDT/1.5").unwrap();
    /// assert_eq!(e.operation_id, "GetPairPrice");
    /// assert_eq!(params, [("pair", "BTCUSDT"), ("size", "1.5")]);
    /// ```
    pub fn route<'p>(method: HttpMethod, path: &'p str) -> Option<Route<'p>> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let mut best: Option<(usize, Route<'p>)> = None;
        for e in crate::ENDPOINTS.iter().filter(|e| e.method == method) {
            let template: Vec<&'static str> = e.path.split('/').collect();
            if template.len() != segments.len() {
                continue;
            }
            let mut literals = 0;
            let mut params = Vec::new();
            let matched = template.iter().zip(&segments).all(|(t, s)| {
                match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                    Some(name) if !s.is_empty() => {
                        params.push((name, *s));
                        true
                    }
                    Some(_) => false,
                    None => {
                        literals += 1;
                        t == s
                    }
                }
            });
            if matched && best.as_ref().is_none_or(|(n, _)| literals > *n) {
                best = Some((literals, (e, params)));
            }
        }
        best.map(|(_, route)| route)
    }
}

/// Why [`Endpoint::render`] could not build a path.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenderError {
    /// No value was given for this `{param}`.
    Missing(&'static str),
    /// The value for this `{param}` is empty: it would change the route.
    Empty(&'static str),
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenderError::Missing(p) => write!(f, "path parameter {p} is missing"),
            RenderError::Empty(p) => write!(f, "path parameter {p} is empty"),
        }
    }
}

impl std::error::Error for RenderError {}

impl Endpoint {
    /// Fills the path template with `values` (by parameter name), each
    /// percent-encoded as one segment: the inverse of [`Endpoint::route`]
    /// followed by percent-decoding.
    ///
    /// ```
    /// use hercle_models::catalog::{Endpoint, HttpMethod};
    /// let e = Endpoint::find("GetOrdersByClientId").unwrap();
    /// let path = e.render(&[("clientId", "a/b c")]).unwrap();
    /// assert_eq!(path, "/api/v1/orders/a%2Fb%20c");
    /// let (found, params) = Endpoint::route(HttpMethod::Get, &path).unwrap();
    /// assert_eq!((found.operation_id, params), ("GetOrdersByClientId", vec![("clientId", "a%2Fb%20c")]));
    /// ```
    pub fn render(&self, values: &[(&str, &str)]) -> Result<String, RenderError> {
        let mut out = String::with_capacity(self.path.len() + 16);
        for (i, segment) in self.path.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                out.push_str(segment);
                continue;
            };
            let value = values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| *v)
                .ok_or(RenderError::Missing(name))?;
            if value.is_empty() {
                return Err(RenderError::Empty(name));
            }
            if value.bytes().all(|b| b == b'.') {
                // `.` and `..` are dot segments a URL normaliser would remove.
                for _ in 0..value.len() {
                    out.push_str("%2E");
                }
            } else {
                crate::operation::encode_component(value, &mut out);
            }
        }
        Ok(out)
    }
}

/// The JSON kind of a hub method argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArgKind {
    /// A string.
    String,
    /// An ISO-8601 date-time string.
    DateTime,
    /// A decimal number.
    Number,
    /// An integer.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A JSON object of string values.
    Object,
    /// The value of the named open enum.
    Enum(&'static str),
    /// The inner kind, or `null`.
    Nullable(&'static ArgKind),
}

/// One ordered hub method argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HubArgument {
    /// Name in the docs' argument table.
    pub name: &'static str,
    /// Its JSON kind.
    pub kind: ArgKind,
}

/// One hub method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HubMethod {
    /// Name to invoke, e.g. `PlaceOtcOrder`.
    pub name: &'static str,
    /// Docs grouping (`general`, `trading`, …).
    pub group: &'static str,
    /// Client method the answer arrives on (`executionEvents`, `subscriptions`).
    pub channel: &'static str,
    /// Ordered arguments; the first is always the caller's ClientId.
    pub arguments: &'static [HubArgument],
    /// Success subjects of the answer's envelope (empty when undocumented).
    pub subjects: &'static [&'static str],
    /// Name of the `data` type of the answer, if any.
    pub data: Option<&'static str>,
    /// How well the docs describe it.
    pub confidence: Confidence,
}

impl HubMethod {
    /// The hub method with this name.
    pub fn find(name: &str) -> Option<&'static HubMethod> {
        crate::HUB_METHODS.iter().find(|m| m.name == name)
    }
}

/// One webhook event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebhookEventInfo {
    /// `EventType` on the wire.
    pub event_type: &'static str,
    /// When it is sent.
    pub summary: &'static str,
    /// Name of the `Data` type, when known.
    pub data: Option<&'static str>,
    /// Whether the name itself is documented or inferred.
    pub confidence: Confidence,
}
