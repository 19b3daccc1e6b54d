//! [`RequestView`]: a framework-neutral view of the request being decided. The lowest room
//! of the request path: token sources, DPoP, the request's origin and the pipeline read the
//! request through it, and it imports none of them (`docs/architecture.md`, "Rooms").
//! Adapters reach it as `tokengate::adapter::RequestView`.

use std::fmt;
use std::net::IpAddr;

/// Read access to a request's headers, so the pipeline runs on any framework's header map.
/// Implemented for `http::HeaderMap`; adapters implement it for their own.
pub trait RequestHeaders {
    /// Every value of the header `name` (lower-case), in request order.
    fn header_values<'h>(&'h self, name: &str) -> impl Iterator<Item = &'h [u8]>;
}

impl RequestHeaders for http::HeaderMap {
    fn header_values<'h>(&'h self, name: &str) -> impl Iterator<Item = &'h [u8]> {
        use http::header::{AUTHORIZATION, COOKIE};
        // The names the pipeline reads on every request go by their constants: a `&str` name
        // is parsed and classified first (~240 instructions a lookup, `docs/benchmarks.md`,
        // "Adapters in instructions").
        let values = match name {
            "authorization" => self.get_all(AUTHORIZATION),
            "dpop" => self.get_all(DPOP),
            "cookie" => self.get_all(COOKIE),
            _ => self.get_all(name),
        };
        values.iter().map(http::HeaderValue::as_bytes)
    }
}

const DPOP: http::HeaderName = http::HeaderName::from_static("dpop");

/// What a server's accept loop knows of a connection: the peer's address and the TLS client
/// certificate. Put it in each request's extensions (tower, hyper, axum) or actix-web's
/// connection data, and the adapters pass it to the pipeline: certificate-bound tokens
/// (RFC 8705) need the certificate, trusted proxies need the peer's address.
#[derive(Clone, Default)]
pub struct ConnectionInfo {
    /// The peer's address (the client, or a proxy).
    pub peer: Option<std::net::SocketAddr>,
    /// The client certificate (DER) the TLS handshake verified, if any.
    pub client_certificate: Option<bytes::Bytes>,
}

impl fmt::Debug for ConnectionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionInfo")
            .field("peer", &self.peer)
            .field("client_certificate", &self.client_certificate.is_some())
            .finish()
    }
}

/// What the pipeline sees of a request: method, target as the server received it, headers,
/// and what the connection knows (the peer's address, the TLS client certificate).
///
/// The method and target are what DPoP proofs are bound to; the client certificate is what
/// mutual-TLS bound tokens are bound to; the peer address decides whether forwarding headers
/// from a proxy are believed.
pub struct RequestView<'a, H: ?Sized = http::HeaderMap> {
    method: &'a str,
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    headers: &'a H,
    peer: Option<IpAddr>,
    client_certificate: Option<&'a [u8]>,
    params: &'a [(&'a str, &'a str)],
}

impl<'a, H: RequestHeaders + ?Sized> RequestView<'a, H> {
    /// A request with this method, path, query (without `?`; `None` or empty for none) and
    /// headers.
    #[must_use]
    pub fn new(method: &'a str, path: &'a str, query: Option<&'a str>, headers: &'a H) -> Self {
        RequestView {
            method,
            scheme: None,
            authority: None,
            path,
            query: query.filter(|q| !q.is_empty()),
            headers,
            peer: None,
            client_certificate: None,
            params: &[],
        }
    }

    /// The route's parameters (`/tenants/{tenant}` → `("tenant", "acme")`), where the framework
    /// exposes them, for custom checks.
    #[must_use]
    pub fn with_params(mut self, params: &'a [(&'a str, &'a str)]) -> Self {
        self.params = params;
        self
    }

