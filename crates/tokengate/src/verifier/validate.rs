//! Verification in two stages over one decoded token: [`Inner::prepare`] (size, segments,
//! base64url, strict header and payload, issuer routing, algorithm allowlist) and
//! [`Inner::complete`] (key, signature, `typ`, times, audience, required claims, scopes,
//! roles, and only then the caller's claims type). A key fetch may come between the two; the
//! prepared work is kept (see `docs/architecture.md`, "Verification stages").

use std::borrow::Cow;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::algorithm::Algorithm;
use crate::binding::Confirmation;
use crate::claims::{Text, Verified};
use crate::error::{Error, ErrorKind};
use crate::json::{self, ClaimsView, Loose};
use crate::jws;
use crate::scopes::Scopes;

use super::Inner;
use super::keys::Loaded;

/// Times beyond 9999-12-31 are refused as impossible.
const MAX_TIME: f64 = 253_402_300_799.0;

/// How strict the shared claim checks are for one kind of token.
#[derive(Clone, Copy)]
pub(crate) struct Rules {
    /// `exp` must be present (signed tokens); an introspection response may omit it.
    pub(crate) exp_required: bool,
    /// `aud` must be present when audiences are checked (signed tokens); an introspection
    /// response that omits it was judged active for this client by the provider.
    pub(crate) aud_required: bool,
    /// The issuer's JWT profile (RFC 9068's required claims) applies: signed tokens only. An
    /// introspection answer follows RFC 7662, where every member but `active` is optional.
    pub(crate) jwt_profile: bool,
}

/// The claims RFC 9068 section 2.2 requires of a JWT access token.
pub(crate) const RFC9068_CLAIMS: [&str; 7] =
    ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"];

impl Rules {
    /// Signed tokens: `exp` and `aud` required.
    pub(crate) const JWT: Rules = Rules {
        exp_required: true,
        aud_required: true,
        jwt_profile: true,
    };
}

/// Why the second stage stopped: an answer, or a remote issuer that needs a fetch first.
pub(crate) enum Stop {
    Error(Error),
    /// Fetch the issuer's keys (for this unknown `kid`, or because none is usable), then
    /// complete again.
    Fetch {
        kid: Option<Box<str>>,
    },
}

impl From<Error> for Stop {
    fn from(error: Error) -> Stop {
        Stop::Error(error)
    }
}

/// Everything the second stage reads, borrowed from a [`Decoded`] token.
pub(crate) struct Checkable<'a, 'v> {
    signing_input: &'a [u8],
    payload: &'a [u8],
    signature: &'a [u8],
    alg: Algorithm,
    kid: Option<&'a str>,
    typ: Option<&'a str>,
    view: &'a ClaimsView<'v>,
    pub(crate) issuer: usize,
}

/// A token after the first stage, owning what it read: the decoded segments, the header
/// members and the registered claims. Built once per token, also across a key fetch.
pub(crate) struct Decoded {
    /// `header.payload` as sent (the signing input), then the decoded payload and signature.
    bytes: Vec<u8>,
    signing_len: usize,
    payload_end: usize,
    alg: Algorithm,
    kid: Option<Box<str>>,
    typ: Option<Box<str>>,
    view: ClaimsView<'static>,
    pub(crate) issuer: usize,
}

/// A token's `iss` as read (empty when it is not a string: such a token never got this far).
pub(crate) fn iss_of<'a>(view: &'a ClaimsView<'_>) -> &'a str {
    match &view.iss {
        Some(Loose::Str(iss)) => iss,
        _ => "",
    }
}

impl Decoded {
    /// The token's `iss`.
    pub(crate) fn iss(&self) -> &str {
        iss_of(&self.view)
    }

    pub(crate) fn checkable(&self) -> Checkable<'_, 'static> {
        let (signing_input, rest) = self.bytes.split_at(self.signing_len);
        let (payload, signature) = rest.split_at(self.payload_end - self.signing_len);
        Checkable {
            signing_input,
            payload,
            signature,
            alg: self.alg,
            kid: self.kid.as_deref(),
            typ: self.typ.as_deref(),
            view: &self.view,
            issuer: self.issuer,
        }
    }
}

