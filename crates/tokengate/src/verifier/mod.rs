//! The [`Verifier`]: one configured, shareable checker of access tokens.
//!
//! - `builder.rs`: configuration, checked once by `build`;
//! - `keys.rs`: each issuer's key store (static or remote) with its counters;
//! - `validate.rs`: the two verification stages over one decoded token;
//! - this file: the token-level API ([`Verifier::verify`], [`Verifier::try_verify`]) and the
//!   cache around it. The request pipeline is in [`crate::adapter`].

mod builder;
mod keys;
mod validate;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::algorithm::AlgorithmSet;
use crate::answer::{Answer, AnswerBody, Challenges};
#[cfg(feature = "cache")]
use crate::cache::Cache;
use crate::challenge::Realm;
use crate::claims::Verified;
use crate::clock::Clock;
use crate::error::{Error, ErrorKind};
use crate::extract::TokenSources;
use crate::health::IssuerHealth;
use crate::json::Want;
use crate::store::StoreUnavailable;
use crate::store::{Lookup, RevocationList, RevocationStatus};

pub use crate::binding::TrustedProxies;
pub use builder::{
    DEFAULT_FETCH_TIMEOUT, DEFAULT_KID_REFRESH_COOLDOWN, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES,
    MAX_LEEWAY, VerifierBuilder,
};
use keys::IssuerKeys;
#[cfg(feature = "remote")]
pub(crate) use validate::Rules;
use validate::{Decoded, Stop};

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
}

/// The outcome of [`Verifier::try_verify`]: done, or waiting for I/O.
#[must_use]
#[derive(Debug)]
pub enum Attempt<T> {
    /// Verified, or refused, without any I/O.
    Done(Result<Verified<T>, Error>),
    /// A remote issuer must fetch keys, or an opaque token must be introspected, first;
    /// [`Wait::wait`] does it and finishes.
    NeedsIo(Wait<T>),
}

/// A verification waiting for I/O: a key fetch (the token already decoded, its header and
/// claims read) or an introspection call. Its cache key is computed: finishing parses and
/// hashes nothing again.
///
/// `Debug` prints no token content.
#[must_use]
pub struct Wait<T> {
    verifier: Verifier,
    work: Work,
    hash: Option<[u8; 32]>,
    token_len: usize,
    /// Refuse a sender-constrained token (the token-only API, which sees no proof).
    bearer_only: bool,
    /// Check the revocation list after verifying (the pipeline checks it itself, together
    /// with the replay store).
    revocation: bool,
    _claims: std::marker::PhantomData<fn() -> T>,
}

enum Work {
    /// Fetch the issuer's keys (for this unknown `kid`, or because none is usable).
    Keys {
        decoded: Box<Decoded>,
        kid: Option<Box<str>>,
    },
    /// Ask the issuer's introspection endpoint.
    #[cfg(feature = "remote")]
    Introspect { token: Box<str>, issuer: usize },
    /// The token verified; the revocation list answers later.
    Revocation {
        verified: Box<dyn std::any::Any + Send>,
        lookup: Pin<Box<dyn Future<Output = Result<RevocationStatus, StoreUnavailable>> + Send>>,
        issuer: usize,
    },
}

impl Work {
    fn issuer(&self) -> usize {
        match self {
            Work::Keys { decoded, .. } => decoded.issuer,
            #[cfg(feature = "remote")]
            Work::Introspect { issuer, .. } => *issuer,
            Work::Revocation { issuer, .. } => *issuer,
        }
    }
}

impl<T> fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let issuer = &*self.verifier.inner.issuers[self.work.issuer()].iss;
        f.debug_struct("Wait")
            .field("issuer", &issuer)
            .finish_non_exhaustive()
    }
}

