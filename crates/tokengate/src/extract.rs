// Over 600 lines: every token source (header, cookie, query, custom header, WebSocket subprotocol) and the one extraction that refuses two at once; half of it is tests.
//! Where a request's token comes from: [`TokenSources`]. Framework-neutral: the request
//! pipeline ([`crate::adapter`]) hands it the request's headers and query string.
//!
//! ```
//! use tokengate::TokenSources;
//!
//! // `Authorization: Bearer` (the default) and, for WebSocket upgrades, the token offered as
//! // a subprotocol after the marker `access_token` (`Sec-WebSocket-Protocol: access_token, <token>`).
//! let sources = TokenSources::new().websocket_protocol("access_token").unwrap();
//! # let _ = sources;
//! ```
//!
//! Upgrade-only sources (`docs/security.md`, "Tokens on WebSocket upgrades"): a browser cannot
//! set `Authorization` on a WebSocket, so the token may travel in `Sec-WebSocket-Protocol`
//! ([`TokenSources::websocket_protocol`]) or — opt-in, and only on an upgrade request — in the
//! query ([`TokenSources::query`]). A query token on an ordinary request is refused.

use std::borrow::Cow;
use std::fmt;

#[cfg(test)]
use http::HeaderMap;
use http::HeaderName;
use http::header::{AUTHORIZATION, COOKIE};

use smallvec::SmallVec;

use crate::error::{ConfigError, ConfigErrorKind, Error, ErrorKind};
use crate::request::RequestHeaders;

/// A token taken from a request. `Debug` prints `******`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct BearerToken<'a>(Cow<'a, str>);

impl BearerToken<'_> {
    /// The token text.
    #[must_use]
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(******)")
    }
}

/// How a token was presented: the `Authorization` scheme it came with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `Authorization: Bearer`, or a cookie, query parameter or custom header (RFC 6750).
    Bearer,
    /// `Authorization: DPoP` (RFC 9449 section 7.1): a proof must come with it.
    Dpop,
    /// `Authorization: ApiKey`, or the verifier's API key header: a static key
    /// (`crate::apikey`), never a token.
    ApiKey,
}

/// A token taken from a request, with how it was presented.
#[derive(Debug)]
pub(crate) struct Credential<'a> {
    pub(crate) token: BearerToken<'a>,
    pub(crate) scheme: Scheme,
}

/// The places a token may come from. By default only `Authorization: Bearer`; a cookie, a query
/// parameter and a custom header are opt-in. Two credentials in one request are refused.
#[derive(Clone, Debug)]
pub struct TokenSources {
    authorization: bool,
    cookie: Option<Box<str>>,
    query: Option<Box<str>>,
    header: Option<HeaderName>,
    websocket_protocol: Option<Box<str>>,
}

impl Default for TokenSources {
    fn default() -> Self {
        TokenSources {
            authorization: true,
            cookie: None,
            query: None,
            header: None,
            websocket_protocol: None,
        }
    }
}

impl TokenSources {
    /// Only `Authorization: Bearer` (the default).
    #[must_use]
    pub fn new() -> TokenSources {
        TokenSources::default()
    }

    /// Also take the token from the cookie `name`.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidSetting`] for an empty or non-token name.
    pub fn cookie(mut self, name: impl Into<String>) -> Result<TokenSources, ConfigError> {
        self.cookie = Some(valid_name(name.into())?);
        Ok(self)
    }

    /// Also take the token from the query parameter `name` (RFC 6750 uses `access_token`) —
    /// **on WebSocket upgrade requests only**, where a browser cannot set `Authorization`. On
    /// any other request a token in that parameter is refused (400 `invalid_request`): URLs
    /// end up in access logs, proxies and browser history. Prefer
    /// [`websocket_protocol`](Self::websocket_protocol), which keeps the token out of URLs.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidSetting`] for an empty or non-token name.
    pub fn query(mut self, name: impl Into<String>) -> Result<TokenSources, ConfigError> {
        self.query = Some(valid_name(name.into())?);
        Ok(self)
    }

