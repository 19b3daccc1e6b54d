//! Carrying the core's answers into actix-web responses.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use tokengate::{ErrorKind, Rejection, RequestHeaders};

/// actix-web's header map, searched with the core's extraction rules.
pub(crate) struct ActixHeaders<'a>(pub(crate) &'a header::HeaderMap);

impl RequestHeaders for ActixHeaders<'_> {
    fn header_values<'h>(&'h self, name: &str) -> impl Iterator<Item = &'h [u8]> {
        self.0.get_all(name).map(HeaderValue::as_bytes)
    }
}

/// The query string, if the request has one.
pub(crate) fn query(request: &actix_web::HttpRequest) -> Option<&str> {
    Some(request.query_string()).filter(|q| !q.is_empty())
}

/// The response for `rejection`: the core's status and headers, a plain-text body.
pub(crate) fn http_response(rejection: &Rejection) -> HttpResponse {
    let status = StatusCode::from_u16(rejection.status().as_u16())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"));
    for (name, value) in rejection.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            response.insert_header((name, value));
        }
    }
    response.body(rejection.description())
}

/// Logs a wiring bug (no verifier) at error level.
pub(crate) fn log(kind: ErrorKind) {
    if kind == ErrorKind::VerifierNotConfigured {
        tracing::error!(
            target: "tokengate::actix",
            "a route requires a verified token but no tokengate Verifier is configured: add the \
             TokengateAuth middleware or `.app_data(verifier)`"
        );
    }
}
