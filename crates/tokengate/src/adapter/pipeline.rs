// Over 600 lines: the one ordered sequence of request steps (`decide`): splitting it would scatter the order that is its point; extractors are in `claims.rs`.
//! [`Verifier::decide`]: the one call an adapter makes per request.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::answer::Answer;
use crate::binding;
use crate::claims::Verified;
use crate::error::{Error, ErrorKind};
use crate::extract::{Credential, Scheme};
use crate::store::{
    FirstUse, ProofUse, Reply, RevocationStatus, SharedAnswer, SharedLookup, StoreUnavailable,
};
use crate::verifier::{Attempt, Verifier, Wait, token_hash};

use super::policy::Policy;
use crate::request::{RequestHeaders, RequestView};

/// How the request presented its token: the scheme, a checked DPoP proof, the client
/// certificate's SHA-256.
#[derive(Clone, Debug)]
struct Presentation {
    scheme: Scheme,
    proof: Option<binding::Proof>,
    certificate: Option<[u8; 32]>,
    /// The token, kept for a token exchange (`VerifierBuilder::keep_tokens_for_exchange`).
    token: Option<std::sync::Arc<str>>,
    /// What custom checks see of the request, when there are checks.
    #[cfg(feature = "checks")]
    facts: Option<std::sync::Arc<crate::checks::RequestFacts>>,
}

impl Presentation {
    /// What the request showed, for the binding rules.
    fn shown(&self) -> binding::Presented {
        binding::Presented {
            dpop: self.scheme == Scheme::Dpop,
            proof_key: self.proof.map(|proof| proof.thumbprint),
            certificate: self.certificate,
        }
    }
}

/// What [`Verifier::before_body`] found in the request's headers: hand it to the body's
/// decision (`Verifier::decide_mcp_checked`, feature `mcp`) so the
/// token is not verified twice. It holds the token's verification, checked against the
/// request's own token when used: given another request, it is ignored.
#[must_use]
pub struct HeadersChecked<T> {
    verified: Option<([u8; 32], Verified<T>)>,
}

impl<T> HeadersChecked<T> {
    /// Nothing verified yet.
    fn empty() -> HeadersChecked<T> {
        HeadersChecked { verified: None }
    }
}

/// Nothing verified yet: the body's decision verifies the token itself.
impl<T> Default for HeadersChecked<T> {
    fn default() -> Self {
        HeadersChecked::empty()
    }
}

impl<T> fmt::Debug for HeadersChecked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeadersChecked")
            .field("verified", &self.verified.is_some())
            .finish()
    }
}

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
    /// The claims the request goes on with: verified now, or `earlier` (what an outer layer
    /// stored); `None` for an anonymous request.
    pub(super) fn claims(self, earlier: Option<&Verified<T>>) -> Option<Verified<T>> {
        match self {
            Admission::Verified(verified) => Some(verified),
            Admission::AlreadyVerified => earlier.cloned(),
            Admission::Anonymous => None,
        }
    }

    /// The claims verified now, which the adapter stores for its extractors; `None` when
    /// there is nothing new to store (anonymous, or stored already by an outer layer).
    pub fn into_verified(self) -> Option<Verified<T>> {
        match self {
            Admission::Verified(verified) => Some(verified),
            Admission::AlreadyVerified | Admission::Anonymous => None,
        }
    }
}

/// A decision that waits for I/O (a remote issuer's keys, an introspection call, a shared
/// replay store). Owns everything it needs, so it can move into a boxed future.
#[must_use]
pub struct Pending<T>(Box<Parts<T>>);

/// Boxed: a decision that waits is the slow path, and the fast path's `Decision` stays small.
struct Parts<T> {
    stage: Stage<T>,
    presented: Presentation,
    policy: Policy,
    /// The verifier's meters, when the decision started and the token's kind.
    #[cfg(feature = "metrics")]
    observed: Option<Observed>,
}

