//! The [`Verifier`]: one configured, shareable checker of access tokens.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::de::DeserializeOwned;

use crate::algorithm::AlgorithmSet;
use crate::cache::{self, Cache, TokenCache};
use crate::challenge::{self, Realm, Rejection};
use crate::claims::{Scopes, Verified};
use crate::clock::{Clock, SystemClock};
use crate::error::{ConfigError, ConfigErrorKind, Error, ErrorKind};
use crate::extract::{BearerToken, TokenSources};
use crate::fetch::{Fetcher, HttpFetcher};
use crate::health::{IssuerHealth, KeysState};
use crate::issuer::Issuer;
use crate::json::{self, Loose, Want};
use crate::jws;
use crate::key::KeySet;
use crate::remote::{Reason, RemoteKeys, RemoteSettings};

/// The default timeout of one key or discovery fetch.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The default per-issuer cooldown between refetches for unknown `kid`s.
pub const DEFAULT_KID_REFRESH_COOLDOWN: Duration = Duration::from_secs(30);

/// The default leeway for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// The largest leeway a verifier accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// The default cap on a token's length, checked before any decoding.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Times beyond 9999-12-31 are refused as impossible.
const MAX_TIME: f64 = 253_402_300_799.0;
const RFC9068_CLAIMS: [&str; 7] = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"];

/// Verifies access tokens. Cheap to clone (shared inside), `Send + Sync`.
///
/// `Debug` shows issuers and settings, never keys.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuers: Vec<IssuerState>,
    /// Top-level claim names any issuer needs beyond the registered ones, and how.
    wanted: Vec<(Box<str>, Want)>,
    leeway: u64,
    clock: Arc<dyn Clock>,
    realm: Realm,
    max_token_bytes: usize,
    sources: TokenSources,
    keys_unavailable_401: bool,
    cache: Option<Cache>,
}

struct IssuerState {
    iss: Arc<str>,
    audiences: Vec<Box<str>>,
    check_audience: bool,
    algorithms: AlgorithmSet,
    keys: Arc<ArcSwap<KeySet>>,
    remote: Option<Arc<RemoteKeys>>,
    roles_paths: Vec<Vec<String>>,
    scope_claims: Vec<Vec<String>>,
    audience_claim: Option<Vec<String>>,
    rfc9068: bool,
    required: Vec<Box<str>>,
}

/// Builds a [`Verifier`]; every setup mistake surfaces from [`build`](VerifierBuilder::build).
#[must_use]
pub struct VerifierBuilder {
    issuers: Vec<Issuer>,
    leeway: Duration,
    clock: Arc<dyn Clock>,
    realm: Option<String>,
    max_token_bytes: usize,
    sources: TokenSources,
    fetcher: Option<Arc<dyn Fetcher>>,
    fetch_timeout: Duration,
    kid_refresh_cooldown: Duration,
    keys_unavailable_401: bool,
    cache: Option<TokenCache>,
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("issuers", &self.issuers)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

impl VerifierBuilder {
    /// Trust one more issuer. A token's `iss` picks its issuer before any key is looked up,
    /// and each issuer's keys verify only that issuer's tokens.
    pub fn issuer(mut self, issuer: Issuer) -> VerifierBuilder {
        self.issuers.push(issuer);
        self
    }

    /// Clock skew tolerated for `exp`, `nbf` and `iat`. Default 60 s, at most 300 s.
    pub fn leeway(mut self, leeway: Duration) -> VerifierBuilder {
        self.leeway = leeway;
        self
    }

    /// The clock to judge time by (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> VerifierBuilder {
        self.clock = Arc::new(clock);
        self
    }

    /// The `realm` of challenges. Default `"api"`.
    pub fn realm(mut self, realm: impl Into<String>) -> VerifierBuilder {
        self.realm = Some(realm.into());
        self
    }

    /// The largest token accepted, in bytes, checked before decoding. Default 16 KiB.
    pub fn max_token_bytes(mut self, max: usize) -> VerifierBuilder {
        self.max_token_bytes = max;
        self
    }

    /// Where adapters look for the token. Default: `Authorization: Bearer` only.
    pub fn token_sources(mut self, sources: TokenSources) -> VerifierBuilder {
        self.sources = sources;
        self
    }

