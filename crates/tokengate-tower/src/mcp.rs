//! Protecting an MCP server (Model Context Protocol, streamable HTTP) — rmcp's
//! `StreamableHttpService` on axum, or any tower service: [`McpAuthLayer`].
//!
//! The layer first checks the request's `Host` and `Origin` ([`AllowedOrigins`]: 403 for a
//! DNS-rebinding attempt), then judges its headers: no credentials, or a token that fails
//! verification, is answered before any of the body is read. Then it reads the JSON-RPC body
//! (at most [`McpScopes::max_body`], 4 MiB by default), asks the core which scopes the call
//! needs ([`McpScopes`]: per tool, per method; the `Mcp-Method` / `Mcp-Name` headers are checked
//! against the body, never trusted alone), verifies the token, and passes the request on with
//! its body and the verified claims in the extensions. rmcp hands tools the request's
//! `http::request::Parts`, so a tool reads `parts.extensions.get::<Verified<T>>()`.
//!
//! ```
//! use axum::Router;
//! use tokengate_tower::mcp::{McpAuthLayer, McpScopes};
//! use tokengate_tower::{Issuer, KeySource, ResourceMetadata, Verifier};
//! use tokengate_tower::tokengate::ProtectedResource;
//!
//! # fn app(mcp_service: axum::routing::MethodRouter) -> Result<Router, Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder()
//!     .issuer(Issuer::new("https://login.example.com/").audience("https://mcp.example.com/mcp").keys(KeySource::discover()))
//!     .resource(ProtectedResource::new("https://mcp.example.com/mcp"))
//!     .build()?;
//! let scopes = McpScopes::new()
//!     .tool("list_messages", ["messages:read"])
//!     .tool("post_message", ["messages:write"]);
//! let metadata = ResourceMetadata::new(&verifier);
//! let metadata_path = metadata.path().to_owned();
//! let app = Router::new()
//!     .route("/mcp", mcp_service.layer(McpAuthLayer::new(verifier, scopes)))
//!     .route_service(&metadata_path, metadata);
//! # Ok(app) }
//! ```
//!
//! The token stops here: rmcp's server never forwards it, and tools calling other APIs must
//! get their own tokens (token exchange), never pass this one on (`docs/guide.md`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use serde::de::DeserializeOwned;
use tokengate::adapter::{ConnectionInfo, Decision, Guard, RequestView};
use tokengate::{StandardClaims, Verified, Verifier};
use tower_layer::Layer;
use tower_service::Service;

use tokengate::mcp::SESSION_HEADER;
pub use tokengate::mcp::{AllowedOrigins, DEFAULT_MAX_BODY_BYTES, McpScopes, McpSessions};

use crate::body::AuthBody;

/// What an MCP endpoint adds to the guard: the scopes per tool and method, the sessions.
struct Mcp {
    scopes: McpScopes,
    sessions: Arc<McpSessions>,
    origins: AllowedOrigins,
}

/// The layer guarding an MCP endpoint: a valid token for every request, and the scopes of each
/// tool or method called. The route options (`require_dpop`, `require`, `check`, ...) are the
/// core [`Guard`]'s, as on every adapter.
#[must_use]
pub struct McpAuthLayer<T = StandardClaims> {
    guard: Guard<T>,
    mcp: Arc<Mcp>,
}

impl McpAuthLayer<StandardClaims> {
    /// Guards with `verifier`, requiring `scopes` per tool and method.
    pub fn new(verifier: Verifier, scopes: McpScopes) -> Self {
        McpAuthLayer {
            mcp: Arc::new(Mcp {
                scopes,
                sessions: Arc::new(McpSessions::default()),
                origins: AllowedOrigins::for_verifier(&verifier),
            }),
            guard: Guard::new(verifier),
        }
    }
}

tokengate::guard_options!(McpAuthLayer { guard, mcp });

impl<T> McpAuthLayer<T> {
    /// Remember sessions in `sessions` (its capacity and idle timeout) instead of the default
    /// registry. Each session is bound to the principal that opened it: a request on it with
    /// another principal's token, or on a session this layer never saw open, is answered 404.
    pub fn sessions(self, sessions: McpSessions) -> Self {
        let mcp = Mcp {
            scopes: self.mcp.scopes.clone(),
            sessions: Arc::new(sessions),
            origins: self.mcp.origins.clone(),
        };
        McpAuthLayer {
            guard: self.guard,
            mcp: Arc::new(mcp),
        }
    }

