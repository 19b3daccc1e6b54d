//! [`McpScopes`]: the scopes an MCP (Model Context Protocol) request needs, read from the
//! JSON-RPC body it carries — per tool (`tools/call` by `params.name`) and per method.
//!
//! The body is what the MCP server acts on, so it is what is authorized: the `Mcp-Method` and
//! `Mcp-Name` headers (MCP 2026-07-28) are checked against it, never trusted alone — a client
//! could otherwise name a harmless tool in the header and call another in the body, and servers
//! on older protocol revisions ignore the headers. Batches (JSON arrays, MCP 2025-03-26) are
//! checked element by element: the call needs every scope any element needs, named together in
//! one `insufficient_scope` challenge. Adapters read the body (bounded by
//! [`max_body_bytes`](McpScopes::max_body_bytes)) and pass it here; see `docs/guide.md`,
//! "Protecting an MCP server".
//!
//! ```
//! use tokengate::mcp::McpScopes;
//! let scopes = McpScopes::new()
//!     .tool("list_messages", ["messages:read"])
//!     .tool("post_message", ["messages:write"]);
//! let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"post_message"}}"#;
//! let requirement = scopes.requirement(&http::HeaderMap::new(), body).unwrap().unwrap();
//! let reader = tokengate::Scopes::new(["messages:read"]);
//! let error = requirement.check(&reader, &tokengate::Scopes::default()).unwrap_err();
//! assert_eq!(error.required_scope(), Some("messages:write")); // the 403's `scope`
//! ```

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use base64::Engine;
use serde::Deserialize;
use serde_json::value::RawValue;

mod origins;
mod sessions;
mod template;

pub use origins::AllowedOrigins;
pub use sessions::{
    DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE, McpSessions, SessionRefusal, SessionUse,
};

use crate::error::{Error, ErrorKind};
use crate::request::RequestHeaders;
use crate::requirement::Requirement;
use template::UriTemplate;

/// The default cap on an MCP request body read for authorization: 4 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Scopes per MCP tool, prompt, resource (by URI or URI template) and JSON-RPC method. What is
/// not named needs only a valid token. Scope hierarchies (`messages` satisfying
/// `messages:read`) are the issuer's: [`Issuer::scope_implies`](crate::Issuer::scope_implies).
#[derive(Clone)]
#[must_use]
pub struct McpScopes {
    tools: HashMap<Box<str>, Vec<Box<str>>>,
    prompts: HashMap<Box<str>, Vec<Box<str>>>,
    resources: Vec<(UriTemplate, Vec<Box<str>>)>,
    methods: HashMap<Box<str>, Vec<Box<str>>>,
    max_body: usize,
}

impl fmt::Debug for McpScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpScopes")
            .field("tools", &self.tools)
            .field("prompts", &self.prompts)
            .field("resources", &self.resources)
            .field("methods", &self.methods)
            .field("max_body", &self.max_body)
            .finish()
    }
}

impl Default for McpScopes {
    fn default() -> Self {
        McpScopes {
            tools: HashMap::new(),
            prompts: HashMap::new(),
            resources: Vec::new(),
            methods: HashMap::new(),
            max_body: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

fn boxed<I, S>(scopes: I) -> Vec<Box<str>>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    scopes
        .into_iter()
        .map(|s| s.into().into_boxed_str())
        .collect()
}

/// One JSON-RPC message, as far as authorization reads it.
#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow, default)]
    name: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    uri: Option<std::borrow::Cow<'a, str>>,
}

fn malformed(detail: &'static str) -> Error {
    Error::new(ErrorKind::MalformedRequest, detail)
}

/// JSON-RPC's parse error: the body is not (strict) JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC's invalid request: JSON, but not JSON-RPC messages.
pub const INVALID_REQUEST: i64 = -32600;
/// MCP 2026-07-28: the `Mcp-Method` / `Mcp-Name` headers do not match the body.
pub const HEADER_MISMATCH: i64 = -32020;

/// Why an MCP request cannot be authorized from its body and headers: answered 400 with a
/// JSON-RPC error (the credentials are not in question), or a plain request error.
#[derive(Debug)]
pub(crate) struct Refusal {
    /// The JSON-RPC error code.
    pub(crate) code: i64,
    /// A fixed message (never from the request).
    pub(crate) message: &'static str,
    /// The request's `id`, raw JSON, when it could be read.
    pub(crate) id: Option<Box<str>>,
}

impl Refusal {
    fn new(code: i64, message: &'static str) -> Refusal {
        Refusal {
            code,
            message,
            id: None,
        }
    }

