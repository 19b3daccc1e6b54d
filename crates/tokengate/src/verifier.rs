//! The [`Verifier`]: one configured, shareable checker of access tokens.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::de::DeserializeOwned;

use crate::algorithm::AlgorithmSet;
use crate::challenge::{self, Realm, Rejection};
use crate::claims::{Scopes, Verified};
use crate::clock::{Clock, SystemClock};
use crate::error::{ConfigError, ConfigErrorKind, Error, ErrorKind};
use crate::extract::{BearerToken, TokenSources};
use crate::issuer::Issuer;
use crate::json::{self, Loose, Want};
use crate::jws;
use crate::key::KeySet;

/// The default leeway for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// The largest leeway a verifier accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// The default cap on a token's length, checked before any decoding.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Times beyond 9999-12-31 are refused as impossible.
const MAX_TIME: f64 = 253_402_300_799.0;
const RFC9068_CLAIMS: [&str; 7] = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"];

/// Verifies access tokens. Cheap to clone (shared inside), `Send + Sync`.
///
/// `Debug` shows issuers and settings, never keys.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuers: Vec<IssuerState>,
    /// Top-level claim names any issuer needs beyond the registered ones, and how.
    wanted: Vec<(Box<str>, Want)>,
    leeway: u64,
    clock: Arc<dyn Clock>,
    realm: Realm,
    max_token_bytes: usize,
    sources: TokenSources,
}

struct IssuerState {
    iss: Arc<str>,
    audiences: Vec<Box<str>>,
    check_audience: bool,
    algorithms: AlgorithmSet,
    keys: ArcSwap<KeySet>,
    roles_path: Vec<String>,
    rfc9068: bool,
    required: Vec<Box<str>>,
}

/// Builds a [`Verifier`]; every setup mistake surfaces from [`build`](VerifierBuilder::build).
#[must_use]
pub struct VerifierBuilder {
    issuers: Vec<Issuer>,
    leeway: Duration,
    clock: Arc<dyn Clock>,
    realm: Option<String>,
    max_token_bytes: usize,
    sources: TokenSources,
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("issuers", &self.issuers)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

impl VerifierBuilder {
    /// Trust one more issuer. A token's `iss` picks its issuer before any key is looked up,
    /// and each issuer's keys verify only that issuer's tokens.
    pub fn issuer(mut self, issuer: Issuer) -> VerifierBuilder {
        self.issuers.push(issuer);
        self
    }

    /// Clock skew tolerated for `exp`, `nbf` and `iat`. Default 60 s, at most 300 s.
    pub fn leeway(mut self, leeway: Duration) -> VerifierBuilder {
        self.leeway = leeway;
        self
    }

    /// The clock to judge time by (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> VerifierBuilder {
        self.clock = Arc::new(clock);
        self
    }

    /// The `realm` of challenges. Default `"api"`.
    pub fn realm(mut self, realm: impl Into<String>) -> VerifierBuilder {
        self.realm = Some(realm.into());
        self
    }

    /// The largest token accepted, in bytes, checked before decoding. Default 16 KiB.
    pub fn max_token_bytes(mut self, max: usize) -> VerifierBuilder {
        self.max_token_bytes = max;
        self
    }

    /// Where adapters look for the token. Default: `Authorization: Bearer` only.
    pub fn token_sources(mut self, sources: TokenSources) -> VerifierBuilder {
        self.sources = sources;
        self
    }

    /// Checks the configuration and loads every static key.
    ///
    /// # Errors
    /// A [`ConfigError`] for: no issuer, a duplicate or empty `iss`, an issuer without audience
    /// or keys, an empty or mixed algorithm allowlist, a bad or weak key, keys that fit none of
    /// the allowed algorithms, leeway over 300 s, an invalid realm or size cap.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        if self.issuers.is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::NoIssuer,
                "a verifier needs at least one issuer",
            ));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::new(
                ConfigErrorKind::LeewayTooLarge,
                "the leeway may be at most 300 seconds",
            ));
        }
        if self.max_token_bytes < 64 {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "max_token_bytes must be at least 64",
            ));
        }
        let realm = match self.realm {
            Some(realm) => Realm::new(realm)?,
            None => Realm::default(),
        };
        let mut issuers: Vec<IssuerState> = Vec::with_capacity(self.issuers.len());
        let mut wanted: Vec<(Box<str>, Want)> = Vec::new();
        for issuer in self.issuers {
            let state = IssuerState::load(issuer)?;
            if issuers.iter().any(|i| i.iss == state.iss) {
                return Err(ConfigError::new(
                    ConfigErrorKind::DuplicateIssuer,
                    "two issuers share one iss",
                ));
            }
            let roles = state.roles_path.first().map(|head| {
                (
                    head.as_str(),
                    if state.roles_path.len() == 1 {
                        Want::Value
                    } else {
                        Want::Raw
                    },
                )
            });
            let required = state.required.iter().map(|r| (&**r, Want::Presence));
            for (name, want) in roles.into_iter().chain(required) {
                match wanted.iter_mut().find(|(w, _)| &**w == name) {
                    Some((_, existing)) => *existing = (*existing).max(want),
                    None => wanted.push((name.into(), want)),
                }
            }
            issuers.push(state);
        }
        Ok(Verifier {
            inner: Arc::new(Inner {
                issuers,
                wanted,
                leeway: self.leeway.as_secs(),
                clock: self.clock,
                realm,
                max_token_bytes: self.max_token_bytes,
                sources: self.sources,
            }),
        })
    }
}

