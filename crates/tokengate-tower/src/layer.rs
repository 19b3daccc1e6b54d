//! [`AuthLayer`], the [`Auth`] service and its [`ResponseFuture`].

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use serde::de::DeserializeOwned;
use tokengate::adapter::{Admission, ConnectionInfo, Decision, Policy, RequestView};
use tokengate::{Answer, AnswerBody, Requirement, StandardClaims, Verified, Verifier};
use tower_layer::Layer;
use tower_service::Service;

use crate::body::AuthBody;
use crate::response;

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) verifier: Verifier,
    policy: Policy,
}

/// A tower layer that verifies the bearer token of every request.
///
/// Each request goes through the core pipeline ([`Verifier::decide`]) once. On success the
/// request carries [`Verified<T>`] (and the [`Verifier`]) in its extensions; otherwise the
/// layer sends the core's [`Answer`] as it is. gRPC requests get a gRPC status instead.
///
/// `T` is the claims type (default [`StandardClaims`]); it must be `Send + Sync` to live in
/// request extensions (it is shared, never cloned).
#[must_use]
pub struct AuthLayer<T = StandardClaims> {
    config: Arc<Config>,
    _claims: PhantomData<fn() -> T>,
}

impl<T> Clone for AuthLayer<T> {
    fn clone(&self) -> Self {
        AuthLayer {
            config: Arc::clone(&self.config),
            _claims: PhantomData,
        }
    }
}

impl<T> fmt::Debug for AuthLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("verifier", &self.config.verifier)
            .field("policy", &self.config.policy)
            .finish()
    }
}

impl AuthLayer<StandardClaims> {
    /// A layer verifying with `verifier` into [`StandardClaims`].
    pub fn new(verifier: Verifier) -> Self {
        AuthLayer {
            config: Arc::new(Config {
                verifier,
                policy: Policy::new(),
            }),
            _claims: PhantomData,
        }
    }
}

impl<T> AuthLayer<T> {
    fn with(self, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::clone(&self.config);
        change(&mut config);
        AuthLayer {
            config: Arc::new(config),
            _claims: PhantomData,
        }
    }

    /// Deserialize the claims into `U` instead.
    pub fn claims<U>(self) -> AuthLayer<U> {
        AuthLayer {
            config: self.config,
            _claims: PhantomData,
        }
    }

    /// Let requests without credentials through (with no `Verified` in their extensions).
    /// Requests *with* credentials are still verified, and rejected when bad.
    pub fn optional(self) -> Self {
        self.with(|c| c.policy = c.policy.clone().optional())
    }

    /// Admit only DPoP-bound tokens with a valid proof on these routes: bearer tokens are
    /// refused (401 `invalid_token` in the `DPoP` challenge, `dpop_required`).
    pub fn require_dpop(self) -> Self {
        self.with(|c| c.policy = c.policy.clone().require_dpop())
    }

    /// Also run a custom check on these routes (after the built-in ones and the verifier's):
    /// a closure `Fn(&CheckContext<'_>) -> impl Future<Output = Verdict>` or a
    /// [`CustomCheck`](tokengate::checks::CustomCheck).
    #[cfg(feature = "remote")]
    pub fn check(self, check: impl tokengate::checks::CustomCheck) -> Self {
        self.with(move |c| c.policy = c.policy.clone().check(check))
    }

    /// Also require scopes or roles (403 `insufficient_scope` otherwise). Typically used with
    /// `route_layer`; a token already verified by an outer layer is not verified again.
    pub fn require(self, requirement: Requirement) -> Self {
        self.with(|c| c.policy = c.policy.clone().require(requirement))
    }

    /// Require every one of these scopes (see [`require`](AuthLayer::require)).
    pub fn require_scopes<I: IntoIterator<Item = S>, S: Into<String>>(self, scopes: I) -> Self {
        self.require(Requirement::all(scopes))
    }

