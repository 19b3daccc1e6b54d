//! The tokengate reference API on axum (`docs/architecture.md`, "Reference API"), as a router you can serve or test.
//!
//! | route | access | 200 body |
//! | --- | --- | --- |
//! | `GET /health` | public | `ok` |
//! | `GET /me` | valid token | `{"sub": …, "scopes": [..]}` |
//! | `GET /messages` | scope `messages:read` | JSON array |
//! | `GET /greeting` | optional | `Hello, <sub>!` or `Hello, anonymous!`; a bad token is 401 |
//! | `GET /.well-known/oauth-protected-resource[/path]` | public | RFC 9728 metadata, when the verifier has a resource |
//!
//! It shows both modes: `/me` and `/greeting` use extractors with the `Verifier` in the router
//! state; `/messages` uses the layer as a per-route scope requirement.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokengate_tower::{AuthLayer, Claims, ResourceMetadata, Verifier};

/// The reference API guarded by `verifier`, with its RFC 9728 metadata document when the
/// verifier has a resource.
pub fn router(verifier: Verifier) -> Router {
    let read_messages = AuthLayer::new(verifier.clone()).require_scopes(["messages:read"]);
    let metadata = ResourceMetadata::new(&verifier);
    Router::new()
        .route_service(metadata.path(), metadata.clone())
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
