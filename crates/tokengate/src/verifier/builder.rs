// Over 600 lines: every verifier option and the one `build` that checks them together (their combinations are the rules).
//! [`VerifierBuilder`]: every setup mistake surfaces from `build`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::answer::{AnswerBody, PlainText};
use crate::binding::{Dpop, TrustedProxies};
#[cfg(feature = "cache")]
use crate::cache::TokenCache;
use crate::challenge::Realm;
use crate::clock::{Clock, SystemClock};
use crate::error::{ConfigError, ConfigErrorKind};
use crate::extract::TokenSources;
#[cfg(feature = "remote")]
use crate::fetch::{Fetcher, HttpFetcher};
use crate::issuer::Issuer;
use crate::json::Want;
use crate::key::KeySet;
#[cfg(feature = "remote")]
use crate::remote::{RemoteKeys, RemoteSettings};
use crate::resource::{DpopMetadata, ProtectedResource, Resource};
use crate::store::ReplayStore;
use crate::store::{RevocationList, SharedStore};

use super::keys::IssuerKeys;
use super::{Inner, IssuerState, Verifier};

/// The default timeout of one key or discovery fetch.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The default per-issuer cooldown between refetches for unknown `kid`s.
pub const DEFAULT_KID_REFRESH_COOLDOWN: Duration = Duration::from_secs(30);
/// The default leeway for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
pub use crate::clock::MAX_LEEWAY;
/// The default cap on a token's length, checked before any decoding.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Builds a [`Verifier`]; every setup mistake surfaces from [`build`](VerifierBuilder::build).
#[must_use]
pub struct VerifierBuilder {
    issuers: Vec<Issuer>,
    leeway: Duration,
    clock: Arc<dyn Clock>,
    realm: Option<String>,
    max_token_bytes: usize,
    sources: TokenSources,
    #[cfg(feature = "remote")]
    fetcher: Option<Arc<dyn Fetcher>>,
    #[cfg(feature = "remote")]
    fetch_timeout: Duration,
    #[cfg(feature = "remote")]
    kid_refresh_cooldown: Duration,
    keys_unavailable_401: bool,
    #[cfg(feature = "cache")]
    cache: Option<TokenCache>,
    body: Arc<dyn AnswerBody>,
    resource: Option<ProtectedResource>,
    dpop: Option<Dpop>,
    api_keys: Option<crate::apikey::ApiKeys>,
    keep_tokens: bool,
    proxies: TrustedProxies,
    certificate_header: Option<http::HeaderName>,
    revocation: Option<Arc<dyn RevocationList>>,
    /// The revocation list and replay store in one ([`VerifierBuilder::shared_store`]).
    shared: Option<(Arc<dyn SharedStore>, Arc<dyn ReplayStore>)>,
    revocation_fail_open: bool,
    #[cfg(feature = "checks")]
    checks: Vec<Arc<dyn crate::checks::CustomCheck>>,
    #[cfg(feature = "checks")]
    check_timeout: Duration,
    connection_recheck: Option<Duration>,
    decryption_keys: Vec<crate::jwe::DecryptionKey>,
    encryptions: Option<Vec<crate::jwe::ContentEncryption>>,
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
    pub(super) fn new() -> VerifierBuilder {
        VerifierBuilder {
            issuers: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            clock: Arc::new(SystemClock),
            realm: None,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            sources: TokenSources::default(),
            #[cfg(feature = "remote")]
            fetcher: None,
            #[cfg(feature = "remote")]
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
            #[cfg(feature = "remote")]
            kid_refresh_cooldown: DEFAULT_KID_REFRESH_COOLDOWN,
            keys_unavailable_401: false,
            #[cfg(feature = "cache")]
            cache: None,
            body: Arc::new(PlainText),
            resource: None,
            dpop: Some(Dpop::default()),
            api_keys: None,
            keep_tokens: false,
            proxies: TrustedProxies::default(),
            certificate_header: None,
            revocation: None,
            shared: None,
            revocation_fail_open: false,
            #[cfg(feature = "checks")]
            checks: Vec::new(),
            #[cfg(feature = "checks")]
            check_timeout: crate::checks::DEFAULT_CHECK_TIMEOUT,
            connection_recheck: None,
            decryption_keys: Vec::new(),
            encryptions: None,
        }
    }

