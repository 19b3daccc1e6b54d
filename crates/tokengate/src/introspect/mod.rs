// Over 600 lines: the RFC 7662 client: configuration, request, response reading and its two caches, which share one answer type.
//! Opaque access tokens: RFC 7662 token introspection, cached and shared.
//!
//! An issuer configured with [`Introspection`] has its opaque tokens (anything that is not a
//! compact JWS from a configured issuer) checked at its introspection endpoint; with
//! [`Introspection::introspect_jwts`] its signed tokens too. The answer becomes the same
//! [`Verified<T>`](crate::Verified) a signed token gives. Rules (see `docs/architecture.md`,
//! "Introspection"):
//! - results are cached by SHA-256 of the token (never the token) and the claims type: active
//!   ones at most until `exp` and [`Introspection::max_age`] (default 60 s), refusals for
//!   [`Introspection::inactive_max_age`] (default 30 s), so a repeated garbage token costs one
//!   call, not one per request;
//! - concurrent requests for one token share one call (single-flight);
//! - at most [`Introspection::max_in_flight`] calls per issuer run at once; a request that
//!   cannot start its call within the fetch timeout is answered 503 with `Retry-After`;
//! - the endpoint down, slow, answering other than 200 or with invalid JSON: 503 with
//!   `Retry-After`, never admitted, never cached.

pub(crate) mod check;
mod client_key;

pub use check::{CheckRequest, TokenCheck};
pub use client_key::ClientKey;

/// Google's token information endpoint.
pub const GOOGLE_TOKENINFO: &str = "https://oauth2.googleapis.com/tokeninfo";
/// Facebook's token debugging endpoint.
pub const FACEBOOK_DEBUG_TOKEN: &str = "https://graph.facebook.com/debug_token";

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde::de::DeserializeOwned;

use crate::claims::Verified;
use crate::clock::Clock;
use crate::error::{ConfigError, ConfigErrorKind, Error, ErrorKind};
use crate::fetch::{self, FetchError, FetchErrorKind};
use crate::json::{self, Loose, Want};
use crate::remote::RemoteSettings;

/// A client secret. `Debug` prints `******`.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) Box<str>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("******")
    }
}

/// How the service authenticates to the introspection endpoint (RFC 7662 section 2.1).
#[derive(Clone, Debug)]
pub(crate) enum ClientAuth {
    /// No client authentication (some providers accept a bearer-less call on a private network).
    None,
    /// `client_secret_basic`: HTTP Basic with the client id and secret.
    Basic { id: Box<str>, secret: Secret },
    /// `client_secret_post`: `client_id` and `client_secret` in the form.
    Post { id: Box<str>, secret: Secret },
    /// `private_key_jwt`: a short-lived assertion signed with the service's key.
    PrivateKeyJwt { id: Box<str>, key: ClientKey },
}

impl ClientAuth {
    /// `client_secret_basic`.
    pub(crate) fn basic(id: impl Into<String>, secret: impl Into<String>) -> ClientAuth {
        ClientAuth::Basic {
            id: id.into().into(),
            secret: Secret(secret.into().into()),
        }
    }

    /// `client_secret_post`.
    pub(crate) fn post(id: impl Into<String>, secret: impl Into<String>) -> ClientAuth {
        ClientAuth::Post {
            id: id.into().into(),
            secret: Secret(secret.into().into()),
        }
    }

    /// `private_key_jwt`.
    pub(crate) fn private_key_jwt(id: impl Into<String>, key: ClientKey) -> ClientAuth {
        ClientAuth::PrivateKeyJwt {
            id: id.into().into(),
            key,
        }
    }

    /// The header and form members this authentication sends.
    pub(crate) fn credentials(self) -> check::ClientCredentials {
        let mut credentials = check::ClientCredentials {
            authorization: None,
            form_credentials: None,
            assertion_key: None,
        };
        match self {
            ClientAuth::None => {}
            ClientAuth::PrivateKeyJwt { id, key } => credentials.assertion_key = Some((id, key)),
            ClientAuth::Basic { id, secret } => {
                // RFC 6749 section 2.3.1: both parts form-urlencoded before Basic encoding.
                let encode =
                    |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let pair = format!("{}:{}", encode(&id), encode(&secret.0));
                let basic = base64::engine::general_purpose::STANDARD.encode(pair);
                credentials.authorization = Some(Secret(format!("Basic {basic}").into()));
            }
            ClientAuth::Post { id, secret } => credentials.form_credentials = Some((id, secret)),
        }
        credentials
    }
}

