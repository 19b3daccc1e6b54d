//! Issuers: who may sign tokens, for which audiences, with which algorithms and keys.

use std::fmt;

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::error::{ConfigError, ConfigErrorKind};
use crate::key::{self, VerifyingKey};

/// Where an issuer's keys come from. Parsed when the verifier is built, so every mistake is a
/// [`ConfigError`] at startup.
///
/// `Debug` names the kind of source only, never its content.
#[derive(Clone)]
pub struct KeySource(Source);

#[derive(Clone)]
enum Source {
    Secret(Vec<u8>),
    Pem(Vec<u8>),
    Der(Vec<u8>),
    Jwk(String),
    JwksJson(String),
    Keys(Vec<VerifyingKey>),
    #[cfg(feature = "remote")]
    Discover,
    #[cfg(feature = "remote")]
    JwksUrl(String),
}

impl KeySource {
    /// This source for one tenant of a template: `placeholder` in a JWKS URL replaced by
    /// `tenant`; other sources are the same for every tenant.
    pub(crate) fn for_tenant(self, placeholder: &str, tenant: &str) -> KeySource {
        #[cfg(not(feature = "remote"))]
        let _ = (placeholder, tenant);
        match self.0 {
            #[cfg(feature = "remote")]
            Source::JwksUrl(url) => KeySource(Source::JwksUrl(url.replace(placeholder, tenant))),
            other => KeySource(other),
        }
    }

    /// An HMAC shared secret (HS256/384/512; see [`VerifyingKey::hmac`]).
    pub fn secret(secret: impl Into<Vec<u8>>) -> KeySource {
        KeySource(Source::Secret(secret.into()))
    }

    /// A PEM public key (see [`VerifyingKey::from_pem`]).
    pub fn pem(pem: impl Into<Vec<u8>>) -> KeySource {
        KeySource(Source::Pem(pem.into()))
    }

    /// A DER public key (see [`VerifyingKey::from_der`]).
    pub fn der(der: impl Into<Vec<u8>>) -> KeySource {
        KeySource(Source::Der(der.into()))
    }

    /// One JWK as JSON (see [`VerifyingKey::from_jwk`]).
    pub fn jwk(json: impl Into<String>) -> KeySource {
        KeySource(Source::Jwk(json.into()))
    }

    /// A JWKS document as JSON (`{"keys": [...]}`). Unusable keys in it are dropped one by one;
    /// `oct` keys are accepted because you supplied the document yourself.
    pub fn jwks_json(json: impl Into<String>) -> KeySource {
        KeySource(Source::JwksJson(json.into()))
    }

    /// Keys from the issuer's metadata: OIDC discovery
    /// (`{issuer}/.well-known/openid-configuration`), then RFC 8414
    /// (`/.well-known/oauth-authorization-server`). The document's `issuer` must equal the
    /// configured one; its `jwks_uri` must be HTTPS (or loopback). Needs a tokio runtime and
    /// the default feature `remote`.
    #[cfg(feature = "remote")]
    pub fn discover() -> KeySource {
        KeySource(Source::Discover)
    }

    /// Keys from a JWKS URL: HTTPS, or plain HTTP to a loopback host only. Cached for the
    /// response's `Cache-Control: max-age` (clamped to 1 min–24 h; default 10 min), refreshed
    /// ahead of expiry and on unknown `kid`s. Needs a tokio runtime and the default feature
    /// `remote`.
    #[cfg(feature = "remote")]
    pub fn jwks_url(url: impl Into<String>) -> KeySource {
        KeySource(Source::JwksUrl(url.into()))
    }

    /// Keys you built yourself.
    pub fn keys(keys: impl IntoIterator<Item = VerifyingKey>) -> KeySource {
        KeySource(Source::Keys(keys.into_iter().collect()))
    }