    /// Run `check` on every verified token, on every route, after the built-in checks (an
    /// account suspended in your database): a closure
    /// `Fn(&CheckContext<'_>) -> impl Future<Output = Verdict>` or a
    /// [`CustomCheck`](crate::checks::CustomCheck). Checks run one after another, the
    /// verifier's before the route's; the first verdict other than admit answers.
    #[cfg(feature = "checks")]
    pub fn check(mut self, check: impl crate::checks::CustomCheck) -> VerifierBuilder {
        self.checks.push(Arc::new(check));
        self
    }

    /// The longest one custom check may take (default 2 s,
    /// [`DEFAULT_CHECK_TIMEOUT`](crate::checks::DEFAULT_CHECK_TIMEOUT)); past it the request is
    /// answered 503 (`check_unavailable`), never admitted.
    #[cfg(feature = "checks")]
    pub fn check_timeout(mut self, timeout: Duration) -> VerifierBuilder {
        self.check_timeout = timeout;
        self
    }

    /// Check every verified token against `list` (revoked `jti`s, subjects cut off before a
    /// time): [`MemoryRevocationList`](crate::store::MemoryRevocationList) for one instance, a shared
    /// store (`tokengate-redis`) for many. Off by default.
    pub fn revocation(mut self, list: impl RevocationList) -> VerifierBuilder {
        self.revocation = Some(Arc::new(list));
        self.shared = None;
        self
    }

    /// One store as both the revocation list and the DPoP replay store, asked both questions
    /// in one call per request (`tokengate_redis::RedisStore`: one round trip instead of
    /// two). Replaces a revocation list set before; a [`Dpop`] configuration that names its
    /// own replay store as well is a configuration error.
    pub fn shared_store<S: SharedStore>(mut self, store: S) -> VerifierBuilder {
        let store = Arc::new(store);
        self.revocation = Some(Arc::clone(&store) as Arc<dyn RevocationList>);
        self.shared = Some((
            Arc::clone(&store) as Arc<dyn SharedStore>,
            store as Arc<dyn ReplayStore>,
        ));
        self
    }

    /// When the revocation list cannot answer, admit the token (with a warning and a counted
    /// store error) instead of answering 503. A revoked token then works while the store is
    /// down: choose it only where availability matters more than revocation.
    pub fn insecure_revocation_fail_open(mut self) -> VerifierBuilder {
        self.revocation_fail_open = true;
        self
    }

    /// How DPoP proofs are checked (RFC 9449). DPoP is accepted by default with
    /// [`Dpop::new`]'s settings: a DPoP-bound token needs a valid proof, and bearer tokens keep
    /// working.
    pub fn dpop(mut self, dpop: Dpop) -> VerifierBuilder {
        self.dpop = Some(dpop);
        self
    }

    /// Accept these static API keys beside tokens (`Authorization: ApiKey <key>`, or the keys'
    /// header): their requests are admitted with the key's principal as subject, and its scopes
    /// and roles, through the same policy as tokens (`docs/guide.md`, "API keys"). Answers then
    /// carry an `ApiKey` challenge too.
    pub fn api_keys(mut self, keys: crate::apikey::ApiKeys) -> VerifierBuilder {
        self.api_keys = Some(keys);
        self
    }

    /// Keep each admitted request's token with its claims (one copy per request), so that a
    /// `TokenExchange` (feature `exchange`) can trade the verified token for a downstream's —
    /// never a string the handler passes in (`docs/guide.md`, "Calling other APIs").
    pub fn keep_tokens_for_exchange(mut self) -> VerifierBuilder {
        self.keep_tokens = true;
        self
    }

    /// Refuse the `DPoP` scheme: requests using it carry no credentials this verifier
    /// accepts, and DPoP-bound tokens are refused (`bound_token`). Answers then carry only the
    /// `Bearer` challenge.
    pub fn without_dpop(mut self) -> VerifierBuilder {
        self.dpop = None;
        self
    }

