//! RFC 6750 answers: one function turns an [`Error`] into a status and a `WWW-Authenticate`
//! challenge, so every adapter answers identically.
//!
//! ```
//! use tokengate::{challenge::{render, Realm}, Error, ErrorKind};
//!
//! let realm = Realm::new("api").unwrap();
//! let rejection = render(&Error::from(ErrorKind::Expired), &realm);
//! assert_eq!(rejection.status(), http::StatusCode::UNAUTHORIZED);
//! assert_eq!(
//!     rejection.www_authenticate().unwrap(),
//!     r#"Bearer realm="api", error="invalid_token", error_description="the access token expired""#
//! );
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, StatusCode};

use crate::error::{ConfigError, ConfigErrorKind, Error, ErrorKind};

/// The `realm` of the challenge: a configured name, never the request URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Realm(Arc<str>);

impl Realm {
    /// A realm. It must be printable ASCII (it goes into a header).
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidSetting`] for an empty realm or one with control or non-ASCII
    /// characters.
    pub fn new(realm: impl AsRef<str>) -> Result<Realm, ConfigError> {
        let realm = realm.as_ref();
        if realm.is_empty() || !realm.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "the realm must be non-empty printable ASCII",
            ));
        }
        Ok(Realm(realm.into()))
    }

    /// The realm's name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Realm {
    /// The realm `"api"`.
    fn default() -> Self {
        Realm("api".into())
    }
}

impl fmt::Debug for Realm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// The HTTP answer to an [`Error`]: status, `WWW-Authenticate` and `Retry-After`.
///
/// Adapters copy these into their framework's response; a custom body may be added but the
/// status and headers are fixed here.
#[derive(Clone, Debug)]
pub struct Rejection {
    kind: ErrorKind,
    status: StatusCode,
    www_authenticate: Option<HeaderValue>,
    retry_after: Option<HeaderValue>,
}

impl Rejection {
    /// The error kind behind this answer.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `WWW-Authenticate` value, if the answer carries a challenge.
    #[must_use]
    pub fn www_authenticate(&self) -> Option<&HeaderValue> {
        self.www_authenticate.as_ref()
    }

    /// The `Retry-After` value (seconds), for `keys_unavailable`.
    #[must_use]
    pub fn retry_after(&self) -> Option<&HeaderValue> {
        self.retry_after.as_ref()
    }

    /// A generic, token-free description suitable for a response body.
    #[must_use]
    pub fn description(&self) -> &'static str {
        self.kind.description()
    }

    /// The headers as `(name, value)` pairs, ready to insert into a response.
    pub fn headers(&self) -> impl Iterator<Item = (http::HeaderName, &HeaderValue)> {
        let www = self
            .www_authenticate
            .iter()
            .map(|v| (http::header::WWW_AUTHENTICATE, v));
        let retry = self
            .retry_after
            .iter()
            .map(|v| (http::header::RETRY_AFTER, v));
        www.chain(retry)
    }
}

/// Renders the RFC 6750 answer to `error` (DESIGN section 6).
///
/// | kind | status | `WWW-Authenticate` |
/// | --- | --- | --- |
/// | missing credentials | 401 | `Bearer realm="…"` |
/// | malformed request, two credentials | 400 | `…, error="invalid_request"` |
/// | any bad token | 401 | `…, error="invalid_token"` |
/// | missing scope | 403 | `…, error="insufficient_scope", scope="…"` |
/// | keys unavailable | 503 | none; `Retry-After` |
/// | no verifier configured | 500 | none |
#[must_use]
pub fn render(error: &Error, realm: &Realm) -> Rejection {
    let kind = error.kind();
    let status = kind.status();
    let www_authenticate = match kind {
        ErrorKind::KeysUnavailable | ErrorKind::VerifierNotConfigured => None,
        _ => Some(challenge(kind, error.required_scope(), realm)),
    };
    let retry_after = match kind {
        ErrorKind::KeysUnavailable => {
            let secs = error
                .retry_after()
                .unwrap_or(Duration::from_secs(30))
                .as_secs()
                .max(1);
            Some(HeaderValue::from(secs))
        }
        _ => None,
    };
    Rejection {
        kind,
        status,
        www_authenticate,
        retry_after,
    }
}

/// The answer to `error` with `verifier`'s realm and settings, or the default realm when no
/// verifier is at hand (e.g. an extractor on a route where none is configured).
#[must_use]
pub fn render_with(error: &Error, verifier: Option<&crate::Verifier>) -> Rejection {
    match verifier {
        Some(verifier) => verifier.rejection(error),
        None => render(error, &Realm::default()),
    }
}

/// The answer to `keys_unavailable` for a verifier configured with
/// `keys_unavailable_as_unauthorized`: 401 `invalid_token`, no `Retry-After`.
#[must_use]
pub fn render_unavailable_as_unauthorized(realm: &Realm) -> Rejection {
    Rejection {
        kind: ErrorKind::KeysUnavailable,
        status: StatusCode::UNAUTHORIZED,
        www_authenticate: Some(challenge(ErrorKind::InvalidSignature, None, realm)),
        retry_after: None,
    }
}

fn challenge(kind: ErrorKind, scope: Option<&str>, realm: &Realm) -> HeaderValue {
    let mut value = String::with_capacity(96);
    value.push_str("Bearer realm=");
    push_quoted(&mut value, realm.as_str());
    if let Some(code) = kind.rfc6750_error() {
        value.push_str(", error=");
        push_quoted(&mut value, code);
        value.push_str(", error_description=");
        push_quoted(&mut value, kind.description());
        if let Some(scope) = scope.filter(|_| kind == ErrorKind::InsufficientScope) {
            value.push_str(", scope=");
            push_quoted(&mut value, scope);
        }
    }
    // Every piece is printable ASCII: the realm is checked at setup and `push_quoted` drops
    // anything else, so this cannot fail.
    HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// Appends `text` as an RFC 9110 quoted-string: `"` and `\` escaped, anything that is not
/// printable ASCII dropped.
fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {}
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn www(error: &Error, realm: &str) -> Option<String> {
        render(error, &Realm::new(realm).unwrap())
            .www_authenticate()
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn missing_credentials_has_no_error_code() {
        let error = Error::from(ErrorKind::MissingCredentials);
        let rejection = render(&error, &Realm::default());
        assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(www(&error, "api").unwrap(), r#"Bearer realm="api""#);
    }

    #[test]
    fn two_credentials_is_invalid_request() {
        let error = Error::from(ErrorKind::MultipleCredentials);
        assert_eq!(
            render(&error, &Realm::default()).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            www(&error, "api").unwrap(),
            r#"Bearer realm="api", error="invalid_request", error_description="the request carries more than one credential""#
        );
    }

    #[test]
    fn every_token_problem_is_invalid_token_401() {
        for kind in [
            ErrorKind::TokenTooLarge,
            ErrorKind::MalformedToken,
            ErrorKind::UnsupportedToken,
            ErrorKind::DisallowedAlgorithm,
            ErrorKind::UnknownKey,
            ErrorKind::InvalidSignature,
            ErrorKind::InvalidIssuer,
            ErrorKind::InvalidAudience,
            ErrorKind::NotYetValid,
            ErrorKind::IssuedInFuture,
            ErrorKind::MissingClaim,
            ErrorKind::InvalidClaim,
            ErrorKind::InvalidType,
        ] {
            let error = Error::from(kind);
            assert_eq!(
                render(&error, &Realm::default()).status(),
                StatusCode::UNAUTHORIZED
            );
            assert_eq!(
                www(&error, "api").unwrap(),
                r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn insufficient_scope_is_403_with_scope() {
        let error = Error::insufficient_scope("messages:read messages:write");
        assert_eq!(
            render(&error, &Realm::default()).status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            www(&error, "api").unwrap(),
            r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope", scope="messages:read messages:write""#
        );
    }

    #[test]
    fn keys_unavailable_is_503_with_retry_after_and_no_challenge() {
        let error = Error::keys_unavailable(Duration::from_secs(12));
        let rejection = render(&error, &Realm::default());
        assert_eq!(rejection.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(rejection.www_authenticate().is_none());
        assert_eq!(rejection.retry_after().unwrap(), "12");
    }

    #[test]
    fn no_verifier_is_500_without_challenge() {
        let rejection = render(
            &Error::from(ErrorKind::VerifierNotConfigured),
            &Realm::default(),
        );
        assert_eq!(rejection.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(rejection.www_authenticate().is_none());
    }

    #[test]
    fn quoted_values_are_escaped() {
        let error = Error::insufficient_scope("a\"b c\\d\ne");
        assert_eq!(
            www(&error, r#"my "realm""#).unwrap(),
            r#"Bearer realm="my \"realm\"", error="insufficient_scope", error_description="the access token lacks the required scope", scope="a\"b c\\de""#
        );
    }

    #[test]
    fn realm_must_be_printable_ascii() {
        for bad in ["", "a\r\nb", "caf\u{e9}"] {
            assert_eq!(
                Realm::new(bad).unwrap_err().kind(),
                ConfigErrorKind::InvalidSetting,
                "{bad:?}"
            );
        }
        assert_eq!(Realm::new("api v2").unwrap().as_str(), "api v2");
    }
}
