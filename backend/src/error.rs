//! One error type for the whole HTTP API, rendered as RFC 9457 problem
//! details. Clients branch on `code`, which is part of the API contract:
//! variants may be added, never renamed (docs/API-DESIGN.md lists them).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError, error};
use serde::Serialize;
use std::fmt;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Stable machine-readable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    InvalidJson,
    UnsupportedMediaType,
    PayloadTooLarge,
    RequestTimeout,
    IdempotencyKeyRequired,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    RequestInProgress,
    IdempotencyKeyReused,
    Unprocessable,
    RateLimited,
    Internal,
    Unavailable,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 17] = [
        ErrorCode::BadRequest,
        ErrorCode::InvalidJson,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::PayloadTooLarge,
        ErrorCode::RequestTimeout,
        ErrorCode::IdempotencyKeyRequired,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::RequestInProgress,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::Unprocessable,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::IdempotencyKeyRequired => "idempotency_key_required",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RequestInProgress => "request_in_progress",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::Unprocessable => "unprocessable",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest | ErrorCode::InvalidJson | ErrorCode::IdempotencyKeyRequired => {
                StatusCode::BAD_REQUEST
            }
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict | ErrorCode::RequestInProgress => StatusCode::CONFLICT,
            ErrorCode::IdempotencyKeyReused | ErrorCode::Unprocessable => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The short human title; constant per code, as RFC 9457 §3.1.3 asks.
    pub fn title(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::InvalidJson => "Invalid JSON body",
            ErrorCode::UnsupportedMediaType => "Unsupported media type",
            ErrorCode::PayloadTooLarge => "Request body too large",
            ErrorCode::RequestTimeout => "Request body too slow",
            ErrorCode::IdempotencyKeyRequired => "Idempotency-Key header required",
            ErrorCode::Unauthenticated => "Authentication required",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::NotFound => "Not found",
            ErrorCode::MethodNotAllowed => "Method not allowed",
            ErrorCode::Conflict => "Conflict",
            ErrorCode::RequestInProgress => "Request already in progress",
            ErrorCode::IdempotencyKeyReused => "Idempotency-Key reused with a different request",
            ErrorCode::Unprocessable => "Unprocessable request",
            ErrorCode::RateLimited => "Too many requests",
            ErrorCode::Internal => "Internal error",
            ErrorCode::Unavailable => "Service unavailable",
        }
    }

    /// The closest code for a bare status, for errors raised by actix itself.
    fn from_status(status: StatusCode) -> ErrorCode {
        match status.as_u16() {
            401 => ErrorCode::Unauthenticated,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            408 => ErrorCode::RequestTimeout,
            409 => ErrorCode::Conflict,
            413 => ErrorCode::PayloadTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            422 => ErrorCode::Unprocessable,
            429 => ErrorCode::RateLimited,
            503 => ErrorCode::Unavailable,
            400..=499 => ErrorCode::BadRequest,
            _ => ErrorCode::Internal,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One invalid input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// For a bulk request, the 0-based index of the row at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    /// The field, as a JSON member name or dotted path.
    pub field: String,
    pub message: String,
}

/// RFC 9457 problem details, with the stable `code` extension member.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:scf:problem:not_found",
    "title": "Not found",
    "status": 404,
    "detail": "no route for GET /v1/nope",
    "code": "not_found"
}))]
pub struct Problem {
    /// `urn:scf:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: ErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// The error every handler returns.
///
/// `detail` is sent to the client; `source` (internal errors only) is logged
/// and never sent, since it may name files, queries or configuration.
pub struct ApiError {
    code: ErrorCode,
    detail: String,
    instance: Option<String>,
    errors: Option<Vec<FieldError>>,
    source: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        ApiError {
            code,
            detail: detail.into(),
            instance: None,
            errors: None,
            source: None,
        }
    }

    /// A 500 whose cause is logged but not shown.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        ApiError {
            source: Some(source.into()),
            ..ApiError::new(ErrorCode::Internal, GENERIC_INTERNAL)
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::BadRequest, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::NotFound, detail)
    }

    pub fn unprocessable(detail: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::Unprocessable, detail)
    }

    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = Some(errors);
        self
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:scf:problem:{}", self.code),
            title: self.code.title().to_owned(),
            status: self.code.status().as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            instance: self.instance.clone(),
            errors: self.errors.clone(),
        }
    }
}

const GENERIC_INTERNAL: &str = "an internal error occurred; it has been logged";

