//! Verified claims: the caller's type, the ready-made [`StandardClaims`], scopes, roles and
//! scope/role [`Requirement`]s.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;

use crate::error::Error;

/// A token's scopes, normalized from a space-delimited `scope` string and/or an `scp` array or
/// string. Membership is exact: `messages` never matches `messages:read`.
///
/// Held as one space-joined string: one allocation however many scopes a token carries.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Scopes(String);

impl Scopes {
    /// Scopes from a list (duplicates and empty strings removed, order kept).
    pub fn new<I, S>(scopes: I) -> Scopes
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = Scopes::default();
        for scope in scopes {
            out.push(scope.as_ref());
        }
        out
    }

    /// Adds one scope. A value containing spaces is split: scope tokens never contain one.
    pub(crate) fn push(&mut self, scope: &str) {
        if scope.contains(' ') {
            self.extend_delimited(scope);
        } else if !scope.is_empty() && !self.contains(scope) {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            self.0.push_str(scope);
        }
    }

    pub(crate) fn extend_delimited(&mut self, text: &str) {
        self.0.reserve(text.len());
        for scope in text.split(' ') {
            self.push(scope);
        }
    }

    /// Whether `scope` is present, compared exactly.
    #[must_use]
    pub fn contains(&self, scope: &str) -> bool {
        self.iter().any(|s| s == scope)
    }

    /// The scopes, in token order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split(' ').filter(|s| !s.is_empty())
    }

    /// How many scopes there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes joined by single spaces (the `scope` claim's format).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Scopes {
    /// Prints the count only: scopes are claims.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scopes(<{} redacted>)", self.len())
    }
}

impl<'de> Deserialize<'de> for Scopes {
    /// From a space-delimited string or an array of strings.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut scopes = Scopes::default();
        match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(text) => scopes.extend_delimited(&text),
            OneOrMany::Many(list) => list.iter().for_each(|s| scopes.push(s)),
        }
        Ok(scopes)
    }
}

impl serde::Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// The `aud` claim: one string or an array of strings.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Audience(Vec<String>);

impl Audience {
    /// Whether `aud` names `audience` exactly.
    #[must_use]
    pub fn contains(&self, audience: &str) -> bool {
        self.0.iter().any(|a| a == audience)
    }

    /// The audiences.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Debug for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Audience(<{} redacted>)", self.0.len())
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(one) => Audience(vec![one]),
            OneOrMany::Many(many) => Audience(many),
        })
    }
}

impl serde::Serialize for Audience {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => one.serialize(serializer),
            many => many.serialize(serializer),
        }
    }
}

/// The registered and common access-token claims, ready to use as `T` in
/// [`Verifier::verify`](crate::Verifier::verify). Every other claim is kept in `extra`.
///
/// `Debug` redacts every value.
#[derive(Clone, Default, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct StandardClaims {
    /// `iss`.
    pub iss: Option<String>,
    /// `sub`.
    pub sub: Option<String>,
    /// `aud`.
    #[serde(default)]
    pub aud: Audience,
    /// `exp`, seconds since the epoch.
    pub exp: Option<f64>,
    /// `nbf`.
    pub nbf: Option<f64>,
    /// `iat`.
    pub iat: Option<f64>,
    /// `jti`.
    pub jti: Option<String>,
    /// `client_id` (RFC 9068; Cognito).
    pub client_id: Option<String>,
    /// `scope`, space-delimited, normalized (see [`Verified::scopes`] for `scope` and `scp`
    /// merged).
    #[serde(default)]
    pub scope: Scopes,
    /// `scp`, as an array or string (Okta, Entra ID).
    #[serde(default)]
    pub scp: Scopes,
    /// All other claims.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl fmt::Debug for StandardClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandardClaims")
            .field("sub", &self.sub.as_ref().map(|_| "<redacted>"))
            .field("extra_claims", &self.extra.len())
            .finish_non_exhaustive()
    }
}