impl<T> Wait<T>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    /// Does the I/O — a key fetch (shared with concurrent callers, bounded by backoff and the
    /// unknown-`kid` cooldown) or an introspection call (single-flight, cached) — and
    /// finishes the verification.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub async fn wait(self) -> Result<Verified<T>, Error> {
        let inner = &self.verifier.inner;
        let issuer = self.work.issuer();
        let result = match self.work {
            Work::Keys { decoded, kid } => {
                inner.issuers[issuer].keys.fetch(kid.as_deref()).await;
                match inner.complete::<T>(&decoded.checkable()) {
                    Ok((verified, generation)) => {
                        inner.remember(self.hash, &verified, issuer, generation, self.token_len);
                        if self.revocation {
                            inner.not_revoked(verified).await
                        } else {
                            Ok(verified)
                        }
                    }
                    Err(stop) => Err(inner.settle(stop, issuer)),
                }
            }
            Work::Revocation {
                verified, lookup, ..
            } => match verified.downcast::<Verified<T>>() {
                Ok(verified) => inner.judge_revocation(lookup.await).map(|()| *verified),
                Err(_) => Err(Error::new(ErrorKind::InvalidClaim, "claims type mismatch")),
            },
            #[cfg(feature = "remote")]
            Work::Introspect { token, issuer } => {
                let hash = known_or_hash(self.hash, &token);
                match &inner.issuers[issuer].introspector {
                    Some(introspector) => {
                        match introspector.introspect::<T>(&**inner, &token, hash).await {
                            Ok(verified) if self.revocation => inner.not_revoked(verified).await,
                            other => other,
                        }
                    }
                    None => Err(Error::new(
                        ErrorKind::InvalidIssuer,
                        "no introspection for the issuer",
                    )),
                }
            }
        };
        let result = if self.bearer_only {
            result.and_then(bearer_only)
        } else {
            result
        };
        if let Err(error) = &result {
            inner.log_rejection(error, Some(issuer));
        }
        result
    }

    /// The verifier this wait belongs to.
    #[must_use]
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
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

    /// How often each shared store could not answer (each time a request was refused with 503,
    /// or admitted where an `insecure_…_fail_open` option says so).
    #[must_use]
    pub fn store_errors(&self) -> StoreErrors {
        let counters = &self.inner.store_errors;
        StoreErrors {
            replay: counters.replay.load(Ordering::Relaxed),
            revocation: counters.revocation.load(Ordering::Relaxed),
        }
    }

    /// Counters of the verified-token cache, if one is configured.
    #[cfg(feature = "cache")]
    #[must_use]
    pub fn cache_stats(&self) -> Option<crate::cache::CacheStats> {
        self.inner.cache.as_ref().map(Cache::stats)
    }

    /// Fetches the keys of every remote issuer that has none fresh, now. Call it before
    /// serving (a readiness probe) so the first requests do not wait.
    ///
    /// # Errors
    /// `keys_unavailable` when an issuer's keys could not be fetched; its
    /// [`reason`](Error::reason) (and `Display`) names each such issuer and why — a discovery
    /// document that names another issuer (with both strings), a connection refused, ….
    pub async fn ready(&self) -> Result<(), Error> {
        let mut failed = None;
        let mut reasons = Vec::new();
        let now = self.inner.clock.now_unix();
        for state in &self.inner.issuers {
            if let Err(retry_after) = state.keys.ready(|| self.inner.clock.now_unix()).await {
                failed = Some(retry_after);
                let why = state.keys.health(&state.iss, now).last_failure_message;
                reasons.push(format!(
                    "{}: {}",
                    state.iss,
                    why.as_deref().unwrap_or("no key could be loaded")
                ));
            }
        }
        match failed {
            Some(retry_after) => {
                Err(Error::keys_unavailable(retry_after).with_reason(reasons.join("; ")))
            }
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
                let mut health = state.keys.health(&state.iss, now);
                health.algorithms = state
                    .keys
                    .current()
                    .algorithms()
                    .intersection(state.algorithms);
                #[cfg(feature = "remote")]
                {
                    health.introspection = state
                        .introspector
                        .as_ref()
                        .map(crate::introspect::Introspector::health);
                }
                health
            })
            .collect()
    }

    /// The answer to `error` — status, `WWW-Authenticate`, `Retry-After` and body — with this
    /// verifier's realm and settings.
    #[must_use]
    pub fn answer(&self, error: &Error) -> Answer {
        self.answer_with(error, None)
    }

    /// As [`answer`](Verifier::answer), with `body` instead of the verifier's body when given.
    pub(crate) fn answer_with(&self, error: &Error, body: Option<&dyn AnswerBody>) -> Answer {
        self.answer_in(error, body, false, false)
    }

    /// The answer to `error` on a request that used the `DPoP` scheme (`dpop_request`), on a
    /// route that accepts only DPoP-bound tokens (`dpop_only`).
    pub(crate) fn answer_in(
        &self,
        error: &Error,
        body: Option<&dyn AnswerBody>,
        dpop_request: bool,
        dpop_only: bool,
    ) -> Answer {
        let inner = &self.inner;
        let body = body.unwrap_or(&*inner.body);
        let metadata = inner.resource.as_ref().map(|r| &*r.url);
        if inner.keys_unavailable_401 && error.is_unavailable() {
            return Answer::unavailable_as_unauthorized(error.kind(), &inner.realm, metadata, body);
        }
        let dpop = inner.dpop.as_ref();
        let context = Challenges {
            resource_metadata: metadata,
            dpop_algs: dpop.map(|d| &*d.algs),
            dpop_request,
            dpop_only: dpop.is_some() && (dpop_only || dpop.is_some_and(|d| d.dpop.required)),
        };
        let nonce = match (error.kind(), dpop.and_then(|d| d.dpop.nonces.as_ref())) {
            (ErrorKind::UseDpopNonce, Some(nonces)) => Some(nonces.current(inner.clock.now_unix())),
            _ => None,
        };
        Answer::render_for(error, &inner.realm, context, nonce, body)
    }

    /// The protected resource's metadata document (RFC 9728), when one is configured: the
    /// path to serve it at (on the resource's host) and the response to serve. Every adapter
    /// mounts it in one line.
    #[must_use]
    pub fn resource_metadata(&self) -> Option<(&str, http::Response<bytes::Bytes>)> {
        let resource = self.inner.resource.as_ref()?;
        Some((&resource.path, resource.response()))
    }

    /// A readiness answer for probes (Kubernetes `readinessProbe`), any framework: 200 when
    /// every issuer's keys are usable (static, fresh, or stale but served), else 503; the JSON
    /// body names each issuer's state and key count (configuration, no secrets). It reads the
    /// current state and fetches nothing: pair it with [`ready`](Verifier::ready) at start.
    #[must_use]
    pub fn readiness(&self) -> http::Response<bytes::Bytes> {
        let issuers = self.health();
        let ready = issuers
            .iter()
            .all(|i| i.state != crate::health::KeysState::Failing);
        let body = serde_json::json!({
            "ready": ready,
            "issuers": issuers
                .iter()
                .map(|i| serde_json::json!({
                    "issuer": i.issuer,
                    "state": format!("{:?}", i.state).to_lowercase(),
                    "keys": i.key_count,
                    "consecutive_failures": i.consecutive_failures,
                }))
                .collect::<Vec<_>>(),
        });
        let mut response = http::Response::new(bytes::Bytes::from(body.to_string()));
        if !ready {
            *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
        }
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response.headers_mut().insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        response
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
            .map(|i| (&*i.iss, i.algorithms, i.keys.current().len()))
            .collect();
        f.debug_struct("Verifier")
            .field("issuers(iss, algorithms, key count)", &issuers)
            .field("leeway_secs", &self.inner.leeway)
            .field("realm", &self.inner.realm)
            .field("max_token_bytes", &self.inner.max_token_bytes)
            .finish_non_exhaustive()
    }
}

