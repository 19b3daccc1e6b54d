// Over 600 lines: every error kind with its status, code and challenge in one table, so a new kind cannot miss one.
//! Errors: [`Error`] for rejected requests and tokens, [`ConfigError`] for setup mistakes.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

/// What went wrong with a request or its token.
///
/// Every kind has a stable snake_case [`code`](ErrorKind::code) for logs and metrics and maps to
/// exactly one HTTP answer (see [`Answer`](crate::Answer)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request carries no credentials (401, challenge without an error code).
    MissingCredentials,
    /// The request carries more than one credential (400 `invalid_request`).
    MultipleCredentials,
    /// The `Authorization` header (or another token source) is malformed (400 `invalid_request`).
    MalformedRequest,
    /// The token is larger than the configured cap.
    TokenTooLarge,
    /// The token is not a well-formed compact JWS with JSON object header and payload.
    MalformedToken,
    /// The token uses a JOSE feature tokengate refuses: JWE, JSON serialization, `crit`, `b64`.
    UnsupportedToken,
    /// The `alg` is missing, `none`, unknown, not allowlisted, or not allowed for the key.
    DisallowedAlgorithm,
    /// No key of the issuer matches the token's `kid` (or, without `kid`, no single key fits).
    UnknownKey,
    /// The signature does not verify.
    InvalidSignature,
    /// The `iss` claim names no configured issuer.
    InvalidIssuer,
    /// The `aud` claim names none of the configured audiences.
    InvalidAudience,
    /// The token expired (`exp` plus leeway is in the past).
    Expired,
    /// The token is not valid yet (`nbf` minus leeway is in the future).
    NotYetValid,
    /// The token claims to be issued in the future (`iat` minus leeway).
    IssuedInFuture,
    /// A required claim is absent.
    MissingClaim,
    /// A claim has the wrong JSON type or an impossible value, or the claims do not fit the
    /// requested type.
    InvalidClaim,
    /// The `typ` header is outside the accepted set.
    InvalidType,
    /// The token is sender-constrained (`cnf`: DPoP key or mTLS certificate) but was presented
    /// as a plain bearer token (401 `invalid_token`).
    BoundToken,
    /// The token is bound (`cnf`) to a key or certificate other than the request's: the DPoP
    /// proof's key, or the client certificate, does not match — or a token without `cnf` came
    /// with the `DPoP` scheme (401 `invalid_token`).
    BindingMismatch,
    /// DPoP is required (for the token's issuer, or the route) and the token is not DPoP-bound
    /// (401 `invalid_token` with the `DPoP` challenge).
    DpopRequired,
    /// The DPoP proof is missing, malformed, signed wrongly, for another method or URL, stale,
    /// replayed, or not for this token (401 `DPoP error="invalid_dpop_proof"`).
    InvalidDpopProof,
    /// The DPoP proof lacks the server's current nonce (401 `DPoP error="use_dpop_nonce"` with
    /// a `DPoP-Nonce` header holding the nonce to use).
    UseDpopNonce,
    /// The store that remembers used DPoP proofs could not answer (503 with `Retry-After`):
    /// without it a replay cannot be ruled out, so nothing is admitted.
    ReplayStoreUnavailable,
    /// The token was revoked: its `jti`, or its subject cut off after it was issued (401
    /// `invalid_token`).
    Revoked,
    /// The revocation list could not answer (503 with `Retry-After`): a revoked token cannot
    /// be ruled out, so nothing is admitted.
    RevocationUnavailable,
    /// The route needs a different or more recent authentication (RFC 9470): 401
    /// `insufficient_user_authentication` with `acr_values` and/or `max_age`.
    InsufficientUserAuthentication,
    /// A claim rule of the route is not met, or a custom check forbade the request (403, no
    /// error code: another token of the same client would not help).
    Forbidden,
    /// A custom check refused the token (401 `invalid_token`).
    CheckRefused,
    /// A custom check could not decide: it answered unavailable, timed out or panicked (503
    /// with `Retry-After`, never admitted).
    CheckUnavailable,
    /// The token lacks a required scope (403 `insufficient_scope` with `scope`).
    InsufficientScope,
    /// The token lacks a required role (403 `insufficient_scope`, no `scope` parameter).
    InsufficientRole,
    /// No usable key could be had for the issuer (503 with `Retry-After`).
    KeysUnavailable,
    /// The introspection endpoint says the opaque token is not active (401 `invalid_token`).
    InactiveToken,
    /// The introspection endpoint could not answer (down, slow, an error, invalid JSON, too
    /// many calls in flight): 503 with `Retry-After`, never admitted.
    IntrospectionUnavailable,
    /// An encrypted token (JWE) could not be decrypted: no configured key opens it, or its
    /// key, tag or padding is wrong (401 `invalid_token`; which step failed is never said).
    UndecryptableToken,
    /// The API key presented is not one of the configured keys (401 `invalid_token`, in the
    /// `ApiKey` challenge).
    InvalidApiKey,
    /// A route expects verification but no verifier is configured: a wiring bug (500).
    VerifierNotConfigured,
}

