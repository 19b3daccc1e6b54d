//! The protected resource itself: its identifier (RFC 8707 resource indicator, accepted as an
//! audience) and its metadata document (RFC 9728), which every 401 and 403 challenge points to
//! with `resource_metadata`, so a client learns from the API which authorization server to ask.
//!
//! ```
//! use tokengate::{Issuer, KeySource, ProtectedResource, Verifier};
//! let verifier = Verifier::builder()
//!     .issuer(Issuer::new("https://login.example.com/").keys(KeySource::jwks_json(r#"{"keys":[]}"#)))
//!     .resource(ProtectedResource::new("https://api.example.com/orders").name("Orders API"))
//!     .build();
//! # let _ = verifier;
//! ```

use bytes::Bytes;
use serde_json::{Value, json};

use crate::error::{ConfigError, ConfigErrorKind};

/// The well-known path of RFC 9728 metadata.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// How long clients may cache the metadata document (`Cache-Control: public, max-age`).
const MAX_AGE_SECS: u32 = 3600;

/// The protected resource: its identifier and what its metadata document says.
#[derive(Clone, Debug)]
#[must_use]
pub struct ProtectedResource {
    resource: String,
    name: Option<String>,
    documentation: Option<String>,
    scopes: Option<Vec<String>>,
}

impl ProtectedResource {
    /// The resource identifier: an absolute `https` URI without fragment (plain `http` only for
    /// loopback hosts), e.g. `https://api.example.com/orders`. Tokens whose `aud` names it are
    /// accepted (compared canonically: scheme and host case-insensitive, default port dropped,
    /// an empty path equals `/`; any other trailing slash is significant).
    pub fn new(resource: impl Into<String>) -> ProtectedResource {
        ProtectedResource {
            resource: resource.into(),
            name: None,
            documentation: None,
            scopes: None,
        }
    }

    /// `resource_name`: a human-readable name.
    pub fn name(mut self, name: impl Into<String>) -> ProtectedResource {
        self.name = Some(name.into());
        self
    }

    /// `resource_documentation`: a URL of developer documentation.
    pub fn documentation(mut self, url: impl Into<String>) -> ProtectedResource {
        self.documentation = Some(url.into());
        self
    }

    /// `scopes_supported`: the scopes the resource uses in its requirements.
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> ProtectedResource
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }
}

/// The resource as a verifier holds it.
#[derive(Debug)]
pub(crate) struct Resource {
    /// The canonical identifier, compared with canonical audiences.
    pub(crate) canonical: Box<str>,
    /// Where the metadata is served, on the resource's host.
    pub(crate) path: Box<str>,
    /// The metadata URL, for `resource_metadata` in challenges.
    pub(crate) url: Box<str>,
    /// `scheme://host[:port]`: the origin clients use, for a DPoP proof's `htu`.
    pub(crate) origin: Box<str>,
    pub(crate) document: Bytes,
}

/// What the metadata document says about DPoP: the proof algorithms, and whether every
/// token must be DPoP-bound.
pub(crate) struct DpopMetadata {
    pub(crate) algorithms: Vec<&'static str>,
    pub(crate) required: bool,
}

/// The canonical form of an absolute `http(s)` URI, for audience comparison: scheme and host
/// lower-case, default port dropped, empty path as `/`; `None` for anything else (then only an
/// exact string match counts).
pub(crate) fn canonical(uri: &str) -> Option<String> {
    let parsed = url::Url::parse(uri).ok()?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.fragment().is_some() {
        return None;
    }
    // `url` lower-cases scheme and host, drops default ports and writes an empty path as `/`.
    let mut out = format!("{}://{}", parsed.scheme(), parsed.host_str()?);
    if let Some(port) = parsed.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(parsed.path());
    if let Some(query) = parsed.query() {
        out.push('?');
        out.push_str(query);
    }
    Some(out)
}

