//! [`RequestView`]: a framework-neutral view of the request being decided.

use std::fmt;

/// Read access to a request's headers, so the pipeline runs on any framework's header map.
/// Implemented for `http::HeaderMap`; adapters implement it for their own.
pub trait RequestHeaders {
    /// Every value of the header `name` (lower-case), in request order.
    fn header_values<'h>(&'h self, name: &str) -> impl Iterator<Item = &'h [u8]>;
}

impl RequestHeaders for http::HeaderMap {
    fn header_values<'h>(&'h self, name: &str) -> impl Iterator<Item = &'h [u8]> {
        self.get_all(name).iter().map(http::HeaderValue::as_bytes)
    }
}

/// What the pipeline sees of a request: method, target as the server received it, headers.
///
/// The method and target are what sender-constrained tokens are bound to; today the token
/// sources read the headers and the query.
#[derive(Clone, Copy)]
pub struct RequestView<'a, H: ?Sized = http::HeaderMap> {
    method: &'a str,
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    headers: &'a H,
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
        }
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
