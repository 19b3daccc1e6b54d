//! What a route requires of a request: credentials or not, and a scope or role requirement.
//! Adapters ask a [`Policy`] instead of deciding themselves, so every framework decides alike.
//!
//! ```
//! use tokengate::{ErrorKind, Policy, Requirement};
//! let optional = Policy::new().optional();
//! assert!(optional.admit(Ok(None)).unwrap().is_none()); // anonymous passes
//! let required = Policy::new().require(Requirement::all(["messages:read"]));
//! assert_eq!(required.admit(Ok(None)).unwrap_err().kind(), ErrorKind::MissingCredentials);
//! ```

use crate::claims::{Requirement, Verified};
use crate::error::{Error, ErrorKind};
use crate::extract::BearerToken;

/// A route's access rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Policy {
    optional: bool,
    requirement: Option<Requirement>,
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

    /// Also require scopes or roles.
    pub fn require(mut self, requirement: Requirement) -> Policy {
        self.requirement = Some(requirement);
        self
    }

    /// Whether a request without credentials passes.
    #[must_use]
    pub fn allows_anonymous(&self) -> bool {
        self.optional && self.requirement.is_none()
    }

    /// Decides on the result of token extraction: the token to verify, `None` to pass
    /// anonymously, or the error to answer with.
    ///
    /// # Errors
    /// The extraction error, or `missing_credentials` when credentials are required.
    pub fn admit<'a>(
        &self,
        extracted: Result<Option<BearerToken<'a>>, Error>,
    ) -> Result<Option<BearerToken<'a>>, Error> {
        match extracted? {
            Some(token) => Ok(Some(token)),
            None if self.allows_anonymous() => Ok(None),
            None => Err(Error::from(ErrorKind::MissingCredentials)),
        }
    }

    /// Checks the requirement against verified claims.
    ///
    /// # Errors
    /// `insufficient_scope` when the requirement is not met.
    pub fn check<T>(&self, verified: &Verified<T>) -> Result<(), Error> {
        match &self.requirement {
            Some(requirement) => verified.require(requirement),
            None => Ok(()),
        }
    }
}
