//! Two instances (two verifiers, each with its own connection) sharing one real `redis-server`.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use serde_json::json;
use tokengate::adapter::{Admission, Decision, Policy, RequestView};
use tokengate::{
    Algorithm, Answer, ErrorKind, Issuer, KeySource, StandardClaims, Verified, Verifier,
    dpop::Dpop, introspection::Introspection, introspection::IntrospectionCache, store::FirstUse,
    store::Recorded, store::ReplayStore,
};
use tokengate_redis::RedisStore;
use tokengate_testkit::dpop::DpopKey;
use tokengate_testkit::redis_server::RedisServer;
use tokengate_testkit::{
    INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, IssuerServer, TestKey, jwks, now,
};

const ISS: &str = "https://issuer.test/";
const AUD: &str = "api";
const URL: &str = "http://api.test/me";

fn issuer_key() -> TestKey {
    TestKey::shared(Algorithm::ES256)
}

fn claims(jti: &str) -> serde_json::Value {
    let now = now();
    json!({"iss": ISS, "aud": AUD, "sub": "alice", "iat": now - 10, "exp": now + 600, "jti": jti})
}

/// One instance: its own connection to the shared Redis, as the replay store and the
/// revocation list named one by one.
fn instance(redis: &RedisServer) -> (Verifier, RedisStore) {
    instance_with(redis, false)
}

/// One instance; with `shared`, the store is configured once as both
/// (`VerifierBuilder::shared_store`), which asks both questions in one pipeline.
fn instance_with(redis: &RedisServer, shared: bool) -> (Verifier, RedisStore) {
    let store = RedisStore::open(&redis.url()).unwrap();
    let builder = Verifier::builder().issuer(
        Issuer::new(ISS)
            .audience(AUD)
            .keys(KeySource::jwks_json(jwks(&[&issuer_key()]))),
    );
    let builder = if shared {
        builder.shared_store(store.clone())
    } else {
        builder
            .dpop(Dpop::new().replay_store(store.clone()))
            .revocation(store.clone())
    };
    (builder.build().unwrap(), store)
}

async fn send(
    verifier: &Verifier,
    headers: &HeaderMap,
) -> Result<Verified<StandardClaims>, Answer> {
    let request = RequestView::new("GET", "/me", None, headers);
    let admission = match verifier.decide::<StandardClaims, _>(&request, &Policy::new(), None) {
        Decision::Admit(admission) => admission,
        Decision::Deny(answer) => return Err(answer),
        Decision::Pending(pending) => pending.resolve().await?,
    };
    match admission {
        Admission::Verified(verified) => Ok(verified),
        other => panic!("unexpected admission {other:?}"),
    }
}

/// The store could not answer: 503 with Retry-After and no challenge, never an admission.
#[track_caller]
fn assert_revocation_unavailable(answer: &Answer) {
    assert_eq!(answer.kind(), ErrorKind::RevocationUnavailable);
    assert_eq!(answer.status(), 503);
    assert!(answer.retry_after().is_some());
    assert!(answer.www_authenticate().is_none());
}

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    headers
}

fn dpop(token: &str, proof: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", format!("DPoP {token}").parse().unwrap());
    headers.insert("dpop", proof.parse().unwrap());
    headers.insert("host", "api.test".parse().unwrap());
    headers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_replayed_to_another_instance_is_refused() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    for shared in [false, true] {
        proof_replayed_to_another_instance(&redis, shared).await;
    }
}

