//! actix-web extractors: [`Claims`], [`OptionalClaims`] and [`Scoped`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use serde::de::DeserializeOwned;
use tokengate::adapter::Policy;
use tokengate::{Answer, RequiredScopes, StandardClaims, Verified, Verifier};

use crate::response::{self, ActixHeaders};

tokengate::define_rejection!(
    /// A request refused by tokengate. As an actix `ResponseError` it sends the core's
    /// [`Answer`] (status, `WWW-Authenticate`, `Retry-After`, body) unchanged.
    ///
    /// `Debug` and `Display` show only the status and the stable error code.
    AuthRejection
);

impl ResponseError for AuthRejection {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::from_u16(self.answer().status().as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        response::http_response(self.answer())
    }
}

tokengate::claims_extractors!();

/// The verifier for a request: the middleware's, or `app_data` (`Verifier` or
/// `web::Data<Verifier>`). None is a wiring bug (500, logged by the core).
pub(crate) fn verifier_of(request: &HttpRequest) -> Result<Verifier, AuthRejection> {
    request
        .extensions()
        .get::<Verifier>()
        .cloned()
        .or_else(|| request.app_data::<Verifier>().cloned())
        .or_else(|| {
            request
                .app_data::<actix_web::web::Data<Verifier>>()
                .map(|data| Verifier::clone(data))
        })
        .ok_or_else(|| Answer::verifier_not_configured().into())
}

/// The claims for `policy` through the core pipeline (`None` for an anonymous request the
/// policy allows), stored in the request extensions for later extractors.
async fn claims<T>(
    request: HttpRequest,
    policy: Policy,
) -> Result<Option<Verified<T>>, AuthRejection>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    let verifier = verifier_of(&request)?;
    let earlier = request.extensions().get::<Verified<T>>().cloned();
    let headers = ActixHeaders(request.headers());
    let params = response::params(&request);
    let view = response::view(&request, &headers, &params);
    let verified = verifier
        .verified_claims(&view, &policy, earlier.as_ref())
        .await?;
    if let Some(verified) = &verified {
        request.extensions_mut().insert(verified.clone());
    }
    Ok(verified)
}

pub(crate) type ExtractFuture<V> = Pin<Box<dyn Future<Output = Result<V, AuthRejection>>>>;

/// Claims for a route that requires credentials: `Some` whenever the pipeline admits.
pub(crate) async fn required<T>(
    request: HttpRequest,
    policy: Policy,
) -> Result<Claims<T>, AuthRejection>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    let verifier = verifier_of(&request)?;
    let earlier = request.extensions().get::<Verified<T>>().cloned();
    let headers = ActixHeaders(request.headers());
    let params = response::params(&request);
    let view = response::view(&request, &headers, &params);
    let verified = verifier
        .required_claims(&view, &policy, earlier.as_ref())
        .await?;
    request.extensions_mut().insert(verified.clone());
    Ok(Claims(verified))
}

impl<T: DeserializeOwned + Send + Sync + 'static> FromRequest for Claims<T> {
    type Error = AuthRejection;
    type Future = ExtractFuture<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(required::<T>(request.clone(), Policy::new()))
    }
}

/// `None` when the request carries no credentials; verified claims when it carries valid ones;
/// a rejection when it carries bad ones. Use it instead of `Option<Claims>`, which actix-web
/// turns into `None` on *any* error — a forged token would pass as anonymous.
#[derive(Clone)]
pub struct OptionalClaims<T = StandardClaims>(pub Option<Verified<T>>);

impl<T> fmt::Debug for OptionalClaims<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OptionalClaims").field(&self.0).finish()
    }
}

impl<T: DeserializeOwned + Send + Sync + 'static> FromRequest for OptionalClaims<T> {
    type Error = AuthRejection;
    type Future = ExtractFuture<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            claims::<T>(request, Policy::new().optional())
                .await
                .map(OptionalClaims)
        })
    }
}

impl<R: RequiredScopes, T: DeserializeOwned + Send + Sync + 'static> FromRequest for Scoped<R, T> {
    type Error = AuthRejection;
    type Future = ExtractFuture<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let claims = required::<T>(request.clone(), Self::policy());
        Box::pin(async move { Ok(Scoped::new(claims.await?)) })
    }
}
