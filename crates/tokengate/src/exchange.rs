//! Calling another API on the caller's behalf without forwarding the caller's token: OAuth 2.0
//! Token Exchange (RFC 8693) of the **verified** incoming token for one issued to the downstream,
//! cached until shortly before it expires, one exchange per (token, downstream) at a time
//! (`docs/guide.md`, "Calling other APIs").
//!
//! The incoming token was issued for this API (its audience is ours): forwarding it would make
//! the downstream accept a token not meant for it, which the MCP specification forbids ("token
//! passthrough"). A [`TokenExchange`] only ever sends the incoming token to the authorization
//! server's token endpoint, as `subject_token`.
//!
//! ```no_run
//! use tokengate::exchange::{Downstream, TokenExchange};
//! # async fn handler(verified: tokengate::Verified<tokengate::StandardClaims>) -> Result<(), Box<dyn std::error::Error>> {
//! let exchange = TokenExchange::endpoint("https://id.example.com/oauth2/token")
//!     .client_secret_basic("orders-gateway", "…")
//!     .downstream("orders-api", Downstream::audience("https://orders.example.com"))
//!     .build()?;
//! // The verifier keeps each admitted request's token: `keep_tokens_for_exchange()`.
//! let token = exchange.for_downstream(&verified, "orders-api").await?;
//! let request = reqwest::Client::new().get("https://orders.example.com/orders");
//! let request = token.authorize(request); // Authorization: Bearer <the exchanged token>
//! # let _ = request; Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::claims::Verified;
use crate::clock::{Clock, SystemClock};
use crate::error::{ConfigError, ConfigErrorKind};
use crate::fetch::{self, Fetcher, HttpFetcher};
use crate::introspect::ClientKey;
use crate::introspect::{ClientAuth, Secret, check::ClientCredentials};

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The `subject_token_type` of an access token (RFC 8693 section 3).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// How long a refusal (`invalid_grant`, …) is remembered for one (token, downstream).
const REFUSAL_MEMORY: Duration = Duration::from_secs(5);
/// The largest answer read from the token endpoint.
const MAX_BODY: usize = 64 * 1024;

/// What one downstream API needs: its `audience` and/or `resource` (RFC 8707), the `scope` to
/// ask for, and the token type wanted.
#[derive(Clone, Debug, Default)]
pub struct Downstream {
    audience: Option<String>,
    resource: Option<String>,
    scope: Option<String>,
    requested_token_type: Option<String>,
}

impl Downstream {
    /// A downstream known by its `audience`.
    #[must_use]
    pub fn audience(audience: impl Into<String>) -> Downstream {
        Downstream {
            audience: Some(audience.into()),
            ..Downstream::default()
        }
    }

    /// A downstream known by its resource indicator (RFC 8707).
    #[must_use]
    pub fn resource(resource: impl Into<String>) -> Downstream {
        Downstream {
            resource: Some(resource.into()),
            ..Downstream::default()
        }
    }

    /// Also send this resource indicator.
    #[must_use]
    pub fn with_resource(mut self, resource: impl Into<String>) -> Downstream {
        self.resource = Some(resource.into());
        self
    }

    /// Ask for these scopes (space-delimited in the request).
    #[must_use]
    pub fn scope<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, scopes: I) -> Downstream {
        let scopes: Vec<String> = scopes.into_iter().map(|s| s.as_ref().to_owned()).collect();
        self.scope = Some(scopes.join(" "));
        self
    }

    /// Ask for this token type (`requested_token_type`).
    #[must_use]
    pub fn requested_token_type(mut self, token_type: impl Into<String>) -> Downstream {
        self.requested_token_type = Some(token_type.into());
        self
    }
}

/// The configuration of a [`TokenExchange`].
#[must_use = "a builder does nothing until built"]
pub struct TokenExchangeBuilder {
    endpoint: Endpoint,
    auth: ClientAuth,
    actor: Option<(Secret, String)>,
    downstreams: HashMap<String, Downstream>,
    fetcher: Option<Arc<dyn Fetcher>>,
    margin: Duration,
    clock: Arc<dyn Clock>,
}

/// Where the token endpoint is: given, or the issuer's discovery document's `token_endpoint`
/// (looked up at the first exchange).
#[derive(Clone, Debug)]
enum Endpoint {
    Fixed(String),
    Discover(String),
}

