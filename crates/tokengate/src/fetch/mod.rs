//! Fetching key sets and discovery documents: the [`Fetcher`] trait, the default
//! [`HttpFetcher`] on reqwest with rustls, and the URL policy (HTTPS except loopback).
//!
//! Bring your own client (private CA, proxy, service mesh) by implementing [`Fetcher`]; it serves
//! discovery and key fetches alike. tokengate still bounds every call with its timeout and checks
//! the status, body size and key count itself.
//!
//! Without the default feature `remote` only [`FetchErrorKind`] is here (it appears in
//! [`IssuerHealth`](crate::IssuerHealth)); key sources are then static.

#[cfg(feature = "remote")]
mod client;

#[cfg(feature = "remote")]
pub use client::{FetchError, FetchedDocument, Fetcher, HttpFetcher};
#[cfg(feature = "remote")]
pub(crate) use client::{check_url, max_age};

/// Why a fetch failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FetchErrorKind {
    /// No connection could be made (refused, unreachable, DNS, TLS).
    Connect,
    /// The fetch took longer than the timeout.
    Timeout,
    /// The status was not 200.
    Status,
    /// The body was larger than the cap.
    TooLarge,
    /// The document is not what was expected (not JSON, not a JWKS, too many keys, a
    /// `jwks_uri` that is not HTTPS).
    Invalid,
    /// The discovery document names another issuer than the configured one: a configuration
    /// mistake (often a trailing slash), not an outage.
    IssuerMismatch,
    /// A redirect to another host, or anything else.
    Other,
}
