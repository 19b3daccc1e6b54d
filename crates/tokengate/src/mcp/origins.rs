//! [`AllowedOrigins`]: DNS-rebinding protection for an MCP endpoint (MCP 2026-07-28, transport
//! "Security warning"). A web page an attacker controls can make a victim's browser send
//! requests to a server on `localhost` or on the victim's network by pointing its own domain
//! at that address: the browser then sends the attacker's `Host` and `Origin`. So a request
//! whose `Origin` is not allowed, or whose `Host` is not one of the server's names, is answered
//! 403 before anything else — before authentication, before the body is read. A request
//! without `Origin` (every non-browser client) passes the origin check; one without `Host`
//! (none is sent over HTTP/2, where the authority is in the request target) passes the host
//! check.

use crate::answer::Answer;
use crate::request::{RequestHeaders, RequestView};

/// The `Host` and `Origin` values an MCP endpoint answers. Loopback names (`localhost`,
/// `127.0.0.1`, `[::1]`, any port) are always allowed, for local servers and their tools;
/// add the server's public names with [`host`](Self::host) and browser origins with
/// [`origin`](Self::origin) (the ones CORS allows).
///
/// ```
/// use tokengate::mcp::AllowedOrigins;
/// let allowed = AllowedOrigins::loopback()
///     .host("mcp.example.com")
///     .origin("https://app.example.com");
/// assert!(allowed.allows_host("mcp.example.com:443"));
/// assert!(!allowed.allows_host("attacker.example"));
/// assert!(allowed.allows_origin("https://app.example.com"));
/// assert!(allowed.allows_origin("http://localhost:5173"));
/// assert!(!allowed.allows_origin("https://attacker.example"));
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct AllowedOrigins {
    /// `host` (any port) or `host:port`, lower-case.
    hosts: Vec<Box<str>>,
    /// `scheme://host` (any port) or `scheme://host:port`, lower-case; `null` only if added.
    origins: Vec<Box<str>>,
}

const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl Default for AllowedOrigins {
    fn default() -> Self {
        AllowedOrigins::loopback()
    }
}

impl AllowedOrigins {
    /// Loopback hosts and origins only (`http` and `https`, any port).
    pub fn loopback() -> AllowedOrigins {
        AllowedOrigins {
            hosts: LOOPBACK.iter().map(|h| (*h).into()).collect(),
            origins: LOOPBACK
                .iter()
                .flat_map(|h| [format!("http://{h}"), format!("https://{h}")])
                .map(String::into_boxed_str)
                .collect(),
        }
    }

    /// Loopback, and the host and origin of the verifier's protected resource when one is
    /// configured ([`VerifierBuilder::resource`](crate::VerifierBuilder::resource)): the
    /// defaults of an MCP guard.
    pub fn for_verifier(verifier: &crate::verifier::Verifier) -> AllowedOrigins {
        let allowed = AllowedOrigins::loopback();
        match verifier.inner.resource.as_ref() {
            Some(resource) => allowed.url(&resource.origin),
            None => allowed,
        }
    }

    /// Also the host and the origin of `url` (`https://mcp.example.com/mcp`).
    pub fn url(self, url: &str) -> AllowedOrigins {
        let Ok(parsed) = url::Url::parse(url) else {
            return self;
        };
        let Some(host) = parsed.host_str() else {
            return self;
        };
        let origin = parsed.origin().ascii_serialization();
        let host = match parsed.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        self.host(host).origin(origin)
    }

    /// Also this `Host`: a name (any port) or `name:port`.
    pub fn host(mut self, host: impl Into<String>) -> AllowedOrigins {
        self.hosts.push(host.into().to_ascii_lowercase().into());
        self
    }

    /// Also this `Origin`: `scheme://host` (any port) or `scheme://host:port`; `null` for
    /// sandboxed documents (only when you mean it).
    pub fn origin(mut self, origin: impl Into<String>) -> AllowedOrigins {
        let origin = origin.into().to_ascii_lowercase();
        self.origins
            .push(origin.trim_end_matches('/').to_owned().into());
        self
    }

