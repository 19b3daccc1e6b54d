//! axum extractors: [`Claims`], `Option<Claims>` and [`Scoped`].

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use serde::de::DeserializeOwned;
use tokengate::{
    Error, ErrorKind, Policy, Rejection, RequiredScopes, Requirement, StandardClaims, Verified,
    Verifier,
};

use crate::response::{self, PlainText};

/// Where an extractor finds the [`Verifier`] when no layer verified the request and none is in
/// the request extensions: the router state.
///
/// Implemented for `()` (a stateless router: the verifier comes from the [`AuthLayer`] or an
/// `Extension(verifier)`), for [`Verifier`] itself (`Router::with_state(verifier)`), and for
/// `Arc`s of those. For your own state, one method:
///
/// ```
/// # use tokengate_tower::{Verifier, VerifierState};
/// #[derive(Clone)]
/// struct AppState { verifier: Verifier, /* db pool, ... */ }
///
/// impl VerifierState for AppState {
///     fn verifier(&self) -> Option<Verifier> {
///         Some(self.verifier.clone())
///     }
/// }
/// ```
///
/// (A blanket impl over axum's `FromRef` would conflict with the one for `()`, which the
/// stateless layer-plus-extractor setup needs.)
///
/// [`AuthLayer`]: crate::AuthLayer
pub trait VerifierState {
    /// The verifier, if the state holds one.
    fn verifier(&self) -> Option<Verifier>;
}

impl VerifierState for () {
    fn verifier(&self) -> Option<Verifier> {
        None
    }
}

impl VerifierState for Verifier {
    fn verifier(&self) -> Option<Verifier> {
        Some(self.clone())
    }
}

impl<S: VerifierState> VerifierState for std::sync::Arc<S> {
    fn verifier(&self) -> Option<Verifier> {
        (**self).verifier()
    }
}

/// Verified claims of the request's token.
///
/// Reuses what an [`AuthLayer`](crate::AuthLayer) verified; otherwise verifies by itself with the
/// `Verifier` in the request extensions or the router state ([`VerifierState`]; extractor-only
/// mode). No verifier
/// anywhere is a wiring bug: 500 and an error log.
///
/// `Option<Claims<T>>` is `None` only when the request carries no credentials; bad credentials
/// are still rejected.
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

/// The answer of a failed tokengate extractor: the core's status and challenge, a plain-text
/// body. [`rejection`](AuthRejection::rejection) gives the parts to build another body.
#[derive(Debug)]
pub struct AuthRejection {
    error: Error,
    rejection: Rejection,
}

impl AuthRejection {
    fn new(error: Error, verifier: Option<&Verifier>) -> AuthRejection {
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

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        response::http_response(&self.rejection, &PlainText).map(axum_core::body::Body::new)
    }
}

async fn verified<T, S>(
    parts: &mut Parts,
    state: &S,
    optional: bool,
) -> Result<Option<Verified<T>>, AuthRejection>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
    S: VerifierState + Send + Sync,
{
    if let Some(verified) = parts.extensions.get::<Verified<T>>() {
        return Ok(Some(verified.clone()));
    }
    let Some(verifier) = parts
        .extensions
        .get::<Verifier>()
        .cloned()
        .or_else(|| state.verifier())
    else {
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
    let token = match policy.admit(verifier.extract(&parts.headers, parts.uri.query())) {
        Err(error) => return Err(AuthRejection::new(error, Some(&verifier))),
        Ok(None) => return Ok(None),
        Ok(Some(token)) => token.as_str().to_owned(),
    };
    match verifier.verify_cached::<T>(&token).await {
        Ok(verified) => {
            parts.extensions.insert(verified.clone());
            Ok(Some(verified))
        }
        Err(error) => Err(AuthRejection::new(error, Some(&verifier))),
    }
}

impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: VerifierState + Send + Sync,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match verified::<T, S>(parts, state, false).await? {
            Some(verified) => Ok(Claims(verified)),
            // `verified` answers `missing_credentials` itself when not optional; be safe anyway.
            None => Err(AuthRejection::new(
                Error::from(ErrorKind::MissingCredentials),
                None,
            )),
        }
    }
}

impl<S, T> OptionalFromRequestParts<S> for Claims<T>
where
    S: VerifierState + Send + Sync,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(verified::<T, S>(parts, state, true).await?.map(Claims))
    }
}

/// [`Claims`] that also hold every scope of `R`, else 403 `insufficient_scope` with the `scope`
/// parameter.
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

impl<S, R, T> FromRequestParts<S> for Scoped<R, T>
where
    S: VerifierState + Send + Sync,
    R: RequiredScopes,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let claims = <Claims<T> as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        let verifier = parts
            .extensions
            .get::<Verifier>()
            .cloned()
            .or_else(|| state.verifier());
        claims
            .require(&Requirement::all(R::SCOPES.iter().copied()))
            .map_err(|error| AuthRejection::new(error, verifier.as_ref()))?;
        Ok(Scoped(claims, PhantomData))
    }
}