    /// The client for remote key sets and discovery (default: [`HttpFetcher`], reqwest with
    /// rustls). Use it for a private CA, a proxy or a service mesh.
    pub fn fetcher(mut self, fetcher: impl Fetcher) -> VerifierBuilder {
        self.fetcher = Some(Arc::new(fetcher));
        self
    }

    /// The longest one key refresh (discovery plus key set) may take. Default 5 s.
    pub fn fetch_timeout(mut self, timeout: Duration) -> VerifierBuilder {
        self.fetch_timeout = timeout;
        self
    }

    /// The per-issuer minimum time between refetches caused by unknown `kid`s. Default 30 s.
    pub fn kid_refresh_cooldown(mut self, cooldown: Duration) -> VerifierBuilder {
        self.kid_refresh_cooldown = cooldown;
        self
    }

    /// Answer "no usable key for the issuer" with 401 `invalid_token` instead of the default
    /// 503 with `Retry-After`. (503 tells clients and load balancers the outage is ours.)
    pub fn keys_unavailable_as_unauthorized(mut self) -> VerifierBuilder {
        self.keys_unavailable_401 = true;
        self
    }

    /// Cache verified tokens (off by default): a client reusing its token pays for the signature
    /// once. Used by [`Verifier::verify_cached`] and [`Verifier::verify_if_ready_cached`] (which
    /// the adapters call). See [`TokenCache`] for the rules.
    pub fn cache(mut self, cache: TokenCache) -> VerifierBuilder {
        self.cache = Some(cache);
        self
    }

    /// Checks the configuration and loads every static key.
    ///
    /// # Errors
    /// A [`ConfigError`] for: no issuer, a duplicate or empty `iss`, an issuer without audience
    /// or keys, an empty or mixed algorithm allowlist, a bad or weak key, keys that fit none of
    /// the allowed algorithms, leeway over 300 s, an invalid realm or size cap.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        if self.issuers.is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::NoIssuer,
                "a verifier needs at least one issuer",
            ));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::new(
                ConfigErrorKind::LeewayTooLarge,
                "the leeway may be at most 300 seconds",
            ));
        }
        if self.max_token_bytes < 64 {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "max_token_bytes must be at least 64",
            ));
        }
        let realm = match self.realm {
            Some(realm) => Realm::new(realm)?,
            None => Realm::default(),
        };
        if self.fetch_timeout.is_zero() || self.fetch_timeout > Duration::from_secs(60) {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "fetch_timeout must be between 1 ms and 60 s",
            ));
        }
        let mut settings: Option<Arc<RemoteSettings>> = None;
        let mut remote_settings = || -> Result<Arc<RemoteSettings>, ConfigError> {
            if let Some(settings) = &settings {
                return Ok(Arc::clone(settings));
            }
            let fetcher: Arc<dyn Fetcher> = match &self.fetcher {
                Some(fetcher) => Arc::clone(fetcher),
                None => Arc::new(HttpFetcher::new(self.fetch_timeout)?),
            };
            let made = Arc::new(RemoteSettings {
                fetcher,
                timeout: self.fetch_timeout,
                cooldown: self.kid_refresh_cooldown.as_secs(),
            });
            settings = Some(Arc::clone(&made));
            Ok(made)
        };
        let mut issuers: Vec<IssuerState> = Vec::with_capacity(self.issuers.len());
        let mut wanted: Vec<(Box<str>, Want)> = Vec::new();
        for issuer in self.issuers {
            let state = IssuerState::load(issuer, &mut remote_settings, &self.clock)?;
            if issuers.iter().any(|i| i.iss == state.iss) {
                return Err(ConfigError::new(
                    ConfigErrorKind::DuplicateIssuer,
                    "two issuers share one iss",
                ));
            }
            let paths = state
                .roles_paths
                .iter()
                .chain(&state.scope_claims)
                .chain(&state.audience_claim);
            let values = paths.filter_map(|path| {
                let want = if path.len() == 1 {
                    Want::Value
                } else {
                    Want::Raw
                };
                path.first().map(|head| (head.as_str(), want))
            });
            let required = state.required.iter().map(|r| (&**r, Want::Presence));
            for (name, want) in values.chain(required) {
                match wanted.iter_mut().find(|(w, _)| &**w == name) {
                    Some((_, existing)) => *existing = (*existing).max(want),
                    None => wanted.push((name.into(), want)),
                }
            }
            issuers.push(state);
        }
        Ok(Verifier {
            inner: Arc::new(Inner {
                issuers,
                wanted,
                leeway: self.leeway.as_secs(),
                clock: self.clock,
                realm,
                max_token_bytes: self.max_token_bytes,
                sources: self.sources,
                keys_unavailable_401: self.keys_unavailable_401,
                cache: self.cache.map(TokenCache::build).transpose()?,
            }),
        })
    }
}

