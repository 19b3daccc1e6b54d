//! What the adapters' long-lived-connection tests share: a verifier that takes tokens from
//! `Sec-WebSocket-Protocol` (after the marker [`MARKER`]) and from an upgrade's query, tokens
//! that expire in seconds of real time, and a real WebSocket client (tokio-tungstenite).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokengate::store::MemoryRevocationList;
use tokengate::{Algorithm, Issuer, KeySource, TokenSources, Verifier};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::{TestKey, claims_at, jwks, now};

/// The issuer of [`token`].
pub const ISS: &str = "https://issuer.test/";
/// The audience of [`token`].
pub const AUD: &str = "live-api";
/// The `Sec-WebSocket-Protocol` marker the token follows.
pub const MARKER: &str = "access_token";

/// A client WebSocket.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A verifier for [`token`]s: `Authorization`, `Sec-WebSocket-Protocol` after [`MARKER`], the
/// `access_token` query parameter on upgrades; an in-memory revocation list; re-checks every
/// `recheck` when given.
#[must_use]
pub fn verifier(recheck: Option<Duration>) -> Verifier {
    let sources = TokenSources::new()
        .websocket_protocol(MARKER)
        .expect("a valid marker")
        .query("access_token")
        .expect("a valid parameter");
    let key = TestKey::shared(Algorithm::ES256);
    let mut builder = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .token_sources(sources)
        .revocation(MemoryRevocationList::default());
    if let Some(every) = recheck {
        builder = builder.connection_recheck(every);
    }
    builder.build().expect("a valid verifier")
}

/// A token for [`verifier`] that expires at `exp` (Unix seconds, real time), with `jti`.
#[must_use]
pub fn token(exp: u64, jti: &str) -> String {
    let mut claims = claims_at(ISS, AUD, now());
    claims["exp"] = json!(exp);
    claims["jti"] = json!(jti);
    TestKey::shared(Algorithm::ES256).mint(&claims)
}

/// A WebSocket handshake to `url` offering `protocols` (`Sec-WebSocket-Protocol`).
///
/// # Errors
/// The handshake's: a refusal is `tungstenite::Error::Http` with the response.
pub async fn connect(
    url: &str,
    protocols: Option<&str>,
) -> Result<(Socket, tungstenite::handshake::client::Response), tungstenite::Error> {
    let mut request = url.into_client_request()?;
    if let Some(protocols) = protocols {
        request.headers_mut().insert(
            "sec-websocket-protocol",
            protocols.parse().expect("a header value"),
        );
    }
    tokio_tungstenite::connect_async(request).await
}

/// Sends `text` and reads the echo.
///
/// # Panics
/// When the echo is not `text`.
pub async fn echo(socket: &mut Socket, text: &str) {
    socket.send(Message::text(text)).await.expect("sent");
    match socket.next().await {
        Some(Ok(Message::Text(echoed))) => assert_eq!(echoed.as_str(), text),
        other => panic!("no echo: {other:?}"),
    }
}

/// Echoes every 100 ms until the server closes (at most 8 s): the close frame and when it came.
///
/// # Panics
/// When the server does not close, or echoes something else.
pub async fn echo_until_closed(socket: &mut Socket) -> (Option<CloseFrame>, SystemTime) {
    loop {
        if socket.send(Message::text("ping")).await.is_err() {
            return (None, SystemTime::now());
        }
        match tokio::time::timeout(Duration::from_secs(8), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                assert_eq!(text.as_str(), "ping");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(Some(Ok(Message::Close(frame)))) => return (frame, SystemTime::now()),
            Ok(Some(Ok(_))) => {}
            other => panic!("no close frame: {other:?}"),
        }
    }
}

/// The `Sec-WebSocket-Protocol` offer for `token`: an application protocol, the marker, the
/// token.
#[must_use]
pub fn offer(token: &str) -> String {
    format!("chat, {MARKER}, {token}")
}

