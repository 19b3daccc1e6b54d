//! Long-lived connections in actix-web, with real clients on loopback: an actix-ws session
//! that takes its token from `Sec-WebSocket-Protocol` or an upgrade's query and closes with
//! 1008 at the token's `exp` or on revocation; a streaming response that ends at `exp`.
//! Tokens expire in two seconds of real time.

use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, web};
use tokengate_actix::{Live, Verifier};
use tokengate_testkit::live::{
    assert_closes_at_exp, assert_closes_on_revocation, assert_events_end_at_exp,
    assert_query_tokens_only_on_upgrades, verifier,
};

async fn ws(
    request: HttpRequest,
    body: web::Payload,
    live: Live,
) -> actix_web::Result<HttpResponse> {
    let (response, mut session, mut messages) = live.websocket(&request, body)?;
    actix_web::rt::spawn(async move {
        while let Some(Ok(actix_ws::Message::Text(text))) = messages.recv().await {
            if session.text(text).await.is_err() {
                break;
            }
        }
    });
    Ok(response)
}

async fn events(live: Live) -> HttpResponse {
    let ticks = futures_util::stream::unfold(0u32, |n| async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let event = web::Bytes::from(format!("data: {n}\n\n"));
        Some((Ok::<_, actix_web::Error>(event), n + 1))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .streaming(live.stream(ticks))
}

fn serve(verifier: Verifier) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(move || {
                App::new()
                    .app_data(verifier.clone())
                    .route("/ws", web::get().to(ws))
                    .route("/events", web::get().to(events))
            })
            .workers(1)
            .listen(listener)
            .unwrap()
            .run()
            .await
        })
    });
    addr.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_token_in_the_protocol_header_is_admitted_and_closes_with_1008_at_exp() {
    let addr = serve(verifier(None));
    assert_closes_at_exp(&format!("ws://{addr}/ws")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_token_is_accepted_on_an_upgrade_only_and_no_token_is_401() {
    let addr = serve(verifier(None));
    assert_query_tokens_only_on_upgrades(
        &format!("ws://{addr}/ws"),
        &format!("http://{addr}/events"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_mid_connection_closes_the_session_within_the_recheck_interval() {
    let verifier = verifier(Some(Duration::from_secs(1)));
    let addr = serve(verifier.clone());
    assert_closes_on_revocation(&verifier, &format!("ws://{addr}/ws"), "ws-revoked").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_response_ends_at_exp() {
    let addr = serve(verifier(None));
    assert_events_end_at_exp(&format!("http://{addr}/events")).await;
}
