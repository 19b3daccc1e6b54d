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

/// A `warp::ws()` socket that closes with 1008 (1013 when a re-check could not be made) and
/// the reason at its token's deadline: [`recv`](tokengate::live::Socket::recv) then returns
/// `None`.
#[cfg(feature = "ws")]
pub type LiveSocket = tokengate::live::Socket<warp::ws::WebSocket, warp::ws::Message>;

#[cfg(feature = "ws")]
mod socket {
    use std::future::Future;

    use tokengate::Verified;
    use tokengate::live::Ended;
    use warp::Reply;
    use warp::ws::{Message, Ws};

    use super::{Live, LiveSocket};

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
                .on_upgrade(move |socket| {
                    handler(LiveSocket::new(socket, deadline, close_frame), claims)
                })
                .into_response();
            if let Some(protocol) = protocol {
                response
                    .headers_mut()
                    .insert(http::header::SEC_WEBSOCKET_PROTOCOL, protocol);
            }
            response
        }
    }

    fn close_frame(ended: Ended) -> Message {
        Message::close_with(ended.websocket_close_code(), ended.reason())
    }
}