    /// A repeated or non-text MCP header.
    pub(crate) fn header_refused() -> Refusal {
        Refusal::new(INVALID_REQUEST, "an MCP header is repeated or not text")
    }

    fn with_id(mut self, id: Option<&RawValue>) -> Refusal {
        self.id = id.map(|id| id.get().into());
        self
    }

    /// The 400 answer: a JSON-RPC error body, no challenge.
    pub(crate) fn answer(&self) -> crate::answer::Answer {
        crate::answer::Answer::json_rpc(
            http::StatusCode::BAD_REQUEST,
            self.id.as_deref(),
            self.code,
            self.message,
        )
    }
}

impl McpScopes {
    /// No scopes beyond a valid token, until tools or methods are named.
    pub fn new() -> McpScopes {
        McpScopes::default()
    }

    /// Calling tool `name` (`tools/call`) needs every one of `scopes`.
    pub fn tool<I, S>(mut self, name: impl Into<String>, scopes: I) -> McpScopes
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tools
            .insert(name.into().into_boxed_str(), boxed(scopes));
        self
    }

    /// Getting prompt `name` (`prompts/get`) needs every one of `scopes`.
    pub fn prompt<I, S>(mut self, name: impl Into<String>, scopes: I) -> McpScopes
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.prompts
            .insert(name.into().into_boxed_str(), boxed(scopes));
        self
    }

    /// Reading (or subscribing to) a resource whose URI matches `uri` — a URI, or an RFC 6570
    /// template whose `{name}` stands for one path segment or more characters without `/`,
    /// and `{+name}` for any characters (`file:///notes/{id}`, `db://{+path}`) — needs every
    /// one of `scopes`. A URI several entries match needs the scopes of all of them.
    pub fn resource<I, S>(mut self, uri: impl Into<String>, scopes: I) -> McpScopes
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resources
            .push((UriTemplate::new(&uri.into()), boxed(scopes)));
        self
    }

    /// The JSON-RPC method `method` (`resources/read`, `prompts/get`, `tools/list`, ...) needs
    /// every one of `scopes`, whatever its parameters.
    pub fn method<I, S>(mut self, method: impl Into<String>, scopes: I) -> McpScopes
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.methods
            .insert(method.into().into_boxed_str(), boxed(scopes));
        self
    }

    /// The largest body read for authorization (default [`DEFAULT_MAX_BODY_BYTES`]); a larger
    /// one is refused (`400 invalid_request`) before any token is checked.
    pub fn max_body_bytes(mut self, max: usize) -> McpScopes {
        self.max_body = max;
        self
    }

    /// The configured body cap.
    #[must_use]
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// Every scope named anywhere, for the RFC 9728 `scopes_supported`.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        let all: BTreeSet<&str> = self
            .tools
            .values()
            .chain(self.prompts.values())
            .chain(self.resources.iter().map(|(_, scopes)| scopes))
            .chain(self.methods.values())
            .flatten()
            .map(|s| &**s)
            .collect();
        all.into_iter()
    }

    /// The requirement for a request with these headers and body (empty for a `GET` or
    /// `DELETE`): `None` when a valid token is enough.
    ///
    /// # Errors
    /// [`ErrorKind::MalformedRequest`] (400 `invalid_request`) for a body that is not JSON-RPC
    /// (an object or a non-empty array of objects), a body over the cap, or `Mcp-Method` /
    /// `Mcp-Name` headers that do not match the body.
    pub fn requirement<H: RequestHeaders + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
    ) -> Result<Option<Requirement>, Error> {
        self.judge(headers, body)
            .map_err(|refusal| malformed(refusal.message))
    }

    /// As [`requirement`](McpScopes::requirement), with the JSON-RPC error each refusal is
    /// answered with.
    pub(crate) fn judge<H: RequestHeaders + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
    ) -> Result<Option<Requirement>, Refusal> {
        let header = |message| Refusal::new(HEADER_MISMATCH, message);
        let invalid = |message| Refusal::new(INVALID_REQUEST, message);
        if body.len() > self.max_body {
            return Err(invalid("the MCP request body is over the cap"));
        }
        let header_method = single(headers, "mcp-method")
            .map_err(|_| header("an MCP header is repeated or not text"))?;
        let header_name = single(headers, "mcp-name")
            .map_err(|_| header("an MCP header is repeated or not text"))?
            .map(decode_name)
            .transpose()
            .map_err(|_| header("Mcp-Name is not valid base64"))?;
        if body.iter().all(u8::is_ascii_whitespace) {
            if header_method.is_some() || header_name.is_some() {
                return Err(header("Mcp-Method or Mcp-Name without a JSON-RPC body"));
            }
            return Ok(None);
        }
        if !crate::json::is_strict_json(body) {
            return Err(Refusal::new(
                PARSE_ERROR,
                "the MCP request body is not strict JSON",
            ));
        }
        let trimmed = body.trim_ascii_start();
        let messages: Vec<Message<'_>> = if trimmed.first() == Some(&b'[') {
            let batch: Vec<Message<'_>> = serde_json::from_slice(body)
                .map_err(|_| invalid("the MCP batch is not JSON-RPC messages"))?;
            if batch.is_empty() {
                return Err(invalid("the MCP batch is empty"));
            }
            if header_method.is_some() || header_name.is_some() {
                return Err(header("Mcp-Method or Mcp-Name on a batch"));
            }
            batch
        } else {
            vec![
                serde_json::from_slice(body)
                    .map_err(|_| invalid("the MCP body is not a JSON-RPC message"))?,
            ]
        };
        let mut needed: BTreeSet<&str> = BTreeSet::new();
        for message in &messages {
            let name = match message.method.as_deref().and_then(Target::of) {
                Some(target) => {
                    let what = target.what();
                    let params = message
                        .params
                        .ok_or_else(|| invalid(what.missing).with_id(message.id))?;
                    let named: Named<'_> = serde_json::from_str(params.get())
                        .map_err(|_| invalid(what.not_object).with_id(message.id))?;
                    let value = match target {
                        Target::Name(_) => named.name,
                        Target::Uri => named.uri,
                    };
                    Some(value.ok_or_else(|| invalid(what.missing).with_id(message.id))?)
                }
                None => None,
            };
            if messages.len() == 1 {
                // The 2026-07-28 headers, when sent, must say what the body says.
                if let Some(header_method) = header_method {
                    if message.method.as_deref() != Some(header_method) {
                        return Err(
                            header("Mcp-Method does not match the body").with_id(message.id)
                        );
                    }
                }
                if let (Some(header_name), Some(body_name)) = (&header_name, &name) {
                    if **header_name != **body_name {
                        return Err(header("Mcp-Name does not match the body").with_id(message.id));
                    }
                }
            }
            if let Some(method) = &message.method {
                self.needed(method, name.as_deref(), &mut needed);
            }
        }
        Ok((!needed.is_empty()).then(|| Requirement::all(needed)))
    }

    /// Adds the scopes `method` on `target` (a tool or prompt name, a resource URI) needs.
    fn needed<'s>(&'s self, method: &str, target: Option<&str>, needed: &mut BTreeSet<&'s str>) {
        if let Some(scopes) = self.methods.get(method) {
            needed.extend(scopes.iter().map(|s| &**s));
        }
        let Some(target) = target else {
            return;
        };
        match Target::of(method) {
            Some(Target::Name("tools/call")) => {
                if let Some(scopes) = self.tools.get(target) {
                    needed.extend(scopes.iter().map(|s| &**s));
                }
            }
            Some(Target::Name(_)) => {
                if let Some(scopes) = self.prompts.get(target) {
                    needed.extend(scopes.iter().map(|s| &**s));
                }
            }
            Some(Target::Uri) => {
                for (template, scopes) in &self.resources {
                    if template.matches(target) {
                        needed.extend(scopes.iter().map(|s| &**s));
                    }
                }
            }
            None => {}
        }
    }

    /// What the 2026-07-28 `Mcp-Method` / `Mcp-Name` headers announce the request needs,
    /// read before the body, for the scopes an early 401 names. It admits nothing: the body
    /// decides, and must say what the headers say.
    pub(crate) fn announced<H: RequestHeaders + ?Sized>(&self, headers: &H) -> Option<Requirement> {
        let method = single(headers, "mcp-method").ok().flatten()?;
        let name = single(headers, "mcp-name")
            .ok()
            .flatten()
            .and_then(|name| decode_name(name).ok());
        let mut needed = BTreeSet::new();
        self.needed(method, name.as_deref(), &mut needed);
        (!needed.is_empty()).then(|| Requirement::all(needed))
    }
}

