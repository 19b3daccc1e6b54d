//! Connections that outlive their request: a WebSocket, a server-sent event stream (MCP's GET
//! stream among them), a gRPC server stream. A request is checked once; the connection it
//! opens stays authorized only until its [`Deadline`]: the token's `exp` (no leeway: the
//! leeway forgives clock skew at admission, it does not extend a session) and, when
//! configured, a re-check against the revocation list or the introspection endpoint
//! ([`VerifierBuilder::connection_recheck`](crate::VerifierBuilder::connection_recheck)).
//! `docs/architecture.md`, "Connections that outlive a request".
//!
//! Framework-neutral: [`Deadline::ended`] is a future to race against a socket, and
//! [`until_expiry`] ends any [`Stream`] at the deadline. The adapters build on them (axum
//! `WebSocketUpgrade` and `Sse`, actix-ws, warp `ws()`, tonic streams).
//!
//! ```
//! # async fn demo(verifier: tokengate::Verifier, verified: tokengate::Verified<()>) {
//! use tokengate::adapter::RequestView;
//! use tokengate::live::{Ended, until_expiry};
//!
//! let headers = http::HeaderMap::new();
//! let request = RequestView::new("GET", "/events", None, &headers);
//! let deadline = verifier.connection_deadline(&request, &verified);
//! let events = futures_stream(); // any `Stream`
//! // Yields the events until the token expires (or is revoked), then one last item, then ends.
//! let events = until_expiry(events, deadline).then(|ended: Ended| format!("bye: {}", ended.reason()));
//! # let _ = events;
//! # }
//! # fn futures_stream() -> tokio_stream::Iter<std::vec::IntoIter<String>> { tokio_stream::iter(vec![]) }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use futures_core::Stream;
use tokio::time::{Instant, Sleep};

use crate::claims::Verified;
use crate::clock::Clock;
use crate::error::{Error, ErrorKind};
use crate::request::{RequestHeaders, RequestView};
use crate::verifier::Verifier;

/// How often a connection whose token has no `exp` (an introspection answer without one) is
/// re-checked when the verifier sets no interval: such a connection is never left unchecked.
pub const RECHECK_WITHOUT_EXPIRY: Duration = Duration::from_secs(60);

/// Why a connection's authorization ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ended {
    /// The token's `exp` passed.
    Expired,
    /// A re-check found the token revoked (the revocation list).
    Revoked,
    /// A re-check found the token no longer accepted (inactive at the introspection endpoint,
    /// or refused by a rule).
    Refused,
    /// A re-check could not be made (the revocation list or the introspection endpoint did
    /// not answer): the connection ends, as a request would get 503 (fail closed).
    Unavailable,
}

impl Ended {
    /// A stable snake_case code, for logs and the `tokengate.reason` attribute of
    /// `tokengate.connections.ended` (Prometheus: `tokengate_connections_ended_total`).
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Ended::Expired => "expired",
            Ended::Revoked => "revoked",
            Ended::Refused => "refused",
            Ended::Unavailable => "unavailable",
        }
    }

    /// A short reason for the peer (a WebSocket close frame holds at most 123 bytes). Names
    /// no claim and no token.
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            Ended::Expired => "the access token expired",
            Ended::Revoked => "the access token was revoked",
            Ended::Refused => "the access token is no longer accepted",
            Ended::Unavailable => "the access token could not be re-checked",
        }
    }

    /// The WebSocket close code (RFC 6455 section 7.4.1): 1008 (policy violation) when the
    /// token ended; 1013 (try again later) when a re-check could not be made.
    #[must_use]
    pub fn websocket_close_code(self) -> u16 {
        match self {
            Ended::Unavailable => 1013,
            _ => 1008,
        }
    }

    fn from_error(error: &Error) -> Ended {
        match error.kind() {
            ErrorKind::Revoked => Ended::Revoked,
            ErrorKind::Expired => Ended::Expired,
            ErrorKind::RevocationUnavailable
            | ErrorKind::IntrospectionUnavailable
            | ErrorKind::KeysUnavailable
            | ErrorKind::CheckUnavailable => Ended::Unavailable,
            _ => Ended::Refused,
        }
    }
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