#[cfg(feature = "metrics")]
struct Observed {
    meters: std::sync::Arc<crate::observe::Meters>,
    started: quanta::Instant,
    kind: crate::observe::Kind,
}

enum Stage<T> {
    /// The token's verification waits.
    Verify(Wait<T>),
    /// Everything built in passed; custom checks run.
    Checks(Later<T>),
    /// The token and its binding are checked; the revocation list and the replay store answer
    /// later (asked together).
    Record {
        verifier: Verifier,
        verified: Verified<T>,
        answers: AnswersFuture,
    },
}

/// One store question: not asked (`None`), answered, or answering.
type Step<R> = Option<Reply<Result<R, StoreUnavailable>>>;

/// Whether a step is still answering.
fn later<R>(step: &Step<R>) -> bool {
    step.as_ref().is_some_and(Reply::is_later)
}

/// A step's answer, once nothing is answering (a step still answering cannot rule out a
/// replay or a revocation: it counts as unavailable).
fn answer<R>(step: Step<R>) -> Option<Result<R, StoreUnavailable>> {
    step.map(|reply| match reply {
        Reply::Now(result) => result,
        Reply::Later(_) => Err(StoreUnavailable),
    })
}

/// The answers of the revocation list and the replay store for one request.
struct Answers {
    revocation: Option<Result<RevocationStatus, StoreUnavailable>>,
    replay: Option<Result<FirstUse, StoreUnavailable>>,
}

type AnswersFuture = Pin<Box<dyn Future<Output = Answers> + Send>>;

/// Waits for both questions at once: with one shared store, two round trips in parallel.
async fn both(mut revocation: Step<RevocationStatus>, mut replay: Step<FirstUse>) -> Answers {
    std::future::poll_fn(|cx| {
        if let Some(Reply::Later(answer)) = &mut revocation {
            if let Poll::Ready(result) = answer.as_mut().poll(cx) {
                revocation = Some(Reply::Now(result));
            }
        }
        if let Some(Reply::Later(answer)) = &mut replay {
            if let Poll::Ready(result) = answer.as_mut().poll(cx) {
                replay = Some(Reply::Now(result));
            }
        }
        if later(&revocation) || later(&replay) {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    Answers {
        revocation: answer(revocation),
        replay: answer(replay),
    }
}

impl<T> fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Pending");
        match &self.0.stage {
            Stage::Verify(wait) => debug.field("wait", wait),
            Stage::Record { .. } => debug.field("wait", &"shared stores"),
            Stage::Checks(_) => debug.field("wait", &"custom checks"),
        };
        debug.finish_non_exhaustive()
    }
}

/// A decision that is final, or final once custom checks answer.
type Judged<T> = Result<Admission<T>, Answer>;
type Later<T> = Pin<Box<dyn Future<Output = Judged<T>> + Send>>;

enum Outcome<T> {
    Done(Judged<T>),
    /// Custom checks run (they need the `checks` feature's timer).
    #[cfg_attr(not(feature = "checks"), allow(dead_code))]
    Later(Later<T>),
}

impl<T> Outcome<T> {
    async fn settle(self) -> Judged<T> {
        match self {
            Outcome::Done(judged) => judged,
            Outcome::Later(later) => later.await,
        }
    }
}

impl<T> Pending<T>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    /// Fetches and finishes: the claims, or the answer to send.
    ///
    /// # Errors
    /// The [`Answer`] when the request is refused.
    pub async fn resolve(self) -> Result<Admission<T>, Answer> {
        #[cfg(feature = "metrics")]
        {
            let mut this = self;
            let observed = this.0.observed.take();
            let judged = this.resolve_inner().await;
            if let Some(observed) = observed {
                observe(
                    &observed.meters,
                    judged.as_ref(),
                    observed.kind,
                    observed.started,
                );
            }
            judged
        }
        #[cfg(not(feature = "metrics"))]
        self.resolve_inner().await
    }

    async fn resolve_inner(self) -> Result<Admission<T>, Answer> {
        let Parts {
            stage,
            presented,
            policy,
            ..
        } = *self.0;
        let (verifier, verified, answers) = match stage {
            Stage::Checks(later) => return later.await,
            Stage::Verify(wait) => {
                let verifier = wait.verifier().clone();
                let verified = match wait.wait().await {
                    Ok(verified) => verified,
                    Err(error) => return Err(deny(&verifier, &policy, &presented, &error)),
                };
                match bind(&verifier, &policy, &presented, verified) {
                    Bound::Admit(outcome) => return outcome.settle().await,
                    Bound::Later(verified, answers) => (verifier, verified, answers),
                }
            }
            Stage::Record {
                verifier,
                verified,
                answers,
            } => (verifier, verified, answers),
        };
        let answers = answers.await;
        finish(&verifier, &policy, &presented, verified, answers)
            .settle()
            .await
    }
}

