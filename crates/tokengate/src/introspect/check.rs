//! The token-check step: [`TokenCheck`], with RFC 7662 as the built-in default and profiles for
//! providers whose check is not RFC 7662 (Google `tokeninfo`, Facebook `debug_token`). Every
//! check answers in RFC 7662's shape, so the cache, single-flight, failure rules and claim checks
//! are the same for all.

use std::fmt;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{ClientKey, Secret};
use crate::fetch::{FetchError, FetchErrorKind, FetchedDocument, Fetcher};

/// The largest provider response read.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// One question to a provider about a token. `Debug` never shows the token.
pub struct CheckRequest<'a> {
    /// The token to check. Never log it.
    pub token: &'a str,
    /// The endpoint to ask.
    pub endpoint: &'a str,
    /// The HTTP client (the verifier's [`Fetcher`]).
    pub fetcher: &'a dyn Fetcher,
    /// The verifier's clock, in Unix seconds.
    pub now: u64,
}

impl fmt::Debug for CheckRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckRequest")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// How a provider is asked about a token. Implement it for a provider whose check is not
/// RFC 7662; tokengate keeps the cache, single-flight, concurrency cap, failure rules and claim
/// checks.
#[async_trait]
pub trait TokenCheck: Send + Sync + fmt::Debug + 'static {
    /// The provider's verdict as an RFC 7662 introspection response: a JSON object with
    /// `active` and, for an active token, its claims (`sub`, `aud`, `exp`, `scope`, ...).
    ///
    /// # Errors
    /// A [`FetchError`] when the provider could not give a verdict (down, an error status,
    /// an unreadable answer): the request is answered 503. Its message must not contain the
    /// token or a secret.
    async fn check(&self, request: CheckRequest<'_>) -> Result<Vec<u8>, FetchError>;
}

/// How a client authenticates at an authorization server's endpoint (introspection, token
/// exchange): an `Authorization` header, or members of the form.
#[derive(Debug)]
pub(crate) struct ClientCredentials {
    pub(crate) authorization: Option<Secret>,
    pub(crate) form_credentials: Option<(Box<str>, Secret)>,
    pub(crate) assertion_key: Option<(Box<str>, ClientKey)>,
}

impl ClientCredentials {
    /// Adds the form members of this authentication (`client_secret_post`, or a
    /// `private_key_jwt` assertion for `endpoint`).
    pub(crate) fn append(
        &self,
        form: &mut form_urlencoded::Serializer<'_, String>,
        endpoint: &str,
        now: u64,
    ) {
        if let Some((id, secret)) = &self.form_credentials {
            form.append_pair("client_id", id);
            form.append_pair("client_secret", &secret.0);
        }
        if let Some((id, key)) = &self.assertion_key {
            let assertion = key.assertion(id, endpoint, now);
            form.append_pair("client_id", id);
            form.append_pair(
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            );
            form.append_pair("client_assertion", &assertion);
        }
    }

    /// The `Authorization` header (`client_secret_basic`), if any.
    pub(crate) fn authorization(&self) -> Option<&str> {
        self.authorization.as_ref().map(|s| &*s.0)
    }
}

/// RFC 7662 with the configured client authentication.
#[derive(Debug)]
pub(crate) struct Rfc7662 {
    pub(crate) credentials: ClientCredentials,
}

#[async_trait]
impl TokenCheck for Rfc7662 {
    async fn check(&self, request: CheckRequest<'_>) -> Result<Vec<u8>, FetchError> {
        // The serializer is not `Sync`: built and dropped before anything is awaited.
        let form = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("token", request.token);
            form.append_pair("token_type_hint", "access_token");
            self.credentials
                .append(&mut form, request.endpoint, request.now);
            form.finish()
        };
        let authorization = self.credentials.authorization();
        let document = request
            .fetcher
            .post_form(request.endpoint, authorization, &form, MAX_BODY)
            .await?;
        ok_body(document, "the introspection endpoint")
    }
}

fn ok_body(document: FetchedDocument, what: &str) -> Result<Vec<u8>, FetchError> {
    if document.status == 200 {
        Ok(document.body)
    } else {
        Err(FetchError::new(
            FetchErrorKind::Status,
            format!("{what} answered {}", document.status),
        ))
    }
}