impl Resource {
    /// Checks the identifier and builds the metadata document.
    pub(crate) fn build(
        config: ProtectedResource,
        authorization_servers: Vec<&str>,
        bearer_methods: Vec<&'static str>,
        dpop: Option<DpopMetadata>,
    ) -> Result<Resource, ConfigError> {
        let invalid =
            |message: &'static str| ConfigError::new(ConfigErrorKind::InvalidSetting, message);
        let parsed = crate::fetch::check_url(&config.resource).map_err(|_| {
            ConfigError::new(
                ConfigErrorKind::InsecureUrl,
                "the resource must be an https URI (http only for loopback hosts)",
            )
        })?;
        if parsed.fragment().is_some() || parsed.query().is_some() {
            return Err(invalid("the resource must have no query and no fragment"));
        }
        let canonical = canonical(&config.resource)
            .ok_or_else(|| invalid("the resource is not an absolute URI"))?;
        // RFC 9728 section 2 and MCP 2026-07-28: at least one authorization server, each an
        // https issuer identifier (http only on loopback) without query or fragment.
        if authorization_servers.is_empty() {
            return Err(invalid(
                "the resource metadata needs at least one authorization server (an issuer)",
            ));
        }
        for server in &authorization_servers {
            let parsed = crate::fetch::check_url(server).map_err(|_| {
                ConfigError::new(
                    ConfigErrorKind::InsecureUrl,
                    "an authorization server must be an https URI (http only for loopback hosts)",
                )
            })?;
            if parsed.fragment().is_some() || parsed.query().is_some() {
                return Err(invalid(
                    "an authorization server must have no query and no fragment",
                ));
            }
        }
        // RFC 9728 section 3.1: the well-known segment goes between host and path.
        let resource_path = parsed.path().trim_end_matches('/');
        let path = format!("{METADATA_PATH}{resource_path}");
        let mut origin = format!(
            "{}://{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default()
        );
        if let Some(port) = parsed.port() {
            origin.push_str(&format!(":{port}"));
        }
        let mut document = json!({
            "resource": config.resource,
            "authorization_servers": authorization_servers,
            "bearer_methods_supported": bearer_methods,
        });
        if let Some(dpop) = dpop {
            document["dpop_signing_alg_values_supported"] = json!(dpop.algorithms);
            document["dpop_bound_access_tokens_required"] = json!(dpop.required);
        }
        if let Some(mut scopes) = config.scopes {
            // `offline_access` is the authorization server's business (a refresh token), never
            // a scope this resource supports (MCP 2026-07-28).
            scopes.retain(|scope| scope != "offline_access");
            document["scopes_supported"] = json!(scopes);
        }
        if let Some(name) = config.name {
            document["resource_name"] = Value::from(name);
        }
        if let Some(documentation) = config.documentation {
            document["resource_documentation"] = Value::from(documentation);
        }
        Ok(Resource {
            canonical: canonical.into(),
            url: format!("{origin}{path}").into(),
            origin: origin.into(),
            path: path.into(),
            document: Bytes::from(document.to_string()),
        })
    }

    /// The HTTP answer serving the document.
    pub(crate) fn response(&self) -> http::Response<Bytes> {
        let mut response = http::Response::new(self.document.clone());
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        headers.insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_str(&format!("public, max-age={MAX_AGE_SECS}"))
                .unwrap_or(http::HeaderValue::from_static("public")),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uris_compare_as_rfc_3986_says() {
        assert_eq!(
            canonical("HTTPS://API.Example.com:443"),
            Some("https://api.example.com/".into())
        );
        assert_eq!(
            canonical("https://api.example.com/"),
            canonical("https://api.example.com")
        );
        assert_ne!(
            canonical("https://api.example.com/v1"),
            canonical("https://api.example.com/v1/")
        );
        assert_eq!(canonical("api://orders"), None);
        assert_eq!(canonical("https://api.example.com/#x"), None);
    }

    #[test]
    fn the_metadata_path_is_inserted_before_the_resource_path() {
        let at = |resource: &str| {
            let built = Resource::build(
                ProtectedResource::new(resource),
                vec!["https://as/"],
                vec!["header"],
                None,
            )
            .unwrap();
            (built.path.to_string(), built.url.to_string())
        };
        assert_eq!(
            at("https://api.example.com"),
            (
                METADATA_PATH.to_owned(),
                format!("https://api.example.com{METADATA_PATH}")
            )
        );
        assert_eq!(
            at("https://api.example.com:8443/orders/"),
            (
                format!("{METADATA_PATH}/orders"),
                format!("https://api.example.com:8443{METADATA_PATH}/orders")
            )
        );
        for (bad, kind) in [
            ("http://api.example.com/", ConfigErrorKind::InsecureUrl),
            ("not a uri", ConfigErrorKind::InsecureUrl),
            (
                "https://api.example.com/?a=1",
                ConfigErrorKind::InvalidSetting,
            ),
        ] {
            let error =
                Resource::build(ProtectedResource::new(bad), vec![], vec![], None).unwrap_err();
            assert_eq!(error.kind(), kind, "{bad}");
        }
    }
}