fn deny(verifier: &Verifier, policy: &Policy, presented: &Presentation, error: &Error) -> Answer {
    // A 401 names the scopes the route needs, as a 403 does: the client asks for them at once.
    if error.kind().status() == http::StatusCode::UNAUTHORIZED && error.required_scope().is_none() {
        if let Some(scope) = policy.scope_parameter() {
            let error = error.clone().with_required_scope(scope);
            return verifier.answer_in(
                &error,
                policy.body(),
                presented.scheme,
                policy.requires_dpop(),
            );
        }
    }
    verifier.answer_in(
        error,
        policy.body(),
        presented.scheme,
        policy.requires_dpop(),
    )
}

/// Runs the custom checks (the verifier's, then the route's) on newly verified claims, then
/// asks the stores: the proof is recorded only for a request every other rule admits.
#[cfg(feature = "checks")]
fn checked<T>(
    verifier: &Verifier,
    policy: &Policy,
    presented: &Presentation,
    verified: Verified<T>,
    proof: Option<ProofUse>,
) -> Bound<T>
where
    T: Send + Sync + 'static,
{
    if verifier.inner.checks.is_empty() && policy.checks().is_empty() {
        return stores(verifier, policy, presented, verified, proof);
    }
    let Some(facts) = presented.facts.clone() else {
        return stores(verifier, policy, presented, verified, proof);
    };
    let checks: Vec<_> = verifier
        .inner
        .checks
        .iter()
        .chain(policy.checks())
        .cloned()
        .collect();
    let verifier = verifier.clone();
    let policy = policy.clone();
    let presented = presented.clone();
    Bound::Admit(Outcome::Later(Box::pin(async move {
        let timeout = verifier.inner.check_timeout;
        let verdict = crate::checks::run_all(checks, &verified, &facts, timeout).await;
        if let Some(error) = crate::checks::verdict_error(verdict) {
            verifier.inner.log_refusal(&error);
            return Err(deny(&verifier, &policy, &presented, &error));
        }
        match stores(&verifier, &policy, &presented, verified, proof) {
            Bound::Admit(outcome) => outcome.settle().await,
            Bound::Later(verified, answers) => {
                let answers = answers.await;
                finish(&verifier, &policy, &presented, verified, answers)
                    .settle()
                    .await
            }
        }
    })))
}

/// Without the `remote` feature there are no custom checks.
#[cfg(not(feature = "checks"))]
fn checked<T>(
    verifier: &Verifier,
    policy: &Policy,
    presented: &Presentation,
    verified: Verified<T>,
    proof: Option<ProofUse>,
) -> Bound<T>
where
    T: Send + Sync + 'static,
{
    stores(verifier, policy, presented, verified, proof)
}

/// The binding step's outcome: decided, or waiting for the shared stores.
enum Bound<T> {
    Admit(Outcome<T>),
    Later(Verified<T>, AnswersFuture),
}

