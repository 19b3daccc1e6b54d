//! Long-lived connections in warp, with real clients on loopback: a `warp::ws()` socket that
//! takes its token from `Sec-WebSocket-Protocol` or an upgrade's query and closes with 1008 at
//! the token's `exp` or on revocation; an SSE reply that ends at `exp`. Tokens expire in two
//! seconds of real time.

use std::time::Duration;

use tokengate_testkit::live::{
    assert_closes_at_exp, assert_closes_on_revocation, assert_events_end_at_exp,
    assert_query_tokens_only_on_upgrades, verifier,
};
use tokengate_warp::{Auth, Live, Verifier};
use warp::Filter;

async fn serve(verifier: Verifier) -> String {
    let ws = warp::path("ws")
        .and(warp::ws())
        .and(Auth::new(verifier.clone()).live_filter())
        .map(|ws: warp::ws::Ws, live: Live| {
            live.on_upgrade(ws, |mut socket, _claims| async move {
                while let Some(Ok(message)) = socket.recv().await {
                    if socket.send(message).await.is_err() {
                        break;
                    }
                }
            })
        });
    let events = warp::path("events")
        .and(Auth::new(verifier).live_filter())
        .map(|live: Live| {
            let ticks = futures_util::stream::unfold(0u32, |n| async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let event = warp::sse::Event::default().data(n.to_string());
                Some((Ok::<_, std::convert::Infallible>(event), n + 1))
            });
            warp::sse::reply(live.stream(ticks))
        });
    let routes = ws.or(events).recover(tokengate_warp::handle_rejection);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(routes).incoming(listener).run());
    addr.to_string()
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
async fn server_sent_events_end_at_exp() {
    let addr = serve(verifier(None)).await;
    assert_events_end_at_exp(&format!("http://{addr}/events")).await;
}
