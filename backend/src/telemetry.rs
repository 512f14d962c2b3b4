//! Logging and request ids.
//!
//! Every request gets a server-made UUID as `request_id` on its root span
//! (tracing-actix-web). A client may send its own `X-Request-Id`; it is
//! recorded as `client_request_id` and echoed back, so both sides can find
//! the same request in their logs. Without one, the response carries the
//! server's id.

use crate::config::LogFormat;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use std::io::IsTerminal;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client request id we keep; longer ones are ignored rather than
/// cut, since a truncated id would not match the client's logs anyway.
const MAX_CLIENT_ID_LEN: usize = 128;

/// Installs the global subscriber. Fails if one is already installed.
pub fn init(filter: &str, format: LogFormat) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter)?;
    // Closing the request span gives one line per request with its latency.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}

/// A client id is kept only if it is short printable ASCII, so it cannot
/// forge log lines or bloat them.
fn client_request_id(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let ok =
        !v.is_empty() && v.len() <= MAX_CLIENT_ID_LEN && v.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(v)
}

/// The root span: tracing-actix-web's fields plus `client_request_id`.
#[derive(Debug, Clone, Copy)]
pub struct ScfRootSpan;

impl RootSpanBuilder for ScfRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let client = client_request_id(request.headers()).unwrap_or("");
        tracing_actix_web::root_span!(request, client_request_id = %client)
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Middleware (inside `TracingLogger`) that sets `X-Request-Id` on the response.
pub async fn echo_request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let client = client_request_id(req.headers()).map(str::to_owned);
    let server = req.extensions().get::<RequestId>().map(|id| id.to_string());
    let mut res = next.call(req).await?;
    if let Some(id) = client.or(server)
        && let Ok(value) = HeaderValue::from_str(&id)
    {
        res.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn client_ids_are_filtered() {
        let mut h = HeaderMap::new();
        assert_eq!(client_request_id(&h), None);
        h.insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc-123"));
        assert_eq!(client_request_id(&h), Some("abc-123"));
        h.insert(REQUEST_ID_HEADER, HeaderValue::from_static("a b"));
        assert_eq!(client_request_id(&h), None);
        let long = "x".repeat(MAX_CLIENT_ID_LEN + 1);
        h.insert(REQUEST_ID_HEADER, HeaderValue::from_str(&long).unwrap());
        assert_eq!(client_request_id(&h), None);
    }
}
