//! The store contract: what the pipeline asks of the state it keeps between requests, and the
//! in-memory defaults. A room below the binding rules and the claims: it knows tokens only by
//! their identity ([`TokenIdentity`]) and proofs only by a hash, and imports nothing above it
//! (`docs/architecture.md`, "Rooms").
//!
//! - `replay.rs`: [`ReplayStore`] (DPoP proofs already used) and [`MemoryReplayStore`];
//! - `revocation.rs`: [`RevocationList`], [`SharedStore`] (both questions in one call),
//!   [`MemoryRevocationList`], and the shared-store value types.
//!
//! Every store answers now or later (a future the pipeline waits for), and a store that
//! cannot answer says [`StoreUnavailable`]: the request is refused with 503, never admitted.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

mod replay;
mod revocation;

/// A store's answer to one question: now (an in-memory store), or later — a future a shared
/// store (Redis) resolves after I/O, which the request pipeline waits for. The one
/// now-or-later type of every store ([`Recorded`], [`Lookup`], [`SharedLookup`]).
pub enum Reply<T> {
    /// Answered without waiting.
    Now(T),
    /// Answered by this future.
    Later(Pin<Box<dyn Future<Output = T> + Send>>),
}

impl<T> Reply<T> {
    /// The answer, waiting for it when it comes later.
    pub async fn get(self) -> T {
        match self {
            Reply::Now(answer) => answer,
            Reply::Later(answer) => answer.await,
        }
    }

    /// Whether the answer comes later.
    #[must_use]
    pub fn is_later(&self) -> bool {
        matches!(self, Reply::Later(_))
    }
}

impl<T: fmt::Debug> fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Now(answer) => f.debug_tuple("Now").field(answer).finish(),
            Reply::Later(_) => f.write_str("Later(..)"),
        }
    }
}

pub use replay::{
    DEFAULT_REPLAY_CAPACITY, FirstUse, MemoryReplayStore, Recorded, ReplayStore, StoreFuture,
    StoreUnavailable,
};
pub use revocation::{
    Lookup, MemoryRevocationList, ProofUse, RevocationList, RevocationStatus, SharedAnswer,
    SharedLookup, SharedStore, StoreRead, StoreWrite, StoredValue, TokenIdentity,
};