/// Judges a verified token against the request and the route, in the order that spends
/// nothing on a request that will be refused: its binding (`crate::binding`), the route's
/// requirement, the custom checks, and only then the stores — the revocation list and the
/// replay store asked together, so a shared store costs one round trip of latency, not two,
/// and a DPoP proof is recorded as used only for a request every other rule admits. (A proof
/// of a revoked token is recorded too: it could not be used anyway.)
fn bind<T>(
    verifier: &Verifier,
    policy: &Policy,
    presented: &Presentation,
    mut verified: Verified<T>,
) -> Bound<T>
where
    T: Send + Sync + 'static,
{
    let inner = &verifier.inner;
    let shown = presented.shown();
    let required = policy.requires_dpop() || inner.requires_dpop(verified.issuer());
    if let Err(error) = binding::check(verified.meta.confirmation.as_deref(), &shown, required) {
        inner.log_refusal(&error);
        return Bound::Admit(Outcome::Done(Err(deny(
            verifier, policy, presented, &error,
        ))));
    }
    verified.presented =
        binding::Provenance::new(inner.id, shown).with_token(presented.token.clone());
    if let Err(error) = policy.check_requirement(&verified, &*inner.clock) {
        return Bound::Admit(Outcome::Done(Err(deny(
            verifier, policy, presented, &error,
        ))));
    }
    let proof = match (presented.proof, inner.dpop.as_ref()) {
        (Some(proof), Some(_)) => Some(ProofUse {
            key: proof.replay_key,
            expires_at: proof.expires_at,
        }),
        _ => None,
    };
    checked(verifier, policy, presented, verified, proof)
}

/// Asks the revocation list and records the DPoP proof as used.
fn stores<T>(
    verifier: &Verifier,
    policy: &Policy,
    presented: &Presentation,
    verified: Verified<T>,
    proof: Option<ProofUse>,
) -> Bound<T>
where
    T: Send + Sync + 'static,
{
    let inner = &verifier.inner;
    // Read only when a store is asked: most verifiers have none.
    let time = std::cell::OnceCell::new();
    let now = || *time.get_or_init(|| inner.clock.now_unix());
    if let Some(shared) = &inner.shared {
        // One store for both questions: one call (one round trip to a shared store).
        let answers = move |answer: SharedAnswer| Answers {
            revocation: Some(answer.revocation),
            // A store that leaves a given proof unanswered cannot rule out a replay.
            replay: proof.map(|_| answer.replay.unwrap_or(Err(StoreUnavailable))),
        };
        return match shared.status_and_record(&verified.identity(), proof, now()) {
            SharedLookup::Now(answer) => Bound::Admit(finish(
                verifier,
                policy,
                presented,
                verified,
                answers(answer),
            )),
            SharedLookup::Later(answer) => {
                Bound::Later(verified, Box::pin(async move { answers(answer.await) }))
            }
        };
    }
    let revocation: Step<RevocationStatus> = inner
        .revocation
        .as_ref()
        .map(|list| list.status(&verified.identity(), now()));
    let replay: Step<FirstUse> = match (proof, inner.dpop.as_ref()) {
        (Some(proof), Some(dpop)) => {
            Some(dpop.dpop.replay.record(proof.key, proof.expires_at, now()))
        }
        _ => None,
    };
    if later(&revocation) || later(&replay) {
        return Bound::Later(verified, Box::pin(both(revocation, replay)));
    }
    let answers = Answers {
        revocation: answer(revocation),
        replay: answer(replay),
    };
    Bound::Admit(finish(verifier, policy, presented, verified, answers))
}