impl fmt::Debug for TokenExchangeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenExchangeBuilder")
            .field("endpoint", &self.endpoint)
            .field("downstreams", &self.downstreams.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl TokenExchangeBuilder {
    /// Authenticate with HTTP Basic (`client_secret_basic`).
    pub fn client_secret_basic(
        mut self,
        client_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        self.auth = ClientAuth::basic(client_id, secret);
        self
    }

    /// Authenticate with the id and secret in the form (`client_secret_post`).
    pub fn client_secret_post(
        mut self,
        client_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        self.auth = ClientAuth::post(client_id, secret);
        self
    }

    /// Authenticate with an assertion signed by the service's key (`private_key_jwt`).
    pub fn private_key_jwt(mut self, client_id: impl Into<String>, key: ClientKey) -> Self {
        self.auth = ClientAuth::private_key_jwt(client_id, key);
        self
    }

    /// Send this token as `actor_token` (RFC 8693 section 2.1): the calling service's own
    /// token (e.g. from client credentials), so the issued token names it in `act`.
    pub fn actor_token(mut self, token: impl Into<String>, token_type: impl Into<String>) -> Self {
        self.actor = Some((Secret(token.into().into()), token_type.into()));
        self
    }

    /// A downstream API by name.
    pub fn downstream(mut self, name: impl Into<String>, downstream: Downstream) -> Self {
        self.downstreams.insert(name.into(), downstream);
        self
    }

    /// Renew this long before an exchanged token expires (default 30 s).
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Fetch through this fetcher (default: reqwest with rustls, 5 s timeout).
    pub fn fetcher(mut self, fetcher: impl Fetcher) -> Self {
        self.fetcher = Some(Arc::new(fetcher));
        self
    }

    /// Judge expiry by this clock (tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The exchange.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InsecureUrl`] for a token endpoint that is not `https` (plain `http`
    /// only to loopback), [`ConfigErrorKind::InvalidSetting`] without a downstream or without
    /// client authentication.
    pub fn build(self) -> Result<TokenExchange, ConfigError> {
        let insecure = |_| {
            ConfigError::new(
                ConfigErrorKind::InsecureUrl,
                "the token endpoint must be https",
            )
        };
        let endpoint = match self.endpoint {
            Endpoint::Fixed(url) => {
                Endpoint::Fixed(fetch::check_url(&url).map_err(insecure)?.to_string())
            }
            Endpoint::Discover(issuer) => {
                fetch::check_url(&issuer).map_err(insecure)?;
                Endpoint::Discover(issuer)
            }
        };
        if self.downstreams.is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "a token exchange needs at least one downstream",
            ));
        }
        if matches!(self.auth, ClientAuth::None) {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "a token exchange authenticates its client",
            ));
        }
        let fetcher = match self.fetcher {
            Some(fetcher) => fetcher,
            None => Arc::new(HttpFetcher::new(Duration::from_secs(5))?),
        };
        Ok(TokenExchange {
            inner: Arc::new(Inner {
                endpoint,
                discovered: tokio::sync::OnceCell::new(),
                actor: self.actor,
                credentials: self.auth.credentials(),
                downstreams: self.downstreams,
                fetcher,
                margin: self.margin,
                clock: self.clock,
                cache: moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(Duration::from_secs(3600))
                    .build(),
            }),
        })
    }
}

/// Trades verified tokens for downstream tokens (RFC 8693). Cheap to clone.
#[derive(Clone)]
pub struct TokenExchange {
    inner: Arc<Inner>,
}

impl fmt::Debug for TokenExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenExchange")
            .field("endpoint", &self.inner.endpoint)
            .field(
                "downstreams",
                &self.inner.downstreams.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

type Slot = Arc<tokio::sync::OnceCell<Outcome>>;

struct Inner {
    endpoint: Endpoint,
    /// The discovered token endpoint, once looked up.
    discovered: tokio::sync::OnceCell<String>,
    /// The calling service's own token and its type, sent as `actor_token`.
    actor: Option<(Secret, String)>,
    credentials: ClientCredentials,
    downstreams: HashMap<String, Downstream>,
    fetcher: Arc<dyn Fetcher>,
    margin: Duration,
    clock: Arc<dyn Clock>,
    /// By (SHA-256 of the subject token, downstream): one exchange in flight per key, its
    /// outcome kept until it expires (a token: its expiry minus the margin; a refusal: 5 s).
    cache: moka::sync::Cache<([u8; 32], Arc<str>), Slot>,
}

#[derive(Clone)]
enum Outcome {
    Issued(ExchangedToken),
    Refused { code: Arc<str>, until: u64 },
}

/// A token issued for a downstream. Its `Debug` shows no token.
#[derive(Clone)]
pub struct ExchangedToken {
    access_token: Arc<str>,
    expires_at: u64,
    issued_token_type: Option<Arc<str>>,
}

impl fmt::Debug for ExchangedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangedToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl ExchangedToken {
    /// The token, for the downstream's `Authorization: Bearer`.
    #[must_use]
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// When it expires (Unix seconds).
    #[must_use]
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// The `issued_token_type` the server named.
    #[must_use]
    pub fn issued_token_type(&self) -> Option<&str> {
        self.issued_token_type.as_deref()
    }

    /// `request` with `Authorization: Bearer <this token>`.
    pub fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(&*self.access_token)
    }
}

