//! [`Requirement`]: what a route requires of a verified token — scopes and roles (exact
//! membership), claims, step-up (RFC 9470) — and [`RequiredScopes`] for typed extractors. It
//! judges [`Facts`] (scopes, roles, the verified payload, the time), never a token.

use crate::error::Error;
use crate::scopes::Scopes;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Match {
    All,
    Any,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Of {
    Scopes,
    Roles,
}

/// What a route requires of a verified token: scopes and roles (exact membership), claims, and
/// step-up authentication (RFC 9470), combined with [`and`](Requirement::and).
///
/// ```
/// use std::time::Duration;
/// use tokengate::{Requirement, Scopes};
/// let read = Requirement::all(["messages:read"]);
/// assert!(read.is_met(&Scopes::new(["messages:read", "profile"]), &Scopes::default()));
/// assert!(!read.is_met(&Scopes::new(["messages"]), &Scopes::default()));
/// // An admin action: the role, a multi-factor login, at most five minutes ago.
/// let admin = Requirement::any_roles(["admin"])
///     .and(Requirement::acr(["urn:tokengate:mfa"]))
///     .and(Requirement::max_auth_age(Duration::from_secs(300)));
/// # let _ = admin;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Requirement {
    rule: Rule,
    /// A further requirement that must also hold.
    and: Option<Box<Requirement>>,
}

#[derive(Clone, Debug, PartialEq)]
enum Rule {
    /// Scopes or roles, all or any.
    Set { mode: Match, of: Of, items: Items },
    /// A claim at a path.
    Claim { path: Vec<String>, test: ClaimTest },
    /// `acr` is one of these (RFC 9470).
    Acr(Vec<String>),
    /// `auth_time` at most this many seconds ago (RFC 9470).
    MaxAge(u64),
}

#[derive(Clone, Debug, PartialEq)]
enum ClaimTest {
    Present,
    OneOf(Vec<serde_json::Value>),
    Contains(serde_json::Value),
}

/// What a requirement is judged on.
pub(crate) struct Facts<'a> {
    pub(crate) scopes: &'a Scopes,
    pub(crate) roles: &'a Scopes,
    /// The verified payload; without it claim and step-up rules are unmet.
    pub(crate) payload: Option<&'a [u8]>,
    pub(crate) now: u64,
    /// The verifier's leeway: an `auth_time` later than `now` plus it is refused.
    pub(crate) leeway: u64,
}

/// The scopes or roles of a requirement: owned, or a `'static` list (typed extractors build
/// theirs per request, so that one allocates nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Items {
    Owned(Vec<String>),
    Static(&'static [&'static str]),
}

impl Items {
    fn iter(&self) -> impl Iterator<Item = &str> {
        let (owned, fixed) = match self {
            Items::Owned(list) => (Some(list.iter().map(String::as_str)), None),
            Items::Static(list) => (None, Some(list.iter().copied())),
        };
        owned
            .into_iter()
            .flatten()
            .chain(fixed.into_iter().flatten())
    }
}

fn path_of(path: &[&str]) -> Vec<String> {
    path.iter().map(|s| (*s).to_owned()).collect()
}

impl Requirement {
    fn of_rule(rule: Rule) -> Requirement {
        Requirement { rule, and: None }
    }

