//! tokengate for actix-web 4: a middleware that verifies the bearer token of every request, and
//! extractors that hand handlers typed claims.
//!
//! Every security decision is made by the core's request pipeline
//! ([`tokengate::adapter`]), called once per request by the middleware and by each extractor;
//! this crate only carries its answers into actix responses. `tokengate` is re-exported, so this
//! crate is the only dependency an actix-web service needs.
//!
//! ```
//! use actix_web::{App, web};
//! use tokengate_actix::{Claims, Issuer, KeySource, OptionalClaims, Scoped, Auth, Verifier};
//!
//! struct MessagesRead;
//! impl tokengate_actix::RequiredScopes for MessagesRead {
//!     const SCOPES: &'static [&'static str] = &["messages:read"];
//! }
//!
//! async fn me(claims: Claims) -> String {
//!     claims.subject().unwrap_or_default().to_owned()
//! }
//! async fn greeting(claims: OptionalClaims) -> String {
//!     let name = claims.0.as_ref().and_then(|c| c.subject()).unwrap_or("anonymous");
//!     format!("Hello, {name}!")
//! }
//! async fn messages(claims: Scoped<MessagesRead>) -> String {
//!     format!("messages for {}", claims.subject().unwrap_or_default())
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder()
//!     .issuer(Issuer::new("https://auth.example.com/").audience("api").keys(KeySource::discover()))
//!     .build()?;
//! let app = App::new()
//!     .app_data(verifier.clone()) // extractor-only mode: extractors find it here
//!     .route("/me", web::get().to(me))
//!     .route("/greeting", web::get().to(greeting))
//!     .route("/messages", web::get().to(messages))
//!     // middleware mode, for a scope or resource (or `App::wrap` for everything):
//!     .service(web::scope("/admin").wrap(Auth::new(verifier).require_scopes(["admin"])));
//! # let _ = app; Ok(()) }
//! ```
//!
//! **Optional authentication: use [`OptionalClaims`], not `Option<Claims>`.** actix-web turns
//! *every* extractor error into `None` for `Option<T>`, so `Option<Claims>` would let a request
//! with a forged or expired token through as anonymous. `OptionalClaims` is `None` only when the
//! request carries no credentials and rejects bad ones.
//!
//! Scope requirements are a typed extractor ([`Scoped`]) or middleware
//! ([`Auth::require`]), not an actix guard: a guard can only fail to match (404), never
//! answer 403 `insufficient_scope`.

mod extract;
#[cfg(feature = "live")]
mod live;
mod metadata;
mod middleware;
mod response;

pub use extract::{AuthRejection, Claims, OptionalClaims, Scoped};
#[cfg(feature = "live")]
pub use live::Live;
#[cfg(feature = "ws")]
pub use live::LiveStream;
pub use metadata::resource_metadata;
pub use middleware::{Auth, AuthMiddleware};
pub use tokengate;
pub use tokengate::{
    Algorithm, Answer, AnswerBody, Error, ErrorKind, Issuer, KeySource, ProtectedResource,
    RequiredScopes, Requirement, StandardClaims, TokenSources, Verified, Verifier,
    answer::PlainText, answer::ProblemJson, resource::METADATA_PATH,
};