    /// Also take the bare token (no scheme) from the header `name`.
    #[must_use]
    pub fn header(mut self, name: HeaderName) -> TokenSources {
        self.header = Some(name);
        self
    }

    /// Also take the token from the `Sec-WebSocket-Protocol` header of a WebSocket upgrade:
    /// the client offers the subprotocol `marker` followed by the token as the next entry
    /// (`new WebSocket(url, ["access_token", token])` in a browser; the token must be RFC 7230
    /// `token` characters, as a JWT is). The protocol a server echoes back is chosen by
    /// [`websocket_reply_protocol`](Self::websocket_reply_protocol): an application protocol
    /// the client offered, else the marker — never the token. Ignored on other requests.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidSetting`] for an empty or non-token marker.
    pub fn websocket_protocol(
        mut self,
        marker: impl Into<String>,
    ) -> Result<TokenSources, ConfigError> {
        self.websocket_protocol = Some(valid_name(marker.into())?);
        Ok(self)
    }

    /// The subprotocol to echo in the upgrade response: the first protocol the client offered
    /// that the application `supports`, else the marker when the client sent the token after
    /// it (a browser fails a handshake that echoes nothing it offered), else none. Never the
    /// token, never an entry the client did not offer.
    #[must_use]
    pub fn websocket_reply_protocol<'a, H: RequestHeaders + ?Sized>(
        &'a self,
        headers: &H,
        supports: &[&'a str],
    ) -> Option<&'a str> {
        let offered = offered_protocols(headers);
        let mut token_next = false;
        let mut marked = false;
        for entry in &offered {
            if token_next {
                token_next = false;
                continue;
            }
            if self.websocket_protocol.as_deref() == Some(*entry) {
                token_next = true;
                marked = true;
                continue;
            }
            if let Some(chosen) = supports.iter().find(|s| **s == *entry) {
                return Some(*chosen);
            }
        }
        if marked {
            self.websocket_protocol.as_deref()
        } else {
            None
        }
    }

    /// Do not read `Authorization` (for services that take the token only from a cookie or a
    /// custom header).
    #[must_use]
    pub fn without_authorization_header(mut self) -> TokenSources {
        self.authorization = false;
        self
    }

    /// Whether a source applies to WebSocket upgrades only (the pipeline then asks whether
    /// the request is one; other requests pay nothing for it).
    pub(crate) fn has_upgrade_sources(&self) -> bool {
        self.query.is_some() || self.websocket_protocol.is_some()
    }

    /// RFC 9728 `bearer_methods_supported`: `header` (the `Authorization` header or a custom
    /// one) and `query`; a cookie has no RFC 6750 method name.
    pub(crate) fn bearer_methods(&self) -> Vec<&'static str> {
        let mut methods = Vec::new();
        if self.authorization || self.header.is_some() || self.websocket_protocol.is_some() {
            methods.push("header");
        }
        if self.query.is_some() {
            // On upgrade requests only; still the RFC 6750 method.
            methods.push("query");
        }
        methods
    }

    /// Finds the request's token. `Ok(None)` means no credentials at all; a request with other
    /// `Authorization` schemes (e.g. `Basic`) has no bearer credentials.
    ///
    /// `upgrade` says whether the request is a WebSocket upgrade
    /// ([`RequestView::is_websocket_upgrade`](crate::request::RequestView::is_websocket_upgrade)):
    /// the query and `Sec-WebSocket-Protocol` sources apply to upgrades only.
    ///
    /// Errors: [`ErrorKind::MultipleCredentials`] for two credentials (two headers, header and
    /// query, a repeated parameter or cookie); [`ErrorKind::MalformedRequest`] for a `Bearer`
    /// header whose token is not RFC 6750 `b64token` characters after exactly one space, and for
    /// a query token on a request that is not an upgrade.
    pub(crate) fn extract_from<'a, H: RequestHeaders + ?Sized>(
        &self,
        headers: &'a H,
        query: Option<&'a str>,
        upgrade: bool,
    ) -> Result<Option<Credential<'a>>, Error> {
        let mut found: Option<Credential<'a>> = None;
        let mut add = |token: BearerToken<'a>, scheme: Scheme| -> Result<(), Error> {
            if found.replace(Credential { token, scheme }).is_some() {
                return Err(Error::new(
                    ErrorKind::MultipleCredentials,
                    "more than one credential",
                ));
            }
            Ok(())
        };
        if self.authorization {
            let mut values = headers.header_values(AUTHORIZATION.as_str());
            if let Some(value) = values.next() {
                if values.next().is_some() {
                    return Err(Error::new(
                        ErrorKind::MultipleCredentials,
                        "two Authorization headers",
                    ));
                }
                if let Some((token, presented)) = parse_authorization(value)? {
                    add(BearerToken(Cow::Borrowed(token)), presented)?;
                }
            }
        }
        if let Some(name) = &self.header {
            let mut values = headers.header_values(name.as_str());
            if let Some(value) = values.next() {
                if values.next().is_some() {
                    return Err(Error::new(
                        ErrorKind::MultipleCredentials,
                        "the token header is repeated",
                    ));
                }
                let value = std::str::from_utf8(value)
                    .map_err(|_| malformed("the token header is not visible ASCII"))?;
                add(
                    BearerToken(Cow::Borrowed(checked_token(value)?)),
                    Scheme::Bearer,
                )?;
            }
        }
        if let Some(name) = &self.cookie {
            for header in headers.header_values(COOKIE.as_str()) {
                let Ok(header) = std::str::from_utf8(header) else {
                    continue;
                };
                for pair in header.split(';') {
                    let Some((key, value)) = pair.trim().split_once('=') else {
                        continue;
                    };
                    if key == &**name {
                        let value = value
                            .strip_prefix('"')
                            .and_then(|v| v.strip_suffix('"'))
                            .unwrap_or(value);
                        add(
                            BearerToken(Cow::Borrowed(checked_token(value)?)),
                            Scheme::Bearer,
                        )?;
                    }
                }
            }
        }
        if let (true, Some(marker)) = (upgrade, &self.websocket_protocol) {
            let offered = offered_protocols(headers);
            let mut entries = offered.iter();
            while let Some(entry) = entries.next() {
                if *entry == &**marker {
                    let token: &'a str = entries.next().copied().ok_or_else(|| {
                        malformed("no token follows the marker in Sec-WebSocket-Protocol")
                    })?;
                    add(
                        BearerToken(Cow::Borrowed(checked_token(token)?)),
                        Scheme::Bearer,
                    )?;
                }
            }
        }
        if let (Some(name), Some(query)) = (&self.query, query) {
            for (key, value) in form_urlencoded::parse(query.as_bytes()) {
                if key == **name {
                    if !upgrade {
                        return Err(malformed(
                            "a query token is accepted only on a WebSocket upgrade request",
                        ));
                    }
                    checked_token(&value)?;
                    add(BearerToken(Cow::Owned(value.into_owned())), Scheme::Bearer)?;
                }
            }
        }
        Ok(found)
    }
}