    /// The body of this layer's answers instead of the verifier's
    /// ([`VerifierBuilder::answer_body`](tokengate::VerifierBuilder::answer_body), which also
    /// reaches the extractors). The status and challenge headers stay as they are.
    pub fn answer_body(self, body: impl AnswerBody) -> Self {
        self.with(|c| c.policy = c.policy.clone().answer_body(body))
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.config.verifier
    }
}

impl<S, T> Layer<S> for AuthLayer<T> {
    type Service = Auth<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            config: Arc::clone(&self.config),
            _claims: PhantomData,
        }
    }
}

/// The service [`AuthLayer`] wraps around another.
pub struct Auth<S, T = StandardClaims> {
    inner: S,
    config: Arc<Config>,
    _claims: PhantomData<fn() -> T>,
}

impl<S: Clone, T> Clone for Auth<S, T> {
    fn clone(&self) -> Self {
        Auth {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
            _claims: PhantomData,
        }
    }
}

impl<S: fmt::Debug, T> fmt::Debug for Auth<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, T, ReqBody, ResBody> Service<Request<ReqBody>> for Auth<S, T>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    T: DeserializeOwned + Send + Sync + 'static,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        let decision = {
            let view = RequestView::from_http(request.method(), request.uri(), request.headers())
                .with_connection(request.extensions().get::<ConnectionInfo>());
            let earlier = request.extensions().get::<Verified<T>>();
            config
                .verifier
                .decide::<T, _>(&view, &config.policy, earlier)
        };
        match decision {
            Decision::Admit(admission) => {
                admit(&mut request, admission, &config.verifier);
                ResponseFuture::inner(self.inner.call(request))
            }
            Decision::Deny(answer) => ResponseFuture::answer(answer, &request),
            Decision::Pending(pending) => {
                // A remote issuer must fetch keys first: the slow path, boxed.
                let verifier = config.verifier.clone();
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::slow(Box::pin(async move {
                    match pending.resolve().await {
                        Ok(admission) => {
                            admit(&mut request, admission, &verifier);
                            inner.call(request).await.map(|r| r.map(AuthBody::inner))
                        }
                        Err(answer) => Ok(response::answer(answer, &request)),
                    }
                }))
            }
        }
    }
}

impl<S, T> Auth<S, T> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// Stores what the pipeline admitted where the extractors find it.
fn admit<B, T: Send + Sync + 'static>(
    request: &mut Request<B>,
    admission: Admission<T>,
    verifier: &Verifier,
) {
    let extensions = request.extensions_mut();
    if let Some(verified) = admission.into_verified() {
        extensions.insert(verified);
    }
    extensions.insert(verifier.clone());
}

type SlowFuture<B, E> = Pin<Box<dyn Future<Output = Result<Response<AuthBody<B>>, E>> + Send>>;

pin_project_lite::pin_project! {
    /// The response future of [`Auth`]: the inner service's future (no allocation when the keys
    /// are loaded), a ready rejection, or the boxed slow path that fetches keys first.
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, B, E> {
        Inner { #[pin] future: F },
        Ready { response: Option<Response<AuthBody<B>>> },
        Slow { future: SlowFuture<B, E> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    fn inner(future: F) -> Self {
        ResponseFuture {
            state: State::Inner { future },
        }
    }

    fn answer<R>(answer: Answer, request: &Request<R>) -> Self {
        ResponseFuture {
            state: State::Ready {
                response: Some(response::answer(answer, request)),
            },
        }
    }

    fn slow(future: SlowFuture<B, E>) -> Self {
        ResponseFuture {
            state: State::Slow { future },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<AuthBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => {
                future.poll(cx).map(|r| r.map(|r| r.map(AuthBody::inner)))
            }
            StateProj::Ready { response } => Poll::Ready(Ok(response
                .take()
                .expect("ResponseFuture polled after completion"))),
            StateProj::Slow { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F, B, E> fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture")
    }
}
