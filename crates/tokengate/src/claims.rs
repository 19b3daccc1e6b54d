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
        self.extend_delimited(scope);
    }

    /// Adds the space-delimited scopes of `text`. Byte loops rather than `split` and a
    /// `contains` per scope: scope strings are short, and a search call per token cost more
    /// than the tokens (~1.7k instructions for a typical token's scopes and roles,
    /// `docs/benchmarks.md`, "Own work").
    pub(crate) fn extend_delimited(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.0.reserve(text.len() + 1);
        let bytes = text.as_bytes();
        let mut start = 0;
        for (at, &byte) in bytes.iter().enumerate() {
            if byte == b' ' {
                self.add(&text[start..at]);
                start = at + 1;
            }
        }
        self.add(&text[start..]);
    }

    /// Adds `scope` (no spaces) unless it is empty or present.
    fn add(&mut self, scope: &str) {
        if scope.is_empty() || self.has(scope) {
            return;
        }
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(scope);
    }

    /// Whether the non-empty `scope`, which has no spaces, is one of the tokens.
    fn has(&self, scope: &str) -> bool {
        let (have, want) = (self.0.as_bytes(), scope.as_bytes());
        let mut start = 0;
        while let Some(token) = have.get(start..) {
            let end = token.iter().position(|&b| b == b' ').unwrap_or(token.len());
            if token[..end] == *want {
                return true;
            }
            start += end + 1;
        }
        false
    }

    /// Whether `scope` is present, compared exactly.
    #[must_use]
    pub fn contains(&self, scope: &str) -> bool {
        !scope.is_empty() && !scope.contains(' ') && self.has(scope)
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
/// [`Verifier::verify`](crate::Verifier::verify).
///
/// Other claims are read with [`Verified::claim`] (`verified.claim(&["email"])`, from the
/// verified payload tokengate keeps anyway) or by a claims type of your own. There is no
/// catch-all map: a flattened map made every verification copy every claim into a tree of
/// values, cost +0.6 µs for a 0.4 KB token and doubled each cache entry (`docs/benchmarks.md`).
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
}

impl fmt::Debug for StandardClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandardClaims")
            .field("sub", &self.sub.as_ref().map(|_| "<redacted>"))
            .field("scopes", &(self.scope.len() + self.scp.len()))
            .finish_non_exhaustive()
    }
}

/// A stable, hashed identity of a token's principal ([`Verified::principal`]): SHA-256 over
/// the issuer and the subject. `Debug` shows its first four bytes only.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrincipalKey([u8; 32]);

impl PrincipalKey {
    /// A key from its 32 bytes (as [`as_bytes`](PrincipalKey::as_bytes) gave them).
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> PrincipalKey {
        PrincipalKey(bytes)
    }

