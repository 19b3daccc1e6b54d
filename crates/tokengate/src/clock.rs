//! Time as the verifier sees it: the system clock in production, a fixed clock in tests.
//!
//! ```
//! use tokengate::clock::{Clock, FixedClock};
//! let clock = FixedClock::at(1_700_000_000);
//! clock.advance(std::time::Duration::from_secs(30));
//! assert_eq!(clock.now_unix(), 1_700_000_030);
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The largest leeway a verifier accepts. Anything that expires "with the token" — a
/// revocation entry, a subject cut-off — lives this much longer, so that a token accepted
/// during the leeway after its `exp` is still judged by it (`docs/security.md`, "Time").
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// A source of the current time in whole seconds since the Unix epoch.
///
/// Closures `Fn() -> u64` implement it too.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since 1970-01-01T00:00:00Z.
    fn now_unix(&self) -> u64;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that only moves when told to; clones share one time.
#[derive(Clone, Default)]
pub struct FixedClock(Arc<AtomicU64>);

impl FixedClock {
    /// A clock standing at `unix_seconds`.
    #[must_use]
    pub fn at(unix_seconds: u64) -> FixedClock {
        FixedClock(Arc::new(AtomicU64::new(unix_seconds)))
    }

    /// Sets the time.
    pub fn set(&self, unix_seconds: u64) {
        self.0.store(unix_seconds, Ordering::SeqCst);
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_secs(), Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now_unix(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for FixedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FixedClock").field(&self.now_unix()).finish()
    }
}

impl<F> Clock for F
where
    F: Fn() -> u64 + Send + Sync + 'static,
{
    fn now_unix(&self) -> u64 {
        self()
    }
}
