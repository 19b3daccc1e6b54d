//! The response body of a guarded service: the inner service's body, or a rejection's.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;

/// A connection's deadline; uninhabited without the `live` feature (no response is ever
/// ended early then).
#[cfg(feature = "live")]
pub(crate) type Deadline = tokengate::live::Deadline;
/// A connection's deadline; uninhabited without the `live` feature (no response is ever
/// ended early then).
#[cfg(not(feature = "live"))]
#[derive(Debug)]
pub(crate) enum Deadline {}

/// What ends a streaming body: the token's deadline, and how it ends.
#[cfg(feature = "live")]
#[derive(Debug)]
struct StreamEnd {
    deadline: tokengate::live::Deadline,
    /// End with gRPC trailers (`grpc-status` 16) rather than simply.
    grpc: bool,
    finished: bool,
}
/// Without the `live` feature no body ends early.
#[cfg(not(feature = "live"))]
#[derive(Debug)]
enum StreamEnd {}

/// A boxed error, as tower services use.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project_lite::pin_project! {
    /// The inner service's body, or the body of a rejection tokengate answered with.
    #[derive(Debug)]
    pub struct AuthBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Rejection { #[pin] body: Full<Bytes> },
        // A stream (gRPC, server-sent events) that ends at its token's deadline (never built
        // without the `live` feature: `StreamEnd` is then uninhabited).
        Live {
            #[pin] body: B,
            // Boxed with its flags: the variant is no larger than the others.
            end: Box<StreamEnd>,
        },
    }
}

impl<B> AuthBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        AuthBody {
            kind: Kind::Inner { body },
        }
    }

    /// The inner service's body, ended at `deadline` when the response is a stream: a gRPC
    /// response ends with `grpc-status` 16 (UNAUTHENTICATED) in its trailers, server-sent
    /// events simply end (the client reconnects with a fresh token). Other responses are
    /// passed on unchanged.
    #[cfg(feature = "live")]
    pub(crate) fn until_deadline(body: B, deadline: Deadline, headers: &http::HeaderMap) -> Self {
        let kind = match crate::live::stream_kind(headers) {
            Some(grpc) => Kind::Live {
                body,
                end: Box::new(StreamEnd {
                    deadline,
                    grpc,
                    finished: false,
                }),
            },
            None => Kind::Inner { body },
        };
        AuthBody { kind }
    }

    /// Without the `live` feature there is no deadline to end a body at.
    #[cfg(not(feature = "live"))]
    pub(crate) fn until_deadline(_: B, deadline: Deadline, _: &http::HeaderMap) -> Self {
        match deadline {}
    }

    pub(crate) fn rejection(body: Full<Bytes>) -> Self {
        AuthBody {
            kind: Kind::Rejection { body },
        }
    }
}

/// An empty body: what layers outside tokengate's answer with themselves (tower-http's
/// `CorsLayer` for a preflight) need.
impl<B> Default for AuthBody<B> {
    fn default() -> Self {
        AuthBody::rejection(Full::new(Bytes::new()))
    }
}

impl<B> Body for AuthBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx).map_err(Into::into),
            KindProj::Rejection { body } => body.poll_frame(cx).map_err(|never| match never {}),
            #[cfg(not(feature = "live"))]
            KindProj::Live { end, .. } => match **end {},
            #[cfg(feature = "live")]
            KindProj::Live { body, end } => {
                if end.finished {
                    return Poll::Ready(None);
                }
                if let Poll::Ready(ended) = end.deadline.poll_ended(cx) {
                    end.finished = true;
                    return Poll::Ready(
                        end.grpc
                            .then(|| Ok(Frame::trailers(crate::live::grpc_trailers(ended)))),
                    );
                }
                let frame = body.poll_frame(cx).map_err(Into::into);
                if let Poll::Ready(None) = frame {
                    end.finished = true;
                }
                frame
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Rejection { body } => body.is_end_stream(),
            #[cfg(feature = "live")]
            Kind::Live { body, end } => end.finished || body.is_end_stream(),
            #[cfg(not(feature = "live"))]
            Kind::Live { end, .. } => match **end {},
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Rejection { body } => body.size_hint(),
            // It may end before the inner body does.
            Kind::Live { .. } => SizeHint::default(),
        }
    }
}
