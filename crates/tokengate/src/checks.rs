//! Custom checks: your own async decisions in the request pipeline, after every built-in check
//! — per verifier (an account suspended in your database) and per route (the tenant in the path
//! equals the token's `tid`). See `docs/guide.md`, "Custom checks and step-up".
//!
//! ```
//! use tokengate::checks::{CheckContext, Verdict};
//! // A closure is a check: it reads what it needs now, and answers later.
//! let tenant_matches = |cx: &CheckContext<'_>| {
//!     let ok = cx.claim_str(&["tid"]).is_some_and(|tid| cx.path().starts_with(&format!("/tenants/{tid}/")));
//!     async move { if ok { Verdict::Admit } else { Verdict::Forbidden } }
//! };
//! let policy = tokengate::adapter::Policy::new().check(tenant_matches);
//! # let _ = policy;
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::scopes::Scopes;

/// The default bound on one custom check: past it the request is answered 503.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// A check's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Let the request through (to the next check, then the handler).
    Admit,
    /// 401 `invalid_token`: the token must not be used (an account suspended, a session ended).
    InvalidToken,
    /// 403 `insufficient_scope`: a token with more rights would pass.
    InsufficientScope,
    /// 403 without an error code: this token may not do this (another tenant's data).
    Forbidden,
    /// 503 with `Retry-After`: the check could not decide now (its database is down).
    Unavailable,
}

/// A boxed check answer.
pub type CheckFuture = Pin<Box<dyn Future<Output = Verdict> + Send>>;

/// A reusable check. Closures `Fn(&CheckContext<'_>) -> impl Future<Output = Verdict>` are
/// checks too. The context is borrowed only while `check` runs: take what the answer needs
/// (clone the subject, the application state) into the returned future.
pub trait CustomCheck: Send + Sync + 'static {
    /// Starts the check.
    fn check(&self, cx: &CheckContext<'_>) -> CheckFuture;
}

impl<F, Fut> CustomCheck for F
where
    F: Fn(&CheckContext<'_>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Verdict> + Send + 'static,
{
    fn check(&self, cx: &CheckContext<'_>) -> CheckFuture {
        Box::pin(self(cx))
    }
}

/// What a check sees: the verified token and the request.
pub struct CheckContext<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) subject: Option<&'a str>,
    pub(crate) jti: Option<&'a str>,
    pub(crate) scopes: &'a Scopes,
    pub(crate) roles: &'a Scopes,
    pub(crate) payload: &'a [u8],
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) params: &'a [(Box<str>, Box<str>)],
}

impl fmt::Debug for CheckContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckContext")
            .field("issuer", &self.issuer)
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl CheckContext<'_> {
    /// The issuer that vouched for the token.
    #[must_use]
    pub fn issuer(&self) -> &str {
        self.issuer
    }
    /// `sub`.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.subject
    }
    /// `jti`.
    #[must_use]
    pub fn jti(&self) -> Option<&str> {
        self.jti
    }
    /// The token's scopes.
    #[must_use]
    pub fn scopes(&self) -> &Scopes {
        self.scopes
    }
    /// The token's roles.
    #[must_use]
    pub fn roles(&self) -> &Scopes {
        self.roles
    }
    /// A claim by path (`["tid"]`, `["realm_access", "roles"]`), as JSON.
    #[must_use]
    pub fn claim(&self, path: &[&str]) -> Option<serde_json::Value> {
        crate::json::value_at(self.payload, path)
    }
    /// A string claim by path.
    #[must_use]
    pub fn claim_str(&self, path: &[&str]) -> Option<String> {
        match self.claim(path)? {
            serde_json::Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// The request method.
    #[must_use]
    pub fn method(&self) -> &str {
        self.method
    }
    /// The request path.
    #[must_use]
    pub fn path(&self) -> &str {
        self.path
    }
    /// A route parameter, where the framework exposes them (actix-web's `match_info`).
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| &**v)
    }
}

/// The error a verdict answers with; `None` to admit.
pub(crate) fn verdict_error(verdict: Verdict) -> Option<Error> {
    match verdict {
        Verdict::Admit => None,
        Verdict::InvalidToken => Some(Error::new(
            ErrorKind::CheckRefused,
            "a custom check refused the token",
        )),
        Verdict::InsufficientScope => Some(Error::insufficient_scope("")),
        Verdict::Forbidden => Some(Error::new(
            ErrorKind::Forbidden,
            "a custom check refused the request",
        )),
        Verdict::Unavailable => Some(Error::check_unavailable(Duration::from_secs(5))),
    }
}

/// What the request contributes to a check's context, owned (it outlives the request's borrow
/// when the decision waits).
#[derive(Debug)]
pub(crate) struct RequestFacts {
    pub(crate) method: Box<str>,
    pub(crate) path: Box<str>,
    pub(crate) params: Vec<(Box<str>, Box<str>)>,
}

/// Runs `checks` one after the other on `verified`: the first verdict other than admit decides.
pub(crate) async fn run_all<T>(
    checks: Vec<Arc<dyn CustomCheck>>,
    verified: &crate::claims::Verified<T>,
    facts: &RequestFacts,
    timeout: Duration,
) -> Verdict {
    for check in checks {
        let started = {
            let cx = CheckContext {
                issuer: verified.issuer(),
                subject: verified.subject(),
                jti: verified.jti(),
                scopes: verified.scopes(),
                roles: verified.roles(),
                payload: verified.meta.payload.as_bytes(),
                method: &facts.method,
                path: &facts.path,
                params: &facts.params,
            };
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check.check(&cx)))
        };
        let verdict = match started {
            Ok(future) => bounded(future, timeout).await,
            Err(_) => {
                tracing::error!(target: "tokengate::checks", "a custom check panicked: refused (503)");
                Verdict::Unavailable
            }
        };
        if verdict != Verdict::Admit {
            return verdict;
        }
    }
    Verdict::Admit
}

/// Runs one check's future: a panic or the timeout is `Unavailable`, never an admission.
pub(crate) async fn bounded(future: CheckFuture, timeout: Duration) -> Verdict {
    let guarded = CatchUnwind(future);
    match tokio::time::timeout(timeout, guarded).await {
        Ok(Ok(verdict)) => verdict,
        Ok(Err(())) => {
            tracing::error!(target: "tokengate::checks", "a custom check panicked: refused (503)");
            Verdict::Unavailable
        }
        Err(_) => {
            tracing::warn!(target: "tokengate::checks", "a custom check timed out: refused (503)");
            Verdict::Unavailable
        }
    }
}

/// Polls a future, turning a panic into `Err(())`.
struct CatchUnwind(CheckFuture);

impl Future for CatchUnwind {
    type Output = Result<Verdict, ()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = &mut self.0;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(verdict)) => Poll::Ready(Ok(verdict)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    }
}
