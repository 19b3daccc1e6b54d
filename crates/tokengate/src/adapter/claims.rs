//! The claims an extractor or a filter needs: [`Verifier::verified_claims`],
//! [`Verifier::required_claims`] and their fast path without a future
//! ([`Verifier::required_claims_now`], [`PendingClaims`]), on top of [`Verifier::decide`].

use std::fmt;

use serde::de::DeserializeOwned;

use super::pipeline::{Admission, Decision, Pending};
use super::policy::Policy;
use crate::answer::Answer;
use crate::claims::Verified;
use crate::error::{Error, ErrorKind};
use crate::request::{RequestHeaders, RequestView};
use crate::verifier::Verifier;

impl Verifier {
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
        T: DeserializeOwned + Send + Sync + 'static,
        H: RequestHeaders + Sync + ?Sized,
    {
        let admission = match self.decide(request, policy, earlier) {
            Decision::Admit(admission) => admission,
            Decision::Deny(answer) => return Err(answer),
            Decision::Pending(pending) => pending.resolve().await?,
        };
        Ok(admission.claims(earlier))
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
        T: DeserializeOwned + Send + Sync + 'static,
        H: RequestHeaders + Sync + ?Sized,
    {
        match self.required_claims_now(request, policy, earlier) {
            Ok(decided) => decided,
            Err(pending) => pending.resolve().await,
        }
    }

    /// [`required_claims`](Verifier::required_claims) without a future when nothing waits:
    /// `Ok` with the claims or the answer, decided now; `Err` with what to await when keys,
    /// an introspection or a shared store must answer first. For a framework whose filters
    /// return futures (warp): the fast path is then a ready value, not an `async` state
    /// machine that holds the request and the pipeline's slow path.
    ///
    /// # Errors
    /// [`PendingClaims`] when the decision waits for I/O.
    pub fn required_claims_now<T, H>(
        &self,
        request: &RequestView<'_, H>,
        policy: &Policy,
        earlier: Option<&Verified<T>>,
    ) -> Result<Result<Verified<T>, Answer>, PendingClaims<T>>
    where
        T: DeserializeOwned + Send + Sync + 'static,
        H: RequestHeaders + ?Sized,
    {
        match self.decide(request, policy, earlier) {
            Decision::Admit(admission) => Ok(self.required(admission, earlier, policy)),
            Decision::Deny(answer) => Ok(Err(answer)),
            Decision::Pending(pending) => Err(PendingClaims(Box::new(Waiting {
                pending,
                verifier: self.clone(),
                policy: policy.clone(),
                earlier: earlier.cloned(),
            }))),
        }
    }

    /// The claims an admission stands for on a route that requires credentials.
    fn required<T>(
        &self,
        admission: Admission<T>,
        earlier: Option<&Verified<T>>,
        policy: &Policy,
    ) -> Result<Verified<T>, Answer> {
        admission.claims(earlier).ok_or_else(|| {
            let error = Error::from(ErrorKind::MissingCredentials);
            self.answer_in(
                &error,
                policy.body(),
                crate::extract::Scheme::Bearer,
                policy.requires_dpop(),
            )
        })
    }
}

/// The slow path of [`Verifier::required_claims_now`]: a decision waiting for I/O, owning
/// everything it needs.
#[must_use]
pub struct PendingClaims<T>(Box<Waiting<T>>);

/// Boxed, as `Pending`'s parts are: the slow path, kept out of the fast path's `Result`.
struct Waiting<T> {
    pending: Pending<T>,
    verifier: Verifier,
    policy: Policy,
    earlier: Option<Verified<T>>,
}

impl<T> PendingClaims<T>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    /// Waits and finishes: the claims, or the answer to send.
    ///
    /// # Errors
    /// The [`Answer`] when the request is refused.
    pub async fn resolve(self) -> Result<Verified<T>, Answer> {
        let Waiting {
            pending,
            verifier,
            policy,
            earlier,
        } = *self.0;
        let admission = pending.resolve().await?;
        verifier.required(admission, earlier.as_ref(), &policy)
    }
}

impl<T> fmt::Debug for PendingClaims<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PendingClaims")
    }
}
