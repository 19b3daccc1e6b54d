//! Remote key sets (JWKS URL or OIDC discovery) and their lifecycle: TTL from `Cache-Control`,
//! refresh ahead of expiry in the background, unknown-`kid` refetch under a per-issuer cooldown
//! with one shared fetch and a miss-cache, stale keys served through outages, backoff.
//!
//! Requests read the current [`KeySet`] lock-free; only refreshes take the (async) lock.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::Deserialize;

use crate::algorithm::AlgorithmSet;
use crate::clock::Clock;
use crate::fetch::{self, FetchError, FetchErrorKind, Fetcher};
use crate::key::{self, KeySet, VerifyingKey};

/// Key-set lifecycle defaults (`docs/architecture.md`, "Remote keys").
pub(crate) const DEFAULT_TTL: u64 = 600;
pub(crate) const MIN_TTL: u64 = 60;
pub(crate) const MAX_TTL: u64 = 24 * 3600;
pub(crate) const MAX_STALE: u64 = 3600;
pub(crate) const MAX_BODY: usize = 256 * 1024;
pub(crate) const MAX_KEYS: usize = 100;
const MAX_BACKOFF: u64 = 60;
const MISS_CACHE_ENTRIES: usize = 4096;

/// Settings shared by every remote issuer of a verifier.
pub(crate) struct RemoteSettings {
    pub(crate) fetcher: Arc<dyn Fetcher>,
    pub(crate) timeout: Duration,
    pub(crate) cooldown: u64,
}

/// Where an issuer's keys are fetched from.
#[derive(Clone, Debug)]
pub(crate) enum Endpoint {
    /// OIDC discovery, then RFC 8414, from the issuer URL.
    Discover,
    /// A JWKS URL.
    Jwks(url::Url),
}

/// Why a refresh is attempted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// No usable keys (cold start, or past the stale window): honours backoff.
    Unusable,
    /// Refresh ahead of expiry, in the background: honours backoff.
    Ahead,
    /// A token names a kid the set lacks: honours the cooldown.
    UnknownKid,
    /// `Verifier::ready`: fetches now.
    Ready,
}

/// Counters of one remote issuer.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) fetches_ok: AtomicU64,
    pub(crate) fetches_failed: AtomicU64,
    pub(crate) kid_miss_refreshes: AtomicU64,
    pub(crate) cooldown_suppressed: AtomicU64,
    pub(crate) stale_served: AtomicU64,
}

pub(crate) struct RemoteKeys {
    issuer: Arc<str>,
    endpoint: Endpoint,
    algorithms: AlgorithmSet,
    settings: Arc<RemoteSettings>,
    clock: Arc<dyn Clock>,
    jwks_uri: Mutex<Option<url::Url>>,
    lock: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    background: AtomicBool,
    /// Clock second of the last kid-miss refresh, plus one (0: never).
    last_kid_refresh: AtomicU64,
    /// Clock second before which no unforced fetch is tried (backoff).
    next_attempt: AtomicU64,
    failures: AtomicU32,
    last_success: AtomicU64,
    last_failure: Mutex<Option<(FetchErrorKind, String)>>,
    misses: Mutex<HashMap<Box<str>, u64>>,
    pub(crate) counters: Counters,
}

impl fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteKeys")
            .field("issuer", &self.issuer)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Clears the background-refresh flag when dropped; a refresh that panicked counts as a failed
/// fetch and is logged.
struct Release<'a>(&'a RemoteKeys);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0
                .counters
                .fetches_failed
                .fetch_add(1, Ordering::Relaxed);
            tracing::error!(target: "tokengate::keys", issuer = %self.0.issuer, "a background key refresh panicked");
        }
        self.0.background.store(false, Ordering::Release);
    }
}

fn invalid(detail: &'static str) -> FetchError {
    FetchError::new(FetchErrorKind::Invalid, detail)
}