/// The token in `Sec-WebSocket-Protocol`, expiring in two seconds: the marker is echoed (never
/// the token), messages echo, and the server closes with 1008 "the access token expired" —
/// not before `exp`.
///
/// # Panics
/// When any of that does not hold.
pub async fn assert_closes_at_exp(url: &str) {
    let exp = now() + 2;
    let token = token(exp, "expiring");
    let (mut socket, response) = connect(url, Some(&offer(&token)))
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let echoed = response.headers()["sec-websocket-protocol"]
        .to_str()
        .expect("ASCII");
    assert_eq!(echoed, MARKER, "{url}: the marker, never the token");
    let (frame, closed_at) = echo_until_closed(&mut socket).await;
    let frame = frame.unwrap_or_else(|| panic!("{url}: a close frame"));
    assert_eq!(frame.code, CloseCode::Policy, "{url}: 1008");
    assert_eq!(frame.reason.as_str(), "the access token expired", "{url}");
    assert!(
        closed_at >= UNIX_EPOCH + Duration::from_secs(exp),
        "{url}: not before exp"
    );
}

/// A long-lived token with `jti`, revoked through `verifier` (which re-checks every second)
/// mid-connection: the server closes with 1008 "the access token was revoked" within the
/// interval.
///
/// # Panics
/// When any of that does not hold.
pub async fn assert_closes_on_revocation(verifier: &Verifier, url: &str, jti: &str) {
    let (mut socket, _) = connect(url, Some(&offer(&token(now() + 3600, jti))))
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    echo(&mut socket, "re-checks pass while the token is valid").await;
    verifier
        .revoke_jti(ISS, jti, now() + 3600)
        .await
        .expect("revoked");
    let revoked = Instant::now();
    let (frame, _) = echo_until_closed(&mut socket).await;
    let frame = frame.unwrap_or_else(|| panic!("{url}: a close frame"));
    assert_eq!(frame.code, CloseCode::Policy, "{url}");
    assert_eq!(
        frame.reason.as_str(),
        "the access token was revoked",
        "{url}"
    );
    assert!(
        revoked.elapsed() < Duration::from_millis(2500),
        "{url}: within the interval"
    );
}

/// The query token on the WebSocket upgrade `ws_url` is admitted (messages echo); the same
/// parameter on the ordinary request `plain_url` is 400 `invalid_request` although the source is
/// enabled; the upgrade without any token is 401 with a challenge.
///
/// # Panics
/// When any of that does not hold.
pub async fn assert_query_tokens_only_on_upgrades(ws_url: &str, plain_url: &str) {
    let token = token(now() + 60, "query");
    let (mut socket, _) = connect(&format!("{ws_url}?access_token={token}"), None)
        .await
        .unwrap_or_else(|e| panic!("{ws_url}: a query token on an upgrade: {e}"));
    echo(&mut socket, "hi").await;
    let plain = reqwest::get(format!("{plain_url}?access_token={token}"))
        .await
        .expect("an answer");
    assert_eq!(plain.status(), 400, "{plain_url}");
    assert_eq!(
        plain.headers()["www-authenticate"],
        r#"Bearer realm="api", error="invalid_request", error_description="the credentials in the request are malformed""#
    );
    match connect(ws_url, None).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401, "{ws_url}");
            assert!(response.headers().contains_key("www-authenticate"));
        }
        other => panic!("{ws_url}: expected 401, got {other:?}"),
    }
}

/// A GET of the event stream at `url` with a token expiring in two seconds: events flow, and
/// the body ends at `exp` (not before, and not at the 8 s timeout).
///
/// # Panics
/// When any of that does not hold.
pub async fn assert_events_end_at_exp(url: &str) {
    let exp = now() + 2;
    let mut response = reqwest::Client::new()
        .get(url)
        .header("accept", "text/event-stream")
        .bearer_auth(token(exp, "events"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 200, "{url}");
    let mut events = 0;
    while let Ok(Ok(Some(chunk))) =
        tokio::time::timeout(Duration::from_secs(8), response.chunk()).await
    {
        events += String::from_utf8_lossy(&chunk).matches("data:").count();
    }
    let ended = SystemTime::now();
    assert!(events >= 1, "{url}: events flowed before exp ({events})");
    assert!(
        ended >= UNIX_EPOCH + Duration::from_secs(exp),
        "{url}: not before exp"
    );
    assert!(
        ended < UNIX_EPOCH + Duration::from_secs(exp + 3),
        "{url}: at exp, not at the timeout"
    );
}