    /// Believe `Forwarded` / `X-Forwarded-Proto` / `X-Forwarded-Host` (for a DPoP proof's
    /// `htu`) and the [client certificate header](VerifierBuilder::client_certificate_header)
    /// from these proxies only. By default no proxy is trusted: the URL is the server's own
    /// view (or the [resource](VerifierBuilder::resource)'s origin), and certificates come
    /// from the server's own TLS.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> VerifierBuilder {
        self.proxies = proxies;
        self
    }

    /// The header in which a TLS-terminating proxy passes on the client certificate (URL-encoded
    /// PEM as nginx's `$ssl_client_escaped_cert`, PEM, or base64 DER), for certificate-bound
    /// tokens (RFC 8705). Read only from [trusted proxies](VerifierBuilder::trusted_proxies).
    pub fn client_certificate_header(mut self, name: http::HeaderName) -> VerifierBuilder {
        self.certificate_header = Some(name);
        self
    }

    /// Trust one more issuer. A token's `iss` picks its issuer before any key is looked up,
    /// and each issuer's keys verify only that issuer's tokens.
    pub fn issuer(mut self, issuer: Issuer) -> VerifierBuilder {
        self.issuers.push(issuer);
        self
    }

    /// Accept encrypted access tokens (JWE, RFC 7516) that this key decrypts: the payload
    /// must be a signed JWT (`cty: JWT`), verified with its issuer's keys like any JWT. Call
    /// once per key (rotation: a token's `kid` picks the key). Keys come from configuration,
    /// never from a token (`docs/security.md`, "Encrypted tokens").
    pub fn decryption_key(mut self, key: crate::jwe::DecryptionKey) -> VerifierBuilder {
        self.decryption_keys.push(key);
        self
    }

    /// The content encryptions (`enc`) accepted for encrypted tokens (default: `A128GCM`,
    /// `A256GCM`, `A128CBC-HS256`, `A256CBC-HS512`).
    pub fn content_encryptions(
        mut self,
        encryptions: impl IntoIterator<Item = crate::jwe::ContentEncryption>,
    ) -> VerifierBuilder {
        self.encryptions = Some(encryptions.into_iter().collect());
        self
    }

    /// Re-check the token of every open connection (WebSocket, SSE, gRPC stream; see
    /// [`live`](crate::live)) this often: against the revocation list, and — past every cache —
    /// against the introspection endpoint for an opaque token. A revoked or inactive token then
    /// ends its connection within `every`; one the check cannot be made for ends it too (fail
    /// closed). Without it a connection lives until the token's `exp` (a token without `exp` is
    /// re-checked every [`RECHECK_WITHOUT_EXPIRY`](crate::live::RECHECK_WITHOUT_EXPIRY)). At
    /// least one second.
    pub fn connection_recheck(mut self, every: Duration) -> VerifierBuilder {
        self.connection_recheck = Some(every);
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

    /// Where the request pipeline looks for the token. Default: `Authorization: Bearer` only.
    pub fn token_sources(mut self, sources: TokenSources) -> VerifierBuilder {
        self.sources = sources;
        self
    }

    /// The client for remote key sets and discovery (default: [`HttpFetcher`], reqwest with
    /// rustls). Use it for a private CA, a proxy or a service mesh.
    #[cfg(feature = "remote")]
    pub fn fetcher(mut self, fetcher: impl Fetcher) -> VerifierBuilder {
        self.fetcher = Some(Arc::new(fetcher));
        self
    }

    /// The longest one key refresh (discovery plus key set) may take. Default 5 s.
    #[cfg(feature = "remote")]
    pub fn fetch_timeout(mut self, timeout: Duration) -> VerifierBuilder {
        self.fetch_timeout = timeout;
        self
    }

    /// The per-issuer minimum time between refetches caused by unknown `kid`s. Default 30 s.
    #[cfg(feature = "remote")]
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
    /// once. Once configured, every verification goes through it ([`Verifier::verify`],
    /// [`Verifier::try_verify`] and the request pipeline). See [`TokenCache`] for the rules.
    /// Needs the default feature `cache`.
    #[cfg(feature = "cache")]
    pub fn cache(mut self, cache: TokenCache) -> VerifierBuilder {
        self.cache = Some(cache);
        self
    }

    /// The body of every answer this verifier renders, in every adapter, for middleware and
    /// extractors alike (default [`PlainText`]; see also
    /// [`ProblemJson`](crate::answer::ProblemJson)). Status and headers are never the body's to change.
    pub fn answer_body(mut self, body: impl AnswerBody) -> VerifierBuilder {
        self.body = Arc::new(body);
        self
    }

    /// The protected resource (RFC 8707 identifier, RFC 9728 metadata): tokens whose `aud`
    /// names it are accepted, every 401 and 403 challenge carries `resource_metadata` pointing
    /// to its metadata document, and the adapters serve that document (see
    /// [`Verifier::resource_metadata`]). With a resource, an issuer needs no audience of its own.
    pub fn resource(mut self, resource: ProtectedResource) -> VerifierBuilder {
        self.resource = Some(resource);
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
        let decryption = match (self.decryption_keys.is_empty(), self.encryptions) {
            (true, Some(_)) => {
                return Err(ConfigError::new(
                    ConfigErrorKind::InvalidSetting,
                    "content_encryptions without a decryption_key",
                ));
            }
            (true, None) => None,
            (false, encryptions) => {
                let encryptions =
                    encryptions.unwrap_or_else(|| crate::jwe::ContentEncryption::ALL.to_vec());
                if encryptions.is_empty() {
                    return Err(ConfigError::new(
                        ConfigErrorKind::InvalidSetting,
                        "content_encryptions is empty",
                    ));
                }
                Some(crate::jwe::Decryption {
                    keys: self.decryption_keys,
                    encryptions,
                })
            }
        };
        if self
            .connection_recheck
            .is_some_and(|every| every < Duration::from_secs(1))
        {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "connection_recheck must be at least one second",
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
        #[cfg(feature = "remote")]
        if self.fetch_timeout.is_zero() || self.fetch_timeout > Duration::from_secs(60) {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "fetch_timeout must be between 1 ms and 60 s",
            ));
        }
        #[cfg(feature = "remote")]
        let mut settings: Option<Arc<RemoteSettings>> = None;
        #[cfg(feature = "remote")]
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
        // `cnf`: a sender-constrained token's binding (RFC 7800 confirmation), read whole.
        let mut wanted: Vec<(Box<str>, Want)> = vec![("cnf".into(), Want::Raw)];
        let mut expanded = Vec::with_capacity(self.issuers.len());
        for issuer in self.issuers {
            expanded.extend(issuer.expand()?);
        }
        for issuer in expanded {
            let has_resource = self.resource.is_some();
            #[cfg(feature = "remote")]
            let state = load_issuer(
                issuers.len(),
                issuer,
                has_resource,
                &mut remote_settings,
                &self.clock,
            )?;
            #[cfg(not(feature = "remote"))]
            let state = load_issuer(issuer, has_resource)?;
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
        #[cfg(feature = "remote")]
        let opaque_issuer = {
            let mut with = issuers
                .iter()
                .enumerate()
                .filter(|(_, i)| i.introspector.is_some());
            match (with.next(), with.next()) {
                (_, Some(_)) => {
                    return Err(ConfigError::new(
                        ConfigErrorKind::InvalidSetting,
                        "only one issuer may introspect: opaque tokens carry no issuer to pick one",
                    ));
                }
                (first, None) => first.map(|(index, _)| index),
            }
        };
        #[cfg(feature = "remote")]
        let introspection_wanted = crate::introspect::wanted(wanted.clone());
        let resource = match self.resource {
            Some(config) => {
                let servers = issuers.iter().map(|i| &*i.iss).collect();
                let dpop = self.dpop.as_ref().map(|dpop| DpopMetadata {
                    algorithms: dpop.algorithms.iter().map(|a| a.as_str()).collect(),
                    required: dpop.required || issuers.iter().all(|i| i.require_dpop),
                });
                Some(Resource::build(
                    config,
                    servers,
                    self.sources.bearer_methods(),
                    dpop,
                )?)
            }
            None => None,
        };
        if self.dpop.is_none() && issuers.iter().any(|i| i.require_dpop) {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "an issuer requires DPoP but the verifier refuses it",
            ));
        }
        if self.certificate_header.is_some() && self.proxies.is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "a client certificate header needs trusted proxies: anyone could send it",
            ));
        }
        if let Some(dpop) = &self.dpop {
            dpop.check()?;
        }
        let mut dpop = self.dpop;
        let shared = match (self.shared, dpop.as_mut()) {
            (Some(_), Some(dpop)) if dpop.replay_named => {
                return Err(ConfigError::new(
                    ConfigErrorKind::InvalidSetting,
                    "shared_store is the DPoP replay store: do not name another in Dpop",
                ));
            }
            (Some((shared, replay)), Some(dpop)) => {
                dpop.replay = replay;
                Some(shared)
            }
            (shared, _) => shared.map(|(shared, _)| shared),
        };
        let dpop = dpop.map(|dpop| {
            let algs = dpop.algs();
            crate::verifier::DpopState { dpop, algs }
        });
        #[cfg(feature = "metrics")]
        let meters = Arc::new(crate::observe::Meters::new(issuers.iter().map(|i| &*i.iss)));
        Ok(Verifier {
            inner: Arc::new(Inner {
                id: next_verifier_id(),
                issuers,
                wanted,
                leeway: self.leeway.as_secs(),
                clock: self.clock,
                realm,
                max_token_bytes: self.max_token_bytes,
                sources: self.sources,
                keys_unavailable_401: self.keys_unavailable_401,
                #[cfg(feature = "cache")]
                cache: self.cache.map(TokenCache::build).transpose()?,
                resource,
                #[cfg(feature = "remote")]
                opaque_issuer,
                #[cfg(feature = "remote")]
                introspection_wanted,
                body: self.body,
                dpop,
                api_keys: self
                    .api_keys
                    .map(crate::apikey::ApiKeys::build)
                    .transpose()?,
                keep_tokens: self.keep_tokens,
                proxies: self.proxies,
                certificate_header: self.certificate_header,
                revocation: self.revocation,
                shared,
                revocation_fail_open: self.revocation_fail_open,
                #[cfg(feature = "checks")]
                checks: self.checks,
                #[cfg(feature = "checks")]
                check_timeout: self.check_timeout,
                store_errors: Default::default(),
                connection_recheck: self.connection_recheck,
                decryption,
                #[cfg(feature = "metrics")]
                meters,
            }),
        })
    }
}

