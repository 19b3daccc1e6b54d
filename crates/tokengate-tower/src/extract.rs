//! axum extractors: [`Claims`], `Option<Claims>` and [`Scoped`].

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use serde::de::DeserializeOwned;
use tokengate::adapter::{ConnectionInfo, Policy, RequestView};
use tokengate::{Answer, RequiredScopes, Verified, Verifier};

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

tokengate::claims_extractors!();

tokengate::define_rejection!(
    /// The answer of a failed tokengate extractor: the core's [`Answer`] (status, challenge and
    /// the verifier's body), sent unchanged.
    ///
    /// `Debug` and `Display` show only the status and the stable error code.
    AuthRejection
);

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        self.into_answer()
            .into_response()
            .map(axum_core::body::Body::from)
    }
}

/// The layer's verifier, else the state's; none is a wiring bug (500, logged by the core).
pub(crate) fn verifier_of<S: VerifierState>(
    parts: &Parts,
    state: &S,
) -> Result<Verifier, AuthRejection> {
    let verifier = parts.extensions.get::<Verifier>().cloned();
    let verifier = verifier.or_else(|| state.verifier());
    verifier.ok_or_else(|| Answer::verifier_not_configured().into())
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
pub(crate) async fn required<T, S>(
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

impl<S, R, T> FromRequestParts<S> for Scoped<R, T>
where
    S: VerifierState + Send + Sync,
    R: RequiredScopes,
    T: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let claims = Claims(required::<T, S>(parts, state, Self::policy()).await?);
        Ok(Scoped::new(claims))
    }
}