/// What an MCP method acts on, named in its params: a tool or prompt by `name`, a resource by
/// `uri`.
#[derive(Clone, Copy)]
enum Target {
    /// `tools/call` or `prompts/get`.
    Name(&'static str),
    /// `resources/read`, `resources/subscribe`, `resources/unsubscribe`.
    Uri,
}

/// The fixed refusals for a target's params.
struct What {
    missing: &'static str,
    not_object: &'static str,
}

impl Target {
    fn of(method: &str) -> Option<Target> {
        match method {
            "tools/call" => Some(Target::Name("tools/call")),
            "prompts/get" => Some(Target::Name("prompts/get")),
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => Some(Target::Uri),
            _ => None,
        }
    }

    fn what(self) -> What {
        match self {
            Target::Name("tools/call") => What {
                missing: "tools/call without a name",
                not_object: "tools/call params are not an object",
            },
            Target::Name(_) => What {
                missing: "prompts/get without a name",
                not_object: "prompts/get params are not an object",
            },
            Target::Uri => What {
                missing: "a resources request without a uri",
                not_object: "resources params are not an object",
            },
        }
    }
}

impl crate::verifier::Verifier {
    /// Decides on an MCP request: the scopes its JSON-RPC `body` needs ([`McpScopes`]) are
    /// added to `policy`, then [`decide`](crate::Verifier::decide) runs as for any request.
    /// A body that is not JSON-RPC, over the cap, or contradicted by the MCP headers is
    /// answered 400 with a JSON-RPC error body and no challenge — the credentials are not in
    /// question: `-32700` (not strict JSON), `-32600` (not JSON-RPC, over the cap) or `-32020`
    /// (the `Mcp-Method` / `Mcp-Name` headers do not match the body).
    pub fn decide_mcp<T, H>(
        &self,
        request: &crate::request::RequestView<'_, H>,
        body: &[u8],
        scopes: &McpScopes,
        policy: &crate::adapter::Policy,
        earlier: Option<&crate::claims::Verified<T>>,
    ) -> crate::adapter::Decision<T>
    where
        T: serde::de::DeserializeOwned + Send + Sync + 'static,
        H: RequestHeaders + ?Sized,
    {
        let checked = crate::adapter::HeadersChecked::default();
        self.decide_mcp_checked(request, body, scopes, policy, earlier, checked)
    }