async fn proof_replayed_to_another_instance(redis: &RedisServer, shared: bool) {
    let (first, _) = instance_with(redis, shared);
    let (second, _) = instance_with(redis, shared);
    let client = DpopKey::generate(Algorithm::ES256);
    let token = issuer_key().mint(&client.bind(claims("j-dpop")));
    let proof = client.proof("GET", URL, &token);
    assert!(send(&first, &dpop(&token, &proof)).await.is_ok());
    let answer = send(&second, &dpop(&token, &proof)).await.unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::InvalidDpopProof);
    assert_eq!(answer.status(), 401);
    // A fresh proof passes on either.
    let fresh = client.proof("GET", URL, &token);
    assert!(send(&second, &dpop(&token, &fresh)).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_through_one_instance_is_refused_by_the_other() {
    for shared in [false, true] {
        let Some(redis) = RedisServer::start_or_skip() else {
            return;
        };
        token_revoked_through_one_instance(&redis, shared).await;
    }
}

async fn token_revoked_through_one_instance(redis: &RedisServer, shared: bool) {
    let (first, _) = instance_with(redis, shared);
    let (second, _) = instance_with(redis, shared);
    let token = issuer_key().mint(&claims("j-leaked"));
    assert!(send(&second, &bearer(&token)).await.is_ok());
    first
        .revoke_jti(ISS, "j-leaked", now() + 600)
        .await
        .unwrap();
    let answer = send(&second, &bearer(&token)).await.unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::Revoked);
    assert_eq!(answer.status(), 401);
    assert_eq!(
        answer.www_authenticate().unwrap(),
        r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#
    );
    // The token-only API checks revocation too.
    let error = second.verify::<StandardClaims>(&token).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Revoked);

    // Every token of a subject issued before a time.
    let other = issuer_key().mint(&claims("j-other"));
    assert!(send(&second, &bearer(&other)).await.is_ok());
    first
        .revoke_subject_before(ISS, "alice", now(), now() + 600)
        .await
        .unwrap();
    assert_eq!(
        send(&second, &bearer(&other)).await.unwrap_err().kind(),
        ErrorKind::Revoked
    );
    let mut later = claims("j-later");
    later["iat"] = json!(now() + 5);
    let issued_after = issuer_key().mint(&later);
    assert!(send(&second, &bearer(&issued_after)).await.is_ok());
    // Keys hold hashes only.
    let keys: Vec<String> = redis_keys(redis).await;
    assert!(!keys.is_empty());
    for key in &keys {
        assert!(key.starts_with("tokengate:"), "{key}");
        assert!(!key.contains("alice") && !key.contains("j-leaked"), "{key}");
    }
}

async fn redis_keys(redis: &RedisServer) -> Vec<String> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .unwrap();
    for key in &keys {
        let ttl: i64 = redis::cmd("TTL")
            .arg(key)
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!(ttl > 0, "{key} has no expiry");
    }
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_is_called_once_for_two_instances() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let provider = IssuerServer::start().await;
    let introspecting = |store: &RedisStore| {
        Verifier::builder()
            .issuer(
                Issuer::new(provider.issuer())
                    .audience(AUD)
                    .keys(KeySource::jwks_url(provider.jwks_url()))
                    .introspection(
                        Introspection::endpoint(provider.introspection_url())
                            .client_secret_basic(
                                INTROSPECTION_CLIENT_ID,
                                INTROSPECTION_CLIENT_SECRET,
                            )
                            .shared_cache(store.clone()),
                    ),
            )
            .build()
            .unwrap()
    };
    let first_store = RedisStore::open(&redis.url()).unwrap();
    let second_store = RedisStore::open(&redis.url()).unwrap();
    let first = introspecting(&first_store);
    let second = introspecting(&second_store);
    let mut claims = claims("j-opaque");
    claims["iss"] = json!(provider.issuer());
    let token = provider.issue_opaque(&claims);
    assert!(first.verify::<StandardClaims>(&token).await.is_ok());
    assert_eq!(provider.introspection_requests(), 1);
    // The answer is written in the background: wait until it is there (bounded).
    let hash = sha256(&token);
    for _ in 0..200 {
        if matches!(
            second_store.get(&provider.issuer(), hash).await,
            Ok(Some(_))
        ) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let verified = second.verify::<StandardClaims>(&token).await.unwrap();
    assert_eq!(verified.subject(), Some("alice"));
    assert_eq!(
        provider.introspection_requests(),
        1,
        "the second instance used the shared answer"
    );
}

