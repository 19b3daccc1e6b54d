//! [`TokengateAuth`], the actix-web `Transform`, and its [`AuthMiddleware`] service.

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
use tokengate::{Error, Policy, Requirement, StandardClaims, Verified, Verifier};

use crate::response::{self, ActixHeaders};

struct Config {
    verifier: Verifier,
    policy: Policy,
}

/// Middleware that verifies the bearer token of every request it wraps (`App::wrap`,
/// `Scope::wrap`, `Resource::wrap`). Verified requests carry [`Verified<T>`] (and the
/// [`Verifier`]) in their extensions, where [`Claims`](crate::Claims) finds them; rejections carry
/// the core's status, `WWW-Authenticate` and `Retry-After`.
#[must_use]
pub struct TokengateAuth<T = StandardClaims> {
    config: Arc<Config>,
    _claims: PhantomData<fn() -> T>,
}

impl<T> Clone for TokengateAuth<T> {
    fn clone(&self) -> Self {
        TokengateAuth {
            config: Arc::clone(&self.config),
            _claims: PhantomData,
        }
    }
}

impl<T> fmt::Debug for TokengateAuth<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokengateAuth")
            .field("verifier", &self.config.verifier)
            .field("policy", &self.config.policy)
            .finish()
    }
}

impl TokengateAuth<StandardClaims> {
    /// Middleware verifying with `verifier` into [`StandardClaims`].
    pub fn new(verifier: Verifier) -> Self {
        TokengateAuth {
            config: Arc::new(Config {
                verifier,
                policy: Policy::new(),
            }),
            _claims: PhantomData,
        }
    }
}

impl<T> TokengateAuth<T> {
    fn with(self, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            verifier: self.config.verifier.clone(),
            policy: self.config.policy.clone(),
        };
        change(&mut config);
        TokengateAuth {
            config: Arc::new(config),
            _claims: PhantomData,
        }
    }

    /// Deserialize the claims into `U` instead.
    pub fn claims<U>(self) -> TokengateAuth<U> {
        TokengateAuth {
            config: self.config,
            _claims: PhantomData,
        }
    }

    /// Let requests without credentials through; requests with bad credentials are still
    /// rejected.
    pub fn optional(self) -> Self {
        self.with(|c| c.policy = c.policy.clone().optional())
    }

    /// Also require scopes or roles (403 `insufficient_scope` otherwise).
    pub fn require(self, requirement: Requirement) -> Self {
        self.with(|c| c.policy = c.policy.clone().require(requirement))
    }

    /// Require every one of these scopes.
    pub fn require_scopes<I: IntoIterator<Item = S>, S: Into<String>>(self, scopes: I) -> Self {
        self.require(Requirement::all(scopes))
    }
}

impl<S, B, T> Transform<S, ServiceRequest> for TokengateAuth<T>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: 'static,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
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

/// The service [`TokengateAuth`] wraps around another.
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
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = CallFuture<B>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let config = &self.config;
        let check = |verified: &Verified<T>| config.policy.check(verified);
        // Already verified by an outer middleware: only the requirement is left.
        let earlier = request.extensions().get::<Verified<T>>().map(&check);
        match earlier {
            Some(Ok(())) => return self.forward(request),
            Some(Err(error)) => return reject(config, request, error),
            None => {}
        }
        // The fast path borrows the token from the request: no copy, no wait.
        let outcome = {
            let query = Some(request.query_string()).filter(|q| !q.is_empty());
            let headers = ActixHeaders(request.headers());
            let extracted = config.verifier.extract_from(&headers, query);
            match config.policy.admit(extracted) {
                Err(error) => Outcome::Reject(error),
                Ok(None) => Outcome::Anonymous,
                Ok(Some(token)) => {
                    match config.verifier.verify_if_ready_cached::<T>(token.as_str()) {
                        Some(Ok(verified)) => match check(&verified) {
                            Ok(()) => Outcome::Verified(verified),
                            Err(error) => Outcome::Reject(error),
                        },
                        Some(Err(error)) => Outcome::Reject(error),
                        None => Outcome::Fetch(token.as_str().to_owned()),
                    }
                }
            }
        };
        match outcome {
            Outcome::Reject(error) => reject(config, request, error),
            Outcome::Anonymous => {
                request.extensions_mut().insert(config.verifier.clone());
                self.forward(request)
            }
            Outcome::Verified(verified) => {
                request.extensions_mut().insert(verified);
                request.extensions_mut().insert(config.verifier.clone());
                self.forward(request)
            }
            Outcome::Fetch(token) => {
                // A remote key set must be fetched: await it without blocking the worker.
                let service = Rc::clone(&self.service);
                let config = Arc::clone(config);
                Box::pin(async move {
                    let verified = config
                        .verifier
                        .verify_cached::<T>(&token)
                        .await
                        .and_then(|verified| config.policy.check(&verified).map(|()| verified));
                    match verified {
                        Ok(verified) => {
                            request.extensions_mut().insert(verified);
                            request.extensions_mut().insert(config.verifier.clone());
                            service
                                .call(request)
                                .await
                                .map(ServiceResponse::map_into_left_body)
                        }
                        Err(error) => reject(&config, request, error).await,
                    }
                })
            }
        }
    }
}

enum Outcome<T> {
    Reject(Error),
    Anonymous,
    Verified(Verified<T>),
    Fetch(String),
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

fn reject<B: 'static>(config: &Config, request: ServiceRequest, error: Error) -> CallFuture<B> {
    response::log(error.kind());
    let answer = response::http_response(&config.verifier.rejection(&error));
    Box::pin(ready(Ok(request
        .into_response(answer)
        .map_into_right_body())))
}