/// Which token check runs against the endpoint.
#[derive(Clone, Debug)]
enum Profile {
    /// RFC 7662 with the configured client authentication.
    Rfc7662,
    /// Google `tokeninfo`.
    Google,
    /// Facebook `debug_token` with the app token `{app_id}|{secret}`.
    Facebook(Secret),
    /// The caller's own check.
    Custom(Arc<dyn TokenCheck>),
}

/// Token introspection (RFC 7662) for one issuer.
///
/// ```
/// use std::time::Duration;
/// use tokengate::{introspection::Introspection, Issuer};
/// let issuer = Issuer::new("https://login.example.com/")
///     .audience("api://orders")
///     .introspection(
///         Introspection::endpoint("https://login.example.com/oauth2/introspect")
///             .client_secret_basic("orders-api", "s3cret")
///             .max_age(Duration::from_secs(30)),
///     );
/// assert!(!format!("{issuer:?}").contains("s3cret"));
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Introspection {
    /// `None`: the `introspection_endpoint` of the issuer's discovery document.
    endpoint: Option<String>,
    auth: ClientAuth,
    profile: Profile,
    introspect_jwts: bool,
    max_age: Duration,
    inactive_max_age: Duration,
    max_in_flight: usize,
    shared: Option<SharedCache>,
}

/// A shared cache, shown in `Debug` as present only.
#[derive(Clone)]
struct SharedCache(Arc<dyn IntrospectionCache>);

impl fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedCache(..)")
    }
}

/// What judges an introspection answer once the introspector has it: the verifier's claim
/// checks. The introspector calls the endpoint, caches and shares answers; it decides nothing
/// about claims itself (`docs/architecture.md`, "Rooms").
pub(crate) trait Judge {
    /// What a response is read for (the claims the checks need, plus `active`, `token_type`).
    fn introspection_wanted(&self) -> &[(Box<str>, Want)];
    /// The configured `iss` of issuer `index`.
    fn issuer_iss(&self, index: usize) -> &str;
    /// The claim checks on an active answer, under RFC 7662's rules (every member but
    /// `active` optional; JWT profiles do not apply), then the caller's `T`.
    fn check_answer<T: DeserializeOwned>(
        &self,
        index: usize,
        view: &json::ClaimsView<'_>,
        body: &[u8],
        now: u64,
    ) -> Result<Verified<T>, Error>;
}

/// Introspection answers shared by every instance: the provider's response bodies, keyed by
/// the issuer and the token's SHA-256, each kept as long as the local cache would keep it.
/// A cache that cannot answer is skipped (the provider is asked); it never decides alone.
/// An answer read from it is kept locally no longer than the shared cache still keeps it, so
/// an answer lives at most `max_age` from the provider's reply, wherever it is read.
pub trait IntrospectionCache: Send + Sync + 'static {
    /// The stored response for this token, if any, with how much longer it is kept.
    fn get(&self, issuer: &str, token_hash: [u8; 32]) -> crate::store::StoreRead;

    /// Stores `response` for `ttl`.
    fn put(
        &self,
        issuer: &str,
        token_hash: [u8; 32],
        response: Vec<u8>,
        ttl: Duration,
    ) -> crate::store::StoreWrite;
}

impl Introspection {
    /// Introspect at this URL: HTTPS, or plain HTTP to a loopback host only.
    pub fn endpoint(url: impl Into<String>) -> Introspection {
        Introspection {
            endpoint: Some(url.into()),
            ..Introspection::discover()
        }
    }