    /// The 32 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 characters.
    #[must_use]
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for PrincipalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PrincipalKey({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// Typed claims of a token that passed every check, plus what tokengate read from it.
///
/// `Debug` shows the issuer and counts, never claim values.
///
/// Cloning is two reference counts whatever `T` is: the claims and what tokengate read from
/// the token are shared, so a cache hit hands out the verified token without copying it
/// (`docs/architecture.md`, "Verified-token cache").
#[non_exhaustive]
pub struct Verified<T> {
    /// The claims, deserialized into the caller's type once, and shared by every copy of this
    /// value (fields read through it: `verified.claims.email`; an owned `T`:
    /// [`Verified::into_claims`]).
    pub claims: Arc<T>,
    /// What tokengate read from the token, shared by every copy.
    pub(crate) meta: Arc<Meta>,
    /// Which verifier admitted these claims for this request, and how the request presented
    /// the token (per request; none outside one).
    pub(crate) presented: crate::binding::Provenance,
}

impl<T> Clone for Verified<T> {
    fn clone(&self) -> Self {
        Verified {
            claims: Arc::clone(&self.claims),
            meta: Arc::clone(&self.meta),
            presented: self.presented.clone(),
        }
    }
}

/// A string claim kept with the verified payload: the place it was read from when the payload
/// spelled it without escapes (nothing to allocate), or its own copy.
pub(crate) enum Text {
    Span(u32, u32),
    Owned(Box<str>),
}

impl Text {
    /// `value`, as a span of `payload` when it is a slice of it.
    pub(crate) fn within(payload: &str, value: &str) -> Text {
        let offset = (value.as_ptr() as usize).wrapping_sub(payload.as_ptr() as usize);
        match (u32::try_from(offset), u32::try_from(value.len())) {
            (Ok(start), Ok(len))
                if offset
                    .checked_add(value.len())
                    .is_some_and(|end| end <= payload.len()) =>
            {
                Text::Span(start, start + len)
            }
            _ => Text::Owned(value.into()),
        }
    }
}

/// What tokengate read from a verified token, besides the caller's claims.
pub(crate) struct Meta {
    pub(crate) issuer: Arc<str>,
    pub(crate) subject: Option<Text>,
    pub(crate) scopes: Scopes,
    pub(crate) roles: Scopes,
    pub(crate) expires_at: f64,
    /// The token's `cnf` (sender constraint), compared with each request's proof or
    /// certificate by the pipeline.
    pub(crate) confirmation: Option<Arc<crate::binding::Confirmation>>,
    /// `jti` and `iat`, for the revocation list.
    pub(crate) jti: Option<Text>,
    pub(crate) issued_at: Option<u64>,
    /// The verified payload (strict JSON), for claim rules, step-up and custom checks.
    pub(crate) payload: Box<str>,
    /// The verifier's clock, so that [`Verified::require`] judges `max_auth_age` by the same
    /// (injectable) time as the pipeline.
    pub(crate) clock: Arc<dyn crate::clock::Clock>,
    /// The verifier's leeway (seconds), for `auth_time`.
    pub(crate) leeway: u64,
}

impl Meta {
    fn text<'a>(&'a self, text: &'a Option<Text>) -> Option<&'a str> {
        match text.as_ref()? {
            Text::Span(start, end) => self.payload.get(*start as usize..*end as usize),
            Text::Owned(owned) => Some(owned),
        }
    }

    pub(crate) fn subject(&self) -> Option<&str> {
        self.text(&self.subject)
    }

    pub(crate) fn jti(&self) -> Option<&str> {
        self.text(&self.jti)
    }
}

impl<T> Verified<T> {
    /// The configured issuer that vouched for the token (its `iss`).
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.meta.issuer
    }

    /// The `sub` claim.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.meta.subject()
    }

    /// Who the token speaks for, as a stable hashed key: the issuer and `sub` (or, for a token
    /// without `sub` such as a client-credentials token, its `client_id`). The same for every
    /// token of that principal; for binding state to a caller (an MCP session, a handle a tool
    /// hands out) without keeping the subject itself.
    #[must_use]
    pub fn principal(&self) -> PrincipalKey {
        let client_id;
        let (kind, name): (&[u8], &str) = match self.subject() {
            Some(sub) => (b"sub", sub),
            None => {
                client_id = crate::json::value_at(self.meta.payload.as_bytes(), &["client_id"])
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                (b"client_id", &client_id)
            }
        };
        let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        for part in [self.issuer().as_bytes(), kind, name.as_bytes()] {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part);
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(context.finish().as_ref());
        PrincipalKey(key)
    }

    /// Scopes from `scope` and `scp`, merged.
    #[must_use]
    pub fn scopes(&self) -> &Scopes {
        &self.meta.scopes
    }

    /// Roles from the issuer's role claim path (see [`Issuer::roles_claim`](crate::Issuer::roles_claim)).
    #[must_use]
    pub fn roles(&self) -> &Scopes {
        &self.meta.roles
    }

    /// `exp`, seconds since the epoch; `f64::INFINITY` for an introspected token whose response
    /// carried no `exp` (the provider vouched for it without an expiry; reuse is still bounded
    /// by [`Introspection::max_age`](crate::Introspection::max_age)).
    #[must_use]
    pub fn expires_at(&self) -> f64 {
        self.meta.expires_at
    }

    /// Checks a scope or role requirement.
    ///
    /// # Errors
    /// [`ErrorKind::InsufficientScope`](crate::ErrorKind::InsufficientScope), which renders 403
    /// with the required scopes in the challenge.
    pub fn require(&self, requirement: &Requirement) -> Result<(), Error> {
        requirement.check_facts(&self.facts(self.meta.clock.now_unix()))
    }

    /// The same verified token with its claims mapped (the claims are cloned only when
    /// another copy of this value, e.g. the cache's, still holds them).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Verified<U>
    where
        T: Clone,
    {
        Verified {
            claims: Arc::new(f(Arc::unwrap_or_clone(self.claims))),
            meta: self.meta,
            presented: self.presented,
        }
    }

    /// The claims as an owned value (cloned only when another copy of this value, e.g. the
    /// cache's, still holds them).
    #[must_use]
    pub fn into_claims(self) -> T
    where
        T: Clone,
    {
        Arc::unwrap_or_clone(self.claims)
    }

    /// A claim by path (`["tid"]`, `["realm_access", "roles"]`), as JSON.
    #[must_use]
    pub fn claim(&self, path: &[&str]) -> Option<serde_json::Value> {
        crate::json::value_at(self.meta.payload.as_bytes(), path)
    }

    /// What a requirement is judged on, at `now`.
    pub(crate) fn facts(&self, now: u64) -> Facts<'_> {
        Facts {
            scopes: &self.meta.scopes,
            roles: &self.meta.roles,
            payload: Some(self.meta.payload.as_bytes()),
            now,
            leeway: self.meta.leeway,
        }
    }

