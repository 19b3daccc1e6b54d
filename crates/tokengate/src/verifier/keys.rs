//! [`IssuerKeys`]: one issuer's key store, static or remote, with its counters.

use std::sync::Arc;
#[cfg(feature = "remote")]
use std::sync::atomic::Ordering;
use std::time::Duration;

use arc_swap::{ArcSwap, Guard};

use crate::health::IssuerHealth;
#[cfg(feature = "remote")]
use crate::health::KeysState;
use crate::key::KeySet;
#[cfg(feature = "remote")]
use crate::remote::{Reason, RemoteKeys};

/// The keys of one issuer: a static set, or (feature `remote`) a remote set that refreshes
/// itself. Without the feature every method takes its static branch.
pub(crate) struct IssuerKeys {
    set: Arc<ArcSwap<KeySet>>,
    #[cfg(feature = "remote")]
    remote: Option<Arc<RemoteKeys>>,
}

/// Whether the loaded keys can be used now.
pub(crate) enum Loaded {
    /// These keys may verify the token.
    Usable(Guard<Arc<KeySet>>),
    /// A remote issuer has no usable keys: fetch first.
    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    NeedsFetch,
}

impl IssuerKeys {
    /// Keys loaded once, never refreshed.
    pub(crate) fn fixed(keys: KeySet) -> IssuerKeys {
        IssuerKeys {
            set: Arc::new(ArcSwap::from_pointee(keys)),
            #[cfg(feature = "remote")]
            remote: None,
        }
    }

    /// Keys fetched from `remote` when first needed.
    #[cfg(feature = "remote")]
    pub(crate) fn remote(remote: RemoteKeys) -> IssuerKeys {
        IssuerKeys {
            set: Arc::new(ArcSwap::from_pointee(KeySet::unfetched())),
            remote: Some(Arc::new(remote)),
        }
    }

    /// Whether the keys come from a remote source (and an unknown `kid` may mean a rotation).
    pub(crate) fn is_remote(&self) -> bool {
        #[cfg(feature = "remote")]
        let remote = self.remote.is_some();
        #[cfg(not(feature = "remote"))]
        let remote = false;
        remote
    }

    /// The keys loaded now, whatever their state.
    pub(crate) fn current(&self) -> Guard<Arc<KeySet>> {
        self.set.load()
    }

    /// The keys to verify with at clock second `now`. Starts a background refresh when one
    /// is due; never waits.
    pub(crate) fn usable(&self, now: u64) -> Loaded {
        let keys = self.set.load();
        #[cfg(not(feature = "remote"))]
        let _ = now;
        #[cfg(feature = "remote")]
        if let Some(remote) = &self.remote {
            if !keys.usable_at(now) {
                return Loaded::NeedsFetch;
            }
            if keys.refresh_due(now) {
                remote.refresh_in_background(&self.set);
            }
        }
        Loaded::Usable(keys)
    }

    /// Counts a verification served with keys past their TTL.
    pub(crate) fn note_served(&self, keys: &KeySet, now: u64) {
        #[cfg(feature = "remote")]
        if let Some(remote) = &self.remote {
            if !keys.fresh_at(now) {
                remote.counters.stale_served.fetch_add(1, Ordering::Relaxed);
                #[cfg(feature = "metrics")]
                crate::observe::stale_served(remote.issuer());
            }
        }
        #[cfg(not(feature = "remote"))]
        let _ = (keys, now);
    }

    /// Fetches (shared, bounded by backoff and the unknown-`kid` cooldown): for an unknown
    /// `kid`, or because no key is usable. Static keys: nothing to fetch.
    pub(crate) async fn fetch(&self, kid: Option<&str>) {
        #[cfg(feature = "remote")]
        if let Some(remote) = &self.remote {
            match kid {
                Some(kid) => {
                    remote.refresh_for_kid(&self.set, kid).await;
                }
                None => {
                    remote.refresh(&self.set, Reason::Unusable).await;
                }
            }
        }
        #[cfg(not(feature = "remote"))]
        let _ = kid;
    }

    /// How long a client should wait before retrying when no key is usable.
    pub(crate) fn retry_after(&self) -> Duration {
        #[cfg(feature = "remote")]
        if let Some(remote) = &self.remote {
            return remote.retry_after();
        }
        Duration::from_secs(30)
    }

    /// Fetches now unless the keys are fresh; `Err(retry_after)` when none is usable after.
    pub(crate) async fn ready(&self, now: impl Fn() -> u64) -> Result<(), Duration> {
        #[cfg(feature = "remote")]
        if let Some(remote) = &self.remote {
            if !self.set.load().fresh_at(now()) {
                remote.refresh(&self.set, Reason::Ready).await;
            }
            // Judge by what is loaded now: a concurrent refresh may have done the work.
            if !self.set.load().usable_at(now()) {
                return Err(remote.retry_after());
            }
        }
        #[cfg(not(feature = "remote"))]
        let _ = now;
        Ok(())
    }

    /// A snapshot of the keys' state and counters.
    pub(crate) fn health(&self, iss: &str, now: u64) -> IssuerHealth {
        let keys = self.set.load();
        #[cfg(feature = "remote")]
        if let Some(remote) = &self.remote {
            let state = if !keys.usable_at(now) {
                KeysState::Failing
            } else if keys.fresh_at(now) {
                KeysState::Fresh
            } else {
                KeysState::Stale
            };
            return IssuerHealth::for_remote(iss, state, keys.len(), remote);
        }
        #[cfg(not(feature = "remote"))]
        let _ = now;
        IssuerHealth::for_static(iss, keys.len())
    }
}
