//! Connections that outlive their request (`docs/guide.md`, "Long-lived connections"):
//! [`Live`] gives a handler the claims and the connection's [`Deadline`]; streaming responses
//! end there ([`Live::stream`]) and, with the `ws` feature, an actix-ws session closes with
//! 1008 ([`Live::websocket`]).

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use tokengate::adapter::Policy;

use crate::extract::{AuthRejection, ExtractFuture};
use crate::response::{self, ActixHeaders};

tokengate::live_extractor!();

// Echo until the token expires (feature `ws`): the session then closes with 1008.
//
//     async fn echo(request: HttpRequest, body: web::Payload, live: Live) -> actix_web::Result<HttpResponse> {
//         let (response, mut session, mut messages) = live.websocket(&request, body)?;
//         actix_web::rt::spawn(async move {
//             while let Some(Ok(actix_ws::Message::Text(text))) = messages.recv().await {
//                 if session.text(text).await.is_err() { break; }
//             }
//         });
//         Ok(response)
//     }

impl<T: DeserializeOwned + Send + Sync + 'static> FromRequest for Live<T> {
    type Error = AuthRejection;
    type Future = ExtractFuture<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let verifier = crate::extract::verifier_of(&request)?;
            let claims = crate::extract::required::<T>(request.clone(), Policy::new())
                .await?
                .0;
            let headers = ActixHeaders(request.headers());
            let params = response::params(&request);
            let view = response::view(&request, &headers, &params);
            Ok(Live::admitted(&verifier, &view, claims))
        })
    }
}

#[cfg(feature = "ws")]
pub use socket::LiveStream;

#[cfg(feature = "ws")]
mod socket {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use actix_web::http::header::{HeaderValue, SEC_WEBSOCKET_PROTOCOL};
    use actix_web::{HttpRequest, HttpResponse, web};
    use actix_ws::{CloseCode, CloseReason, Message, MessageStream, ProtocolError, Session};
    use tokengate::live::{Deadline, Ended, Stream};

    use super::Live;

    impl<T> Live<T> {
        /// The actix-ws handshake: the response to return, the session to send on, and the
        /// incoming messages — which end at the deadline after closing the session with 1008
        /// (1013 when a re-check could not be made) and the reason. When the token came in
        /// `Sec-WebSocket-Protocol`, the marker is echoed (never the token).
        ///
        /// # Errors
        /// actix-ws's, for a request that is not a WebSocket handshake.
        pub fn websocket(
            self,
            request: &HttpRequest,
            body: web::Payload,
        ) -> Result<(HttpResponse, Session, LiveStream), actix_web::Error> {
            let (mut response, session, messages) = actix_ws::handle(request, body)?;
            if let Some(protocol) = self
                .reply_protocol()
                .and_then(|p| HeaderValue::from_str(p).ok())
            {
                response
                    .headers_mut()
                    .insert(SEC_WEBSOCKET_PROTOCOL, protocol);
            }
            let stream = LiveStream {
                messages,
                deadline: self.deadline,
                session: Some(session.clone()),
                closing: None,
                done: false,
            };
            Ok((response, session, stream))
        }
    }

    /// An actix-ws [`MessageStream`] that ends at its token's deadline, after closing the
    /// session with 1008 and the reason. A handler that awaits [`recv`](LiveStream::recv) needs
    /// nothing else.
    pub struct LiveStream {
        messages: MessageStream,
        deadline: Deadline,
        session: Option<Session>,
        closing: Option<Pin<Box<dyn Future<Output = ()>>>>,
        done: bool,
    }

    impl std::fmt::Debug for LiveStream {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("LiveStream")
                .field("deadline", &self.deadline)
                .finish_non_exhaustive()
        }
    }

    impl LiveStream {
        /// The next message; `None` when the peer closed or the deadline passed.
        pub async fn recv(&mut self) -> Option<Result<Message, ProtocolError>> {
            std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
        }

        /// The deadline (why it ended: [`Deadline::has_ended`]).
        #[must_use]
        pub fn deadline(&self) -> &Deadline {
            &self.deadline
        }
    }

    fn close_reason(ended: Ended) -> CloseReason {
        CloseReason {
            code: match ended.websocket_close_code() {
                1008 => CloseCode::Policy,
                code => CloseCode::Other(code),
            },
            description: Some(ended.reason().to_owned()),
        }
    }

    impl Stream for LiveStream {
        type Item = Result<Message, ProtocolError>;

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            let this = &mut *self;
            loop {
                if this.done {
                    return Poll::Ready(None);
                }
                if let Some(closing) = &mut this.closing {
                    std::task::ready!(closing.as_mut().poll(cx));
                    this.done = true;
                    continue;
                }
                if let Poll::Ready(ended) = this.deadline.poll_ended(cx) {
                    let session = this.session.take();
                    this.closing = Some(Box::pin(async move {
                        if let Some(session) = session {
                            // The peer may be gone already: nothing else to do.
                            let _ = session.close(Some(close_reason(ended))).await;
                        }
                    }));
                    continue;
                }
                return Pin::new(&mut this.messages).poll_next(cx);
            }
        }
    }
}
