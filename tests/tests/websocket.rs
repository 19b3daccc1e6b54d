//! The examples' `/ws` routes (axum, warp, actix-web), with a real WebSocket client
//! (tokio-tungstenite): the token from `Sec-WebSocket-Protocol` (the marker echoed, never the
//! token) or an upgrade's query, refused without one, and the socket closed with 1008 when the
//! token is revoked mid-connection. The axum example's `/events` ends when the token expires.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokengate::Verifier;
use tokengate_conformance::serve;
use tokengate_testkit::live::{
    ISS, MARKER, connect, echo, echo_until_closed, offer, token, verifier,
};
use tokengate_testkit::now;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

async fn axum(verifier: Verifier) -> SocketAddr {
    serve::axum(axum_api::router(verifier)).await
}

async fn warp(verifier: Verifier) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        warp::serve(warp_api::routes(verifier))
            .incoming(listener)
            .run(),
    );
    addr
}

async fn actix(verifier: Verifier) -> SocketAddr {
    serve::actix(actix_api::configure(verifier)).await
}

/// Every example's `/ws`, with a verifier that re-checks every second.
async fn examples(verifier: &Verifier) -> Vec<(&'static str, SocketAddr)> {
    vec![
        ("axum", axum(verifier.clone()).await),
        ("warp", warp(verifier.clone()).await),
        ("actix-web", actix(verifier.clone()).await),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_echoes_over_a_websocket_with_the_token_in_the_protocol_header() {
    let verifier = verifier(None);
    for (name, addr) in examples(&verifier).await {
        let token = token(now() + 60, "ws");
        let (mut socket, response) = connect(&format!("ws://{addr}/ws"), Some(&offer(&token)))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            MARKER,
            "{name}: the marker is echoed, never the token"
        );
        echo(&mut socket, "hello").await;
        let (mut by_query, _) = connect(&format!("ws://{addr}/ws?access_token={token}"), None)
            .await
            .unwrap_or_else(|e| panic!("{name}: a query token on an upgrade: {e}"));
        echo(&mut by_query, "hi").await;
        match connect(&format!("ws://{addr}/ws"), None).await {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 401, "{name}");
                assert!(
                    response.headers().contains_key("www-authenticate"),
                    "{name}"
                );
            }
            other => panic!("{name}: expected 401, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_closes_the_socket_with_1008_when_the_token_is_revoked() {
    let verifier = verifier(Some(Duration::from_secs(1)));
    for (name, addr) in examples(&verifier).await {
        let jti = format!("revoked-{name}");
        let (mut socket, _) = connect(
            &format!("ws://{addr}/ws"),
            Some(&offer(&token(now() + 3600, &jti))),
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        echo(&mut socket, "before").await;
        verifier.revoke_jti(ISS, &jti, now() + 3600).await.unwrap();
        let revoked = Instant::now();
        let (frame, _) = echo_until_closed(&mut socket).await;
        let frame = frame.unwrap_or_else(|| panic!("{name}: a close frame"));
        assert_eq!(frame.code, CloseCode::Policy, "{name}");
        assert_eq!(
            frame.reason.as_str(),
            "the access token was revoked",
            "{name}"
        );
        assert!(revoked.elapsed() < Duration::from_millis(2500), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axum_examples_events_end_when_the_token_expires() {
    let addr = axum(verifier(None)).await;
    let exp = now() + 2;
    let mut response = reqwest::Client::new()
        .get(format!("http://{addr}/events"))
        .bearer_auth(token(exp, "events"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut events = 0;
    while let Ok(Ok(Some(chunk))) =
        tokio::time::timeout(Duration::from_secs(8), response.chunk()).await
    {
        events += String::from_utf8_lossy(&chunk).matches("data:").count();
    }
    let ended = SystemTime::now();
    assert!(events >= 1, "events before exp ({events})");
    assert!(
        ended >= UNIX_EPOCH + Duration::from_secs(exp),
        "not before exp"
    );
    assert!(ended < UNIX_EPOCH + Duration::from_secs(exp + 3), "at exp");
}