/// The entries of every `Sec-WebSocket-Protocol` header, in order (RFC 6455 section 4.1: a
/// comma-separated list; optional whitespace around entries). Values that are not UTF-8 are
/// skipped.
fn offered_protocols<H: RequestHeaders + ?Sized>(headers: &H) -> SmallVec<[&str; 4]> {
    headers
        .header_values("sec-websocket-protocol")
        .filter_map(|value| std::str::from_utf8(value).ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect()
}

fn malformed(detail: &'static str) -> Error {
    Error::new(ErrorKind::MalformedRequest, detail)
}

/// `Bearer <b64token>` or `DPoP <b64token>` (RFC 9449 section 7.1): scheme case-insensitive,
/// exactly one space.
///
/// Works on the raw header bytes: the `b64token` check admits only ASCII, so the header needs no
/// separate visible-ASCII pass. Another scheme (`Basic`) is not an access-token credential.
/// The API key in the header `name` (a verifier's API key header), if sent: once, as
/// `b64token` characters.
pub(crate) fn api_key_header<'a, H: RequestHeaders + ?Sized>(
    headers: &'a H,
    name: &HeaderName,
) -> Result<Option<Credential<'a>>, Error> {
    let mut values = headers.header_values(name.as_str());
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Error::new(
            ErrorKind::MultipleCredentials,
            "the API key header is repeated",
        ));
    }
    let value = std::str::from_utf8(value)
        .map_err(|_| malformed("the API key header is not visible ASCII"))?;
    Ok(Some(Credential {
        token: BearerToken(Cow::Borrowed(checked_token(value)?)),
        scheme: Scheme::ApiKey,
    }))
}