/// Why no downstream token could be had.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The authorization server refused the exchange (`invalid_grant`, `invalid_target`, …):
    /// answer 403; remembered for 5 s.
    Refused(String),
    /// The token endpoint could not answer (down, slow, an unreadable answer): answer 503.
    Unavailable,
    /// The claims carry no token to exchange: the verifier was not built with
    /// `keep_tokens_for_exchange`, the request presented an API key, or the claims were
    /// verified outside a request (a wiring error: 500).
    NoSubjectToken,
    /// No downstream of this name is configured (a wiring error: 500).
    UnknownDownstream,
}

impl ExchangeError {
    /// The HTTP status a handler answers with: 403, 503, or 500 for wiring errors.
    #[must_use]
    pub fn status(&self) -> http::StatusCode {
        match self {
            ExchangeError::Refused(_) => http::StatusCode::FORBIDDEN,
            ExchangeError::Unavailable => http::StatusCode::SERVICE_UNAVAILABLE,
            ExchangeError::NoSubjectToken | ExchangeError::UnknownDownstream => {
                http::StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExchangeError::Refused(code) => write!(f, "the token exchange was refused: {code}"),
            ExchangeError::Unavailable => f.write_str("the token endpoint is unavailable"),
            ExchangeError::NoSubjectToken => f.write_str(
                "no verified token to exchange (keep_tokens_for_exchange, a token request)",
            ),
            ExchangeError::UnknownDownstream => f.write_str("no such downstream is configured"),
        }
    }
}

impl std::error::Error for ExchangeError {}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
    issued_token_type: Option<String>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
}

impl TokenExchange {
    /// An exchange at this token endpoint.
    pub fn endpoint(token_endpoint: impl Into<String>) -> TokenExchangeBuilder {
        TokenExchange::builder(Endpoint::Fixed(token_endpoint.into()))
    }

    /// An exchange at the `token_endpoint` of `issuer`'s discovery document (OpenID
    /// `/.well-known/openid-configuration`, else RFC 8414 metadata), looked up at the first
    /// exchange; the document must name this `issuer` exactly.
    pub fn discover(issuer: impl Into<String>) -> TokenExchangeBuilder {
        TokenExchange::builder(Endpoint::Discover(issuer.into()))
    }

    fn builder(endpoint: Endpoint) -> TokenExchangeBuilder {
        TokenExchangeBuilder {
            endpoint,
            auth: ClientAuth::None,
            actor: None,
            downstreams: HashMap::new(),
            fetcher: None,
            margin: Duration::from_secs(30),
            clock: Arc::new(SystemClock),
        }
    }

    /// A token for `downstream`, acting for the subject of `verified`: its own (verified)
    /// token is the `subject_token`. From the cache while the token there is more than the
    /// margin from expiry; concurrent calls for the same token and downstream make one
    /// exchange.
    ///
    /// # Errors
    /// See [`ExchangeError`]: never a token, never the incoming one.
    pub async fn for_downstream<T>(
        &self,
        verified: &Verified<T>,
        downstream: &str,
    ) -> Result<ExchangedToken, ExchangeError> {
        let inner = &self.inner;
        let settings = inner
            .downstreams
            .get(downstream)
            .ok_or(ExchangeError::UnknownDownstream)?;
        let subject = verified
            .presented
            .token()
            .ok_or(ExchangeError::NoSubjectToken)?;
        let key = (crate::verifier::token_hash(subject), Arc::from(downstream));
        loop {
            let slot = inner
                .cache
                .get_with(key.clone(), || Arc::new(tokio::sync::OnceCell::new()));
            let outcome = slot
                .get_or_try_init(|| inner.exchange(subject, settings))
                .await?
                .clone();
            let now = inner.clock.now_unix();
            match outcome {
                Outcome::Issued(token) if now + inner.margin.as_secs() < token.expires_at => {
                    return Ok(token);
                }
                Outcome::Refused { code, until } if now < until => {
                    return Err(ExchangeError::Refused(code.to_string()));
                }
                // Past its time: forget it (unless another call already did) and exchange again.
                _ => {
                    if let Some(current) = inner.cache.get(&key) {
                        if Arc::ptr_eq(&current, &slot) {
                            inner.cache.invalidate(&key);
                        }
                    }
                }
            }
        }
    }
}