impl ErrorKind {
    /// How many kinds there are (`VerifierNotConfigured` stays last): metric slots are indexed
    /// by `kind as usize`.
    #[cfg(feature = "metrics")]
    pub(crate) const COUNT: usize = ErrorKind::VerifierNotConfigured as usize + 1;
}

impl ErrorKind {
    /// The stable snake_case code, e.g. `"expired"`.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::MissingCredentials => "missing_credentials",
            ErrorKind::MultipleCredentials => "multiple_credentials",
            ErrorKind::MalformedRequest => "malformed_request",
            ErrorKind::TokenTooLarge => "token_too_large",
            ErrorKind::MalformedToken => "malformed_token",
            ErrorKind::UnsupportedToken => "unsupported_token",
            ErrorKind::DisallowedAlgorithm => "disallowed_algorithm",
            ErrorKind::UnknownKey => "unknown_key",
            ErrorKind::InvalidSignature => "invalid_signature",
            ErrorKind::InvalidIssuer => "invalid_issuer",
            ErrorKind::InvalidAudience => "invalid_audience",
            ErrorKind::Expired => "expired",
            ErrorKind::NotYetValid => "not_yet_valid",
            ErrorKind::IssuedInFuture => "issued_in_future",
            ErrorKind::MissingClaim => "missing_claim",
            ErrorKind::InvalidClaim => "invalid_claim",
            ErrorKind::InvalidType => "invalid_type",
            ErrorKind::BoundToken => "bound_token",
            ErrorKind::BindingMismatch => "binding_mismatch",
            ErrorKind::DpopRequired => "dpop_required",
            ErrorKind::InvalidDpopProof => "invalid_dpop_proof",
            ErrorKind::UseDpopNonce => "use_dpop_nonce",
            ErrorKind::ReplayStoreUnavailable => "replay_store_unavailable",
            ErrorKind::Revoked => "revoked",
            ErrorKind::RevocationUnavailable => "revocation_unavailable",
            ErrorKind::InsufficientUserAuthentication => "insufficient_user_authentication",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::CheckRefused => "check_refused",
            ErrorKind::CheckUnavailable => "check_unavailable",
            ErrorKind::InsufficientScope => "insufficient_scope",
            ErrorKind::InsufficientRole => "insufficient_role",
            ErrorKind::KeysUnavailable => "keys_unavailable",
            ErrorKind::InactiveToken => "inactive_token",
            ErrorKind::IntrospectionUnavailable => "introspection_unavailable",
            ErrorKind::UndecryptableToken => "undecryptable_token",
            ErrorKind::InvalidApiKey => "invalid_api_key",
            ErrorKind::VerifierNotConfigured => "verifier_not_configured",
        }
    }

    /// The HTTP status this kind answers with.
    #[must_use]
    pub const fn status(self) -> StatusCode {
        match self {
            ErrorKind::MissingCredentials => StatusCode::UNAUTHORIZED,
            ErrorKind::MultipleCredentials | ErrorKind::MalformedRequest => StatusCode::BAD_REQUEST,
            ErrorKind::InsufficientScope | ErrorKind::InsufficientRole | ErrorKind::Forbidden => {
                StatusCode::FORBIDDEN
            }
            ErrorKind::KeysUnavailable
            | ErrorKind::IntrospectionUnavailable
            | ErrorKind::ReplayStoreUnavailable
            | ErrorKind::RevocationUnavailable
            | ErrorKind::CheckUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::VerifierNotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 `error` code of the challenge, if the answer carries one.
    #[must_use]
    pub const fn rfc6750_error(self) -> Option<&'static str> {
        match self {
            ErrorKind::MissingCredentials
            | ErrorKind::KeysUnavailable
            | ErrorKind::IntrospectionUnavailable
            | ErrorKind::ReplayStoreUnavailable
            | ErrorKind::RevocationUnavailable
            | ErrorKind::CheckUnavailable
            | ErrorKind::Forbidden
            | ErrorKind::VerifierNotConfigured => None,
            ErrorKind::InsufficientUserAuthentication => Some("insufficient_user_authentication"),
            ErrorKind::InvalidDpopProof => Some("invalid_dpop_proof"),
            ErrorKind::UseDpopNonce => Some("use_dpop_nonce"),
            ErrorKind::MultipleCredentials | ErrorKind::MalformedRequest => Some("invalid_request"),
            ErrorKind::InsufficientScope | ErrorKind::InsufficientRole => {
                Some("insufficient_scope")
            }
            _ => Some("invalid_token"),
        }
    }

    /// A generic description, safe to show a client: it names no token content.
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            ErrorKind::MissingCredentials => "no bearer token in the request",
            ErrorKind::MultipleCredentials => "the request carries more than one credential",
            ErrorKind::MalformedRequest => "the credentials in the request are malformed",
            ErrorKind::Expired => "the access token expired",
            ErrorKind::InsufficientScope => "the access token lacks the required scope",
            ErrorKind::InsufficientRole => "the access token lacks the required role",
            ErrorKind::KeysUnavailable => "the keys to verify the token are unavailable",
            ErrorKind::IntrospectionUnavailable => "the token could not be checked right now",
            ErrorKind::VerifierNotConfigured => "token verification is not configured",
            ErrorKind::InvalidApiKey => "the API key is invalid",
            ErrorKind::InvalidDpopProof => "the DPoP proof is invalid",
            ErrorKind::UseDpopNonce => "the DPoP proof must carry the server's nonce",
            ErrorKind::BindingMismatch => "the access token is not bound to this client",
            ErrorKind::DpopRequired => "the access token must be DPoP-bound",
            ErrorKind::ReplayStoreUnavailable => "the DPoP proof could not be checked right now",
            ErrorKind::RevocationUnavailable => "the token could not be checked right now",
            ErrorKind::InsufficientUserAuthentication => {
                "a different or more recent authentication is required"
            }
            ErrorKind::Forbidden => "the access token does not allow this request",
            ErrorKind::CheckUnavailable => "the request could not be checked right now",
            _ => "the access token is invalid",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A rejected request or token.
///
/// Opaque: match on [`kind()`](Error::kind), never on the message. Messages are fixed strings
/// chosen by tokengate; they never contain the token, its claims or its key id.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    detail: &'static str,
    required_scope: Option<Box<str>>,
    retry_after: Option<Duration>,
    /// RFC 9470 challenge parameters.
    step_up: Option<Box<StepUpParams>>,
    /// For `missing_claim`: the configured claim the token lacks (a name from the
    /// configuration, never a value from the token).
    claim: Option<Box<str>>,
    /// For errors of setup seen at start (`Verifier::ready`): why, from configuration and the
    /// provider's documents (issuer URLs), never from a token.
    reason: Option<Box<str>>,
}

