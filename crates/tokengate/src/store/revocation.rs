//! [`RevocationList`]: tokens cut off before they expire — one by its `jti`, or every token of
//! a subject issued before a time — checked on every request after the token verified.
//!
//! ```
//! use tokengate::{store::MemoryRevocationList, store::RevocationList};
//! # futures_executor::block_on(async {
//! let list = MemoryRevocationList::default();
//! // A leaked token: refuse it until it would have expired anyway.
//! list.revoke_jti("https://login.example.com/", "6c1f7d2e", 1_900_000_000).await.unwrap();
//! // A compromised account: every token of alice issued before now.
//! list.revoke_subject("https://login.example.com/", "alice", 1_800_000_000, 1_800_086_400)
//!     .await
//!     .unwrap();
//! # });
//! ```

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use super::Reply;
use super::replay::{FirstUse, ReplayStore, StoreUnavailable};

/// A boxed write to a store.
pub type StoreWrite = Pin<Box<dyn Future<Output = Result<(), StoreUnavailable>> + Send>>;

/// A boxed read from a store.
pub type StoreRead =
    Pin<Box<dyn Future<Output = Result<Option<StoredValue>, StoreUnavailable>> + Send>>;

/// A value read from a shared store, with how much longer the store keeps it: a reader
/// never keeps a copy longer than that (a relative time, so the reader's clock and the
/// store's need not agree). `Debug` shows the length only.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredValue {
    /// The bytes stored.
    pub value: Vec<u8>,
    /// How much longer the store keeps them.
    pub remaining: std::time::Duration,
}

impl StoredValue {
    /// A value the store keeps for `remaining` more.
    #[must_use]
    pub fn new(value: Vec<u8>, remaining: std::time::Duration) -> StoredValue {
        StoredValue { value, remaining }
    }
}

impl fmt::Debug for StoredValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredValue")
            .field("bytes", &self.value.len())
            .field("remaining", &self.remaining)
            .finish()
    }
}

/// What the revocation list knows of a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationStatus {
    /// Not revoked.
    Valid,
    /// Revoked: by its `jti`, or because its subject was cut off after it was issued.
    Revoked,
}

/// A revocation list's answer: now (in memory) or after I/O (a shared store).
pub type Lookup = Reply<Result<RevocationStatus, StoreUnavailable>>;

/// A [`SharedStore`]'s answer: now, or after I/O.
pub type SharedLookup = Reply<SharedAnswer>;

/// What identifies a verified token for revocation. `Debug` shows which members are present,
/// never their values.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct TokenIdentity<'a> {
    /// The issuer that vouched for it.
    pub issuer: &'a str,
    /// Its `jti`, if any.
    pub jti: Option<&'a str>,
    /// Its `sub`, if any.
    pub subject: Option<&'a str>,
    /// Its `iat`, if any (seconds since the epoch).
    pub issued_at: Option<u64>,
}

impl<'a> TokenIdentity<'a> {
    /// A token's identity (for tests of a list, or a check outside the pipeline).
    #[must_use]
    pub fn new(
        issuer: &'a str,
        jti: Option<&'a str>,
        subject: Option<&'a str>,
        issued_at: Option<u64>,
    ) -> TokenIdentity<'a> {
        TokenIdentity {
            issuer,
            jti,
            subject,
            issued_at,
        }
    }
}

impl fmt::Debug for TokenIdentity<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIdentity")
            .field("issuer", &self.issuer)
            .field("jti", &self.jti.is_some())
            .field("subject", &self.subject.is_some())
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

/// Revoked tokens: by `jti`, and subjects cut off before a time. Implementations keep only
/// hashes of the `jti` and subject, each entry until `until` plus [`MAX_LEEWAY`] (a token is
/// accepted up to the verifier's leeway after its `exp`, so its revocation must outlive that
/// too), never shorten an entry when the same token or subject is revoked again, and answer
/// atomically for every instance that shares them. A shared store sets relative expiries
/// (seconds from now), never an absolute time computed on another machine's clock.
///
/// [`MAX_LEEWAY`]: crate::clock::MAX_LEEWAY
pub trait RevocationList: Send + Sync + 'static {
    /// Whether `token` is revoked, at `now` (the verifier's clock). A subject cut-off applies
    /// to tokens issued before it, and to tokens without `iat` (they cannot show otherwise).
    fn status(&self, token: &TokenIdentity<'_>, now: u64) -> Lookup;

    /// Revokes the token with `jti` from `issuer`, remembered until `until` (its `exp`) plus
    /// [`MAX_LEEWAY`](crate::clock::MAX_LEEWAY). A second revocation never shortens the first.
    fn revoke_jti(&self, issuer: &str, jti: &str, until: u64) -> StoreWrite;

    /// Revokes every token of `subject` from `issuer` issued before `issued_before`,
    /// remembered until `until` (when the last such token has expired) plus
    /// [`MAX_LEEWAY`](crate::clock::MAX_LEEWAY). A later cut-off for the same subject replaces
    /// an earlier one; neither shortens how long the entry is kept.
    fn revoke_subject(
        &self,
        issuer: &str,
        subject: &str,
        issued_before: u64,
        until: u64,
    ) -> StoreWrite;
}

