//! Carrying the core's [`Answer`] into actix-web responses, and actix requests into the core's
//! [`RequestView`].

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use tokengate::Answer;
use tokengate::adapter::{RequestHeaders, RequestView};

/// actix-web's header map, read by the core's pipeline.
pub(crate) struct ActixHeaders<'a>(pub(crate) &'a header::HeaderMap);

impl RequestHeaders for ActixHeaders<'_> {
    fn header_values<'h>(&'h self, name: &str) -> impl Iterator<Item = &'h [u8]> {
        self.0.get_all(name).map(HeaderValue::as_bytes)
    }
}

/// The core's view of an actix request.
pub(crate) fn view<'a>(
    request: &'a HttpRequest,
    headers: &'a ActixHeaders<'a>,
) -> RequestView<'a, ActixHeaders<'a>> {
    let uri = request.uri();
    let authority = uri.authority().map(|a| a.as_str());
    RequestView::new(request.method().as_str(), uri.path(), uri.query(), headers)
        .origin(uri.scheme_str(), authority)
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
            response.insert_header((name, value));
        }
    }
    response.body(answer.body().clone())
}
