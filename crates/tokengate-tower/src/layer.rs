//! [`AuthLayer`], the [`Auth`] service and its [`ResponseFuture`].

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use serde::de::DeserializeOwned;
use tokengate::{Error, Policy, Requirement, StandardClaims, Verified, Verifier};
use tower_layer::Layer;
use tower_service::Service;

use crate::body::AuthBody;
use crate::response::{self, BodyStyle, RejectionBody};

pub(crate) struct Config {
    pub(crate) verifier: Verifier,
    policy: Policy,
    body: BodyStyle,
}

/// A tower layer that verifies the bearer token of every request.
///
/// On success the request carries [`Verified<T>`] (and the [`Verifier`]) in its extensions; on
/// failure the layer answers with the core's status, `WWW-Authenticate` and `Retry-After`, and a
/// body from the configured [`RejectionBody`]. gRPC requests get a gRPC status instead.
///
/// `T` is the claims type (default [`StandardClaims`]); it must be `Clone + Send + Sync` to live
/// in request extensions.
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
                body: BodyStyle::default(),
            }),
            _claims: PhantomData,
        }
    }
}

impl<T> AuthLayer<T> {
    fn with(self, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            verifier: self.config.verifier.clone(),
            policy: self.config.policy.clone(),
            body: self.config.body.clone(),
        };
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

    /// Also require scopes or roles (403 `insufficient_scope` otherwise). Typically used with
    /// `route_layer`; a token already verified by an outer layer is not verified again.
    pub fn require(self, requirement: Requirement) -> Self {
        self.with(|c| c.policy = c.policy.clone().require(requirement))
    }

    /// Require every one of these scopes (see [`require`](AuthLayer::require)).
    pub fn require_scopes<I: IntoIterator<Item = S>, S: Into<String>>(self, scopes: I) -> Self {
        self.require(Requirement::all(scopes))
    }

    /// The body of rejections (default [`PlainText`](crate::PlainText); see also
    /// [`ProblemJson`](crate::ProblemJson)). The status and challenge headers stay as they are.
    pub fn rejection_body(self, body: impl RejectionBody) -> Self {
        self.with(|c| c.body = BodyStyle(Arc::new(body)))
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
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        // Whether to answer in gRPC is only needed for rejections: decided there.
        let grpc = |request: &Request<ReqBody>| response::is_grpc(request.headers());
        // Already verified by an outer layer: only the requirement is left.
        if let Some(verified) = request.extensions().get::<Verified<T>>() {
            return match check(config, verified) {
                Ok(()) => ResponseFuture::inner(self.inner.call(request)),
                Err(error) => ResponseFuture::reject(config, &error, grpc(&request)),
            };
        }
        let extracted = config
            .verifier
            .extract(request.headers(), request.uri().query());
        let token = match config.policy.admit(extracted) {
            Err(error) => return ResponseFuture::reject(config, &error, grpc(&request)),
            Ok(None) => {
                request.extensions_mut().insert(config.verifier.clone());
                return ResponseFuture::inner(self.inner.call(request));
            }
            Ok(Some(token)) => token,
        };
        match config.verifier.verify_if_ready_cached::<T>(token.as_str()) {
            Some(Ok(verified)) => {
                if let Err(error) = check(config, &verified) {
                    return ResponseFuture::reject(config, &error, grpc(&request));
                }
                let extensions = request.extensions_mut();
                extensions.insert(verified);
                extensions.insert(config.verifier.clone());
                ResponseFuture::inner(self.inner.call(request))
            }
            Some(Err(error)) => ResponseFuture::reject(config, &error, grpc(&request)),
            None => {
                // A remote issuer must fetch keys first: the slow path, boxed.
                let token = token.as_str().to_owned();
                let grpc = grpc(&request);
                let config = Arc::clone(config);
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::slow(Box::pin(async move {
                    let verified = config
                        .verifier
                        .verify_cached::<T>(&token)
                        .await
                        .and_then(|verified| check(&config, &verified).map(|()| verified));
                    match verified {
                        Ok(verified) => {
                            request.extensions_mut().insert(verified);
                            request.extensions_mut().insert(config.verifier.clone());
                            inner.call(request).await.map(|r| r.map(AuthBody::inner))
                        }
                        Err(error) => Ok(rejection(&config, &error, grpc)),
                    }
                }))
            }
        }
    }
}

fn check<T>(config: &Config, verified: &Verified<T>) -> Result<(), Error> {
    config.policy.check(verified)
}

fn rejection<B>(config: &Config, error: &Error, grpc: bool) -> Response<AuthBody<B>> {
    response::log(error.kind());
    let rejection = config.verifier.rejection(error);
    let response: Response<Full<Bytes>> = if grpc {
        response::grpc_response(&rejection)
    } else {
        response::http_response(&rejection, &*config.body.0)
    };
    response.map(AuthBody::rejection)
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

    fn reject(config: &Config, error: &Error, grpc: bool) -> Self {
        ResponseFuture {
            state: State::Ready {
                response: Some(rejection(config, error, grpc)),
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