impl IssuerState {
    fn load(issuer: Issuer) -> Result<IssuerState, ConfigError> {
        if issuer.iss.is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "an issuer's iss cannot be empty",
            ));
        }
        if issuer.audiences.is_empty() && !issuer.skip_audience {
            return Err(ConfigError::new(
                ConfigErrorKind::NoAudience,
                "an issuer needs at least one audience (or insecure_skip_audience_check)",
            ));
        }
        let algorithms = issuer.allowed_algorithms()?;
        let source = issuer.keys.clone().ok_or_else(|| {
            ConfigError::new(ConfigErrorKind::NoKeys, "an issuer needs a key source")
        })?;
        let keys: Vec<_> = source
            .load()?
            .into_iter()
            .filter_map(|k| k.restricted_to(algorithms))
            .collect();
        if keys.is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::NoKeys,
                "none of the issuer's keys fits its allowed algorithms",
            ));
        }
        let mut required: Vec<Box<str>> = issuer
            .required_claims
            .iter()
            .map(|c| c.as_str().into())
            .collect();
        if issuer.rfc9068 {
            required.extend(RFC9068_CLAIMS.iter().map(|c| Box::from(*c)));
        }
        Ok(IssuerState {
            iss: issuer.iss.as_str().into(),
            audiences: issuer.audiences.iter().map(|a| a.as_str().into()).collect(),
            check_audience: !issuer.skip_audience,
            algorithms,
            keys: ArcSwap::from_pointee(KeySet::new(keys)),
            roles_path: issuer.roles_path,
            rfc9068: issuer.rfc9068,
            required,
        })
    }
}

impl Verifier {
    /// Starts a configuration.
    ///
    /// ```
    /// use tokengate::{Algorithm, Issuer, KeySource, Verifier};
    /// let verifier = Verifier::builder()
    ///     .issuer(Issuer::new("https://auth.example.com/")
    ///         .audience("api://orders")
    ///         .algorithms([Algorithm::HS256])
    ///         .keys(KeySource::secret(vec![42u8; 32])))
    ///     .build()
    ///     .unwrap();
    /// # let _ = verifier;
    /// ```
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder {
            issuers: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            clock: Arc::new(SystemClock),
            realm: None,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            sources: TokenSources::default(),
        }
    }

    /// Verifies `token` and deserializes its claims into `T`.
    ///
    /// Async because a remote key set may need fetching; with keys already loaded it does no
    /// I/O and completes on first poll.
    ///
    /// # Errors
    /// An [`Error`] whose [`kind`](Error::kind) says what failed; render it with
    /// [`rejection`](Verifier::rejection).
    pub async fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<Verified<T>, Error> {
        self.verify_with_loaded_keys(token)
    }

    /// Verifies `token` against the keys already loaded, without waiting on any I/O.
    ///
    /// # Errors
    /// As [`verify`](Verifier::verify).
    pub fn verify_with_loaded_keys<T: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<Verified<T>, Error> {
        let result = self.inner.verify(token);
        if let Err(error) = &result {
            tracing::debug!(
                target: "tokengate::verify",
                code = error.code(),
                detail = error.detail(),
                "token rejected"
            );
        }
        result
    }

    /// Finds the request's token in the configured [`TokenSources`].
    ///
    /// # Errors
    /// As [`TokenSources::extract`].
    pub fn extract<'a>(
        &self,
        headers: &'a http::HeaderMap,
        query: Option<&'a str>,
    ) -> Result<Option<BearerToken<'a>>, Error> {
        self.inner.sources.extract(headers, query)
    }

    /// The RFC 6750 answer to `error`, with this verifier's realm.
    #[must_use]
    pub fn rejection(&self, error: &Error) -> Rejection {
        challenge::render(error, &self.inner.realm)
    }

    /// The configured realm.
    #[must_use]
    pub fn realm(&self) -> &Realm {
        &self.inner.realm
    }

    /// The configured leeway.
    #[must_use]
    pub fn leeway(&self) -> Duration {
        Duration::from_secs(self.inner.leeway)
    }

    /// The `iss` values of the configured issuers.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.inner.issuers.iter().map(|i| &*i.iss)
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let issuers: Vec<_> = self
            .inner
            .issuers
            .iter()
            .map(|i| (&*i.iss, i.algorithms, i.keys.load().len()))
            .collect();
        f.debug_struct("Verifier")
            .field("issuers(iss, algorithms, key count)", &issuers)
            .field("leeway_secs", &self.inner.leeway)
            .field("realm", &self.inner.realm)
            .field("max_token_bytes", &self.inner.max_token_bytes)
            .finish_non_exhaustive()
    }
}