/// Typed claims of a token that passed every check, plus what tokengate read from it.
///
/// `Debug` shows the issuer and counts, never claim values.
#[derive(Clone)]
#[non_exhaustive]
pub struct Verified<T> {
    /// The claims, deserialized into the caller's type.
    pub claims: T,
    pub(crate) issuer: Arc<str>,
    pub(crate) subject: Option<String>,
    pub(crate) scopes: Scopes,
    pub(crate) roles: Scopes,
    pub(crate) expires_at: f64,
    /// The token's `cnf` (sender constraint), compared with each request's proof or
    /// certificate by the pipeline.
    pub(crate) confirmation: Option<Arc<crate::binding::Confirmation>>,
    /// `jti` and `iat`, for the revocation list.
    pub(crate) jti: Option<Box<str>>,
    pub(crate) issued_at: Option<u64>,
}

impl<T> Verified<T> {
    /// The configured issuer that vouched for the token (its `iss`).
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `sub` claim.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// Scopes from `scope` and `scp`, merged.
    #[must_use]
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }

    /// Roles from the issuer's role claim path (see [`Issuer::roles_claim`](crate::Issuer::roles_claim)).
    #[must_use]
    pub fn roles(&self) -> &Scopes {
        &self.roles
    }

    /// `exp`, seconds since the epoch; `f64::INFINITY` for an introspected token whose response
    /// carried no `exp` (the provider vouched for it without an expiry; reuse is still bounded
    /// by [`Introspection::max_age`](crate::Introspection::max_age)).
    #[must_use]
    pub fn expires_at(&self) -> f64 {
        self.expires_at
    }

    /// Checks a scope or role requirement.
    ///
    /// # Errors
    /// [`ErrorKind::InsufficientScope`](crate::ErrorKind::InsufficientScope), which renders 403
    /// with the required scopes in the challenge.
    pub fn require(&self, requirement: &Requirement) -> Result<(), Error> {
        requirement.check(&self.scopes, &self.roles)
    }

    /// The same verified token with its claims mapped.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Verified<U> {
        Verified {
            claims: f(self.claims),
            issuer: self.issuer,
            subject: self.subject,
            scopes: self.scopes,
            roles: self.roles,
            expires_at: self.expires_at,
            confirmation: self.confirmation,
            jti: self.jti,
            issued_at: self.issued_at,
        }
    }

    /// The `jti` claim.
    #[must_use]
    pub fn jti(&self) -> Option<&str> {
        self.jti.as_deref()
    }

    /// The `iat` claim, whole seconds since the epoch.
    #[must_use]
    pub fn issued_at(&self) -> Option<u64> {
        self.issued_at
    }

    /// What the revocation list is asked about.
    pub(crate) fn identity(&self) -> crate::revocation::TokenIdentity<'_> {
        crate::revocation::TokenIdentity {
            issuer: &self.issuer,
            jti: self.jti.as_deref(),
            subject: self.subject.as_deref(),
            issued_at: self.issued_at,
        }
    }

    /// Whether the token is sender-constrained (its `cnf` binds it to a DPoP key or a client
    /// certificate, which the request proved).
    #[must_use]
    pub fn is_sender_constrained(&self) -> bool {
        self.confirmation.is_some()
    }

    /// Whether the token is DPoP-bound (`cnf.jkt`).
    #[must_use]
    pub fn is_dpop_bound(&self) -> bool {
        self.confirmation.as_ref().is_some_and(|c| c.is_dpop())
    }
}

/// The claims' own fields read naturally: `verified.tenant` for a `T` with a `tenant` field.
impl<T> std::ops::Deref for Verified<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.claims
    }
}

impl<T> fmt::Debug for Verified<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("issuer", &self.issuer)
            .field("scopes", &self.scopes)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

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

