//! The HTTP side of fetching (feature `remote`): documents, errors, the [`Fetcher`] trait and
//! the default [`HttpFetcher`].

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use super::FetchErrorKind;
use crate::error::{ConfigError, ConfigErrorKind};

/// A fetched document.
#[derive(Clone)]
pub struct FetchedDocument {
    /// The HTTP status code.
    pub status: u16,
    /// The `Cache-Control` header, if any.
    pub cache_control: Option<String>,
    /// The body (a fetcher should stop reading past `max_body` bytes and fail).
    pub body: Vec<u8>,
}

impl fmt::Debug for FetchedDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchedDocument")
            .field("status", &self.status)
            .field("cache_control", &self.cache_control)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A failed fetch. Its message names the kind and a detail (fixed, or naming configured and
/// published URLs and issuers), never the document's content otherwise.
pub struct FetchError {
    kind: FetchErrorKind,
    detail: std::borrow::Cow<'static, str>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl FetchError {
    /// A fetch error of `kind`.
    #[must_use]
    pub fn new(
        kind: FetchErrorKind,
        detail: impl Into<std::borrow::Cow<'static, str>>,
    ) -> FetchError {
        FetchError {
            kind,
            detail: detail.into(),
            source: None,
        }
    }

    /// Attaches the underlying cause.
    #[must_use]
    pub fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> FetchError {
        self.source = Some(Box::new(source));
        self
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> FetchErrorKind {
        self.kind
    }
}

impl fmt::Debug for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchError")
            .field("kind", &self.kind)
            .field("detail", &self.detail)
            .finish()
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key fetch failed ({:?}): {}", self.kind, self.detail)?;
        // The causes say *why* (connection refused, timed out, certificate): worth showing,
        // down to the root.
        let mut cause = self
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static));
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Fetches documents over HTTP(S): `GET` for key sets and discovery, a form `POST` for token
/// introspection (RFC 7662).
#[async_trait]
pub trait Fetcher: Send + Sync + 'static {
    /// GETs `url`, reading at most `max_body` bytes of body.
    ///
    /// # Errors
    /// A [`FetchError`] when no document could be had.
    async fn get(&self, url: &str, max_body: usize) -> Result<FetchedDocument, FetchError>;

    /// POSTs `form` (`application/x-www-form-urlencoded`) to `url` with an optional
    /// `Authorization` header, reading at most `max_body` bytes of body. The form and the
    /// header hold a token and client credentials: never log them.
    ///
    /// # Errors
    /// A [`FetchError`] when no document could be had. The default refuses (a fetcher made
    /// only for key sets).
    async fn post_form(
        &self,
        url: &str,
        authorization: Option<&str>,
        form: &str,
        max_body: usize,
    ) -> Result<FetchedDocument, FetchError> {
        let _ = (url, authorization, form, max_body);
        Err(FetchError::new(
            FetchErrorKind::Other,
            "this fetcher does not send POST requests",
        ))
    }
}

/// The default fetcher: reqwest with rustls (aws-lc-rs) and the platform's trust roots; redirects
/// only to the same host; a timeout; bodies read up to the cap.
#[derive(Clone, Debug)]
pub struct HttpFetcher {
    client: reqwest::Client,
}

impl HttpFetcher {
    /// A fetcher whose requests time out after `timeout`.
    ///
    /// # Errors
    /// When the TLS backend cannot be initialized.
    pub fn new(timeout: Duration) -> Result<HttpFetcher, ConfigError> {
        let same_host = reqwest::redirect::Policy::custom(|attempt| {
            let first = attempt
                .previous()
                .first()
                .map(|u| (u.scheme().to_owned(), u.host_str().map(str::to_owned)));
            let next = (
                attempt.url().scheme().to_owned(),
                attempt.url().host_str().map(str::to_owned),
            );
            if attempt.previous().len() < 5 && first.as_ref() == Some(&next) {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(same_host)
            .user_agent(concat!("tokengate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| {
                ConfigError::new(
                    ConfigErrorKind::InvalidSetting,
                    "the HTTP client could not be built",
                )
            })?;
        Ok(HttpFetcher { client })
    }
}

#[async_trait]
impl Fetcher for HttpFetcher {
    async fn get(&self, url: &str, max_body: usize) -> Result<FetchedDocument, FetchError> {
        read(self.client.get(url), max_body).await
    }

    async fn post_form(
        &self,
        url: &str,
        authorization: Option<&str>,
        form: &str,
        max_body: usize,
    ) -> Result<FetchedDocument, FetchError> {
        let mut request = self
            .client
            .post(url)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(form.to_owned());
        if let Some(value) = authorization {
            request = request.header(http::header::AUTHORIZATION, value);
        }
        read(request, max_body).await
    }
}

/// Sends `request` and reads its answer, bounded by `max_body`.
async fn read(
    request: reqwest::RequestBuilder,
    max_body: usize,
) -> Result<FetchedDocument, FetchError> {
    let mut response = request.send().await.map_err(|e| {
        let kind = if e.is_timeout() {
            FetchErrorKind::Timeout
        } else {
            FetchErrorKind::Connect
        };
        FetchError::new(kind, "the request failed").with_source(e)
    })?;
    let status = response.status().as_u16();
    if response.status().is_redirection() {
        return Err(FetchError::new(
            FetchErrorKind::Other,
            "a redirect to another host was refused",
        ));
    }
    if response
        .content_length()
        .is_some_and(|len| len > max_body as u64)
    {
        return Err(FetchError::new(
            FetchErrorKind::TooLarge,
            "the body is larger than the cap",
        ));
    }
    let cache_control = response
        .headers()
        .get(http::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        let kind = if e.is_timeout() {
            FetchErrorKind::Timeout
        } else {
            FetchErrorKind::Connect
        };
        FetchError::new(kind, "reading the body failed").with_source(e)
    })? {
        if body.len() + chunk.len() > max_body {
            return Err(FetchError::new(
                FetchErrorKind::TooLarge,
                "the body is larger than the cap",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(FetchedDocument {
        status,
        cache_control,
        body,
    })
}

/// The `max-age` of a `Cache-Control` value, if any (and no `no-store`/`no-cache`, which mean 0).
pub(crate) fn max_age(cache_control: &str) -> Option<u64> {
    let mut age = None;
    for directive in cache_control.split(',') {
        let directive = directive.trim();
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "no-store" | "no-cache" => return Some(0),
            "max-age" => age = value.trim().trim_matches('"').parse().ok(),
            _ => {}
        }
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::check_url;

    #[test]
    fn url_policy() {
        for ok in [
            "https://login.example.com/.well-known/jwks.json",
            "http://127.0.0.1:8080/jwks",
            "http://127.5.6.7/jwks",
            "http://[::1]:9/jwks",
            "http://localhost:3000/x",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/jwks",
            "http://10.0.0.1/jwks",
            "ftp://x/y",
            "file:///etc/jwks",
            "jwks.json",
            "http://localhost.evil.com/",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cache_control_max_age() {
        assert_eq!(max_age("public, max-age=3600"), Some(3600));
        assert_eq!(max_age("max-age=\"60\", must-revalidate"), Some(60));
        assert_eq!(max_age("no-store"), Some(0));
        assert_eq!(max_age("private"), None);
        assert_eq!(max_age("max-age=abc"), None);
    }
}