impl RemoteKeys {
    pub(crate) fn new(
        issuer: Arc<str>,
        endpoint: Endpoint,
        algorithms: AlgorithmSet,
        settings: Arc<RemoteSettings>,
        clock: Arc<dyn Clock>,
    ) -> RemoteKeys {
        RemoteKeys {
            issuer,
            endpoint,
            algorithms,
            settings,
            clock,
            jwks_uri: Mutex::new(None),
            lock: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            background: AtomicBool::new(false),
            last_kid_refresh: AtomicU64::new(0),
            next_attempt: AtomicU64::new(0),
            failures: AtomicU32::new(0),
            last_success: AtomicU64::new(0),
            last_failure: Mutex::new(None),
            misses: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        }
    }

    /// Seconds until the next fetch may be tried (for `Retry-After`), at least 1.
    pub(crate) fn retry_after(&self) -> Duration {
        let now = self.clock.now_unix();
        Duration::from_secs(
            self.next_attempt
                .load(Ordering::Acquire)
                .saturating_sub(now)
                .max(1),
        )
    }

    pub(crate) fn consecutive_failures(&self) -> u32 {
        self.failures.load(Ordering::Acquire)
    }

    pub(crate) fn last_success(&self) -> Option<u64> {
        match self.last_success.load(Ordering::Acquire) {
            0 => None,
            t => Some(t - 1),
        }
    }

