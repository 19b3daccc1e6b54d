//! What the adapters' long-lived-connection tests share: a verifier that takes tokens from
//! `Sec-WebSocket-Protocol` (after the marker [`MARKER`]) and from an upgrade's query, tokens
//! that expire in seconds of real time, and a real WebSocket client (tokio-tungstenite).

use std::time::{Duration, SystemTime};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokengate::store::MemoryRevocationList;
use tokengate::{Algorithm, Issuer, KeySource, TokenSources, Verifier};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
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