impl TokenExchange {
    /// `request` with `Authorization: Bearer` and a token for `downstream` acting for the
    /// subject of `verified` ([`for_downstream`](TokenExchange::for_downstream)): one call per
    /// outgoing request, and the request is never built with the incoming token.
    ///
    /// # Errors
    /// As [`for_downstream`](TokenExchange::for_downstream): then no request is to be sent.
    pub async fn authorize<T>(
        &self,
        request: reqwest::RequestBuilder,
        verified: &Verified<T>,
        downstream: &str,
    ) -> Result<reqwest::RequestBuilder, ExchangeError> {
        Ok(self
            .for_downstream(verified, downstream)
            .await?
            .authorize(request))
    }
}

impl Inner {
    /// One exchange at the token endpoint.
    /// The token endpoint: configured, or discovered once.
    async fn token_endpoint(&self) -> Result<&str, ExchangeError> {
        match &self.endpoint {
            Endpoint::Fixed(url) => Ok(url),
            Endpoint::Discover(issuer) => self
                .discovered
                .get_or_try_init(|| self.discover(issuer))
                .await
                .map(String::as_str),
        }
    }

    async fn discover(&self, issuer: &str) -> Result<String, ExchangeError> {
        #[derive(Deserialize)]
        struct Metadata {
            issuer: String,
            token_endpoint: Option<String>,
        }
        let base = issuer.trim_end_matches('/');
        for path in [
            "/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server",
        ] {
            let Ok(document) = self.fetcher.get(&format!("{base}{path}"), MAX_BODY).await else {
                continue;
            };
            if document.status != 200 {
                continue;
            }
            let metadata: Metadata = crate::json::from_strict_slice(&document.body)
                .map_err(|_| ExchangeError::Unavailable)?;
            // A document for another issuer names no endpoint of this one.
            if metadata.issuer != issuer {
                return Err(ExchangeError::Unavailable);
            }
            let endpoint = metadata.token_endpoint.ok_or(ExchangeError::Unavailable)?;
            return fetch::check_url(&endpoint)
                .map(|url| url.to_string())
                .map_err(|_| ExchangeError::Unavailable);
        }
        Err(ExchangeError::Unavailable)
    }

    async fn exchange(
        &self,
        subject: &str,
        downstream: &Downstream,
    ) -> Result<Outcome, ExchangeError> {
        let endpoint = self.token_endpoint().await?;
        let now = self.clock.now_unix();
        // The serializer is not `Sync`: built and dropped before anything is awaited.
        let form = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", GRANT_TYPE);
            form.append_pair("subject_token", subject);
            form.append_pair("subject_token_type", ACCESS_TOKEN_TYPE);
            if let Some(audience) = &downstream.audience {
                form.append_pair("audience", audience);
            }
            if let Some(resource) = &downstream.resource {
                form.append_pair("resource", resource);
            }
            if let Some(scope) = &downstream.scope {
                form.append_pair("scope", scope);
            }
            if let Some(token_type) = &downstream.requested_token_type {
                form.append_pair("requested_token_type", token_type);
            }
            if let Some((token, token_type)) = &self.actor {
                form.append_pair("actor_token", &token.0);
                form.append_pair("actor_token_type", token_type);
            }
            self.credentials.append(&mut form, endpoint, now);
            form.finish()
        };
        let document = self
            .fetcher
            .post_form(endpoint, self.credentials.authorization(), &form, MAX_BODY)
            .await
            .map_err(|_| ExchangeError::Unavailable)?;
        match document.status {
            200 => {
                let answer: TokenResponse = crate::json::from_strict_slice(&document.body)
                    .map_err(|_| ExchangeError::Unavailable)?;
                if answer.access_token.is_empty() {
                    return Err(ExchangeError::Unavailable);
                }
                Ok(Outcome::Issued(ExchangedToken {
                    access_token: answer.access_token.into(),
                    // Without `expires_in`, the margin alone: used once, not kept.
                    expires_at: now + answer.expires_in.unwrap_or(0),
                    issued_token_type: answer.issued_token_type.map(Into::into),
                }))
            }
            400..=499 => {
                let code = crate::json::from_strict_slice::<ErrorResponse>(&document.body)
                    .map(|e| e.error)
                    .ok()
                    .filter(|code| code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
                    .unwrap_or_else(|| "invalid_request".to_owned());
                Ok(Outcome::Refused {
                    code: code.into(),
                    until: now + REFUSAL_MEMORY.as_secs(),
                })
            }
            _ => Err(ExchangeError::Unavailable),
        }
    }
}
