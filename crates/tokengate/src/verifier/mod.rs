// Over 600 lines: the verifier's public entry points and the credential/re-check paths that share its state.
//! The [`Verifier`]: one configured, shareable checker of access tokens.
//!
//! - `builder.rs`: configuration, checked once by `build`;
//! - `keys.rs`: each issuer's key store (static or remote) with its counters;
//! - `validate.rs`: the two verification stages over one decoded token;
//! - `wait.rs`: [`Attempt`] and [`Wait`], a verification that waits for keys;
//! - `report.rs`: health, readiness, answers, metadata and settings;
//! - `state.rs`: what the pipeline asks of the verifier's state (revocation, DPoP, the client
//!   certificate, introspection routing) and the store counters;
//! - this file: the verifier's state and the token-level API ([`Verifier::verify`],
//!   [`Verifier::try_verify`]) with the cache around it. The request pipeline is in [`crate::adapter`].

mod builder;
mod keys;
mod report;
mod state;
#[cfg(feature = "remote")]
mod tenants;
mod validate;
mod wait;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::algorithm::AlgorithmSet;
use crate::answer::AnswerBody;
#[cfg(feature = "cache")]
use crate::cache::Cache;
use crate::challenge::Realm;
use crate::claims::Verified;
use crate::clock::Clock;
use crate::error::{Error, ErrorKind};
use crate::extract::TokenSources;
use crate::json::Want;
use crate::store::StoreUnavailable;
use crate::store::{Lookup, RevocationList, RevocationStatus};

pub use crate::binding::TrustedProxies;

pub use builder::{
    DEFAULT_FETCH_TIMEOUT, DEFAULT_KID_REFRESH_COOLDOWN, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES,
    MAX_LEEWAY, VerifierBuilder,
};
use keys::IssuerKeys;
pub(crate) use state::StoreCounters;
pub use state::StoreErrors;
#[cfg(feature = "remote")]
pub(crate) use validate::Rules;
use validate::Stop;
use wait::Work;
pub use wait::{Attempt, Wait};

/// Verifies access tokens. Cheap to clone (shared inside), `Send + Sync`.
///
/// `Debug` shows issuers and settings, never keys.
#[derive(Clone)]
pub struct Verifier {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// This verifier's identity (never 0), recorded with the claims it admits: a guard
    /// trusts claims an outer guard verified only when they are its own verifier's.
    pub(crate) id: u64,
    issuers: Vec<IssuerState>,
    /// Top-level claim names any issuer needs beyond the registered ones, and how.
    wanted: Vec<(Box<str>, Want)>,
    leeway: u64,
    pub(crate) clock: Arc<dyn Clock>,
    realm: Realm,
    max_token_bytes: usize,
    pub(crate) sources: TokenSources,
    keys_unavailable_401: bool,
    #[cfg(feature = "cache")]
    cache: Option<Cache>,
    /// The protected resource, when configured (RFC 8707 audience, RFC 9728 metadata).
    pub(crate) resource: Option<crate::resource::Resource>,
    /// The issuer whose introspection checks opaque tokens, if any.
    #[cfg(feature = "remote")]
    opaque_issuer: Option<usize>,
    /// What an introspection response is read for: `wanted` plus `active` and `token_type`.
    #[cfg(feature = "remote")]
    introspection_wanted: Vec<(Box<str>, Want)>,
    body: Arc<dyn AnswerBody>,
    /// DPoP settings, when the `DPoP` scheme is accepted.
    pub(crate) dpop: Option<DpopState>,
    /// Static API keys, when configured.
    pub(crate) api_keys: Option<crate::apikey::ApiKeySet>,
    /// Keep each admitted request's token with its claims, for a token exchange.
    pub(crate) keep_tokens: bool,
    /// Proxies whose forwarding and certificate headers are believed.
    pub(crate) proxies: crate::binding::TrustedProxies,
    /// The header a trusted proxy passes the client certificate in.
    pub(crate) certificate_header: Option<http::HeaderName>,
    /// The revocation list, when configured.
    pub(crate) revocation: Option<Arc<dyn RevocationList>>,
    /// The revocation list when it is also the replay store, asked both in one call.
    pub(crate) shared: Option<Arc<dyn crate::store::SharedStore>>,
    pub(crate) revocation_fail_open: bool,
    pub(crate) store_errors: StoreCounters,
    /// Request metrics (feature `metrics`).
    #[cfg(feature = "metrics")]
    pub(crate) meters: Arc<crate::observe::Meters>,
    /// Custom checks on every token, and their timeout.
    #[cfg(feature = "checks")]
    pub(crate) checks: Vec<Arc<dyn crate::checks::CustomCheck>>,
    #[cfg(feature = "checks")]
    pub(crate) check_timeout: Duration,
    /// How often an open connection's token is re-checked (`live`).
    connection_recheck: Option<Duration>,
    /// Keys for encrypted tokens (JWE), when configured.
    decryption: Option<crate::jwe::Decryption>,
}