impl IssuerState {
    fn load(
        issuer: Issuer,
        remote_settings: &mut dyn FnMut() -> Result<Arc<RemoteSettings>, ConfigError>,
        clock: &Arc<dyn Clock>,
    ) -> Result<IssuerState, ConfigError> {
        if issuer.iss.is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "an issuer's iss cannot be empty",
            ));
        }
        if issuer.audiences.is_empty() && !issuer.skip_audience {
            return Err(ConfigError::new(
                ConfigErrorKind::NoAudience,
                "an issuer needs at least one audience (or insecure_skip_audience_check)",
            ));
        }
        let algorithms = issuer.allowed_algorithms()?;
        let source = issuer.keys.clone().ok_or_else(|| {
            ConfigError::new(ConfigErrorKind::NoKeys, "an issuer needs a key source")
        })?;
        let iss: Arc<str> = issuer.iss.as_str().into();
        let (keys, remote) = match source.endpoint(&issuer.iss)? {
            Some(endpoint) => {
                let remote = RemoteKeys::new(
                    Arc::clone(&iss),
                    endpoint,
                    algorithms,
                    remote_settings()?,
                    Arc::clone(clock),
                );
                (KeySet::unfetched(), Some(Arc::new(remote)))
            }
            None => {
                let keys: Vec<_> = source
                    .load()?
                    .into_iter()
                    .filter_map(|k| k.restricted_to(algorithms))
                    .collect();
                (KeySet::new(keys), None)
            }
        };
        if remote.is_none() && keys.len() == 0 {
            return Err(ConfigError::new(
                ConfigErrorKind::NoKeys,
                "none of the issuer's keys fits its allowed algorithms",
            ));
        }
        let mut required: Vec<Box<str>> = issuer
            .required_claims
            .iter()
            .map(|c| c.as_str().into())
            .collect();
        if issuer.rfc9068 {
            required.extend(RFC9068_CLAIMS.iter().map(|c| Box::from(*c)));
        }
        Ok(IssuerState {
            iss,
            audiences: issuer.audiences.iter().map(|a| a.as_str().into()).collect(),
            check_audience: !issuer.skip_audience,
            algorithms,
            keys: Arc::new(ArcSwap::from_pointee(keys)),
            remote,
            roles_paths: issuer.roles_paths,
            scope_claims: issuer
                .scope_claims
                .into_iter()
                .map(|name| vec![name])
                .collect(),
            audience_claim: issuer.audience_claim.map(|name| vec![name]),
            rfc9068: issuer.rfc9068,
            required,
        })
    }
}