    fn new<I, S>(mode: Match, of: Of, items: I) -> Requirement
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Requirement::of_rule(Rule::Set {
            mode,
            of,
            items: Items::Owned(items.into_iter().map(Into::into).collect()),
        })
    }

    /// Every one of these scopes, from a `'static` list: builds without allocating (what the
    /// typed `Scoped<R>` extractors use per request).
    pub fn all_static(scopes: &'static [&'static str]) -> Requirement {
        Requirement::of_rule(Rule::Set {
            mode: Match::All,
            of: Of::Scopes,
            items: Items::Static(scopes),
        })
    }

    /// This requirement and `other`, both.
    #[must_use]
    pub fn and(mut self, other: Requirement) -> Requirement {
        let mut last = &mut self;
        while let Some(next) = last.and.take() {
            last.and = Some(next);
            last = last.and.as_mut().expect("just set");
        }
        last.and = Some(Box::new(other));
        self
    }

    /// Every one of these scopes.
    pub fn all<I: IntoIterator<Item = S>, S: Into<String>>(scopes: I) -> Requirement {
        Requirement::new(Match::All, Of::Scopes, scopes)
    }

    /// At least one of these scopes.
    pub fn any<I: IntoIterator<Item = S>, S: Into<String>>(scopes: I) -> Requirement {
        Requirement::new(Match::Any, Of::Scopes, scopes)
    }

    /// Every one of these roles.
    pub fn all_roles<I: IntoIterator<Item = S>, S: Into<String>>(roles: I) -> Requirement {
        Requirement::new(Match::All, Of::Roles, roles)
    }

    /// At least one of these roles.
    pub fn any_roles<I: IntoIterator<Item = S>, S: Into<String>>(roles: I) -> Requirement {
        Requirement::new(Match::Any, Of::Roles, roles)
    }

    /// The claim at `path` is present (any value but `null`). Unmet: 403 `forbidden`.
    pub fn claim_present(path: &[&str]) -> Requirement {
        Requirement::of_rule(Rule::Claim {
            path: path_of(path),
            test: ClaimTest::Present,
        })
    }

    /// The claim at `path` equals one of `values` (JSON equality: `"1"` is not `1`).
    pub fn claim_one_of<I, V>(path: &[&str], values: I) -> Requirement
    where
        I: IntoIterator<Item = V>,
        V: Into<serde_json::Value>,
    {
        Requirement::of_rule(Rule::Claim {
            path: path_of(path),
            test: ClaimTest::OneOf(values.into_iter().map(Into::into).collect()),
        })
    }

    /// The claim at `path` is an array containing `value` (or equals it).
    pub fn claim_contains(path: &[&str], value: impl Into<serde_json::Value>) -> Requirement {
        Requirement::of_rule(Rule::Claim {
            path: path_of(path),
            test: ClaimTest::Contains(value.into()),
        })
    }

    /// The token is used on the subject's behalf by one of these actors: its `act.sub`
    /// (RFC 8693 section 4.1, the current actor of a token exchange) is one of them. A token
    /// without `act` does not meet it.
    pub fn actor<I: IntoIterator<Item = S>, S: Into<String>>(subjects: I) -> Requirement {
        let values: Vec<serde_json::Value> = subjects
            .into_iter()
            .map(|s| serde_json::Value::String(s.into()))
            .collect();
        Requirement::claim_one_of(&["act", "sub"], values)
    }

    /// Step-up (RFC 9470): the token's `acr` is one of `values`. Unmet: 401
    /// `insufficient_user_authentication` with `acr_values` in the challenge.
    pub fn acr<I: IntoIterator<Item = S>, S: Into<String>>(values: I) -> Requirement {
        Requirement::of_rule(Rule::Acr(values.into_iter().map(Into::into).collect()))
    }

    /// Step-up (RFC 9470): the user authenticated (`auth_time`) at most `age` ago. Unmet
    /// (also without `auth_time`): 401 `insufficient_user_authentication` with `max_age`.
    pub fn max_auth_age(age: std::time::Duration) -> Requirement {
        Requirement::of_rule(Rule::MaxAge(age.as_secs()))
    }

    /// Whether the scopes and roles meet the requirement. An empty `any` is never met; an
    /// empty `all` always is. Claim and step-up rules need the token: here they are unmet (use
    /// [`Verified::require`](crate::Verified::require)).
    #[must_use]
    pub fn is_met(&self, scopes: &Scopes, roles: &Scopes) -> bool {
        let facts = Facts {
            scopes,
            roles,
            payload: None,
            now: 0,
            leeway: 0,
        };
        self.first_unmet(&facts).is_none()
    }

    fn met(&self, facts: &Facts<'_>) -> bool {
        match &self.rule {
            Rule::Set { mode, of, items } => {
                let have = if *of == Of::Scopes {
                    facts.scopes
                } else {
                    facts.roles
                };
                match mode {
                    Match::All => items.iter().all(|item| have.contains(item)),
                    Match::Any => items.iter().any(|item| have.contains(item)),
                }
            }
            Rule::Claim { path, test } => {
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                let value = facts
                    .payload
                    .and_then(|payload| crate::json::value_at(payload, &path))
                    .filter(|v| !v.is_null());
                match (test, value) {
                    (_, None) => false,
                    (ClaimTest::Present, Some(_)) => true,
                    (ClaimTest::OneOf(values), Some(value)) => values.contains(&value),
                    (ClaimTest::Contains(wanted), Some(serde_json::Value::Array(items))) => {
                        items.contains(wanted)
                    }
                    (ClaimTest::Contains(wanted), Some(value)) => value == *wanted,
                }
            }
            Rule::Acr(values) => facts
                .payload
                .and_then(|payload| crate::json::value_at(payload, &["acr"]))
                .is_some_and(|acr| {
                    acr.as_str()
                        .is_some_and(|acr| values.iter().any(|v| v == acr))
                }),
            Rule::MaxAge(max) => facts
                .payload
                .and_then(|payload| crate::json::value_at(payload, &["auth_time"]))
                .and_then(|t| t.as_f64())
                .is_some_and(|auth_time| {
                    // An `auth_time` in the future (past the leeway) would meet any age for
                    // ever: it is no evidence of a recent authentication.
                    let now = facts.now as f64;
                    auth_time >= 0.0
                        && auth_time <= now + facts.leeway as f64
                        && now - auth_time <= *max as f64
                }),
        }
    }

    /// The first part of the requirement (this one or one joined with [`and`](Self::and))
    /// that is not met.
    fn first_unmet(&self, facts: &Facts<'_>) -> Option<&Requirement> {
        if !self.met(facts) {
            return Some(self);
        }
        self.and.as_deref()?.first_unmet(facts)
    }

    /// Every scope this requirement names (each part joined with [`and`](Self::and)), in
    /// order, each once, space-delimited: the challenges' `scope` parameter. `offline_access`
    /// is never named: it asks an authorization server for a refresh token, not a resource
    /// for access.
    pub(crate) fn scope_parameter(&self) -> String {
        let mut named: Vec<&str> = Vec::new();
        let mut next = Some(self);
        while let Some(part) = next {
            if let Rule::Set {
                of: Of::Scopes,
                items,
                ..
            } = &part.rule
            {
                for scope in items.iter() {
                    if scope != "offline_access" && !named.contains(&scope) {
                        named.push(scope);
                    }
                }
            }
            next = part.and.as_deref();
        }
        named.join(" ")
    }

    /// Checks the requirement against scopes and roles alone.
    ///
    /// # Errors
    /// `insufficient_scope`, carrying the required scopes for the challenge's `scope`, or
    /// `insufficient_role` for a role requirement; claim and step-up rules are unmet here.
    pub fn check(&self, scopes: &Scopes, roles: &Scopes) -> Result<(), Error> {
        self.check_facts(&Facts {
            scopes,
            roles,
            payload: None,
            now: 0,
            leeway: 0,
        })
    }

    /// Checks the requirement against everything known of a token.
    pub(crate) fn check_facts(&self, facts: &Facts<'_>) -> Result<(), Error> {
        let Some(unmet) = self.first_unmet(facts) else {
            return Ok(());
        };
        match &unmet.rule {
            Rule::Set { of: Of::Roles, .. } => Err(Error::insufficient_role()),
            // The `scope` parameter names every scope the whole requirement needs, in one
            // challenge (MCP 2026-07-28), joined only on this denial path.
            Rule::Set { .. } => Err(Error::insufficient_scope(self.scope_parameter())),
            Rule::Claim { .. } => Err(Error::new(
                crate::error::ErrorKind::Forbidden,
                "a required claim value is missing",
            )),
            Rule::Acr(_) | Rule::MaxAge(_) => {
                // The challenge names every step-up rule of the requirement (RFC 9470 §3).
                let mut acr_values = None;
                let mut max_age = None;
                let mut next = Some(self);
                while let Some(part) = next {
                    match &part.rule {
                        Rule::Acr(values) => acr_values = Some(values.join(" ")),
                        Rule::MaxAge(age) => max_age = Some(*age),
                        _ => {}
                    }
                    next = part.and.as_deref();
                }
                Err(Error::insufficient_user_authentication(acr_values, max_age))
            }
        }
    }
}

