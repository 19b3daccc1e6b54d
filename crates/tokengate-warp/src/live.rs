//! Connections that outlive their request (`docs/guide.md`, "Long-lived connections"):
//! [`Auth::live_filter`] extracts [`Live`] — the claims and the connection's deadline; an SSE
//! reply ends there ([`Live::stream`]) and, with the `ws` feature, a `warp::ws()` socket closes
//! with 1008 ([`Live::on_upgrade`]).

use serde::de::DeserializeOwned;
use warp::Filter;

use crate::{Auth, Head, rejection, request};

tokengate::live_extractor!();

impl<T> Auth<T>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    /// A filter for a route that opens a connection: [`Live`] (credentials required, the
    /// guard's requirement checked), with the connection's deadline.
    ///
    /// ```
    /// # use tokengate_warp::{Auth, Live, Verifier};
    /// # use warp::Filter;
    /// # fn routes(verifier: Verifier) {
    /// // Server-sent events that end when the token expires.
    /// let events = warp::path("events").and(Auth::new(verifier).live_filter()).map(|live: Live| {
    ///     let ticks = futures_util::stream::iter(0..3).map(|n| {
    ///         Ok::<_, std::convert::Infallible>(warp::sse::Event::default().data(n.to_string()))
    ///     });
    ///     warp::sse::reply(live.stream(ticks))
    /// });
    /// # let _ = events; }
    /// # use futures_util::StreamExt;
    /// ```
    pub fn live_filter(self) -> impl Filter<Extract = (Live<T>,), Error = warp::Rejection> + Clone {
        let guard = std::sync::Arc::new(self.guard);
        request().and_then(move |head: Head| {
            let guard = std::sync::Arc::clone(&guard);
            async move {
                let view = head.view();
                let claims = match guard.required_claims_now(&view, None) {
                    Ok(decided) => decided,
                    Err(pending) => pending.resolve().await,
                }
                .map_err(rejection)?;
                Ok::<_, warp::Rejection>(Live::admitted(guard.verifier(), &view, claims))
            }
        })
    }
}

#[cfg(feature = "ws")]
pub use socket::LiveSocket;

#[cfg(feature = "ws")]
mod socket {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::Poll;

    use futures_util::SinkExt;
    use tokengate::Verified;
    use tokengate::live::{Deadline, Ended, Stream};
    use warp::Reply;
    use warp::ws::{Message, WebSocket, Ws};

    use super::Live;

    impl<T: Send + Sync + 'static> Live<T> {
        /// Completes the `warp::ws()` upgrade and runs `handler` with a [`LiveSocket`] —
        /// closed with code 1008 (1013 when a re-check could not be made) and a reason at the
        /// deadline — and the claims. When the token came in `Sec-WebSocket-Protocol`, the
        /// marker is echoed as the subprotocol (never the token).
        pub fn on_upgrade<F, Fut>(self, ws: Ws, handler: F) -> warp::reply::Response
        where
            F: FnOnce(LiveSocket, Verified<T>) -> Fut + Send + 'static,
            Fut: Future<Output = ()> + Send + 'static,
        {
            let protocol = self
                .reply_protocol()
                .and_then(|p| http::HeaderValue::from_str(p).ok());
            let Live {
                claims, deadline, ..
            } = self;
            let mut response = ws
                .on_upgrade(move |socket| handler(LiveSocket { socket, deadline }, claims))
                .into_response();
            if let Some(protocol) = protocol {
                response
                    .headers_mut()
                    .insert(http::header::SEC_WEBSOCKET_PROTOCOL, protocol);
            }
            response
        }
    }

    /// A warp [`WebSocket`] that ends at its token's deadline: [`recv`](LiveSocket::recv) then
    /// sends a close frame (1008 and the reason) and returns `None`.
    #[derive(Debug)]
    pub struct LiveSocket {
        socket: WebSocket,
        deadline: Deadline,
    }

    impl LiveSocket {
        /// The next message; `None` when the peer closed, or the deadline passed (the socket
        /// is then closed with 1008).
        pub async fn recv(&mut self) -> Option<Result<Message, warp::Error>> {
            let next = std::future::poll_fn(|cx| {
                if let Poll::Ready(ended) = self.deadline.poll_ended(cx) {
                    return Poll::Ready(Err(ended));
                }
                Pin::new(&mut self.socket).poll_next(cx).map(Ok)
            })
            .await;
            match next {
                Ok(message) => message,
                Err(ended) => {
                    self.close(ended).await;
                    None
                }
            }
        }

        /// Sends `message`; refused once the deadline has passed.
        ///
        /// # Errors
        /// The socket's error, or [`Ended`] once the deadline has passed.
        pub async fn send(&mut self, message: Message) -> Result<(), SendError> {
            if let Some(ended) = self.deadline.has_ended() {
                return Err(SendError::Ended(ended));
            }
            self.socket.send(message).await.map_err(SendError::Socket)
        }

        /// Resolves at the deadline, after closing the socket with 1008 and the reason.
        pub async fn ended(&mut self) -> Ended {
            let ended = self.deadline.ended().await;
            self.close(ended).await;
            ended
        }

        /// The deadline.
        #[must_use]
        pub fn deadline(&self) -> &Deadline {
            &self.deadline
        }

        /// The socket and its deadline, to drive them yourself.
        #[must_use]
        pub fn into_parts(self) -> (WebSocket, Deadline) {
            (self.socket, self.deadline)
        }

        async fn close(&mut self, ended: Ended) {
            let frame = Message::close_with(ended.websocket_close_code(), ended.reason());
            // The peer may be gone already: nothing else to do.
            let _ = self.socket.send(frame).await;
        }
    }

    /// Why [`LiveSocket::send`] failed.
    #[derive(Debug)]
    #[non_exhaustive]
    pub enum SendError {
        /// The connection's deadline passed.
        Ended(Ended),
        /// The socket failed.
        Socket(warp::Error),
    }

    impl std::fmt::Display for SendError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                SendError::Ended(ended) => f.write_str(ended.reason()),
                SendError::Socket(error) => error.fmt(f),
            }
        }
    }

    impl std::error::Error for SendError {}
}

#[cfg(feature = "ws")]
pub use socket::SendError;