/// What a token refused by the first stage names, for routing it to introspection.
#[cfg(feature = "remote")]
enum Named {
    /// A JWS naming this configured issuer.
    Issuer(usize),
    /// A JWS whose header or payload is not strict JSON: judged locally, never sent out.
    Unreadable,
    /// Not a JWS, or a JWS naming no configured issuer.
    NotOurs,
}

#[cfg(feature = "remote")]
impl Inner {
    /// The issuer whose introspection should check this token, if any: an issuer that
    /// introspects all its tokens, or the opaque-token issuer for anything that is not a
    /// compact JWS from a configured issuer. A JWS that names a configured issuer but breaks a
    /// local rule (a `crit` header, `alg: none`, ...) keeps its local answer: it is never
    /// retried by introspection. So does a JWS whose payload is not strict JSON (a duplicate
    /// member, nesting past the limit): which issuer it names cannot be told, and another
    /// parser (the provider's) might read it otherwise. Oversized tokens are never sent
    /// anywhere (`docs/security.md`, "Which tokens are introspected").
    fn introspection_for(
        &self,
        token: &str,
        prepared: &Result<validate::Prepared<'_>, Error>,
    ) -> Option<usize> {
        match prepared {
            Ok(prepared) => Some(prepared.issuer).filter(|i| self.issuers[*i].introspect_all),
            Err(error) if error.kind() == ErrorKind::TokenTooLarge => None,
            Err(_) => match self.named_issuer(token) {
                Named::Issuer(index) => Some(index).filter(|i| self.issuers[*i].introspect_all),
                Named::Unreadable => None,
                Named::NotOurs => self.opaque_issuer,
            },
        }
    }

