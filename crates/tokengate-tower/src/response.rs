//! Turning the core's [`Rejection`] into an HTTP (or gRPC) response. The status and headers come
//! from the core and are never changed here; only the body is pluggable.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderName, Response, StatusCode};
use http_body_util::Full;
use tokengate::{ErrorKind, Rejection};

/// Builds the body of a rejection. Closures `Fn(&Rejection) -> (HeaderValue, Bytes)` (content
/// type and body) implement it.
///
/// The status, `WWW-Authenticate` and `Retry-After` are fixed by tokengate: a body cannot
/// change them.
pub trait RejectionBody: Send + Sync + 'static {
    /// The content type and body for `rejection`.
    fn body(&self, rejection: &Rejection) -> (HeaderValue, Bytes);
}

impl<F> RejectionBody for F
where
    F: Fn(&Rejection) -> (HeaderValue, Bytes) + Send + Sync + 'static,
{
    fn body(&self, rejection: &Rejection) -> (HeaderValue, Bytes) {
        self(rejection)
    }
}

/// The default body: the generic, token-free description as `text/plain`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlainText;

impl RejectionBody for PlainText {
    fn body(&self, rejection: &Rejection) -> (HeaderValue, Bytes) {
        (
            HeaderValue::from_static("text/plain; charset=utf-8"),
            Bytes::from_static(rejection.description().as_bytes()),
        )
    }
}

/// An RFC 9457 problem-details body (`application/problem+json`) with the stable error code.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProblemJson;

impl RejectionBody for ProblemJson {
    fn body(&self, rejection: &Rejection) -> (HeaderValue, Bytes) {
        let body = serde_json_like(rejection);
        (
            HeaderValue::from_static("application/problem+json"),
            Bytes::from(body),
        )
    }
}

fn serde_json_like(rejection: &Rejection) -> String {
    // Every value here is a fixed ASCII string chosen by tokengate: no escaping is needed.
    format!(
        "{{\"type\":\"about:blank\",\"status\":{},\"title\":\"{}\",\"code\":\"{}\"}}",
        rejection.status().as_u16(),
        rejection.description(),
        rejection.kind().code()
    )
}

/// A shared rejection body.
#[derive(Clone)]
pub(crate) struct BodyStyle(pub(crate) Arc<dyn RejectionBody>);

impl Default for BodyStyle {
    fn default() -> Self {
        BodyStyle(Arc::new(PlainText))
    }
}

impl fmt::Debug for BodyStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RejectionBody")
    }
}

/// The HTTP response for `rejection`.
pub(crate) fn http_response(
    rejection: &Rejection,
    style: &dyn RejectionBody,
) -> Response<Full<Bytes>> {
    let (content_type, body) = style.body(rejection);
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = rejection.status();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, content_type);
    for (name, value) in rejection.headers() {
        headers.insert(name, value.clone());
    }
    response
}

/// The gRPC response for `rejection`: HTTP 200, `grpc-status` UNAUTHENTICATED (16),
/// PERMISSION_DENIED (7), INVALID_ARGUMENT (3), UNAVAILABLE (14) or INTERNAL (13), and the
/// challenge in the `www-authenticate` metadata.
pub(crate) fn grpc_response(rejection: &Rejection) -> Response<Full<Bytes>> {
    let code: u8 = match rejection.status() {
        StatusCode::FORBIDDEN => 7,
        StatusCode::BAD_REQUEST => 3,
        StatusCode::SERVICE_UNAVAILABLE => 14,
        StatusCode::INTERNAL_SERVER_ERROR => 13,
        _ => 16,
    };
    let mut response = Response::new(Full::new(Bytes::new()));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(
        HeaderName::from_static("grpc-status"),
        HeaderValue::from(u16::from(code)),
    );
    // The description is fixed ASCII without characters grpc-message would percent-encode
    // other than spaces.
    let message = rejection.description().replace(' ', "%20");
    if let Ok(message) = HeaderValue::try_from(message) {
        headers.insert(HeaderName::from_static("grpc-message"), message);
    }
    for (name, value) in rejection.headers() {
        headers.insert(name, value.clone());
    }
    response
}

/// Whether a request is gRPC (`content-type: application/grpc...`).
pub(crate) fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// Logs a wiring bug (no verifier) at error level; other rejections at debug.
pub(crate) fn log(kind: ErrorKind) {
    if kind == ErrorKind::VerifierNotConfigured {
        tracing::error!(
            target: "tokengate::tower",
            "a route requires a verified token but no tokengate Verifier is configured: add the \
             AuthLayer, an Extension(Verifier), or a Verifier in the router state"
        );
    }
}
