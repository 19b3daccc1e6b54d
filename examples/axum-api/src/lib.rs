//! The tokengate reference API on axum (DESIGN section 7), as a router you can serve or test.
//!
//! | route | access | 200 body |
//! | --- | --- | --- |
//! | `GET /health` | public | `ok` |
//! | `GET /me` | valid token | `{"sub": …, "scopes": [..]}` |
//! | `GET /messages` | scope `messages:read` | JSON array |
//! | `GET /greeting` | optional | `Hello, <sub>!` or `Hello, anonymous!`; a bad token is 401 |
//!
//! It shows both modes: `/me` and `/greeting` use extractors with the `Verifier` in the router
//! state; `/messages` uses the layer as a per-route scope requirement.

use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokengate_tower::{Algorithm, AuthLayer, Claims, Issuer, KeySource, Verifier};

/// The reference API guarded by `verifier`.
pub fn router(verifier: Verifier) -> Router {
    let read_messages = AuthLayer::new(verifier.clone()).require_scopes(["messages:read"]);
    Router::new()
        .route("/health", get(health))
        .route("/me", get(me))
        .route("/messages", get(messages).route_layer(read_messages))
        .route("/greeting", get(greeting))
        .with_state(verifier)
}

async fn health() -> &'static str {
    "ok"
}

async fn me(claims: Claims) -> Json<Value> {
    Json(json!({
        "sub": claims.subject(),
        "scopes": claims.scopes().iter().collect::<Vec<_>>(),
    }))
}

async fn messages(claims: Claims) -> Json<Value> {
    let to = claims.subject().unwrap_or("you");
    Json(json!([
        {"id": 1, "to": to, "text": "Welcome to tokengate."},
        {"id": 2, "to": to, "text": "Your token carried messages:read."},
    ]))
}

async fn greeting(claims: Option<Claims>) -> String {
    match claims.as_ref().and_then(|c| c.subject()) {
        Some(sub) => format!("Hello, {sub}!"),
        None => "Hello, anonymous!".to_owned(),
    }
}

/// Configuration from `TOKENGATE_*` environment variables.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `TOKENGATE_ADDR` (default `127.0.0.1:3000`).
    pub addr: String,
    /// `TOKENGATE_ISSUER`: the expected `iss`; `None` starts the development issuer.
    pub issuer: Option<String>,
    /// `TOKENGATE_JWKS_URL`: keys from this URL instead of discovery.
    pub jwks_url: Option<String>,
    /// `TOKENGATE_AUDIENCE` (default `tokengate-demo`).
    pub audience: String,
    /// `TOKENGATE_ALGORITHMS`: comma list (default: the asymmetric algorithms).
    pub algorithms: Vec<Algorithm>,
    /// `TOKENGATE_LEEWAY_SECS` (default 60).
    pub leeway: Duration,
    /// `TOKENGATE_RFC9068=1`: the strict access-token profile.
    pub rfc9068: bool,
}

impl Settings {
    /// Reads the environment.
    ///
    /// # Errors
    /// A message naming the variable with an invalid value.
    pub fn from_env() -> Result<Settings, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let algorithms = match var("TOKENGATE_ALGORITHMS") {
            Some(list) => list
                .split(',')
                .map(|a| {
                    a.trim()
                        .parse::<Algorithm>()
                        .map_err(|_| format!("TOKENGATE_ALGORITHMS: unknown algorithm {a:?}"))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Algorithm::ASYMMETRIC.to_vec(),
        };
        let leeway = match var("TOKENGATE_LEEWAY_SECS") {
            Some(secs) => Duration::from_secs(
                secs.trim()
                    .parse()
                    .map_err(|_| "TOKENGATE_LEEWAY_SECS: not a number of seconds".to_owned())?,
            ),
            None => tokengate::DEFAULT_LEEWAY,
        };
        Ok(Settings {
            addr: var("TOKENGATE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned()),
            issuer: var("TOKENGATE_ISSUER"),
            jwks_url: var("TOKENGATE_JWKS_URL"),
            audience: var("TOKENGATE_AUDIENCE").unwrap_or_else(|| "tokengate-demo".to_owned()),
            algorithms,
            leeway,
            rfc9068: var("TOKENGATE_RFC9068")
                .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true")),
        })
    }

    /// The verifier for `issuer` (the configured one, or the development issuer's).
    ///
    /// # Errors
    /// The configuration error, as text.
    pub fn verifier(&self, issuer: &str) -> Result<Verifier, String> {
        let keys = match &self.jwks_url {
            Some(url) => KeySource::jwks_url(url),
            None => KeySource::discover(),
        };
        let mut issuer = Issuer::new(issuer)
            .audience(&self.audience)
            .algorithms(self.algorithms.clone())
            .keys(keys);
        if self.rfc9068 {
            issuer = issuer.rfc9068();
        }
        Verifier::builder()
            .issuer(issuer)
            .leeway(self.leeway)
            .build()
            .map_err(|e| e.to_string())
    }
}