    /// Answer only requests whose `Host` and `Origin` are `allowed` (DNS-rebinding
    /// protection): others get 403 before anything else. The default is loopback plus the
    /// verifier's resource ([`AllowedOrigins::for_verifier`]); add the server's other names and
    /// the browser origins CORS allows.
    pub fn allowed_origins(self, allowed: AllowedOrigins) -> Self {
        let mcp = Mcp {
            scopes: self.mcp.scopes.clone(),
            sessions: Arc::clone(&self.mcp.sessions),
            origins: allowed,
        };
        McpAuthLayer {
            guard: self.guard,
            mcp: Arc::new(mcp),
        }
    }
}

impl<S, T> Layer<S> for McpAuthLayer<T> {
    type Service = McpAuth<S, T>;
    fn layer(&self, inner: S) -> Self::Service {
        McpAuth {
            inner,
            guard: self.guard.clone(),
            mcp: Arc::clone(&self.mcp),
        }
    }
}

/// The service of [`McpAuthLayer`].
pub struct McpAuth<S, T = StandardClaims> {
    inner: S,
    guard: Guard<T>,
    mcp: Arc<Mcp>,
}

impl<S: Clone, T> Clone for McpAuth<S, T> {
    fn clone(&self) -> Self {
        McpAuth {
            inner: self.inner.clone(),
            guard: self.guard.clone(),
            mcp: Arc::clone(&self.mcp),
        }
    }
}

impl<S, T> fmt::Debug for McpAuth<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpAuth")
            .field("scopes", &self.mcp.scopes)
            .finish_non_exhaustive()
    }
}

inner_service_accessors!(McpAuth);

type McpFuture<B, E> = Pin<Box<dyn Future<Output = Result<Response<AuthBody<B>>, E>> + Send>>;

impl<S, T, ReqBody, ResBody> Service<Request<ReqBody>> for McpAuth<S, T>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Body<Data = Bytes> + From<Bytes> + Send + 'static,
    ReqBody::Error: Into<crate::body::BoxError>,
    T: DeserializeOwned + Send + Sync + 'static,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = McpFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let guard = self.guard.clone();
        let mcp = Arc::clone(&self.mcp);
        // The clone that was made ready is the one called (tower's readiness contract).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        // The core's sequence (`docs/security.md`, "MCP servers"): the headers first (no
        // credentials, or a token that fails verification, is answered without reading the
        // body), the body under its cap, the decision, the session's owner, the call.
        let checked = {
            let view = RequestView::from_http(request.method(), request.uri(), request.headers())
                .with_connection(request.extensions().get::<ConnectionInfo>());
            let earlier = request.extensions().get::<Verified<T>>();
            guard.verifier().before_mcp_body::<T, _>(
                &view,
                &mcp.origins,
                &mcp.scopes,
                guard.policy(),
                earlier,
            )
        };
        Box::pin(async move {
            let checked = match checked {
                Ok(checked) => checked,
                Err(answer) => return Ok(reply(answer)),
            };
            let (mut parts, body) = request.into_parts();
            let Ok(collected) = Limited::new(body, mcp.scopes.max_body()).collect().await else {
                return Ok(reply(tokengate::mcp::unreadable_body()));
            };
            let bytes = collected.to_bytes();
            let decision = {
                let view = RequestView::from_http(&parts.method, &parts.uri, &parts.headers)
                    .with_connection(parts.extensions.get::<ConnectionInfo>());
                let earlier = parts.extensions.get::<Verified<T>>();
                guard.verifier().decide_mcp_checked::<T, _>(
                    &view,
                    &bytes,
                    &mcp.scopes,
                    guard.policy(),
                    earlier,
                    checked,
                )
            };
            let admission = match decision {
                Decision::Admit(admission) => admission,
                Decision::Deny(answer) => return Ok(reply(answer)),
                Decision::Pending(pending) => match pending.resolve().await {
                    Ok(admission) => admission,
                    Err(answer) => return Ok(reply(answer)),
                },
            };
            if let Some(verified) = admission.into_verified() {
                parts.extensions.insert(verified);
            }
            parts.extensions.insert(guard.verifier().clone());
            let principal = parts
                .extensions
                .get::<Verified<T>>()
                .map(Verified::principal);
            let session =
                match mcp
                    .sessions
                    .before(parts.method.as_str(), &parts.headers, principal)
                {
                    Ok(session) => session,
                    Err(answer) => return Ok(reply(answer)),
                };
            let request = Request::from_parts(parts, ReqBody::from(bytes));
            // The GET stream (server-sent events) ends at the token's deadline.
            let seed = crate::layer::stream_seed::<_, T>(&request, guard.verifier());
            let response = inner.call(request).await?;
            let opened = response
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok());
            mcp.sessions
                .after(session, response.status().is_success(), opened);
            Ok(crate::layer::with_seed(response, seed))
        })
    }
}

fn reply<B>(answer: tokengate::Answer) -> Response<AuthBody<B>> {
    answer
        .into_response()
        .map(|body| AuthBody::rejection(Full::new(body)))
}