    /// What a token that failed the first stage names, read only on the refusal path.
    fn named_issuer(&self, token: &str) -> Named {
        let Ok(segments) = crate::jws::split(token) else {
            return Named::NotOurs;
        };
        let mut header = Vec::new();
        let is_jws = crate::jws::decode_into(segments.header, &mut header).is_ok()
            && serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&header)
                .is_ok_and(|header| header.contains_key("alg"));
        if !is_jws {
            return Named::NotOurs;
        }
        let mut payload = Vec::new();
        if crate::jws::decode_into(segments.payload, &mut payload).is_err() {
            return Named::Unreadable;
        }
        match crate::json::parse_view(&payload, &[]) {
            Ok(view) => match &view.iss {
                Some(crate::json::Loose::Str(iss)) => self
                    .issuers
                    .iter()
                    .position(|i| *i.iss == **iss)
                    .map_or(Named::NotOurs, Named::Issuer),
                _ => Named::NotOurs,
            },
            Err(_) => Named::Unreadable,
        }
    }
}

/// The verifier judges introspection answers: the introspector only fetches, caches and shares
/// them.
#[cfg(feature = "remote")]
impl crate::introspect::Judge for Inner {
    fn introspection_wanted(&self) -> &[(Box<str>, Want)] {
        &self.introspection_wanted
    }

    fn issuer_iss(&self, index: usize) -> &str {
        &self.issuers[index].iss
    }

    fn check_answer<T: DeserializeOwned>(
        &self,
        index: usize,
        view: &crate::json::ClaimsView<'_>,
        body: &[u8],
        now: u64,
    ) -> Result<Verified<T>, Error> {
        // RFC 7662: every member but `active` is optional; the RFC 9068 profile is about JWTs
        // and does not apply (the issuer's own `require_claims` do).
        let rules = Rules {
            exp_required: false,
            aud_required: false,
            jwt_profile: false,
        };
        self.check_claims::<T>(index, view, body, now, rules)
    }
}

/// Shared-store failures, per check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreErrors {
    /// The DPoP replay store.
    pub replay: u64,
    /// The revocation list.
    pub revocation: u64,
}

#[derive(Default)]
pub(crate) struct StoreCounters {
    pub(crate) replay: AtomicU64,
    pub(crate) revocation: AtomicU64,
}

impl Inner {
    /// The revocation list's answer as a decision: revoked is `revoked`; a list that cannot
    /// answer is 503, or — with `insecure_revocation_fail_open` — admitted with a warning.
    pub(crate) fn judge_revocation(
        &self,
        status: Result<RevocationStatus, StoreUnavailable>,
    ) -> Result<(), Error> {
        match status {
            Ok(RevocationStatus::Valid) => Ok(()),
            Ok(RevocationStatus::Revoked) => {
                Err(Error::new(ErrorKind::Revoked, "the token was revoked"))
            }
            Err(StoreUnavailable) => {
                self.store_errors.revocation.fetch_add(1, Ordering::Relaxed);
                #[cfg(feature = "metrics")]
                crate::observe::store_error("revocation");
                if self.revocation_fail_open {
                    tracing::warn!(
                        target: "tokengate::revocation",
                        "the revocation list could not answer: admitted (insecure_revocation_fail_open)"
                    );
                    Ok(())
                } else {
                    Err(Error::revocation_unavailable(Duration::from_secs(5)))
                }
            }
        }
    }

    /// The revocation check, awaited (for paths that are asynchronous anyway).
    async fn not_revoked<T>(&self, verified: Verified<T>) -> Result<Verified<T>, Error> {
        let Some(list) = &self.revocation else {
            return Ok(verified);
        };
        let status = match list.status(&verified.identity(), self.clock.now_unix()) {
            Lookup::Now(status) => status,
            Lookup::Later(lookup) => lookup.await,
        };
        self.judge_revocation(status).map(|()| verified)
    }