    /// Introspect at the `introspection_endpoint` the issuer's metadata advertises (OIDC
    /// discovery, else RFC 8414), read on the first introspection. A document without one is
    /// an outage (503), reported in [`Verifier::health`](crate::Verifier::health).
    pub fn discover() -> Introspection {
        Introspection {
            endpoint: None,
            auth: ClientAuth::None,
            profile: Profile::Rfc7662,
            introspect_jwts: false,
            max_age: Duration::from_secs(60),
            inactive_max_age: Duration::from_secs(30),
            max_in_flight: 16,
            shared: None,
        }
    }

    /// Share answers with other instances through `cache` (`tokengate-redis`): the provider
    /// sees one call per token for the fleet, not one per instance. The response body is
    /// stored (it holds the token's claims: keep the store private); a cache that cannot
    /// answer is skipped.
    pub fn shared_cache(mut self, cache: impl IntrospectionCache) -> Introspection {
        self.shared = Some(SharedCache(Arc::new(cache)));
        self
    }

    /// Google's opaque access tokens, checked at [`GOOGLE_TOKENINFO`]: `aud` is your OAuth
    /// client id (configure it as the issuer's audience), `azp` becomes `client_id`, `scope`
    /// and `exp` as usual. Google recommends ID tokens for a backend that authenticates users;
    /// use this for access tokens a client obtained for Google APIs and forwards to you (see
    /// `docs/providers.md`).
    pub fn google() -> Introspection {
        Introspection {
            profile: Profile::Google,
            ..Introspection::endpoint(GOOGLE_TOKENINFO)
        }
    }

    /// Facebook user access tokens, checked at [`FACEBOOK_DEBUG_TOKEN`] with the app token
    /// (`app_id|app_secret`): `data.is_valid`, `app_id` as `aud` (configure your app id as the
    /// audience), `user_id` as `sub`, `scopes`, `expires_at`.
    pub fn facebook(app_id: impl Into<String>, app_secret: impl Into<String>) -> Introspection {
        let token = format!("{}|{}", app_id.into(), app_secret.into());
        Introspection {
            profile: Profile::Facebook(Secret(token.into())),
            ..Introspection::endpoint(FACEBOOK_DEBUG_TOKEN)
        }
    }

    /// Ask `endpoint` with your own [`TokenCheck`], for a provider whose check is neither RFC
    /// 7662 nor a built-in profile.
    pub fn custom(endpoint: impl Into<String>, check: impl TokenCheck) -> Introspection {
        Introspection {
            profile: Profile::Custom(Arc::new(check)),
            ..Introspection::endpoint(endpoint)
        }
    }

