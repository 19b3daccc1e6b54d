//! An opt-in cache of verified tokens, so a client that reuses its token pays for the signature
//! once.
//!
//! Rules (each tested in `tests/cache.rs`):
//! - keyed by SHA-256 of the token (and the claims type), never the token itself;
//! - bounded by entry count and bytes: an entry weighs at least `max_bytes / max_entries`;
//! - an entry lives at most until the token's `exp` and the configured maximum age;
//! - time is re-checked on every hit with the verifier's clock, against `exp` *without* the
//!   leeway (stricter than a fresh verification, never looser); scopes and roles are checked
//!   per request by the route's requirement, as without the cache; the audiences are the
//!   verifier's own, fixed when it was built;
//! - entries die when their issuer's key set changes (a retired key's tokens stop being served
//!   at once);
//! - concurrent reads do not contend on one lock (moka's sharded, lock-free reads).

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::claims::Verified;
use crate::error::{ConfigError, ConfigErrorKind};

/// Settings of the verified-token cache (`VerifierBuilder::cache`).
///
/// ```
/// use std::time::Duration;
/// use tokengate::cache::TokenCache;
/// let cache = TokenCache::new().max_entries(50_000).max_bytes(64 << 20).max_age(Duration::from_secs(300));
/// # let _ = cache;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct TokenCache {
    max_entries: u64,
    max_bytes: u64,
    max_age: Duration,
}

impl Default for TokenCache {
    /// 10,000 entries, 32 MiB, 5 minutes.
    fn default() -> Self {
        TokenCache {
            max_entries: 10_000,
            max_bytes: 32 << 20,
            max_age: Duration::from_secs(300),
        }
    }
}

impl TokenCache {
    /// The defaults: 10,000 entries, 32 MiB, 5 minutes.
    pub fn new() -> TokenCache {
        TokenCache::default()
    }

    /// At most this many entries.
    pub fn max_entries(mut self, entries: u64) -> TokenCache {
        self.max_entries = entries;
        self
    }

    /// At most about this many bytes of entries (token claims as deserialized, plus bookkeeping).
    pub fn max_bytes(mut self, bytes: u64) -> TokenCache {
        self.max_bytes = bytes;
        self
    }

    /// An entry lives at most this long (and never past the token's `exp`).
    pub fn max_age(mut self, age: Duration) -> TokenCache {
        self.max_age = age;
        self
    }

    pub(crate) fn build(self) -> Result<Cache, ConfigError> {
        if self.max_entries == 0 || self.max_bytes == 0 || self.max_age.is_zero() {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "the token cache needs max_entries, max_bytes and max_age above zero",
            ));
        }
        let floor = (self.max_bytes / self.max_entries).max(1);
        let store = moka::sync::Cache::builder()
            .max_capacity(self.max_bytes)
            .weigher(move |_key: &Key, entry: &Arc<Entry>| {
                u32::try_from(entry.bytes.max(floor)).unwrap_or(u32::MAX)
            })
            .expire_after(Lifetime);
        #[cfg(feature = "metrics")]
        let store = store.eviction_listener(crate::observe::eviction_listener("token"));
        let store = store.build_with_hasher(DigestHashing::default());
        Ok(Cache {
            store,
            max_age: self.max_age.as_secs(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            #[cfg(feature = "metrics")]
            meters: Default::default(),
        })
    }
}

type Key = ([u8; 32], TypeId);

/// The key is already a SHA-256 digest: hashing it again (moka's default is SipHash) buys
/// nothing. This hasher folds the digest's words together. Only verified tokens enter the
/// cache, so nobody without the issuer's key can choose digests to collide.
type DigestHashing = std::hash::BuildHasherDefault<DigestHasher>;

#[derive(Default)]
struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = self.0.rotate_left(23) ^ word;
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }
}

pub(crate) struct Entry {
    pub(crate) issuer: usize,
    pub(crate) generation: u64,
    /// Clock second at which the entry stops being served (min of `exp` and the maximum age).
    pub(crate) until: f64,
    /// Monotonic deadline for memory reclamation.
    reclaim_after: Duration,
    bytes: u64,
    verified: Box<dyn Any + Send + Sync>,
}

struct Lifetime;

impl moka::Expiry<Key, Arc<Entry>> for Lifetime {
    fn expire_after_create(&self, _: &Key, entry: &Arc<Entry>, _: Instant) -> Option<Duration> {
        Some(entry.reclaim_after)
    }
}

/// The cache itself, inside a verifier.
pub(crate) struct Cache {
    store: moka::sync::Cache<Key, Arc<Entry>, DigestHashing>,
    max_age: u64,
    hits: AtomicU64,
    misses: AtomicU64,
    #[cfg(feature = "metrics")]
    meters: crate::observe::CacheMeters,
}

/// Counters of the verified-token cache (`Verifier::cache_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Verifications answered from the cache.
    pub hits: u64,
    /// Verifications that went through the full path (including tokens that then failed).
    pub misses: u64,
    /// Entries held now.
    pub entries: u64,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("entries", &self.store.entry_count())
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// The cached entry for this token and claims type, if any.
    pub(crate) fn get<T: 'static>(&self, hash: [u8; 32]) -> Option<Arc<Entry>> {
        self.store.get(&(hash, TypeId::of::<T>()))
    }

    /// Counts a hit or a miss.
    pub(crate) fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        self.meters.count("token", hit);
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> CacheStats {
        self.store.run_pending_tasks();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.store.entry_count(),
        }
    }

    /// The cached claims of an entry.
    pub(crate) fn claims<T: 'static>(entry: &Entry) -> Option<Verified<T>> {
        entry.verified.downcast_ref::<Verified<T>>().cloned()
    }

    /// Forgets an entry.
    pub(crate) fn remove<T: 'static>(&self, hash: [u8; 32]) {
        self.store.invalidate(&(hash, TypeId::of::<T>()));
    }

    /// Remembers a verified token of `issuer` whose key set had `generation`.
    pub(crate) fn insert<T: Send + Sync + 'static>(
        &self,
        hash: [u8; 32],
        verified: &Verified<T>,
        issuer: usize,
        generation: u64,
        now: u64,
        token_len: usize,
    ) {
        let until = verified.expires_at().min((now + self.max_age) as f64);
        let seconds = (until - now as f64).max(0.0);
        let entry = Entry {
            issuer,
            generation,
            until,
            reclaim_after: Duration::from_secs_f64(seconds.min(self.max_age as f64)),
            // The claims roughly take the token's size once decoded, plus the entry itself.
            bytes: (token_len + std::mem::size_of::<Verified<T>>() + 128) as u64,
            verified: Box::new(verified.clone()),
        };
        self.store
            .insert((hash, TypeId::of::<T>()), Arc::new(entry));
    }
}