    /// Whether the issuer named `iss` requires DPoP-bound tokens.
    pub(crate) fn requires_dpop(&self, iss: &str) -> bool {
        self.issuers
            .iter()
            .any(|issuer| issuer.require_dpop && *issuer.iss == *iss)
    }

    /// Logs a refusal decided outside token verification (proof, binding, replay).
    pub(crate) fn log_refusal(&self, error: &Error) {
        self.log_rejection(error, None);
    }

    /// The SHA-256 of the request's client certificate: from the server's own TLS, else from
    /// the configured header when the request came through a trusted proxy.
    pub(crate) fn client_certificate<H: crate::request::RequestHeaders + ?Sized>(
        &self,
        request: &crate::request::RequestView<'_, H>,
    ) -> Option<[u8; 32]> {
        if let Some(der) = request.client_certificate() {
            return Some(crate::binding::certificate_thumbprint(der));
        }
        let name = self.certificate_header.as_ref()?;
        if !self.proxies.trusts(request) {
            return None;
        }
        let value = crate::binding::single(request.headers(), name.as_str())?;
        let der = crate::binding::certificate_from_header(value)?;
        Some(crate::binding::certificate_thumbprint(&der))
    }

    /// The canonical resource identifier, accepted as an audience.
    pub(crate) fn resource_canonical(&self) -> Option<&str> {
        self.resource.as_ref().map(|r| &*r.canonical)
    }

    /// Logs a refused token at debug level: the stable code and fixed detail, and for an issuer
    /// or audience mismatch the *configured* values it was compared with (configuration, not
    /// secrets) — never the token or its claims.
    fn log_rejection(&self, error: &Error, issuer: Option<usize>) {
        if !tracing::enabled!(target: "tokengate::verify", tracing::Level::DEBUG) {
            return;
        }
        match (error.kind(), issuer) {
            (ErrorKind::InvalidIssuer, _) => {
                let configured: Vec<&str> = self.issuers.iter().map(|i| &*i.iss).collect();
                tracing::debug!(
                    target: "tokengate::verify",
                    code = error.code(),
                    detail = error.detail(),
                    configured_issuers = ?configured,
                    "token rejected: its iss is none of the configured issuers"
                );
            }
            (ErrorKind::InvalidAudience, Some(index)) => {
                let state = &self.issuers[index];
                tracing::debug!(
                    target: "tokengate::verify",
                    code = error.code(),
                    detail = error.detail(),
                    issuer = &*state.iss,
                    configured_audiences = ?state.audiences,
                    "token rejected: its aud names none of the configured audiences"
                );
            }
            (ErrorKind::MissingClaim, _) => tracing::debug!(
                target: "tokengate::verify",
                code = error.code(),
                detail = error.detail(),
                claim = error.claim(),
                "token rejected: a required claim is missing"
            ),
            _ => tracing::debug!(
                target: "tokengate::verify",
                code = error.code(),
                detail = error.detail(),
                "token rejected"
            ),
        }
    }

    /// A cached verification still valid now, under the same key set.
    #[cfg(feature = "cache")]
    fn cache_hit<T: 'static>(&self, cache: &Cache, hash: [u8; 32]) -> Option<Verified<T>> {
        let entry = cache.get::<T>(hash)?;
        let now = self.clock.now_unix() as f64;
        let issuer = &self.issuers[entry.issuer];
        if now < entry.until && issuer.keys.current().generation == entry.generation {
            if let Some(verified) = Cache::claims::<T>(&entry) {
                cache.count(true);
                return Some(verified);
            }
        }
        cache.remove::<T>(hash);
        None
    }

    /// Remembers a verification in the cache, when one is configured.
    fn remember<T: Send + Sync + 'static>(
        &self,
        hash: Option<[u8; 32]>,
        verified: &Verified<T>,
        issuer: usize,
        generation: u64,
        token_len: usize,
    ) {
        #[cfg(feature = "cache")]
        if let (Some(cache), Some(hash)) = (&self.cache, hash) {
            let now = self.clock.now_unix();
            cache.insert(hash, verified, issuer, generation, now, token_len);
        }
        #[cfg(not(feature = "cache"))]
        let _ = (hash, verified, issuer, generation, token_len);
    }
}