/// The first stage's result, borrowing the token and a scratch buffer (the fast path).
pub(crate) struct Prepared<'t> {
    signing_input: &'t str,
    payload: &'t [u8],
    signature: &'t [u8],
    header: jws::Header<'t>,
    view: ClaimsView<'t>,
    pub(crate) issuer: usize,
}

impl<'t> Prepared<'t> {
    pub(crate) fn checkable(&self) -> Checkable<'_, 't> {
        Checkable {
            signing_input: self.signing_input.as_bytes(),
            payload: self.payload,
            signature: self.signature,
            alg: self.header.alg,
            kid: self.header.kid.as_deref(),
            typ: self.header.typ.as_deref(),
            view: &self.view,
            issuer: self.issuer,
        }
    }

    /// Keeps the work for after a key fetch: copies bytes, parses nothing again.
    pub(crate) fn into_decoded(self) -> Decoded {
        let mut bytes = Vec::with_capacity(
            self.signing_input.len() + self.payload.len() + self.signature.len(),
        );
        bytes.extend_from_slice(self.signing_input.as_bytes());
        bytes.extend_from_slice(self.payload);
        let payload_end = bytes.len();
        bytes.extend_from_slice(self.signature);
        let owned = |s: Option<Cow<'t, str>>| s.map(|s| Box::from(&*s));
        Decoded {
            bytes,
            signing_len: self.signing_input.len(),
            payload_end,
            alg: self.header.alg,
            kid: owned(self.header.kid),
            typ: owned(self.header.typ),
            view: self.view.into_owned(),
            issuer: self.issuer,
        }
    }
}

fn err(kind: ErrorKind, detail: &'static str) -> Error {
    Error::new(kind, detail)
}

fn stop(kind: ErrorKind, detail: &'static str) -> Stop {
    Stop::Error(Error::new(kind, detail))
}