/// A set of scopes a route requires, named by a type so adapters can offer typed extractors
/// (`Scoped<MessagesRead>`).
///
/// ```
/// struct MessagesRead;
/// impl tokengate::RequiredScopes for MessagesRead {
///     const SCOPES: &'static [&'static str] = &["messages:read"];
/// }
/// ```
pub trait RequiredScopes: Send + Sync + 'static {
    /// Every one of these scopes is required.
    const SCOPES: &'static [&'static str];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn membership_is_exact() {
        let have = Scopes::new(["messages:read", "admin-lite"]);
        assert!(Requirement::all(["messages:read"]).is_met(&have, &Scopes::default()));
        for missing in [
            "messages",
            "read",
            "admin",
            "Messages:read",
            "messages:read ",
        ] {
            assert!(
                !Requirement::all([missing]).is_met(&have, &Scopes::default()),
                "{missing}"
            );
        }
        assert!(Requirement::any(["x", "admin-lite"]).is_met(&have, &Scopes::default()));
        assert!(!Requirement::all(["messages:read", "x"]).is_met(&have, &Scopes::default()));
        assert!(!Requirement::any(Vec::<String>::new()).is_met(&have, &Scopes::default()));
    }

    #[test]
    fn roles_are_checked_against_roles() {
        let roles = Scopes::new(["admin"]);
        assert!(Requirement::any_roles(["admin"]).is_met(&Scopes::default(), &roles));
        assert!(!Requirement::any_roles(["admin"]).is_met(&roles, &Scopes::default()));
        let error = Requirement::all_roles(["admin"]).check(&Scopes::default(), &Scopes::default());
        let error = error.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InsufficientRole);
        assert_eq!(error.required_scope(), None);
    }

    #[test]
    fn joined_requirements_all_hold_and_name_every_scope_they_need() {
        let both = Requirement::all(["a"]).and(Requirement::any_roles(["admin"]));
        let both = both.and(Requirement::all(["b"]));
        let roles = Scopes::new(["admin"]);
        assert!(both.is_met(&Scopes::new(["a", "b"]), &roles));
        assert!(!both.is_met(&Scopes::new(["a", "b"]), &Scopes::default()));
        // One challenge names every scope the operation needs (a token with only `b` would
        // lose `a`); `offline_access` is never named.
        let error = both.check(&Scopes::new(["a"]), &roles).unwrap_err();
        assert_eq!(error.required_scope(), Some("a b"));
        let refresh = Requirement::all(["offline_access", "a"]).and(Requirement::all(["a", "c"]));
        let error = refresh.check(&Scopes::default(), &roles).unwrap_err();
        assert_eq!(error.required_scope(), Some("a c"));
    }

    #[test]
    fn static_requirements_behave_like_owned_ones() {
        let have = Scopes::new(["a", "b"]);
        assert!(Requirement::all_static(&["a", "b"]).is_met(&have, &Scopes::default()));
        let error = Requirement::all_static(&["a", "c"])
            .check(&have, &Scopes::default())
            .unwrap_err();
        assert_eq!(error.required_scope(), Some("a c"));
    }

    #[test]
    fn failed_scope_check_names_the_scopes() {
        let error = Requirement::all(["a", "b"])
            .check(&Scopes::new(["a"]), &Scopes::default())
            .unwrap_err();
        assert_eq!(error.required_scope(), Some("a b"));
    }
}
