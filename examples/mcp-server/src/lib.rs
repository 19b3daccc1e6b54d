//! An MCP server behind tokengate, as a router you can serve or test: rmcp's streamable HTTP
//! service at `/mcp` with two tools, guarded per tool, and its RFC 9728 metadata document.
//!
//! | tool | scope |
//! | --- | --- |
//! | `list_messages` | `messages:read` |
//! | `post_message` | `messages:write` |
//!
//! Every MCP request needs a valid token for this resource (401 with `resource_metadata`
//! otherwise, so MCP clients find the authorization server); a tool call without the tool's
//! scope is 403 `insufficient_scope` naming the scopes the call needs.

use std::sync::{Arc, Mutex};

use axum::Router;
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use tokengate_tower::mcp::{McpAuthLayer, McpScopes};
use tokengate_tower::{ResourceMetadata, StandardClaims, Verified, Verifier};

/// The scopes each tool needs.
pub fn scopes() -> McpScopes {
    McpScopes::new()
        .tool("list_messages", ["messages:read"])
        .tool("post_message", ["messages:write"])
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
    fn new(store: Arc<Mutex<Vec<Message>>>) -> Self {
        Messages {
            store,
            tool_router: Self::tool_router(),
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
            .with_instructions("Messages between users, for the tokengate MCP example")
    }
}

/// The MCP endpoint at `/mcp` behind tokengate, and the metadata document. `allowed_hosts` are
/// the `Host` values rmcp accepts (DNS-rebinding protection): loopback by default, plus the
/// resource's host when one is configured.
pub fn router(verifier: Verifier, allowed_hosts: &[String]) -> Router {
    let store = Arc::new(Mutex::new(Vec::new()));
    let mut config = StreamableHttpServerConfig::default();
    if !allowed_hosts.is_empty() {
        let mut hosts = config.allowed_hosts.clone();
        hosts.extend(allowed_hosts.iter().cloned());
        config = config.with_allowed_hosts(hosts);
    }
    let service = StreamableHttpService::new(
        move || Ok(Messages::new(Arc::clone(&store))),
        LocalSessionManager::default().into(),
        config,
    );
    let metadata = ResourceMetadata::new(&verifier);
    let metadata_path = metadata.path().to_owned();
    let guard = McpAuthLayer::new(verifier, scopes());
    Router::new()
        .route_service("/mcp", service)
        .route_layer(guard)
        .route_service(&metadata_path, metadata)
}