    /// The `jti` claim.
    #[must_use]
    pub fn jti(&self) -> Option<&str> {
        self.meta.jti()
    }

    /// The `iat` claim, whole seconds since the epoch.
    #[must_use]
    pub fn issued_at(&self) -> Option<u64> {
        self.meta.issued_at
    }

    /// What the revocation list is asked about.
    pub(crate) fn identity(&self) -> crate::store::TokenIdentity<'_> {
        crate::store::TokenIdentity {
            issuer: &self.meta.issuer,
            jti: self.meta.jti(),
            subject: self.meta.subject(),
            issued_at: self.meta.issued_at,
        }
    }

    /// Whether the token is sender-constrained (its `cnf` binds it to a DPoP key or a client
    /// certificate, which the request proved).
    #[must_use]
    pub fn is_sender_constrained(&self) -> bool {
        self.meta.confirmation.is_some()
    }

    /// Whether the token is DPoP-bound (`cnf.jkt`).
    #[must_use]
    pub fn is_dpop_bound(&self) -> bool {
        self.meta.confirmation.as_ref().is_some_and(|c| c.is_dpop())
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
            .field("issuer", &self.meta.issuer)
            .field("scopes", &self.meta.scopes)
            .field("roles", &self.meta.roles)
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
    /// [`Verified::require`]).
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
            // The `scope` parameter is joined only on this denial path.
            Rule::Set { items, .. } => Err(Error::insufficient_scope(
                items.iter().collect::<Vec<_>>().join(" "),
            )),
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
    use crate::ErrorKind;

    /// `Scopes` against a plain model (split on spaces, drop empties and repeats, keep order),
    /// over strings of a few letters and spaces, where repeats and prefixes are common.
    #[test]
    fn scopes_match_a_plain_model() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
        let mut runner = TestRunner::new_with_rng(
            Config::with_cases(2_000),
            TestRng::from_seed(RngAlgorithm::ChaCha, &[29; 32]),
        );
        let parts = proptest::collection::vec("[ab ]{0,6}", 0..5);
        runner
            .run(&(parts, "[ab ]{0,4}"), |(parts, probe)| {
                let mut model: Vec<String> = Vec::new();
                for word in parts.iter().flat_map(|p| p.split(' ')) {
                    if !word.is_empty() && !model.iter().any(|m| m == word) {
                        model.push(word.to_owned());
                    }
                }
                let mut scopes = Scopes::default();
                for (i, part) in parts.iter().enumerate() {
                    if i % 2 == 0 {
                        scopes.extend_delimited(part);
                    } else {
                        scopes.push(part);
                    }
                }
                prop_assert_eq!(scopes.as_str(), model.join(" "));
                prop_assert_eq!(scopes.iter().collect::<Vec<_>>(), model.clone());
                prop_assert_eq!(scopes.contains(&probe), model.contains(&probe));
                Ok(())
            })
            .unwrap();
    }

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
    }
}
