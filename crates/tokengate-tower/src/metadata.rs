//! [`ResourceMetadata`]: the verifier's RFC 9728 metadata document as a tower service.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tokengate::{Verifier, resource::METADATA_PATH};
use tower_service::Service;

/// Serves the protected-resource metadata document (RFC 9728) of a verifier configured with
/// [`VerifierBuilder::resource`](tokengate::VerifierBuilder::resource), to `GET` and `HEAD`;
/// without a resource it answers 404. Mount it at [`path`](ResourceMetadata::path), which is
/// the path-inserted form for a resource with a path:
///
/// ```
/// # use tokengate_tower::{ResourceMetadata, Verifier};
/// # fn app(verifier: Verifier) -> axum::Router {
/// let metadata = ResourceMetadata::new(&verifier);
/// axum::Router::new().route_service(metadata.path(), metadata.clone())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ResourceMetadata {
    path: String,
    response: Option<Response<Bytes>>,
}

impl ResourceMetadata {
    /// The metadata of `verifier`'s resource.
    #[must_use]
    pub fn new(verifier: &Verifier) -> ResourceMetadata {
        match verifier.resource_metadata() {
            Some((path, response)) => ResourceMetadata {
                path: path.to_owned(),
                response: Some(response),
            },
            None => ResourceMetadata {
                path: METADATA_PATH.to_owned(),
                response: None,
            },
        }
    }

    /// Where to mount it.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl<B> Service<Request<B>> for ResourceMetadata {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let status = match (&self.response, request.method()) {
            (Some(_), &Method::GET | &Method::HEAD) => None,
            (Some(_), _) => Some(StatusCode::METHOD_NOT_ALLOWED),
            (None, _) => Some(StatusCode::NOT_FOUND),
        };
        let response = match (status, &self.response) {
            (None, Some(document)) => document.clone().map(Full::new),
            (status, _) => {
                let mut response = Response::new(Full::new(Bytes::new()));
                *response.status_mut() = status.unwrap_or(StatusCode::NOT_FOUND);
                response
            }
        };
        ready(Ok(response))
    }
}
