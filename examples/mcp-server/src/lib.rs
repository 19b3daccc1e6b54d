//! An MCP server behind tokengate, as a router you can serve or test: rmcp's streamable HTTP
//! service at `/mcp` with two tools, guarded per tool, and its RFC 9728 metadata document.
//!
//! | tool | scope |
//! | --- | --- |
//! | `list_messages` | `messages:read` |
//! | `post_message` | `messages:write` |
//! | `ask_downstream` | `messages:read` |
//!
//! `ask_downstream` calls another API for its caller with a token **exchanged** for that API
//! (RFC 8693; `Settings::downstream`), never the caller's own token; without a downstream it
//! answers that calling other APIs is not configured.
//!
//! Every MCP request needs a valid token for this resource (401 with `resource_metadata`
//! otherwise, so MCP clients find the authorization server); a tool call without the tool's
//! scope is 403 `insufficient_scope` naming the scopes the call needs.

use std::sync::{Arc, Mutex};

use axum::Router;
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use tokengate::exchange::TokenExchange;
use tokengate_tower::mcp::{AllowedOrigins, McpAuthLayer, McpScopes};
use tokengate_tower::tokengate::adapter::ConnectionInfo;
use tokengate_tower::{ResourceMetadata, StandardClaims, Verified, Verifier};
use tower_http::cors::{Any, CorsLayer};

/// The scopes each tool needs.
pub fn scopes() -> McpScopes {
    McpScopes::new()
        .tool("list_messages", ["messages:read"])
        .tool("post_message", ["messages:write"])
        .tool("ask_downstream", ["messages:read"])
}

/// The name `ask_downstream` exchanges tokens for (`TokenExchange::downstream`).
pub const DOWNSTREAM: &str = "downstream";

/// Another API that `ask_downstream` calls for its caller: the exchange that trades the
/// caller's verified token for one issued to it (its downstream named [`DOWNSTREAM`]), and the
/// URL to `GET`. The verifier must keep tokens for the exchange
/// (`VerifierBuilder::keep_tokens_for_exchange`).
#[derive(Clone, Debug)]
pub struct DownstreamApi {
    /// The token exchange (RFC 8693).
    pub exchange: TokenExchange,
    /// What the tool asks for.
    pub url: String,
}

/// One stored message.
#[derive(Clone, Debug)]
struct Message {
    from: String,
    to: String,
    text: String,
}

/// The arguments of `post_message`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PostMessage {
    /// Who the message is for.
    pub to: String,
    /// The message.
    pub text: String,
}

/// The MCP server: its tools read who calls from the claims tokengate verified.
#[derive(Clone)]
pub struct Messages {
    store: Arc<Mutex<Vec<Message>>>,
    downstream: Option<Arc<DownstreamApi>>,
    client: reqwest::Client,
    tool_router: ToolRouter<Self>,
}

/// The caller's `sub`, from the claims the layer put in the request (rmcp hands tools the
/// request's `http::request::Parts`).
fn caller(parts: &http::request::Parts) -> String {
    parts
        .extensions
        .get::<Verified<StandardClaims>>()
        .and_then(|claims| claims.subject())
        .unwrap_or("unknown")
        .to_owned()
}

#[tool_router]
impl Messages {
    fn new(store: Arc<Mutex<Vec<Message>>>, downstream: Option<Arc<DownstreamApi>>) -> Self {
        Messages {
            store,
            downstream,
            client: reqwest::Client::new(),
            tool_router: Self::tool_router(),
        }
    }

    /// Asks the downstream API who the caller is, with a token exchanged for it: the
    /// downstream sees the caller as subject and this server as actor (`act`).
    #[tool(description = "Ask the downstream API who you are (a token exchanged for it)")]
    async fn ask_downstream(&self, Extension(parts): Extension<http::request::Parts>) -> String {
        let Some(downstream) = &self.downstream else {
            return "Calling other APIs is not configured.".to_owned();
        };
        let Some(verified) = parts.extensions.get::<Verified<StandardClaims>>() else {
            return "No verified caller.".to_owned();
        };
        // Never the caller's token: a token the authorization server issued for the downstream.
        let token = match downstream
            .exchange
            .for_downstream(verified, DOWNSTREAM)
            .await
        {
            Ok(token) => token,
            Err(error) => return format!("No token for the downstream API: {error}."),
        };
        let answer = self
            .client
            .get(&downstream.url)
            .bearer_auth(token.access_token())
            .send()
            .await;
        match answer {
            Ok(response) if response.status().is_success() => {
                response.text().await.unwrap_or_default()
            }
            Ok(response) => format!("The downstream API answered {}.", response.status()),
            Err(_) => "The downstream API is unreachable.".to_owned(),
        }
    }

