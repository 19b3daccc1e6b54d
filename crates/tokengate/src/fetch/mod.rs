//! Fetching key sets and discovery documents: the [`Fetcher`] trait, the default
//! [`HttpFetcher`] on reqwest with rustls, and the URL policy (HTTPS except loopback).
//!
//! Bring your own client (private CA, proxy, service mesh) by implementing [`Fetcher`]; it serves
//! discovery and key fetches alike. tokengate still bounds every call with its timeout and checks
//! the status, body size and key count itself.
//!
//! Without the default feature `remote` only [`FetchErrorKind`] is here (it appears in
//! [`IssuerHealth`](crate::health::IssuerHealth)); key sources are then static.

use std::net::IpAddr;

#[cfg(feature = "remote")]
mod client;

#[cfg(feature = "remote")]
pub(crate) use client::max_age;
#[cfg(feature = "remote")]
pub use client::{FetchError, FetchedDocument, Fetcher, HttpFetcher};

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

/// Checks that `url` is HTTPS, or HTTP to a loopback host.
pub(crate) fn check_url(url: &str) -> Result<url::Url, &'static str> {
    let parsed = url::Url::parse(url).map_err(|_| "not a valid URL")?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => Err("plain http is allowed only to loopback hosts: use https"),
        _ => Err("only https URLs are allowed"),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}
