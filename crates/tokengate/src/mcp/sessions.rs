//! [`McpSessions`]: each MCP session bound to the principal that opened it.
//!
//! A streamable-HTTP MCP server hands a client an `Mcp-Session-Id` when it initializes, and
//! the session then carries the conversation (its streams, its state). The session id is not
//! a credential: a request on a session must come from the principal that opened it
//! ([`Verified::principal`](crate::Verified::principal)), or another user with a valid token
//! could call tools in it, read its stream or close it. A request on a session this registry
//! does not know, or that another principal opened, is answered 404 — as for an expired
//! session, so the id's existence is not revealed — and logged (never the id).

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::claims::PrincipalKey;
use crate::request::RequestHeaders;

/// The default number of open sessions remembered ([`McpSessions::with_capacity`]).
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

/// The default idle time after which a session is forgotten ([`McpSessions::idle_timeout`]).
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(24 * 3600);

/// Why a request on a session is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionRefusal {
    /// No session with this id is known (never opened here, closed, or forgotten).
    Unknown,
    /// Another principal opened it.
    OtherPrincipal,
}

/// A request's use of a session, from the check before the call ([`McpSessions::before`])
/// to the server's answer ([`McpSessions::after`]).
#[must_use]
#[derive(Debug)]
pub struct SessionUse {
    /// The request's `Mcp-Session-Id`, checked (kept for `after`, never logged).
    session: Option<Box<str>>,
    principal: Option<PrincipalKey>,
    closing: bool,
}

/// The owners of the open MCP sessions of one server: session ids (hashed) to the principal
/// that opened each. Bounded: past [`capacity`](McpSessions::with_capacity) the session idle
/// longest is forgotten (its client gets 404 and opens a new one — it never becomes anyone's).
pub struct McpSessions {
    owners: Mutex<HashMap<[u8; 32], Owner>>,
    capacity: usize,
    idle: Duration,
}

struct Owner {
    principal: PrincipalKey,
    seen: Instant,
}

impl fmt::Debug for McpSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpSessions")
            .field("open", &self.len())
            .field("capacity", &self.capacity)
            .field("idle", &self.idle)
            .finish()
    }
}

impl Default for McpSessions {
    fn default() -> Self {
        McpSessions::with_capacity(DEFAULT_MAX_SESSIONS)
    }
}

