//! The MCP example driven by rmcp's own client over loopback HTTP, against the testkit's
//! issuer: 401 with `resource_metadata` that resolves to a document naming the issuer; a token
//! with only the read scope calls the read tool and gets 403 with `scope` for the write tool;
//! a token for another resource is 401.

use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use tokengate_testkit::IssuerServer;
use tokengate_tower::{Issuer, KeySource, ProtectedResource, Verifier};

struct Server {
    issuer: IssuerServer,
    url: String,
    resource: String,
}

async fn start() -> Server {
    start_with(mcp_server::Settings::default()).await
}

async fn start_with(settings: mcp_server::Settings) -> Server {
    let issuer = IssuerServer::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let resource = format!("http://127.0.0.1:{}/mcp", addr.port());
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(issuer.issuer())
                .audience(&resource)
                .keys(KeySource::jwks_url(issuer.jwks_url())),
        )
        .resource(
            ProtectedResource::new(&resource).scopes_supported(["messages:read", "messages:write"]),
        )
        .build()
        .unwrap();
    let router = mcp_server::router(verifier, &settings)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Server {
        url: resource.clone(),
        resource,
        issuer,
    }
}

impl Server {
    fn token(&self, audience: &str, scope: &str) -> String {
        let now = tokengate_testkit::now();
        self.issuer.mint(&json!({
            "iss": self.issuer.issuer(), "sub": "alice", "aud": audience, "iat": now,
            "exp": now + 600, "scope": scope,
        }))
    }

    async fn client(
        &self,
        token: Option<&str>,
    ) -> Result<
        rmcp::service::RunningService<rmcp::RoleClient, ()>,
        rmcp::service::ClientInitializeError,
    > {
        let mut config = StreamableHttpClientTransportConfig::with_uri(self.url.clone());
        if let Some(token) = token {
            config = config.auth_header(token.to_owned());
        }
        tokio::time::timeout(
            Duration::from_secs(10),
            ().serve(StreamableHttpClientTransport::from_config(config)),
        )
        .await
        .expect("the handshake does not hang")
    }
}

/// A quoted parameter of a challenge.
fn param(challenge: &str, name: &str) -> Option<String> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let end = challenge[start..].find('"')?;
    Some(challenge[start..start + end].to_owned())
}