impl Verifier {
    /// Starts a configuration.
    ///
    /// ```
    /// use tokengate::{Algorithm, Issuer, KeySource, Verifier};
    /// let verifier = Verifier::builder()
    ///     .issuer(Issuer::new("https://auth.example.com/")
    ///         .audience("api://orders")
    ///         .algorithms([Algorithm::HS256])
    ///         .keys(KeySource::secret(vec![42u8; 32])))
    ///     .build()
    ///     .unwrap();
    /// # let _ = verifier;
    /// ```
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder {
            issuers: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            clock: Arc::new(SystemClock),
            realm: None,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            sources: TokenSources::default(),
            fetcher: None,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
            kid_refresh_cooldown: DEFAULT_KID_REFRESH_COOLDOWN,
            keys_unavailable_401: false,
            cache: None,
        }
    }

    /// Verifies `token` and deserializes its claims into `T`.
    ///
    /// Async because a remote key set may need fetching; with keys already loaded it does no
    /// I/O and completes on first poll.
    ///
    /// # Errors
    /// An [`Error`] whose [`kind`](Error::kind) says what failed; render it with
    /// [`rejection`](Verifier::rejection).
    pub async fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<Verified<T>, Error> {
        let result = match self.inner.verify(token) {
            Err(Stop::Fetch { issuer, kid }) => {
                // A remote issuer lacks keys for this token: fetch (shared, bounded), look again.
                let state = &self.inner.issuers[issuer];
                if let Some(remote) = &state.remote {
                    match &kid {
                        Some(kid) => {
                            remote.refresh_for_kid(&state.keys, kid).await;
                        }
                        None => {
                            remote.refresh(&state.keys, Reason::Unusable).await;
                        }
                    }
                }
                self.inner
                    .verify(token)
                    .map_err(|stop| self.inner.settle(stop))
            }
            other => other.map_err(|stop| self.inner.settle(stop)),
        };
        log_rejection(&result);
        result
    }

    /// Verifies `token` against the keys already loaded, without waiting on any I/O (an unknown
    /// `kid` is `unknown_key`, a remote issuer without keys `keys_unavailable`).
    ///
    /// # Errors
    /// As [`verify`](Verifier::verify).
    pub fn verify_with_loaded_keys<T: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<Verified<T>, Error> {
        let result = self
            .inner
            .verify(token)
            .map_err(|stop| self.inner.settle(stop));
        log_rejection(&result);
        result
    }

    /// Verifies `token` if the keys already loaded suffice; `None` when a remote issuer must
    /// fetch first (then `verify(..).await` does that). Lets adapters answer most requests
    /// without allocating a future.
    pub fn verify_if_ready<T: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Option<Result<Verified<T>, Error>> {
        let result = match self.inner.verify(token) {
            Err(Stop::Fetch { .. }) => return None,
            other => other.map_err(|stop| self.inner.settle(stop)),
        };
        log_rejection(&result);
        Some(result)
    }

    /// As [`verify_if_ready`](Verifier::verify_if_ready), answering from the verified-token cache
    /// when one is configured ([`VerifierBuilder::cache`]).
    pub fn verify_if_ready_cached<T>(&self, token: &str) -> Option<Result<Verified<T>, Error>>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        let Some(cache) = &self.inner.cache else {
            return self.verify_if_ready(token);
        };
        let hash = cache::fingerprint(token);
        if let Some(verified) = self.inner.cache_hit::<T>(cache, hash) {
            return Some(Ok(verified));
        }
        cache.count(false);
        let result = match self.inner.verify_tracked::<T>(token) {
            Err(Stop::Fetch { .. }) => return None,
            Ok((verified, issuer, generation)) => {
                let now = self.inner.clock.now_unix();
                cache.insert(hash, &verified, issuer, generation, now, token.len());
                Ok(verified)
            }
            Err(stop) => Err(self.inner.settle(stop)),
        };
        log_rejection(&result);
        Some(result)
    }

    /// As [`verify`](Verifier::verify), answering from the verified-token cache when one is
    /// configured ([`VerifierBuilder::cache`]).
    ///
    /// # Errors
    /// As [`verify`](Verifier::verify).
    pub async fn verify_cached<T>(&self, token: &str) -> Result<Verified<T>, Error>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        if let Some(result) = self.verify_if_ready_cached::<T>(token) {
            return result;
        }
        let verified = self.verify::<T>(token).await;
        if let (Some(cache), Ok(verified)) = (&self.inner.cache, &verified) {
            // After a fetch: remember it with the key set now loaded.
            let issuer = self
                .inner
                .issuers
                .iter()
                .position(|i| *i.iss == *verified.issuer());
            if let Some(issuer) = issuer {
                let generation = self.inner.issuers[issuer].keys.load().generation;
                let now = self.inner.clock.now_unix();
                cache.insert(
                    cache::fingerprint(token),
                    verified,
                    issuer,
                    generation,
                    now,
                    token.len(),
                );
            }
        }
        verified
    }

    /// Counters of the verified-token cache, if one is configured.
    #[must_use]
    pub fn cache_stats(&self) -> Option<crate::cache::CacheStats> {
        self.inner.cache.as_ref().map(Cache::stats)
    }

    /// Fetches the keys of every remote issuer that has none fresh, now. Call it before
    /// serving (a readiness probe) so the first requests do not wait.
    ///
    /// # Errors
    /// `keys_unavailable` when an issuer's keys could not be fetched.
    pub async fn ready(&self) -> Result<(), Error> {
        let now = self.inner.clock.now_unix();
        let mut failed = None;
        for state in &self.inner.issuers {
            if let Some(remote) = &state.remote {
                if !state.keys.load().fresh_at(now) {
                    remote.refresh(&state.keys, Reason::Ready).await;
                }
                // Judge by what is loaded now: a concurrent refresh may have done the work.
                if !state.keys.load().usable_at(self.inner.clock.now_unix()) {
                    failed = Some(remote.retry_after());
                }
            }
        }
        match failed {
            Some(retry_after) => Err(Error::keys_unavailable(retry_after)),
            None => Ok(()),
        }
    }

    /// A snapshot of every issuer's keys: state, last successful fetch, key count, counters.
    #[must_use]
    pub fn health(&self) -> Vec<IssuerHealth> {
        let now = self.inner.clock.now_unix();
        self.inner
            .issuers
            .iter()
            .map(|state| {
                let keys = state.keys.load();
                let Some(remote) = &state.remote else {
                    return IssuerHealth::for_static(&state.iss, keys.len());
                };
                let keys_state = if !keys.usable_at(now) {
                    KeysState::Failing
                } else if keys.fresh_at(now) {
                    KeysState::Fresh
                } else {
                    KeysState::Stale
                };
                IssuerHealth::for_remote(&state.iss, keys_state, keys.len(), remote)
            })
            .collect()
    }
}