fn unreadable(what: &'static str) -> FetchError {
    FetchError::new(FetchErrorKind::Invalid, what)
}

/// Google's `tokeninfo` (POST `access_token`): 200 with `aud`, `azp`, `sub`, `scope`, `exp` (a
/// string) for a valid token, 400 for any other.
#[derive(Debug)]
pub(crate) struct GoogleTokenInfo;

#[async_trait]
impl TokenCheck for GoogleTokenInfo {
    async fn check(&self, request: CheckRequest<'_>) -> Result<Vec<u8>, FetchError> {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("access_token", request.token)
            .finish();
        let document = request
            .fetcher
            .post_form(request.endpoint, None, &form, MAX_BODY)
            .await?;
        if document.status == 400 {
            return Ok(br#"{"active":false}"#.to_vec());
        }
        let body = ok_body(document, "Google tokeninfo")?;
        let Value::Object(mut info) = crate::json::from_strict_slice::<Value>(&body)
            .map_err(|_| unreadable("Google tokeninfo answered something other than JSON"))?
        else {
            return Err(unreadable(
                "Google tokeninfo answered something other than an object",
            ));
        };
        // `exp` and `expires_in` come as strings; the client is `azp`.
        if let Some(Value::String(exp)) = info.get("exp").cloned() {
            let exp: u64 = exp
                .parse()
                .map_err(|_| unreadable("Google tokeninfo sent an exp that is not a number"))?;
            info.insert("exp".into(), Value::from(exp));
        }
        info.remove("expires_in");
        if let Some(azp) = info.get("azp").cloned() {
            info.entry("client_id").or_insert(azp);
        }
        info.insert("active".into(), Value::Bool(true));
        Ok(Value::Object(info).to_string().into_bytes())
    }
}

/// Facebook's `debug_token` (GET with the app token): `data.is_valid`, `data.app_id` (the
/// audience), `data.user_id`, `data.scopes`, `data.expires_at` (0: never).
#[derive(Debug)]
pub(crate) struct FacebookDebugToken {
    pub(crate) app_token: Secret,
}

#[async_trait]
impl TokenCheck for FacebookDebugToken {
    async fn check(&self, request: CheckRequest<'_>) -> Result<Vec<u8>, FetchError> {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("input_token", request.token)
            .append_pair("access_token", &self.app_token.0)
            .finish();
        let url = format!("{}?{query}", request.endpoint);
        // The URL holds the token and the app secret: the error keeps neither (no source).
        let document = request
            .fetcher
            .get(&url, MAX_BODY)
            .await
            .map_err(|e| FetchError::new(e.kind(), "the debug_token call failed"))?;
        let body = ok_body(document, "Facebook debug_token")?;
        let answer: Value = crate::json::from_strict_slice(&body)
            .map_err(|_| unreadable("Facebook debug_token answered something other than JSON"))?;
        let Some(Value::Object(data)) = answer.get("data") else {
            return Err(unreadable("Facebook debug_token answered without data"));
        };
        if data.get("is_valid") != Some(&Value::Bool(true)) {
            return Ok(br#"{"active":false}"#.to_vec());
        }
        let mut out = Map::new();
        out.insert("active".into(), Value::Bool(true));
        for (from, to) in [
            ("user_id", "sub"),
            ("app_id", "aud"),
            ("app_id", "client_id"),
        ] {
            if let Some(value) = data.get(from) {
                out.insert(to.into(), value.clone());
            }
        }
        match data.get("expires_at") {
            Some(Value::Number(n)) if n.as_u64() != Some(0) => {
                out.insert("exp".into(), Value::Number(n.clone()));
            }
            _ => {}
        }
        if let Some(Value::Array(scopes)) = data.get("scopes") {
            let scopes: Vec<&str> = scopes.iter().filter_map(Value::as_str).collect();
            out.insert("scope".into(), Value::from(scopes.join(" ")));
        }
        Ok(Value::Object(out).to_string().into_bytes())
    }
}