    /// The route's parameters.
    #[must_use]
    pub fn params(&self) -> &'a [(&'a str, &'a str)] {
        self.params
    }

    /// The address of the connection's peer (the client, or a proxy).
    #[must_use]
    pub fn with_peer(mut self, peer: Option<IpAddr>) -> Self {
        self.peer = peer;
        self
    }

    /// The DER certificate the client presented in the TLS handshake (mutual TLS), as the
    /// server's TLS stack verified it.
    #[must_use]
    pub fn with_client_certificate(mut self, der: Option<&'a [u8]>) -> Self {
        self.client_certificate = der;
        self
    }

    /// The peer address and client certificate of `connection`, when there is one.
    #[must_use]
    pub fn with_connection(self, connection: Option<&'a ConnectionInfo>) -> Self {
        match connection {
            Some(info) => self
                .with_peer(info.peer.map(|peer| peer.ip()))
                .with_client_certificate(info.client_certificate.as_deref()),
            None => self,
        }
    }

    /// The peer's address, when the adapter knows it.
    #[must_use]
    pub fn peer(&self) -> Option<IpAddr> {
        self.peer
    }

    /// The TLS client certificate (DER), when there is one.
    #[must_use]
    pub fn client_certificate(&self) -> Option<&'a [u8]> {
        self.client_certificate
    }

    /// The scheme and authority the server was reached at (`https`, `api.example.com`).
    #[must_use]
    pub fn origin(mut self, scheme: Option<&'a str>, authority: Option<&'a str>) -> Self {
        self.scheme = scheme;
        self.authority = authority;
        self
    }

    /// The method.
    #[must_use]
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The scheme, when known.
    #[must_use]
    pub fn scheme(&self) -> Option<&'a str> {
        self.scheme
    }

    /// The authority (host and port): the one given to [`origin`](Self::origin), else the
    /// `Host` header's (looked up only when asked for; none when the header is repeated).
    #[must_use]
    pub fn authority(&self) -> Option<&'a str> {
        self.authority.or_else(|| {
            let mut hosts = self.headers.header_values("host");
            match (hosts.next(), hosts.next()) {
                (Some(host), None) => std::str::from_utf8(host).ok(),
                _ => None,
            }
        })
    }

    /// The path.
    #[must_use]
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The query, without `?`.
    #[must_use]
    pub fn query(&self) -> Option<&'a str> {
        self.query
    }

    /// The headers.
    #[must_use]
    pub fn headers(&self) -> &'a H {
        self.headers
    }

    /// Whether this is a WebSocket opening handshake: `GET` with `Upgrade: websocket` and a
    /// `Sec-WebSocket-Version` (RFC 6455 section 4.1), or HTTP/2's extended `CONNECT` with a
    /// `Sec-WebSocket-Version` (RFC 8441). The upgrade-only token sources apply to it alone.
    #[must_use]
    pub fn is_websocket_upgrade(&self) -> bool {
        // Only requests with a `Sec-WebSocket-Version` pay for the rest.
        if self
            .headers
            .header_values("sec-websocket-version")
            .next()
            .is_none()
        {
            return false;
        }
        match self.method {
            "CONNECT" => true,
            "GET" => self.headers.header_values("upgrade").any(|value| {
                value
                    .split(|b| *b == b',')
                    .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"websocket"))
            }),
            _ => false,
        }
    }
}

impl<'a> RequestView<'a, http::HeaderMap> {
    /// The view of an `http` request's head (tower, axum, hyper, tonic, warp). The authority
    /// is the URI's, else the `Host` header's.
    #[must_use]
    pub fn from_http(
        method: &'a http::Method,
        uri: &'a http::Uri,
        headers: &'a http::HeaderMap,
    ) -> Self {
        let authority = uri.authority().map(http::uri::Authority::as_str);
        RequestView::new(method.as_str(), uri.path(), uri.query(), headers)
            .origin(uri.scheme_str(), authority)
    }
}

impl<H: ?Sized> Clone for RequestView<'_, H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<H: ?Sized> Copy for RequestView<'_, H> {}

impl<H: ?Sized> fmt::Debug for RequestView<'_, H> {
    /// Method and path only: headers and query may hold credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestView")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_reads_method_target_and_host() {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", "api.example.com:8443".parse().unwrap());
        let uri: http::Uri = "/orders/7?page=2".parse().unwrap();
        let view = RequestView::from_http(&http::Method::POST, &uri, &headers);
        assert_eq!(view.method(), "POST");
        assert_eq!(view.path(), "/orders/7");
        assert_eq!(view.query(), Some("page=2"));
        assert_eq!(view.scheme(), None);
        assert_eq!(view.authority(), Some("api.example.com:8443"));
        let absolute: http::Uri = "https://other.example/x".parse().unwrap();
        let view = RequestView::from_http(&http::Method::GET, &absolute, &headers);
        assert_eq!(view.authority(), Some("other.example"));
        assert_eq!(view.scheme(), Some("https"));
        // Two Host headers: no authority rather than a guess.
        headers.append("host", "evil.example".parse().unwrap());
        let view = RequestView::from_http(&http::Method::GET, &uri, &headers);
        assert_eq!(view.authority(), None);
        assert_eq!(
            format!("{view:?}"),
            r#"RequestView { method: "GET", path: "/orders/7", .. }"#
        );
        assert_eq!(
            RequestView::new("GET", "/", Some(""), &headers).query(),
            None
        );
    }
}