/// DPoP settings with the challenge's `algs` rendered once.
pub(crate) struct DpopState {
    pub(crate) dpop: crate::binding::Dpop,
    pub(crate) algs: String,
}

struct IssuerState {
    iss: Arc<str>,
    audiences: Vec<Box<str>>,
    check_audience: bool,
    algorithms: AlgorithmSet,
    keys: IssuerKeys,
    roles_paths: Vec<Vec<String>>,
    scope_claims: Vec<Vec<String>>,
    audience_claim: Option<Vec<String>>,
    rfc9068: bool,
    require_dpop: bool,
    /// Scope and role hierarchies, closed transitively at build time.
    scope_implications: Vec<(Box<str>, Vec<Box<str>>)>,
    role_implications: Vec<(Box<str>, Vec<Box<str>>)>,
    required: Vec<Box<str>>,
    #[cfg(feature = "remote")]
    introspector: Option<crate::introspect::Introspector>,
    /// Every token of this issuer is introspected (`introspect_jwts`, or no key source).
    #[cfg(feature = "remote")]
    introspect_all: bool,
    /// A template accepting any tenant (`iss` is then the template): keys per tenant.
    #[cfg(feature = "remote")]
    any_tenant: Option<tenants::AnyTenant>,
}

/// An issuer's keys for one token: its own, or (any-tenant templates) the tenant's.
enum KeysRef<'a> {
    Own(&'a IssuerKeys),
    #[cfg(feature = "remote")]
    Tenant(Arc<IssuerKeys>),
}

impl std::ops::Deref for KeysRef<'_> {
    type Target = IssuerKeys;
    fn deref(&self) -> &IssuerKeys {
        match self {
            KeysRef::Own(keys) => keys,
            #[cfg(feature = "remote")]
            KeysRef::Tenant(keys) => keys,
        }
    }
}

impl IssuerState {
    /// Whether a token's `iss` names this issuer: exactly, or a tenant of its any-tenant
    /// template.
    fn names(&self, iss: &str) -> bool {
        if *self.iss == *iss {
            return true;
        }
        #[cfg(feature = "remote")]
        if let Some(any) = &self.any_tenant {
            return any.tenant_of(iss).is_some();
        }
        false
    }

    /// The keys that verify a token with this `iss`.
    fn keys_for(&self, iss: &str) -> Result<KeysRef<'_>, Error> {
        #[cfg(feature = "remote")]
        if let Some(any) = &self.any_tenant {
            let tenant = any.tenant_of(iss).ok_or_else(|| {
                Error::new(ErrorKind::InvalidIssuer, "iss names no configured issuer")
            })?;
            return any.keys(tenant).map(KeysRef::Tenant);
        }
        let _ = iss;
        Ok(KeysRef::Own(&self.keys))
    }
}

/// The token-only API's rule: a sender-constrained token needs a proof or certificate it
/// cannot see, so it is refused (the request pipeline checks the binding instead).
fn bearer_only<T>(verified: Verified<T>) -> Result<Verified<T>, Error> {
    if verified.meta.confirmation.is_some() {
        return Err(Error::new(
            ErrorKind::BoundToken,
            "a sender-constrained token was presented as a bearer token",
        ));
    }
    Ok(verified)
}