fn err(kind: ErrorKind, detail: &'static str) -> Error {
    Error::new(kind, detail)
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

impl Inner {
    fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<Verified<T>, Error> {
        if token.len() > self.max_token_bytes {
            return Err(err(
                ErrorKind::TokenTooLarge,
                "the token is larger than the cap",
            ));
        }
        let segments = jws::split(token)?;
        let mut buf = Vec::with_capacity(token.len());
        jws::decode_into(segments.header, &mut buf)?;
        let header_end = buf.len();
        jws::decode_into(segments.payload, &mut buf)?;
        let payload_end = buf.len();
        jws::decode_into(segments.signature, &mut buf)?;
        let (header, rest) = buf.split_at(header_end);
        let (payload, signature) = rest.split_at(payload_end - header_end);

        let header = jws::parse_header(header)?;
        // One pass over the payload reads the registered claims and the caller's `T` together.
        // Only if that fails does a second, structure-only pass tell a malformed payload from
        // claims that do not fit `T` (reported after the signature check, never before).
        let (view, claims) = match json::parse_payload::<T>(payload, &self.wanted) {
            Ok((view, claims)) => (view, Some(claims)),
            Err(_) => {
                let view = json::parse_view(payload, &self.wanted).map_err(|_| {
                    err(
                        ErrorKind::MalformedToken,
                        "the payload is not a JSON object without duplicate members",
                    )
                })?;
                (view, None)
            }
        };

        // Route by the unverified `iss` to an allowlisted issuer, before any key lookup.
        let issuer = match &view.iss {
            Some(Loose::Str(iss)) => self
                .issuers
                .iter()
                .find(|i| *i.iss == **iss)
                .ok_or_else(|| err(ErrorKind::InvalidIssuer, "iss names no configured issuer"))?,
            Some(_) => return Err(err(ErrorKind::InvalidClaim, "iss is not a string")),
            None => return Err(err(ErrorKind::MissingClaim, "iss is missing")),
        };
        if !issuer.algorithms.contains(header.alg) {
            return Err(err(
                ErrorKind::DisallowedAlgorithm,
                "alg is not allowed for the issuer",
            ));
        }
        let keys = issuer.keys.load();
        let key = keys.select(header.kid.as_deref(), header.alg)?;
        if signature.is_empty() {
            return Err(err(ErrorKind::InvalidSignature, "the signature is empty"));
        }
        key.verify(header.alg, segments.signing_input.as_bytes(), signature)?;

        // The signature holds: now the claims.
        if !jws::typ_allowed(header.typ.as_deref(), issuer.rfc9068) {
            return Err(err(
                ErrorKind::InvalidType,
                "typ is not an accepted access-token type",
            ));
        }
        let now = self.clock.now_unix() as f64;
        let leeway = self.leeway as f64;
        let exp = time_claim(view.exp.as_ref(), "exp is not a valid time")?
            .ok_or_else(|| err(ErrorKind::MissingClaim, "exp is missing"))?;
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
            let matches = |aud: &str| issuer.audiences.iter().any(|a| **a == *aud);
            let ok = match &view.aud {
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
        if issuer.required.iter().any(|name| !view.has(name)) {
            return Err(err(ErrorKind::MissingClaim, "a required claim is missing"));
        }
        let subject = string_claim(view.sub.as_ref(), "sub is not a string")?.map(str::to_owned);
        string_claim(view.client_id.as_ref(), "client_id is not a string")?;
        string_claim(view.jti.as_ref(), "jti is not a string")?;

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
        let mut roles = Scopes::default();
        match view.at_path(&issuer.roles_path) {
            Some(Loose::Str(text)) => roles.extend_delimited(&text),
            Some(Loose::Strings(list)) => list.iter().for_each(|r| roles.push(r)),
            _ => {}
        }

        let claims = claims.ok_or_else(|| {
            err(
                ErrorKind::InvalidClaim,
                "the claims do not fit the requested type",
            )
        })?;
        Ok(Verified {
            claims,
            issuer: issuer.iss.clone(),
            subject,
            scopes,
            roles,
            expires_at: exp,
        })
    }
}
