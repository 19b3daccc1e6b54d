//! Verify OAuth 2.0 / OIDC access tokens (JWTs signed as compact JWS) and hand your handlers
//! typed claims.
//!
//! This is the framework-neutral core: configuration, token extraction rules, strict parsing,
//! keys, signature and claim validation, scopes, errors, the RFC 6750 answers, and the request
//! pipeline ([`adapter`]) that every adapter — tower/axum, actix-web, warp — calls once per
//! request. Every security decision is made here, so every adapter behaves identically (see
//! `docs/architecture.md`).
//!
//! ```
//! use tokengate::{Algorithm, ErrorKind, Issuer, KeySource, Requirement, StandardClaims, Verifier};
//! use tokengate_testkit::{TestKey, claims_for};
//!
//! # futures_executor::block_on(async {
//! let key = TestKey::shared(Algorithm::ES256);
//! let verifier = Verifier::builder()
//!     .issuer(Issuer::new("https://auth.example.com/")
//!         .audience("api://orders")
//!         .keys(KeySource::jwks_json(tokengate_testkit::jwks(&[&key]))))
//!     .build()?;
//!
//! let token = key.mint(&claims_for("https://auth.example.com/", "api://orders"));
//! let verified = verifier.verify::<StandardClaims>(&token).await?;
//! assert_eq!(verified.subject(), Some("alice"));
//! verified.require(&Requirement::all(["messages:read"]))?;
//!
//! // An attacker's key that reuses the trusted kid:
//! let attacker = TestKey::generate(Algorithm::ES256).with_kid(key.kid());
//! let forged = attacker.mint(&claims_for("https://auth.example.com/", "api://orders"));
//! let error = verifier.verify::<StandardClaims>(&forged).await.unwrap_err();
//! assert_eq!(error.kind(), ErrorKind::InvalidSignature);
//! let answer = verifier.answer(&error);
//! assert_eq!(answer.status(), 401);
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Secure defaults (see `docs/security.md`): an explicit issuer and audience, an algorithm
//! allowlist without `none` and without HMAC unless asked for, `exp` required, 60 s leeway,
//! strict headers (`crit`, `b64` refused; `jku`, `x5u`, `x5c`, `jwk` ignored), exact `kid`
//! match, weak keys refused when loaded, tokens over 16 KiB refused before decoding, duplicate
//! JSON members refused.

pub mod adapter;
mod algorithm;
mod answer;
mod binding;
#[cfg(feature = "cache")]
mod cache;
pub mod challenge;
#[cfg(feature = "checks")]
pub mod checks;
mod claims;
pub mod clock;
pub mod dangerous;
mod error;
mod extract;
pub mod fetch;
mod health;
#[cfg(feature = "remote")]
mod introspect;
mod issuer;
mod json;
mod jws;
mod key;
#[cfg(feature = "mcp")]
pub mod mcp;
#[cfg(feature = "metrics")]
pub mod observe;
mod providers;
#[cfg(feature = "remote")]
mod remote;
mod request;
mod requirement;
mod resource;
mod scopes;
mod store;
mod verifier;

/// The `bytes` crate of [`Answer::body`].
pub use bytes;
/// The `http` crate whose types the core uses (`StatusCode`, `HeaderValue`, `HeaderMap`), so a
/// custom [`AnswerBody`] needs no dependency of its own (actix-web uses an older `http`).
pub use http;

pub use algorithm::{Algorithm, AlgorithmSet};
pub use answer::{Answer, AnswerBody, PlainText, ProblemJson};
pub use binding::{
    DEFAULT_DPOP_WINDOW, Dpop, DpopNonces, MAX_DPOP_WINDOW, NonceSource, TrustedProxies,
};
#[cfg(feature = "cache")]
pub use cache::{CacheStats, TokenCache};
pub use claims::{Audience, PrincipalKey, StandardClaims, Verified};
pub use error::{ConfigError, ConfigErrorKind, Error, ErrorKind};
pub use extract::TokenSources;
pub use health::{IntrospectionHealth, IssuerHealth, KeysState};
#[cfg(feature = "remote")]
pub use introspect::{
    CheckRequest, ClientKey, FACEBOOK_DEBUG_TOKEN, GOOGLE_TOKENINFO, Introspection,
    IntrospectionCache, TokenCheck,
};
pub use issuer::{Issuer, KeySource};
pub use key::{KeyType, VerifyingKey};
pub use providers::{Provider, UnknownProvider};
pub use requirement::{RequiredScopes, Requirement};
pub use resource::{METADATA_PATH, ProtectedResource};
pub use scopes::Scopes;
pub use store::{
    DEFAULT_REPLAY_CAPACITY, FirstUse, Lookup, MemoryReplayStore, MemoryRevocationList, ProofUse,
    Recorded, ReplayStore, Reply, RevocationList, RevocationStatus, SharedAnswer, SharedLookup,
    SharedStore, StoreFuture, StoreRead, StoreUnavailable, StoreWrite, StoredValue, TokenIdentity,
};
pub use verifier::{
    Attempt, DEFAULT_FETCH_TIMEOUT, DEFAULT_KID_REFRESH_COOLDOWN, DEFAULT_LEEWAY,
    DEFAULT_MAX_TOKEN_BYTES, MAX_LEEWAY, StoreErrors, Verifier, VerifierBuilder, Wait,
};