    /// Why the last failed fetch failed, and its message.
    pub(crate) fn last_failure(&self) -> Option<(FetchErrorKind, String)> {
        self.last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Starts a background refresh if none is running and backoff allows. Never waits.
    pub(crate) fn refresh_in_background(self: &Arc<Self>, keys: &Arc<ArcSwap<KeySet>>) {
        if self.clock.now_unix() < self.next_attempt.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self
            .background
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        let (remote, keys) = (Arc::clone(self), Arc::clone(keys));
        runtime.spawn(async move {
            // Released whatever happens, a panic included: otherwise this issuer would never
            // refresh in the background again.
            let _release = Release(&remote);
            remote.refresh(&keys, Reason::Ahead).await;
        });
    }

    /// A token names `kid`, which the set lacks: refetch once per cooldown window, shared by
    /// concurrent callers. Returns whether the set may have changed (the caller looks again).
    pub(crate) async fn refresh_for_kid(&self, keys: &ArcSwap<KeySet>, kid: &str) -> bool {
        let now = self.clock.now_unix();
        if self.is_recent_miss(kid, now) || self.in_cooldown(now) {
            self.counters
                .cooldown_suppressed
                .fetch_add(1, Ordering::Relaxed);
            self.remember_miss(kid, now);
            return false;
        }
        let changed = self.refresh(keys, Reason::UnknownKid).await;
        if !keys.load().has_kid(kid) {
            self.remember_miss(kid, self.clock.now_unix());
        }
        changed
    }

    fn in_cooldown(&self, now: u64) -> bool {
        match self.last_kid_refresh.load(Ordering::Acquire) {
            0 => false,
            last => now < last - 1 + self.settings.cooldown,
        }
    }

    fn is_recent_miss(&self, kid: &str, now: u64) -> bool {
        let misses = self.misses.lock().unwrap_or_else(|p| p.into_inner());
        misses.get(kid).is_some_and(|until| now < *until)
    }

    fn remember_miss(&self, kid: &str, now: u64) {
        let mut misses = self.misses.lock().unwrap_or_else(|p| p.into_inner());
        if misses.len() >= MISS_CACHE_ENTRIES {
            misses.retain(|_, until| now < *until);
            if misses.len() >= MISS_CACHE_ENTRIES {
                misses.clear();
            }
        }
        misses.insert(kid.into(), now + self.settings.cooldown);
    }

    /// The configured `iss` these keys belong to.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Fetches the key set once for everyone waiting. Returns whether the set may have changed.
    pub(crate) async fn refresh(&self, keys: &ArcSwap<KeySet>, reason: Reason) -> bool {
        let seen = self.generation.load(Ordering::Acquire);
        let _guard = self.lock.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            return true; // another caller refreshed while we waited
        }
        let now = self.clock.now_unix();
        match reason {
            Reason::UnknownKid => {
                if self.in_cooldown(now) {
                    self.counters
                        .cooldown_suppressed
                        .fetch_add(1, Ordering::Relaxed);
                    #[cfg(feature = "metrics")]
                    crate::observe::kid_refresh(&self.issuer, false);
                    return false;
                }
                self.last_kid_refresh.store(now + 1, Ordering::Release);
                self.counters
                    .kid_miss_refreshes
                    .fetch_add(1, Ordering::Relaxed);
                #[cfg(feature = "metrics")]
                crate::observe::kid_refresh(&self.issuer, true);
            }
            Reason::Unusable | Reason::Ahead => {
                if now < self.next_attempt.load(Ordering::Acquire) {
                    return false;
                }
            }
            Reason::Ready => {}
        }
        // The span covers the fetch only (instrumented, never entered across an await); the
        // events below name it as their parent.
        let span = tracing::debug_span!(target: "tokengate::keys", "fetch_keys", issuer = %self.issuer, reason = ?reason);
        #[cfg(feature = "metrics")]
        let started = std::time::Instant::now();
        let fetched = tracing::Instrument::instrument(self.fetch(), span.clone());
        let result = match tokio::time::timeout(self.settings.timeout, fetched).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::new(
                FetchErrorKind::Timeout,
                "the fetch took longer than the timeout",
            )),
        };
        let now = self.clock.now_unix();
        let ok = match result {
            Ok((list, ttl)) => {
                let count = list.len();
                keys.store(Arc::new(KeySet::timed(list, now, ttl, MAX_STALE)));
                self.counters.fetches_ok.fetch_add(1, Ordering::Relaxed);
                #[cfg(feature = "metrics")]
                crate::observe::key_fetch(&self.issuer, true, started.elapsed(), Some(count));
                self.failures.store(0, Ordering::Release);
                self.next_attempt.store(0, Ordering::Release);
                self.last_success.store(now + 1, Ordering::Release);
                tracing::debug!(target: "tokengate::keys", parent: &span, issuer = %self.issuer, keys = count, ttl, "keys fetched");
                true
            }
            Err(error) => {
                let failures = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
                let backoff = (1u64 << (failures - 1).min(6)).min(MAX_BACKOFF);
                self.next_attempt.store(now + backoff, Ordering::Release);
                self.counters.fetches_failed.fetch_add(1, Ordering::Relaxed);
                #[cfg(feature = "metrics")]
                crate::observe::key_fetch(&self.issuer, false, started.elapsed(), None);
                *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((error.kind(), error.to_string()));
                if !matches!(
                    error.kind(),
                    FetchErrorKind::Connect | FetchErrorKind::IssuerMismatch
                ) {
                    // A wrong document may mean a moved jwks_uri: discover again next time.
                    *self.jwks_uri.lock().unwrap_or_else(|p| p.into_inner()) = None;
                }
                tracing::warn!(target: "tokengate::keys", parent: &span, issuer = %self.issuer, error = %error, failures, "key fetch failed");
                false
            }
        };
        self.generation.fetch_add(1, Ordering::AcqRel);
        ok
    }

    async fn fetch(&self) -> Result<(Vec<VerifyingKey>, u64), FetchError> {
        let url = match &self.endpoint {
            Endpoint::Jwks(url) => url.clone(),
            Endpoint::Discover => self.discovered().await?,
        };
        let document = self.settings.fetcher.get(url.as_str(), MAX_BODY).await?;
        if document.status != 200 {
            return Err(FetchError::new(
                FetchErrorKind::Status,
                "the key set answered with a status other than 200",
            ));
        }
        if document.body.len() > MAX_BODY {
            return Err(FetchError::new(
                FetchErrorKind::TooLarge,
                "the body is larger than the cap",
            ));
        }
        let (list, dropped) =
            key::parse_jwks(&document.body, false).map_err(|_| invalid("not a JWKS document"))?;
        if list.len() + dropped > MAX_KEYS {
            return Err(invalid("the key set has more than 100 keys"));
        }
        let list: Vec<_> = list
            .into_iter()
            .filter_map(|k| k.restricted_to(self.algorithms))
            .collect();
        if list.is_empty() {
            return Err(invalid("the key set has no usable key"));
        }
        let ttl = document
            .cache_control
            .as_deref()
            .and_then(fetch::max_age)
            .unwrap_or(DEFAULT_TTL)
            .clamp(MIN_TTL, MAX_TTL);
        Ok((list, ttl))
    }

    /// The JWKS URL from OIDC discovery, or RFC 8414 metadata when that fails.
    async fn discovered(&self) -> Result<url::Url, FetchError> {
        if let Some(url) = self
            .jwks_uri
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Ok(url);
        }
        let metadata = discover(&*self.settings.fetcher, &self.issuer).await?;
        let jwks_uri = metadata
            .jwks_uri
            .ok_or_else(|| invalid("the discovery document has no jwks_uri"))?;
        let url = fetch::check_url(&jwks_uri)
            .map_err(|_| invalid("jwks_uri must be https (or loopback)"))?;
        *self.jwks_uri.lock().unwrap_or_else(|p| p.into_inner()) = Some(url.clone());
        Ok(url)
    }
}