type Check = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// Re-checks of the token, every `every`.
struct Rechecks {
    verifier: Verifier,
    /// The token, kept only for re-checks; `None` when it could not be read again (the
    /// connection then ends at the first re-check: fail closed).
    token: Option<Arc<str>>,
    every: Duration,
    next: Instant,
    /// A `Mutex` only to make the deadline `Sync` (warp's SSE reply asks for it): reached
    /// through `&mut self` alone, it is never locked.
    running: Mutex<Option<Check>>,
}

/// When a connection must end: the token's `exp`, or a re-check that refuses it. Built by
/// [`Verifier::connection_deadline`] for an admitted request.
///
/// Await [`ended`](Deadline::ended) (cancel-safe: race it in a `select!` loop, a re-check in
/// progress continues on the next call) or wrap a stream with [`until_expiry`]. Needs a tokio
/// runtime (its timer) once polled. `Debug` shows whether there is an expiry and the interval,
/// never a claim or the token.
pub struct Deadline {
    expires_at: Option<u64>,
    clock: Arc<dyn Clock>,
    rechecks: Option<Rechecks>,
    /// Made on the first poll: building a deadline needs no runtime and allocates no timer.
    sleep: Option<Pin<Box<Sleep>>>,
    ended: Option<Ended>,
}

impl fmt::Debug for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No claim value (not even `exp`): whether there is one.
        f.debug_struct("Deadline")
            .field("expires", &self.expires_at.is_some())
            .field("recheck", &self.rechecks.as_ref().map(|r| r.every))
            .field("ended", &self.ended)
            .finish()
    }
}

impl Verifier {
    /// The deadline of the connection `request` opens with the claims this verifier admitted
    /// for it: the token's `exp` (no leeway), and re-checks every
    /// [`connection_recheck`](crate::VerifierBuilder::connection_recheck) interval (every
    /// [`RECHECK_WITHOUT_EXPIRY`] for a token without `exp` when none is set). The token is read
    /// from `request` again only when re-checks need it.
    pub fn connection_deadline<T, H>(
        &self,
        request: &RequestView<'_, H>,
        verified: &Verified<T>,
    ) -> Deadline
    where
        H: RequestHeaders + ?Sized,
    {
        let exp = verified.expires_at();
        let expires_at = exp.is_finite().then(|| exp.max(0.0).ceil() as u64);
        let every = self
            .connection_recheck()
            .or_else(|| expires_at.is_none().then_some(RECHECK_WITHOUT_EXPIRY));
        let rechecks = every.map(|every| Rechecks {
            verifier: self.clone(),
            token: self.request_token(request).map(Arc::from),
            every,
            next: Instant::now() + every,
            running: Mutex::new(None),
        });
        Deadline {
            expires_at,
            clock: Arc::clone(&self.inner.clock),
            rechecks,
            sleep: None,
            ended: None,
        }
    }
}

impl Deadline {
    /// A deadline at `expires_at` (Unix seconds) by the system clock, without re-checks: for
    /// a connection whose end is known otherwise.
    #[must_use]
    pub fn at(expires_at: u64) -> Deadline {
        Deadline {
            expires_at: Some(expires_at),
            clock: Arc::new(crate::clock::SystemClock),
            rechecks: None,
            sleep: None,
            ended: None,
        }
    }

