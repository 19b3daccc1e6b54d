//! tokengate for warp: filters that verify the request's bearer token and extract typed claims,
//! and a rejection handler for `recover` that answers with RFC 6750 statuses and challenges.
//!
//! Every security decision is made by the core ([`tokengate`]); this crate only carries its
//! answers into warp replies.
//!
//! ```
//! use tokengate_warp::{Issuer, KeySource, Requirement, StandardClaims, Verified, Verifier};
//! use warp::Filter;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder()
//!     .issuer(Issuer::new("https://auth.example.com/").audience("api").keys(KeySource::discover()))
//!     .build()?;
//!
//! // A valid token is required.
//! let me = warp::path("me")
//!     .and(tokengate_warp::claims::<StandardClaims>(verifier.clone()))
//!     .map(|v: Verified<StandardClaims>| format!("hello {}", v.subject().unwrap_or("?")));
//! // None only without credentials; a bad token is still rejected.
//! let greeting = warp::path("greeting")
//!     .and(tokengate_warp::optional_claims::<StandardClaims>(verifier.clone()))
//!     .map(|v: Option<Verified<StandardClaims>>| {
//!         format!("Hello, {}!", v.as_ref().and_then(|v| v.subject()).unwrap_or("anonymous"))
//!     });
//! // 403 insufficient_scope (with `scope="messages:read"`) without the scope.
//! let messages = warp::path("messages")
//!     .and(tokengate_warp::scoped::<StandardClaims>(verifier, Requirement::all(["messages:read"])))
//!     .map(|_v: Verified<StandardClaims>| "[]");
//!
//! let routes = me.or(greeting).or(messages).recover(tokengate_warp::handle_rejection);
//! # let _ = routes; Ok(()) }
//! ```
//!
//! `handle_rejection` answers only tokengate's rejections; every other rejection (404, 405, ...)
//! passes on to warp's own handling.

use std::convert::Infallible;
use std::fmt;

use bytes::Bytes;
use http::HeaderMap;
use http::header::{CONTENT_TYPE, HeaderValue};
use serde::de::DeserializeOwned;
use tokengate::Rejection as Answer;
use warp::Filter;
use warp::reply::Response;

use tokengate::Policy;
pub use tokengate::{
    Algorithm, Error, ErrorKind, Issuer, KeySource, Rejection, Requirement, StandardClaims,
    TokenSources, Verified, Verifier,
};

/// A request rejected by tokengate: a typed warp rejection, found by [`handle_rejection`].
pub struct AuthRejection {
    error: Error,
    answer: Answer,
}

impl AuthRejection {
    fn new(error: Error, verifier: &Verifier) -> AuthRejection {
        let answer = verifier.rejection(&error);
        AuthRejection { error, answer }
    }

    /// What failed.
    #[must_use]
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The status and headers to answer with.
    #[must_use]
    pub fn rejection(&self) -> &Answer {
        &self.answer
    }

    /// The reply, with a body from `body` (content type and bytes); status and challenge fixed.
    #[must_use]
    pub fn reply_with(&self, body: impl Fn(&Answer) -> (HeaderValue, Bytes)) -> Response {
        let (content_type, bytes) = body(&self.answer);
        let mut response = Response::new(bytes.into());
        *response.status_mut() = self.answer.status();
        response.headers_mut().insert(CONTENT_TYPE, content_type);
        for (name, value) in self.answer.headers() {
            response.headers_mut().insert(name, value.clone());
        }
        response
    }

    /// The reply with the default body: the generic description as `text/plain`.
    #[must_use]
    pub fn reply(&self) -> Response {
        self.reply_with(plain_text)
    }
}

impl fmt::Debug for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRejection")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl warp::reject::Reject for AuthRejection {}

/// The default rejection body: the generic, token-free description as `text/plain`.
#[must_use]
pub fn plain_text(answer: &Answer) -> (HeaderValue, Bytes) {
    (
        HeaderValue::from_static("text/plain; charset=utf-8"),
        Bytes::from_static(answer.description().as_bytes()),
    )
}