impl fmt::Debug for ApiError {
    /// Prints the whole cause chain so a log line explains an internal error.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)?;
        if let Some(src) = &self.source {
            write!(f, ": {src:#}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e.as_ref() as _)
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::internal(e)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        if self.code.status().is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        problem_response(&self.problem())
    }
}

fn problem_response(problem: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match serde_json::to_vec(problem) {
        Ok(body) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
            .body(body),
        // Unreachable for this plain struct; still answer with the status.
        Err(_) => HttpResponse::new(status),
    }
}

/// `JsonConfig` error handler: body errors become problem details that say
/// what was wrong (serde's message names the line, column and field).
pub fn json_error(err: error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use error::JsonPayloadError as E;
    let api = match &err {
        E::OverflowKnownLength { length, limit } => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("body is {length} bytes; the limit is {limit}"),
        ),
        E::Overflow { limit } => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("body is larger than the limit of {limit} bytes"),
        ),
        E::ContentType => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "expected Content-Type: application/json",
        ),
        E::Deserialize(e) => ApiError::new(ErrorCode::InvalidJson, e.to_string()),
        E::Payload(error::PayloadError::Overflow) => {
            ApiError::new(ErrorCode::PayloadTooLarge, "body is larger than the limit")
        }
        other => ApiError::bad_request(format!("could not read the body: {other}")),
    };
    api.into()
}

pub fn query_error(err: error::QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request(format!("invalid query string: {err}")).into()
}

pub fn path_error(err: error::PathError, req: &HttpRequest) -> actix_web::Error {
    // A documented path without parameters asked for under another method
    // is routed to a sibling `{id}` resource (GET /v1/invoices/batches to
    // GET /v1/invoices/{id}) and fails here; its answer is still 405.
    let literal = req
        .app_data::<actix_web::web::Data<crate::routes::AllowedMethods>>()
        .and_then(|a| a.for_literal(req.path()))
        .filter(|allow| !allow.split(", ").any(|m| m == req.method().as_str()));
    if let Some(allow) = literal {
        let res = method_not_allowed(req.method(), req.path(), allow);
        return error::InternalError::from_response(err, res).into();
    }
    ApiError::not_found(format!("invalid path parameter: {err}")).into()
}

/// 405 problem details with the `Allow` header.
fn method_not_allowed(method: &actix_web::http::Method, path: &str, allow: &str) -> HttpResponse {
    let mut res = ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{method} is not allowed on {path}; use {allow}"),
    )
    .error_response();
    if let Ok(v) = HeaderValue::from_str(allow) {
        res.headers_mut().insert(header::ALLOW, v);
    }
    res
}

/// Fallback for error responses produced outside our handlers (no route,
/// wrong method, payload errors of other extractors): rewrites them as
/// problem details, so every error a client sees has one shape.
pub fn problem_fallback<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .response()
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let code = ErrorCode::from_status(status);
    let detail = if status.is_server_error() {
        if let Some(e) = res.response().error() {
            tracing::error!(error = %e, "request failed");
        }
        GENERIC_INTERNAL.to_owned()
    } else if status == StatusCode::NOT_FOUND {
        format!(
            "no route for {} {}",
            res.request().method(),
            res.request().path()
        )
    } else if status == StatusCode::METHOD_NOT_ALLOWED {
        format!(
            "{} is not allowed on {}",
            res.request().method(),
            res.request().path()
        )
    } else {
        res.response()
            .error()
            .map_or_else(|| code.title().to_owned(), ToString::to_string)
    };
    let problem = Problem {
        status: status.as_u16(),
        ..ApiError::new(code, detail).problem()
    };
    let (req, old) = res.into_parts();
    let mut new: HttpResponse<BoxBody> = problem_response(&problem);
    // Keep headers such as Allow (405) and Retry-After (429).
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    new.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}

/// For `default_service`: unknown routes are 404 problem details. A path
/// that exists under another method is 405 with `Allow`: the route macros
/// guard whole resources, so actix itself would answer 404 there.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let (method, path) = (req.method(), req.path());
    let documented = req
        .app_data::<actix_web::web::Data<crate::routes::AllowedMethods>>()
        .and_then(|a| a.for_path(path));
    // The few routes outside the OpenAPI document (/metrics, /openapi.json,
    // /docs) answer GET only.
    let allow = documented.or_else(|| req.resource_map().has_resource(path).then_some("GET"));
    let Some(allow) = allow else {
        return Err(ApiError::not_found(format!("no route for {method} {path}")));
    };
    Ok(method_not_allowed(method, path, allow))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn codes_are_snake_case_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            let json = serde_json::to_value(c).unwrap();
            assert_eq!(json, c.as_str());
            assert!(seen.insert(c.as_str()));
            assert!(
                c.as_str()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_')
            );
        }
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let e = ApiError::internal(anyhow::anyhow!("password=hunter2 in /etc/scf.toml"));
        let body = serde_json::to_string(&e.problem()).unwrap();
        assert!(!body.contains("hunter2"), "{body}");
        assert!(format!("{e:?}").contains("hunter2"));
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn problem_has_rfc9457_members() {
        let p = ApiError::unprocessable("bad intent")
            .with_errors(vec![FieldError {
                row: None,
                field: "intent".into(),
                message: "not canonical".into(),
            }])
            .problem();
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["type"], "urn:scf:problem:unprocessable");
        assert_eq!(v["status"], 422);
        assert_eq!(v["code"], "unprocessable");
        assert_eq!(v["errors"][0]["field"], "intent");
        assert!(v.get("instance").is_none());
    }
}