/// The stores' answers (revocation first): the last step before admission.
fn finish<T>(
    verifier: &Verifier,
    policy: &Policy,
    presented: &Presentation,
    verified: Verified<T>,
    answers: Answers,
) -> Outcome<T>
where
    T: Send + Sync + 'static,
{
    let inner = &verifier.inner;
    if let Some(status) = answers.revocation {
        if let Err(error) = inner.judge_revocation(status) {
            inner.log_refusal(&error);
            return Outcome::Done(Err(deny(verifier, policy, presented, &error)));
        }
    }
    let error = match answers.replay {
        None | Some(Ok(FirstUse::Yes)) => {
            return Outcome::Done(Ok(Admission::Verified(verified)));
        }
        Some(Ok(FirstUse::Replayed)) => Error::new(
            ErrorKind::InvalidDpopProof,
            "the DPoP proof was used before",
        ),
        Some(Err(StoreUnavailable)) => {
            inner
                .store_errors
                .replay
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            #[cfg(feature = "metrics")]
            crate::observe::store_error("replay");
            if inner.dpop.as_ref().is_some_and(|d| d.dpop.replay_fail_open) {
                tracing::warn!(
                    target: "tokengate::dpop",
                    "the replay store could not answer: admitted (insecure_replay_fail_open)"
                );
                return Outcome::Done(Ok(Admission::Verified(verified)));
            }
            Error::replay_store_unavailable(Duration::from_secs(5))
        }
    };
    inner.log_refusal(&error);
    Outcome::Done(Err(deny(verifier, policy, presented, &error)))
}

impl Verifier {
    /// Decides on a request: the request pipeline (`docs/architecture.md`).
    ///
    /// `earlier` is the claims an outer layer already verified for this request (found in
    /// the framework's request extensions), if any. When this verifier verified them, the
    /// route's binding rules (`require_dpop`) are judged against how the request presented
    /// the token, then the route's requirement and checks; claims of another verifier are
    /// ignored and the request is decided afresh. Otherwise the token is taken from the
    /// configured sources; a DPoP proof that comes with it is checked; the token is verified
    /// through the cache; its binding (DPoP key, client certificate) is compared with the
    /// request; the route's `policy` is checked; and only then are the stores asked. With keys loaded, this never waits and, on a cache hit of a bearer token,
    /// allocates only the claims it returns.
    pub fn decide<T, H>(
        &self,
        request: &RequestView<'_, H>,
        policy: &Policy,
        earlier: Option<&Verified<T>>,
    ) -> Decision<T>
    where
        T: DeserializeOwned + Send + Sync + 'static,
        H: RequestHeaders + ?Sized,
    {
        self.decide_with(request, policy, earlier, HeadersChecked::empty())
    }

    /// [`decide`](Verifier::decide), reusing the token's verification from
    /// [`before_body`](Verifier::before_body) when it is this request's token.
    pub(crate) fn decide_with<T, H>(
        &self,
        request: &RequestView<'_, H>,
        policy: &Policy,
        earlier: Option<&Verified<T>>,
        checked: HeadersChecked<T>,
    ) -> Decision<T>
    where
        T: DeserializeOwned + Send + Sync + 'static,
        H: RequestHeaders + ?Sized,
    {
        // quanta reads the TSC: two std clock reads cost 50 ns here, half the 0.1 µs budget.
        #[cfg(feature = "metrics")]
        let started = quanta::Instant::now();
        // One span per decision (debug level, target `tokengate::verify`): the outcome and the
        // stable error code, never the token or its claims. Only for a `tracing` subscriber
        // that wants it: without one, tracing's `log` fallback (on whenever any crate in the
        // build enables tracing's `log` feature, as warp and actix-web do) would turn the
        // span's creation, entry and exit into ~190 instructions of `log` checks per request.
        let span = if tracing::enabled!(
            kind: tracing::metadata::Kind::SPAN,
            target: "tokengate::verify",
            tracing::Level::DEBUG
        ) {
            tracing::debug_span!(
                target: "tokengate::verify",
                "decide",
                method = request.method(),
                outcome = tracing::field::Empty,
                code = tracing::field::Empty,
            )
        } else {
            tracing::Span::none()
        };
        let _entered = span.enter();
        #[cfg(feature = "metrics")]
        let mut kind = crate::observe::Kind::None;
        #[cfg_attr(not(feature = "metrics"), allow(unused_mut))]
        let mut decision = self.decide_inner(
            request,
            policy,
            earlier,
            checked,
            #[cfg(feature = "metrics")]
            &mut kind,
        );
        if !span.is_disabled() {
            match &decision {
                Decision::Admit(_) => span.record("outcome", "admitted"),
                Decision::Deny(answer) => span
                    .record("outcome", "denied")
                    .record("code", answer.kind().code()),
                Decision::Pending(_) => span.record("outcome", "pending"),
            };
        }
        #[cfg(feature = "metrics")]
        {
            let meters = &self.inner.meters;
            match &mut decision {
                Decision::Pending(pending) => {
                    pending.0.observed = Some(Observed {
                        meters: meters.clone(),
                        started,
                        kind,
                    });
                }
                Decision::Admit(admission) => observe::<T>(meters, Ok(admission), kind, started),
                Decision::Deny(answer) => observe::<T>(meters, Err(answer), kind, started),
            }
        }
        decision
    }

