//! Long-lived connections behind tokengate-tower, with real clients on loopback: an axum
//! WebSocket (tokio-tungstenite) that takes its token from `Sec-WebSocket-Protocol` or an
//! upgrade's query and closes with 1008 at the token's `exp` or on revocation; server-sent
//! events (reqwest) that end at `exp`; a tonic server stream that ends with UNAUTHENTICATED.
//! Tokens expire in two seconds of real time (the clients and servers are real).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;
use axum::response::sse::{Event, Sse};
use axum::routing::get;
use tokengate_testkit::live::{
    ISS, MARKER, connect, echo, echo_until_closed, offer, token, verifier,
};
use tokengate_tower::{AuthLayer, Live, Verifier};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

fn now() -> u64 {
    tokengate_testkit::now()
}

async fn echo_route(upgrade: WebSocketUpgrade, live: Live) -> Response {
    live.on_upgrade(upgrade, |mut socket, _claims| async move {
        while let Some(Ok(message)) = socket.recv().await {
            if socket.send(message).await.is_err() {
                break;
            }
        }
    })
}

async fn events(
    live: Live,
) -> Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>> {
    let ticks = futures_util::stream::unfold(0u32, |n| async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        Some((Ok(Event::default().data(n.to_string())), n + 1))
    });
    Sse::new(live.stream(ticks))
}

/// `/ws` and `/events` guarded by the extractor; `/layer/events` by the layer alone (a plain
/// SSE handler: the layer ends the stream).
async fn serve(verifier: Verifier) -> String {
    let plain_events = || async {
        let ticks = futures_util::stream::unfold(0u32, |n| async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Some((
                Ok::<_, std::convert::Infallible>(Event::default().data(n.to_string())),
                n + 1,
            ))
        });
        Sse::new(ticks)
    };
    let app = Router::new()
        .route("/ws", get(echo_route))
        .route("/events", get(events))
        .route("/me", get(|| async { "me" }))
        .with_state(verifier.clone())
        .nest(
            "/layer",
            Router::new()
                .route("/events", get(plain_events))
                .layer(AuthLayer::new(verifier)),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("127.0.0.1:{}", addr.port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_token_in_the_protocol_header_is_admitted_and_closes_with_1008_at_exp() {
    let addr = serve(verifier(None)).await;
    let exp = now() + 2;
    let token = token(exp, "ws-1");
    let (mut socket, response) = connect(&format!("ws://{addr}/ws"), Some(&offer(&token)))
        .await
        .expect("admitted");
    let echoed = response
        .headers()
        .get("sec-websocket-protocol")
        .expect("a protocol is echoed")
        .to_str()
        .unwrap();
    assert_eq!(echoed, MARKER);
    assert!(!echoed.contains(&token), "never the token");
    let (frame, closed_at) = echo_until_closed(&mut socket).await;
    let frame = frame.expect("a close frame");
    assert_eq!(frame.code, CloseCode::Policy, "1008");
    assert_eq!(frame.reason.as_str(), "the access token expired");
    assert!(
        closed_at >= UNIX_EPOCH + Duration::from_secs(exp),
        "not before exp"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_without_a_token_is_refused_with_the_challenge() {
    let addr = serve(verifier(None)).await;
    match connect(&format!("ws://{addr}/ws"), None).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401);
            assert!(
                response
                    .headers()
                    .get("www-authenticate")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .starts_with("Bearer")
            );
        }
        other => panic!("expected 401, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_token_is_accepted_on_an_upgrade_and_refused_on_a_plain_get() {
    let addr = serve(verifier(None)).await;
    let token = token(now() + 60, "q-1");
    let (mut socket, _) = connect(&format!("ws://{addr}/ws?access_token={token}"), None)
        .await
        .expect("an upgrade with a query token is admitted");
    echo(&mut socket, "hi").await;
    // The same parameter on an ordinary request: refused, although the source is enabled.
    let plain = reqwest::get(format!("http://{addr}/events?access_token={token}"))
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);
    assert_eq!(
        plain.headers()["www-authenticate"],
        r#"Bearer realm="api", error="invalid_request", error_description="the credentials in the request are malformed""#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_mid_connection_closes_the_socket_within_the_recheck_interval() {
    let verifier = verifier(Some(Duration::from_secs(1)));
    let addr = serve(verifier.clone()).await;
    let token = token(now() + 3600, "ws-revoked");
    let (mut socket, _) = connect(&format!("ws://{addr}/ws"), Some(&offer(&token)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Re-checks pass while the token is valid.
    echo(&mut socket, "still here").await;
    verifier
        .revoke_jti(ISS, "ws-revoked", now() + 3600)
        .await
        .unwrap();
    let revoked = Instant::now();
    let (frame, _) = echo_until_closed(&mut socket).await;
    let frame = frame.expect("a close frame");
    assert_eq!(frame.code, CloseCode::Policy);
    assert_eq!(frame.reason.as_str(), "the access token was revoked");
    assert!(
        revoked.elapsed() < Duration::from_millis(2500),
        "within the interval"
    );
}

/// Reads an SSE body to its end: the events and when it ended.
async fn read_events(mut response: reqwest::Response) -> (usize, SystemTime) {
    let mut events = 0;
    while let Ok(Ok(Some(chunk))) =
        tokio::time::timeout(Duration::from_secs(8), response.chunk()).await
    {
        events += String::from_utf8_lossy(&chunk).matches("data:").count();
    }
    (events, SystemTime::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sent_events_end_at_exp_from_the_extractor_and_from_the_layer() {
    let addr = serve(verifier(None)).await;
    for path in ["/events", "/layer/events"] {
        let exp = now() + 2;
        let response = reqwest::Client::new()
            .get(format!("http://{addr}{path}"))
            .header("accept", "text/event-stream")
            .bearer_auth(token(exp, "sse"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let (events, ended) = read_events(response).await;
        assert!(events >= 2, "{path}: events flowed before exp ({events})");
        assert!(
            ended >= UNIX_EPOCH + Duration::from_secs(exp),
            "{path}: not before exp"
        );
        assert!(
            ended < UNIX_EPOCH + Duration::from_secs(exp + 3),
            "{path}: ended at exp, not at the timeout"
        );
    }
}

mod grpc {
    use super::*;
    use tonic::Code;
    use tonic::metadata::MetadataValue;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;

    /// tonic-health's `Watch` is a server stream that stays open: it must end with
    /// UNAUTHENTICATED when the token expires.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tonic_server_stream_ends_with_unauthenticated_at_exp() {
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let layer = AuthLayer::new(verifier(None));
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .layer(layer)
                .add_service(health)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .unwrap();
        });
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = HealthClient::new(channel);
        let exp = now() + 2;
        let mut request = tonic::Request::new(HealthCheckRequest {
            service: String::new(),
        });
        let value: MetadataValue<_> = format!("Bearer {}", token(exp, "grpc")).parse().unwrap();
        request.metadata_mut().insert("authorization", value);
        let mut stream = client.watch(request).await.expect("admitted").into_inner();
        let first = stream.message().await.expect("a first status");
        assert!(first.is_some());
        let ended = tokio::time::timeout(Duration::from_secs(8), async {
            loop {
                match stream.message().await {
                    Ok(Some(_)) => continue,
                    other => return other,
                }
            }
        })
        .await
        .expect("the stream ended");
        let status = ended.expect_err("ended with a status");
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), "the access token expired");
        assert!(SystemTime::now() >= UNIX_EPOCH + Duration::from_secs(exp));
    }
}
