//! Where the service's clock meets Redis's (`docs/security.md`, "Time"), against a real
//! `redis-server`: every expiry is relative, so no skew between the instances and Redis
//! shortens a record, and revocation entries outlive their token by the largest leeway.

use tokengate::clock::{FixedClock, MAX_LEEWAY};
use tokengate::{store::FirstUse, store::Recorded, store::ReplayStore, store::RevocationList};
use tokengate_redis::{REPLAY_SKEW_MARGIN, RedisStore};
use tokengate_testkit::now;
use tokengate_testkit::redis_server::RedisServer;

async fn record(store: &RedisStore, key: [u8; 32], expires_at: u64, now: u64) -> FirstUse {
    match store.record(key, expires_at, now) {
        Recorded::Now(result) => result.unwrap(),
        Recorded::Later(answer) => answer.await.unwrap(),
    }
}

/// Every key's remaining seconds, by Redis's clock.
async fn ttls(redis: &RedisServer) -> Vec<(String, i64)> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .unwrap();
    let mut out = Vec::new();
    for key in keys {
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .unwrap();
        out.push((key, ttl));
    }
    out
}

async fn flush(redis: &RedisServer) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("FLUSHALL")
        .query_async(&mut connection)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_records_live_their_window_whatever_the_services_clock_says() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let store = RedisStore::open(&redis.url()).unwrap();
    let window = 61;
    let margin = REPLAY_SKEW_MARGIN.as_secs() as i64;
    // A service 30 s behind Redis, one 20 s ahead, and one two minutes behind: with
    // `EXAT iat + window` computed on its clock, the first kept a proof 31 s instead of 61
    // (and admitted it again), the last stored nothing at all (an expiry in Redis's past).
    for (n, skew) in [-30_i64, 20, -120].into_iter().enumerate() {
        flush(&redis).await;
        let service_now = now().saturating_add_signed(skew);
        let key = [n as u8 + 1; 32];
        let expires_at = service_now + window;
        assert_eq!(
            record(&store, key, expires_at, service_now).await,
            FirstUse::Yes
        );
        assert_eq!(
            record(&store, key, expires_at, service_now).await,
            FirstUse::Replayed,
            "skew {skew}: the proof was stored"
        );
        let kept = ttls(&redis).await;
        assert_eq!(kept.len(), 1);
        let ttl = kept[0].1;
        assert!(
            ttl >= window as i64 + margin - 2 && ttl <= window as i64 + margin,
            "skew {skew}: kept {ttl} s, not the window plus the margin"
        );
    }
    // A proof whose window is over by the service's clock is still kept a little (never an
    // expiry of zero or less).
    flush(&redis).await;
    let service_now = now();
    assert_eq!(
        record(&store, [9; 32], service_now - 5, service_now).await,
        FirstUse::Yes
    );
    assert!(ttls(&redis).await[0].1 > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_outlive_the_token_by_the_leeway_and_never_shrink() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    // The store's clock is 30 s behind Redis's: the expiry is relative to it all the same.
    let service_now = now() - 30;
    let store = RedisStore::open(&redis.url())
        .unwrap()
        .with_clock(FixedClock::at(service_now));
    let leeway = MAX_LEEWAY.as_secs() as i64;
    store
        .revoke_jti("https://issuer.test/", "j-1", service_now + 600)
        .await
        .unwrap();
    // A second revocation with an earlier `until` (a shorter `revoke --until`) keeps the
    // longer one: before, it overwrote it and un-revoked the token early.
    store
        .revoke_jti("https://issuer.test/", "j-1", service_now + 10)
        .await
        .unwrap();
    store
        .revoke_subject(
            "https://issuer.test/",
            "alice",
            service_now,
            service_now + 600,
        )
        .await
        .unwrap();
    store
        .revoke_subject(
            "https://issuer.test/",
            "alice",
            service_now + 5,
            service_now + 10,
        )
        .await
        .unwrap();
    let kept = ttls(&redis).await;
    assert_eq!(kept.len(), 2);
    for (key, ttl) in &kept {
        assert!(
            *ttl >= 600 + leeway - 2 && *ttl <= 600 + leeway,
            "{key}: kept {ttl} s, not exp plus the largest leeway"
        );
    }
    // The later cut-off replaced the earlier one (the value), the expiry stayed the longer.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let subject_key = kept
        .iter()
        .find(|(key, _)| key.contains("revoked-sub"))
        .unwrap()
        .0
        .clone();
    let before: u64 = redis::cmd("GET")
        .arg(&subject_key)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(before, service_now + 5);
    // A revocation whose token and leeway are over stores nothing.
    flush(&redis).await;
    store
        .revoke_jti(
            "https://issuer.test/",
            "j-old",
            service_now - MAX_LEEWAY.as_secs() - 1,
        )
        .await
        .unwrap();
    assert!(ttls(&redis).await.is_empty());
}
