//! What the MCP 2026-07-28 revision asks of a server, at `McpAuthLayer`: DNS-rebinding
//! protection (`Host`, `Origin`) before authentication, scopes per prompt and resource (URI
//! templates) and by issuer hierarchy, and challenges that name every scope the call needs —
//! the early 401 included, from the `Mcp-Method` / `Mcp-Name` headers.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tokengate_testkit::fixture::{AUDIENCE, ISSUER};
use tokengate_testkit::{NOW, TestKey, claims_at, jwks};
use tokengate_tower::mcp::{AllowedOrigins, McpAuthLayer, McpScopes};
use tokengate_tower::{Algorithm, Issuer, KeySource, Verifier};
use tower::{ServiceBuilder, ServiceExt};

fn scopes() -> McpScopes {
    McpScopes::new()
        .tool("post_message", ["messages:write"])
        .prompt("summarize", ["prompts:use"])
        .resource("notes://{user}/today", ["notes:read"])
        .resource("files://{+path}", ["files:read"])
}

fn setup() -> (TestKey, Verifier) {
    let key = TestKey::shared(Algorithm::ES256);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(ISSUER)
                .audience(AUDIENCE)
                .algorithms([Algorithm::ES256])
                .keys(KeySource::jwks_json(jwks(&[&key])))
                // `messages` satisfies both messages scopes (a hierarchy, MCP 2026-07-28).
                .scope_implies("messages", ["messages:read", "messages:write"]),
        )
        .clock(tokengate::clock::FixedClock::at(NOW))
        .build()
        .unwrap();
    (key, verifier)
}

struct Reply {
    status: StatusCode,
    challenge: String,
    body: Value,
}

async fn send(layer: McpAuthLayer, headers: &[(&str, &str)], body: Value) -> Reply {
    let service = ServiceBuilder::new()
        .layer(layer)
        .service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
        });
    let mut request = Request::post("/mcp").header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        challenge,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn call(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
}

fn token(key: &TestKey, scope: &str) -> String {
    let mut claims = claims_at(ISSUER, AUDIENCE, NOW);
    claims["scope"] = json!(scope);
    format!("Bearer {}", key.mint(&claims))
}

#[tokio::test]
async fn a_foreign_origin_or_host_is_refused_before_authentication() {
    let (key, verifier) = setup();
    let layer = McpAuthLayer::new(verifier, scopes()).allowed_origins(
        AllowedOrigins::loopback()
            .host("mcp.example.com")
            .origin("https://app.example.com"),
    );
    let good = token(&key, "");
    let list = call("tools/list", json!({}));
    let rows: [(&[(&str, &str)], StatusCode); 8] = [
        (
            &[
                ("host", "mcp.example.com"),
                ("origin", "https://app.example.com"),
            ],
            StatusCode::OK,
        ),
        (
            &[
                ("host", "localhost:3001"),
                ("origin", "http://localhost:5173"),
            ],
            StatusCode::OK,
        ),
        (&[("host", "127.0.0.1:3001")], StatusCode::OK),
        (
            &[
                ("host", "mcp.example.com"),
                ("origin", "https://attacker.example"),
            ],
            StatusCode::FORBIDDEN,
        ),
        (&[("host", "attacker.example")], StatusCode::FORBIDDEN),
        (
            &[("host", "localhost.attacker.example:3001")],
            StatusCode::FORBIDDEN,
        ),
        (
            &[("host", "mcp.example.com"), ("origin", "null")],
            StatusCode::FORBIDDEN,
        ),
        (
            &[
                ("host", "mcp.example.com"),
                ("origin", "http://app.example.com"),
            ],
            StatusCode::FORBIDDEN,
        ),
    ];
    for (headers, expected) in rows {
        let mut with_token = headers.to_vec();
        with_token.push(("authorization", &good));
        let reply = send(layer.clone(), &with_token, list.clone()).await;
        assert_eq!(reply.status, expected, "{headers:?}");
        if expected == StatusCode::FORBIDDEN {
            // A JSON-RPC error without id, and no challenge: the credentials are not in
            // question.
            assert_eq!(reply.challenge, "", "{headers:?}");
            assert_eq!(reply.body["error"]["code"], -32600, "{headers:?}");
            assert!(reply.body.get("id").is_none_or(Value::is_null));
            // Refused before authentication: without a token, still 403, not 401.
            let anonymous = send(layer.clone(), headers, list.clone()).await;
            assert_eq!(anonymous.status, StatusCode::FORBIDDEN, "{headers:?}");
        }
    }
}