fn parse_authorization(value: &[u8]) -> Result<Option<(&str, Scheme)>, Error> {
    let (scheme, rest) = match value.iter().position(|b| *b == b' ') {
        Some(space) => (&value[..space], &value[space + 1..]),
        None => (value, &b""[..]),
    };
    let scheme = if scheme.eq_ignore_ascii_case(b"bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case(b"dpop") {
        Scheme::Dpop
    } else if scheme.eq_ignore_ascii_case(b"apikey") {
        Scheme::ApiKey
    } else {
        return Ok(None);
    };
    let token = std::str::from_utf8(rest)
        .map_err(|_| malformed("the token is not RFC 6750 b64token characters"))?;
    checked_token(token).map(|token| Some((token, scheme)))
}

/// 1 when RFC 6750 `b64token` does not allow `b` before its `=` padding, else 0. Bitwise,
/// without branches, so that the check over a whole token vectorizes.
#[inline(always)]
fn not_b64token_byte(b: u8) -> u8 {
    let ok = ((b | 0x20).wrapping_sub(b'a') < 26)
        // `-`, `.`, `/` and the digits are one run: 0x2D..=0x39.
        | (b.wrapping_sub(b'-') < 13)
        | (b == b'_')
        | (b == b'~')
        | (b == b'+');
    u8::from(!ok)
}

/// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn checked_token(token: &str) -> Result<&str, Error> {
    /// Marks the bytes of `chunk` that are not `b64token` in `lanes`: 32 independent lanes, a
    /// shape the compiler turns into vector compares.
    #[inline(always)]
    fn mark(lanes: &mut [u8; 32], chunk: &[u8; 32]) {
        for (lane, &b) in lanes.iter_mut().zip(chunk) {
            *lane |= not_b64token_byte(b);
        }
    }
    let body = token.trim_end_matches('=').as_bytes();
    // Checked on every request, so branchless and 32 bytes at a time, the last chunk padded
    // with a valid byte: ~1.6 instructions per byte against ~3 for a byte-at-a-time fold
    // (`docs/benchmarks.md`, "Adapters in instructions").
    let mut lanes = [0u8; 32];
    let mut chunks = body.chunks_exact(32);
    for chunk in &mut chunks {
        mark(&mut lanes, chunk.try_into().expect("32 bytes"));
    }
    let mut last = [b'a'; 32];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    mark(&mut lanes, &last);
    let bad = lanes.iter().fold(0, |bad, &lane| bad | lane);
    if bad == 0 && !body.is_empty() {
        Ok(token)
    } else {
        Err(malformed("the token is not RFC 6750 b64token characters"))
    }
}