    pub(crate) fn load(self) -> Result<Vec<VerifyingKey>, ConfigError> {
        Ok(match self.0 {
            Source::Secret(secret) => vec![VerifyingKey::hmac(secret)?],
            Source::Pem(pem) => vec![VerifyingKey::from_pem(pem)?],
            Source::Der(der) => vec![VerifyingKey::from_der(der)?],
            Source::Jwk(json) => vec![VerifyingKey::from_jwk(&json)?],
            Source::JwksJson(json) => key::parse_jwks(json.as_bytes(), true)?.0,
            Source::Keys(keys) => keys,
            #[cfg(feature = "remote")]
            Source::Discover | Source::JwksUrl(_) => Vec::new(),
        })
    }

    /// For remote sources: the endpoint, checked against the URL policy.
    #[cfg(feature = "remote")]
    pub(crate) fn endpoint(
        &self,
        issuer: &str,
    ) -> Result<Option<crate::remote::Endpoint>, ConfigError> {
        let insecure =
            |detail: &'static str| ConfigError::new(ConfigErrorKind::InsecureUrl, detail);
        match &self.0 {
            Source::Discover => {
                crate::fetch::check_url(issuer).map_err(insecure)?;
                Ok(Some(crate::remote::Endpoint::Discover))
            }
            Source::JwksUrl(url) => Ok(Some(crate::remote::Endpoint::Jwks(
                crate::fetch::check_url(url).map_err(insecure)?,
            ))),
            _ => Ok(None),
        }
    }
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.0 {
            Source::Secret(_) => "secret",
            Source::Pem(_) => "pem",
            Source::Der(_) => "der",
            Source::Jwk(_) => "jwk",
            Source::JwksJson(_) => "jwks_json",
            Source::Keys(_) => "keys",
            #[cfg(feature = "remote")]
            Source::Discover => "discover",
            #[cfg(feature = "remote")]
            Source::JwksUrl(_) => "jwks_url",
        };
        f.debug_tuple("KeySource").field(&kind).finish()
    }
}

/// One trusted token issuer: its exact `iss`, accepted audiences, allowed algorithms and keys.
///
/// ```
/// use tokengate::{Algorithm, Issuer, KeySource};
/// let issuer = Issuer::new("https://auth.example.com/")
///     .audience("api://orders")
///     .algorithms([Algorithm::HS256])
///     .keys(KeySource::secret(vec![42u8; 32]));
/// # let _ = issuer;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Issuer {
    pub(crate) iss: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) skip_audience: bool,
    pub(crate) algorithms: Option<Vec<Algorithm>>,
    pub(crate) keys: Option<KeySource>,
    pub(crate) roles_paths: Vec<Vec<String>>,
    pub(crate) scope_claims: Vec<String>,
    pub(crate) scope_implications: Vec<(String, Vec<String>)>,
    pub(crate) role_implications: Vec<(String, Vec<String>)>,
    pub(crate) audience_claim: Option<String>,
    pub(crate) rfc9068: bool,
    pub(crate) require_dpop: bool,
    pub(crate) required_claims: Vec<String>,
    #[cfg(feature = "remote")]
    pub(crate) introspection: Option<crate::introspect::Introspection>,
    /// The tenants of an issuer template (`{tenantid}` in `iss`), or more `iss` spellings of
    /// one issuer (`also_issued_as`): each becomes an issuer of its own, with its own keys.
    pub(crate) expansion: Option<Expansion>,
}

/// How one configured issuer stands for several `iss` values.
#[derive(Clone, Debug)]
pub(crate) enum Expansion {
    /// `iss` holds one `{name}`; these are its allowed values.
    Tenants(Vec<String>),
    /// Other exact spellings of the same issuer (a custom domain).
    Aliases(Vec<String>),
    /// Any tenant whose `claim` equals the tenant in `iss` (an explicit opt-in), at most
    /// `max_tenants` key sets kept.
    AnyTenant { claim: String, max_tenants: u64 },
}

/// A tenant id as it may appear inside an issuer URL: letters, digits, `-`, `_`, `.`, `~`.
pub(crate) fn valid_tenant(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= 128
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
}

