//! The examples' `/ws` routes (axum, warp, actix-web), with a real WebSocket client
//! (tokio-tungstenite): the token from `Sec-WebSocket-Protocol` (the marker echoed, never the
//! token) or an upgrade's query, refused without one, and the socket closed with 1008 when the
//! token is revoked mid-connection. The axum example's `/events` ends when the token expires.

use std::net::SocketAddr;
use std::time::Duration;

use tokengate::Verifier;
use tokengate_conformance::serve;
use tokengate_testkit::live::{
    MARKER, assert_closes_on_revocation, assert_events_end_at_exp,
    assert_query_tokens_only_on_upgrades, connect, echo, offer, token, verifier,
};
use tokengate_testkit::now;

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
async fn every_example_takes_the_token_from_the_protocol_header_or_an_upgrades_query() {
    let verifier = verifier(None);
    for (name, addr) in examples(&verifier).await {
        let (mut socket, response) = connect(
            &format!("ws://{addr}/ws"),
            Some(&offer(&token(now() + 60, "ws"))),
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            MARKER,
            "{name}"
        );
        echo(&mut socket, "hello").await;
        assert_query_tokens_only_on_upgrades(
            &format!("ws://{addr}/ws"),
            &format!("http://{addr}/me"),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_closes_the_socket_with_1008_when_the_token_is_revoked() {
    let verifier = verifier(Some(Duration::from_secs(1)));
    for (name, addr) in examples(&verifier).await {
        let jti = format!("revoked-{name}");
        assert_closes_on_revocation(&verifier, &format!("ws://{addr}/ws"), &jti).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axum_examples_events_end_when_the_token_expires() {
    let addr = axum(verifier(None)).await;
    assert_events_end_at_exp(&format!("http://{addr}/events")).await;
}