/// The `acr_values` and `max_age` of an `insufficient_user_authentication` challenge.
#[derive(Clone, Debug)]
struct StepUpParams {
    acr_values: Option<Box<str>>,
    max_age: Option<u64>,
}

impl Error {
    /// An error of `kind` with a fixed, token-free detail message.
    #[must_use]
    pub fn new(kind: ErrorKind, detail: &'static str) -> Self {
        Error {
            kind,
            detail,
            required_scope: None,
            retry_after: None,
            step_up: None,
            claim: None,
            reason: None,
        }
    }

    /// The same error with why it happened, for an operator (shown by `Display` and
    /// [`reason`](Error::reason); never sent to clients, never from a token).
    #[must_use]
    pub(crate) fn with_reason(mut self, reason: String) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Why a setup error happened, when tokengate knows: e.g. for `keys_unavailable` from
    /// [`Verifier::ready`](crate::Verifier::ready), which issuer and what its provider said
    /// (a discovery document naming another issuer, a connection refused).
    #[must_use]
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// A `missing_claim` error naming the required claim the token lacks.
    #[must_use]
    pub fn missing_claim(name: &str) -> Self {
        Error {
            claim: Some(name.into()),
            ..Error::new(ErrorKind::MissingClaim, "a required claim is missing")
        }
    }

    /// For `missing_claim`: the name of the required claim the token lacks.
    #[must_use]
    pub fn claim(&self) -> Option<&str> {
        self.claim.as_deref()
    }

