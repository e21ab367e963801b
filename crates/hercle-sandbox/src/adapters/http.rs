//! What every HTTP adapter shares: the response body type, a [`Reply`]
//! turned into a hyper response, the error body, query-string and path
//! decoding.

use crate::app::Reply;
use crate::domain::error::ApiError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderValue;
use hyper::{Response, StatusCode};

/// A response body: whole, or an event stream.
pub(crate) type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

/// The documented error answer for `err`.
pub(crate) fn error_reply(err: &ApiError) -> Reply {
    Reply::json(err.status(), &err.body())
}

/// A [`Reply`] as hyper's response (JSON unless it says otherwise).
pub(crate) fn into_response(reply: Reply) -> Response<Body> {
    let mut b = Response::builder().status(reply.status);
    if !reply.headers.iter().any(|(k, _)| *k == "content-type") {
        b = b.header("content-type", "application/json; charset=utf-8");
    }
    for (k, v) in &reply.headers {
        b = b.header(*k, v);
    }
    b.body(Full::new(Bytes::from(reply.body)).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

/// Decoded query parameters, first occurrence wins.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(query: Option<&str>) -> Query {
        let pairs = query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Query(pairs)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Decodes one path segment: like [`percent_decode`] but `+` stays a plus
/// (only forms turn it into a space), so `+01:00` offsets and `1e+8` survive.
pub(crate) fn path_decode(s: &str) -> String {
    percent_decode(&s.replace('+', "%2B"))
}

/// `application/x-www-form-urlencoded` decoding; malformed escapes are kept
/// as they are rather than rejected (a bad token then simply fails auth).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
        match b {
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(h), Some(l)) => {
                    // Two hex digits: at most 255.
                    out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An error as the documented JSON answer.
pub(crate) fn api_error(err: &ApiError) -> Response<Body> {
    into_response(error_reply(err))
}

/// A JSON answer.
pub(crate) fn json(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    response(status, "application/json", body)
}

/// A plain-text answer.
pub(crate) fn text(status: StatusCode, body: &str) -> Response<Body> {
    response(
        status,
        "text/plain; charset=utf-8",
        body.as_bytes().to_vec(),
    )
}

/// An answer with this content type.
pub(crate) fn response(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(body)).boxed());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decodes_and_keeps_first() {
        let q = Query::parse(Some("id=a%2Bb&access_token=x+y&id=c&flag"));
        assert_eq!(q.get("id"), Some("a+b"));
        assert_eq!(q.get("access_token"), Some("x y"));
        assert_eq!(q.get("flag"), Some(""));
        assert_eq!(q.get("none"), None);
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