#[tokio::test]
async fn the_default_allows_loopback_and_the_resource_only() {
    let key = TestKey::shared(Algorithm::ES256);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(ISSUER)
                .algorithms([Algorithm::ES256])
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .resource(tokengate::ProtectedResource::new(
            "https://mcp.example.com/mcp",
        ))
        .build()
        .unwrap();
    let layer = McpAuthLayer::new(verifier, McpScopes::new());
    let list = call("tools/list", json!({}));
    for (host, origin, expected) in [
        (
            "mcp.example.com",
            "https://mcp.example.com",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "localhost:3001",
            "http://localhost:3001",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "evil.example",
            "https://mcp.example.com",
            StatusCode::FORBIDDEN,
        ),
        (
            "mcp.example.com",
            "https://evil.example",
            StatusCode::FORBIDDEN,
        ),
    ] {
        let reply = send(
            layer.clone(),
            &[("host", host), ("origin", origin)],
            list.clone(),
        )
        .await;
        assert_eq!(reply.status, expected, "{host} {origin}");
    }
}

#[tokio::test]
async fn prompts_and_resources_have_scopes_and_hierarchies_satisfy_them() {
    let (key, verifier) = setup();
    let layer = McpAuthLayer::new(verifier, scopes());
    let rows = [
        (
            call("prompts/get", json!({"name": "summarize"})),
            "",
            StatusCode::FORBIDDEN,
            "prompts:use",
        ),
        (
            call("prompts/get", json!({"name": "summarize"})),
            "prompts:use",
            StatusCode::OK,
            "",
        ),
        (
            call("prompts/get", json!({"name": "other"})),
            "",
            StatusCode::OK,
            "",
        ),
        (
            call("resources/read", json!({"uri": "notes://alice/today"})),
            "",
            StatusCode::FORBIDDEN,
            "notes:read",
        ),
        (
            call("resources/read", json!({"uri": "notes://alice/today"})),
            "notes:read",
            StatusCode::OK,
            "",
        ),
        (
            call("resources/subscribe", json!({"uri": "files://a/b/c.txt"})),
            "notes:read",
            StatusCode::FORBIDDEN,
            "files:read",
        ),
        (
            call("resources/read", json!({"uri": "notes://a/b/today"})),
            "",
            StatusCode::OK,
            "",
        ),
        (
            call("tools/call", json!({"name": "post_message"})),
            "messages",
            StatusCode::OK,
            "",
        ),
        (
            call("tools/call", json!({"name": "post_message"})),
            "messages:read",
            StatusCode::FORBIDDEN,
            "messages:write",
        ),
    ];
    for (body, scope, expected, named) in rows {
        let authorization = token(&key, scope);
        let reply = send(
            layer.clone(),
            &[("authorization", &authorization)],
            body.clone(),
        )
        .await;
        assert_eq!(reply.status, expected, "{body} with {scope:?}");
        if expected == StatusCode::FORBIDDEN {
            assert!(
                reply.challenge.contains(&format!(r#"scope="{named}""#)),
                "{body}: {}",
                reply.challenge
            );
        }
    }
    // A batch names every scope any element needs, in one challenge.
    let batch = json!([
        call("prompts/get", json!({"name": "summarize"})),
        call("resources/read", json!({"uri": "files://x"})),
    ]);
    let reply = send(layer.clone(), &[("authorization", &token(&key, ""))], batch).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(
        reply
            .challenge
            .contains(r#"scope="files:read prompts:use""#),
        "{}",
        reply.challenge
    );
    // A resource request without a uri is a JSON-RPC error, not a pass.
    let reply = send(
        layer,
        &[("authorization", &token(&key, ""))],
        call("resources/read", json!({})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"]["code"], -32600);
}

#[tokio::test]
async fn the_early_401_names_the_scopes_the_headers_announce() {
    let (_, verifier) = setup();
    let layer = McpAuthLayer::new(verifier, scopes());
    let body = call("tools/call", json!({"name": "post_message"}));
    let reply = send(
        layer.clone(),
        &[("mcp-method", "tools/call"), ("mcp-name", "post_message")],
        body.clone(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.challenge,
        r#"Bearer realm="api", scope="messages:write""#
    );
    // The base64 form of Mcp-Name too.
    let reply = send(
        layer.clone(),
        &[
            ("mcp-method", "prompts/get"),
            ("mcp-name", "=?base64?c3VtbWFyaXpl?="),
        ],
        call("prompts/get", json!({"name": "summarize"})),
    )
    .await;
    assert_eq!(
        reply.challenge,
        r#"Bearer realm="api", scope="prompts:use""#
    );
    // Without the headers the body is not read for an anonymous request: no scope to name.
    let reply = send(layer, &[], body).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge, r#"Bearer realm="api""#);
}