/// For `recover`: answers tokengate's rejections with their status, `WWW-Authenticate`,
/// `Retry-After` and a plain-text body; passes every other rejection on.
///
/// # Errors
/// The rejection itself when it is not tokengate's.
pub async fn handle_rejection(rejection: warp::Rejection) -> Result<Response, warp::Rejection> {
    match rejection.find::<AuthRejection>() {
        Some(auth) => Ok(auth.reply()),
        None => Err(rejection),
    }
}

/// As [`handle_rejection`], with your own body (e.g. problem details JSON). The status and
/// challenge headers stay tokengate's.
pub fn recover_with<B>(
    body: B,
) -> impl Fn(warp::Rejection) -> std::future::Ready<Result<Response, warp::Rejection>>
+ Clone
+ Send
+ Sync
+ 'static
where
    B: Fn(&Answer) -> (HeaderValue, Bytes) + Clone + Send + Sync + 'static,
{
    move |rejection: warp::Rejection| {
        std::future::ready(match rejection.find::<AuthRejection>() {
            Some(auth) => Ok(auth.reply_with(&body)),
            None => Err(rejection),
        })
    }
}

/// The request's headers and query string.
fn request() -> impl Filter<Extract = (HeaderMap, Option<String>), Error = Infallible> + Clone {
    let query = warp::query::raw()
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    warp::header::headers_cloned().and(query)
}

async fn verify<T: DeserializeOwned + Clone + Send + Sync + 'static>(
    verifier: &Verifier,
    headers: &HeaderMap,
    query: Option<&str>,
    policy: &Policy,
) -> Result<Option<Verified<T>>, AuthRejection> {
    let reject = |error: Error| AuthRejection::new(error, verifier);
    let token = match policy.admit(verifier.extract(headers, query)) {
        Err(error) => return Err(reject(error)),
        Ok(None) => return Ok(None),
        Ok(Some(token)) => token,
    };
    let verified = match verifier.verify_if_ready_cached::<T>(token.as_str()) {
        Some(result) => result,
        None => verifier.verify_cached::<T>(token.as_str()).await,
    }
    .map_err(reject)?;
    policy.check(&verified).map_err(reject)?;
    Ok(Some(verified))
}

fn rejected(rejection: AuthRejection) -> warp::Rejection {
    warp::reject::custom(rejection)
}

/// Verified claims of the request's token, deserialized into `T`; rejects with
/// [`AuthRejection`] otherwise.
pub fn claims<T>(
    verifier: Verifier,
) -> impl Filter<Extract = (Verified<T>,), Error = warp::Rejection> + Clone
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    scoped_or_not(verifier, None)
}

/// Verified claims that also meet `requirement` (403 `insufficient_scope` otherwise).
pub fn scoped<T>(
    verifier: Verifier,
    requirement: Requirement,
) -> impl Filter<Extract = (Verified<T>,), Error = warp::Rejection> + Clone
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    scoped_or_not(verifier, Some(requirement))
}

fn scoped_or_not<T>(
    verifier: Verifier,
    requirement: Option<Requirement>,
) -> impl Filter<Extract = (Verified<T>,), Error = warp::Rejection> + Clone
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    let policy = match requirement {
        Some(requirement) => Policy::new().require(requirement),
        None => Policy::new(),
    };
    request().and_then(move |headers: HeaderMap, query: Option<String>| {
        let (verifier, policy) = (verifier.clone(), policy.clone());
        async move {
            match verify::<T>(&verifier, &headers, query.as_deref(), &policy).await {
                Ok(Some(verified)) => Ok(verified),
                Ok(None) => Err(rejected(AuthRejection::new(
                    Error::from(ErrorKind::MissingCredentials),
                    &verifier,
                ))),
                Err(rejection) => Err(rejected(rejection)),
            }
        }
    })
}

/// `None` when the request carries no credentials; verified claims when it carries valid ones;
/// a rejection when it carries bad ones (a forged token never passes as anonymous).
pub fn optional_claims<T>(
    verifier: Verifier,
) -> impl Filter<Extract = (Option<Verified<T>>,), Error = warp::Rejection> + Clone
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    request().and_then(move |headers: HeaderMap, query: Option<String>| {
        let verifier = verifier.clone();
        async move {
            verify::<T>(
                &verifier,
                &headers,
                query.as_deref(),
                &Policy::new().optional(),
            )
            .await
            .map_err(rejected)
        }
    })
}