    /// The token's expiry, when it has one.
    #[must_use]
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
            .map(|exp| UNIX_EPOCH + Duration::from_secs(exp))
    }

    /// The re-check interval, when the token is re-checked.
    #[must_use]
    pub fn recheck_interval(&self) -> Option<Duration> {
        self.rechecks.as_ref().map(|r| r.every)
    }

    /// Why the connection ended, once it has.
    #[must_use]
    pub fn has_ended(&self) -> Option<Ended> {
        self.ended
    }

    /// Resolves when the connection must end, with why. Cancel-safe; once ended, it resolves
    /// at once with the same answer.
    pub fn ended(&mut self) -> impl Future<Output = Ended> + Send + '_ {
        std::future::poll_fn(move |cx| self.poll_ended(cx))
    }

    /// [`ended`](Deadline::ended) as a poll function, for a hand-written future or stream.
    pub fn poll_ended(&mut self, cx: &mut Context<'_>) -> Poll<Ended> {
        loop {
            if let Some(ended) = self.ended {
                return Poll::Ready(ended);
            }
            let now = self.clock.now_unix();
            if self.expires_at.is_some_and(|exp| now >= exp) {
                return Poll::Ready(self.end(Ended::Expired));
            }
            let mut wake = self
                .expires_at
                .map(|exp| Instant::now() + Duration::from_secs(exp - now));
            if let Some(rechecks) = &mut self.rechecks {
                let running = rechecks
                    .running
                    .get_mut()
                    .unwrap_or_else(PoisonError::into_inner);
                if let Some(check) = running {
                    match check.as_mut().poll(cx) {
                        Poll::Ready(Ok(())) => {
                            *running = None;
                            rechecks.next = Instant::now() + rechecks.every;
                        }
                        Poll::Ready(Err(error)) => {
                            return Poll::Ready(self.end(Ended::from_error(&error)));
                        }
                        Poll::Pending => {}
                    }
                }
                if running.is_none() {
                    if Instant::now() >= rechecks.next {
                        let Some(token) = rechecks.token.clone() else {
                            return Poll::Ready(self.end(Ended::Refused));
                        };
                        let verifier = rechecks.verifier.clone();
                        *running = Some(Box::pin(async move { verifier.recheck(&token).await }));
                        continue;
                    }
                    wake = Some(wake.map_or(rechecks.next, |w| w.min(rechecks.next)));
                }
            }
            match wake {
                Some(wake) => {
                    let sleep = match &mut self.sleep {
                        Some(sleep) => {
                            sleep.as_mut().reset(wake);
                            sleep
                        }
                        None => self.sleep.insert(Box::pin(tokio::time::sleep_until(wake))),
                    };
                    if sleep.as_mut().poll(cx).is_ready() {
                        continue;
                    }
                    return Poll::Pending;
                }
                // Only a re-check in progress: it wakes this task.
                None => return Poll::Pending,
            }
        }
    }

    fn end(&mut self, ended: Ended) -> Ended {
        self.ended = Some(ended);
        self.rechecks = None;
        tracing::debug!(target: "tokengate::live", reason = ended.code(), "connection ended");
        #[cfg(feature = "metrics")]
        crate::observe::connection_ended(ended.code());
        ended
    }
}

/// `stream` until `deadline`: its items, then (after [`then`](UntilExpiry::then)) one last
/// item saying why, then the end. The item in flight when the deadline passes is not cut.
pub fn until_expiry<S: Stream>(stream: S, deadline: Deadline) -> UntilExpiry<S> {
    UntilExpiry {
        stream: Box::pin(stream),
        deadline,
        last: Mutex::new(None),
        done: false,
    }
}

/// The stream of [`until_expiry`].
#[must_use = "streams do nothing unless polled"]
pub struct UntilExpiry<S: Stream> {
    stream: Pin<Box<S>>,
    deadline: Deadline,
    /// A `Mutex` only to keep the stream `Sync` (never locked: reached through `&mut self`).
    #[allow(clippy::type_complexity)]
    last: Mutex<Option<Box<dyn FnOnce(Ended) -> S::Item + Send>>>,
    done: bool,
}

impl<S: Stream> UntilExpiry<S> {
    /// Ends with one more item made from why the connection ended (an SSE event saying so; a
    /// gRPC `Err(Status::unauthenticated(..))`).
    pub fn then(mut self, last: impl FnOnce(Ended) -> S::Item + Send + 'static) -> Self {
        self.last = Mutex::new(Some(Box::new(last)));
        self
    }

    /// The deadline, e.g. to see why the stream ended.
    #[must_use]
    pub fn deadline(&self) -> &Deadline {
        &self.deadline
    }
}

impl<S: Stream> fmt::Debug for UntilExpiry<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UntilExpiry")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl<S: Stream> Stream for UntilExpiry<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        // Every field is `Unpin` (the stream is boxed).
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(ended) = this.deadline.poll_ended(cx) {
            this.done = true;
            let last = this
                .last
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            return Poll::Ready(last.map(|last| last(ended)));
        }
        match this.stream.as_mut().poll_next(cx) {
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            other => other,
        }
    }
}

