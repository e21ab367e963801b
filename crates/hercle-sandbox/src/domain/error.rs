//! Errors the sandbox answers with, in the documented shapes.

use hercle_models::{ErrorBody, RestErrorDetail, RestErrorDocs};

/// What went wrong with a call; decides the HTTP status and the hub subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Arguments failed validation: 400, hub `preChecksError`.
    Validation,
    /// Well-formed arguments that break a rule the description's schema
    /// cannot state (a date range, a pair's size limits, an unknown pair or
    /// token): 422, hub `preChecksError`.
    Rule,
    /// The operation could not be done (funds, whitelist, state): 422, hub
    /// `<prefix>.error`.
    Failed,
    /// The resource already exists: 409, hub `<prefix>.error`.
    Conflict,
    /// Unknown id: 404, hub `<prefix>.error`.
    NotFound,
    /// Missing or invalid key: 401.
    Unauthenticated,
    /// KYC or permissions: 403.
    Forbidden,
    /// The path is served, with other methods: 405.
    MethodNotAllowed,
    /// Rate limit: 429.
    RateLimited,
    /// Injected server failure.
    Server(u16),
}

/// An error answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// Kind, which gives the status.
    pub kind: ErrorKind,
    /// Machine-readable code (`invalid_request`, `insufficient_funds`, …).
    pub code: &'static str,
    /// Human-readable text; never contains secrets.
    pub message: String,
    /// The offending parameter, when there is one.
    pub param: Option<String>,
}

impl ApiError {
    /// A validation failure on `param`.
    pub fn invalid(param: &str, message: impl Into<String>) -> Self {
        ApiError {
            kind: ErrorKind::Validation,
            code: "invalid_request",
            message: message.into(),
            param: Some(param.to_owned()),
        }
    }

    /// A required parameter is missing.
    pub fn missing(param: &str) -> Self {
        ApiError {
            kind: ErrorKind::Validation,
            code: "missing_parameter",
            message: format!("Missing required parameter: {param}"),
            param: Some(param.to_owned()),
        }
    }

    /// Well-formed `param` that breaks a rule outside the schema.
    pub fn rule(param: &str, message: impl Into<String>) -> Self {
        ApiError {
            kind: ErrorKind::Rule,
            code: "invalid_request",
            message: message.into(),
            param: Some(param.to_owned()),
        }
    }

    /// The resource already exists.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            kind: ErrorKind::Conflict,
            code,
            message: message.into(),
            param: None,
        }
    }

    /// The operation failed for a business reason.
    pub fn failed(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            kind: ErrorKind::Failed,
            code,
            message: message.into(),
            param: None,
        }
    }

    /// No such resource.
    pub fn not_found(what: &str, id: &str) -> Self {
        ApiError {
            kind: ErrorKind::NotFound,
            code: "not_found",
            message: format!("{what} {id} not found"),
            param: None,
        }
    }

    /// HTTP status for REST: 400 only for what breaks the description's
    /// schema; 422 and 409 for valid requests refused (docs errors page).
    pub fn status(&self) -> u16 {
        match self.kind {
            ErrorKind::Validation => 400,
            ErrorKind::Rule | ErrorKind::Failed => 422,
            ErrorKind::Conflict => 409,
            ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::RateLimited => 429,
            ErrorKind::Server(s) => s,
        }
    }

    /// The docs' error body: `{"error":{"code","message","param","type"}}`.
    pub fn body(&self) -> ErrorBody {
        let r#type = match self.kind {
            ErrorKind::Unauthenticated => "authentication_error",
            ErrorKind::Forbidden => "permission_error",
            ErrorKind::RateLimited => "rate_limit_error",
            ErrorKind::Server(_) => "api_error",
            _ => "invalid_request_error",
        };
        ErrorBody::RestErrorDocs(RestErrorDocs {
            error: Some(RestErrorDetail {
                code: Some(self.code.to_owned()),
                message: Some(self.message.clone()),
                param: self.param.clone(),
                r#type: Some(r#type.to_owned()),
                ..Default::default()
            }),
            ..Default::default()
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status(), self.code, self.message)
    }
}

impl std::error::Error for ApiError {}
