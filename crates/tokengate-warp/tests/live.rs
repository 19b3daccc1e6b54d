//! Long-lived connections in warp, with real clients on loopback: a `warp::ws()` socket that
//! takes its token from `Sec-WebSocket-Protocol` or an upgrade's query and closes with 1008 at
//! the token's `exp` or on revocation; an SSE reply that ends at `exp`. Tokens expire in two
//! seconds of real time.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokengate_testkit::live::{
    ISS, MARKER, connect, echo, echo_until_closed, offer, token, verifier,
};
use tokengate_testkit::now;
use tokengate_warp::{Auth, Live, Verifier};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
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
    let exp = now() + 2;
    let token = token(exp, "ws-1");
    let (mut socket, response) = connect(&format!("ws://{addr}/ws"), Some(&offer(&token)))
        .await
        .expect("admitted");
    let echoed = response.headers()["sec-websocket-protocol"]
        .to_str()
        .unwrap();
    assert_eq!(echoed, MARKER, "the marker, never the token");
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
async fn a_query_token_is_accepted_on_an_upgrade_and_refused_on_a_plain_get() {
    let addr = serve(verifier(None)).await;
    let token = token(now() + 60, "q-1");
    let (mut socket, _) = connect(&format!("ws://{addr}/ws?access_token={token}"), None)
        .await
        .expect("an upgrade with a query token is admitted");
    echo(&mut socket, "hi").await;
    let plain = reqwest::get(format!("http://{addr}/events?access_token={token}"))
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);
    assert_eq!(
        plain.headers()["www-authenticate"],
        r#"Bearer realm="api", error="invalid_request", error_description="the credentials in the request are malformed""#
    );
    match connect(&format!("ws://{addr}/ws"), None).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sent_events_end_at_exp() {
    let addr = serve(verifier(None)).await;
    let exp = now() + 2;
    let mut response = reqwest::Client::new()
        .get(format!("http://{addr}/events"))
        .bearer_auth(token(exp, "sse"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut events = 0;
    while let Ok(Ok(Some(chunk))) =
        tokio::time::timeout(Duration::from_secs(8), response.chunk()).await
    {
        events += String::from_utf8_lossy(&chunk).matches("data:").count();
    }
    let ended = SystemTime::now();
    assert!(events >= 2, "events flowed before exp ({events})");
    assert!(
        ended >= UNIX_EPOCH + Duration::from_secs(exp),
        "not before exp"
    );
    assert!(
        ended < UNIX_EPOCH + Duration::from_secs(exp + 3),
        "at exp, not the timeout"
    );
}
