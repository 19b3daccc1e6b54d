//! [`Answer`]: what to send back when a request is not admitted — status, `WWW-Authenticate`,
//! `Retry-After` and a body — rendered once, in the core, for every adapter.
//!
//! ```
//! use tokengate::{Answer, Error, ErrorKind, answer::PlainText, challenge::Realm};
//!
//! let answer = Answer::render(&Error::from(ErrorKind::Expired), &Realm::default(), &PlainText);
//! assert_eq!(answer.status(), http::StatusCode::UNAUTHORIZED);
//! assert_eq!(
//!     answer.www_authenticate().unwrap(),
//!     r#"Bearer realm="api", error="invalid_token", error_description="the access token expired""#
//! );
//! assert_eq!(answer.body().as_ref(), b"the access token expired");
//! ```

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderName, HeaderValue, StatusCode};

use crate::challenge::{self, Realm};
use crate::error::{Error, ErrorKind};

/// Builds the body of an answer. Closures `Fn(&Answer) -> (HeaderValue, Bytes)` (content type
/// and body) implement it.
///
/// The status, `WWW-Authenticate` and `Retry-After` are fixed by tokengate: a body cannot
/// change them. Configure it once on the verifier
/// ([`VerifierBuilder::answer_body`](crate::VerifierBuilder::answer_body)) so middleware and
/// extractors of one application answer alike.
pub trait AnswerBody: Send + Sync + 'static {
    /// The content type and body for `answer` (whose own body is still empty).
    fn render(&self, answer: &Answer) -> (HeaderValue, Bytes);
}

impl<F> AnswerBody for F
where
    F: Fn(&Answer) -> (HeaderValue, Bytes) + Send + Sync + 'static,
{
    fn render(&self, answer: &Answer) -> (HeaderValue, Bytes) {
        self(answer)
    }
}

/// The default body: the generic, token-free description as `text/plain`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlainText;

impl AnswerBody for PlainText {
    fn render(&self, answer: &Answer) -> (HeaderValue, Bytes) {
        (
            HeaderValue::from_static("text/plain; charset=utf-8"),
            Bytes::from_static(answer.description().as_bytes()),
        )
    }
}

/// An RFC 9457 problem-details body (`application/problem+json`) with the stable error code.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProblemJson;

impl AnswerBody for ProblemJson {
    fn render(&self, answer: &Answer) -> (HeaderValue, Bytes) {
        // Every value here is a fixed ASCII string chosen by tokengate: no escaping is needed.
        let body = format!(
            "{{\"type\":\"about:blank\",\"status\":{},\"title\":\"{}\",\"code\":\"{}\"}}",
            answer.status().as_u16(),
            answer.description(),
            answer.kind().code()
        );
        (
            HeaderValue::from_static("application/problem+json"),
            Bytes::from(body),
        )
    }
}

/// The HTTP answer to a request that is not admitted. Adapters copy it into their framework's
/// response without changing anything.
///
/// | kind | status | `WWW-Authenticate` |
/// | --- | --- | --- |
/// | missing credentials | 401 | `Bearer realm="…"` |
/// | malformed request, two credentials, two `DPoP` headers | 400 | `…, error="invalid_request"` |
/// | any bad token, a bound token as bearer | 401 | `…, error="invalid_token"` |
/// | bad DPoP proof | 401 | `DPoP …, error="invalid_dpop_proof"` |
/// | DPoP nonce needed | 401 | `DPoP …, error="use_dpop_nonce"`, and `DPoP-Nonce` |
/// | missing scope or role | 403 | `…, error="insufficient_scope"` (+ `scope="…"` for scopes) |
/// | keys, introspection or replay store unavailable | 503 | none; `Retry-After` |
/// | no verifier configured | 500 | none |
///
/// When the verifier accepts DPoP, 401 and 403 answers carry two challenges (two
/// `WWW-Authenticate` fields): `Bearer` and `DPoP algs="…"`. The one carrying the error comes
/// first — the `DPoP` one for a request that used the `DPoP` scheme.
#[derive(Clone)]
pub struct Answer(Box<Parts>);

/// Boxed: an answer travels in `Result`s and enums whose admitted side must stay small.
#[derive(Clone)]
struct Parts {
    kind: ErrorKind,
    status: StatusCode,
    /// The challenges, the one carrying the error first.
    challenges: Vec<HeaderValue>,
    retry_after: Option<HeaderValue>,
    dpop_nonce: Option<HeaderValue>,
    content_type: HeaderValue,
    body: Bytes,
}

