// Over 600 lines: one Redis store implementing four store traits over one connection and its Lua scripts; the tests are a third of it.
//! tokengate state shared by many instances through Redis (or Valkey), on redis-rs: the DPoP
//! replay store, the revocation list, the introspection cache and the DPoP nonce secret.
//!
//! ```no_run
//! use std::time::Duration;
//! use tokengate::{dpop::Dpop, introspection::Introspection, Issuer, KeySource, Verifier};
//! use tokengate_redis::RedisStore;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! // One store per process; every instance points at the same Redis.
//! let store = RedisStore::open("redis://redis.internal:6379/0")?;
//! let verifier = Verifier::builder()
//!     .issuer(Issuer::new("https://login.example.com/")
//!         .audience("api")
//!         .keys(KeySource::discover())
//!         .introspection(Introspection::discover().shared_cache(store.clone())))
//!     .dpop(Dpop::new()
//!         .replay_store(store.clone())
//!         .nonces(store.dpop_nonces(Duration::from_secs(300)).await?))
//!     .revocation(store.clone())
//!     .build()?;
//! # let _ = verifier; Ok(()) }
//! ```
//!
//! Rules (see `docs/guide.md`, "Running many instances"):
//! - every operation is atomic in Redis (`SET … NX EX` for proofs, one `MGET` for a
//!   revocation check, scripts that keep the latest subject cut-off and never shorten an
//!   entry), with no read-then-write race between instances;
//! - every expiry is relative (`EX` seconds from Redis's now, computed from the remaining
//!   window), never an absolute time from this machine's clock: Redis and the instances need
//!   not agree on the time ([`REPLAY_SKEW_MARGIN`] covers instances that differ by up to
//!   60 s); revocation entries live until the token's `exp` plus the largest leeway;
//! - keys are namespaced (`tokengate:` by default, [`RedisStore::with_prefix`]) and end in a
//!   SHA-256 of what they are about: never a token, a `jti`, a subject or any claim in a key;
//! - every key has an expiry, so nothing grows forever;
//! - every call is bounded by a short timeout (default 250 ms): past it the store is
//!   unavailable, and the verifier answers 503 for replay and revocation checks (unless told
//!   otherwise) and calls the provider for introspection;
//! - the connection comes from a URL (`redis://`, `rediss://` for TLS, user and password in the
//!   URL), is multiplexed, and reconnects by itself.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokengate::clock::{Clock, MAX_LEEWAY, SystemClock};
use tokengate::{
    ConfigError, dpop::DpopNonces, error::ConfigErrorKind, introspection::IntrospectionCache,
    store::FirstUse, store::Lookup, store::ProofUse, store::Recorded, store::ReplayStore,
    store::RevocationList, store::RevocationStatus, store::SharedAnswer, store::SharedLookup,
    store::SharedStore, store::StoreRead, store::StoreUnavailable, store::StoreWrite,
    store::StoredValue, store::TokenIdentity,
};

/// The default bound on one Redis call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

/// A handle on the shared store: cheap to clone, one multiplexed connection inside.
///
/// `Debug` shows the prefix and counters, never the URL (it may hold a password).
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    connection: ConnectionManager,
    /// The service's clock: expiries sent to Redis are relative (`EX`), computed from it.
    clock: Arc<dyn Clock>,
    prefix: Box<str>,
    timeout: Duration,
    errors: AtomicU64,
    calls: AtomicU64,
    last_error: std::sync::Mutex<Option<String>>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .field("health", &self.health())
            .finish()
    }
}

/// What the store has seen: calls, failures (timeouts, connection errors) and the last one.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreHealth {
    /// Calls made.
    pub calls: u64,
    /// Calls that failed or timed out.
    pub errors: u64,
    /// Why the last failure happened (no key, no value: only Redis's error text).
    pub last_error: Option<String>,
}

