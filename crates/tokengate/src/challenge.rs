//! The `WWW-Authenticate` challenge (RFC 6750 section 3) and its [`Realm`]. Answers are built by
//! [`Answer`](crate::Answer).
//!
//! ```
//! use tokengate::challenge::Realm;
//! assert_eq!(Realm::new("orders").unwrap().as_str(), "orders");
//! let error = Realm::new("bad\r\nrealm").unwrap_err();
//! assert_eq!(error.kind(), tokengate::error::ConfigErrorKind::InvalidSetting);
//! ```

use std::fmt;
use std::sync::Arc;

use http::HeaderValue;

use crate::error::{ConfigError, ConfigErrorKind, ErrorKind};

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

/// The `Bearer` challenge for `kind` (RFC 6750 section 3).
pub(crate) fn bearer(
    kind: ErrorKind,
    scope: Option<&str>,
    step_up: StepUp<'_>,
    realm: &Realm,
    resource_metadata: Option<&str>,
) -> HeaderValue {
    let mut value = String::with_capacity(96);
    value.push_str("Bearer realm=");
    push_quoted(&mut value, realm.as_str());
    push_error(&mut value, kind, scope, step_up);
    if let Some(url) = resource_metadata {
        value.push_str(", resource_metadata=");
        push_quoted(&mut value, url);
    }
    // Every piece is printable ASCII: the realm is checked at setup and `push_quoted` drops
    // anything else, so this cannot fail.
    HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// The `ApiKey` challenge, for a verifier that accepts API keys: the same parameters as
/// `Bearer` (realm, the error and its scope, the resource metadata).
pub(crate) fn api_key(
    kind: ErrorKind,
    scope: Option<&str>,
    realm: &Realm,
    resource_metadata: Option<&str>,
) -> HeaderValue {
    let mut value = String::with_capacity(96);
    value.push_str("ApiKey realm=");
    push_quoted(&mut value, realm.as_str());
    push_error(&mut value, kind, scope, (None, None));
    if let Some(url) = resource_metadata {
        value.push_str(", resource_metadata=");
        push_quoted(&mut value, url);
    }
    HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static("ApiKey"))
}

/// The `DPoP` challenge (RFC 9449 section 7.1): `algs`, and the error for `kind` if any.
pub(crate) fn dpop(
    kind: ErrorKind,
    scope: Option<&str>,
    step_up: StepUp<'_>,
    realm: &Realm,
    algs: &str,
    resource_metadata: Option<&str>,
) -> HeaderValue {
    let mut value = String::with_capacity(128);
    value.push_str("DPoP realm=");
    push_quoted(&mut value, realm.as_str());
    value.push_str(", algs=");
    push_quoted(&mut value, algs);
    push_error(&mut value, kind, scope, step_up);
    if let Some(url) = resource_metadata {
        value.push_str(", resource_metadata=");
        push_quoted(&mut value, url);
    }
    HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static("DPoP"))
}

/// `scope`: the scopes the operation needs, on a 403 `insufficient_scope` and on every 401
/// (RFC 6750 section 3; MCP 2026-07-28 asks it of both), so a client asks for all of them at
/// once. `offline_access` is never named (it is for the authorization server, not this
/// resource).
fn push_scope(value: &mut String, kind: ErrorKind, scope: Option<&str>) {
    let Some(scope) = scope.filter(|_| {
        kind == ErrorKind::InsufficientScope || kind.status() == http::StatusCode::UNAUTHORIZED
    }) else {
        return;
    };
    let mut named = scope
        .split(' ')
        .filter(|s| !s.is_empty() && *s != "offline_access")
        .peekable();
    if named.peek().is_none() {
        return;
    }
    value.push_str(", scope=\"");
    let mut first = true;
    for scope in named {
        if !first {
            value.push(' ');
        }
        first = false;
        push_quoted_inner(value, scope);
    }
    value.push('"');
}

/// The RFC 9470 parameters: `acr_values` and `max_age`.
pub(crate) type StepUp<'a> = (Option<&'a str>, Option<u64>);

/// `error`, `error_description` and the parameters of that error (`scope`; `acr_values` and
/// `max_age` for step-up, RFC 9470 section 3).
fn push_error(value: &mut String, kind: ErrorKind, scope: Option<&str>, step_up: StepUp<'_>) {
    let Some(code) = kind.rfc6750_error() else {
        push_scope(value, kind, scope);
        return;
    };
    value.push_str(", error=");
    push_quoted(value, code);
    value.push_str(", error_description=");
    push_quoted(value, kind.description());
    push_scope(value, kind, scope);
    if kind == ErrorKind::InsufficientUserAuthentication {
        if let Some(acr_values) = step_up.0 {
            value.push_str(", acr_values=");
            push_quoted(value, acr_values);
        }
        if let Some(max_age) = step_up.1 {
            value.push_str(", max_age=");
            push_quoted(value, &max_age.to_string());
        }
    }
}

/// Appends `text` as an RFC 9110 quoted-string: `"` and `\` escaped, anything that is not
/// printable ASCII dropped.
fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    push_quoted_inner(out, text);
    out.push('"');
}

/// `text` escaped for a quoted string, without the quotes.
fn push_quoted_inner(out: &mut String, text: &str) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
