//! [`Auth`], the actix-web `Transform`, and its [`AuthMiddleware`] service.

use std::fmt;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::HttpMessage;
use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use serde::de::DeserializeOwned;
use tokengate::adapter::{Admission, Decision, Guard};
use tokengate::{Answer, StandardClaims, Verified, Verifier};

use crate::response::{self, ActixHeaders};

/// Middleware that verifies the bearer token of every request it wraps (`App::wrap`,
/// `Scope::wrap`, `Resource::wrap`). Verified requests carry [`Verified<T>`] (and the
/// [`Verifier`]) in their extensions, where [`Claims`](crate::Claims) finds them; refused
/// requests get the core's [`Answer`] unchanged. Each request goes through the core pipeline
/// ([`Verifier::decide`]) once. The route options are the core [`Guard`]'s: every adapter has
/// the same ones.
#[must_use]
pub struct Auth<T = StandardClaims> {
    guard: Guard<T>,
}

tokengate::guard_options!(Auth { guard });

impl<S, B, T> Transform<S, ServiceRequest> for Auth<T>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: 'static,
    T: DeserializeOwned + Send + Sync + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = AuthMiddleware<S, T>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthMiddleware {
            service: Rc::new(service),
            guard: self.guard.clone(),
        }))
    }
}

/// The service [`Auth`] wraps around another.
pub struct AuthMiddleware<S, T = StandardClaims> {
    service: Rc<S>,
    guard: Guard<T>,
}

impl<S, T> fmt::Debug for AuthMiddleware<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthMiddleware").finish_non_exhaustive()
    }
}

type CallFuture<B> =
    Pin<Box<dyn Future<Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>>>>;

impl<S, B, T> Service<ServiceRequest> for AuthMiddleware<S, T>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: 'static,
    T: DeserializeOwned + Send + Sync + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = CallFuture<B>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let guard = &self.guard;
        // The fast path borrows the token from the request: no copy, no wait.
        let decision = {
            let earlier = request.extensions();
            let headers = ActixHeaders(request.headers());
            let params = response::params(request.request());
            let view = response::view(request.request(), &headers, &params);
            guard.decide(&view, earlier.get::<Verified<T>>())
        };
        match decision {
            Decision::Admit(admission) => {
                admit(&request, admission, guard.verifier());
                self.forward(request)
            }
            Decision::Deny(answer) => reject(request, &answer),
            Decision::Pending(pending) => {
                // A remote key set must be fetched: await it without blocking the worker.
                let service = Rc::clone(&self.service);
                let verifier = guard.verifier().clone();
                Box::pin(async move {
                    match pending.resolve().await {
                        Ok(admission) => {
                            admit(&request, admission, &verifier);
                            service
                                .call(request)
                                .await
                                .map(ServiceResponse::map_into_left_body)
                        }
                        Err(answer) => reject(request, &answer).await,
                    }
                })
            }
        }
    }
}

/// Stores what the pipeline admitted where the extractors find it.
fn admit<T: 'static>(request: &ServiceRequest, admission: Admission<T>, verifier: &Verifier) {
    let mut extensions = request.extensions_mut();
    if let Some(verified) = admission.into_verified() {
        extensions.insert(verified);
    }
    extensions.insert(verifier.clone());
}

impl<S, B, T> AuthMiddleware<S, T>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: 'static,
{
    fn forward(&self, request: ServiceRequest) -> CallFuture<B> {
        let future = self.service.call(request);
        Box::pin(async move { future.await.map(ServiceResponse::map_into_left_body) })
    }
}

fn reject<B: 'static>(request: ServiceRequest, answer: &Answer) -> CallFuture<B> {
    let response = response::http_response(answer);
    Box::pin(ready(Ok(request
        .into_response(response)
        .map_into_right_body())))
}