thread_local! {
    /// The decoded segments of the token being verified, kept per thread: no allocation and no
    /// zero-filling per verification once it has grown to the tokens a service sees.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A scratch buffer grown past this (tokens larger than the default cap) is given back.
const SCRATCH_KEEP: usize = 64 * 1024;

/// The token's hash, computed unless already known (from the token cache's lookup).
#[cfg(feature = "remote")]
fn known_or_hash(known: Option<[u8; 32]>, token: &str) -> [u8; 32] {
    match known {
        Some(hash) => hash,
        None => token_hash(token),
    }
}

/// The verifier's decryption settings, when encrypted tokens are accepted.
fn inner_decryption(verifier: &Verifier) -> Option<&crate::jwe::Decryption> {
    verifier.inner.decryption.as_ref()
}

/// A SHA-256 of the token: cache keys never hold the token; a DPoP proof's `ath` is its
/// base64url.
pub(crate) fn token_hash(token: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
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
        VerifierBuilder::new()
    }

    /// Verifies `token` and deserializes its claims into `T` — any type
    /// `serde_json::from_slice` accepts for the payload, read only after the signature and
    /// the registered claims have been checked.
    ///
    /// Uses the configured cache. Async because a remote key set may need fetching; with keys
    /// loaded it does no I/O and completes on first poll.
    ///
    /// # Errors
    /// An [`Error`] whose [`kind`](Error::kind) says what failed; render it with
    /// [`answer`](Verifier::answer).
    pub async fn verify<T>(&self, token: &str) -> Result<Verified<T>, Error>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        match self.try_verify::<T>(token) {
            Attempt::Done(result) => result,
            Attempt::NeedsIo(wait) => wait.wait().await,
        }
    }

    /// Verifies `token` with the keys loaded now (and the caches, when configured), without
    /// waiting on anything. When a remote issuer must fetch keys first, or an opaque token must
    /// be introspected, the answer is [`Attempt::NeedsIo`], which carries the work already done.
    ///
    /// A sender-constrained token (`cnf`) is refused here (`bound_token`): its proof or
    /// certificate is part of the request, which only [`decide`](Verifier::decide) sees.
    pub fn try_verify<T>(&self, token: &str) -> Attempt<T>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        match self.attempt::<T>(token, true, None) {
            Attempt::Done(result) => {
                let result = result.and_then(bearer_only);
                if let Err(error) = &result {
                    if error.kind() == ErrorKind::BoundToken {
                        self.inner.log_rejection(error, None);
                    }
                }
                Attempt::Done(result)
            }
            Attempt::NeedsIo(mut wait) => {
                wait.bearer_only = true;
                Attempt::NeedsIo(wait)
            }
        }
    }

    /// [`try_verify`](Verifier::try_verify) keeping a sender-constrained token's binding for
    /// the pipeline to check against the request; with `revocation` false the revocation list
    /// is left to the caller (the pipeline asks it together with the replay store).
    ///
    /// `known_hash` is the token's SHA-256 when the caller has it already (a DPoP request
    /// hashes the token for the proof's `ath`): the cache lookup reuses it.
    pub(crate) fn attempt<T>(
        &self,
        token: &str,
        revocation: bool,
        known_hash: Option<[u8; 32]>,
    ) -> Attempt<T>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        #[cfg(not(feature = "cache"))]
        let hash: Option<[u8; 32]> = known_hash;
        #[cfg(feature = "cache")]
        let inner = &self.inner;
        #[cfg(feature = "cache")]
        let hash = match &inner.cache {
            Some(cache) => {
                let hash = known_hash.unwrap_or_else(|| token_hash(token));
                if let Some(verified) = inner.cache_hit::<T>(cache, hash) {
                    return self.unless_revoked(verified, revocation);
                }
                cache.count(false);
                Some(hash)
            }
            None => known_hash,
        };
        // An encrypted token: decrypted first, then verified as the JWT it carries; the cache
        // keeps it under the encrypted token's hash (`hash`).
        let decrypted;
        let token = match &inner_decryption(self) {
            Some(decryption) if crate::jwe::is_jwe(token) => {
                if token.len() > self.inner.max_token_bytes {
                    let error =
                        Error::new(ErrorKind::TokenTooLarge, "the token is larger than the cap");
                    self.inner.log_rejection(&error, None);
                    return Attempt::Done(Err(error));
                }
                match decryption.decrypt(token) {
                    Ok(jwt) => {
                        decrypted = jwt;
                        decrypted.as_str()
                    }
                    Err(error) => {
                        self.inner.log_rejection(&error, None);
                        return Attempt::Done(Err(error));
                    }
                }
            }
            _ => token,
        };
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut buf) => {
                let attempt = self.uncached(token, revocation, hash, &mut buf);
                if buf.len() > SCRATCH_KEEP {
                    *buf = Vec::new();
                }
                attempt
            }
            // Verification re-entered on this thread (from a claims type's `Deserialize`).
            Err(_) => self.uncached(token, revocation, hash, &mut Vec::new()),
        })
    }

    /// [`attempt`](Self::attempt) past the cache: `buf` receives the decoded segments.
    fn uncached<T>(
        &self,
        token: &str,
        revocation: bool,
        hash: Option<[u8; 32]>,
        buf: &mut Vec<u8>,
    ) -> Attempt<T>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let inner = &self.inner;
        let mut issuer = None;
        let prepared = inner.prepare(token, buf);
        #[cfg(feature = "remote")]
        if let Some(at) = inner.introspection_for(token, &prepared) {
            let hash = known_or_hash(hash, token);
            if let Some(introspector) = &inner.issuers[at].introspector {
                if let Some(result) = introspector.cached::<T>(hash) {
                    return match result {
                        Ok(verified) => self.unless_revoked(verified, revocation),
                        Err(error) => {
                            inner.log_rejection(&error, Some(at));
                            Attempt::Done(Err(error))
                        }
                    };
                }
            }
            #[cfg(feature = "metrics")]
            crate::observe::cache("introspection", false);
            return Attempt::NeedsIo(Wait {
                verifier: self.clone(),
                work: Work::Introspect {
                    token: token.into(),
                    issuer: at,
                },
                hash: Some(hash),
                token_len: token.len(),
                bearer_only: false,
                revocation,
                _claims: std::marker::PhantomData,
            });
        }
        let result = match prepared {
            Err(error) => Err(error),
            Ok(prepared) => match inner.complete::<T>(&prepared.checkable()) {
                Ok((verified, generation)) => {
                    inner.remember(hash, &verified, prepared.issuer, generation, token.len());
                    return self.unless_revoked(verified, revocation);
                }
                Err(Stop::Fetch { kid }) => {
                    return Attempt::NeedsIo(Wait {
                        verifier: self.clone(),
                        work: Work::Keys {
                            decoded: Box::new(prepared.into_decoded()),
                            kid,
                        },
                        hash,
                        token_len: token.len(),
                        bearer_only: false,
                        revocation,
                        _claims: std::marker::PhantomData,
                    });
                }
                Err(stop) => {
                    issuer = Some(prepared.issuer);
                    Err(inner.settle(stop, prepared.issuer))
                }
            },
        };
        if let Err(error) = &result {
            inner.log_rejection(error, issuer);
        }
        Attempt::Done(result)
    }

    /// A verified token, unless the revocation list says otherwise (now, or after I/O).
    fn unless_revoked<T>(&self, verified: Verified<T>, revocation: bool) -> Attempt<T>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let inner = &self.inner;
        let Some(list) = inner.revocation.as_ref().filter(|_| revocation) else {
            return Attempt::Done(Ok(verified));
        };
        match list.status(&verified.identity(), inner.clock.now_unix()) {
            Lookup::Now(status) => {
                let result = inner.judge_revocation(status).map(|()| verified);
                if let Err(error) = &result {
                    inner.log_rejection(error, None);
                }
                Attempt::Done(result)
            }
            Lookup::Later(lookup) => {
                let issuer = inner
                    .issuers
                    .iter()
                    .position(|i| Arc::ptr_eq(&i.iss, &verified.meta.issuer))
                    .unwrap_or(0);
                Attempt::NeedsIo(Wait {
                    verifier: self.clone(),
                    work: Work::Revocation {
                        verified: Box::new(verified),
                        lookup,
                        issuer,
                    },
                    hash: None,
                    token_len: 0,
                    bearer_only: false,
                    revocation: true,
                    _claims: std::marker::PhantomData,
                })
            }
        }
    }

    /// Where this verifier takes a request's token from; for a WebSocket handshake, which
    /// subprotocol to echo ([`TokenSources::websocket_reply_protocol`]).
    #[must_use]
    pub fn token_sources(&self) -> &TokenSources {
        &self.inner.sources
    }

    /// The interval of [`VerifierBuilder::connection_recheck`].
    #[must_use]
    pub fn connection_recheck(&self) -> Option<Duration> {
        self.inner.connection_recheck
    }

    /// The request's token, read again from the configured sources (for an open connection's
    /// re-checks); `None` when there is none.
    #[cfg(feature = "live")]
    pub(crate) fn request_token<H>(
        &self,
        request: &crate::request::RequestView<'_, H>,
    ) -> Option<String>
    where
        H: crate::request::RequestHeaders + ?Sized,
    {
        match self.find_credential(request) {
            Ok(Some(credential)) => Some(credential.token.as_str().to_owned()),
            _ => None,
        }
    }

    /// The request's credential, from every place this verifier reads one: its token sources
    /// and its API key header. The `DPoP` scheme without DPoP settings, and the `ApiKey` scheme
    /// without API keys, are no credential of its.
    pub(crate) fn find_credential<'r, H>(
        &self,
        request: &'r crate::request::RequestView<'_, H>,
    ) -> Result<Option<crate::extract::Credential<'r>>, Error>
    where
        H: crate::request::RequestHeaders + ?Sized,
    {
        use crate::extract::Scheme;
        let inner = &self.inner;
        let sources = &inner.sources;
        let upgrade = sources.has_upgrade_sources() && request.is_websocket_upgrade();
        let mut found = match sources.extract_from(request.headers(), request.query(), upgrade)? {
            Some(credential) if credential.scheme == Scheme::Dpop && inner.dpop.is_none() => None,
            Some(credential) if credential.scheme == Scheme::ApiKey && inner.api_keys.is_none() => {
                None
            }
            other => other,
        };
        if let Some(name) = inner
            .api_keys
            .as_ref()
            .and_then(|keys| keys.header.as_ref())
        {
            if let Some(key) = crate::extract::api_key_header(request.headers(), name)? {
                if found.is_some() {
                    return Err(Error::new(
                        ErrorKind::MultipleCredentials,
                        "more than one credential",
                    ));
                }
                found = Some(key);
            }
        }
        Ok(found)
    }

    /// An open connection's re-check of `token`: still valid (signature, issuer, audience,
    /// `nbf`; its `exp` is the connection deadline's), not revoked, and — for a token this
    /// verifier introspects — still active at the provider, asked again past every cache.
    #[cfg(feature = "live")]
    pub(crate) async fn recheck(&self, token: &str) -> Result<(), Error> {
        use serde::de::IgnoredAny;
        // An API key is looked up again (never verified as a token), then the revocation list
        // (its principal) is asked.
        if self
            .inner
            .api_keys
            .as_ref()
            .is_some_and(|keys| keys.find(token).is_some())
        {
            let verified = self.inner.api_key_claims::<IgnoredAny>(token)?;
            return self.inner.not_revoked(verified).await.map(drop);
        }
        // An encrypted token is re-checked as the JWT it carries, as at admission: never sent
        // to an introspection endpoint as an opaque token.
        let decrypted;
        let token = match &self.inner.decryption {
            Some(decryption) if crate::jwe::is_jwe(token) => {
                decrypted = decryption.decrypt(token)?;
                decrypted.as_str()
            }
            _ => token,
        };
        #[cfg(feature = "remote")]
        {
            let inner = &self.inner;
            let at = {
                let mut buf = Vec::new();
                let prepared = inner.prepare(token, &mut buf);
                inner.introspection_for(token, &prepared)
            };
            if let Some(introspector) = at.and_then(|at| inner.issuers[at].introspector.as_ref()) {
                let verified = introspector
                    .introspect_fresh::<IgnoredAny>(&**inner, token, token_hash(token))
                    .await?;
                return inner.not_revoked(verified).await.map(drop);
            }
        }
        match self.attempt::<IgnoredAny>(token, true, None) {
            Attempt::Done(result) => result.map(drop),
            Attempt::NeedsIo(wait) => wait.wait().await.map(drop),
        }
    }

    /// Revokes the token with `jti` from `issuer` on the configured revocation list (shared by
    /// every instance when it is a shared store), until `until` (the token's `exp`).
    ///
    /// # Errors
    /// [`ErrorKind::RevocationUnavailable`] without a list, or when the list cannot answer.
    pub async fn revoke_jti(&self, issuer: &str, jti: &str, until: u64) -> Result<(), Error> {
        let list = self.revocation_list()?;
        list.revoke_jti(issuer, jti, until)
            .await
            .map_err(|_| Error::revocation_unavailable(Duration::from_secs(5)))
    }

    /// Revokes every token of `subject` from `issuer` issued before `issued_before`, until
    /// `until` (when the last of them expires).
    ///
    /// # Errors
    /// As [`revoke_jti`](Verifier::revoke_jti).
    pub async fn revoke_subject_before(
        &self,
        issuer: &str,
        subject: &str,
        issued_before: u64,
        until: u64,
    ) -> Result<(), Error> {
        let list = self.revocation_list()?;
        list.revoke_subject(issuer, subject, issued_before, until)
            .await
            .map_err(|_| Error::revocation_unavailable(Duration::from_secs(5)))
    }

    fn revocation_list(&self) -> Result<&Arc<dyn RevocationList>, Error> {
        self.inner.revocation.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::RevocationUnavailable,
                "no revocation list is configured",
            )
        })
    }
}