/// Whether a URL's authority holds userinfo (`user:password@host`).
fn carries_credentials(url: &str) -> bool {
    url.split_once("://").is_some_and(|(_, rest)| {
        rest.split(['/', '?', '#'])
            .next()
            .is_some_and(|authority| authority.contains('@'))
    })
}

fn load_issuer(
    #[cfg(feature = "remote")] index: usize,
    issuer: Issuer,
    has_resource: bool,
    #[cfg(feature = "remote")] remote_settings: &mut dyn FnMut() -> Result<
        Arc<RemoteSettings>,
        ConfigError,
    >,
    #[cfg(feature = "remote")] clock: &Arc<dyn Clock>,
) -> Result<IssuerState, ConfigError> {
    if issuer.iss.is_empty() {
        return Err(ConfigError::new(
            ConfigErrorKind::InvalidSetting,
            "an issuer's iss cannot be empty",
        ));
    }
    if carries_credentials(&issuer.iss) {
        // The identifier appears in logs, metric labels and health reports.
        return Err(ConfigError::new(
            ConfigErrorKind::InvalidSetting,
            "an issuer's iss cannot carry credentials (user:password@host)",
        ));
    }
    if issuer.audiences.is_empty() && !issuer.skip_audience && !has_resource {
        return Err(ConfigError::new(
            ConfigErrorKind::NoAudience,
            "an issuer needs at least one audience (or insecure_skip_audience_check)",
        ));
    }
    let algorithms = issuer.allowed_algorithms()?;
    #[cfg(feature = "remote")]
    let introspector = match issuer.introspection.clone() {
        Some(config) => Some(crate::introspect::Introspector::new(
            index,
            issuer.iss.as_str().into(),
            config,
            remote_settings()?,
            Arc::clone(clock),
        )?),
        None => None,
    };
    #[cfg(feature = "remote")]
    let introspect_all = match &issuer.introspection {
        Some(config) => config.introspects_jwts() || issuer.keys.is_none(),
        None => false,
    };
    #[cfg(feature = "remote")]
    let has_introspection = introspector.is_some();
    #[cfg(not(feature = "remote"))]
    let has_introspection = false;
    let source = match issuer.keys.clone() {
        Some(source) => Some(source),
        // With introspection, keys are optional: every token of the issuer is introspected.
        None if has_introspection => None,
        None => {
            return Err(ConfigError::new(
                ConfigErrorKind::NoKeys,
                "an issuer needs a key source (or introspection)",
            ));
        }
    };
    #[cfg(feature = "remote")]
    let any_tenant = match (&issuer.expansion, &issuer.keys) {
        (Some(crate::issuer::Expansion::AnyTenant { claim, max_tenants }), Some(source)) => {
            let at = crate::issuer::placeholder(&issuer.iss).ok_or_else(|| {
                ConfigError::new(
                    ConfigErrorKind::InvalidSetting,
                    "an issuer template holds exactly one {name} placeholder",
                )
            })?;
            Some(super::tenants::AnyTenant::new(
                &issuer.iss,
                at,
                claim,
                *max_tenants,
                source.clone(),
                algorithms,
                remote_settings()?,
                Arc::clone(clock),
            )?)
        }
        _ => None,
    };
    let iss: Arc<str> = issuer.iss.as_str().into();
    // An any-tenant template fetches per tenant: the template itself has no keys.
    #[cfg(feature = "remote")]
    let source = if any_tenant.is_some() { None } else { source };
    #[cfg(feature = "remote")]
    let endpoint = match &source {
        Some(source) => source.endpoint(&issuer.iss)?,
        None => None,
    };
    #[cfg(not(feature = "remote"))]
    let endpoint: Option<std::convert::Infallible> = None;
    let keys = match (endpoint, source) {
        #[cfg(feature = "remote")]
        (Some(endpoint), _) => IssuerKeys::remote(RemoteKeys::new(
            Arc::clone(&iss),
            endpoint,
            algorithms,
            remote_settings()?,
            Arc::clone(clock),
        )),
        #[cfg(not(feature = "remote"))]
        (Some(never), _) => match never {},
        (None, None) => IssuerKeys::fixed(KeySet::new(Vec::new())),
        (None, Some(source)) => {
            let keys: Vec<_> = source
                .load()?
                .into_iter()
                .filter_map(|k| k.restricted_to(algorithms))
                .collect();
            if keys.is_empty() {
                return Err(ConfigError::new(
                    ConfigErrorKind::NoKeys,
                    "none of the issuer's keys fits its allowed algorithms",
                ));
            }
            IssuerKeys::fixed(KeySet::new(keys))
        }
    };
    let required: Vec<Box<str>> = issuer
        .required_claims
        .iter()
        .map(|c| c.as_str().into())
        .collect();
    Ok(IssuerState {
        iss,
        audiences: issuer.audiences.iter().map(|a| a.as_str().into()).collect(),
        check_audience: !issuer.skip_audience,
        algorithms,
        keys,
        roles_paths: issuer.roles_paths,
        scope_claims: issuer
            .scope_claims
            .into_iter()
            .map(|name| vec![name])
            .collect(),
        audience_claim: issuer.audience_claim.map(|name| vec![name]),
        rfc9068: issuer.rfc9068,
        require_dpop: issuer.require_dpop,
        scope_implications: closure(&issuer.scope_implications),
        role_implications: closure(&issuer.role_implications),
        required,
        #[cfg(feature = "remote")]
        introspector,
        #[cfg(feature = "remote")]
        introspect_all,
        #[cfg(feature = "remote")]
        any_tenant,
    })
}

/// The transitive closure of a hierarchy: each name with everything it implies, directly or
/// through others (cycles end where they start).
fn closure(direct: &[(String, Vec<String>)]) -> Vec<(Box<str>, Vec<Box<str>>)> {
    let mut names: Vec<&str> = direct.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let mut found: Vec<&str> = Vec::new();
            let mut todo = vec![name];
            while let Some(current) = todo.pop() {
                for (_, implied) in direct.iter().filter(|(n, _)| n == current) {
                    for next in implied {
                        if next != name && !found.contains(&next.as_str()) {
                            found.push(next);
                            todo.push(next);
                        }
                    }
                }
            }
            (Box::from(name), found.into_iter().map(Box::from).collect())
        })
        .collect()
}

/// A new verifier's identity: unique in the process, never 0 (`Presented::NONE`).
fn next_verifier_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