/// A DPoP proof to record as used: its replay key and until when (see [`ReplayStore::record`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProofUse {
    /// A SHA-256 over the proof's key thumbprint and `jti`, never the proof itself.
    pub key: [u8; 32],
    /// When the proof could no longer pass the `iat` check anyway (Unix seconds).
    pub expires_at: u64,
}

/// Both answers of a [`SharedStore`] for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedAnswer {
    /// What the revocation list knows of the token.
    pub revocation: Result<RevocationStatus, StoreUnavailable>,
    /// Whether the proof was used before (recording it now); `None` when no proof was given.
    /// A missing answer for a given proof counts as [`StoreUnavailable`].
    pub replay: Option<Result<FirstUse, StoreUnavailable>>,
}

/// One store that is both the revocation list and the DPoP replay store, and answers a
/// request's two questions in one call — for a shared store such as Redis, one round trip
/// instead of two commands. Configure it with
/// [`VerifierBuilder::shared_store`](crate::VerifierBuilder::shared_store); its
/// [`RevocationList`] and [`ReplayStore`] methods still serve revocation writes and the
/// token-only API.
pub trait SharedStore: RevocationList + ReplayStore {
    /// Whether `token` is revoked and, when `proof` is given, records it if absent — with the
    /// same meaning as [`RevocationList::status`] and [`ReplayStore::record`].
    fn status_and_record(
        &self,
        token: &TokenIdentity<'_>,
        proof: Option<ProofUse>,
        now: u64,
    ) -> SharedLookup;
}

/// The in-memory list, for one instance: bounded (a million entries by default; a full list
/// sweeps expired entries, and refuses new revocations rather than forget old ones).
pub struct MemoryRevocationList {
    jtis: Mutex<HashMap<[u8; 32], u64>>,
    subjects: Mutex<HashMap<[u8; 32], (u64, u64)>>,
    capacity: usize,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
}

impl fmt::Debug for MemoryRevocationList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRevocationList")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryRevocationList {
    fn default() -> Self {
        MemoryRevocationList::new(1_000_000)
    }
}

/// Whether an entry kept "until `until`" is still in force at `now`: for the token's own
/// lifetime plus the largest leeway (see [`RevocationList`]).
fn in_force(until: u64, now: u64) -> bool {
    until.saturating_add(crate::clock::MAX_LEEWAY.as_secs()) > now
}

