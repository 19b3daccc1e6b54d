//! [`ReplayStore`]: remembers the DPoP proofs already used, so a captured proof cannot be sent
//! again within its window (RFC 9449 section 11.1).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use super::Reply;

/// Whether a proof was seen before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstUse {
    /// Never seen: it is recorded now.
    Yes,
    /// Already recorded: a replay.
    Replayed,
}

/// The store could not answer (down, full, timed out). The request is refused with 503: a
/// replay cannot be ruled out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreUnavailable;

impl fmt::Display for StoreUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the replay store could not answer")
    }
}

impl std::error::Error for StoreUnavailable {}

/// A boxed future of a shared store's answer.
pub type StoreFuture = Pin<Box<dyn Future<Output = Result<FirstUse, StoreUnavailable>> + Send>>;

/// A replay store's answer: now (an in-memory store) or after I/O (a shared store such as
/// Redis), which the request pipeline waits for
/// ([`Decision::Pending`](crate::adapter::Decision::Pending)).
pub type Recorded = Reply<Result<FirstUse, StoreUnavailable>>;

/// Remembers used proof identifiers until they expire. Atomic "record if absent": two
/// concurrent requests with one proof must not both pass.
///
/// `key` is a SHA-256 over the proof's key thumbprint and `jti`, never the proof itself;
/// `expires_at` (Unix seconds) is when the proof could no longer pass the `iat` check anyway.
/// A shared store (Redis `SET key 1 NX EXAT expires_at`) lets several instances refuse a proof
/// replayed to another one.
pub trait ReplayStore: Send + Sync + 'static {
    /// Records `key` until `expires_at` if absent, at time `now` (the verifier's clock).
    fn record(&self, key: [u8; 32], expires_at: u64, now: u64) -> Recorded;
}

/// The default store: in memory, bounded, for one instance. Entries live until their
/// expiry by the verifier's (injectable) clock; a full store sweeps expired entries and, if
/// still full, answers [`StoreUnavailable`] (503) rather than forget a live proof.
///
/// Hand-written rather than moka: expiry here follows the verifier's clock, which tests and
/// the window check share, while moka's follows the wall clock.
pub struct MemoryReplayStore {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
}

#[derive(Default)]
struct Shard {
    entries: HashMap<[u8; 32], u64>,
    /// The clock second of the last sweep: a full shard is swept at most once a second, so a
    /// flood of proofs against a full store costs a lookup each, not a scan each.
    swept_at: u64,
}

/// The default capacity of [`MemoryReplayStore`]: a million live proofs (about 8,000 DPoP
/// requests a second with the default 60 s window either side), some 60 MB at most.
pub const DEFAULT_REPLAY_CAPACITY: usize = 1_000_000;

const SHARDS: usize = 16;

impl MemoryReplayStore {
    /// A store holding up to `capacity` live proofs.
    #[must_use]
    pub fn new(capacity: usize) -> MemoryReplayStore {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        MemoryReplayStore {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard,
        }
    }

    /// How many proofs are remembered (expired ones included until swept).
    #[must_use]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.entries.len()))
            .sum()
    }

    /// Whether nothing is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn record_now(
        &self,
        key: [u8; 32],
        expires_at: u64,
        now: u64,
    ) -> Result<FirstUse, StoreUnavailable> {
        let shard = &self.shards[usize::from(key[0]) % SHARDS];
        let mut shard = shard.lock().map_err(|_| StoreUnavailable)?;
        if let Some(until) = shard.entries.get_mut(&key) {
            if *until > now {
                return Ok(FirstUse::Replayed);
            }
            *until = expires_at;
            return Ok(FirstUse::Yes);
        }
        if shard.entries.len() >= self.per_shard {
            if shard.swept_at != now {
                shard.swept_at = now;
                shard.entries.retain(|_, until| *until > now);
            }
            if shard.entries.len() >= self.per_shard {
                tracing::warn!(
                    target: "tokengate::dpop",
                    "the DPoP replay store is full: refusing proofs until entries expire"
                );
                return Err(StoreUnavailable);
            }
        }
        shard.entries.insert(key, expires_at);
        Ok(FirstUse::Yes)
    }
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        MemoryReplayStore::new(DEFAULT_REPLAY_CAPACITY)
    }
}

impl fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReplayStore")
            .field("capacity", &(self.per_shard * SHARDS))
            .finish_non_exhaustive()
    }
}

impl ReplayStore for MemoryReplayStore {
    fn record(&self, key: [u8; 32], expires_at: u64, now: u64) -> Recorded {
        Recorded::Now(self.record_now(key, expires_at, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now(
        store: &MemoryReplayStore,
        key: u8,
        until: u64,
        at: u64,
    ) -> Result<FirstUse, StoreUnavailable> {
        match store.record([key; 32], until, at) {
            Recorded::Now(result) => result,
            Recorded::Later(_) => unreachable!(),
        }
    }

    #[test]
    fn a_key_is_first_used_once_until_it_expires() {
        let store = MemoryReplayStore::new(100);
        assert_eq!(now(&store, 1, 200, 100), Ok(FirstUse::Yes));
        assert_eq!(now(&store, 1, 200, 150), Ok(FirstUse::Replayed));
        assert_eq!(now(&store, 2, 200, 150), Ok(FirstUse::Yes));
        // Expired entries no longer count.
        assert_eq!(now(&store, 1, 300, 200), Ok(FirstUse::Yes));
        assert_eq!(now(&store, 1, 300, 250), Ok(FirstUse::Replayed));
    }

    #[test]
    fn a_full_store_sweeps_then_refuses_rather_than_forget() {
        let store = MemoryReplayStore::new(SHARDS); // one entry per shard
        // Keys 0 and 16 share shard 0.
        assert_eq!(now(&store, 0, 200, 100), Ok(FirstUse::Yes));
        assert_eq!(now(&store, 16, 200, 100), Err(StoreUnavailable));
        // Once the first expired, the sweep makes room.
        assert_eq!(now(&store, 16, 400, 200), Ok(FirstUse::Yes));
        assert_eq!(store.len(), 1);
    }
}
