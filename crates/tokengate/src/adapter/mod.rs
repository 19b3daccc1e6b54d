//! The request pipeline, for adapter authors: one call per request decides everything.
//!
//! An adapter builds a [`RequestView`] from its framework's request, calls
//! [`Verifier::decide`](crate::Verifier::decide) once with the route's [`Policy`], and
//! translates the [`Decision`] into its framework's types: admit (store the [`Verified`]
//! claims), deny (send the [`Answer`]), or wait ([`Pending::resolve`], then the same). Token
//! sources, the "already verified by an outer layer" shortcut, optional credentials, the
//! route's requirement, the cache and the answer's rendering all live in the core, so every
//! framework decides alike. See `docs/architecture.md`.
//!
//! ```
//! use tokengate::adapter::{Admission, Decision, Policy, RequestView};
//! use tokengate::{Algorithm, Issuer, KeySource, Requirement, StandardClaims, Verifier};
//! use tokengate_testkit::{TestKey, claims_for};
//!
//! let key = TestKey::shared(Algorithm::ES256);
//! let verifier = Verifier::builder()
//!     .issuer(Issuer::new("https://auth.example.com/")
//!         .audience("api")
//!         .keys(KeySource::jwks_json(tokengate_testkit::jwks(&[&key]))))
//!     .build()
//!     .unwrap();
//! let token = key.mint(&claims_for("https://auth.example.com/", "api"));
//!
//! let mut headers = http::HeaderMap::new();
//! headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
//! let request = RequestView::new("GET", "/messages", None, &headers);
//! let policy = Policy::new().require(Requirement::all(["messages:read"]));
//!
//! match verifier.decide::<StandardClaims, _>(&request, &policy, None) {
//!     Decision::Admit(Admission::Verified(claims)) => assert_eq!(claims.subject(), Some("alice")),
//!     Decision::Deny(answer) => panic!("{answer}"),
//!     _ => unreachable!("static keys never wait"),
//! }
//!
//! let none = http::HeaderMap::new();
//! let anonymous = RequestView::new("GET", "/messages", None, &none);
//! let Decision::Deny(answer) = verifier.decide::<StandardClaims, _>(&anonymous, &policy, None) else {
//!     unreachable!()
//! };
//! assert_eq!(answer.status(), 401);
//! // A 401 names the scopes the route needs (MCP 2026-07-28, RFC 6750 section 3).
//! assert_eq!(answer.www_authenticate().unwrap(), r#"Bearer realm="api", scope="messages:read""#);
//! ```

mod claims;
mod guard;
mod pipeline;
mod policy;

pub use crate::request::{ConnectionInfo, RequestHeaders, RequestView};
pub use claims::PendingClaims;
pub use guard::{Guard, Rejection};
pub use pipeline::{Admission, Decision, HeadersChecked, Pending};
pub use policy::Policy;

#[allow(unused_imports)] // for the links above
use crate::{answer::Answer, claims::Verified};