/// What the verifier adds to an answer's challenges.
#[derive(Clone, Copy, Default)]
pub(crate) struct Challenges<'a> {
    /// The RFC 9728 metadata URL.
    pub(crate) resource_metadata: Option<&'a str>,
    /// The `algs` of the `DPoP` challenge, when DPoP is accepted.
    pub(crate) dpop_algs: Option<&'a str>,
    /// The request used the `DPoP` scheme: its error goes into the `DPoP` challenge.
    pub(crate) dpop_request: bool,
    /// Bearer tokens are not accepted at all: no `Bearer` challenge.
    pub(crate) dpop_only: bool,
    /// API keys are accepted: an `ApiKey` challenge too.
    pub(crate) api_keys: bool,
    /// The request presented an API key: its error goes into the `ApiKey` challenge.
    pub(crate) api_key_request: bool,
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answer")
            .field("code", &self.0.kind.code())
            .field("status", &self.0.status.as_u16())
            .finish_non_exhaustive()
    }
}

impl Answer {
    /// The answer to `error` in `realm`, with a body from `body`.
    #[must_use]
    pub fn render(error: &Error, realm: &Realm, body: &dyn AnswerBody) -> Answer {
        Answer::render_for(error, realm, Challenges::default(), None, body)
    }

    /// As [`render`](Answer::render), with `resource_metadata` (RFC 9728 section 5.1) in 401
    /// and 403 challenges when a metadata URL is given, and the `DPoP` challenge when DPoP is
    /// accepted; `nonce` goes into a `DPoP-Nonce` header.
    pub(crate) fn render_for(
        error: &Error,
        realm: &Realm,
        context: Challenges<'_>,
        nonce: Option<String>,
        body: &dyn AnswerBody,
    ) -> Answer {
        let kind = error.kind();
        let mut challenges = Vec::new();
        if kind.rfc6750_error().is_some()
            || matches!(kind, ErrorKind::MissingCredentials | ErrorKind::Forbidden)
        {
            let metadata = context.resource_metadata.filter(|_| {
                matches!(
                    kind.status(),
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                )
            });
            let scope = error.required_scope();
            let step_up = (error.acr_values(), error.max_age());
            // Errors about the proof, or about a request that used the DPoP scheme, belong
            // to the DPoP challenge; the Bearer one is then offered without an error.
            let on_dpop = context.dpop_algs.is_some()
                && (context.dpop_request
                    || context.dpop_only
                    || matches!(
                        kind,
                        ErrorKind::InvalidDpopProof
                            | ErrorKind::UseDpopNonce
                            | ErrorKind::DpopRequired
                    ));
            // An API key's error goes into the `ApiKey` challenge (unless it is DPoP's).
            let on_api_key = context.api_keys && context.api_key_request && !on_dpop;
            let bearer_kind = if on_dpop || on_api_key {
                ErrorKind::MissingCredentials
            } else {
                kind
            };
            let bearer = (!context.dpop_only && kind != ErrorKind::DpopRequired)
                .then(|| challenge::bearer(bearer_kind, scope, step_up, realm, metadata));
            let dpop = context.dpop_algs.map(|algs| {
                let dpop_kind = if on_dpop {
                    kind
                } else {
                    ErrorKind::MissingCredentials
                };
                challenge::dpop(dpop_kind, scope, step_up, realm, algs, metadata)
            });
            let api_key = (context.api_keys && !context.dpop_only).then(|| {
                let api_key_kind = if on_api_key {
                    kind
                } else {
                    ErrorKind::MissingCredentials
                };
                challenge::api_key(api_key_kind, scope, realm, metadata)
            });
            if on_dpop {
                challenges.extend(dpop);
                challenges.extend(bearer);
                challenges.extend(api_key);
            } else if on_api_key {
                challenges.extend(api_key);
                challenges.extend(bearer);
                challenges.extend(dpop);
            } else {
                challenges.extend(bearer);
                challenges.extend(dpop);
                challenges.extend(api_key);
            }
        }
        let retry_after = match kind {
            ErrorKind::KeysUnavailable
            | ErrorKind::IntrospectionUnavailable
            | ErrorKind::ReplayStoreUnavailable
            | ErrorKind::RevocationUnavailable
            | ErrorKind::CheckUnavailable => {
                let secs = error
                    .retry_after()
                    .unwrap_or(Duration::from_secs(30))
                    .as_secs()
                    .max(1);
                Some(HeaderValue::from(secs))
            }
            _ => None,
        };
        let dpop_nonce = nonce.and_then(|n| HeaderValue::try_from(n).ok());
        Answer::with_body(
            kind,
            kind.status(),
            challenges,
            retry_after,
            dpop_nonce,
            body,
        )
    }

