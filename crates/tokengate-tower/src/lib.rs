//! tokengate for tower: one layer verifies the bearer token of every request for any http 1.x
//! service (axum routers, hyper services, tonic servers), and — with the default `axum`
//! feature — extractors hand handlers typed claims.
//!
//! Every security decision is made by the core ([`tokengate`]); this crate only carries its
//! answers into HTTP (or gRPC) responses.
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
//! Extractor-only mode (no layer): put the `Verifier` in the router state and take
//! [`Claims`], `Option<Claims>` or [`Scoped`] in handlers. Per-route scopes as a layer:
//! `.route_layer(AuthLayer::new(verifier).require_scopes(["messages:read"]))`.
//!
//! gRPC (tonic): the same layer answers `UNAUTHENTICATED` / `PERMISSION_DENIED` (with the
//! challenge in the `www-authenticate` metadata) for requests whose content type is
//! `application/grpc`.

mod body;
#[cfg(feature = "axum")]
mod extract;
mod layer;
mod response;

pub use body::{AuthBody, BoxError};
#[cfg(feature = "axum")]
pub use extract::{AuthRejection, Claims, RequiredScopes, Scoped, VerifierState};
pub use layer::{Auth, AuthLayer, ResponseFuture};
pub use response::{PlainText, ProblemJson, RejectionBody};
pub use tokengate::{
    Algorithm, Error, ErrorKind, Issuer, KeySource, Rejection, Requirement, StandardClaims,
    TokenSources, Verified, Verifier,
};