    /// An `insufficient_user_authentication` error (RFC 9470) naming the acceptable `acr`
    /// values (space-delimited) and the maximum authentication age in seconds.
    #[must_use]
    pub fn insufficient_user_authentication(
        acr_values: Option<String>,
        max_age: Option<u64>,
    ) -> Self {
        let mut error = Error::new(
            ErrorKind::InsufficientUserAuthentication,
            "the authentication is not strong or recent enough",
        );
        error.step_up = Some(Box::new(StepUpParams {
            acr_values: acr_values.map(String::into_boxed_str),
            max_age,
        }));
        error
    }

    /// A `check_unavailable` error that asks the client to retry after `retry_after`.
    #[must_use]
    pub fn check_unavailable(retry_after: Duration) -> Self {
        let mut error = Error::new(
            ErrorKind::CheckUnavailable,
            "a custom check could not decide",
        );
        error.retry_after = Some(retry_after);
        error
    }

    /// The `acr_values` of an `insufficient_user_authentication` challenge.
    #[must_use]
    pub fn acr_values(&self) -> Option<&str> {
        self.step_up.as_ref().and_then(|s| s.acr_values.as_deref())
    }

    /// The `max_age` of an `insufficient_user_authentication` challenge, in seconds.
    #[must_use]
    pub fn max_age(&self) -> Option<u64> {
        self.step_up.as_ref().and_then(|s| s.max_age)
    }

    /// An `insufficient_role` error (403 `insufficient_scope` without a `scope` parameter).
    #[must_use]
    pub fn insufficient_role() -> Self {
        Error::new(ErrorKind::InsufficientRole, "a required role is missing")
    }

    /// An `insufficient_scope` error naming the space-delimited scopes the route needs.
    #[must_use]
    pub fn insufficient_scope(required_scope: impl Into<Box<str>>) -> Self {
        let mut error = Error::new(ErrorKind::InsufficientScope, "a required scope is missing");
        let scope = required_scope.into();
        if !scope.is_empty() {
            error.required_scope = Some(scope);
        }
        error
    }

    /// This error naming `scope` (space-delimited) as what the operation needs: a 401's
    /// challenge then carries it too.
    #[must_use]
    pub(crate) fn with_required_scope(mut self, scope: String) -> Self {
        if !scope.is_empty() {
            self.required_scope = Some(scope.into_boxed_str());
        }
        self
    }

    /// A `keys_unavailable` error that asks the client to retry after `retry_after`.
    #[must_use]
    pub fn keys_unavailable(retry_after: Duration) -> Self {
        let mut error = Error::new(ErrorKind::KeysUnavailable, "no usable key for the issuer");
        error.retry_after = Some(retry_after);
        error
    }

    /// An `introspection_unavailable` error that asks the client to retry after `retry_after`.
    #[must_use]
    pub fn introspection_unavailable(retry_after: Duration) -> Self {
        let mut error = Error::new(
            ErrorKind::IntrospectionUnavailable,
            "the introspection endpoint could not answer",
        );
        error.retry_after = Some(retry_after);
        error
    }

    /// A `replay_store_unavailable` error that asks the client to retry after `retry_after`.
    #[must_use]
    pub fn replay_store_unavailable(retry_after: Duration) -> Self {
        let mut error = Error::new(
            ErrorKind::ReplayStoreUnavailable,
            "the DPoP replay store could not answer",
        );
        error.retry_after = Some(retry_after);
        error
    }

    /// A `revocation_unavailable` error that asks the client to retry after `retry_after`.
    #[must_use]
    pub fn revocation_unavailable(retry_after: Duration) -> Self {
        let mut error = Error::new(
            ErrorKind::RevocationUnavailable,
            "the revocation list could not answer",
        );
        error.retry_after = Some(retry_after);
        error
    }

    /// Whether the answer is "unavailable, retry later" (keys or introspection): 503 with
    /// `Retry-After`, or 401 with `keys_unavailable_as_unauthorized`.
    #[must_use]
    pub(crate) fn is_unavailable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::KeysUnavailable | ErrorKind::IntrospectionUnavailable
        )
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable code of the kind, e.g. `"invalid_signature"`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// A fixed, token-free detail for logs, e.g. `"header member crit is not supported"`.
    #[must_use]
    pub fn detail(&self) -> &'static str {
        self.detail
    }

    /// For `insufficient_scope`: the scopes the route requires, space-delimited.
    #[must_use]
    pub fn required_scope(&self) -> Option<&str> {
        self.required_scope.as_deref()
    }

    /// For `keys_unavailable`: how long the client should wait before retrying.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind, kind.description())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Error");
        s.field("kind", &self.kind).field("detail", &self.detail);
        if let Some(scope) = &self.required_scope {
            s.field("required_scope", scope);
        }
        if let Some(retry) = &self.retry_after {
            s.field("retry_after", retry);
        }
        s.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.claim, &self.reason) {
            (Some(claim), _) => write!(f, "{}: {claim} is missing", self.kind.code()),
            (None, Some(reason)) => write!(f, "{}: {}: {reason}", self.kind.code(), self.detail),
            (None, None) => write!(f, "{}: {}", self.kind.code(), self.detail),
        }
    }
}