/// A scope or role requirement with exact membership.
///
/// ```
/// use tokengate::{Requirement, Scopes};
/// let read = Requirement::all(["messages:read"]);
/// assert!(read.is_met(&Scopes::new(["messages:read", "profile"]), &Scopes::default()));
/// assert!(!read.is_met(&Scopes::new(["messages"]), &Scopes::default()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    mode: Match,
    of: Of,
    items: Items,
    /// A further requirement that must also hold.
    and: Option<Box<Requirement>>,
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

impl Requirement {
    fn new<I, S>(mode: Match, of: Of, items: I) -> Requirement
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Requirement {
            mode,
            of,
            items: Items::Owned(items.into_iter().map(Into::into).collect()),
            and: None,
        }
    }

    /// Every one of these scopes, from a `'static` list: builds without allocating (what the
    /// typed `Scoped<R>` extractors use per request).
    pub fn all_static(scopes: &'static [&'static str]) -> Requirement {
        Requirement {
            mode: Match::All,
            of: Of::Scopes,
            items: Items::Static(scopes),
            and: None,
        }
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

    /// Whether the scopes and roles meet the requirement. An empty `any` is never met; an
    /// empty `all` always is.
    #[must_use]
    pub fn is_met(&self, scopes: &Scopes, roles: &Scopes) -> bool {
        self.first_unmet(scopes, roles).is_none()
    }

    /// The first part of the requirement (this one or one joined with [`and`](Self::and))
    /// that the scopes and roles do not meet.
    fn first_unmet(&self, scopes: &Scopes, roles: &Scopes) -> Option<&Requirement> {
        let have = if self.of == Of::Scopes { scopes } else { roles };
        let met = match self.mode {
            Match::All => self.items.iter().all(|item| have.contains(item)),
            Match::Any => self.items.iter().any(|item| have.contains(item)),
        };
        if !met {
            return Some(self);
        }
        self.and.as_deref()?.first_unmet(scopes, roles)
    }

    /// Checks the requirement.
    ///
    /// # Errors
    /// `insufficient_scope`, carrying the required scopes for the challenge's `scope`, or
    /// `insufficient_role` for a role requirement.
    pub fn check(&self, scopes: &Scopes, roles: &Scopes) -> Result<(), Error> {
        match self.first_unmet(scopes, roles) {
            None => Ok(()),
            Some(unmet) if unmet.of == Of::Roles => Err(Error::insufficient_role()),
            // The `scope` parameter is joined only on this denial path.
            Some(unmet) => Err(Error::insufficient_scope(
                unmet.items.iter().collect::<Vec<_>>().join(" "),
            )),
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
    use crate::ErrorKind;

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
    fn joined_requirements_all_hold_and_name_the_unmet_scopes() {
        let both = Requirement::all(["a"]).and(Requirement::any_roles(["admin"]));
        let both = both.and(Requirement::all(["b"]));
        let roles = Scopes::new(["admin"]);
        assert!(both.is_met(&Scopes::new(["a", "b"]), &roles));
        assert!(!both.is_met(&Scopes::new(["a", "b"]), &Scopes::default()));
        let error = both.check(&Scopes::new(["a"]), &roles).unwrap_err();
        assert_eq!(error.required_scope(), Some("b"));
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

    #[test]
    fn scopes_deserialize_from_string_or_array_and_debug_redacts() {
        let s: Scopes = serde_json::from_str(r#""a  b a""#).unwrap();
        assert_eq!(s.iter().collect::<Vec<_>>(), ["a", "b"]);
        let s: Scopes = serde_json::from_str(r#"["a","b"]"#).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(format!("{s:?}"), "Scopes(<2 redacted>)");
    }

    #[test]
    fn standard_claims_debug_redacts() {
        let claims: StandardClaims =
            serde_json::from_str(r#"{"sub":"alice","aud":["x","y"],"email":"alice@example.com"}"#)
                .unwrap();
        let debug = format!("{claims:?}");
        assert!(!debug.contains("alice"), "{debug}");
        assert!(claims.aud.contains("y"));
        assert_eq!(claims.extra["email"], "alice@example.com");
    }
}
