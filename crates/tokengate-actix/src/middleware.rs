//! [`Auth`], the actix-web `Transform`, and its [`AuthMiddleware`] service.

use std::fmt;
use std::future::{Future, Ready, ready};
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::HttpMessage;
use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use serde::de::DeserializeOwned;
use tokengate::adapter::{Admission, Decision, Policy};
use tokengate::{Answer, AnswerBody, Requirement, StandardClaims, Verified, Verifier};

use crate::response::{self, ActixHeaders};

#[derive(Clone)]
struct Config {
    verifier: Verifier,
    policy: Policy,
}

/// Middleware that verifies the bearer token of every request it wraps (`App::wrap`,
/// `Scope::wrap`, `Resource::wrap`). Verified requests carry [`Verified<T>`] (and the
/// [`Verifier`]) in their extensions, where [`Claims`](crate::Claims) finds them; refused
/// requests get the core's [`Answer`] unchanged. Each request goes through the core pipeline
/// ([`Verifier::decide`]) once.
#[must_use]
pub struct Auth<T = StandardClaims> {
    config: Arc<Config>,
    _claims: PhantomData<fn() -> T>,
}

impl<T> Clone for Auth<T> {
    fn clone(&self) -> Self {
        Auth {
            config: Arc::clone(&self.config),
            _claims: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Auth<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("verifier", &self.config.verifier)
            .field("policy", &self.config.policy)
            .finish()
    }
}

impl Auth<StandardClaims> {
    /// Middleware verifying with `verifier` into [`StandardClaims`].
    pub fn new(verifier: Verifier) -> Self {
        Auth {
            config: Arc::new(Config {
                verifier,
                policy: Policy::new(),
            }),
            _claims: PhantomData,
        }
    }
}

impl<T> Auth<T> {
    fn with(self, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::clone(&self.config);
        change(&mut config);
        Auth {
            config: Arc::new(config),
            _claims: PhantomData,
        }
    }

    /// Deserialize the claims into `U` instead.
    pub fn claims<U>(self) -> Auth<U> {
        Auth {
            config: self.config,
            _claims: PhantomData,
        }
    }

    /// Let requests without credentials through; requests with bad credentials are still
    /// rejected.
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

    /// Also require scopes or roles (403 `insufficient_scope` otherwise).
    pub fn require(self, requirement: Requirement) -> Self {
        self.with(|c| c.policy = c.policy.clone().require(requirement))
    }

    /// Require every one of these scopes.
    pub fn require_scopes<I: IntoIterator<Item = S>, S: Into<String>>(self, scopes: I) -> Self {
        self.require(Requirement::all(scopes))
    }

    /// The body of this middleware's answers instead of the verifier's
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
            config: Arc::clone(&self.config),
            _claims: PhantomData,
        }))
    }
}

/// The service [`Auth`] wraps around another.
pub struct AuthMiddleware<S, T = StandardClaims> {
    service: Rc<S>,
    config: Arc<Config>,
    _claims: PhantomData<fn() -> T>,
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
        let config = &self.config;
        // The fast path borrows the token from the request: no copy, no wait.
        let decision = {
            let earlier = request.extensions();
            let headers = ActixHeaders(request.headers());
            let params = response::params(request.request());
            let view = response::view(request.request(), &headers, &params);
            let earlier = earlier.get::<Verified<T>>();
            config
                .verifier
                .decide::<T, _>(&view, &config.policy, earlier)
        };
        match decision {
            Decision::Admit(admission) => {
                admit(&request, admission, &config.verifier);
                self.forward(request)
            }
            Decision::Deny(answer) => reject(request, &answer),
            Decision::Pending(pending) => {
                // A remote key set must be fetched: await it without blocking the worker.
                let service = Rc::clone(&self.service);
                let verifier = config.verifier.clone();
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