    /// The same check at another URL (a proxy, a regional endpoint, a test double).
    pub fn at(mut self, endpoint: impl Into<String>) -> Introspection {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Authenticate with HTTP Basic (`client_secret_basic`, the RFC 7662 default).
    pub fn client_secret_basic(
        mut self,
        client_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Introspection {
        self.auth = ClientAuth::basic(client_id, secret);
        self
    }

    /// Authenticate with `client_id` and `client_secret` in the form (`client_secret_post`).
    pub fn client_secret_post(
        mut self,
        client_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Introspection {
        self.auth = ClientAuth::post(client_id, secret);
        self
    }

    /// Authenticate with a JWT signed by the service's own key (`private_key_jwt`, RFC 7523):
    /// no shared secret leaves the service. The assertion's audience is the endpoint URL.
    pub fn private_key_jwt(
        mut self,
        client_id: impl Into<String>,
        key: ClientKey,
    ) -> Introspection {
        self.auth = ClientAuth::private_key_jwt(client_id, key);
        self
    }

    /// Introspect this issuer's signed tokens too, so a revocation takes effect at once (one
    /// call per token per [`max_age`](Introspection::max_age) instead of none).
    pub fn introspect_jwts(mut self) -> Introspection {
        self.introspect_jwts = true;
        self
    }

    /// The longest an active result is reused (never past the token's `exp`). Default 60 s:
    /// a revoked token keeps working at most this long (RFC 7662 section 4's trade-off
    /// between the provider's load and revocation latency).
    pub fn max_age(mut self, age: Duration) -> Introspection {
        self.max_age = age;
        self
    }

    /// How long a refusal (inactive, expired, wrong audience, ...) is reused. Default 30 s.
    pub fn inactive_max_age(mut self, age: Duration) -> Introspection {
        self.inactive_max_age = age;
        self
    }

    /// At most this many introspection calls to this issuer at once. Default 16.
    pub fn max_in_flight(mut self, calls: usize) -> Introspection {
        self.max_in_flight = calls;
        self
    }

    pub(crate) fn introspects_jwts(&self) -> bool {
        self.introspect_jwts
    }
}

/// What a call decided, cached for later requests with the same token and claims type.
enum Decided {
    /// Active, with the claims as the caller's `Verified<T>`.
    Active(Box<dyn Any + Send + Sync>),
    /// Refused with this error (its kind, fixed detail and named claim).
    Refused(Error),
}

struct Entry {
    decided: Decided,
    /// Clock second until which the entry is served.
    until: f64,
}

type Key = ([u8; 32], TypeId);
/// A call's result as shared by everyone waiting for it: decided, or unavailable for this long.
type Shared = Result<Arc<Entry>, Duration>;

/// An introspection's outcome as the caller's claims, or the refusal.
fn shared_result<T: 'static>(shared: Shared) -> Result<Verified<T>, Error>
where
    Verified<T>: Clone,
{
    match shared {
        Ok(entry) => match &entry.decided {
            Decided::Active(verified) => verified
                .downcast_ref::<Verified<T>>()
                .cloned()
                .ok_or_else(|| Error::new(ErrorKind::InvalidClaim, "claims type mismatch")),
            Decided::Refused(error) => Err(error.clone()),
        },
        Err(retry_after) => Err(Error::introspection_unavailable(retry_after)),
    }
}

/// Counters of one issuer's introspection.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) calls: AtomicU64,
    pub(crate) active: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) failures: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    pub(crate) shared_hits: AtomicU64,
    pub(crate) shared_errors: AtomicU64,
}

/// The introspection of one issuer, inside a verifier.
pub(crate) struct Introspector {
    issuer: usize,
    /// The configured `iss`, for discovery.
    iss: Arc<str>,
    /// The endpoint: configured, or discovered on first use.
    url: Mutex<Option<url::Url>>,
    check: Arc<dyn TokenCheck>,
    max_age: u64,
    inactive_max_age: u64,
    settings: Arc<RemoteSettings>,
    clock: Arc<dyn Clock>,
    cache: moka::sync::Cache<Key, Arc<Entry>>,
    in_flight: Mutex<HashMap<Key, Arc<tokio::sync::OnceCell<Shared>>>>,
    permits: tokio::sync::Semaphore,
    last_failure: Mutex<Option<(FetchErrorKind, String)>>,
    shared: Option<SharedCache>,
    pub(crate) counters: Counters,
}

impl fmt::Debug for Introspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspector")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

impl Introspector {
    /// Checks the configuration and builds the runtime side.
    pub(crate) fn new(
        issuer: usize,
        iss: Arc<str>,
        config: Introspection,
        settings: Arc<RemoteSettings>,
        clock: Arc<dyn Clock>,
    ) -> Result<Introspector, ConfigError> {
        let insecure = |_| {
            ConfigError::new(
                ConfigErrorKind::InsecureUrl,
                "the introspection endpoint (or the issuer to discover it from) must be https \
                 (or http to a loopback host)",
            )
        };
        let url = match &config.endpoint {
            Some(endpoint) => Some(fetch::check_url(endpoint).map_err(insecure)?),
            None => {
                fetch::check_url(&iss).map_err(insecure)?;
                None
            }
        };
        if config.max_age.is_zero() || config.max_in_flight == 0 {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "introspection needs max_age and max_in_flight above zero",
            ));
        }
        let credentials = config.auth.credentials();
        let check: Arc<dyn TokenCheck> = match config.profile {
            Profile::Rfc7662 => Arc::new(check::Rfc7662 { credentials }),
            Profile::Google => Arc::new(check::GoogleTokenInfo),
            Profile::Facebook(app_token) => Arc::new(check::FacebookDebugToken { app_token }),
            Profile::Custom(check) => check,
        };
        let cache = moka::sync::Cache::builder()
            .max_capacity(100_000)
            .time_to_live(config.max_age.max(config.inactive_max_age));
        #[cfg(feature = "metrics")]
        let cache = cache.eviction_listener(crate::observe::eviction_listener("introspection"));
        let cache = cache.build();
        Ok(Introspector {
            issuer,
            iss,
            url: Mutex::new(url),
            check,
            max_age: config.max_age.as_secs(),
            inactive_max_age: config.inactive_max_age.as_secs(),
            settings,
            clock,
            cache,
            in_flight: Mutex::new(HashMap::new()),
            permits: tokio::sync::Semaphore::new(config.max_in_flight),
            last_failure: Mutex::new(None),
            shared: config.shared,
            counters: Counters::default(),
        })
    }

    /// The cached decision for this token and claims type, if still valid now.
    pub(crate) fn cached<T: 'static>(&self, hash: [u8; 32]) -> Option<Result<Verified<T>, Error>> {
        let key = (hash, TypeId::of::<T>());
        let entry = self.cache.get(&key)?;
        if (self.clock.now_unix() as f64) >= entry.until {
            self.cache.invalidate(&key);
            return None;
        }
        let result = match &entry.decided {
            Decided::Active(verified) => Ok(verified.downcast_ref::<Verified<T>>()?.clone()),
            Decided::Refused(error) => Err(error.clone()),
        };
        self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        crate::observe::cache("introspection", true);
        Some(result)
    }

    /// Introspects `token` (one call shared by every concurrent request for it).
    pub(crate) async fn introspect<T>(
        &self,
        judge: &impl Judge,
        token: &str,
        hash: [u8; 32],
    ) -> Result<Verified<T>, Error>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        if let Some(result) = self.cached::<T>(hash) {
            return result;
        }
        let key = (hash, TypeId::of::<T>());
        let cell = {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(in_flight.entry(key).or_default())
        };
        let shared = cell
            .get_or_init(|| async {
                let shared = self.call::<T>(judge, token, hash).await;
                if let Ok(entry) = &shared {
                    self.cache.insert(key, Arc::clone(entry));
                }
                shared
            })
            .await
            .clone();
        {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            if in_flight.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                in_flight.remove(&key);
            }
        }
        shared_result(shared)
    }

    /// Asks the provider again, past the local and the shared cache: an open connection's
    /// re-check (`docs/architecture.md`, "Connections that outlive a request") must see a
    /// token revoked since it was admitted. The fresh answer replaces the cached one.
    #[cfg(feature = "live")]
    pub(crate) async fn introspect_fresh<T>(
        &self,
        judge: &impl Judge,
        token: &str,
        hash: [u8; 32],
    ) -> Result<Verified<T>, Error>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let key = (hash, TypeId::of::<T>());
        let shared = self.call_fresh::<T>(judge, token, hash, true).await;
        if let Ok(entry) = &shared {
            self.cache.insert(key, Arc::clone(entry));
        }
        shared_result(shared)
    }

    /// One call: a permit, the POST, the strict response, the claim checks.
    async fn call<T>(&self, judge: &impl Judge, token: &str, hash: [u8; 32]) -> Shared
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        self.call_fresh::<T>(judge, token, hash, false).await
    }

    /// [`call`](Self::call); with `fresh`, the shared store's answer is not asked for.
    async fn call_fresh<T>(
        &self,
        judge: &impl Judge,
        token: &str,
        hash: [u8; 32],
        fresh: bool,
    ) -> Shared
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        if let Some(shared) = self.shared.as_ref().filter(|_| !fresh) {
            match shared.0.get(&self.iss, hash).await {
                Ok(Some(stored)) => {
                    // The same checks as a fresh answer, with times judged now: the store is
                    // trusted no more than the provider. Kept no longer than the store keeps
                    // it: the answer's age counts from the provider's reply, not from here.
                    let now = self.clock.now_unix();
                    let left = now as f64 + stored.remaining.as_secs_f64();
                    if let Some(entry) = self.decided_entry::<T>(judge, &stored.value, now, left) {
                        self.counters.shared_hits.fetch_add(1, Ordering::Relaxed);
                        return Ok(entry);
                    }
                }
                Ok(None) => {}
                Err(_) => {
                    self.counters.shared_errors.fetch_add(1, Ordering::Relaxed);
                    #[cfg(feature = "metrics")]
                    crate::observe::store_error("introspection_cache");
                }
            }
        }
        let retry_after = Duration::from_secs(1);
        let Ok(Ok(_permit)) =
            tokio::time::timeout(self.settings.timeout, self.permits.acquire()).await
        else {
            // Too many calls in flight for too long: protect the provider, fail closed.
            self.counters.failures.fetch_add(1, Ordering::Relaxed);
            return Err(retry_after);
        };
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
        let url = match self.endpoint().await {
            Ok(url) => url,
            Err(error) => return self.failed(error),
        };
        let fetched = self.check.check(check::CheckRequest {
            token,
            endpoint: url.as_str(),
            fetcher: &*self.settings.fetcher,
            now: self.clock.now_unix(),
        });
        let span =
            tracing::debug_span!(target: "tokengate::introspect", "introspect", issuer = %self.iss);
        let fetched = tracing::Instrument::instrument(fetched, span);
        let body = match tokio::time::timeout(self.settings.timeout, fetched).await {
            Ok(Ok(body)) => body,
            Ok(Err(error)) => return self.failed(error),
            Err(_) => {
                return self.failed(FetchError::new(
                    FetchErrorKind::Timeout,
                    "the introspection call took longer than the timeout",
                ));
            }
        };
        let now = self.clock.now_unix();
        let Some(entry) = self.decided_entry::<T>(judge, &body, now, f64::INFINITY) else {
            return self.failed(FetchError::new(
                FetchErrorKind::Invalid,
                "the introspection response is not a JSON object without duplicate members",
            ));
        };
        match &entry.decided {
            Decided::Active(_) => self.counters.active.fetch_add(1, Ordering::Relaxed),
            Decided::Refused(..) => self.counters.refused.fetch_add(1, Ordering::Relaxed),
        };
        #[cfg(feature = "metrics")]
        crate::observe::introspection(
            &self.iss,
            match &entry.decided {
                Decided::Active(_) => "active",
                Decided::Refused(..) => "refused",
            },
        );
        if let Some(shared) = &self.shared {
            let ttl = Duration::from_secs_f64((entry.until - now as f64).clamp(0.0, 86_400.0));
            if !ttl.is_zero() {
                // Written in the background: the answer does not wait for the store.
                tokio::spawn(shared.0.put(&self.iss, hash, body, ttl));
            }
        }
        Ok(entry)
    }

    /// The decision on a response body and how long it holds (never past `at_most`); `None`
    /// when the body is not a strict JSON object.
    fn decided_entry<T>(
        &self,
        judge: &impl Judge,
        body: &[u8],
        now: u64,
        at_most: f64,
    ) -> Option<Arc<Entry>>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let decided = match self.judge::<T>(judge, body, now) {
            Ok(Some(decided)) => decided,
            Ok(None) => return None,
            Err(error) => Decided::Refused(error),
        };
        let until = match &decided {
            Decided::Active(_) => {
                let exp = self.active_until::<T>(&decided);
                exp.min((now + self.max_age) as f64)
            }
            Decided::Refused(..) => (now + self.inactive_max_age) as f64,
        };
        let until = until.min(at_most);
        Some(Arc::new(Entry { decided, until }))
    }

    /// The endpoint: configured, or read from the issuer's metadata (once it succeeds).
    async fn endpoint(&self) -> Result<url::Url, FetchError> {
        if let Some(url) = self.url.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(url);
        }
        let discovered = crate::remote::discover(&*self.settings.fetcher, &self.iss);
        let metadata = match tokio::time::timeout(self.settings.timeout, discovered).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(FetchError::new(
                    FetchErrorKind::Timeout,
                    "discovery took longer than the timeout",
                ));
            }
        };
        let endpoint = metadata.introspection_endpoint.ok_or_else(|| {
            FetchError::new(
                FetchErrorKind::Invalid,
                "the discovery document advertises no introspection_endpoint",
            )
        })?;
        let url = fetch::check_url(&endpoint).map_err(|_| {
            FetchError::new(
                FetchErrorKind::Invalid,
                "introspection_endpoint must be https (or loopback)",
            )
        })?;
        *self.url.lock().unwrap_or_else(|p| p.into_inner()) = Some(url.clone());
        Ok(url)
    }

    fn active_until<T: 'static>(&self, decided: &Decided) -> f64 {
        match decided {
            Decided::Active(verified) => verified
                .downcast_ref::<Verified<T>>()
                .map_or(0.0, Verified::expires_at),
            Decided::Refused(..) => 0.0,
        }
    }

    /// The decision on a response body: `Ok(None)` when it is not a strict JSON object (a
    /// failure of the endpoint, not a refusal of the token).
    fn judge<T>(&self, judge: &impl Judge, body: &[u8], now: u64) -> Result<Option<Decided>, Error>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let Ok(view) = json::parse_view(body, judge.introspection_wanted()) else {
            return Ok(None);
        };
        match view.at_path(&[String::from("active")]) {
            Some(Loose::Bool(true)) => {}
            Some(Loose::Bool(false)) | None => {
                return Err(Error::new(
                    ErrorKind::InactiveToken,
                    "the introspection endpoint says the token is not active",
                ));
            }
            Some(_) => return Ok(None),
        }
        match view.at_path(&[String::from("token_type")]) {
            None => {}
            Some(Loose::Str(kind)) if is_access_token_type(&kind) => {}
            Some(_) => {
                return Err(Error::new(
                    ErrorKind::InvalidType,
                    "the introspected token is not an access token",
                ));
            }
        }
        match &view.iss {
            None => {}
            Some(Loose::Str(iss)) if **iss == *judge.issuer_iss(self.issuer) => {}
            Some(_) => {
                return Err(Error::new(
                    ErrorKind::InvalidIssuer,
                    "the introspection response names another issuer",
                ));
            }
        }
        let verified = judge.check_answer::<T>(self.issuer, &view, body, now)?;
        Ok(Some(Decided::Active(Box::new(verified))))
    }

    fn failed(&self, error: FetchError) -> Shared {
        self.counters.failures.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        crate::observe::introspection(&self.iss, "error");
        tracing::warn!(target: "tokengate::introspect", url = %self.url(), error = %error, "introspection failed");
        *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((error.kind(), error.to_string()));
        Err(Duration::from_secs(1))
    }

    /// Why the last call failed, and its message.
    pub(crate) fn last_failure(&self) -> Option<(FetchErrorKind, String)> {
        self.last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The endpoint, for health and logs (`discovery` until it is known).
    pub(crate) fn url(&self) -> String {
        self.url
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or_else(|| "discovery".to_owned(), |u| u.as_str().to_owned())
    }

    /// Entries now cached (for tests and health).
    pub(crate) fn cached_entries(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }
}