impl RedisStore {
    /// A store on the Redis at `url` (`redis://[user:password@]host:port/db`, or `rediss://`
    /// for TLS). The connection is made on first use and re-made when lost; each call is
    /// bounded by [`DEFAULT_TIMEOUT`]. Needs a Tokio runtime.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidSetting`] for a URL redis-rs does not accept.
    pub fn open(url: &str) -> Result<RedisStore, ConfigError> {
        RedisStore::open_with_timeout(url, DEFAULT_TIMEOUT)
    }

    /// Whether redis-rs accepts `url`, without connecting and without a runtime (for
    /// configuration checks).
    ///
    /// # Errors
    /// As [`open`](RedisStore::open).
    pub fn check_url(url: &str) -> Result<(), ConfigError> {
        redis::Client::open(url).map(drop).map_err(|_| {
            ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "the Redis URL is not a redis:// or rediss:// URL redis-rs accepts",
            )
        })
    }

    /// As [`open`](RedisStore::open), each call bounded by `timeout`.
    ///
    /// # Errors
    /// As [`open`](RedisStore::open).
    pub fn open_with_timeout(url: &str, timeout: Duration) -> Result<RedisStore, ConfigError> {
        let invalid = || {
            ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "the Redis URL is not a redis:// or rediss:// URL redis-rs accepts",
            )
        };
        let client = redis::Client::open(url).map_err(|_| invalid())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let connection =
            ConnectionManager::new_lazy_with_config(client, config).map_err(|_| invalid())?;
        Ok(RedisStore {
            inner: Arc::new(Inner {
                connection,
                clock: Arc::new(SystemClock),
                prefix: "tokengate".into(),
                timeout,
                errors: AtomicU64::new(0),
                calls: AtomicU64::new(0),
                last_error: std::sync::Mutex::new(None),
            }),
        })
    }

    /// Keys start with `prefix:` instead of `tokengate:` (several services on one Redis).
    #[must_use]
    pub fn with_prefix(self, prefix: &str) -> RedisStore {
        let inner = &self.inner;
        RedisStore {
            inner: Arc::new(Inner {
                connection: inner.connection.clone(),
                clock: Arc::clone(&inner.clock),
                prefix: prefix.into(),
                timeout: inner.timeout,
                errors: AtomicU64::new(0),
                calls: AtomicU64::new(0),
                last_error: std::sync::Mutex::new(None),
            }),
        }
    }

    /// Computes revocation expiries from `clock` (the verifier's, in tests) instead of the
    /// system clock. Expiries are sent as durations from now, so Redis's own clock never
    /// has to agree with this one.
    #[must_use]
    pub fn with_clock(self, clock: impl Clock) -> RedisStore {
        let inner = &self.inner;
        RedisStore {
            inner: Arc::new(Inner {
                connection: inner.connection.clone(),
                clock: Arc::new(clock),
                prefix: inner.prefix.clone(),
                timeout: inner.timeout,
                errors: AtomicU64::new(0),
                calls: AtomicU64::new(0),
                last_error: std::sync::Mutex::new(None),
            }),
        }
    }

    /// Counters and the last failure.
    #[must_use]
    pub fn health(&self) -> StoreHealth {
        StoreHealth {
            calls: self.inner.calls.load(Ordering::Relaxed),
            errors: self.inner.errors.load(Ordering::Relaxed),
            last_error: self
                .inner
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// Whether Redis answers `PING` now.
    ///
    /// # Errors
    /// [`StoreUnavailable`] when it does not within the timeout.
    pub async fn ping(&self) -> Result<(), StoreUnavailable> {
        let inner = Arc::clone(&self.inner);
        inner
            .run(|mut connection| async move {
                redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
                    .map(drop)
            })
            .await
    }

    /// DPoP nonces shared by every instance: the HMAC secret is made once, stored in Redis
    /// (`SET NX`, kept 30 days and renewed at each start) and read by every instance at start.
    ///
    /// # Errors
    /// [`StoreUnavailable`] when Redis cannot be reached.
    pub async fn dpop_nonces(&self, period: Duration) -> Result<DpopNonces, StoreUnavailable> {
        let key = format!("{}:dpop-nonce-secret", self.inner.prefix);
        let mut fresh = [0u8; 32];
        aws_lc_rs::rand::fill(&mut fresh).map_err(|_| StoreUnavailable)?;
        let inner = Arc::clone(&self.inner);
        let secret: Vec<u8> = inner
            .run(|mut connection| async move {
                let ttl = 30 * 24 * 3600;
                let _: Option<String> = redis::cmd("SET")
                    .arg(&key)
                    .arg(&fresh[..])
                    .arg("NX")
                    .arg("EX")
                    .arg(ttl)
                    .query_async(&mut connection)
                    .await?;
                let secret: Vec<u8> = connection.get(&key).await?;
                let _: bool = connection.expire(&key, ttl).await?;
                Ok(secret)
            })
            .await?;
        DpopNonces::new(secret, period).map_err(|_| StoreUnavailable)
    }
}

impl Inner {
    /// Runs one Redis exchange within the timeout, counting failures.
    async fn run<T, F, Fut>(&self, exchange: F) -> Result<T, StoreUnavailable>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let outcome = tokio::time::timeout(self.timeout, exchange(self.connection.clone())).await;
        let message = match outcome {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => format!("redis: {:?}", error.kind()),
            Err(_) => "redis: the call took longer than the timeout".to_owned(),
        };
        self.errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(target: "tokengate::redis", error = %message, "shared store call failed");
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
        Err(StoreUnavailable)
    }

    /// `prefix:kind:hex(SHA-256(parts joined by NUL))`.
    fn key(&self, kind: &str, parts: &[&[u8]]) -> String {
        let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                context.update(&[0]);
            }
            context.update(part);
        }
        let digest = context.finish();
        let mut key = String::with_capacity(self.prefix.len() + kind.len() + 66);
        key.push_str(&self.prefix);
        key.push(':');
        key.push_str(kind);
        key.push(':');
        for byte in digest.as_ref() {
            key.push_str(&format!("{byte:02x}"));
        }
        key
    }
}