    fn decide_inner<T, H>(
        &self,
        request: &RequestView<'_, H>,
        policy: &Policy,
        earlier: Option<&Verified<T>>,
        checked: HeadersChecked<T>,
        #[cfg(feature = "metrics")] kind: &mut crate::observe::Kind,
    ) -> Decision<T>
    where
        T: DeserializeOwned + Send + Sync + 'static,
        H: RequestHeaders + ?Sized,
    {
        let inner = &self.inner;
        let mut presented = Presentation {
            scheme: Scheme::Bearer,
            proof: None,
            certificate: None,
            token: None,
            #[cfg(feature = "checks")]
            facts: None,
        };
        #[cfg(feature = "checks")]
        if !inner.checks.is_empty() || !policy.checks().is_empty() {
            presented.facts = Some(std::sync::Arc::new(crate::checks::RequestFacts {
                method: request.method().into(),
                path: request.path().into(),
                params: request
                    .params()
                    .iter()
                    .map(|(n, v)| (Box::from(*n), Box::from(*v)))
                    .collect(),
            }));
        }
        // Claims an outer guard admitted for this request are trusted only when this verifier
        // verified them (another verifier's claims are verified again, from the request), and
        // only under this guard's own binding rules: `require_dpop` is judged against how the
        // request presented the token (`docs/security.md`, "Nested guards").
        if let Some(verified) = earlier.filter(|v| v.presented.verifier == inner.id) {
            let shown = verified.presented.presented();
            presented.scheme = if shown.dpop {
                Scheme::Dpop
            } else {
                Scheme::Bearer
            };
            let required = policy.requires_dpop() || inner.requires_dpop(verified.issuer());
            if let Err(error) =
                binding::check(verified.meta.confirmation.as_deref(), &shown, required)
            {
                inner.log_refusal(&error);
                return Decision::Deny(deny(self, policy, &presented, &error));
            }
            if let Err(error) = policy.check_requirement(verified, &*inner.clock) {
                return Decision::Deny(deny(self, policy, &presented, &error));
            }
            // The outer layer ran the verifier's checks; the route's own run here.
            #[cfg(feature = "checks")]
            if let (false, Some(facts)) = (policy.checks().is_empty(), presented.facts.clone()) {
                let verified = verified.clone();
                let checks = policy.checks().to_vec();
                let verifier = self.clone();
                let route = policy.clone();
                let answering = presented.clone();
                let later: Later<T> = Box::pin(async move {
                    let timeout = verifier.inner.check_timeout;
                    let verdict = crate::checks::run_all(checks, &verified, &facts, timeout).await;
                    match crate::checks::verdict_error(verdict) {
                        None => Ok(Admission::AlreadyVerified),
                        Some(error) => Err(deny(&verifier, &route, &answering, &error)),
                    }
                });
                return Decision::Pending(Pending(Box::new(Parts {
                    stage: Stage::Checks(later),
                    presented,
                    policy: policy.clone(),
                    #[cfg(feature = "metrics")]
                    observed: None,
                })));
            }
            return Decision::Admit(Admission::AlreadyVerified);
        }
        let credential = match self.credential(request, policy, &presented) {
            Ok(Some(credential)) => credential,
            Ok(None) => return Decision::Admit(Admission::Anonymous),
            Err(answer) => return Decision::Deny(answer),
        };
        let token = credential.token.as_str();
        presented.scheme = credential.scheme;
        if inner.keep_tokens && credential.scheme != Scheme::ApiKey {
            presented.token = Some(std::sync::Arc::from(token));
        }
        #[cfg(feature = "metrics")]
        {
            use crate::observe::Kind;
            *kind = match credential.scheme {
                Scheme::Dpop => Kind::Dpop,
                Scheme::ApiKey => Kind::ApiKey,
                // memchr, not a byte-by-byte count: ~1.8k instructions for a 0.8 KB token
                // (`docs/benchmarks.md`, "End-to-end load in instructions").
                Scheme::Bearer if memchr::memchr_iter(b'.', token.as_bytes()).count() == 2 => {
                    Kind::Jwt
                }
                Scheme::Bearer => Kind::Opaque,
            };
        }
        // A DPoP request hashes the token once: for the proof's `ath` and the cache's key.
        let mut hash = None;
        if let (Scheme::Dpop, Some(dpop)) = (credential.scheme, inner.dpop.as_ref()) {
            let token_hash = *hash.insert(token_hash(token));
            let target = binding::request_target(
                request,
                &inner.proxies,
                inner.resource.as_ref().map(|r| &*r.origin),
            );
            let now = inner.clock.now_unix();
            match dpop
                .dpop
                .check_proof(request, &token_hash, target.as_ref(), now)
            {
                Ok(proof) => presented.proof = Some(proof),
                Err(error) => {
                    inner.log_refusal(&error);
                    return Decision::Deny(deny(self, policy, &presented, &error));
                }
            }
        }
        presented.certificate = inner.client_certificate(request);
        // A token the headers' check already verified (`before_body`) is not verified twice;
        // its hash proves it is this request's token.
        let attempt = match checked.verified {
            Some((checked_hash, verified))
                if *hash.get_or_insert_with(|| token_hash(token)) == checked_hash =>
            {
                Attempt::Done(Ok(verified))
            }
            _ => self.attempt_credential::<T>(&credential, hash),
        };
        match attempt {
            Attempt::Done(Ok(verified)) => match bind(self, policy, &presented, verified) {
                Bound::Admit(Outcome::Done(Ok(admission))) => Decision::Admit(admission),
                Bound::Admit(Outcome::Done(Err(answer))) => Decision::Deny(answer),
                Bound::Admit(Outcome::Later(later)) => {
                    Decision::Pending(Pending(Box::new(Parts {
                        stage: Stage::Checks(later),
                        presented,
                        policy: policy.clone(),
                        #[cfg(feature = "metrics")]
                        observed: None,
                    })))
                }
                Bound::Later(verified, answers) => Decision::Pending(Pending(Box::new(Parts {
                    stage: Stage::Record {
                        verifier: self.clone(),
                        verified,
                        answers,
                    },
                    presented,
                    policy: policy.clone(),
                    #[cfg(feature = "metrics")]
                    observed: None,
                }))),
            },
            Attempt::Done(Err(error)) => Decision::Deny(deny(self, policy, &presented, &error)),
            Attempt::NeedsIo(wait) => Decision::Pending(Pending(Box::new(Parts {
                stage: Stage::Verify(wait),
                presented,
                policy: policy.clone(),
                #[cfg(feature = "metrics")]
                observed: None,
            }))),
        }
    }