/// RFC 7662 `token_type` values that mean an access token: RFC 6749 token types (`Bearer`,
/// `DPoP`) or the token type hint itself.
fn is_access_token_type(kind: &str) -> bool {
    [
        "access_token",
        "bearer",
        "dpop",
        "urn:ietf:params:oauth:token-type:access_token",
    ]
    .iter()
    .any(|t| t.eq_ignore_ascii_case(kind))
}

/// The extra top-level members an introspection response is read for.
pub(crate) fn wanted(mut wanted: Vec<(Box<str>, Want)>) -> Vec<(Box<str>, Want)> {
    for name in ["active", "token_type"] {
        if !wanted.iter().any(|(w, _)| &**w == name) {
            wanted.push((name.into(), Want::Value));
        }
    }
    wanted
}

impl Introspector {
    /// What the introspector has seen, for [`Verifier::health`](crate::Verifier::health).
    pub(crate) fn health(&self) -> crate::health::IntrospectionHealth {
        let c = &self.counters;
        let last = self.last_failure();
        crate::health::IntrospectionHealth {
            endpoint: self.url(),
            calls: c.calls.load(Ordering::Relaxed),
            active: c.active.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
            cache_hits: c.cache_hits.load(Ordering::Relaxed),
            cached: self.cached_entries(),
            last_failure: last.as_ref().map(|(kind, _)| *kind),
            last_failure_message: last.map(|(_, message)| message),
        }
    }
}