impl ReplayStore for RedisStore {
    fn record(&self, key: [u8; 32], expires_at: u64, now: u64) -> Recorded {
        let inner = Arc::clone(&self.inner);
        let ttl = replay_ttl(expires_at, now);
        Recorded::Later(Box::pin(async move {
            let key = inner.key("dpop", &[&key]);
            let set = inner
                .run(|mut connection| async move {
                    record_command(&key, ttl)
                        .query_async::<Option<String>>(&mut connection)
                        .await
                })
                .await?;
            Ok(if set.is_some() {
                FirstUse::Yes
            } else {
                FirstUse::Replayed
            })
        }))
    }
}

/// Keeps the latest cut-off of a subject (`ARGV[1]`) for `ARGV[2]` seconds, unless a later
/// cut-off is stored; never shortens the key's expiry. Relative expiries only (`EX`, `TTL`):
/// no absolute time computed on the service's clock is judged by Redis's.
const REVOKE_SUBJECT: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = tonumber(ARGV[2])
local left = redis.call('TTL', KEYS[1])
if left > ttl then ttl = left end
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
elseif left >= 0 and left < ttl then
  redis.call('EXPIRE', KEYS[1], ttl)
end
return 1
";

/// Marks a `jti` revoked for `ARGV[1]` seconds; a second revocation never shortens the first
/// (a shorter `--until` keeps the longer expiry).
const REVOKE_JTI: &str = r"
local ttl = tonumber(ARGV[1])
local left = redis.call('TTL', KEYS[1])
if left == -2 or (left >= 0 and left < ttl) then
  redis.call('SET', KEYS[1], 1, 'EX', ttl)
end
return 1
";

/// How much longer than its proof's window a used-proof record is kept: instances whose
/// clocks differ by up to this much still see each other's records (`docs/security.md`,
/// "Time").
pub const REPLAY_SKEW_MARGIN: Duration = Duration::from_secs(60);

/// Seconds a revocation entry kept "until `until`" must still live at `now`: the token's
/// remaining lifetime plus the largest leeway; `None` when it is over already.
fn revocation_ttl(until: u64, now: u64) -> Option<u64> {
    let ttl = until
        .saturating_add(MAX_LEEWAY.as_secs())
        .saturating_sub(now);
    (ttl > 0).then_some(ttl)
}