/// What kind of stream a response is, by its `Content-Type`: `Some(true)` for gRPC (ended with
/// `grpc-status` 16 in its trailers), `Some(false)` for server-sent events (simply ended),
/// `None` for anything else (never cut). The rule every adapter that ends responses uses.
#[must_use]
pub fn stream_kind(content_type: &[u8]) -> Option<bool> {
    if content_type.starts_with(b"application/grpc") {
        Some(true)
    } else if content_type.starts_with(b"text/event-stream") {
        Some(false)
    } else {
        None
    }
}

/// Whether a request may open a stream that must end at its token's deadline: gRPC (a `POST`
/// over HTTP/2 with an `application/grpc` content type) or one that accepts
/// `text/event-stream` (a browser's `EventSource` and MCP's GET stream are `GET`s, MCP's calls
/// `POST`s). `content_type` and `accept` are looked at lazily: other methods look at nothing.
pub fn may_open_stream<'h, A: IntoIterator<Item = &'h [u8]>>(
    method: &str,
    http2: bool,
    content_type: impl FnOnce() -> Option<&'h [u8]>,
    accept: impl FnOnce() -> A,
) -> bool {
    let events = |accept: A| {
        accept.into_iter().any(|value| {
            value
                .windows(17)
                .any(|w| w.eq_ignore_ascii_case(b"text/event-stream"))
        })
    };
    match method {
        "GET" => events(accept()),
        "POST" => {
            (http2 && content_type().is_some_and(|v| v.starts_with(b"application/grpc")))
                || events(accept())
        }
        _ => false,
    }
}

/// A WebSocket (any `Stream` of `Result<M, E>` that is also a `Sink<M>`: axum's, warp's,
/// tokio-tungstenite's) that ends at its token's deadline: [`recv`](Socket::recv) then sends
/// the close frame `close` makes (1008 and the reason) and returns `None`. A handler that
/// awaits `recv` — as every handler that notices the peer closing does — needs nothing else;
/// one that waits on something else races [`ended`](Socket::ended). The adapters name it
/// `LiveSocket` for their framework's socket.
pub struct Socket<S, M> {
    socket: S,
    deadline: Deadline,
    close: fn(Ended) -> M,
}

impl<S, M> fmt::Debug for Socket<S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Why [`Socket::send`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError<E> {
    /// The connection's deadline passed.
    Ended(Ended),
    /// The socket failed.
    Socket(E),
}

impl<E: fmt::Display> fmt::Display for SendError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Ended(ended) => f.write_str(ended.reason()),
            SendError::Socket(error) => error.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for SendError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Ended(_) => None,
            SendError::Socket(error) => Some(error),
        }
    }
}

