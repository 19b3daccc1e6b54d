//! tokengate for tower: one layer verifies the bearer token of every request for any http 1.x
//! service (axum routers, hyper services, tonic servers), and — with the default `axum`
//! feature — extractors hand handlers typed claims.
//!
//! Every security decision is made by the core's request pipeline
//! ([`tokengate::adapter`]), called once per request by the layer and by each extractor; this
//! crate only carries its answers into HTTP (or gRPC) responses. `tokengate` is re-exported, so
//! this crate is the only dependency an axum or tonic service needs.
//!
//! ```
//! use axum::{Router, routing::get};
//! use tokengate_tower::{AuthLayer, Claims, Issuer, KeySource, Verifier};
//!
//! async fn me(claims: Claims) -> String {
//!     format!("hello {}", claims.subject().unwrap_or("?"))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder()
//!     .issuer(Issuer::new("https://auth.example.com/").audience("api").keys(KeySource::discover()))
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .layer(AuthLayer::new(verifier)); // the one line
//! # let _ = app; Ok(()) }
//! ```
//!
//! Extractor-only mode, optional auth and scopes — no global layer, the `Verifier` in the router
//! state:
//!
//! ```
//! use axum::{Router, routing::get};
//! use tokengate_tower::{AuthLayer, Claims, Issuer, KeySource, RequiredScopes, Scoped, Verifier};
//!
//! struct MessagesRead;
//! impl RequiredScopes for MessagesRead {
//!     const SCOPES: &'static [&'static str] = &["messages:read"];
//! }
//!
//! // 401 without a valid token.
//! async fn me(claims: Claims) -> String {
//!     claims.subject().unwrap_or_default().to_owned()
//! }
//! // None only without credentials; a bad token is still a 401.
//! async fn greeting(claims: Option<Claims>) -> String {
//!     let name = claims.as_ref().and_then(|c| c.subject()).unwrap_or("anonymous");
//!     format!("Hello, {name}!")
//! }
//! // 403 insufficient_scope (with `scope="messages:read"`) when the scope is missing.
//! async fn messages(claims: Scoped<MessagesRead>) -> String {
//!     format!("messages for {}", claims.subject().unwrap_or_default())
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder()
//!     .issuer(Issuer::new("https://auth.example.com/").audience("api").keys(KeySource::discover()))
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .route("/greeting", get(greeting))
//!     .route("/messages", get(messages))
//!     // or, as a layer on one route:
//!     .route(
//!         "/admin",
//!         get(|| async { "admin" })
//!             .route_layer(AuthLayer::new(verifier.clone()).require_scopes(["admin"])),
//!     )
//!     .with_state(verifier);
//! # let _ = app; Ok(()) }
//! ```
//!
//! Long-lived connections: the layer ends gRPC streams (`UNAUTHENTICATED`) and server-sent
//! events at the token's `exp` or a failed re-check; [`Live`] gives an axum WebSocket route a
//! socket that closes with 1008 then (feature `ws`). `docs/guide.md`, "Long-lived connections".
//!
//! gRPC (tonic): the same layer answers `UNAUTHENTICATED` / `PERMISSION_DENIED` (with the
//! challenge in the `www-authenticate` metadata) for requests whose content type is
//! `application/grpc`.

/// `get_ref`, `get_mut` and `into_inner` for a service wrapping another in its field `inner`.
macro_rules! inner_service_accessors {
    ($name:ident) => {
        impl<S, T> $name<S, T> {
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
    };
}

mod body;
#[cfg(feature = "axum")]
mod extract;
mod layer;
#[cfg(feature = "live")]
mod live;
#[cfg(feature = "mcp")]
pub mod mcp;
mod metadata;
mod response;

pub use body::{AuthBody, BoxError};
#[cfg(feature = "axum")]
pub use extract::{AuthRejection, Claims, Scoped, VerifierState};
pub use layer::{Auth, AuthLayer, ResponseFuture};
#[cfg(all(feature = "live", feature = "axum"))]
pub use live::Live;
#[cfg(feature = "ws")]
pub use live::LiveSocket;
pub use metadata::ResourceMetadata;
pub use tokengate;
pub use tokengate::{
    Algorithm, Answer, AnswerBody, Error, ErrorKind, Issuer, KeySource, ProtectedResource,
    RequiredScopes, Requirement, StandardClaims, TokenSources, Verified, Verifier,
    answer::PlainText, answer::ProblemJson, resource::METADATA_PATH,
};