/// Seconds a used proof's record must live: its remaining window plus the skew margin;
/// never zero or less (an expiry in Redis's past would store nothing at all).
fn replay_ttl(expires_at: u64, now: u64) -> u64 {
    expires_at
        .saturating_sub(now)
        .saturating_add(REPLAY_SKEW_MARGIN.as_secs())
        .max(1)
}

/// The keys a revocation check reads (the jti's, then the subject's), and the token's `iat`.
struct RevocationKeys {
    jti: Option<String>,
    subject: Option<String>,
    issued_at: Option<u64>,
}

impl RevocationKeys {
    fn new(inner: &Inner, token: &TokenIdentity<'_>) -> RevocationKeys {
        let issuer = token.issuer.as_bytes();
        RevocationKeys {
            jti: token
                .jti
                .map(|jti| inner.key("revoked-jti", &[issuer, jti.as_bytes()])),
            subject: token
                .subject
                .map(|sub| inner.key("revoked-sub", &[issuer, sub.as_bytes()])),
            issued_at: token.issued_at,
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.jti
            .iter()
            .chain(&self.subject)
            .map(String::as_str)
            .collect()
    }

    /// The status from `MGET`'s values, in the order of [`keys`](Self::keys).
    fn judge(&self, values: Vec<Option<u64>>) -> RevocationStatus {
        let mut values = values.into_iter();
        if self.jti.is_some() && values.next().flatten().is_some() {
            return RevocationStatus::Revoked;
        }
        // Without `iat` a token cannot show it was issued after the cut-off.
        let cut_off = if self.subject.is_some() {
            values.next().flatten()
        } else {
            None
        };
        if cut_off.is_some_and(|before| self.issued_at.is_none_or(|iat| iat < before)) {
            return RevocationStatus::Revoked;
        }
        RevocationStatus::Valid
    }
}

/// `SET key 1 NX EX ttl`: recorded (`OK`) only if absent, for `ttl` seconds from Redis's now.
fn record_command(key: &str, ttl: u64) -> redis::Cmd {
    let mut command = redis::cmd("SET");
    command.arg(key).arg(1).arg("NX").arg("EX").arg(ttl);
    command
}

impl RevocationList for RedisStore {
    fn status(&self, token: &TokenIdentity<'_>, _now: u64) -> Lookup {
        let inner = Arc::clone(&self.inner);
        let revocation = RevocationKeys::new(&inner, token);
        Lookup::Later(Box::pin(async move {
            // One round trip for both questions.
            let keys = revocation.keys();
            if keys.is_empty() {
                return Ok(RevocationStatus::Valid);
            }
            let values: Vec<Option<u64>> = inner
                .run(|mut connection| async move {
                    redis::cmd("MGET")
                        .arg(&keys)
                        .query_async(&mut connection)
                        .await
                })
                .await?;
            Ok(revocation.judge(values))
        }))
    }

    fn revoke_jti(&self, issuer: &str, jti: &str, until: u64) -> StoreWrite {
        let inner = Arc::clone(&self.inner);
        let key = inner.key("revoked-jti", &[issuer.as_bytes(), jti.as_bytes()]);
        let Some(ttl) = revocation_ttl(until, inner.clock.now_unix()) else {
            // The token and its leeway are over: nothing could use it any more.
            return Box::pin(std::future::ready(Ok(())));
        };
        Box::pin(async move {
            inner
                .run(|mut connection| async move {
                    redis::Script::new(REVOKE_JTI)
                        .key(&key)
                        .arg(ttl)
                        .invoke_async::<i64>(&mut connection)
                        .await
                        .map(drop)
                })
                .await
        })
    }