fn log_rejection<T>(result: &Result<Verified<T>, Error>) {
    {
        if let Err(error) = result {
            tracing::debug!(
                target: "tokengate::verify",
                code = error.code(),
                detail = error.detail(),
                "token rejected"
            );
        }
    }
}

impl Verifier {
    /// Finds the request's token in the configured [`TokenSources`].
    ///
    /// # Errors
    /// As [`TokenSources::extract`].
    pub fn extract<'a>(
        &self,
        headers: &'a http::HeaderMap,
        query: Option<&'a str>,
    ) -> Result<Option<BearerToken<'a>>, Error> {
        self.inner.sources.extract(headers, query)
    }

    /// As [`extract`](Verifier::extract), for any framework's header map.
    ///
    /// # Errors
    /// As [`TokenSources::extract`].
    pub fn extract_from<'a, H: crate::extract::RequestHeaders + ?Sized>(
        &self,
        headers: &'a H,
        query: Option<&'a str>,
    ) -> Result<Option<BearerToken<'a>>, Error> {
        self.inner.sources.extract_from(headers, query)
    }

    /// The RFC 6750 answer to `error`, with this verifier's realm.
    #[must_use]
    pub fn rejection(&self, error: &Error) -> Rejection {
        if self.inner.keys_unavailable_401 && error.kind() == ErrorKind::KeysUnavailable {
            return challenge::render_unavailable_as_unauthorized(&self.inner.realm);
        }
        challenge::render(error, &self.inner.realm)
    }

    /// The configured realm.
    #[must_use]
    pub fn realm(&self) -> &Realm {
        &self.inner.realm
    }

    /// The configured leeway.
    #[must_use]
    pub fn leeway(&self) -> Duration {
        Duration::from_secs(self.inner.leeway)
    }

    /// The `iss` values of the configured issuers.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.inner.issuers.iter().map(|i| &*i.iss)
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let issuers: Vec<_> = self
            .inner
            .issuers
            .iter()
            .map(|i| (&*i.iss, i.algorithms, i.keys.load().len()))
            .collect();
        f.debug_struct("Verifier")
            .field("issuers(iss, algorithms, key count)", &issuers)
            .field("leeway_secs", &self.inner.leeway)
            .field("realm", &self.inner.realm)
            .field("max_token_bytes", &self.inner.max_token_bytes)
            .finish_non_exhaustive()
    }
}

fn err(kind: ErrorKind, detail: &'static str) -> Error {
    Error::new(kind, detail)
}

/// Adds a claim read as a list (a space-delimited string or an array of strings); any other
/// type adds nothing.
fn collect(into: &mut Scopes, value: Option<Loose<'_>>) {
    match value {
        Some(Loose::Str(text)) => into.extend_delimited(&text),
        Some(Loose::Strings(list)) => list.iter().for_each(|item| into.push(item)),
        _ => {}
    }
}

fn stop(kind: ErrorKind, detail: &'static str) -> Stop {
    Stop::Error(Error::new(kind, detail))
}

/// A time claim: absent, or a number in `[0, 9999-12-31]`.
fn time_claim(value: Option<&Loose<'_>>, name: &'static str) -> Result<Option<f64>, Error> {
    match value {
        None => Ok(None),
        Some(Loose::Num(n)) if (0.0..=MAX_TIME).contains(&n.as_f64()) => Ok(Some(n.as_f64())),
        Some(_) => Err(err(ErrorKind::InvalidClaim, name)),
    }
}