fn sha256(token: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    digest.as_ref().try_into().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_store_answers_revocation_and_replay_in_one_call() {
    let Some(mut redis) = RedisServer::start_or_skip() else {
        return;
    };
    let (verifier, store) = instance_with(&redis, true);
    let (separate, separate_store) = instance(&redis);
    let client = DpopKey::generate(Algorithm::ES256);
    let token = issuer_key().mint(&client.bind(claims("j-one-call")));
    for (verifier, store, calls) in [(&verifier, &store, 1), (&separate, &separate_store, 2)] {
        let before = store.health().calls;
        let proof = client.proof("GET", URL, &token);
        assert!(send(verifier, &dpop(&token, &proof)).await.is_ok());
        assert_eq!(store.health().calls - before, calls);
        // The same proof again: refused as a replay, by the same single call.
        let before = store.health().calls;
        let answer = send(verifier, &dpop(&token, &proof)).await.unwrap_err();
        assert_eq!(answer.kind(), ErrorKind::InvalidDpopProof);
        assert_eq!(answer.status(), 401);
        assert_eq!(store.health().calls - before, calls);
    }
    // A bearer token: the revocation check alone, still one call.
    let plain = issuer_key().mint(&claims("j-plain"));
    let before = store.health().calls;
    assert!(send(&verifier, &bearer(&plain)).await.is_ok());
    assert_eq!(store.health().calls - before, 1);
    // Revoked through the other instance: refused, with the exact answer.
    separate
        .revoke_jti(ISS, "j-one-call", now() + 600)
        .await
        .unwrap();
    let answer = send(&verifier, &dpop(&token, &client.proof("GET", URL, &token)))
        .await
        .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::Revoked);
    assert_eq!(answer.status(), 401);
    // Down: 503 with Retry-After, never admitted; revocation is judged first.
    redis.stop();
    let answer = send(&verifier, &dpop(&token, &client.proof("GET", URL, &token))).await;
    assert_revocation_unavailable(&answer.unwrap_err());
    assert_revocation_unavailable(&send(&verifier, &bearer(&plain)).await.unwrap_err());
    // Naming a second replay store next to the shared one is a configuration error.
    let error = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&issuer_key()]))),
        )
        .dpop(Dpop::new().replay_store(store.clone()))
        .shared_store(store.clone())
        .build()
        .unwrap_err();
    assert_eq!(
        error.kind(),
        tokengate::error::ConfigErrorKind::InvalidSetting
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_closed_and_recovers_when_it_returns() {
    let Some(mut redis) = RedisServer::start_or_skip() else {
        return;
    };
    let (verifier, store) = instance(&redis);
    let client = DpopKey::generate(Algorithm::ES256);
    let token = issuer_key().mint(&client.bind(claims("j-down")));
    assert!(
        send(&verifier, &dpop(&token, &client.proof("GET", URL, &token)))
            .await
            .is_ok()
    );

    redis.stop();
    // Revocation is checked first: 503 with Retry-After, never admitted.
    let answer = send(&verifier, &dpop(&token, &client.proof("GET", URL, &token)))
        .await
        .unwrap_err();
    assert_revocation_unavailable(&answer);
    assert!(verifier.store_errors().revocation >= 1);
    assert!(store.health().errors >= 1);
    // Without a revocation list, the replay check fails closed the same way.
    let replay_only = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&issuer_key()]))),
        )
        .dpop(Dpop::new().replay_store(store.clone()))
        .build()
        .unwrap();
    let answer = send(
        &replay_only,
        &dpop(&token, &client.proof("GET", URL, &token)),
    )
    .await
    .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::ReplayStoreUnavailable);
    assert_eq!(answer.status(), 503);
    // The documented opt-ins admit instead.
    let fail_open = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&issuer_key()]))),
        )
        .dpop(
            Dpop::new()
                .replay_store(store.clone())
                .insecure_replay_fail_open(),
        )
        .revocation(store.clone())
        .insecure_revocation_fail_open()
        .build()
        .unwrap();
    assert!(
        send(&fail_open, &dpop(&token, &client.proof("GET", URL, &token)))
            .await
            .is_ok()
    );

    redis.restart();
    // The connection is re-made on use: wait until Redis answers (bounded), then all is well.
    for _ in 0..100 {
        if store.ping().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        send(&verifier, &dpop(&token, &client.proof("GET", URL, &token)))
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_recording_one_proof_exactly_one_wins() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let stores: Vec<RedisStore> = (0..4)
        .map(|_| RedisStore::open(&redis.url()).unwrap())
        .collect();
    let key = [42u8; 32];
    let until = now() + 120;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = stores[i % stores.len()].clone();
        tasks.push(tokio::spawn(async move {
            match store.record(key, until, now()) {
                Recorded::Now(result) => result,
                Recorded::Later(future) => future.await,
            }
        }));
    }
    let mut first = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() == FirstUse::Yes {
            first += 1;
        }
    }
    assert_eq!(first, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_dpop_nonces_through_redis() {
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let first = RedisStore::open(&redis.url()).unwrap();
    let second = RedisStore::open(&redis.url()).unwrap();
    let period = Duration::from_secs(60);
    let a = Arc::new(first.dpop_nonces(period).await.unwrap());
    let b = second.dpop_nonces(period).await.unwrap();
    use tokengate::dpop::NonceSource;
    let nonce = a.current(now());
    assert!(b.accepts(&nonce, now()));
}

/// An answer read from the shared cache is kept locally no longer than the shared cache keeps
/// it: its age counts from the provider's reply. Before, the local cache re-aged it by its own
/// `max_age`, so a revoked token was admitted for up to twice the documented time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_introspection_answer_is_not_re_aged_by_the_local_cache() {
    use tokengate::clock::FixedClock;
    let Some(redis) = RedisServer::start_or_skip() else {
        return;
    };
    let provider = IssuerServer::start().await;
    let start = now();
    let introspecting = |store: &RedisStore, max_age: u64, clock: FixedClock| {
        Verifier::builder()
            .issuer(
                Issuer::new(provider.issuer())
                    .audience(AUD)
                    .keys(KeySource::jwks_url(provider.jwks_url()))
                    .introspection(
                        Introspection::endpoint(provider.introspection_url())
                            .client_secret_basic(
                                INTROSPECTION_CLIENT_ID,
                                INTROSPECTION_CLIENT_SECRET,
                            )
                            .max_age(Duration::from_secs(max_age))
                            .shared_cache(store.clone()),
                    ),
            )
            .clock(clock)
            .build()
            .unwrap()
    };
    let first_store = RedisStore::open(&redis.url()).unwrap();
    let second_store = RedisStore::open(&redis.url()).unwrap();
    // The first instance answers from the provider and shares it for its max_age, 4 s.
    let first = introspecting(&first_store, 4, FixedClock::at(start));
    // The second keeps answers up to 60 s: a shared answer still lives only its 4 s.
    let second_clock = FixedClock::at(start);
    let second = introspecting(&second_store, 60, second_clock.clone());
    let mut claims = claims("j-opaque-age");
    claims["iss"] = json!(provider.issuer());
    let token = provider.issue_opaque(&claims);
    assert!(first.verify::<StandardClaims>(&token).await.is_ok());
    let hash = sha256(&token);
    for _ in 0..200 {
        if matches!(
            second_store.get(&provider.issuer(), hash).await,
            Ok(Some(_))
        ) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(second.verify::<StandardClaims>(&token).await.is_ok());
    assert_eq!(provider.introspection_requests(), 1, "a shared answer");
    // The token is revoked at the provider; 5 s later the shared answer is gone (deleted
    // here, as its expiry would), and the second instance must ask the provider again.
    provider.revoke(&token);
    second_clock.advance(Duration::from_secs(5));
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("FLUSHALL")
        .query_async(&mut connection)
        .await
        .unwrap();
    let error = second.verify::<StandardClaims>(&token).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InactiveToken);
    assert_eq!(provider.introspection_requests(), 2);
}
