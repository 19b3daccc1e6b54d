//! [`Policy`]: what a route requires of a request.

use std::fmt;
use std::sync::Arc;

use crate::answer::AnswerBody;
use crate::claims::Verified;
use crate::error::Error;
use crate::requirement::Requirement;

/// A route's access rule: credentials required or optional, a scope or role requirement, and
/// optionally a body for its answers other than the verifier's.
///
/// ```
/// use tokengate::adapter::Policy;
/// use tokengate::Requirement;
/// let optional = Policy::new().optional();
/// assert!(optional.allows_anonymous());
/// // A requirement makes credentials necessary again.
/// assert!(!optional.require(Requirement::all(["messages:read"])).allows_anonymous());
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct Policy {
    optional: bool,
    requirement: Option<Requirement>,
    body: Option<Arc<dyn AnswerBody>>,
    dpop: bool,
    #[cfg(feature = "checks")]
    checks: Vec<Arc<dyn crate::checks::CustomCheck>>,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("optional", &self.optional)
            .field("requirement", &self.requirement)
            .field("custom_body", &self.body.is_some())
            .field("require_dpop", &self.dpop)
            .field("checks", &self.check_count())
            .finish()
    }
}

impl Policy {
    /// Credentials required, no scope or role requirement.
    pub fn new() -> Policy {
        Policy::default()
    }

    /// Requests without credentials pass (anonymously). Requests with credentials are still
    /// verified and rejected when bad. A requirement makes credentials necessary again.
    pub fn optional(mut self) -> Policy {
        self.optional = true;
        self
    }

    /// Also require scopes or roles (in addition to any requirement already set).
    pub fn require(mut self, requirement: Requirement) -> Policy {
        self.requirement = Some(match self.requirement.take() {
            Some(existing) => existing.and(requirement),
            None => requirement,
        });
        self
    }

    /// Answer this route's refusals with `body` instead of the verifier's.
    pub fn answer_body(mut self, body: impl AnswerBody) -> Policy {
        self.body = Some(Arc::new(body));
        self
    }

    /// Only DPoP-bound tokens with a valid proof pass this route: bearer tokens are refused
    /// (`dpop_required`). The verifier must accept DPoP (the default); where it does not,
    /// nothing passes.
    pub fn require_dpop(mut self) -> Policy {
        self.dpop = true;
        self
    }

    /// Also run `check` (after every built-in check and the verifier's own checks) — an async
    /// decision with access to the token and the request: a closure
    /// `Fn(&CheckContext<'_>) -> impl Future<Output = Verdict>` or a
    /// [`CustomCheck`](crate::checks::CustomCheck).
    #[cfg(feature = "checks")]
    pub fn check(mut self, check: impl crate::checks::CustomCheck) -> Policy {
        self.checks.push(Arc::new(check));
        self
    }

    /// This policy and `other` together: both requirements, DPoP if either asks for it, both
    /// sets of checks, credentials optional only if both are, and `other`'s body if it has one.
    pub fn and(mut self, other: Policy) -> Policy {
        self.optional &= other.optional;
        if let Some(requirement) = other.requirement {
            self = self.require(requirement);
        }
        self.dpop |= other.dpop;
        if other.body.is_some() {
            self.body = other.body;
        }
        #[cfg(feature = "checks")]
        self.checks.extend(other.checks);
        self
    }

    /// The route's custom checks.
    #[cfg(feature = "checks")]
    pub(crate) fn checks(&self) -> &[Arc<dyn crate::checks::CustomCheck>] {
        &self.checks
    }

    fn check_count(&self) -> usize {
        #[cfg(feature = "checks")]
        return self.checks.len();
        #[cfg(not(feature = "checks"))]
        0
    }

    /// Whether the route requires DPoP-bound tokens.
    #[must_use]
    pub fn requires_dpop(&self) -> bool {
        self.dpop
    }

    /// Whether a request without credentials passes.
    #[must_use]
    pub fn allows_anonymous(&self) -> bool {
        self.optional && self.requirement.is_none()
    }

    /// Checks the requirement against verified claims, at `now` (the verifier's clock).
    pub(crate) fn check_requirement<T>(
        &self,
        verified: &Verified<T>,
        clock: &dyn crate::clock::Clock,
    ) -> Result<(), Error> {
        // The clock is read only for a requirement: most routes have none.
        match &self.requirement {
            Some(requirement) => requirement.check_facts(&verified.facts(clock.now_unix())),
            None => Ok(()),
        }
    }

    /// The scopes the route's requirement names, for a 401's `scope` parameter.
    pub(crate) fn scope_parameter(&self) -> Option<String> {
        self.requirement
            .as_ref()
            .map(Requirement::scope_parameter)
            .filter(|scope| !scope.is_empty())
    }

    pub(crate) fn body(&self) -> Option<&dyn AnswerBody> {
        self.body.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::Policy;
    use crate::requirement::Requirement;
    use crate::scopes::Scopes;

    /// `and` keeps everything either policy asks for: both requirements, DPoP from either,
    /// credentials optional only when both say so (an MCP guard's `policy(..)` can tighten its
    /// policy, never loosen it).
    #[test]
    fn and_keeps_what_either_asks() {
        let base = Policy::new().require(Requirement::all(["a"]));
        let both = base.and(
            Policy::new()
                .optional()
                .require_dpop()
                .require(Requirement::all(["b"])),
        );
        assert!(both.requires_dpop());
        assert!(!both.allows_anonymous());
        let requirement = both.requirement.as_ref().unwrap();
        assert!(!requirement.is_met(&Scopes::new(["a"]), &Scopes::default()));
        assert!(!requirement.is_met(&Scopes::new(["b"]), &Scopes::default()));
        assert!(requirement.is_met(&Scopes::new(["a", "b"]), &Scopes::default()));
        assert!(
            !Policy::new()
                .and(Policy::new().optional())
                .allows_anonymous()
        );
        assert!(
            Policy::new()
                .optional()
                .and(Policy::new().optional())
                .allows_anonymous()
        );
        assert_eq!(both.scope_parameter().as_deref(), Some("a b"));
    }
}
