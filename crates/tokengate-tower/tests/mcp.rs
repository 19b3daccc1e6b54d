//! `McpAuthLayer` judges the headers before it reads the body: an unauthenticated request
//! costs no buffer (40 of them once took an MCP server from 7 to 170 MiB).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::Full;
use tokengate_testkit::fixture::{AUDIENCE, ISSUER};
use tokengate_testkit::{NOW, claims_at};
use tokengate_tower::mcp::{McpAuthLayer, McpScopes};
use tower::{ServiceBuilder, ServiceExt};

/// A request body that records whether anyone read it.
enum Watched {
    Bytes(Full<Bytes>),
    Tripwire(Arc<AtomicBool>, Option<Bytes>),
}

impl From<Bytes> for Watched {
    fn from(bytes: Bytes) -> Self {
        Watched::Bytes(Full::new(bytes))
    }
}

impl Body for Watched {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Watched::Bytes(full) => Pin::new(full).poll_frame(cx),
            Watched::Tripwire(read, body) => {
                read.store(true, Ordering::SeqCst);
                Poll::Ready(body.take().map(|b| Ok(Frame::data(b))))
            }
        }
    }
}

const CALL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_messages","arguments":{}}}"#;

async fn send(authorization: Option<String>) -> (StatusCode, bool) {
    let (key, verifier) = tokengate_testkit::fixture::static_verifier();
    let _ = key;
    let scopes = McpScopes::new().tool("list_messages", ["messages:read"]);
    let service = ServiceBuilder::new()
        .layer(McpAuthLayer::new(verifier, scopes))
        .service_fn(|_: Request<Watched>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        });
    let read = Arc::new(AtomicBool::new(false));
    let mut request = Request::post("/mcp").header("content-type", "application/json");
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let request = request
        .body(Watched::Tripwire(
            Arc::clone(&read),
            Some(Bytes::from_static(CALL.as_bytes())),
        ))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    (response.status(), read.load(Ordering::SeqCst))
}

#[tokio::test]
async fn no_token_or_a_bad_token_is_answered_without_reading_the_body() {
    assert_eq!(send(None).await, (StatusCode::UNAUTHORIZED, false));
    assert_eq!(
        send(Some("Bearer not-a-token".to_owned())).await,
        (StatusCode::UNAUTHORIZED, false)
    );
    assert_eq!(
        send(Some("Bearer a b".to_owned())).await,
        (StatusCode::BAD_REQUEST, false)
    );
    // A valid token: the body is read, the tool's scope checked, the call passed on.
    let key = tokengate_testkit::TestKey::shared(tokengate::Algorithm::ES256);
    let token = key.mint(&claims_at(ISSUER, AUDIENCE, NOW));
    assert_eq!(
        send(Some(format!("Bearer {token}"))).await,
        (StatusCode::OK, true)
    );
}

/// Nested guards: `McpAuthLayer` with `require_dpop` under a global `AuthLayer` of the same
/// verifier refuses a plain bearer token the outer layer admitted (`docs/security.md`, "Nested
/// guards"); before, it trusted the outer layer's claims and answered 200.
#[tokio::test]
async fn an_mcp_layer_requiring_dpop_under_a_global_layer_refuses_bearer_tokens() {
    use tokengate_tower::AuthLayer;
    use tokengate_tower::tokengate::adapter::Policy;
    let (key, verifier) = tokengate_testkit::fixture::static_verifier();
    let scopes = McpScopes::new().tool("list_messages", ["messages:read"]);
    let service = ServiceBuilder::new()
        .layer(AuthLayer::new(verifier.clone()))
        .layer(McpAuthLayer::new(verifier, scopes).policy(Policy::new().require_dpop()))
        .service_fn(|_: Request<Watched>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        });
    let token = key.mint(&claims_at(ISSUER, AUDIENCE, NOW));
    let request = Request::post("/mcp")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Watched::from(Bytes::from_static(CALL.as_bytes())))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with(r#"DPoP realm="api", algs=""#),
        "{challenge}"
    );
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
}
