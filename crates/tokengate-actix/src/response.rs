//! Carrying the core's [`Answer`] into actix-web responses, and actix requests into the core's
//! [`RequestView`].

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use tokengate::Answer;
use tokengate::adapter::{ConnectionInfo, RequestHeaders, RequestView};

/// actix-web's header map, read by the core's pipeline.
pub(crate) struct ActixHeaders<'a>(pub(crate) &'a header::HeaderMap);

impl RequestHeaders for ActixHeaders<'_> {
    fn header_values<'h>(&'h self, name: &str) -> impl Iterator<Item = &'h [u8]> {
        // The names read on every request go by their constants; a `&str` name is parsed
        // first (as for `http::HeaderMap` in the core).
        let values = match name {
            "authorization" => self.0.get_all(header::AUTHORIZATION),
            "cookie" => self.0.get_all(header::COOKIE),
            "dpop" => self.0.get_all(DPOP),
            _ => self.0.get_all(name),
        };
        values.map(HeaderValue::as_bytes)
    }
}

const DPOP: HeaderName = HeaderName::from_static("dpop");

/// The route's parameters (`match_info`), for custom checks.
pub(crate) fn params(request: &HttpRequest) -> Vec<(&str, &str)> {
    request.match_info().iter().collect()
}

/// The core's view of an actix request.
pub(crate) fn view<'a>(
    request: &'a HttpRequest,
    headers: &'a ActixHeaders<'a>,
    params: &'a [(&'a str, &'a str)],
) -> RequestView<'a, ActixHeaders<'a>> {
    let uri = request.uri();
    let authority = uri.authority().map(|a| a.as_str());
    let connection = request.conn_data::<ConnectionInfo>();
    // The server's own TLS, never the client's forwarding headers (see `TrustedProxies`).
    let scheme = uri
        .scheme_str()
        .or_else(|| request.app_config().secure().then_some("https"));
    RequestView::new(request.method().as_str(), uri.path(), uri.query(), headers)
        .origin(scheme, authority)
        .with_peer(request.peer_addr().map(|peer| peer.ip()))
        .with_client_certificate(connection.and_then(|c| c.client_certificate.as_deref()))
        .with_params(params)
}

/// The response for `answer`: its status, headers and body, unchanged.
pub(crate) fn http_response(answer: &Answer) -> HttpResponse {
    let status =
        StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    for (name, value) in answer.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            response.append_header((name, value));
        }
    }
    response.body(answer.body().clone())
}