    /// The first step of an MCP request, before its body is read: its `Host` and `Origin`
    /// (`origins`: 403 for a DNS-rebinding attempt, before authentication), then
    /// [`before_body`](crate::Verifier::before_body) on its credentials — and when the
    /// 2026-07-28 `Mcp-Method` / `Mcp-Name` headers announce a call that needs scopes, an early
    /// 401 names them too (the body, read next, still decides).
    ///
    /// # Errors
    /// The [`Answer`](crate::Answer) for a request its headers refuse.
    pub fn before_mcp_body<T, H>(
        &self,
        request: &crate::request::RequestView<'_, H>,
        origins: &AllowedOrigins,
        scopes: &McpScopes,
        policy: &crate::adapter::Policy,
        earlier: Option<&crate::claims::Verified<T>>,
    ) -> Result<crate::adapter::HeadersChecked<T>, crate::answer::Answer>
    where
        T: serde::de::DeserializeOwned + Send + Sync + 'static,
        H: RequestHeaders + ?Sized,
    {
        origins.check(request)?;
        match scopes.announced(request.headers()) {
            Some(requirement) => {
                self.before_body(request, &policy.clone().require(requirement), earlier)
            }
            None => self.before_body(request, policy, earlier),
        }
    }

    /// [`decide_mcp`](crate::Verifier::decide_mcp) after
    /// [`before_body`](crate::Verifier::before_body) judged the headers: the token it verified
    /// is not verified again. The sequence an MCP guard follows: `before_body` (answer at once
    /// if it refuses), read the body under [`McpScopes::max_body`], then this.
    pub fn decide_mcp_checked<T, H>(
        &self,
        request: &crate::request::RequestView<'_, H>,
        body: &[u8],
        scopes: &McpScopes,
        policy: &crate::adapter::Policy,
        earlier: Option<&crate::claims::Verified<T>>,
        checked: crate::adapter::HeadersChecked<T>,
    ) -> crate::adapter::Decision<T>
    where
        T: serde::de::DeserializeOwned + Send + Sync + 'static,
        H: RequestHeaders + ?Sized,
    {
        match scopes.judge(request.headers(), body) {
            Ok(None) => self.decide_with(request, policy, earlier, checked),
            Ok(Some(requirement)) => {
                let policy = policy.clone().require(requirement);
                self.decide_with(request, &policy, earlier, checked)
            }
            Err(refusal) => crate::adapter::Decision::Deny(refusal.answer()),
        }
    }
}

/// The answer to an MCP request whose body is over the cap or cannot be read: 400 with a
/// JSON-RPC `-32600` error and no challenge (the credentials are not in question).
#[must_use]
pub fn unreadable_body() -> crate::answer::Answer {
    Refusal::new(
        INVALID_REQUEST,
        "the MCP request body is over the cap or unreadable",
    )
    .answer()
}

/// The header naming a streamable-HTTP MCP session.
pub const SESSION_HEADER: &str = "mcp-session-id";

/// The answer to a request on a session it may not use ([`McpSessions::check`]): `404 Not
/// Found` with a JSON-RPC error body, as for a session that ended (the client opens a new one),
/// and no challenge — its credentials were fine.
#[must_use]
pub fn session_not_found() -> crate::answer::Answer {
    crate::answer::Answer::json_rpc(
        http::StatusCode::NOT_FOUND,
        None,
        -32001,
        "Session not found",
    )
}

/// The single value of a header, or `None`; two values are a malformed request.
fn single<'h, H: RequestHeaders + ?Sized>(
    headers: &'h H,
    name: &str,
) -> Result<Option<&'h str>, Error> {
    let mut values = headers.header_values(name);
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => std::str::from_utf8(value)
            .map(|v| Some(v.trim()))
            .map_err(|_| malformed("an MCP header is not text")),
        (Some(_), Some(_)) => Err(malformed("an MCP header is repeated")),
    }
}

