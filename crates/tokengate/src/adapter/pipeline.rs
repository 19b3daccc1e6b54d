//! [`Verifier::decide`]: the one call an adapter makes per request.

use std::fmt;

use serde::de::DeserializeOwned;

use crate::answer::Answer;
use crate::claims::Verified;
use crate::error::{Error, ErrorKind};
use crate::verifier::{Attempt, Verifier, Wait};

use super::policy::Policy;
use super::view::{RequestHeaders, RequestView};

/// Why a request is let through.
#[derive(Debug)]
pub enum Admission<T> {
    /// Its token was verified now: hand these claims to the handler (store them where later
    /// extractors find them).
    Verified(Verified<T>),
    /// An outer layer already verified its token and the route's requirement holds: keep the
    /// claims already stored.
    AlreadyVerified,
    /// It carries no credentials and the route allows that.
    Anonymous,
}

/// The pipeline's decision on a request.
#[must_use]
#[derive(Debug)]
pub enum Decision<T> {
    /// Let it through.
    Admit(Admission<T>),
    /// Answer with this, and do not call the handler.
    Deny(Answer),
    /// Keys must be fetched first; [`Pending::resolve`] finishes without repeating any work.
    Pending(Pending<T>),
}

impl<T> Admission<T> {
    /// The claims verified now, which the adapter stores for its extractors; `None` when
    /// there is nothing new to store (anonymous, or stored already by an outer layer).
    pub fn into_verified(self) -> Option<Verified<T>> {
        match self {
            Admission::Verified(verified) => Some(verified),
            Admission::AlreadyVerified | Admission::Anonymous => None,
        }
    }
}

/// A decision that waits for I/O (a remote issuer's keys). Owns everything it needs, so it
/// can move into a boxed future.
#[must_use]
pub struct Pending<T> {
    wait: Wait<T>,
    policy: Policy,
}

impl<T> fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl<T> Pending<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Fetches and finishes: the claims, or the answer to send.
    ///
    /// # Errors
    /// The [`Answer`] when the request is refused.
    pub async fn resolve(self) -> Result<Admission<T>, Answer> {
        let verifier = self.wait.verifier().clone();
        match self.wait.wait().await {
            Ok(verified) => admit(&verifier, &self.policy, verified),
            Err(error) => Err(deny(&verifier, &self.policy, &error)),
        }
    }
}

fn deny(verifier: &Verifier, policy: &Policy, error: &Error) -> Answer {
    verifier.answer_with(error, policy.body())
}

fn admit<T>(
    verifier: &Verifier,
    policy: &Policy,
    verified: Verified<T>,
) -> Result<Admission<T>, Answer> {
    match policy.check(&verified) {
        Ok(()) => Ok(Admission::Verified(verified)),
        Err(error) => Err(deny(verifier, policy, &error)),
    }
}

impl Verifier {
    /// Decides on a request: the request pipeline (`docs/architecture.md`).
    ///
    /// `earlier` is the claims an outer layer already verified for this request (found in
    /// the framework's request extensions), if any: then only the route's requirement is
    /// checked. Otherwise the token is taken from the configured sources, verified through
    /// the cache, and checked against `policy`. With keys loaded, this never waits and, on a
    /// cache hit, allocates only the claims it returns.
    pub fn decide<T, H>(
        &self,
        request: &RequestView<'_, H>,
        policy: &Policy,
        earlier: Option<&Verified<T>>,
    ) -> Decision<T>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
        H: RequestHeaders + ?Sized,
    {
        if let Some(verified) = earlier {
            return match policy.check(verified) {
                Ok(()) => Decision::Admit(Admission::AlreadyVerified),
                Err(error) => Decision::Deny(deny(self, policy, &error)),
            };
        }
        let extracted = self
            .inner
            .sources
            .extract_from(request.headers(), request.query());
        let token = match extracted {
            Ok(Some(token)) => token,
            Ok(None) if policy.allows_anonymous() => return Decision::Admit(Admission::Anonymous),
            Ok(None) => {
                let error = Error::from(ErrorKind::MissingCredentials);
                return Decision::Deny(deny(self, policy, &error));
            }
            Err(error) => return Decision::Deny(deny(self, policy, &error)),
        };
        match self.try_verify::<T>(token.as_str()) {
            Attempt::Done(Ok(verified)) => match admit(self, policy, verified) {
                Ok(admission) => Decision::Admit(admission),
                Err(answer) => Decision::Deny(answer),
            },
            Attempt::Done(Err(error)) => Decision::Deny(deny(self, policy, &error)),
            Attempt::NeedsIo(wait) => Decision::Pending(Pending {
                wait,
                policy: policy.clone(),
            }),
        }
    }

    /// The claims for an extractor or filter on a route whose `policy` may allow anonymous
    /// requests: [`decide`](Verifier::decide), waiting for I/O when needed. `None` only for an
    /// anonymous request the policy allows.
    ///
    /// # Errors
    /// The [`Answer`] when the request is refused.
    pub async fn verified_claims<T, H>(
        &self,
        request: &RequestView<'_, H>,
        policy: &Policy,
        earlier: Option<&Verified<T>>,
    ) -> Result<Option<Verified<T>>, Answer>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
        H: RequestHeaders + Sync + ?Sized,
    {
        let admission = match self.decide(request, policy, earlier) {
            Decision::Admit(admission) => admission,
            Decision::Deny(answer) => return Err(answer),
            Decision::Pending(pending) => pending.resolve().await?,
        };
        Ok(match admission {
            Admission::Verified(verified) => Some(verified),
            Admission::AlreadyVerified => earlier.cloned(),
            Admission::Anonymous => None,
        })
    }

    /// As [`verified_claims`](Verifier::verified_claims) for a route that requires
    /// credentials (whatever `policy` says about anonymous requests).
    ///
    /// # Errors
    /// The [`Answer`] when the request is refused; `missing_credentials` without a token.
    pub async fn required_claims<T, H>(
        &self,
        request: &RequestView<'_, H>,
        policy: &Policy,
        earlier: Option<&Verified<T>>,
    ) -> Result<Verified<T>, Answer>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
        H: RequestHeaders + Sync + ?Sized,
    {
        match self.verified_claims(request, policy, earlier).await? {
            Some(verified) => Ok(verified),
            None => {
                let error = Error::from(ErrorKind::MissingCredentials);
                Err(deny(self, policy, &error))
            }
        }
    }
}
