//! Carrying the core's [`Answer`] into an HTTP (or gRPC) response, unchanged.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderName, Request, Response, StatusCode};
use http_body_util::Full;
use tokengate::Answer;

use crate::body::AuthBody;

/// The response for `answer` to `request`: gRPC for gRPC requests, else HTTP.
pub(crate) fn answer<R, B>(answer: Answer, request: &Request<R>) -> Response<AuthBody<B>> {
    let response = if is_grpc(request.headers()) {
        grpc_response(&answer)
    } else {
        answer.into_response().map(Full::new)
    };
    response.map(AuthBody::rejection)
}

/// The gRPC response for `answer`: HTTP 200, `grpc-status` UNAUTHENTICATED (16),
/// PERMISSION_DENIED (7), INVALID_ARGUMENT (3), UNAVAILABLE (14) or INTERNAL (13), and the
/// challenge in the `www-authenticate` metadata.
pub(crate) fn grpc_response(answer: &Answer) -> Response<Full<Bytes>> {
    let code: u8 = match answer.status() {
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
    let message = answer.description().replace(' ', "%20");
    if let Ok(message) = HeaderValue::try_from(message) {
        headers.insert(HeaderName::from_static("grpc-message"), message);
    }
    for (name, value) in answer.challenge_headers() {
        headers.append(name, value.clone());
    }
    response
}

/// Whether a request is gRPC (`content-type: application/grpc...`).
fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}
