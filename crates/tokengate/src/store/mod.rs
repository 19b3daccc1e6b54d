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

mod replay;
mod revocation;

pub use replay::{
    DEFAULT_REPLAY_CAPACITY, FirstUse, MemoryReplayStore, Recorded, ReplayStore, StoreFuture,
    StoreUnavailable,
};
pub use revocation::{
    Lookup, MemoryRevocationList, ProofUse, RevocationList, RevocationStatus, SharedAnswer,
    SharedLookup, SharedStore, StoreRead, StoreWrite, StoredValue, TokenIdentity,
};