fn string_claim<'a>(
    value: Option<&'a Loose<'_>>,
    detail: &'static str,
) -> Result<Option<&'a str>, Error> {
    match value {
        None => Ok(None),
        Some(Loose::Str(s)) => Ok(Some(s)),
        Some(_) => Err(err(ErrorKind::InvalidClaim, detail)),
    }
}

/// Why a verification attempt stopped: an answer, or a remote issuer that needs a fetch first.
enum Stop {
    Error(Error),
    Fetch {
        issuer: usize,
        kid: Option<Box<str>>,
    },
}

impl From<Error> for Stop {
    fn from(error: Error) -> Stop {
        Stop::Error(error)
    }
}

impl Inner {
    /// The final answer for a stop, without fetching.
    fn settle(&self, stop: Stop) -> Error {
        match stop {
            Stop::Error(error) => error,
            Stop::Fetch { kid: Some(_), .. } => {
                err(ErrorKind::UnknownKey, "no key has the token's kid")
            }
            Stop::Fetch { issuer, kid: None } => {
                let retry_after = self.issuers[issuer]
                    .remote
                    .as_ref()
                    .map_or(Duration::from_secs(30), |r| r.retry_after());
                Error::keys_unavailable(retry_after)
            }
        }
    }

    /// A cached verification still valid now, under the same key set.
    fn cache_hit<T: Clone + 'static>(&self, cache: &Cache, hash: [u8; 32]) -> Option<Verified<T>> {
        let entry = cache.get::<T>(hash)?;
        let now = self.clock.now_unix() as f64;
        let issuer = &self.issuers[entry.issuer];
        if now < entry.until && issuer.keys.load().generation == entry.generation {
            if let Some(verified) = Cache::claims::<T>(&entry) {
                cache.count(true);
                return Some(verified);
            }
        }
        cache.remove::<T>(hash);
        None
    }

    fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<Verified<T>, Stop> {
        self.verify_tracked(token).map(|(verified, _, _)| verified)
    }

    /// Verifies, also returning the issuer's index and the generation of the key set used.
    fn verify_tracked<T: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<(Verified<T>, usize, u64), Stop> {
        if token.len() > self.max_token_bytes {
            return Err(stop(
                ErrorKind::TokenTooLarge,
                "the token is larger than the cap",
            ));
        }
        let segments = jws::split(token)?;
        let mut buf = Vec::with_capacity(token.len());
        jws::decode_into(segments.header, &mut buf)?;
        let header_end = buf.len();
        jws::decode_into(segments.payload, &mut buf)?;
        let payload_end = buf.len();
        jws::decode_into(segments.signature, &mut buf)?;
        let (header, rest) = buf.split_at(header_end);
        let (payload, signature) = rest.split_at(payload_end - header_end);

        let header = jws::parse_header(header)?;
        // One pass over the payload reads the registered claims and the caller's `T` together.
        // Only if that fails does a second, structure-only pass tell a malformed payload from
        // claims that do not fit `T` (reported after the signature check, never before).
        let (view, claims) = match json::parse_payload::<T>(payload, &self.wanted) {
            Ok((view, claims)) => (view, Some(claims)),
            Err(_) => {
                let view = json::parse_view(payload, &self.wanted).map_err(|_| {
                    err(
                        ErrorKind::MalformedToken,
                        "the payload is not a JSON object without duplicate members",
                    )
                })?;
                (view, None)
            }
        };

        // Route by the unverified `iss` to an allowlisted issuer, before any key lookup.
        let index = match &view.iss {
            Some(Loose::Str(iss)) => self
                .issuers
                .iter()
                .position(|i| *i.iss == **iss)
                .ok_or_else(|| err(ErrorKind::InvalidIssuer, "iss names no configured issuer"))?,
            Some(_) => return Err(stop(ErrorKind::InvalidClaim, "iss is not a string")),
            None => return Err(stop(ErrorKind::MissingClaim, "iss is missing")),
        };
        let issuer = &self.issuers[index];
        if !issuer.algorithms.contains(header.alg) {
            return Err(stop(
                ErrorKind::DisallowedAlgorithm,
                "alg is not allowed for the issuer",
            ));
        }
        let now = self.clock.now_unix();
        let keys = issuer.keys.load();
        if let Some(remote) = &issuer.remote {
            if !keys.usable_at(now) {
                return Err(Stop::Fetch {
                    issuer: index,
                    kid: None,
                });
            }
            if keys.refresh_due(now) {
                remote.refresh_in_background(&issuer.keys);
            }
        }
        let key = match keys.select(header.kid.as_deref(), header.alg) {
            Ok(key) => key,
            Err(error) if error.kind() == ErrorKind::UnknownKey && issuer.remote.is_some() => {
                let kid = header.kid.as_deref().map(Box::from);
                return match kid {
                    Some(kid) => Err(Stop::Fetch {
                        issuer: index,
                        kid: Some(kid),
                    }),
                    None => Err(error.into()),
                };
            }
            Err(error) => return Err(error.into()),
        };
        if signature.is_empty() {
            return Err(stop(ErrorKind::InvalidSignature, "the signature is empty"));
        }
        key.verify(header.alg, segments.signing_input.as_bytes(), signature)?;

        // The signature holds: now the claims.
        if !jws::typ_allowed(header.typ.as_deref(), issuer.rfc9068) {
            return Err(stop(
                ErrorKind::InvalidType,
                "typ is not an accepted access-token type",
            ));
        }
        if let Some(remote) = &issuer.remote {
            if !keys.fresh_at(now) {
                remote
                    .counters
                    .stale_served
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let now = now as f64;
        let leeway = self.leeway as f64;
        let exp = time_claim(view.exp.as_ref(), "exp is not a valid time")?
            .ok_or_else(|| err(ErrorKind::MissingClaim, "exp is missing"))?;
        if now >= exp + leeway {
            return Err(stop(ErrorKind::Expired, "the token expired"));
        }
        if let Some(nbf) = time_claim(view.nbf.as_ref(), "nbf is not a valid time")? {
            if now + leeway < nbf {
                return Err(stop(ErrorKind::NotYetValid, "the token is not valid yet"));
            }
        }
        if let Some(iat) = time_claim(view.iat.as_ref(), "iat is not a valid time")? {
            if iat > now + leeway {
                return Err(stop(ErrorKind::IssuedInFuture, "iat is in the future"));
            }
        }
        if issuer.check_audience {
            let matches = |aud: &str| issuer.audiences.iter().any(|a| **a == *aud);
            let other;
            let audience = match &issuer.audience_claim {
                None => &view.aud,
                Some(path) => {
                    other = view.at_path(path);
                    &other
                }
            };
            let ok = match audience {
                None => return Err(stop(ErrorKind::MissingClaim, "aud is missing")),
                Some(Loose::Str(aud)) => matches(aud),
                Some(Loose::Strings(list)) => list.iter().any(|aud| matches(aud)),
                Some(_) => {
                    return Err(stop(
                        ErrorKind::InvalidClaim,
                        "aud is not a string or array of strings",
                    ));
                }
            };
            if !ok {
                return Err(stop(
                    ErrorKind::InvalidAudience,
                    "aud names no accepted audience",
                ));
            }
        }
        if issuer.required.iter().any(|name| !view.has(name)) {
            return Err(stop(ErrorKind::MissingClaim, "a required claim is missing"));
        }
        let subject = string_claim(view.sub.as_ref(), "sub is not a string")?.map(str::to_owned);
        string_claim(view.client_id.as_ref(), "client_id is not a string")?;
        string_claim(view.jti.as_ref(), "jti is not a string")?;

        let mut scopes = Scopes::default();
        if let Some(scope) = string_claim(view.scope.as_ref(), "scope is not a string")? {
            scopes.extend_delimited(scope);
        }
        match &view.scp {
            None => {}
            Some(Loose::Str(scp)) => scopes.extend_delimited(scp),
            Some(Loose::Strings(list)) => list.iter().for_each(|s| scopes.push(s)),
            Some(_) => {
                return Err(stop(
                    ErrorKind::InvalidClaim,
                    "scp is not a string or array of strings",
                ));
            }
        }
        for path in &issuer.scope_claims {
            collect(&mut scopes, view.at_path(path));
        }
        let mut roles = Scopes::default();
        for path in &issuer.roles_paths {
            collect(&mut roles, view.at_path(path));
        }

        let claims = claims.ok_or_else(|| {
            err(
                ErrorKind::InvalidClaim,
                "the claims do not fit the requested type",
            )
        })?;
        let verified = Verified {
            claims,
            issuer: issuer.iss.clone(),
            subject,
            scopes,
            roles,
            expires_at: exp,
        };
        Ok((verified, index, keys.generation))
    }
}