fn text(result: &rmcp::model::CallToolResult) -> String {
    let value = serde_json::to_value(&result.content).unwrap();
    value[0]["text"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_is_401_with_metadata_that_names_the_issuer() {
    let server = start().await;
    let error = server.client(None).await.expect_err("no token, no session");
    assert!(error.is_authorization_required());
    let challenge = error
        .auth_challenge()
        .expect("the 401's challenge")
        .to_owned();
    assert!(
        challenge.starts_with(r#"Bearer realm="api""#),
        "{challenge}"
    );
    let metadata_url = param(&challenge, "resource_metadata").expect("resource_metadata");
    assert_eq!(
        metadata_url,
        server
            .resource
            .replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
    );
    let document: Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(&metadata_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["resource"], json!(server.resource));
    assert_eq!(
        document["authorization_servers"],
        json!([server.issuer.issuer()])
    );
    assert_eq!(
        document["scopes_supported"],
        json!(["messages:read", "messages:write"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_scope_calls_the_read_tool_and_gets_403_with_scope_for_the_write_tool() {
    let server = start().await;
    let reader = server.token(&server.resource, "messages:read");
    let client = server.client(Some(&reader)).await.expect("a session");
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["ask_downstream", "list_messages", "post_message"]);

    let listed = client
        .call_tool(CallToolRequestParams::new("list_messages"))
        .await
        .expect("the read scope suffices");
    assert_eq!(text(&listed), "No messages for alice.");

    let arguments = json!({"to": "bob", "text": "hi"})
        .as_object()
        .unwrap()
        .clone();
    let error = client
        .call_tool(CallToolRequestParams::new("post_message").with_arguments(arguments.clone()))
        .await
        .expect_err("the write scope is missing");
    let challenge = error
        .auth_challenge()
        .expect("the 403's challenge")
        .to_owned();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    assert_eq!(
        param(&challenge, "scope").as_deref(),
        Some("messages:write")
    );
    assert!(param(&challenge, "resource_metadata").is_some());
    client.cancel().await.ok();

    // With both scopes the write tool works, and tools see who called.
    let writer = server.token(&server.resource, "messages:read messages:write");
    let client = server.client(Some(&writer)).await.expect("a session");
    let sent = client
        .call_tool(CallToolRequestParams::new("post_message").with_arguments(arguments))
        .await
        .expect("both scopes");
    assert_eq!(text(&sent), "Sent from alice to bob.");
    client.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_another_resource_is_401() {
    let server = start().await;
    let foreign = server.token(
        "https://other.example.com/mcp",
        "messages:read messages:write",
    );
    let error = server
        .client(Some(&foreign))
        .await
        .expect_err("another resource's token");
    let challenge = error
        .auth_challenge()
        .expect("the 401's challenge")
        .to_owned();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert!(param(&challenge, "resource_metadata").is_some());
}

/// A request whose MCP headers disagree with its body, a body with duplicate keys, or
/// `Mcp-Method` on a batch is 400 with a JSON-RPC error body (MCP 2026-07-28: -32020 for a
/// header mismatch) and no challenge: the credentials were fine. Before, it was a `text/plain`
/// answer with `WWW-Authenticate: … error="invalid_request"`, blaming valid credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_naming_another_tool_than_the_body_is_refused() {
    let server = start().await;
    let reader = server.token(&server.resource, "messages:read");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let send = |headers: Vec<(&'static str, &'static str)>, body: String| {
        let mut request = http
            .post(&server.url)
            .bearer_auth(&reader)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let call = json!({
        "jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "post_message", "arguments": {"to": "bob", "text": "hi"}}
    })
    .to_string();
    let batch = format!("[{call}]");
    let duplicate =
        r#"{"jsonrpc":"2.0","id":8,"method":"tools/list","method":"tools/call"}"#.to_owned();
    for (case, headers, body, id, code) in [
        (
            "Mcp-Name names another tool",
            vec![("mcp-method", "tools/call"), ("mcp-name", "list_messages")],
            call.clone(),
            json!(7),
            -32020,
        ),
        (
            "Mcp-Method names another method",
            vec![("mcp-method", "tools/list")],
            call.clone(),
            json!(7),
            -32020,
        ),
        (
            "Mcp-Method on a batch",
            vec![("mcp-method", "tools/call")],
            batch,
            Value::Null,
            -32020,
        ),
        ("a duplicate key", vec![], duplicate, Value::Null, -32700),
    ] {
        let response = send(headers, body).await.unwrap();
        assert_eq!(response.status(), 400, "{case}");
        assert!(
            response.headers().get("www-authenticate").is_none(),
            "{case}: no challenge"
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{case}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["jsonrpc"], "2.0", "{case}");
        assert_eq!(body["id"], id, "{case}");
        assert_eq!(body["error"]["code"], code, "{case}");
    }
    // The base64 form of Mcp-Name is decoded before it is compared.
    let response = send(
        vec![
            ("mcp-method", "tools/call"),
            ("mcp-name", "=?base64?cG9zdF9tZXNzYWdl?="),
        ],
        call,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 403, "post_message needs messages:write");
}

/// A session belongs to the principal that opened it: another user's valid token on it gets
/// 404 (as for an unknown session) for every method — before, bob could call tools in alice's
/// session, open its stream and close it. A session id this server never opened is 404 too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_bound_to_the_user_who_opened_it() {
    let server = start().await;
    let token_for = |sub: &str| {
        let now = tokengate_testkit::now();
        server.issuer.mint(&json!({
            "iss": server.issuer.issuer(), "sub": sub, "aud": server.resource, "iat": now,
            "exp": now + 600, "scope": "messages:read messages:write",
        }))
    };
    let (alice, bob) = (token_for("alice"), token_for("bob"));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = |token: &str, session: Option<&str>, body: Value| {
        let mut request = http
            .post(&server.url)
            .bearer_auth(token)
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        request.send()
    };
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "1"}}
    });
    let opened = post(&alice, None, initialize).await.unwrap();
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    drop(opened);
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    assert_eq!(
        post(&alice, Some(&session), initialized)
            .await
            .unwrap()
            .status(),
        202
    );
    // Bob's valid token on Alice's session: 404 for a call, the stream and the close.
    let hijack = post(&bob, Some(&session), list.clone()).await.unwrap();
    assert_eq!(hijack.status(), 404);
    assert!(hijack.headers().get("www-authenticate").is_none());
    let stream = http
        .get(&server.url)
        .bearer_auth(&bob)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 404);
    let close = http
        .delete(&server.url)
        .bearer_auth(&bob)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(close.status(), 404);
    // A session id never opened here.
    assert_eq!(
        post(&alice, Some("not-a-session"), list.clone())
            .await
            .unwrap()
            .status(),
        404
    );
    // Alice's session is untouched: her call works, and she can close it.
    assert_eq!(
        post(&alice, Some(&session), list.clone())
            .await
            .unwrap()
            .status(),
        200
    );
    let close = http
        .delete(&server.url)
        .bearer_auth(&alice)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert!(close.status().is_success(), "{}", close.status());
    assert_eq!(
        post(&alice, Some(&session), list).await.unwrap().status(),
        404
    );
}

/// Browser clients: a CORS preflight from an allowed origin passes before authentication, the
/// metadata document is readable from any origin, a request from another origin is 403 (DNS
/// rebinding), and the server names itself, not its SDK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_get_cors_and_foreign_origins_get_403() {
    let server = start_with(mcp_server::Settings {
        hosts: Vec::new(),
        cors_origins: vec!["http://localhost:5173".to_owned()],
        downstream: None,
    })
    .await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let preflight = http
        .request(reqwest::Method::OPTIONS, &server.url)
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,mcp-session-id",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert!(preflight.headers().get("www-authenticate").is_none());
    // Another origin's preflight gets no permission.
    let other = http
        .request(reqwest::Method::OPTIONS, &server.url)
        .header("origin", "https://attacker.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // The metadata is public: readable from any origin.
    let metadata_url = server
        .resource
        .replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    let metadata = http
        .get(&metadata_url)
        .header("origin", "https://any.example")
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.headers()["access-control-allow-origin"], "*");
    // A request from a foreign origin, valid token or not: 403 before authentication.
    let token = server.token(&server.resource, "messages:read");
    let foreign = http
        .post(&server.url)
        .header("origin", "https://attacker.example")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    assert!(foreign.headers().get("www-authenticate").is_none());
    // The allowed origin with a token: served, and the server names itself.
    let client = server.client(Some(&token)).await.unwrap();
    let info = client.peer_info().expect("the server's initialize result");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("mcp-server")
    );
    client.cancel().await.unwrap();
}