/// `pattern`'s one `{name}` placeholder: its byte range.
pub(crate) fn placeholder(pattern: &str) -> Option<(usize, usize)> {
    let start = pattern.find('{')?;
    let end = start + pattern[start..].find('}')? + 1;
    let name = &pattern[start + 1..end - 1];
    let unique = !pattern[end..].contains('{') && !pattern[..start].contains('}');
    (unique && !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then_some((start, end))
}

impl Issuer {
    /// The concrete issuers this one stands for: itself, each tenant of a template (with `iss`
    /// and a templated JWKS URL filled in), or itself and its aliases. An allow-list is the
    /// only way a template is accepted: a token naming a tenant not listed matches no issuer,
    /// and nothing is fetched for it.
    pub(crate) fn expand(self) -> Result<Vec<Issuer>, crate::error::ConfigError> {
        use crate::error::{ConfigError, ConfigErrorKind};
        let invalid = |detail| ConfigError::new(ConfigErrorKind::InvalidSetting, detail);
        let mut base = self;
        match base.expansion.take() {
            None => {
                if placeholder(&base.iss).is_some() {
                    return Err(invalid(
                        "an iss with a {placeholder} is a template: use Issuer::template and tenants",
                    ));
                }
                Ok(vec![base])
            }
            Some(Expansion::AnyTenant { claim, max_tenants }) => {
                if placeholder(&base.iss).is_none() {
                    return Err(invalid(
                        "an issuer template holds exactly one {name} placeholder",
                    ));
                }
                if claim.is_empty() || max_tenants == 0 {
                    return Err(invalid("any_tenant_matching_claim needs a claim name"));
                }
                #[cfg(feature = "remote")]
                if base.introspection.is_some() {
                    return Err(invalid("an any-tenant template cannot introspect"));
                }
                base.expansion = Some(Expansion::AnyTenant { claim, max_tenants });
                Ok(vec![base])
            }
            Some(Expansion::Aliases(aliases)) => {
                let mut all = vec![base.clone()];
                for alias in aliases {
                    let mut issuer = base.clone();
                    issuer.iss = alias;
                    all.push(issuer);
                }
                Ok(all)
            }
            Some(Expansion::Tenants(tenants)) => {
                let (start, end) = placeholder(&base.iss).ok_or_else(|| {
                    invalid("an issuer template holds exactly one {name} placeholder")
                })?;
                if tenants.is_empty() {
                    return Err(invalid("an issuer template needs its allowed tenants"));
                }
                let pattern = base.iss.clone();
                let name = &pattern[start..end];
                tenants
                    .iter()
                    .map(|tenant| {
                        if !valid_tenant(tenant) {
                            return Err(invalid(
                                "a tenant is letters, digits, '-', '_', '.' or '~' (at most 128)",
                            ));
                        }
                        let mut issuer = base.clone();
                        issuer.iss = pattern.replace(name, tenant);
                        issuer.keys = issuer.keys.map(|keys| keys.for_tenant(name, tenant));
                        Ok(issuer)
                    })
                    .collect()
            }
        }
    }

    /// An issuer template for a multi-tenant provider: `iss` with one placeholder, e.g.
    /// `https://login.microsoftonline.com/{tenantid}/v2.0`, accepted only for the tenants named
    /// with [`tenants`](Issuer::tenants). Each tenant is an issuer of its own: its own `iss`,
    /// its own discovery and keys (a `{tenantid}` in a JWKS URL is filled in too), so a key
    /// fetched for one tenant never verifies a token claiming another, and a token naming a
    /// tenant not listed is refused without any fetch (`docs/security.md`, "Issuer templates").
    pub fn template(pattern: impl Into<String>) -> Issuer {
        let mut issuer = Issuer::new(pattern);
        issuer.expansion = Some(Expansion::Tenants(Vec::new()));
        issuer
    }

    /// The allowed tenants of a [`template`](Issuer::template) (call again for more).
    pub fn tenants<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tenants: I) -> Issuer {
        let more = tenants.into_iter().map(Into::into);
        match &mut self.expansion {
            Some(Expansion::Tenants(list)) => list.extend(more),
            _ => self.expansion = Some(Expansion::Tenants(more.collect())),
        }
        self
    }

    /// **Opt-in**: accept *any* tenant of this [`template`](Issuer::template) whose token
    /// carries the tenant of its `iss` in `claim` too (Entra ID: `tid`) — instead of an
    /// allow-list. Each tenant gets keys of its own, fetched for its concrete issuer (remote
    /// keys only), and the state stays bounded: at most 100 tenants' keys are kept, and at most
    /// 10 tenants never seen before are fetched per minute (more new ones are answered 503 until
    /// the minute passes; known tenants are unaffected). Prefer [`tenants`](Issuer::tenants)
    /// when you know your customers.
    pub fn any_tenant_matching_claim(mut self, claim: impl Into<String>) -> Issuer {
        self.expansion = Some(Expansion::AnyTenant {
            claim: claim.into(),
            max_tenants: 100,
        });
        self
    }

    /// Other exact `iss` values of this same issuer (an Auth0 tenant behind a custom domain
    /// issues with each of its URLs). Each is an issuer of its own, with its own discovery and
    /// keys; everything else is shared.
    pub fn also_issued_as<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        aliases: I,
    ) -> Issuer {
        let more = aliases.into_iter().map(Into::into);
        match &mut self.expansion {
            Some(Expansion::Aliases(list)) => list.extend(more),
            _ => self.expansion = Some(Expansion::Aliases(more.collect())),
        }
        self
    }

    /// An issuer whose tokens carry exactly this `iss`.
    pub fn new(iss: impl Into<String>) -> Issuer {
        Issuer {
            expansion: None,
            iss: iss.into(),
            audiences: Vec::new(),
            skip_audience: false,
            algorithms: None,
            keys: None,
            roles_paths: vec![vec!["roles".to_owned()]],
            scope_claims: Vec::new(),
            scope_implications: Vec::new(),
            role_implications: Vec::new(),
            audience_claim: None,
            rfc9068: false,
            require_dpop: false,
            required_claims: Vec::new(),
            #[cfg(feature = "remote")]
            introspection: None,
        }
    }

    /// Accept tokens whose `aud` names `audience` (exact match; call again for more).
    pub fn audience(mut self, audience: impl Into<String>) -> Issuer {
        self.audiences.push(audience.into());
        self
    }

    /// Accept tokens whose `aud` names any of these audiences.
    pub fn audiences<I: IntoIterator<Item = S>, S: Into<String>>(mut self, audiences: I) -> Issuer {
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self
    }

    /// **Insecure**: accept any `aud`, or none. A token minted for another service of the same
    /// issuer is then accepted here. Only for issuers that mint tokens for this service alone.
    pub fn insecure_skip_audience_check(mut self) -> Issuer {
        self.skip_audience = true;
        self
    }

    /// The algorithms this issuer may use. Default: every asymmetric algorithm
    /// ([`Algorithm::ASYMMETRIC`]); HMAC must be named explicitly and cannot be mixed with
    /// asymmetric algorithms.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Issuer {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Where the issuer's keys come from.
    pub fn keys(mut self, source: KeySource) -> Issuer {
        self.keys = Some(source);
        self
    }

    /// Where roles are read from: a path of member names, e.g. `["realm_access", "roles"]`
    /// (Keycloak) or `["https://example.com/roles"]` (a namespaced Auth0 claim). The value may
    /// be an array of strings or a space-delimited string. Default: `["roles"]`.
    pub fn roles_claim<I: IntoIterator<Item = S>, S: Into<String>>(mut self, path: I) -> Issuer {
        self.roles_paths = vec![path.into_iter().map(Into::into).collect()];
        self
    }

    /// Also read roles from this path (e.g. Keycloak client roles
    /// `["resource_access", "my-client", "roles"]` next to realm roles).
    pub fn add_roles_claim<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        path: I,
    ) -> Issuer {
        self.roles_paths
            .push(path.into_iter().map(Into::into).collect());
        self
    }

    /// A scope hierarchy: a token with `scope` also has `implied` (and what they imply in
    /// turn), e.g. `files` implies `files:read` and `files:write`. Opt-in: without it, scopes
    /// match exactly.
    pub fn scope_implies<I, S>(mut self, scope: impl Into<String>, implied: I) -> Issuer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scope_implications
            .push((scope.into(), implied.into_iter().map(Into::into).collect()));
        self
    }

    /// A role hierarchy: a token with `role` also has `implied` (and what they imply in turn),
    /// e.g. `admin` implies `editor`. Opt-in: without it, roles match exactly.
    pub fn role_implies<I, S>(mut self, role: impl Into<String>, implied: I) -> Issuer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.role_implications
            .push((role.into(), implied.into_iter().map(Into::into).collect()));
        self
    }

    /// Also read scopes from this top-level claim (a space-delimited string or an array), next
    /// to `scope` and `scp` — e.g. Auth0's `permissions`.
    pub fn scopes_claim(mut self, name: impl Into<String>) -> Issuer {
        self.scope_claims.push(name.into());
        self
    }

    /// Check the audiences against this claim instead of `aud` — e.g. `client_id` for Amazon
    /// Cognito access tokens, which carry no `aud`. The claim must be present and match.
    pub fn audience_claim(mut self, name: impl Into<String>) -> Issuer {
        let name = name.into();
        self.audience_claim = (name != "aud").then_some(name);
        self
    }

    /// RFC 9068 access-token profile for this issuer's **JWTs**: `typ` must be `at+jwt` (or
    /// `application/at+jwt`) and `iss exp aud sub client_id iat jti` must all be present.
    /// Introspection answers for opaque tokens follow RFC 7662 instead (every member but
    /// `active` optional; a client-credentials answer carries no `sub`): the profile does not
    /// apply to them, while [`require_claims`](Issuer::require_claims) applies to both.
    pub fn rfc9068(mut self) -> Issuer {
        self.rfc9068 = true;
        self
    }

    /// Every token of this issuer must be DPoP-bound (`cnf.jkt`) and come with a valid DPoP
    /// proof: its bearer tokens are refused (`dpop_required`, 401). The verifier must accept
    /// DPoP (the default).
    pub fn require_dpop(mut self) -> Issuer {
        self.require_dpop = true;
        self
    }

    /// Check this issuer's opaque tokens (and, with
    /// [`introspect_jwts`](crate::introspection::Introspection::introspect_jwts), its signed ones) at its RFC
    /// 7662 introspection endpoint. Opaque tokens — anything that is not a compact JWS from a
    /// configured issuer — go to the one issuer with introspection. With introspection, a key
    /// source is optional: without one, every token of the issuer is introspected.
    #[cfg(feature = "remote")]
    pub fn introspection(mut self, introspection: crate::introspect::Introspection) -> Issuer {
        self.introspection = Some(introspection);
        self
    }

    /// Claims that must be present (by top-level name) in every token of this issuer.
    pub fn require_claims<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        names: I,
    ) -> Issuer {
        self.required_claims
            .extend(names.into_iter().map(Into::into));
        self
    }

    pub(crate) fn allowed_algorithms(&self) -> Result<AlgorithmSet, ConfigError> {
        let set: AlgorithmSet = match &self.algorithms {
            Some(list) => list.iter().copied().collect(),
            None => Algorithm::ASYMMETRIC.into_iter().collect(),
        };
        if set.is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::NoAlgorithm,
                "an issuer needs at least one algorithm",
            ));
        }
        let symmetric = set.iter().filter(|a| a.is_symmetric()).count();
        if symmetric != 0 && symmetric != set.iter().count() {
            return Err(ConfigError::new(
                ConfigErrorKind::MixedAlgorithmFamilies,
                "an issuer's algorithms cannot mix HMAC with asymmetric algorithms",
            ));
        }
        Ok(set)
    }
}