fn digest(session: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, session.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

impl McpSessions {
    /// A registry remembering up to `capacity` open sessions.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> McpSessions {
        McpSessions {
            owners: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            idle: DEFAULT_SESSION_IDLE,
        }
    }

    /// Forget a session unused for `idle` (default 24 h).
    #[must_use]
    pub fn idle_timeout(mut self, idle: Duration) -> McpSessions {
        self.idle = idle;
        self
    }

    /// How many sessions are remembered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.owners.lock().map_or(0, |owners| owners.len())
    }

    /// Whether none is.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The step before an admitted MCP request is passed on: its `Mcp-Session-Id`, if any,
    /// must name a session `principal` opened. `method` is the request's HTTP method (a
    /// `DELETE` closes the session when the server accepts it).
    ///
    /// # Errors
    /// The response to send instead: 404 ([`session_not_found`](super::session_not_found))
    /// for a session this principal may not use (or no principal), 400 with a JSON-RPC error
    /// for a repeated or non-text header.
    pub fn before<H: RequestHeaders + ?Sized>(
        &self,
        method: &str,
        headers: &H,
        principal: Option<PrincipalKey>,
    ) -> Result<SessionUse, crate::answer::Answer> {
        let mut values = headers.header_values(super::SESSION_HEADER);
        let session = match (values.next(), values.next()) {
            (None, _) => None,
            (Some(value), None) => {
                let Ok(id) = std::str::from_utf8(value) else {
                    return Err(super::Refusal::header_refused().answer());
                };
                match &principal {
                    Some(principal) if self.check(id, principal).is_ok() => Some(id.into()),
                    _ => return Err(super::session_not_found()),
                }
            }
            (Some(_), Some(_)) => return Err(super::Refusal::header_refused().answer()),
        };
        Ok(SessionUse {
            session,
            principal,
            closing: method == "DELETE",
        })
    }

    /// The step after the server answered: a session its answer opened (`opened`, the
    /// answer's `Mcp-Session-Id` to a request without one) becomes the principal's; a session
    /// a successful `DELETE` closed is forgotten.
    pub fn after(&self, used: SessionUse, success: bool, opened: Option<&str>) {
        match (&used.session, &used.principal, opened) {
            (None, Some(principal), Some(id)) => self.opened(id, principal),
            (Some(id), _, _) if used.closing && success => self.closed(id),
            _ => {}
        }
    }

    /// Whether `principal` may use the session `session` (the request's `Mcp-Session-Id`).
    ///
    /// # Errors
    /// [`SessionRefusal`]: answer 404 (see [`session_not_found`](super::session_not_found)).
    pub fn check(&self, session: &str, principal: &PrincipalKey) -> Result<(), SessionRefusal> {
        let key = digest(session);
        let now = Instant::now();
        let mut owners = self.owners.lock().map_err(|_| SessionRefusal::Unknown)?;
        let Some(owner) = owners.get_mut(&key) else {
            return Err(SessionRefusal::Unknown);
        };
        if now.duration_since(owner.seen) > self.idle {
            owners.remove(&key);
            return Err(SessionRefusal::Unknown);
        }
        if owner.principal != *principal {
            tracing::warn!(
                target: "tokengate::mcp",
                "a request on an MCP session another principal opened: refused (404)"
            );
            return Err(SessionRefusal::OtherPrincipal);
        }
        owner.seen = now;
        Ok(())
    }

    /// Records that the server opened `session` for `principal` (its answer to an
    /// `initialize` carried `Mcp-Session-Id`). A session id already owned by another
    /// principal keeps its owner.
    pub fn opened(&self, session: &str, principal: &PrincipalKey) {
        let key = digest(session);
        let now = Instant::now();
        let Ok(mut owners) = self.owners.lock() else {
            return;
        };
        if owners.len() >= self.capacity && !owners.contains_key(&key) {
            let idle = self.idle;
            owners.retain(|_, owner| now.duration_since(owner.seen) <= idle);
            if owners.len() >= self.capacity {
                let oldest = owners
                    .iter()
                    .min_by_key(|(_, owner)| owner.seen)
                    .map(|(key, _)| *key);
                if let Some(oldest) = oldest {
                    owners.remove(&oldest);
                }
            }
        }
        owners.entry(key).or_insert(Owner {
            principal: *principal,
            seen: now,
        });
    }

    /// Forgets `session` (the server closed it: a `DELETE` it accepted).
    pub fn closed(&self, session: &str) {
        if let Ok(mut owners) = self.owners.lock() {
            owners.remove(&digest(session));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(n: u8) -> PrincipalKey {
        PrincipalKey::from_bytes([n; 32])
    }

    #[test]
    fn a_session_belongs_to_the_principal_that_opened_it() {
        let sessions = McpSessions::default();
        assert_eq!(
            sessions.check("s-1", &principal(1)),
            Err(SessionRefusal::Unknown)
        );
        sessions.opened("s-1", &principal(1));
        assert_eq!(sessions.check("s-1", &principal(1)), Ok(()));
        assert_eq!(
            sessions.check("s-1", &principal(2)),
            Err(SessionRefusal::OtherPrincipal)
        );
        // Re-opening under another principal keeps the first owner.
        sessions.opened("s-1", &principal(2));
        assert_eq!(
            sessions.check("s-1", &principal(2)),
            Err(SessionRefusal::OtherPrincipal)
        );
        sessions.closed("s-1");
        assert_eq!(
            sessions.check("s-1", &principal(1)),
            Err(SessionRefusal::Unknown)
        );
    }

    #[test]
    fn a_full_registry_forgets_the_longest_idle_session() {
        let sessions = McpSessions::with_capacity(2);
        sessions.opened("a", &principal(1));
        std::thread::sleep(Duration::from_millis(2));
        sessions.opened("b", &principal(1));
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(sessions.check("a", &principal(1)), Ok(()));
        sessions.opened("c", &principal(1));
        assert_eq!(sessions.len(), 2);
        assert_eq!(
            sessions.check("b", &principal(1)),
            Err(SessionRefusal::Unknown)
        );
        assert_eq!(sessions.check("a", &principal(1)), Ok(()));
        assert_eq!(sessions.check("c", &principal(1)), Ok(()));
        assert!(!format!("{sessions:?}").contains("\"a\""));
    }

    #[test]
    fn an_idle_session_is_forgotten() {
        let sessions = McpSessions::default().idle_timeout(Duration::ZERO);
        sessions.opened("s", &principal(1));
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(
            sessions.check("s", &principal(1)),
            Err(SessionRefusal::Unknown)
        );
    }
}