/// The session's GET stream (server-sent events) ends when the token that opened it expires:
/// the client re-authenticates and reconnects. Real time: the token expires in two seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_get_stream_ends_when_its_token_expires() {
    let server = start().await;
    let now = tokengate_testkit::now();
    let exp = now + 2;
    let token = server.issuer.mint(&json!({
        "iss": server.issuer.issuer(), "sub": "alice", "aud": server.resource, "iat": now,
        "exp": exp, "scope": "messages:read",
    }));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "1"}}
    });
    let opened = http
        .post(&server.url)
        .bearer_auth(&token)
        .header("accept", "application/json, text/event-stream")
        .json(&initialize)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    drop(opened);
    let initialized = http
        .post(&server.url)
        .bearer_auth(&token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &session)
        .json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .send()
        .await
        .unwrap();
    assert_eq!(initialized.status(), 202);
    let mut stream = http
        .get(&server.url)
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // Read until the body ends (rmcp's keep-alive pings keep it open otherwise).
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = stream.chunk().await {}
        std::time::SystemTime::now()
    })
    .await
    .expect("the stream ends at exp, not never");
    assert!(
        ended >= std::time::UNIX_EPOCH + Duration::from_secs(exp),
        "not before exp"
    );
}

/// `ask_downstream`: the tool trades the caller's verified token at the issuer's token endpoint
/// (RFC 8693) for a token issued to the downstream API; the downstream (another service behind
/// tokengate) verifies it and sees the caller as subject and this server as actor (`act`). The
/// caller's own token never reaches it. Without a downstream, the tool says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_calls_a_downstream_api_with_an_exchanged_token() {
    use std::sync::{Arc, Mutex};
    use tokengate::exchange::{Downstream, TokenExchange};
    use tokengate_testkit::{INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET};
    use tokengate_tower::{AuthLayer, Claims};

    let issuer = IssuerServer::start().await;
    // The downstream API: only tokens for `orders-api`; it answers who calls and who acts, and
    // remembers every Authorization header it was sent.
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let record = Arc::clone(&seen);
    let orders = Verifier::builder()
        .issuer(
            Issuer::new(issuer.issuer())
                .audience("orders-api")
                .keys(KeySource::jwks_url(issuer.jwks_url())),
        )
        .build()
        .unwrap();
    let downstream = axum::Router::new()
        .route(
            "/whoami",
            axum::routing::get(|claims: Claims| async move {
                let actor = claims.actor().and_then(|a| a.sub).unwrap_or_default();
                format!("{} via {actor}", claims.subject().unwrap_or("?"))
            }),
        )
        .layer(AuthLayer::new(orders))
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let record = Arc::clone(&record);
                async move {
                    if let Some(value) = request.headers().get("authorization") {
                        record
                            .lock()
                            .unwrap()
                            .push(value.to_str().unwrap_or("").to_owned());
                    }
                    next.run(request).await
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let downstream_url = format!("http://{}/whoami", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, downstream).await });

    // The MCP server: keeps tokens for the exchange, and knows its downstream.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let resource = format!(
        "http://127.0.0.1:{}/mcp",
        listener.local_addr().unwrap().port()
    );
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(issuer.issuer())
                .audience(&resource)
                .keys(KeySource::jwks_url(issuer.jwks_url())),
        )
        .keep_tokens_for_exchange()
        .build()
        .unwrap();
    let exchange = TokenExchange::endpoint(issuer.token_url())
        .client_secret_basic(INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET)
        .downstream(mcp_server::DOWNSTREAM, Downstream::audience("orders-api"))
        .build()
        .unwrap();
    let settings = mcp_server::Settings {
        downstream: Some(mcp_server::DownstreamApi {
            exchange,
            url: downstream_url,
        }),
        ..mcp_server::Settings::default()
    };
    let router = mcp_server::router(verifier, &settings)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let server = Server {
        issuer,
        url: resource.clone(),
        resource,
    };
    let token = server.token(&server.resource, "messages:read");
    let client = server.client(Some(&token)).await.expect("a session");
    let answer = client
        .call_tool(CallToolRequestParams::new("ask_downstream"))
        .await
        .expect("the read scope suffices");
    assert_eq!(
        text(&answer),
        format!("alice via {INTROSPECTION_CLIENT_ID}")
    );
    client.cancel().await.ok();
    assert_eq!(server.issuer.token_exchanges(), 1);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert!(
        !seen[0].contains(&token),
        "the caller's token was forwarded"
    );

    // Without a downstream the tool answers that it is not configured.
    let plain = start().await;
    let token = plain.token(&plain.resource, "messages:read");
    let client = plain.client(Some(&token)).await.expect("a session");
    let answer = client
        .call_tool(CallToolRequestParams::new("ask_downstream"))
        .await
        .unwrap();
    assert_eq!(text(&answer), "Calling other APIs is not configured.");
    client.cancel().await.ok();
}