/// The issuer's metadata: OIDC discovery (`{issuer}/.well-known/openid-configuration`), else
/// RFC 8414 (`/.well-known/oauth-authorization-server{path}`). The document must be strict JSON
/// naming exactly the configured issuer.
pub(crate) async fn discover(fetcher: &dyn Fetcher, issuer: &str) -> Result<Metadata, FetchError> {
    let base = issuer.trim_end_matches('/');
    let oidc = format!("{base}/.well-known/openid-configuration");
    match metadata(fetcher, issuer, &oidc).await {
        Ok(metadata) => Ok(metadata),
        Err(error)
            if matches!(
                error.kind(),
                FetchErrorKind::Invalid | FetchErrorKind::IssuerMismatch
            ) =>
        {
            Err(error)
        }
        Err(_) => {
            let parsed = url::Url::parse(issuer).map_err(|_| invalid("the issuer is not a URL"))?;
            let mut rfc8414 = parsed.clone();
            let path = parsed.path().trim_end_matches('/');
            rfc8414.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
            metadata(fetcher, issuer, rfc8414.as_str()).await
        }
    }
}

async fn metadata(fetcher: &dyn Fetcher, issuer: &str, url: &str) -> Result<Metadata, FetchError> {
    let document = fetcher.get(url, MAX_BODY).await?;
    if document.status != 200 {
        return Err(FetchError::new(
            FetchErrorKind::Status,
            "discovery answered with a status other than 200",
        ));
    }
    // Strict like every other JSON input: a repeated member is refused.
    let metadata: Metadata = crate::json::from_strict_slice(&document.body)
        .map_err(|_| invalid("the discovery document is not valid"))?;
    if metadata.issuer != issuer {
        let hint = if metadata.issuer.trim_end_matches('/') == issuer.trim_end_matches('/') {
            " (they differ only in a trailing slash: configure the issuer exactly as the \
             provider publishes it)"
        } else {
            ""
        };
        return Err(FetchError::new(
            FetchErrorKind::IssuerMismatch,
            format!(
                "the discovery document at {url} names the issuer {:?}, but the configured \
                 issuer is {:?}{hint}",
                metadata.issuer, issuer
            ),
        ));
    }
    Ok(metadata)
}

/// The members of an issuer's metadata tokengate uses.
#[derive(Deserialize)]
pub(crate) struct Metadata {
    issuer: String,
    jwks_uri: Option<String>,
    pub(crate) introspection_endpoint: Option<String>,
}