/// A rejected token has no underlying cause to chain: every kind is decided by tokengate's
/// own checks (key-fetch failures are reported through [`Verifier::health`](crate::Verifier::health)).
impl std::error::Error for Error {}

/// What is wrong with a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The verifier has no issuer.
    NoIssuer,
    /// Two issuers share one `iss` value.
    DuplicateIssuer,
    /// An issuer has no audience (and did not opt out with
    /// [`insecure_skip_audience_check`](crate::Issuer::insecure_skip_audience_check)).
    NoAudience,
    /// An issuer's algorithm allowlist is empty.
    NoAlgorithm,
    /// An allowlist mixes HMAC with asymmetric algorithms.
    MixedAlgorithmFamilies,
    /// An algorithm name is unknown.
    UnknownAlgorithm,
    /// An issuer has no key source, or none of its keys fits its allowed algorithms.
    NoKeys,
    /// A key could not be parsed or is not a public verification key.
    InvalidKey,
    /// A key is too weak to trust: short HMAC secret, small RSA modulus or exponent,
    /// small-order Ed25519 point.
    WeakKey,
    /// A JWK's `alg`, `use` or `key_ops` forbid verifying signatures.
    KeyUseForbidden,
    /// The leeway exceeds the 300 s maximum.
    LeewayTooLarge,
    /// A setting has an invalid value (realm, token source name, size cap, ...).
    InvalidSetting,
    /// A key-set or issuer URL is not HTTPS (plain HTTP is allowed to loopback hosts only).
    InsecureUrl,
}

/// A setup mistake, reported by a builder instead of on requests.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigError {
    kind: ConfigErrorKind,
    message: std::borrow::Cow<'static, str>,
}

impl ConfigError {
    /// A configuration error of `kind` with a message naming the problem.
    #[must_use]
    pub fn new(kind: ConfigErrorKind, message: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        ConfigError {
            kind,
            message: message.into(),
        }
    }

    /// What is wrong.
    #[must_use]
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .finish()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let kinds = [
            ErrorKind::MissingCredentials,
            ErrorKind::MultipleCredentials,
            ErrorKind::MalformedRequest,
            ErrorKind::TokenTooLarge,
            ErrorKind::MalformedToken,
            ErrorKind::UnsupportedToken,
            ErrorKind::DisallowedAlgorithm,
            ErrorKind::UnknownKey,
            ErrorKind::InvalidSignature,
            ErrorKind::InvalidIssuer,
            ErrorKind::InvalidAudience,
            ErrorKind::Expired,
            ErrorKind::NotYetValid,
            ErrorKind::IssuedInFuture,
            ErrorKind::MissingClaim,
            ErrorKind::InvalidClaim,
            ErrorKind::InvalidType,
            ErrorKind::BoundToken,
            ErrorKind::BindingMismatch,
            ErrorKind::DpopRequired,
            ErrorKind::InvalidDpopProof,
            ErrorKind::UseDpopNonce,
            ErrorKind::ReplayStoreUnavailable,
            ErrorKind::Revoked,
            ErrorKind::RevocationUnavailable,
            ErrorKind::InsufficientUserAuthentication,
            ErrorKind::Forbidden,
            ErrorKind::CheckRefused,
            ErrorKind::CheckUnavailable,
            ErrorKind::InsufficientScope,
            ErrorKind::InsufficientRole,
            ErrorKind::KeysUnavailable,
            ErrorKind::InactiveToken,
            ErrorKind::IntrospectionUnavailable,
            ErrorKind::UndecryptableToken,
            ErrorKind::InvalidApiKey,
            ErrorKind::VerifierNotConfigured,
        ];
        let mut codes: Vec<_> = kinds.iter().map(|k| k.code()).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), kinds.len());
    }

    #[test]
    fn display_is_code_and_fixed_detail() {
        let error = Error::new(
            ErrorKind::UnsupportedToken,
            "header member crit is not supported",
        );
        assert_eq!(
            error.to_string(),
            "unsupported_token: header member crit is not supported"
        );
        assert!(std::error::Error::source(&error).is_none());
    }
}