fn valid_name(name: String) -> Result<Box<str>, ConfigError> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~!$&'*+^`|".contains(&b));
    if ok {
        Ok(name.into_boxed_str())
    } else {
        Err(ConfigError::new(
            ConfigErrorKind::InvalidSetting,
            "a token source name must be a non-empty token",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    impl TokenSources {
        fn extract<'a>(
            &self,
            headers: &'a HeaderMap,
            query: Option<&'a str>,
        ) -> Result<Option<BearerToken<'a>>, Error> {
            // As on an upgrade: every source applies.
            self.extract_from(headers, query, true)
                .map(|found| found.map(|credential| credential.token))
        }
    }

    fn kind(
        sources: &TokenSources,
        h: &[(&str, &str)],
        q: Option<&str>,
    ) -> Result<Option<String>, ErrorKind> {
        sources
            .extract(&headers(h), q)
            .map(|t| t.map(|t| t.as_str().to_owned()))
            .map_err(|e| e.kind())
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_with_one_space() {
        let s = TokenSources::default();
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            assert_eq!(
                kind(&s, &[("authorization", &format!("{scheme} a.b.c"))], None),
                Ok(Some("a.b.c".into()))
            );
        }
        assert_eq!(
            kind(&s, &[("authorization", "Bearer  a.b.c")], None),
            Err(ErrorKind::MalformedRequest)
        );
        assert_eq!(
            kind(&s, &[("authorization", "Bearer a.b.c ")], None),
            Err(ErrorKind::MalformedRequest)
        );
        assert_eq!(
            kind(&s, &[("authorization", "Bearer")], None),
            Err(ErrorKind::MalformedRequest)
        );
        assert_eq!(
            kind(&s, &[("authorization", "Bearer ")], None),
            Err(ErrorKind::MalformedRequest)
        );
        assert_eq!(
            kind(&s, &[("authorization", "Bearer a,b")], None),
            Err(ErrorKind::MalformedRequest)
        );
        assert_eq!(
            kind(&s, &[("authorization", "Bearer ==")], None),
            Err(ErrorKind::MalformedRequest)
        );
        assert_eq!(
            kind(&s, &[("authorization", "Bearer ab==")], None),
            Ok(Some("ab==".into()))
        );
    }

    #[test]
    fn b64token_bytes_are_exactly_the_rfc_set() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(not_b64token_byte(b), u8::from(!expected), "byte {b}");
        }
    }

    #[test]
    fn a_bad_byte_is_found_in_every_lane_and_in_the_remainder() {
        for len in 1..=100 {
            let good = "aZ09-._~+/".repeat(10)[..len].to_owned();
            assert!(checked_token(&good).is_ok(), "{len}");
            assert!(checked_token(&format!("{good}==")).is_ok(), "{len}");
            for at in 0..len {
                for bad in [" ", ",", "=", "\u{7f}", "\u{e9}"] {
                    if bad == "=" && at + 1 == len && len > 1 {
                        continue; // trailing `=` is padding
                    }
                    let token = format!("{}{bad}{}", &good[..at], &good[at + 1..]);
                    let error = checked_token(&token).unwrap_err();
                    assert_eq!(error.kind(), ErrorKind::MalformedRequest, "{len} {at}");
                }
            }
        }
    }

    #[test]
    fn non_ascii_bearer_tokens_are_malformed_and_other_schemes_ignored() {
        let s = TokenSources::default();
        let mut map = HeaderMap::new();
        map.insert(
            AUTHORIZATION,
            http::HeaderValue::from_bytes(b"Bearer t\xc3\xb6ken").unwrap(),
        );
        assert_eq!(
            s.extract(&map, None).unwrap_err().kind(),
            ErrorKind::MalformedRequest
        );
        map.insert(
            AUTHORIZATION,
            http::HeaderValue::from_bytes(b"Bearer a.b\tc").unwrap(),
        );
        assert_eq!(
            s.extract(&map, None).unwrap_err().kind(),
            ErrorKind::MalformedRequest
        );
        map.insert(
            AUTHORIZATION,
            http::HeaderValue::from_bytes(b"Basic \xc3\xb6").unwrap(),
        );
        assert!(s.extract(&map, None).unwrap().is_none());
    }

    #[test]
    fn other_schemes_and_no_header_are_no_credentials() {
        let s = TokenSources::default();
        assert_eq!(
            kind(&s, &[("authorization", "Basic dXNlcjpwYXNz")], None),
            Ok(None)
        );
        assert_eq!(
            kind(&s, &[("authorization", "Bearerx a.b.c")], None),
            Ok(None)
        );
        assert_eq!(
            kind(&s, &[], Some("access_token=a.b.c")),
            Ok(None),
            "query is opt-in"
        );
        assert_eq!(
            kind(&s, &[("cookie", "access_token=a.b.c")], None),
            Ok(None),
            "cookie is opt-in"
        );
    }

    #[test]
    fn two_credentials_are_refused() {
        let s = TokenSources::default()
            .query("access_token")
            .unwrap()
            .cookie("at")
            .unwrap();
        let two = [
            ("authorization", "Bearer a.b.c"),
            ("authorization", "Bearer d.e.f"),
        ];
        assert_eq!(kind(&s, &two, None), Err(ErrorKind::MultipleCredentials));
        let header_and_query = [("authorization", "Bearer a.b.c")];
        assert_eq!(
            kind(&s, &header_and_query, Some("access_token=a.b.c")),
            Err(ErrorKind::MultipleCredentials)
        );
        assert_eq!(
            kind(&s, &[], Some("access_token=a.b.c&access_token=x.y.z")),
            Err(ErrorKind::MultipleCredentials)
        );
        assert_eq!(
            kind(&s, &[("cookie", "at=a.b.c; at=d.e.f")], None),
            Err(ErrorKind::MultipleCredentials)
        );
        assert_eq!(
            kind(
                &s,
                &[("authorization", "Bearer a.b.c"), ("cookie", "at=a.b.c")],
                None
            ),
            Err(ErrorKind::MultipleCredentials)
        );
    }

    #[test]
    fn opt_in_sources() {
        let s = TokenSources::default()
            .query("access_token")
            .unwrap()
            .cookie("at")
            .unwrap()
            .header(HeaderName::from_static("x-token"));
        assert_eq!(
            kind(&s, &[], Some("x=1&access_token=a.b%2Ec")),
            Ok(Some("a.b.c".into()))
        );
        assert_eq!(
            kind(&s, &[("cookie", "theme=dark; at=\"a.b.c\"")], None),
            Ok(Some("a.b.c".into()))
        );
        assert_eq!(
            kind(&s, &[("x-token", "a.b.c")], None),
            Ok(Some("a.b.c".into()))
        );
        assert_eq!(
            kind(&s, &[("x-token", "a b")], None),
            Err(ErrorKind::MalformedRequest)
        );
        assert_eq!(
            kind(&s, &[], Some("access_token=a%20b")),
            Err(ErrorKind::MalformedRequest)
        );
        let only_cookie = TokenSources::default()
            .without_authorization_header()
            .cookie("at")
            .unwrap();
        assert_eq!(
            kind(&only_cookie, &[("authorization", "Bearer a.b.c")], None),
            Ok(None)
        );
    }

    #[test]
    fn invalid_source_names_are_config_errors() {
        let kind = |r: Result<TokenSources, ConfigError>| r.unwrap_err().kind();
        assert_eq!(
            kind(TokenSources::default().query("")),
            ConfigErrorKind::InvalidSetting
        );
        assert_eq!(
            kind(TokenSources::default().cookie("a b")),
            ConfigErrorKind::InvalidSetting
        );
    }

    #[test]
    fn a_query_token_is_refused_on_a_request_that_is_not_an_upgrade() {
        let s = TokenSources::default().query("access_token").unwrap();
        let plain = s
            .extract_from(&HeaderMap::new(), Some("access_token=a.b.c"), false)
            .unwrap_err();
        assert_eq!(plain.kind(), ErrorKind::MalformedRequest);
        assert_eq!(
            s.extract_from(&HeaderMap::new(), Some("other=1"), false)
                .unwrap()
                .map(|c| c.token.as_str().to_owned()),
            None,
            "other parameters are not credentials"
        );
        let none = HeaderMap::new();
        let upgrade = s
            .extract_from(&none, Some("access_token=a.b.c"), true)
            .unwrap()
            .unwrap();
        assert_eq!(upgrade.token.as_str(), "a.b.c");
        // Without the source, the parameter is no credential at all.
        assert!(
            TokenSources::default()
                .extract_from(&HeaderMap::new(), Some("access_token=a.b.c"), false)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_websocket_protocol_source_takes_the_entry_after_the_marker_on_upgrades_only() {
        let s = TokenSources::default()
            .websocket_protocol("access_token")
            .unwrap();
        let offer = headers(&[("sec-websocket-protocol", "chat, access_token, a.b.c")]);
        let token = |upgrade| {
            s.extract_from(&offer, None, upgrade)
                .map(|found| found.map(|c| c.token.as_str().to_owned()))
                .map_err(|e| e.kind())
        };
        assert_eq!(token(true), Ok(Some("a.b.c".into())));
        assert_eq!(token(false), Ok(None), "ignored on other requests");
        // Two headers are one list (RFC 7230 section 3.2.2).
        let split = headers(&[
            ("sec-websocket-protocol", "access_token"),
            ("sec-websocket-protocol", "a.b.c"),
        ]);
        assert_eq!(
            s.extract_from(&split, None, true)
                .unwrap()
                .map(|c| c.token.as_str().to_owned()),
            Some("a.b.c".into())
        );
        assert_eq!(
            kind(
                &s,
                &[("sec-websocket-protocol", "chat, access_token")],
                None
            ),
            Err(ErrorKind::MalformedRequest),
            "a marker without a token"
        );
        assert_eq!(
            kind(
                &s,
                &[(
                    "sec-websocket-protocol",
                    "access_token, a.b.c, access_token, d.e.f"
                )],
                None
            ),
            Err(ErrorKind::MultipleCredentials)
        );
        assert_eq!(
            kind(
                &s,
                &[
                    ("authorization", "Bearer a.b.c"),
                    ("sec-websocket-protocol", "access_token, a.b.c")
                ],
                None
            ),
            Err(ErrorKind::MultipleCredentials),
            "Authorization and the protocol header are two credentials"
        );
        assert_eq!(
            kind(&s, &[("sec-websocket-protocol", "chat, superchat")], None),
            Ok(None)
        );
    }

    #[test]
    fn the_echoed_protocol_is_never_the_token() {
        let s = TokenSources::default()
            .websocket_protocol("access_token")
            .unwrap();
        let offer = headers(&[("sec-websocket-protocol", "access_token, chat.v2, chat")]);
        // `chat.v2` is the token here (it follows the marker): never chosen.
        assert_eq!(
            s.websocket_reply_protocol(&offer, &["chat.v2"]),
            Some("access_token")
        );
        assert_eq!(
            s.websocket_reply_protocol(&offer, &["chat", "chat.v2"]),
            Some("chat")
        );
        assert_eq!(
            s.websocket_reply_protocol(&offer, &[]),
            Some("access_token")
        );
        let without_token = headers(&[("sec-websocket-protocol", "chat")]);
        assert_eq!(
            s.websocket_reply_protocol(&without_token, &["chat"]),
            Some("chat")
        );
        assert_eq!(s.websocket_reply_protocol(&without_token, &["other"]), None);
        assert_eq!(
            TokenSources::default().websocket_reply_protocol(&offer, &["chat.v2"]),
            Some("chat.v2"),
            "without the source, no entry is a token"
        );
    }
}