    /// The answer to `error` with the default realm (`"api"`) and the plain-text body: for
    /// errors raised where no verifier is at hand, such as a handler's own
    /// `claims.require(..)?`. Prefer [`Verifier::answer`](crate::Verifier::answer) when one is.
    #[must_use]
    pub fn with_defaults(error: &Error) -> Answer {
        Answer::render(error, &Realm::default(), &PlainText)
    }

    /// The answer to `keys_unavailable` for a verifier configured with
    /// `keys_unavailable_as_unauthorized`: 401 `invalid_token`, no `Retry-After`.
    pub(crate) fn unavailable_as_unauthorized(
        kind: ErrorKind,
        realm: &Realm,
        resource_metadata: Option<&str>,
        body: &dyn AnswerBody,
    ) -> Answer {
        let challenge = challenge::bearer(
            ErrorKind::InvalidSignature,
            None,
            (None, None),
            realm,
            resource_metadata,
        );
        Answer::with_body(
            kind,
            StatusCode::UNAUTHORIZED,
            vec![challenge],
            None,
            None,
            body,
        )
    }

    /// The 500 answer for a route that needs a verifier where none is configured: a wiring
    /// bug, logged at error level.
    #[must_use]
    pub fn verifier_not_configured() -> Answer {
        tracing::error!(
            target: "tokengate",
            "a route requires a verified token but no tokengate Verifier is configured: add the \
             adapter's middleware, or put the Verifier where its extractors look (see the \
             adapter's documentation)"
        );
        Answer::render(
            &Error::from(ErrorKind::VerifierNotConfigured),
            &Realm::default(),
            &PlainText,
        )
    }

