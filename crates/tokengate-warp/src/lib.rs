//! tokengate for warp: filters that verify the request's bearer token and extract typed claims,
//! and a rejection handler for `recover` that answers with RFC 6750 statuses and challenges.
//!
//! Every security decision is made by the core's request pipeline ([`tokengate::adapter`]),
//! called once per request by each filter; this crate only carries its answers into warp
//! replies. `tokengate` is re-exported, so this crate is the only dependency a warp service
//! needs.
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
//!     .and(tokengate_warp::scoped::<StandardClaims>(verifier.clone(), Requirement::all(["messages:read"])))
//!     .map(|_v: Verified<StandardClaims>| "[]");
//!
//! // Every option in one builder: claims type, requirement, body (here problem details).
//! let admin = warp::path("admin")
//!     .and(tokengate_warp::Auth::new(verifier)
//!         .require(Requirement::all_roles(["admin"]))
//!         .answer_body(tokengate_warp::ProblemJson)
//!         .claims::<serde_json::Value>()
//!         .filter())
//!     .map(|_v: Verified<serde_json::Value>| "admin");
//!
//! let routes = me.or(greeting).or(messages).or(admin).recover(tokengate_warp::handle_rejection);
//! # let _ = routes; Ok(()) }
//! ```
//!
//! `handle_rejection` answers only tokengate's rejections; every other rejection (404, 405, ...)
//! passes on to warp's own handling. A tokengate rejection left unhandled (no `recover`) shows
//! only its status and stable code in warp's debug output — never anything from the request.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderMap, Method};
use serde::de::DeserializeOwned;
use tokengate::adapter::{Guard, RequestView};
use warp::Filter;
use warp::reply::Response;

#[cfg(feature = "live")]
mod live;
#[cfg(feature = "live")]
pub use live::Live;
#[cfg(feature = "ws")]
pub use live::LiveSocket;
pub use tokengate;
pub use tokengate::{
    Algorithm, Answer, AnswerBody, Error, ErrorKind, Issuer, KeySource, ProtectedResource,
    RequiredScopes, Requirement, StandardClaims, TokenSources, Verified, Verifier,
    answer::PlainText, answer::ProblemJson, resource::METADATA_PATH,
};

tokengate::define_rejection!(
    /// A request refused by tokengate: a typed warp rejection carrying the core's [`Answer`],
    /// found by [`handle_rejection`].
    ///
    /// `Debug` and `Display` show only the status and the stable error code.
    AuthRejection
);

impl AuthRejection {
    /// The reply: the answer's status, headers and body, unchanged.
    #[must_use]
    pub fn reply(&self) -> Response {
        self.answer().clone().into_response().map(Into::into)
    }
}

impl warp::reject::Reject for AuthRejection {}

/// For `recover`: answers tokengate's rejections with the core's answer; passes every other
/// rejection on.
///
/// # Errors
/// The rejection itself when it is not tokengate's.
pub async fn handle_rejection(rejection: warp::Rejection) -> Result<Response, warp::Rejection> {
    match rejection.find::<AuthRejection>() {
        Some(auth) => Ok(auth.reply()),
        None => Err(rejection),
    }
}

fn rejection(answer: Answer) -> warp::Rejection {
    warp::reject::custom(AuthRejection::from(answer))
}

type Waiting<T> = Pin<Box<dyn Future<Output = Result<Verified<T>, warp::Rejection>> + Send>>;

/// The filter's future: a ready value when the pipeline decided at once (no state machine
/// holding the request head), boxed only when the decision waits for I/O.
enum Claimed<T> {
    Ready(Option<Result<Verified<T>, warp::Rejection>>),
    Waiting(Waiting<T>),
}

// Never pinned structurally: the ready value moves out, the waiting future is boxed.
impl<T> Unpin for Claimed<T> {}

impl<T> Future for Claimed<T> {
    type Output = Result<Verified<T>, warp::Rejection>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Claimed::Ready(ready) => Poll::Ready(
                ready
                    .take()
                    .expect("the filter's future polled after completion"),
            ),
            Claimed::Waiting(waiting) => waiting.as_mut().poll(cx),
        }
    }
}

/// The request head the pipeline reads: method, path, query, headers.
fn request() -> impl Filter<Extract = (Head,), Error = Infallible> + Clone {
    let query = warp::query::raw()
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    warp::method()
        .and(warp::path::full())
        .and(query)
        .and(warp::header::headers_cloned())
        .and(warp::addr::remote())
        .map(
            |method: Method,
             path: warp::path::FullPath,
             query: Option<String>,
             headers,
             peer: Option<std::net::SocketAddr>| Head {
                method,
                path,
                query,
                headers,
                peer,
            },
        )
}

