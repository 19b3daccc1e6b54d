//! actix-web extractors: [`Claims`], [`OptionalClaims`] and [`Scoped`].

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use serde::de::DeserializeOwned;
use tokengate::{
    Error, ErrorKind, Policy, Rejection, RequiredScopes, Requirement, StandardClaims, Verified,
    Verifier,
};

use crate::response::{self, ActixHeaders};

/// A request rejected by tokengate. As an actix `ResponseError` it answers with the core's status,
/// `WWW-Authenticate` and `Retry-After` and a plain-text body.
pub struct AuthRejection {
    error: Error,
    rejection: Rejection,
}

impl AuthRejection {
    pub(crate) fn new(error: Error, verifier: Option<&Verifier>) -> AuthRejection {
        response::log(error.kind());
        let rejection = tokengate::challenge::render_with(&error, verifier);
        AuthRejection { error, rejection }
    }

    /// What failed.
    #[must_use]
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The status and headers to answer with.
    #[must_use]
    pub fn rejection(&self) -> &Rejection {
        &self.rejection
    }
}

impl fmt::Debug for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRejection")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::from_u16(self.rejection.status().as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        response::http_response(&self.rejection)
    }
}

/// The verifier for a request: the middleware's, or `app_data` (`Verifier` or
/// `web::Data<Verifier>`).
pub(crate) fn verifier_of(request: &HttpRequest) -> Option<Verifier> {
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
}

async fn verified<T>(
    request: HttpRequest,
    optional: bool,
) -> Result<Option<Verified<T>>, AuthRejection>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    if let Some(verified) = request.extensions().get::<Verified<T>>() {
        return Ok(Some(verified.clone()));
    }
    let Some(verifier) = verifier_of(&request) else {
        return Err(AuthRejection::new(
            Error::from(ErrorKind::VerifierNotConfigured),
            None,
        ));
    };
    let policy = if optional {
        Policy::new().optional()
    } else {
        Policy::new()
    };
    let headers = ActixHeaders(request.headers());
    let token = match policy.admit(verifier.extract_from(&headers, response::query(&request))) {
        Err(error) => return Err(AuthRejection::new(error, Some(&verifier))),
        Ok(None) => return Ok(None),
        Ok(Some(token)) => token.as_str().to_owned(),
    };
    match verifier.verify_cached::<T>(&token).await {
        Ok(verified) => {
            request.extensions_mut().insert(verified.clone());
            Ok(Some(verified))
        }
        Err(error) => Err(AuthRejection::new(error, Some(&verifier))),
    }
}

type ExtractFuture<V> = Pin<Box<dyn Future<Output = Result<V, AuthRejection>>>>;

/// Verified claims of the request's token: the middleware's result, or verified here with the
/// `Verifier` from `app_data` (extractor-only mode). No verifier anywhere is a wiring bug: 500
/// and an error log.
#[derive(Clone)]
pub struct Claims<T = StandardClaims>(pub Verified<T>);

impl<T> Deref for Claims<T> {
    type Target = Verified<T>;
    fn deref(&self) -> &Verified<T> {
        &self.0
    }
}

impl<T> fmt::Debug for Claims<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Claims").field(&self.0).finish()
    }
}

impl<T: DeserializeOwned + Clone + Send + Sync + 'static> FromRequest for Claims<T> {
    type Error = AuthRejection;
    type Future = ExtractFuture<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            match verified::<T>(request, false).await? {
                Some(verified) => Ok(Claims(verified)),
                None => Err(AuthRejection::new(
                    Error::from(ErrorKind::MissingCredentials),
                    None,
                )),
            }
        })
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

impl<T: DeserializeOwned + Clone + Send + Sync + 'static> FromRequest for OptionalClaims<T> {
    type Error = AuthRejection;
    type Future = ExtractFuture<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move { verified::<T>(request, true).await.map(OptionalClaims) })
    }
}

/// [`Claims`] that also hold every scope of `R`, else 403 `insufficient_scope` with `scope`.
pub struct Scoped<R, T = StandardClaims>(pub Claims<T>, PhantomData<fn() -> R>);

impl<R, T> Deref for Scoped<R, T> {
    type Target = Verified<T>;
    fn deref(&self) -> &Verified<T> {
        &self.0.0
    }
}

impl<R, T> fmt::Debug for Scoped<R, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Scoped").field(&self.0).finish()
    }
}

impl<R: RequiredScopes, T: DeserializeOwned + Clone + Send + Sync + 'static> FromRequest
    for Scoped<R, T>
{
    type Error = AuthRejection;
    type Future = ExtractFuture<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let Some(verified) = verified::<T>(request.clone(), false).await? else {
                return Err(AuthRejection::new(
                    Error::from(ErrorKind::MissingCredentials),
                    None,
                ));
            };
            verified
                .require(&Requirement::all(R::SCOPES.iter().copied()))
                .map_err(|error| AuthRejection::new(error, verifier_of(&request).as_ref()))?;
            Ok(Scoped(Claims(verified), PhantomData))
        })
    }
}
