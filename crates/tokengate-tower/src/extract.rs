//! axum extractors: [`Claims`], `Option<Claims>` and [`Scoped`].

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use serde::de::DeserializeOwned;
use tokengate::adapter::{ConnectionInfo, Policy, RequestView};
use tokengate::{Answer, RequiredScopes, Requirement, StandardClaims, Verified, Verifier};

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

/// The answer of a failed tokengate extractor: the core's [`Answer`] (status, challenge and
/// the verifier's body), sent unchanged.
///
/// `Debug` and `Display` show only the status and the stable error code.
#[derive(Debug)]
pub struct AuthRejection(Answer);

impl AuthRejection {
    /// The answer to send.
    #[must_use]
    pub fn answer(&self) -> &Answer {
        &self.0
    }
}

impl From<Answer> for AuthRejection {
    fn from(answer: Answer) -> Self {
        AuthRejection(answer)
    }
}

/// For a handler's own checks: `claims.require(&Requirement::all(["orders:write"]))?` answers
/// 403 with the default realm and plain-text body ([`Answer::with_defaults`]).
impl From<tokengate::Error> for AuthRejection {
    fn from(error: tokengate::Error) -> Self {
        AuthRejection(Answer::with_defaults(&error))
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for AuthRejection {}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        self.0.into_response().map(axum_core::body::Body::from)
    }
}

/// The layer's verifier, else the state's; none is a wiring bug (500, logged by the core).
fn verifier_of<S: VerifierState>(parts: &Parts, state: &S) -> Result<Verifier, AuthRejection> {
    let verifier = parts.extensions.get::<Verifier>().cloned();
    let verifier = verifier.or_else(|| state.verifier());
    verifier.ok_or_else(|| AuthRejection(Answer::verifier_not_configured()))
}

/// The claims for `policy`, through the core pipeline: what an outer [`AuthLayer`] verified
/// (only the requirement is checked again), or verified here. The result is stored in the
/// request extensions for later extractors.
///
/// [`AuthLayer`]: crate::AuthLayer
async fn claims<T, S>(
    parts: &mut Parts,
    state: &S,
    policy: &Policy,
) -> Result<Option<Verified<T>>, AuthRejection>
where
    T: DeserializeOwned + Send + Sync + 'static,
    S: VerifierState + Send + Sync,
{
    let verifier = verifier_of(parts, state)?;
    let verified = {
        let view = RequestView::from_http(&parts.method, &parts.uri, &parts.headers)
            .with_connection(parts.extensions.get::<ConnectionInfo>());
        let earlier = parts.extensions.get::<Verified<T>>();
        verifier.verified_claims(&view, policy, earlier).await?
    };
    if let Some(verified) = &verified {
        parts.extensions.insert(verified.clone());
    }
    Ok(verified)
}

/// As [`claims`], for a route that requires credentials.
async fn required<T, S>(
    parts: &mut Parts,
    state: &S,
    policy: Policy,
) -> Result<Verified<T>, AuthRejection>
where
    T: DeserializeOwned + Send + Sync + 'static,
    S: VerifierState + Send + Sync,
{
    let verifier = verifier_of(parts, state)?;
    let verified = {
        let view = RequestView::from_http(&parts.method, &parts.uri, &parts.headers)
            .with_connection(parts.extensions.get::<ConnectionInfo>());
        let earlier = parts.extensions.get::<Verified<T>>();
        verifier.required_claims(&view, &policy, earlier).await?
    };
    parts.extensions.insert(verified.clone());
    Ok(verified)
}

impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: VerifierState + Send + Sync,
    T: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        required::<T, S>(parts, state, Policy::new())
            .await
            .map(Claims)
    }
}

impl<S, T> OptionalFromRequestParts<S> for Claims<T>
where
    S: VerifierState + Send + Sync,
    T: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let optional = Policy::new().optional();
        Ok(claims::<T, S>(parts, state, &optional).await?.map(Claims))
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
    T: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let policy = Policy::new().require(Requirement::all_static(R::SCOPES));
        let claims = Claims(required::<T, S>(parts, state, policy).await?);
        Ok(Scoped(claims, PhantomData))
    }
}
