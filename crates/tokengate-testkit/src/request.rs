//! A test token on a test request, one call per framework (`docs/guide.md`, "Testing your
//! API"): [`WithToken`] for `http`'s request builder (axum, tower, hyper), and, behind
//! features, actix-web's `TestRequest` (`actix`), warp's `test::RequestBuilder` (`warp`) and a
//! `tonic::Request` (`tonic`).
//!
//! ```
//! use tokengate::http::Request;
//! use tokengate_testkit::{TestIssuer, request::WithToken};
//!
//! let issuer = TestIssuer::new();
//! let token = issuer.token().scopes(["messages:read"]).sign();
//! let request = Request::get("/me").bearer(&token).body(()).unwrap();
//! assert!(request.headers()["authorization"].to_str().unwrap().starts_with("Bearer "));
//! ```

use tokengate::http::{HeaderValue, header, request};

use crate::dpop::DpopKey;

/// The host a DPoP test request names when it has no `Host` header of its own.
pub const TEST_HOST: &str = "localhost";

/// Adds a test token to a request being built.
pub trait WithToken: Sized {
    /// `Authorization: Bearer <token>`.
    #[must_use]
    fn bearer(self, token: &str) -> Self;

    /// `Authorization: DPoP <token>` and a `DPoP` proof by `key` for the request's method and
    /// URL (`http://<Host><path>`; `Host: localhost` is added when the request has none).
    #[must_use]
    fn dpop(self, token: &str, key: &DpopKey) -> Self;
}

impl WithToken for request::Builder {
    fn bearer(self, token: &str) -> Self {
        self.header(header::AUTHORIZATION, format!("Bearer {token}"))
    }

    fn dpop(mut self, token: &str, key: &DpopKey) -> Self {
        let method = self
            .method_ref()
            .map_or_else(|| "GET".to_owned(), ToString::to_string);
        let path = self
            .uri_ref()
            .map_or_else(|| "/".to_owned(), |uri| uri.path().to_owned());
        let host = match self.headers_ref().and_then(|h| h.get(header::HOST)) {
            Some(host) => host.to_str().unwrap_or(TEST_HOST).to_owned(),
            None => {
                self = self.header(header::HOST, HeaderValue::from_static(TEST_HOST));
                TEST_HOST.to_owned()
            }
        };
        let (authorization, proof) =
            crate::issuer::dpop(token, key, &method, &format!("http://{host}{path}"));
        self.header(header::AUTHORIZATION, authorization)
            .header("dpop", proof)
    }
}

/// actix-web's `test::TestRequest` with a test token (feature `actix`).
#[cfg(feature = "actix")]
pub trait ActixWithToken: Sized {
    /// `Authorization: Bearer <token>`.
    #[must_use]
    fn bearer(self, token: &str) -> Self;

    /// `Authorization: DPoP <token>`, `Host: localhost` and a proof by `key` for `method` and
    /// `http://localhost<path>` (a test request has no host of its own; give the same `path`
    /// as to `uri`).
    #[must_use]
    fn dpop(self, token: &str, key: &DpopKey, method: &str, path: &str) -> Self;
}

#[cfg(feature = "actix")]
impl ActixWithToken for actix_web::test::TestRequest {
    fn bearer(self, token: &str) -> Self {
        self.insert_header(("authorization", format!("Bearer {token}")))
    }

    fn dpop(self, token: &str, key: &DpopKey, method: &str, path: &str) -> Self {
        let url = format!("http://{TEST_HOST}{path}");
        let (authorization, proof) = crate::issuer::dpop(token, key, method, &url);
        self.insert_header(("host", TEST_HOST))
            .insert_header(("authorization", authorization))
            .insert_header(("dpop", proof))
    }
}

/// warp's `test::RequestBuilder` with a test token (feature `warp`).
#[cfg(feature = "warp")]
pub trait WarpWithToken: Sized {
    /// `Authorization: Bearer <token>`.
    #[must_use]
    fn bearer(self, token: &str) -> Self;

    /// `Authorization: DPoP <token>`, `Host: localhost` and a proof by `key` for `method` and
    /// `http://localhost<path>` (give the same `path` as to `.path(..)`).
    #[must_use]
    fn dpop(self, token: &str, key: &DpopKey, method: &str, path: &str) -> Self;
}

#[cfg(feature = "warp")]
impl WarpWithToken for warp::test::RequestBuilder {
    fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    fn dpop(self, token: &str, key: &DpopKey, method: &str, path: &str) -> Self {
        let url = format!("http://{TEST_HOST}{path}");
        let (authorization, proof) = crate::issuer::dpop(token, key, method, &url);
        self.header("host", TEST_HOST)
            .header("authorization", authorization)
            .header("dpop", proof)
    }
}

/// A `tonic::Request` with a test token in its metadata (feature `tonic`).
#[cfg(feature = "tonic")]
pub trait TonicWithToken: Sized {
    /// `authorization: Bearer <token>` metadata.
    #[must_use]
    fn bearer(self, token: &str) -> Self;
}

#[cfg(feature = "tonic")]
impl<T> TonicWithToken for tonic::Request<T> {
    fn bearer(mut self, token: &str) -> Self {
        let value = format!("Bearer {token}")
            .parse()
            .expect("a token is ASCII metadata");
        self.metadata_mut().insert("authorization", value);
        self
    }
}