    /// The request's one credential, from the configured sources: `Ok(None)` for a request
    /// without one that `policy` lets through anonymously; the answer for a malformed request
    /// (two credentials, a bad header) or a missing credential the route needs. The `DPoP`
    /// scheme where DPoP is refused counts as no credential this verifier accepts.
    /// A credential's first verdict: an API key is looked up (never verified as a token,
    /// never cached); a token is verified (the stores are asked later, with the binding).
    fn attempt_credential<T>(
        &self,
        credential: &Credential<'_>,
        known_hash: Option<[u8; 32]>,
    ) -> Attempt<T>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let token = credential.token.as_str();
        if credential.scheme == Scheme::ApiKey {
            return Attempt::Done(self.inner.api_key_claims::<T>(token));
        }
        self.attempt::<T>(token, false, known_hash)
    }

    fn credential<'r, H>(
        &self,
        request: &'r RequestView<'_, H>,
        policy: &Policy,
        presented: &Presentation,
    ) -> Result<Option<Credential<'r>>, Answer>
    where
        H: RequestHeaders + ?Sized,
    {
        let credential = match self.find_credential(request) {
            Ok(found) => found,
            Err(error) => return Err(deny(self, policy, presented, &error)),
        };
        match credential {
            Some(credential) => Ok(Some(credential)),
            None if policy.allows_anonymous() => Ok(None),
            None => Err(deny(
                self,
                policy,
                presented,
                &Error::from(ErrorKind::MissingCredentials),
            )),
        }
    }

    /// The headers' verdict, before the body is read: the answer for a request its headers
    /// alone refuse — a malformed or missing credential where `policy` needs one, or a token
    /// that fails verification — or what to finish with once the body is read (the token's
    /// verification, so it is not done twice). Nothing is recorded here (no DPoP proof is used
    /// up). For guards that must read a body to decide — MCP's JSON-RPC calls — so that an
    /// unauthenticated request costs no buffer.
    ///
    /// # Errors
    /// The [`Answer`] for a request its headers refuse.
    pub fn before_body<T, H>(
        &self,
        request: &RequestView<'_, H>,
        policy: &Policy,
        earlier: Option<&Verified<T>>,
    ) -> Result<HeadersChecked<T>, Answer>
    where
        T: DeserializeOwned + Send + Sync + 'static,
        H: RequestHeaders + ?Sized,
    {
        let inner = &self.inner;
        if earlier.is_some_and(|v| v.presented.verifier == inner.id) {
            return Ok(HeadersChecked::empty());
        }
        let presented = Presentation {
            scheme: Scheme::Bearer,
            proof: None,
            certificate: None,
            token: None,
            #[cfg(feature = "checks")]
            facts: None,
        };
        let Some(credential) = self.credential(request, policy, &presented)? else {
            return Ok(HeadersChecked::empty());
        };
        let presented = Presentation {
            scheme: credential.scheme,
            ..presented
        };
        let token = credential.token.as_str();
        let hash = token_hash(token);
        match self.attempt_credential::<T>(&credential, Some(hash)) {
            Attempt::Done(Err(error)) => Err(deny(self, policy, &presented, &error)),
            Attempt::Done(Ok(verified)) => Ok(HeadersChecked {
                verified: Some((hash, verified)),
            }),
            Attempt::NeedsIo(_) => Ok(HeadersChecked::empty()),
        }
    }
}

/// Records a decided request: outcome, code, kind, issuer, duration.
#[cfg(feature = "metrics")]
fn observe<T>(
    meters: &crate::observe::Meters,
    judged: Result<&Admission<T>, &Answer>,
    kind: crate::observe::Kind,
    started: quanta::Instant,
) {
    use crate::observe::Judged;
    let judged = match judged {
        Ok(Admission::Verified(verified)) => Judged::Admitted(Some(verified.issuer())),
        Ok(Admission::AlreadyVerified) => Judged::Admitted(None),
        Ok(Admission::Anonymous) => Judged::Anonymous,
        Err(answer) => Judged::Denied(answer.kind()),
    };
    meters.request(judged, kind, started.elapsed());
}