impl Inner {
    /// The first stage. `buf` receives the decoded header, payload and signature.
    pub(crate) fn prepare<'t>(
        &self,
        token: &'t str,
        buf: &'t mut Vec<u8>,
    ) -> Result<Prepared<'t>, Error> {
        if token.len() > self.max_token_bytes {
            return Err(err(
                ErrorKind::TokenTooLarge,
                "the token is larger than the cap",
            ));
        }
        if token.is_empty() {
            return Err(err(ErrorKind::MalformedToken, "the token is empty"));
        }
        let segments = jws::split(token)?;
        // Decoded, the three segments take less room than the token: grown (and zero-filled)
        // only when a longer token than any before comes, never cleared.
        let room = token.len() + 16;
        if buf.len() < room {
            buf.resize(room, 0);
        }
        let header_end = jws::decode_slice(segments.header, buf)?;
        let payload_end = header_end + jws::decode_slice(segments.payload, &mut buf[header_end..])?;
        let end = payload_end + jws::decode_slice(segments.signature, &mut buf[payload_end..])?;
        let buf: &'t [u8] = &buf[..end];
        let (header, rest) = buf.split_at(header_end);
        let (payload, signature) = rest.split_at(payload_end - header_end);

        let header = jws::parse_header(header)?;
        // One strict pass: duplicate members at any depth are refused here, before anything
        // in the payload is trusted; the registered claims are read on the way.
        let view = json::parse_view(payload, &self.wanted).map_err(|_| {
            err(
                ErrorKind::MalformedToken,
                "the payload is not a JSON object without duplicate members",
            )
        })?;

        // Route by the unverified `iss` to an allowlisted issuer, before any key lookup.
        let issuer = match &view.iss {
            Some(Loose::Str(iss)) => self
                .issuers
                .iter()
                .position(|i| *i.iss == **iss)
                .or_else(|| self.issuers.iter().position(|i| i.names(iss)))
                .ok_or_else(|| err(ErrorKind::InvalidIssuer, "iss names no configured issuer"))?,
            Some(_) => return Err(err(ErrorKind::InvalidClaim, "iss is not a string")),
            None => return Err(err(ErrorKind::MissingClaim, "iss is missing")),
        };
        if !self.issuers[issuer].algorithms.contains(header.alg) {
            return Err(err(
                ErrorKind::DisallowedAlgorithm,
                "alg is not allowed for the issuer",
            ));
        }
        Ok(Prepared {
            signing_input: segments.signing_input,
            payload,
            signature,
            header,
            view,
            issuer,
        })
    }

    /// The second stage, with the keys loaded now. Also returns the key set's generation.
    pub(crate) fn complete<T: DeserializeOwned>(
        &self,
        token: &Checkable<'_, '_>,
    ) -> Result<(Verified<T>, u64), Stop> {
        let issuer = &self.issuers[token.issuer];
        let now = self.clock.now_unix();
        let store = issuer.keys_for(iss_of(token.view)).map_err(Stop::from)?;
        let keys = match store.usable(now) {
            Loaded::Usable(keys) => keys,
            Loaded::NeedsFetch => return Err(Stop::Fetch { kid: None }),
        };
        let key = match keys.select(token.kid, token.alg) {
            Ok(key) => key,
            Err(error) if error.kind() == ErrorKind::UnknownKey && store.is_remote() => {
                return match token.kid {
                    Some(kid) => Err(Stop::Fetch {
                        kid: Some(kid.into()),
                    }),
                    None => Err(error.into()),
                };
            }
            Err(error) => return Err(error.into()),
        };
        if token.signature.is_empty() {
            return Err(stop(ErrorKind::InvalidSignature, "the signature is empty"));
        }
        // Several keys may share the token's kid (a provider publishing the same kid twice
        // during a rotation): each is tried, as Nimbus and Spring do; the set is capped at 100.
        let mut verified = key.verify(token.alg, token.signing_input, token.signature);
        if verified.is_err() {
            if let Some(kid) = token.kid {
                for other in keys.others_with_kid(kid, token.alg, key) {
                    verified = other.verify(token.alg, token.signing_input, token.signature);
                    if verified.is_ok() {
                        break;
                    }
                }
            }
        }
        verified?;

        // The signature holds: now the claims.
        if !jws::typ_allowed(token.typ, issuer.rfc9068) {
            return Err(stop(
                ErrorKind::InvalidType,
                "typ is not an accepted access-token type",
            ));
        }
        store.note_served(&keys, now);
        let verified =
            self.check_claims(token.issuer, token.view, token.payload, now, Rules::JWT)?;
        Ok((verified, keys.generation))
    }

    /// The claim checks shared by signed tokens and introspection responses: times, audience,
    /// required claims, scopes and roles, then the caller's `T` from `payload` (plain serde,
    /// after every check).
    pub(crate) fn check_claims<T: DeserializeOwned>(
        &self,
        index: usize,
        view: &ClaimsView<'_>,
        payload: &[u8],
        now: u64,
        rules: Rules,
    ) -> Result<Verified<T>, Error> {
        let issuer = &self.issuers[index];
        let now = now as f64;
        let leeway = self.leeway as f64;
        let exp = time_claim(view.exp.as_ref(), "exp is not a valid time")?;
        let exp = match (exp, rules.exp_required) {
            (Some(exp), _) => exp,
            (None, true) => return Err(err(ErrorKind::MissingClaim, "exp is missing")),
            (None, false) => f64::INFINITY,
        };
        if now >= exp + leeway {
            return Err(err(ErrorKind::Expired, "the token expired"));
        }
        if let Some(nbf) = time_claim(view.nbf.as_ref(), "nbf is not a valid time")? {
            if now + leeway < nbf {
                return Err(err(ErrorKind::NotYetValid, "the token is not valid yet"));
            }
        }
        if let Some(iat) = time_claim(view.iat.as_ref(), "iat is not a valid time")? {
            if iat > now + leeway {
                return Err(err(ErrorKind::IssuedInFuture, "iat is in the future"));
            }
        }
        if issuer.check_audience {
            let resource = self.resource_canonical();
            // Exact comparisons first; a URI is parsed only when no string matches (an `aud`
            // in another spelling of the resource, or a refusal).
            let matches = |aud: &str| {
                issuer.audiences.iter().any(|a| **a == *aud)
                    || resource.is_some_and(|r| {
                        *r == *aud || crate::resource::canonical(aud).is_some_and(|c| *c == *r)
                    })
            };
            let other;
            let audience = match &issuer.audience_claim {
                None => &view.aud,
                Some(path) => {
                    other = view.at_path(path);
                    &other
                }
            };
            let ok = match audience {
                None if !rules.aud_required => true,
                None => return Err(err(ErrorKind::MissingClaim, "aud is missing")),
                Some(Loose::Str(aud)) => matches(aud),
                Some(Loose::Strings(list)) => list.iter().any(|aud| matches(aud)),
                Some(_) => {
                    return Err(err(
                        ErrorKind::InvalidClaim,
                        "aud is not a string or array of strings",
                    ));
                }
            };
            if !ok {
                return Err(err(
                    ErrorKind::InvalidAudience,
                    "aud names no accepted audience",
                ));
            }
        }
        // Bound to a key (DPoP `cnf.jkt`) or a certificate (mTLS `cnf.x5t#S256`): kept with
        // the claims; the pipeline compares it with each request's proof or certificate, and
        // the token-only API refuses it (see `crate::binding`).
        let confirmation = match view.raw("cnf") {
            Some(raw) => Some(Arc::new(Confirmation::parse(raw)?)),
            None if view.has("cnf") => {
                return Err(err(ErrorKind::InvalidClaim, "cnf is not an object"));
            }
            None => None,
        };
        let profile: &[&str] = if rules.jwt_profile && issuer.rfc9068 {
            &RFC9068_CLAIMS
        } else {
            &[]
        };
        if let Some(name) = issuer
            .required
            .iter()
            .map(|name| &**name)
            .chain(profile.iter().copied())
            .find(|name| !view.has(name))
        {
            return Err(Error::missing_claim(name));
        }
        // The payload is kept; `sub` and `jti` are kept as places in it where they can be.
        let text: &str = match view.text {
            // The view was read from these very bytes (checked UTF-8 on the way).
            Some(text) if std::ptr::eq(text.as_bytes(), payload) => text,
            _ => std::str::from_utf8(payload)
                .map_err(|_| err(ErrorKind::MalformedToken, "the payload is not UTF-8"))?,
        };
        let subject = string_claim(view.sub.as_ref(), "sub is not a string")?;
        string_claim(view.client_id.as_ref(), "client_id is not a string")?;
        let jti = string_claim(view.jti.as_ref(), "jti is not a string")?;
        let issued_at = time_claim(view.iat.as_ref(), "iat is not a valid time")?.map(|t| t as u64);

        let mut scopes = Scopes::default();
        if let Some(scope) = string_claim(view.scope.as_ref(), "scope is not a string")? {
            scopes.extend_delimited(scope);
        }
        match &view.scp {
            None => {}
            Some(Loose::Str(scp)) => scopes.extend_delimited(scp),
            Some(Loose::Strings(list)) => list.iter().for_each(|s| scopes.push(s)),
            Some(_) => {
                return Err(err(
                    ErrorKind::InvalidClaim,
                    "scp is not a string or array of strings",
                ));
            }
        }
        for path in &issuer.scope_claims {
            collect(&mut scopes, view.at_path(path));
        }
        let mut roles = Scopes::default();
        for path in &issuer.roles_paths {
            collect(&mut roles, view.at_path(path));
        }
        imply(&mut scopes, &issuer.scope_implications);
        imply(&mut roles, &issuer.role_implications);

        // Every check passed: only now does the caller's type see the payload, with plain
        // serde_json semantics (the payload was already checked for duplicate members).
        let claims: T = serde_json::from_str(text).map_err(|_| {
            err(
                ErrorKind::InvalidClaim,
                "the claims do not fit the requested type",
            )
        })?;
        let payload: Box<str> = Box::from(text);
        let span = |value: &str| Text::within(text, value);
        let (subject, jti) = (subject.map(span), jti.map(span));
        // A tenant of an any-tenant template: the concrete `iss`, which the tenant claim must
        // repeat (the template itself is no issuer).
        #[cfg(feature = "remote")]
        let concrete: Arc<str> = match &issuer.any_tenant {
            Some(any) => {
                let iss = iss_of(view);
                let tenant = any.tenant_of(iss).ok_or_else(|| {
                    err(ErrorKind::InvalidIssuer, "iss names no configured issuer")
                })?;
                let claimed = crate::json::value_at(payload.as_bytes(), &[&*any.claim]);
                if claimed.as_ref().and_then(serde_json::Value::as_str) != Some(tenant) {
                    return Err(err(
                        ErrorKind::InvalidIssuer,
                        "the tenant claim does not name the tenant of iss",
                    ));
                }
                iss.into()
            }
            None => Arc::clone(&issuer.iss),
        };
        #[cfg(not(feature = "remote"))]
        let concrete: Arc<str> = Arc::clone(&issuer.iss);
        Ok(Verified {
            claims: Arc::new(claims),
            meta: Arc::new(crate::claims::Meta {
                issuer: concrete,
                subject,
                scopes,
                roles,
                expires_at: exp,
                confirmation,
                jti,
                issued_at,
                payload,
                clock: Arc::clone(&self.clock),
                leeway: self.leeway,
            }),
            presented: crate::binding::Provenance::NONE,
        })
    }

    /// The claims of a request that presented an API key (`crate::apikey`): refused unless it
    /// is one of the configured keys; else the key's principal as subject, its scopes and
    /// roles, no expiry, and the caller's `T` read from the key's claims like a token's.
    pub(crate) fn api_key_claims<T: DeserializeOwned>(
        &self,
        presented: &str,
    ) -> Result<Verified<T>, Error> {
        let key = self
            .api_keys
            .as_ref()
            .and_then(|keys| keys.find(presented))
            .ok_or_else(|| err(ErrorKind::InvalidApiKey, "no configured API key matches"))?;
        let json = key.claims_json();
        let claims: T = serde_json::from_str(json).map_err(|_| {
            err(
                ErrorKind::InvalidClaim,
                "the claims do not fit the requested type",
            )
        })?;
        Ok(Verified {
            claims: Arc::new(claims),
            meta: Arc::new(crate::claims::Meta {
                issuer: Arc::from(crate::apikey::API_KEY_ISSUER),
                subject: Some(Text::Owned(key.principal().into())),
                scopes: key.granted_scopes().clone(),
                roles: key.granted_roles().clone(),
                expires_at: f64::INFINITY,
                confirmation: None,
                jti: None,
                issued_at: None,
                payload: Box::from(json),
                clock: Arc::clone(&self.clock),
                leeway: self.leeway,
            }),
            presented: crate::binding::Provenance::NONE,
        })
    }

    /// The final answer for a stop, without fetching.
    pub(crate) fn settle(&self, stop: Stop, issuer: usize) -> Error {
        match stop {
            Stop::Error(error) => error,
            Stop::Fetch { kid: Some(_) } => {
                err(ErrorKind::UnknownKey, "no key has the token's kid")
            }
            Stop::Fetch { kid: None } => {
                Error::keys_unavailable(self.issuers[issuer].keys.retry_after())
            }
        }
    }
}

