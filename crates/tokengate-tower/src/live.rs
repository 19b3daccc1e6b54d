//! Connections that outlive their request (`docs/guide.md`, "Long-lived connections"): the
//! layers end gRPC and server-sent-event responses at their token's deadline by themselves;
//! [`Live`] hands an axum handler the claims and the [`Deadline`] (with the `ws` feature, a
//! [`LiveSocket`] that closes with 1008 at the deadline).

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use tokengate::Verified;
use tokengate::adapter::{ConnectionInfo, RequestView};
use tokengate::live::{Deadline, Ended};

/// Whether a response is a stream that must end at the deadline: the core's rule
/// (`tokengate::live::stream_kind`) on its `Content-Type`.
pub(crate) fn stream_kind(headers: &HeaderMap) -> Option<bool> {
    tokengate::live::stream_kind(headers.get(CONTENT_TYPE)?.as_bytes())
}

/// The trailers that end a gRPC stream at its deadline: UNAUTHENTICATED (16) and why.
pub(crate) fn grpc_trailers(ended: Ended) -> HeaderMap {
    let mut trailers = HeaderMap::new();
    let code: u16 = match ended {
        // A re-check that could not be made: UNAVAILABLE (14), as a request would get 503.
        Ended::Unavailable => 14,
        _ => 16,
    };
    trailers.insert(
        HeaderName::from_static("grpc-status"),
        HeaderValue::from(code),
    );
    if let Ok(message) = HeaderValue::try_from(ended.reason().replace(' ', "%20")) {
        trailers.insert(HeaderName::from_static("grpc-message"), message);
    }
    trailers
}

/// The deadline of an admitted request that may open a stream — gRPC, or one that accepts
/// `text/event-stream` — with the claims the layer stored; `None` for other requests (they
/// pay two header lookups).
pub(crate) fn stream_deadline<B, T: Send + Sync + 'static>(
    request: &Request<B>,
    verifier: &tokengate::Verifier,
) -> Option<Box<Deadline>> {
    let headers = request.headers();
    let streams = tokengate::live::may_open_stream(
        request.method().as_str(),
        request.version() == http::Version::HTTP_2,
        || headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes),
        || headers.get_all(ACCEPT).iter().map(HeaderValue::as_bytes),
    );
    if !streams {
        return None;
    }
    let verified = request.extensions().get::<Verified<T>>()?;
    let view = RequestView::from_http(request.method(), request.uri(), headers)
        .with_connection(request.extensions().get::<ConnectionInfo>());
    Some(Box::new(verifier.connection_deadline(&view, verified)))
}

#[cfg(feature = "axum")]
pub use extractor::Live;

#[cfg(feature = "axum")]
mod extractor {
    use axum_core::extract::FromRequestParts;
    use http::request::Parts;
    use serde::de::DeserializeOwned;
    use tokengate::adapter::{ConnectionInfo, Policy, RequestView};

    use crate::extract::{AuthRejection, VerifierState};

    tokengate::live_extractor!();

    // Echo until the token expires (feature `ws`): the socket then closes with 1008.
    //
    //     async fn echo(upgrade: WebSocketUpgrade, live: Live) -> Response {
    //         live.on_upgrade(upgrade, |mut socket, _claims| async move {
    //             while let Some(Ok(message)) = socket.recv().await {
    //                 if socket.send(message).await.is_err() { break; }
    //             }
    //         })
    //     }

    impl<S, T> FromRequestParts<S> for Live<T>
    where
        S: VerifierState + Send + Sync,
        T: DeserializeOwned + Send + Sync + 'static,
    {
        type Rejection = AuthRejection;

        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
            let verifier = crate::extract::verifier_of(parts, state)?;
            let claims = crate::extract::required::<T, S>(parts, state, Policy::new()).await?;
            let view = RequestView::from_http(&parts.method, &parts.uri, &parts.headers)
                .with_connection(parts.extensions.get::<ConnectionInfo>());
            Ok(Live::admitted(&verifier, &view, claims))
        }
    }
}

/// An axum WebSocket that closes with 1008 (1013 when a re-check could not be made) and the
/// reason at its token's deadline: [`recv`](tokengate::live::Socket::recv) then returns `None`.
#[cfg(feature = "ws")]
pub type LiveSocket =
    tokengate::live::Socket<axum::extract::ws::WebSocket, axum::extract::ws::Message>;

#[cfg(feature = "ws")]
mod socket {
    use std::future::Future;

    use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
    use axum::response::Response;
    use tokengate::Verified;
    use tokengate::live::Ended;

    use super::{Live, LiveSocket};

    impl<T: Send + Sync + 'static> Live<T> {
        /// Completes the upgrade and runs `handler` with a [`LiveSocket`] — closed with code
        /// 1008 (1013 when a re-check could not be made) and a reason at the deadline — and
        /// the claims. When the token came in `Sec-WebSocket-Protocol`, the marker is echoed
        /// as the subprotocol (a browser requires one it offered; never the token).
        pub fn on_upgrade<F, Fut>(self, upgrade: WebSocketUpgrade, handler: F) -> Response
        where
            F: FnOnce(LiveSocket, Verified<T>) -> Fut + Send + 'static,
            Fut: Future<Output = ()> + Send + 'static,
        {
            let upgrade = match self.reply_protocol() {
                Some(protocol) => upgrade.protocols([protocol.to_owned()]),
                None => upgrade,
            };
            let Live {
                claims, deadline, ..
            } = self;
            upgrade.on_upgrade(move |socket| {
                handler(LiveSocket::new(socket, deadline, close_frame), claims)
            })
        }
    }

    fn close_frame(ended: Ended) -> Message {
        Message::Close(Some(CloseFrame {
            code: ended.websocket_close_code(),
            reason: ended.reason().into(),
        }))
    }
}