    /// Whether a request with this `Host` is answered. (Compared without allocating: the
    /// entries are lower-case, the request's value is compared case-insensitively.)
    #[must_use]
    pub fn allows_host(&self, host: &str) -> bool {
        let (name, _) = split_port(host);
        self.hosts.iter().any(|allowed| {
            let (allowed_name, allowed_port) = split_port(allowed);
            match allowed_port {
                Some(_) => allowed.eq_ignore_ascii_case(host),
                None => allowed_name.eq_ignore_ascii_case(name),
            }
        })
    }

    /// Whether a request with this `Origin` is answered.
    #[must_use]
    pub fn allows_origin(&self, origin: &str) -> bool {
        if origin.eq_ignore_ascii_case("null") {
            return self.origins.iter().any(|o| &**o == "null");
        }
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false;
        };
        let (name, _) = split_port(authority);
        self.origins.iter().any(|allowed| {
            let Some((allowed_scheme, allowed_authority)) = allowed.split_once("://") else {
                return false;
            };
            let (allowed_name, allowed_port) = split_port(allowed_authority);
            allowed_scheme.eq_ignore_ascii_case(scheme)
                && match allowed_port {
                    Some(_) => allowed_authority.eq_ignore_ascii_case(authority),
                    None => allowed_name.eq_ignore_ascii_case(name),
                }
        })
    }

    /// The 403 for a request from a host or origin not allowed, or `Ok`. A repeated `Origin`
    /// or `Host` is refused too.
    ///
    /// # Errors
    /// The answer to send: 403 with a JSON-RPC error and no challenge.
    pub fn check<H: RequestHeaders + ?Sized>(
        &self,
        request: &RequestView<'_, H>,
    ) -> Result<(), Answer> {
        let headers = request.headers();
        let mut origins = headers.header_values("origin");
        match (origins.next(), origins.next()) {
            (None, _) => {}
            (Some(origin), None) => match std::str::from_utf8(origin) {
                Ok(origin) if self.allows_origin(origin) => {}
                _ => return Err(forbidden("Origin not allowed")),
            },
            (Some(_), Some(_)) => return Err(forbidden("Origin repeated")),
        }
        let mut hosts = headers.header_values("host");
        let host = match (hosts.next(), hosts.next()) {
            (Some(_), Some(_)) => return Err(forbidden("Host repeated")),
            (Some(host), None) => Some(std::str::from_utf8(host).unwrap_or("")),
            (None, _) => request.authority(),
        };
        match host {
            Some(host) if !self.allows_host(host) => Err(forbidden("Host not allowed")),
            _ => Ok(()),
        }
    }
}

/// `name` and `port` of `name[:port]`, IPv6 literals in brackets kept whole.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    if let Some(rest) = authority.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((_, port)) => (
                &authority[..authority.len() - port.len()],
                port.strip_prefix(':'),
            ),
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (authority, None),
    }
}

/// 403 with a JSON-RPC error without `id` (MCP 2026-07-28) and no challenge: the
/// credentials are not in question.
fn forbidden(message: &'static str) -> Answer {
    Answer::json_rpc(http::StatusCode::FORBIDDEN, None, -32600, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_brackets() {
        assert_eq!(split_port("[::1]:3001"), ("[::1]", Some("3001")));
        assert_eq!(split_port("[::1]"), ("[::1]", None));
        assert_eq!(split_port("a.example:80"), ("a.example", Some("80")));
        let allowed = AllowedOrigins::loopback()
            .host("mcp.example.com:8443")
            .origin("https://app.example.com:8443");
        assert!(allowed.allows_host("[::1]:3001"));
        assert!(allowed.allows_host("LOCALHOST"));
        assert!(allowed.allows_host("mcp.example.com:8443"));
        assert!(!allowed.allows_host("mcp.example.com"));
        assert!(!allowed.allows_host("localhost.attacker.example"));
        assert!(allowed.allows_origin("https://app.example.com:8443"));
        assert!(!allowed.allows_origin("https://app.example.com"));
        assert!(!allowed.allows_origin("http://app.example.com:8443"));
        assert!(!allowed.allows_origin("null"));
        assert!(!allowed.allows_origin("http://localhost.attacker.example"));
        assert!(allowed.allows_origin("HTTPS://App.Example.com:8443"));
        assert!(!allowed.allows_origin("app.example.com"));
    }
}
