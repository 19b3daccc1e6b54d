//! Verified claims: the caller's type, the ready-made [`StandardClaims`], the [`Verified`]
//! token with what tokengate read from it, and the principal it speaks for. Scopes live in
//! `scopes.rs`, requirements in `requirement.rs`.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;

use crate::error::Error;
use crate::requirement::{Facts, Requirement};
use crate::scopes::{OneOrMany, Scopes};

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

/// One party of a delegation chain (RFC 8693 section 4.1): `sub` (and `iss`) of the actor,
/// and the actor before it. Its `Debug` names no claim values.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Actor {
    /// The actor's subject.
    pub sub: Option<String>,
    /// The actor's issuer, when the token names it.
    pub iss: Option<String>,
    /// The actor before this one (a delegation of a delegation).
    #[serde(rename = "act")]
    pub prior: Option<Box<Actor>>,
}

impl Actor {
    fn from_value(value: serde_json::Value) -> Option<Actor> {
        serde_json::from_value(value).ok()
    }

    /// This actor, then each earlier one (outermost, i.e. current, first).
    pub fn chain(&self) -> impl Iterator<Item = &Actor> {
        std::iter::successors(Some(self), |actor| actor.prior.as_deref())
    }
}

impl fmt::Debug for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Actor(<{} redacted>)", self.chain().count())
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
    /// by [`Introspection::max_age`](crate::introspection::Introspection::max_age)).
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

    /// Who acts on the subject's behalf (RFC 8693 section 4.1): the `act` claim of a token
    /// issued by a token exchange, the current actor first, earlier actors through
    /// [`Actor::prior`]. `None` for a token the subject uses directly.
    #[must_use]
    pub fn actor(&self) -> Option<Actor> {
        self.claim(&["act"]).and_then(Actor::from_value)
    }

    /// Who may act for the subject (RFC 8693 section 4.4, `may_act`): the party a token
    /// exchange may issue a delegated token to.
    #[must_use]
    pub fn may_act(&self) -> Option<Actor> {
        self.claim(&["may_act"]).and_then(Actor::from_value)
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

#[cfg(test)]
mod tests {
    use super::*;

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
