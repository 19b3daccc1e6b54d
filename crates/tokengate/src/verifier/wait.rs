//! The outcome of a token-level verification that may wait for I/O: [`Attempt`] and [`Wait`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;

#[cfg(feature = "remote")]
use super::known_or_hash;
use super::validate::Decoded;
use super::{Verifier, bearer_only};
use crate::claims::Verified;
use crate::error::{Error, ErrorKind};
use crate::store::{RevocationStatus, StoreUnavailable};

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
    pub(super) verifier: Verifier,
    pub(super) work: Work,
    pub(super) hash: Option<[u8; 32]>,
    pub(super) token_len: usize,
    /// Refuse a sender-constrained token (the token-only API, which sees no proof).
    pub(super) bearer_only: bool,
    /// Check the revocation list after verifying (the pipeline checks it itself, together
    /// with the replay store).
    pub(super) revocation: bool,
    pub(super) _claims: std::marker::PhantomData<fn() -> T>,
}

pub(super) enum Work {
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
                // The keys the token's `iss` names (an any-tenant template: its tenant's).
                if let Ok(store) = inner.issuers[issuer].keys_for(decoded.iss()) {
                    store.fetch(kid.as_deref()).await;
                }
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
