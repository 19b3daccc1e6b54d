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
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::algorithm::AlgorithmSet;
use crate::answer::{Answer, AnswerBody};
#[cfg(feature = "cache")]
use crate::cache::{self, Cache};
use crate::challenge::Realm;
use crate::claims::Verified;
use crate::clock::Clock;
use crate::error::{Error, ErrorKind};
use crate::extract::TokenSources;
use crate::health::IssuerHealth;
use crate::json::Want;

pub use builder::{
    DEFAULT_FETCH_TIMEOUT, DEFAULT_KID_REFRESH_COOLDOWN, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES,
    MAX_LEEWAY, VerifierBuilder,
};
use keys::IssuerKeys;
use validate::{Decoded, Stop};

/// Verifies access tokens. Cheap to clone (shared inside), `Send + Sync`.
///
/// `Debug` shows issuers and settings, never keys.
#[derive(Clone)]
pub struct Verifier {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    issuers: Vec<IssuerState>,
    /// Top-level claim names any issuer needs beyond the registered ones, and how.
    wanted: Vec<(Box<str>, Want)>,
    leeway: u64,
    clock: Arc<dyn Clock>,
    realm: Realm,
    max_token_bytes: usize,
    pub(crate) sources: TokenSources,
    keys_unavailable_401: bool,
    #[cfg(feature = "cache")]
    cache: Option<Cache>,
    body: Arc<dyn AnswerBody>,
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
    required: Vec<Box<str>>,
}

/// The outcome of [`Verifier::try_verify`]: done, or waiting for a remote issuer's keys.
#[must_use]
#[derive(Debug)]
pub enum Attempt<T> {
    /// Verified, or refused, without any I/O.
    Done(Result<Verified<T>, Error>),
    /// A remote issuer must fetch keys first; [`KeyWait::wait`] fetches and finishes.
    NeedsKeys(KeyWait<T>),
}

/// A verification waiting for keys. It holds the token already decoded, its header and claims
/// read and its cache key computed: finishing parses and hashes nothing again.
///
/// `Debug` prints no token content.
#[must_use]
pub struct KeyWait<T> {
    verifier: Verifier,
    decoded: Box<Decoded>,
    kid: Option<Box<str>>,
    hash: Option<[u8; 32]>,
    token_len: usize,
    _claims: std::marker::PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for KeyWait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyWait")
            .field(
                "issuer",
                &&*self.verifier.inner.issuers[self.decoded.issuer].iss,
            )
            .finish_non_exhaustive()
    }
}

impl<T> KeyWait<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Fetches the issuer's keys (shared with concurrent callers, bounded by backoff and the
    /// unknown-`kid` cooldown) and finishes the verification.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub async fn wait(self) -> Result<Verified<T>, Error> {
        let inner = &self.verifier.inner;
        let issuer = self.decoded.issuer;
        inner.issuers[issuer].keys.fetch(self.kid.as_deref()).await;
        let result = match inner.complete::<T>(&self.decoded.checkable()) {
            Ok((verified, generation)) => {
                inner.remember(self.hash, &verified, issuer, generation, self.token_len);
                Ok(verified)
            }
            Err(stop) => Err(inner.settle(stop, issuer)),
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
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        match self.try_verify::<T>(token) {
            Attempt::Done(result) => result,
            Attempt::NeedsKeys(wait) => wait.wait().await,
        }
    }

    /// Verifies `token` with the keys loaded now (and the cache, when configured), without
    /// waiting on anything. When a remote issuer must fetch keys first, the answer is
    /// [`Attempt::NeedsKeys`], which carries the work already done.
    pub fn try_verify<T>(&self, token: &str) -> Attempt<T>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        let inner = &self.inner;
        #[cfg(not(feature = "cache"))]
        let hash: Option<[u8; 32]> = None;
        #[cfg(feature = "cache")]
        let hash = match &inner.cache {
            Some(cache) => {
                let hash = cache::token_hash(token);
                if let Some(verified) = inner.cache_hit::<T>(cache, hash) {
                    return Attempt::Done(Ok(verified));
                }
                cache.count(false);
                Some(hash)
            }
            None => None,
        };
        let mut buf = Vec::new();
        let mut issuer = None;
        let result = match inner.prepare(token, &mut buf) {
            Err(error) => Err(error),
            Ok(prepared) => match inner.complete::<T>(&prepared.checkable()) {
                Ok((verified, generation)) => {
                    inner.remember(hash, &verified, prepared.issuer, generation, token.len());
                    Ok(verified)
                }
                Err(Stop::Fetch { kid }) => {
                    return Attempt::NeedsKeys(KeyWait {
                        verifier: self.clone(),
                        decoded: Box::new(prepared.into_decoded()),
                        kid,
                        hash,
                        token_len: token.len(),
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
    /// `keys_unavailable` when an issuer's keys could not be fetched.
    pub async fn ready(&self) -> Result<(), Error> {
        let mut failed = None;
        for state in &self.inner.issuers {
            if let Err(retry_after) = state.keys.ready(|| self.inner.clock.now_unix()).await {
                failed = Some(retry_after);
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
            .map(|state| state.keys.health(&state.iss, now))
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
        let body = body.unwrap_or(&*self.inner.body);
        if self.inner.keys_unavailable_401 && error.kind() == ErrorKind::KeysUnavailable {
            return Answer::unavailable_as_unauthorized(&self.inner.realm, body);
        }
        Answer::render(error, &self.inner.realm, body)
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

impl Inner {
    /// Logs a refused token at debug level: the stable code and fixed detail, and for an issuer
    /// or audience mismatch the *configured* values it was compared with (configuration, not
    /// secrets) — never the token or its claims.
    fn log_rejection(&self, error: &Error, issuer: Option<usize>) {
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
    fn cache_hit<T: Clone + 'static>(&self, cache: &Cache, hash: [u8; 32]) -> Option<Verified<T>> {
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
    fn remember<T: Clone + Send + Sync + 'static>(
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
