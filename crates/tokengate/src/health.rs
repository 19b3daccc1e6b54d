//! Health of each issuer's keys, for readiness probes and dashboards.

#[cfg(feature = "remote")]
use std::sync::atomic::Ordering;

use crate::fetch::FetchErrorKind;
#[cfg(feature = "remote")]
use crate::remote::RemoteKeys;

/// The state of an issuer's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeysState {
    /// Configured keys: never fetched, never stale.
    Static,
    /// Fetched keys within their TTL.
    Fresh,
    /// Fetched keys past their TTL, still served (refreshes are failing or pending).
    Stale,
    /// No usable keys: tokens of this issuer are answered with `keys_unavailable`.
    Failing,
}

/// A snapshot of one issuer's keys.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuerHealth {
    /// The issuer's `iss`.
    pub issuer: String,
    /// Fresh, stale, failing, or static.
    pub state: KeysState,
    /// How many keys are loaded.
    pub key_count: usize,
    /// Clock second of the last successful fetch.
    pub last_success: Option<u64>,
    /// Fetches that failed since the last success.
    pub consecutive_failures: u32,
    /// Why the last failed fetch failed.
    pub last_failure: Option<FetchErrorKind>,
    /// The last failed fetch's message: what failed and why (e.g. connection refused, a status,
    /// a timeout, the issuer named by the discovery document). Names URLs and issuers, never
    /// document content otherwise.
    pub last_failure_message: Option<String>,
    /// Successful fetches.
    pub fetches_ok: u64,
    /// Failed fetches.
    pub fetches_failed: u64,
    /// Refetches caused by unknown `kid`s.
    pub kid_miss_refreshes: u64,
    /// Unknown-`kid` refetches skipped because of the cooldown or the miss-cache.
    pub cooldown_suppressed: u64,
    /// Requests verified with keys past their TTL.
    pub stale_served: u64,
    /// The issuer's token introspection, when configured.
    pub introspection: Option<IntrospectionHealth>,
    /// The algorithms tokens can be verified with now: the allowlist, narrowed to the current
    /// keys' types (empty without keys).
    pub algorithms: crate::algorithm::AlgorithmSet,
}

/// A snapshot of one issuer's token introspection (RFC 7662).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IntrospectionHealth {
    /// The endpoint.
    pub endpoint: String,
    /// Calls made to the endpoint.
    pub calls: u64,
    /// Calls that found the token active and acceptable.
    pub active: u64,
    /// Calls that refused the token (inactive, expired, another audience, ...).
    pub refused: u64,
    /// Calls that failed (down, slow, an error status, invalid JSON) or could not start
    /// (too many in flight): each answered 503.
    pub failures: u64,
    /// Requests answered from the cache without a call.
    pub cache_hits: u64,
    /// Results cached now.
    pub cached: u64,
    /// Why the last failed call failed.
    pub last_failure: Option<FetchErrorKind>,
    /// The last failed call's message (names the endpoint, never the token or the secret).
    pub last_failure_message: Option<String>,
}

impl IssuerHealth {
    pub(crate) fn for_static(issuer: &str, key_count: usize) -> IssuerHealth {
        IssuerHealth {
            issuer: issuer.to_owned(),
            state: KeysState::Static,
            key_count,
            last_success: None,
            consecutive_failures: 0,
            last_failure: None,
            last_failure_message: None,
            fetches_ok: 0,
            fetches_failed: 0,
            kid_miss_refreshes: 0,
            cooldown_suppressed: 0,
            stale_served: 0,
            introspection: None,
            algorithms: crate::algorithm::AlgorithmSet::EMPTY,
        }
    }

    #[cfg(feature = "remote")]
    pub(crate) fn for_remote(
        issuer: &str,
        state: KeysState,
        key_count: usize,
        remote: &RemoteKeys,
    ) -> IssuerHealth {
        let c = &remote.counters;
        IssuerHealth {
            issuer: issuer.to_owned(),
            state,
            key_count,
            last_success: remote.last_success(),
            consecutive_failures: remote.consecutive_failures(),
            last_failure: remote.last_failure().map(|(kind, _)| kind),
            last_failure_message: remote.last_failure().map(|(_, message)| message),
            fetches_ok: c.fetches_ok.load(Ordering::Relaxed),
            fetches_failed: c.fetches_failed.load(Ordering::Relaxed),
            kid_miss_refreshes: c.kid_miss_refreshes.load(Ordering::Relaxed),
            cooldown_suppressed: c.cooldown_suppressed.load(Ordering::Relaxed),
            stale_served: c.stale_served.load(Ordering::Relaxed),
            introspection: None,
            algorithms: crate::algorithm::AlgorithmSet::EMPTY,
        }
    }
}