    fn revoke_subject(
        &self,
        issuer: &str,
        subject: &str,
        issued_before: u64,
        until: u64,
    ) -> StoreWrite {
        let inner = Arc::clone(&self.inner);
        let key = inner.key("revoked-sub", &[issuer.as_bytes(), subject.as_bytes()]);
        let Some(ttl) = revocation_ttl(until, inner.clock.now_unix()) else {
            return Box::pin(std::future::ready(Ok(())));
        };
        Box::pin(async move {
            inner
                .run(|mut connection| async move {
                    redis::Script::new(REVOKE_SUBJECT)
                        .key(&key)
                        .arg(issued_before)
                        .arg(ttl)
                        .invoke_async::<i64>(&mut connection)
                        .await
                        .map(drop)
                })
                .await
        })
    }
}

/// Revocation and replay in one pipeline: `MGET` of the revocation keys and `SET NX EX` of
/// the proof, written together and answered in one round trip.
impl SharedStore for RedisStore {
    fn status_and_record(
        &self,
        token: &TokenIdentity<'_>,
        proof: Option<ProofUse>,
        now: u64,
    ) -> SharedLookup {
        let inner = Arc::clone(&self.inner);
        let revocation = RevocationKeys::new(&inner, token);
        let proof = proof.map(|proof| {
            (
                inner.key("dpop", &[&proof.key]),
                replay_ttl(proof.expires_at, now),
            )
        });
        SharedLookup::Later(Box::pin(async move {
            let keys = revocation.keys();
            let mut pipe = redis::pipe();
            if !keys.is_empty() {
                pipe.cmd("MGET").arg(&keys);
            }
            if let Some((key, ttl)) = &proof {
                pipe.add_command(record_command(key, *ttl));
            }
            let answers: Vec<redis::Value> = if keys.is_empty() && proof.is_none() {
                Vec::new()
            } else {
                match inner
                    .run(|mut connection| async move { pipe.query_async(&mut connection).await })
                    .await
                {
                    Ok(answers) => answers,
                    Err(unavailable) => {
                        return SharedAnswer {
                            revocation: Err(unavailable),
                            replay: proof.map(|_| Err(unavailable)),
                        };
                    }
                }
            };
            let mut answers = answers.into_iter();
            let revocation = if keys.is_empty() {
                Ok(RevocationStatus::Valid)
            } else {
                answers
                    .next()
                    .and_then(|values| redis::from_redis_value(values).ok())
                    .map(|values| revocation.judge(values))
                    .ok_or(StoreUnavailable)
            };
            let replay = proof.map(|_| {
                answers
                    .next()
                    .and_then(|set| redis::from_redis_value::<Option<String>>(set).ok())
                    .map(|set| {
                        if set.is_some() {
                            FirstUse::Yes
                        } else {
                            FirstUse::Replayed
                        }
                    })
                    .ok_or(StoreUnavailable)
            });
            SharedAnswer { revocation, replay }
        }))
    }
}

impl IntrospectionCache for RedisStore {
    fn get(&self, issuer: &str, token_hash: [u8; 32]) -> StoreRead {
        let inner = Arc::clone(&self.inner);
        let key = inner.key("introspection", &[issuer.as_bytes(), &token_hash]);
        Box::pin(async move {
            // The value and how much longer Redis keeps it, in one round trip.
            let (value, left): (Option<Vec<u8>>, i64) = inner
                .run(|mut connection| async move {
                    redis::pipe()
                        .cmd("GET")
                        .arg(&key)
                        .cmd("PTTL")
                        .arg(&key)
                        .query_async(&mut connection)
                        .await
                })
                .await?;
            // A key without an expiry (-1) was not written by tokengate: not trusted.
            Ok(value
                .zip(u64::try_from(left).ok())
                .map(|(value, left)| StoredValue::new(value, Duration::from_millis(left))))
        })
    }

    fn put(
        &self,
        issuer: &str,
        token_hash: [u8; 32],
        response: Vec<u8>,
        ttl: Duration,
    ) -> StoreWrite {
        let inner = Arc::clone(&self.inner);
        let key = inner.key("introspection", &[issuer.as_bytes(), &token_hash]);
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        Box::pin(async move {
            inner
                .run(|mut connection| async move {
                    connection.pset_ex::<_, _, ()>(&key, response, millis).await
                })
                .await
        })
    }
}