/// Adds what the held names imply (hierarchies, already closed transitively).
fn imply(into: &mut Scopes, implications: &[(Box<str>, Vec<Box<str>>)]) {
    for (name, implied) in implications {
        if into.contains(name) {
            implied.iter().for_each(|i| into.push(i));
        }
    }
}

/// Adds a claim read as a list (a space-delimited string or an array of strings); any other
/// type adds nothing.
fn collect(into: &mut Scopes, value: Option<Loose<'_>>) {
    match value {
        Some(Loose::Str(text)) => into.extend_delimited(&text),
        Some(Loose::Strings(list)) => list.iter().for_each(|item| into.push(item)),
        _ => {}
    }
}

/// A time claim: absent, or a number in `[0, 9999-12-31]`.
fn time_claim(value: Option<&Loose<'_>>, name: &'static str) -> Result<Option<f64>, Error> {
    match value {
        None => Ok(None),
        Some(Loose::Num(n)) if (0.0..=MAX_TIME).contains(&n.as_f64()) => Ok(Some(n.as_f64())),
        Some(_) => Err(err(ErrorKind::InvalidClaim, name)),
    }
}

fn string_claim<'a>(
    value: Option<&'a Loose<'_>>,
    detail: &'static str,
) -> Result<Option<&'a str>, Error> {
    match value {
        None => Ok(None),
        Some(Loose::Str(s)) => Ok(Some(s)),
        Some(_) => Err(err(ErrorKind::InvalidClaim, detail)),
    }
}