fn hash(issuer: &str, value: &str) -> [u8; 32] {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    context.update(issuer.as_bytes());
    context.update(&[0]);
    context.update(value.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

impl MemoryRevocationList {
    /// A list holding up to `capacity` revoked `jti`s and as many subjects.
    #[must_use]
    pub fn new(capacity: usize) -> MemoryRevocationList {
        MemoryRevocationList {
            jtis: Mutex::new(HashMap::new()),
            subjects: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            clock: std::sync::Arc::new(crate::clock::SystemClock),
        }
    }

    /// Judge expiry by `clock` (the verifier's, in tests).
    #[must_use]
    pub fn clock(mut self, clock: impl crate::clock::Clock) -> MemoryRevocationList {
        self.clock = std::sync::Arc::new(clock);
        self
    }

    fn insert<V: Copy>(
        &self,
        map: &Mutex<HashMap<[u8; 32], V>>,
        key: [u8; 32],
        value: V,
        until: impl Fn(&V) -> u64,
        merge: impl Fn(&mut V, V),
    ) -> Result<(), StoreUnavailable> {
        let now = self.clock.now_unix();
        let mut map = map.lock().map_err(|_| StoreUnavailable)?;
        if let Some(existing) = map.get_mut(&key) {
            merge(existing, value);
            return Ok(());
        }
        if map.len() >= self.capacity {
            map.retain(|_, v| in_force(until(v), now));
            if map.len() >= self.capacity {
                return Err(StoreUnavailable);
            }
        }
        map.insert(key, value);
        Ok(())
    }
}

impl RevocationList for MemoryRevocationList {
    fn status(&self, token: &TokenIdentity<'_>, now: u64) -> Lookup {
        let revoked_jti = token.jti.is_some_and(|jti| {
            self.jtis
                .lock()
                .map(|m| {
                    m.get(&hash(token.issuer, jti))
                        .is_some_and(|until| in_force(*until, now))
                })
                .unwrap_or(true)
        });
        let revoked_subject = token.subject.is_some_and(|sub| {
            let cut = self
                .subjects
                .lock()
                .map(|m| m.get(&hash(token.issuer, sub)).copied())
                .unwrap_or(Some((u64::MAX, u64::MAX)));
            cut.is_some_and(|(before, until)| {
                in_force(until, now) && token.issued_at.is_none_or(|iat| iat < before)
            })
        });
        Lookup::Now(Ok(if revoked_jti || revoked_subject {
            RevocationStatus::Revoked
        } else {
            RevocationStatus::Valid
        }))
    }

    fn revoke_jti(&self, issuer: &str, jti: &str, until: u64) -> StoreWrite {
        let result = self.insert(
            &self.jtis,
            hash(issuer, jti),
            until,
            |u| *u,
            |old, new| {
                *old = (*old).max(new);
            },
        );
        Box::pin(std::future::ready(result))
    }

    fn revoke_subject(
        &self,
        issuer: &str,
        subject: &str,
        issued_before: u64,
        until: u64,
    ) -> StoreWrite {
        let result = self.insert(
            &self.subjects,
            hash(issuer, subject),
            (issued_before, until),
            |(_, u)| *u,
            |old, (before, until)| *old = (old.0.max(before), old.1.max(until)),
        );
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(
        list: &MemoryRevocationList,
        jti: Option<&str>,
        sub: Option<&str>,
        iat: Option<u64>,
        now: u64,
    ) -> RevocationStatus {
        let token = TokenIdentity {
            issuer: "iss",
            jti,
            subject: sub,
            issued_at: iat,
        };
        match list.status(&token, now) {
            Lookup::Now(result) => result.unwrap(),
            Lookup::Later(_) => unreachable!(),
        }
    }

    #[test]
    fn jti_and_subject_revocations() {
        let clock = crate::clock::FixedClock::at(1000);
        let list = MemoryRevocationList::new(10).clock(clock.clone());
        futures_executor::block_on(list.revoke_jti("iss", "j1", 2000)).unwrap();
        futures_executor::block_on(list.revoke_subject("iss", "alice", 1500, 3000)).unwrap();
        assert_eq!(
            status(&list, Some("j1"), None, None, 1000),
            RevocationStatus::Revoked
        );
        // The token verifies up to the leeway after its `exp`: so does its revocation.
        assert_eq!(
            status(&list, Some("j1"), None, None, 2000 + 299),
            RevocationStatus::Revoked,
            "within the largest leeway after until"
        );
        assert_eq!(
            status(&list, Some("j1"), None, None, 2000 + 300),
            RevocationStatus::Valid,
            "expired, leeway included"
        );
        assert_eq!(
            status(&list, Some("j2"), None, None, 1000),
            RevocationStatus::Valid
        );
        assert_eq!(
            status(&list, None, Some("alice"), Some(1499), 1000),
            RevocationStatus::Revoked
        );
        assert_eq!(
            status(&list, None, Some("alice"), Some(1500), 1000),
            RevocationStatus::Valid
        );
        assert_eq!(
            status(&list, None, Some("alice"), None, 1000),
            RevocationStatus::Revoked,
            "no iat"
        );
        assert_eq!(
            status(&list, None, Some("bob"), Some(1), 1000),
            RevocationStatus::Valid
        );
        // Another issuer's jti with the same text is another token.
        let other = TokenIdentity {
            issuer: "other",
            jti: Some("j1"),
            subject: None,
            issued_at: None,
        };
        assert!(matches!(
            list.status(&other, 1000),
            Lookup::Now(Ok(RevocationStatus::Valid))
        ));
        // A later cut-off replaces an earlier one; an earlier one never shortens it.
        futures_executor::block_on(list.revoke_subject("iss", "alice", 1200, 3000)).unwrap();
        assert_eq!(
            status(&list, None, Some("alice"), Some(1499), 1000),
            RevocationStatus::Revoked
        );
    }

    #[test]
    fn a_full_list_refuses_rather_than_forgets() {
        let clock = crate::clock::FixedClock::at(1000);
        let list = MemoryRevocationList::new(1).clock(clock.clone());
        futures_executor::block_on(list.revoke_jti("iss", "a", 1100)).unwrap();
        assert_eq!(
            futures_executor::block_on(list.revoke_jti("iss", "b", 1100)),
            Err(StoreUnavailable)
        );
        // Still in force during the leeway after its `until`: kept.
        clock.advance(std::time::Duration::from_secs(200));
        assert_eq!(
            futures_executor::block_on(list.revoke_jti("iss", "b", 1400)),
            Err(StoreUnavailable)
        );
        clock.advance(std::time::Duration::from_secs(200));
        futures_executor::block_on(list.revoke_jti("iss", "b", 1700)).unwrap();
    }
}