    /// Lists the caller's messages.
    #[tool(description = "List the messages sent to you")]
    fn list_messages(&self, Extension(parts): Extension<http::request::Parts>) -> String {
        let me = caller(&parts);
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        let mine: Vec<String> = store
            .iter()
            .filter(|m| m.to == me)
            .map(|m| format!("{}: {}", m.from, m.text))
            .collect();
        if mine.is_empty() {
            format!("No messages for {me}.")
        } else {
            mine.join("\n")
        }
    }

    /// Posts a message from the caller.
    #[tool(description = "Send a message to someone")]
    fn post_message(
        &self,
        Extension(parts): Extension<http::request::Parts>,
        Parameters(PostMessage { to, text }): Parameters<PostMessage>,
    ) -> String {
        let from = caller(&parts);
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        store.push(Message {
            from: from.clone(),
            to: to.clone(),
            text,
        });
        format!("Sent from {from} to {to}.")
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Messages {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions("Messages between users, for the tokengate MCP example")
    }
}

/// Who may reach the endpoint besides its token: the `Host` names it answers and the browser
/// origins it serves (CORS).
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `Host` values answered besides loopback and the resource's host (DNS-rebinding
    /// protection, in tokengate's guard and in rmcp).
    pub hosts: Vec<String>,
    /// Browser origins allowed to call `/mcp` (`TOKENGATE_CORS_ORIGINS`): CORS preflights from
    /// them pass before authentication, and requests carrying them are answered. None by
    /// default: browser-based clients need this.
    pub cors_origins: Vec<String>,
    /// The API `ask_downstream` calls (none: the tool says it is not configured).
    pub downstream: Option<DownstreamApi>,
}

/// The MCP endpoint at `/mcp` behind tokengate, and the metadata document (readable from any
/// origin). Requests go: CORS (a preflight is answered here, before authentication), the
/// peer's address for tokengate (trusted proxies), the guard (`Host`/`Origin`, token, scopes
/// per tool, session owner), rmcp. Refusals are logged at INFO with method, path and status.
pub fn router(verifier: Verifier, settings: &Settings) -> Router {
    let store = Arc::new(Mutex::new(Vec::new()));
    let downstream = settings.downstream.clone().map(Arc::new);
    let mut config = StreamableHttpServerConfig::default();
    if !settings.hosts.is_empty() {
        let mut hosts = config.allowed_hosts.clone();
        hosts.extend(settings.hosts.iter().cloned());
        config = config.with_allowed_hosts(hosts);
    }
    let service = StreamableHttpService::new(
        move || Ok(Messages::new(Arc::clone(&store), downstream.clone())),
        LocalSessionManager::default().into(),
        config,
    );
    let metadata = ResourceMetadata::new(&verifier);
    let metadata_path = metadata.path().to_owned();
    let mut allowed = AllowedOrigins::for_verifier(&verifier);
    for host in &settings.hosts {
        allowed = allowed.host(host.clone());
    }
    for origin in &settings.cors_origins {
        allowed = allowed.origin(origin.clone());
    }
    let guard = McpAuthLayer::new(verifier, scopes()).allowed_origins(allowed);
    let origins: Vec<http::HeaderValue> = settings
        .cors_origins
        .iter()
        .filter_map(|origin| origin.parse().ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([http::Method::GET, http::Method::POST, http::Method::DELETE])
        .allow_headers([
            http::header::AUTHORIZATION,
            http::header::CONTENT_TYPE,
            http::header::ACCEPT,
            http::HeaderName::from_static("dpop"),
            http::HeaderName::from_static("mcp-session-id"),
            http::HeaderName::from_static("mcp-protocol-version"),
            http::HeaderName::from_static("mcp-method"),
            http::HeaderName::from_static("mcp-name"),
            http::HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([
            http::header::WWW_AUTHENTICATE,
            http::HeaderName::from_static("mcp-session-id"),
            http::HeaderName::from_static("dpop-nonce"),
        ]);
    let public = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([http::Method::GET]);
    let mcp = tower::ServiceBuilder::new()
        .layer(cors)
        .layer(guard)
        .service(service);
    Router::new()
        .route_service("/mcp", mcp)
        .route_service(
            &metadata_path,
            tower::ServiceBuilder::new().layer(public).service(metadata),
        )
        .layer(axum::middleware::from_fn(connection_info))
}

/// Hands each request's peer address to tokengate, which believes forwarding headers only
/// from `TOKENGATE_TRUSTED_PROXIES` (serve with `into_make_service_with_connect_info`), and logs
/// each refusal: method, path and status, never a header.
async fn connection_info(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0);
    request.extensions_mut().insert(ConnectionInfo {
        peer,
        client_certificate: None,
    });
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        tracing::info!(%method, %path, status = status.as_u16(), "refused");
    }
    response
}