struct Head {
    method: Method,
    path: warp::path::FullPath,
    query: Option<String>,
    headers: HeaderMap,
    peer: Option<std::net::SocketAddr>,
}

impl Head {
    fn view(&self) -> RequestView<'_> {
        RequestView::new(
            self.method.as_str(),
            self.path.as_str(),
            self.query.as_deref(),
            &self.headers,
        )
        .with_peer(self.peer.map(|peer| peer.ip()))
    }
}

/// The guard for a warp route: options (the core [`Guard`]'s, as on every adapter), then
/// [`filter`](Auth::filter) (credentials required) or [`optional_filter`](Auth::optional_filter)
/// (`None` for a request without credentials).
#[must_use]
pub struct Auth<T = StandardClaims> {
    guard: Guard<T>,
}

tokengate::guard_options!(Auth { guard });

impl<T> Auth<T>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    /// The filter: verified claims, or an [`AuthRejection`]. Credentials are required here
    /// even after [`optional`](Auth::optional), whose extract is an `Option`: use
    /// [`optional_filter`](Auth::optional_filter) for that.
    pub fn filter(self) -> impl Filter<Extract = (Verified<T>,), Error = warp::Rejection> + Clone {
        let guard = self.guard;
        request().and_then(
            move |head: Head| match guard.required_claims_now(&head.view(), None) {
                Ok(decided) => Claimed::Ready(Some(decided.map_err(rejection))),
                Err(pending) => Claimed::Waiting(Box::pin(async move {
                    pending.resolve().await.map_err(rejection)
                })),
            },
        )
    }

    /// The filter for optional authentication ([`optional`](Auth::optional) applied):
    /// `None` only when the request carries no credentials; bad credentials are still an
    /// [`AuthRejection`] (a forged token never passes as anonymous). A requirement makes
    /// credentials necessary again.
    pub fn optional_filter(
        self,
    ) -> impl Filter<Extract = (Option<Verified<T>>,), Error = warp::Rejection> + Clone {
        // Shared: a request costs one reference count, not a copy of the guard.
        let guard = std::sync::Arc::new(self.optional().guard);
        request().and_then(move |head: Head| {
            let guard = std::sync::Arc::clone(&guard);
            async move {
                guard
                    .verified_claims(&head.view(), None)
                    .await
                    .map_err(rejection)
            }
        })
    }
}

/// Verified claims of the request's token, deserialized into `T`; rejects with
/// [`AuthRejection`] otherwise. Shorthand for `Auth::new(verifier).claims::<T>().filter()`.
pub fn claims<T>(
    verifier: Verifier,
) -> impl Filter<Extract = (Verified<T>,), Error = warp::Rejection> + Clone
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    Auth::new(verifier).claims::<T>().filter()
}

/// Verified claims that also meet `requirement` (403 `insufficient_scope` otherwise).
/// Shorthand for `Auth::new(verifier).claims::<T>().require(requirement).filter()`.
pub fn scoped<T>(
    verifier: Verifier,
    requirement: Requirement,
) -> impl Filter<Extract = (Verified<T>,), Error = warp::Rejection> + Clone
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    Auth::new(verifier)
        .claims::<T>()
        .require(requirement)
        .filter()
}

/// `None` when the request carries no credentials; verified claims when it carries valid ones;
/// a rejection when it carries bad ones. Shorthand for
/// `Auth::new(verifier).claims::<T>().optional_filter()`.
pub fn optional_claims<T>(
    verifier: Verifier,
) -> impl Filter<Extract = (Option<Verified<T>>,), Error = warp::Rejection> + Clone
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    Auth::new(verifier).claims::<T>().optional_filter()
}

/// The protected-resource metadata document (RFC 9728) of a verifier configured with
/// [`VerifierBuilder::resource`](tokengate::VerifierBuilder::resource): `GET` at its path (the
/// path-inserted form for a resource with a path). Without a resource it matches nothing.
/// One line: `routes.or(tokengate_warp::resource_metadata(&verifier))`.
pub fn resource_metadata(
    verifier: &Verifier,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + use<> {
    let document = verifier
        .resource_metadata()
        .map(|(path, response)| (path.to_owned(), response));
    warp::get()
        .and(warp::path::full())
        .and_then(move |full: warp::path::FullPath| {
            let answer = match &document {
                Some((path, response)) if full.as_str() == path => {
                    Ok(response.clone().map(Into::into))
                }
                _ => Err(warp::reject::not_found()),
            };
            std::future::ready(answer)
        })
}