impl<S, M, E> Socket<S, M>
where
    S: Stream<Item = Result<M, E>> + futures_sink::Sink<M, Error = E> + Unpin,
{
    /// `socket` until `deadline`; `close` makes the frame sent then.
    pub fn new(socket: S, deadline: Deadline, close: fn(Ended) -> M) -> Self {
        Socket {
            socket,
            deadline,
            close,
        }
    }

    /// The next message; `None` when the peer closed, or the deadline passed (the close frame
    /// is then sent).
    pub async fn recv(&mut self) -> Option<Result<M, E>> {
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
    /// [`SendError::Ended`] after the deadline; the socket's error.
    pub async fn send(&mut self, message: M) -> Result<(), SendError<E>> {
        if let Some(ended) = self.deadline.has_ended() {
            return Err(SendError::Ended(ended));
        }
        self.send_raw(message).await.map_err(SendError::Socket)
    }

    /// Resolves at the deadline, after sending the close frame.
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
    pub fn into_parts(self) -> (S, Deadline) {
        (self.socket, self.deadline)
    }

    async fn send_raw(&mut self, message: M) -> Result<(), E> {
        std::future::poll_fn(|cx| Pin::new(&mut self.socket).poll_ready(cx)).await?;
        Pin::new(&mut self.socket).start_send(message)?;
        std::future::poll_fn(|cx| Pin::new(&mut self.socket).poll_flush(cx)).await
    }

    async fn close(&mut self, ended: Ended) {
        // The peer may be gone already: nothing else to do.
        let _ = self.send_raw((self.close)(ended)).await;
    }
}

/// An adapter's connection extractor: `live_extractor!()` writes `Live<T>` — the verified
/// claims, the connection's [`Deadline`] and the WebSocket subprotocol to echo — with `Debug`,
/// `stream` (any stream until the deadline) and `reply_protocol`, and a crate-private
/// `Live::admitted(verifier, request, claims)` that builds it. The adapter adds its framework's
/// extractor trait and its WebSocket helper (`docs/architecture.md`, "One guard").
#[macro_export]
macro_rules! live_extractor {
    () => {
        /// The claims of a request that opens a connection (a WebSocket, a stream), and the
        /// connection's [`Deadline`]($crate::live::Deadline): the token's `exp` (no leeway),
        /// and re-checks when the verifier sets
        /// [`connection_recheck`]($crate::VerifierBuilder::connection_recheck).
        /// `docs/guide.md`, "Long-lived connections".
        pub struct Live<T = $crate::StandardClaims> {
            /// The verified claims.
            pub claims: $crate::Verified<T>,
            /// When the connection must end.
            pub deadline: $crate::live::Deadline,
            protocol: ::std::option::Option<::std::boxed::Box<str>>,
        }

        impl<T> ::std::fmt::Debug for Live<T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct("Live")
                    .field("claims", &self.claims)
                    .field("deadline", &self.deadline)
                    .finish()
            }
        }

        impl<T> Live<T> {
            /// What the pipeline admitted, with the connection's deadline.
            #[allow(dead_code)]
            pub(crate) fn admitted<H>(
                verifier: &$crate::Verifier,
                request: &$crate::adapter::RequestView<'_, H>,
                claims: $crate::Verified<T>,
            ) -> Self
            where
                H: $crate::adapter::RequestHeaders + ?Sized,
            {
                let deadline = verifier.connection_deadline(request, &claims);
                let protocol = verifier
                    .token_sources()
                    .websocket_reply_protocol(request.headers(), &[])
                    .map(::std::boxed::Box::from);
                Live {
                    claims,
                    deadline,
                    protocol,
                }
            }

            /// `stream` until the deadline: its items, then the end (an SSE body, a chunked
            /// response).
            pub fn stream<S: $crate::live::Stream>(
                self,
                stream: S,
            ) -> $crate::live::UntilExpiry<S> {
                $crate::live::until_expiry(stream, self.deadline)
            }

            /// The subprotocol a WebSocket handshake echoes: the marker when the token came in
            /// `Sec-WebSocket-Protocol` (a browser requires one it offered), never the token.
            #[must_use]
            pub fn reply_protocol(&self) -> ::std::option::Option<&str> {
                self.protocol.as_deref()
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_requests_and_responses_are_streams() {
        let none = || None;
        let no_accept = || std::iter::empty::<&[u8]>();
        let sse = || [&b"text/html"[..], b"Text/Event-Stream"];
        assert!(may_open_stream("GET", false, none, sse));
        assert!(!may_open_stream("GET", false, none, no_accept));
        assert!(may_open_stream(
            "POST",
            true,
            || Some(&b"application/grpc+proto"[..]),
            no_accept
        ));
        assert!(
            !may_open_stream("POST", false, || Some(&b"application/grpc"[..]), no_accept),
            "gRPC is HTTP/2"
        );
        assert!(
            may_open_stream("POST", false, none, sse),
            "MCP's calls may answer with SSE"
        );
        assert!(!may_open_stream(
            "DELETE",
            true,
            || Some(&b"application/grpc"[..]),
            sse
        ));
        assert_eq!(stream_kind(b"application/grpc"), Some(true));
        assert_eq!(
            stream_kind(b"text/event-stream; charset=utf-8"),
            Some(false)
        );
        assert_eq!(stream_kind(b"application/json"), None);
    }
}
