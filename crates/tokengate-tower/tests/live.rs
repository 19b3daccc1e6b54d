//! Long-lived connections behind tokengate-tower, with real clients on loopback: an axum
//! WebSocket (tokio-tungstenite) that takes its token from `Sec-WebSocket-Protocol` or an
//! upgrade's query and closes with 1008 at the token's `exp` or on revocation; server-sent
//! events (reqwest) that end at `exp`; a tonic server stream that ends with UNAUTHENTICATED.
//! Tokens expire in two seconds of real time (the clients and servers are real).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;
use axum::response::sse::{Event, Sse};
use axum::routing::get;
use tokengate_testkit::live::{
    assert_closes_at_exp, assert_closes_on_revocation, assert_events_end_at_exp,
    assert_query_tokens_only_on_upgrades, token, verifier,
};
use tokengate_tower::{AuthLayer, Live, Verifier};

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
    assert_closes_at_exp(&format!("ws://{addr}/ws")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_token_is_accepted_on_an_upgrade_only_and_no_token_is_401() {
    let addr = serve(verifier(None)).await;
    assert_query_tokens_only_on_upgrades(
        &format!("ws://{addr}/ws"),
        &format!("http://{addr}/events"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_mid_connection_closes_the_socket_within_the_recheck_interval() {
    let verifier = verifier(Some(Duration::from_secs(1)));
    let addr = serve(verifier.clone()).await;
    assert_closes_on_revocation(&verifier, &format!("ws://{addr}/ws"), "ws-revoked").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sent_events_end_at_exp_from_the_extractor_and_from_the_layer() {
    let addr = serve(verifier(None)).await;
    assert_events_end_at_exp(&format!("http://{addr}/events")).await;
    assert_events_end_at_exp(&format!("http://{addr}/layer/events")).await;
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
