//! [`AuthLayer`], the [`Auth`] service and its [`ResponseFuture`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use serde::de::DeserializeOwned;
use tokengate::adapter::{Admission, ConnectionInfo, Decision, Guard, RequestView};
use tokengate::{Answer, StandardClaims, Verified, Verifier};
use tower_layer::Layer;
use tower_service::Service;

use crate::body::AuthBody;
use crate::response;

/// A tower layer that verifies the bearer token of every request.
///
/// Each request goes through the core pipeline ([`Verifier::decide`]) once. On success the
/// request carries [`Verified<T>`] (and the [`Verifier`]) in its extensions; otherwise the
/// layer sends the core's [`Answer`] as it is. gRPC requests get a gRPC status instead.
///
/// `T` is the claims type (default [`StandardClaims`]); it must be `Send + Sync` to live in
/// request extensions (it is shared, never cloned). The route options are the core
/// [`Guard`]'s: every adapter has the same ones.
#[must_use]
pub struct AuthLayer<T = StandardClaims> {
    guard: Guard<T>,
}

tokengate::guard_options!(AuthLayer { guard });

impl<S, T> Layer<S> for AuthLayer<T> {
    type Service = Auth<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            guard: self.guard.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around another.
pub struct Auth<S, T = StandardClaims> {
    inner: S,
    guard: Guard<T>,
}

impl<S: Clone, T> Clone for Auth<S, T> {
    fn clone(&self) -> Self {
        Auth {
            inner: self.inner.clone(),
            guard: self.guard.clone(),
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
        let guard = &self.guard;
        let decision = {
            let view = RequestView::from_http(request.method(), request.uri(), request.headers())
                .with_connection(request.extensions().get::<ConnectionInfo>());
            guard.decide(&view, request.extensions().get::<Verified<T>>())
        };
        match decision {
            Decision::Admit(admission) => {
                admit(&mut request, admission, guard.verifier());
                let seed = stream_seed::<_, T>(&request, guard.verifier());
                ResponseFuture::inner(self.inner.call(request), seed)
            }
            Decision::Deny(answer) => ResponseFuture::answer(answer, &request),
            Decision::Pending(pending) => {
                // A remote issuer must fetch keys first: the slow path, boxed.
                let verifier = guard.verifier().clone();
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::slow(Box::pin(async move {
                    match pending.resolve().await {
                        Ok(admission) => {
                            admit(&mut request, admission, &verifier);
                            let seed = stream_seed::<_, T>(&request, &verifier);
                            inner.call(request).await.map(|r| with_seed(r, seed))
                        }
                        Err(answer) => Ok(response::answer(answer, &request)),
                    }
                }))
            }
        }
    }
}

inner_service_accessors!(Auth);

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

/// What a streaming response needs to end at its token's deadline (`crate::live`); never
/// anything without the `live` feature.
pub(crate) type Seed = Option<Box<crate::body::Deadline>>;

/// The deadline of an admitted request that may open a stream.
#[cfg_attr(
    not(feature = "live"),
    allow(clippy::extra_unused_type_parameters, clippy::unnecessary_wraps)
)]
pub(crate) fn stream_seed<B, T: Send + Sync + 'static>(
    request: &Request<B>,
    verifier: &Verifier,
) -> Seed {
    #[cfg(feature = "live")]
    return crate::live::stream_deadline::<B, T>(request, verifier);
    #[cfg(not(feature = "live"))]
    {
        let _ = (request, verifier);
        None
    }
}

/// The inner service's response, its body ended at the deadline if it is a stream.
pub(crate) fn with_seed<B>(response: Response<B>, seed: Seed) -> Response<AuthBody<B>> {
    // Most responses have no deadline: nothing to look at.
    let Some(deadline) = seed else {
        return response.map(AuthBody::inner);
    };
    let (parts, body) = response.into_parts();
    let body = AuthBody::until_deadline(body, *deadline, &parts.headers);
    Response::from_parts(parts, body)
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
        Inner { #[pin] future: F, seed: Seed },
        Ready { response: Option<Response<AuthBody<B>>> },
        Slow { future: SlowFuture<B, E> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    fn inner(future: F, seed: Seed) -> Self {
        ResponseFuture {
            state: State::Inner { future, seed },
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
            StateProj::Inner { future, seed } => future
                .poll(cx)
                .map(|r| r.map(|r| with_seed(r, std::mem::take(seed)))),
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
