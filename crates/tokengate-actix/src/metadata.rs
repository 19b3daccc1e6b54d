//! [`resource_metadata`]: the verifier's RFC 9728 metadata document as an actix resource.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, Resource, web};
use tokengate::{Verifier, resource::METADATA_PATH};

/// The protected-resource metadata document (RFC 9728) of a verifier configured with
/// [`VerifierBuilder::resource`](tokengate::VerifierBuilder::resource), as a resource at its
/// path (the path-inserted form for a resource with a path) answering `GET`; without a
/// resource it answers 404. One line: `App::new().service(resource_metadata(&verifier))`.
#[must_use]
pub fn resource_metadata(verifier: &Verifier) -> Resource {
    let (path, answer) = match verifier.resource_metadata() {
        Some((path, response)) => (path.to_owned(), Some(response)),
        None => (METADATA_PATH.to_owned(), None),
    };
    web::resource(path).route(web::get().to(move || {
        let answer = answer.clone();
        async move {
            match answer {
                Some(document) => {
                    let mut response = HttpResponse::Ok();
                    for (name, value) in document.headers() {
                        response.insert_header((name.as_str(), value.as_bytes()));
                    }
                    response.body(document.into_body())
                }
                None => HttpResponse::new(StatusCode::NOT_FOUND),
            }
        }
    }))
}
