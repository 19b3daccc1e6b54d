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
pub mod answer;
pub mod apikey;
mod binding;
#[cfg(feature = "cache")]
pub mod cache;
pub mod challenge;
#[cfg(feature = "checks")]
pub mod checks;
pub mod claims;
pub mod clock;
pub mod dangerous;
pub mod error;
#[cfg(feature = "exchange")]
pub mod exchange;
mod extract;
pub mod fetch;
pub mod health;
#[cfg(feature = "remote")]
mod introspect;
mod issuer;
mod json;
mod jwe;
mod jws;
mod key;
#[cfg(feature = "live")]
pub mod live;
#[cfg(feature = "mcp")]
pub mod mcp;
#[cfg(feature = "metrics")]
pub mod observe;
pub mod providers;
#[cfg(feature = "remote")]
mod remote;
mod request;
mod requirement;
pub mod resource;
mod scopes;
pub mod store;
pub mod verifier;

/// The `bytes` crate of [`Answer::body`].
pub use bytes;
/// The `http` crate whose types the core uses (`StatusCode`, `HeaderValue`, `HeaderMap`), so a
/// custom [`AnswerBody`] needs no dependency of its own (actix-web uses an older `http`).
pub use http;

// The root holds what nearly every user names; the rest lives in its neighbourhood
// (`docs/architecture.md`, "The public surface").
pub use algorithm::Algorithm;
pub use answer::{Answer, AnswerBody};
pub use claims::{StandardClaims, Verified};
pub use error::{ConfigError, Error, ErrorKind};
pub use extract::TokenSources;
pub use issuer::{Issuer, KeySource};
pub use providers::Provider;
pub use requirement::{RequiredScopes, Requirement};
pub use resource::ProtectedResource;
pub use scopes::Scopes;
pub use verifier::{Verifier, VerifierBuilder};

/// Keys and algorithms: what verifies a signature, and where it comes from.
pub mod keys {
    pub use crate::algorithm::{Algorithm, AlgorithmSet};
    pub use crate::health::KeysState;
    pub use crate::issuer::KeySource;
    pub use crate::jwe::{ContentEncryption, DecryptionKey, KeyManagement};
    pub use crate::key::{KeyType, VerifyingKey};
}

/// Sender-constrained tokens by DPoP (RFC 9449): the verifier's DPoP settings and server nonces.
/// mTLS-bound tokens (RFC 8705) need no settings beyond the adapter's `ConnectionInfo`.
pub mod dpop {
    pub use crate::binding::{DEFAULT_DPOP_WINDOW, Dpop, DpopNonces, MAX_DPOP_WINDOW, NonceSource};
}

/// Opaque tokens by introspection (RFC 7662) and provider token-check endpoints.
#[cfg(feature = "remote")]
pub mod introspection {
    pub use crate::introspect::{
        CheckRequest, ClientKey, FACEBOOK_DEBUG_TOKEN, GOOGLE_TOKENINFO, Introspection,
        IntrospectionCache, TokenCheck,
    };
}

mod deprecated;
#[allow(deprecated)]
pub use deprecated::*;