    /// A JSON-RPC error answered with `status` and no challenge: the request's credentials are
    /// not in question (MCP: a body or headers the server cannot act on). `id` is the request's
    /// JSON-RPC id as raw JSON, or `null` when it cannot be read.
    #[cfg(feature = "mcp")]
    pub(crate) fn json_rpc(
        status: StatusCode,
        id: Option<&str>,
        code: i64,
        message: &str,
    ) -> Answer {
        let message = serde_json::to_string(message).unwrap_or_else(|_| "\"error\"".to_owned());
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":{code},"message":{message}}}}}"#,
            id.unwrap_or("null")
        );
        Answer(Box::new(Parts {
            kind: ErrorKind::MalformedRequest,
            status,
            challenges: Vec::new(),
            retry_after: None,
            dpop_nonce: None,
            content_type: HeaderValue::from_static("application/json"),
            body: Bytes::from(body),
        }))
    }

    fn with_body(
        kind: ErrorKind,
        status: StatusCode,
        challenges: Vec<HeaderValue>,
        retry_after: Option<HeaderValue>,
        dpop_nonce: Option<HeaderValue>,
        body: &dyn AnswerBody,
    ) -> Answer {
        let mut answer = Answer(Box::new(Parts {
            kind,
            status,
            challenges,
            retry_after,
            dpop_nonce,
            content_type: HeaderValue::from_static("text/plain; charset=utf-8"),
            body: Bytes::new(),
        }));
        let (content_type, bytes) = body.render(&answer);
        answer.0.content_type = content_type;
        answer.0.body = bytes;
        answer
    }

    /// The error kind behind this answer.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The first `WWW-Authenticate` value (the one carrying the error), if the answer carries
    /// a challenge.
    #[must_use]
    pub fn www_authenticate(&self) -> Option<&HeaderValue> {
        self.0.challenges.first()
    }

    /// Every `WWW-Authenticate` value: `Bearer`, and `DPoP` when DPoP is accepted. Each is sent
    /// as its own header field.
    pub fn challenges(&self) -> impl Iterator<Item = &HeaderValue> {
        self.0.challenges.iter()
    }

    /// The `DPoP-Nonce` value, for `use_dpop_nonce`.
    #[must_use]
    pub fn dpop_nonce(&self) -> Option<&HeaderValue> {
        self.0.dpop_nonce.as_ref()
    }

    /// The `Retry-After` value (seconds), for `keys_unavailable`.
    #[must_use]
    pub fn retry_after(&self) -> Option<&HeaderValue> {
        self.0.retry_after.as_ref()
    }

    /// A generic, token-free description.
    #[must_use]
    pub fn description(&self) -> &'static str {
        self.0.kind.description()
    }

    /// The body's content type.
    #[must_use]
    pub fn content_type(&self) -> &HeaderValue {
        &self.0.content_type
    }

    /// The body.
    #[must_use]
    pub fn body(&self) -> &Bytes {
        &self.0.body
    }

    /// The challenge headers (`WWW-Authenticate`, possibly twice, `Retry-After`,
    /// `DPoP-Nonce`) as `(name, value)` pairs: append them, never insert (a repeated name
    /// is a second challenge).
    pub fn challenge_headers(&self) -> impl Iterator<Item = (HeaderName, &HeaderValue)> {
        let www = self.0.challenges.iter().map(|v| (WWW_AUTHENTICATE, v));
        let retry = self.0.retry_after.iter().map(|v| (RETRY_AFTER, v));
        let nonce = self
            .0
            .dpop_nonce
            .iter()
            .map(|v| (HeaderName::from_static("dpop-nonce"), v));
        www.chain(retry).chain(nonce)
    }

    /// Every header of the response: `Content-Type` and the challenge headers.
    pub fn headers(&self) -> impl Iterator<Item = (HeaderName, &HeaderValue)> {
        std::iter::once((CONTENT_TYPE, &self.0.content_type)).chain(self.challenge_headers())
    }

    /// The answer as an `http` response.
    #[must_use]
    pub fn into_response(self) -> http::Response<Bytes> {
        let mut response = http::Response::new(Bytes::new());
        *response.status_mut() = self.0.status;
        let headers = response.headers_mut();
        for (name, value) in self.headers() {
            headers.append(name, value.clone());
        }
        *response.body_mut() = self.0.body;
        response
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0.status.as_u16(), self.0.kind.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn www(error: &Error, realm: &str) -> Option<String> {
        Answer::render(error, &Realm::new(realm).unwrap(), &PlainText)
            .www_authenticate()
            .map(|v| v.to_str().unwrap().to_owned())
    }

    fn render(error: &Error) -> Answer {
        Answer::render(error, &Realm::default(), &PlainText)
    }

    #[test]
    fn missing_credentials_has_no_error_code() {
        let error = Error::from(ErrorKind::MissingCredentials);
        assert_eq!(render(&error).status(), StatusCode::UNAUTHORIZED);
        assert_eq!(www(&error, "api").unwrap(), r#"Bearer realm="api""#);
    }

    #[test]
    fn two_credentials_is_invalid_request() {
        let error = Error::from(ErrorKind::MultipleCredentials);
        assert_eq!(render(&error).status(), StatusCode::BAD_REQUEST);
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
            assert_eq!(render(&error).status(), StatusCode::UNAUTHORIZED);
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
        assert_eq!(render(&error).status(), StatusCode::FORBIDDEN);
        assert_eq!(
            www(&error, "api").unwrap(),
            r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope", scope="messages:read messages:write""#
        );
    }

    #[test]
    fn keys_unavailable_is_503_with_retry_after_and_no_challenge() {
        let answer = render(&Error::keys_unavailable(Duration::from_secs(12)));
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(answer.www_authenticate().is_none());
        assert_eq!(answer.retry_after().unwrap(), "12");
    }

    #[test]
    fn no_verifier_is_500_without_challenge() {
        let answer = Answer::verifier_not_configured();
        assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(answer.www_authenticate().is_none());
        assert_eq!(answer.kind(), ErrorKind::VerifierNotConfigured);
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
    fn bodies_are_pluggable_and_debug_shows_only_the_code() {
        let error = Error::from(ErrorKind::Expired);
        let answer = Answer::render(&error, &Realm::default(), &ProblemJson);
        assert_eq!(answer.content_type(), "application/problem+json");
        let json: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
        assert_eq!(json["code"], "expired");
        assert_eq!(json["status"], 401);
        let custom = |_: &Answer| (HeaderValue::from_static("text/x"), Bytes::from_static(b"x"));
        let answer = Answer::render(&error, &Realm::default(), &custom);
        assert_eq!(answer.body().as_ref(), b"x");
        assert_eq!(
            answer.www_authenticate().unwrap(),
            r#"Bearer realm="api", error="invalid_token", error_description="the access token expired""#
        );
        assert_eq!(
            format!("{answer:?}"),
            r#"Answer { code: "expired", status: 401, .. }"#
        );
        let response = answer.into_response();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["content-type"], "text/x");
    }
}