/// An `Mcp-Name` value: plain, or `=?base64?…?=` for values that are not plain header text.
fn decode_name(value: &str) -> Result<String, Error> {
    match value
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
    {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| malformed("Mcp-Name is not valid base64")),
        None => Ok(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes() -> McpScopes {
        McpScopes::new()
            .tool("list_messages", ["messages:read"])
            .tool("post_message", ["messages:write"])
            .method("resources/read", ["files:read"])
    }

    fn call(name: &str) -> String {
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}","arguments":{{}}}}}}"#
        )
    }

    fn needs(headers: &[(&'static str, &str)], body: &str) -> Result<Option<String>, ErrorKind> {
        let mut map = http::HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, value.parse().unwrap());
        }
        scopes()
            .requirement(&map, body.as_bytes())
            .map(|r| r.map(|r| format!("{r:?}")))
            .map_err(|e| e.kind())
    }

    fn all(scopes: &[&str]) -> Option<String> {
        Some(format!("{:?}", Requirement::all(scopes.iter().copied())))
    }

    #[test]
    fn tools_and_methods_need_their_scopes() {
        assert_eq!(
            needs(&[], &call("list_messages")),
            Ok(all(&["messages:read"]))
        );
        assert_eq!(
            needs(&[], &call("post_message")),
            Ok(all(&["messages:write"]))
        );
        assert_eq!(needs(&[], &call("unlisted")), Ok(None));
        assert_eq!(
            needs(&[], r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
            Ok(None)
        );
        assert_eq!(
            needs(
                &[],
                r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"f"}}"#
            ),
            Ok(all(&["files:read"]))
        );
        assert_eq!(needs(&[], ""), Ok(None), "GET and DELETE carry no body");
        // Notifications and responses need nothing.
        assert_eq!(
            needs(
                &[],
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#
            ),
            Ok(None)
        );
        assert_eq!(
            needs(&[], r#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            Ok(None)
        );
    }

    #[test]
    fn a_batch_needs_every_scope_of_its_elements_in_one_requirement() {
        let batch = format!("[{}, {}]", call("list_messages"), call("post_message"));
        assert_eq!(
            needs(&[], &batch),
            Ok(all(&["messages:read", "messages:write"]))
        );
        assert_eq!(needs(&[], "[]"), Err(ErrorKind::MalformedRequest));
        assert_eq!(
            needs(&[("mcp-method", "tools/call")], &batch),
            Err(ErrorKind::MalformedRequest)
        );
    }

    #[test]
    fn headers_must_say_what_the_body_says() {
        let body = call("post_message");
        assert_eq!(
            needs(
                &[("mcp-method", "tools/call"), ("mcp-name", "post_message")],
                &body
            ),
            Ok(all(&["messages:write"]))
        );
        // A harmless tool named in the header, another called in the body.
        assert_eq!(
            needs(
                &[("mcp-method", "tools/call"), ("mcp-name", "list_messages")],
                &body
            ),
            Err(ErrorKind::MalformedRequest)
        );
        assert_eq!(
            needs(&[("mcp-method", "tools/list")], &body),
            Err(ErrorKind::MalformedRequest)
        );
        let encoded = format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode("post_message")
        );
        assert_eq!(
            needs(
                &[("mcp-method", "tools/call"), ("mcp-name", &encoded)],
                &body
            ),
            Ok(all(&["messages:write"]))
        );
        assert_eq!(
            needs(&[("mcp-name", "a"), ("mcp-name", "b")], &body),
            Err(ErrorKind::MalformedRequest)
        );
        assert_eq!(
            needs(&[("mcp-method", "tools/call")], ""),
            Err(ErrorKind::MalformedRequest)
        );
    }

    #[test]
    fn bodies_that_are_not_json_rpc_are_refused() {
        for bad in [
            "not json",
            r#"{"method":"tools/call"}"#,
            r#"{"method":"tools/call","params":[]}"#,
            r#"{"method":"tools/call","params":{"name":7}}"#,
            // Duplicate members: two parsers could see two different tools.
            r#"{"method":"tools/call","params":{"name":"list_messages","name":"post_message"}}"#,
            "[1, 2]",
            "42",
        ] {
            assert_eq!(needs(&[], bad), Err(ErrorKind::MalformedRequest), "{bad}");
        }
        let small = scopes().max_body_bytes(8);
        let error = small
            .requirement(&http::HeaderMap::new(), call("list_messages").as_bytes())
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::MalformedRequest);
    }

    #[test]
    fn every_scope_is_listed_once() {
        let configured = scopes().tool("again", ["messages:read"]);
        let all: Vec<&str> = configured.scopes().collect();
        assert_eq!(all, ["files:read", "messages:read", "messages:write"]);
    }
}
