//! The verified-token cache: one test per rule.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;
use tokengate::clock::FixedClock;
use tokengate::{
    Algorithm, ErrorKind, Issuer, KeySource, Requirement, StandardClaims, Verifier,
    cache::TokenCache,
};
use tokengate_testkit::{IssuerServer, NOW, TestKey, claims_at};

fn cached(key: &TestKey, clock: &FixedClock, cache: TokenCache) -> Verifier {
    Verifier::builder()
        .issuer(issuer_for(key))
        .clock(clock.clone())
        .cache(cache)
        .build()
        .unwrap()
}

fn check(
    verifier: &Verifier,
    token: &str,
) -> Result<tokengate::Verified<StandardClaims>, ErrorKind> {
    match verifier.try_verify::<StandardClaims>(token) {
        tokengate::verifier::Attempt::Done(result) => result.map_err(|e| e.kind()),
        tokengate::verifier::Attempt::NeedsIo(_) => panic!("static keys are ready"),
    }
}

#[test]
fn a_repeated_token_is_answered_from_the_cache() {
    let key = key(Algorithm::ES256);
    let clock = FixedClock::at(NOW);
    let verifier = cached(&key, &clock, TokenCache::new());
    let token = key.mint(&claims());
    let first = check(&verifier, &token).unwrap();
    let second = check(&verifier, &token).unwrap();
    assert_eq!(first.subject(), second.subject());
    let stats = verifier.cache_stats().unwrap();
    assert_eq!((stats.hits, stats.misses, stats.entries), (1, 1, 1));
    // Another claims type is its own entry.
    let _ = tokengate_testkit::fixture::verified_now::<serde_json::Value>(&verifier, &token);
    assert_eq!(verifier.cache_stats().unwrap().entries, 2);
    // Without a cache configured, the same calls simply verify.
    assert!(check(&verifier_for(&key), &token).is_ok());
    assert!(verifier_for(&key).cache_stats().is_none());
}

#[test]
fn a_hit_shares_the_cached_claims_and_needs_no_clone() {
    /// Not `Clone`: the cache and every hit share one value.
    #[derive(serde::Deserialize)]
    struct Subject {
        sub: String,
    }
    let key = key(Algorithm::ES256);
    let clock = FixedClock::at(NOW);
    let verifier = cached(&key, &clock, TokenCache::new());
    let token = key.mint(&claims());
    let verify = || match verifier.try_verify::<Subject>(&token) {
        tokengate::verifier::Attempt::Done(result) => result.unwrap(),
        tokengate::verifier::Attempt::NeedsIo(_) => panic!("static keys are ready"),
    };
    let (first, second) = (verify(), verify());
    assert!(
        std::sync::Arc::ptr_eq(&first.claims, &second.claims),
        "a hit hands out the cached claims, not a copy"
    );
    assert_eq!(second.claims.sub, "alice");
    assert_eq!(verifier.cache_stats().unwrap().hits, 1);
}

#[test]
fn failures_are_never_cached() {
    let key = key(Algorithm::ES256);
    let clock = FixedClock::at(NOW);
    let verifier = cached(&key, &clock, TokenCache::new());
    let forged = TestKey::generate(Algorithm::ES256)
        .with_kid(key.kid())
        .mint(&claims());
    for _ in 0..3 {
        assert_eq!(
            check(&verifier, &forged).unwrap_err(),
            ErrorKind::InvalidSignature
        );
    }
    let stats = verifier.cache_stats().unwrap();
    assert_eq!((stats.hits, stats.entries), (0, 0));
}

#[test]
fn an_entry_lives_until_the_tokens_exp_and_the_maximum_age() {
    let key = key(Algorithm::ES256);
    let clock = FixedClock::at(NOW);
    let verifier = Verifier::builder()
        .issuer(issuer_for(&key))
        .clock(clock.clone())
        .leeway(Duration::ZERO)
        .cache(TokenCache::new().max_age(Duration::from_secs(30)))
        .build()
        .unwrap();
    let token = key.mint(&claims()); // exp = NOW + 300
    check(&verifier, &token).unwrap();
    clock.advance(Duration::from_secs(29));
    check(&verifier, &token).unwrap();
    assert_eq!(verifier.cache_stats().unwrap().hits, 1);
    clock.advance(Duration::from_secs(1)); // the maximum age: verified again
    check(&verifier, &token).unwrap();
    assert_eq!(verifier.cache_stats().unwrap().hits, 1);
    // Never past exp, even inside the maximum age: the full path answers `expired`.
    clock.set(NOW + 290);
    check(&verifier, &token).unwrap();
    clock.set(NOW + 300);
    assert_eq!(check(&verifier, &token).unwrap_err(), ErrorKind::Expired);
}

#[test]
fn scopes_are_checked_on_every_hit() {
    let key = key(Algorithm::ES256);
    let clock = FixedClock::at(NOW);
    let verifier = cached(&key, &clock, TokenCache::new());
    let token = key.mint(&claims_with(json!({"scope": "openid"})));
    for _ in 0..2 {
        let verified = check(&verifier, &token).unwrap();
        let error = verified
            .require(&Requirement::all(["messages:read"]))
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InsufficientScope);
    }
    assert_eq!(verifier.cache_stats().unwrap().hits, 1);
}

#[test]
fn the_cache_is_bounded_by_entries() {
    let key = key(Algorithm::HS256);
    let clock = FixedClock::at(NOW);
    let verifier = cached(
        &key,
        &clock,
        TokenCache::new().max_entries(3).max_bytes(1 << 20),
    );
    for i in 0..20 {
        check(
            &verifier,
            &key.mint(&claims_with(json!({"jti": format!("t{i}")}))),
        )
        .unwrap();
    }
    assert!(verifier.cache_stats().unwrap().entries <= 3);
}

#[test]
fn the_cache_is_bounded_by_bytes() {
    let key = key(Algorithm::HS256);
    let clock = FixedClock::at(NOW);
    let verifier = cached(
        &key,
        &clock,
        TokenCache::new().max_entries(1_000).max_bytes(8 * 1024),
    );
    let padding = "x".repeat(3000);
    for i in 0..20 {
        check(
            &verifier,
            &key.mint(&claims_with(
                json!({"jti": format!("t{i}"), "padding": padding}),
            )),
        )
        .unwrap();
    }
    let entries = verifier.cache_stats().unwrap().entries;
    assert!(
        (1..=2).contains(&entries),
        "{entries} entries of ~4 KiB in 8 KiB"
    );
}

#[test]
fn concurrent_readers_share_the_cache() {
    let key = key(Algorithm::ES256);
    let clock = FixedClock::at(NOW);
    let verifier = cached(&key, &clock, TokenCache::new());
    let token = key.mint(&claims());
    check(&verifier, &token).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..1000 {
                    assert_eq!(check(&verifier, &token).unwrap().subject(), Some("alice"));
                }
            });
        }
    });
    assert_eq!(verifier.cache_stats().unwrap().hits, 4000);
}

#[test]
fn invalid_settings_are_refused() {
    let key = key(Algorithm::ES256);
    for cache in [
        TokenCache::new().max_entries(0),
        TokenCache::new().max_bytes(0),
        TokenCache::new().max_age(Duration::ZERO),
    ] {
        let error = Verifier::builder()
            .issuer(issuer_for(&key))
            .cache(cache)
            .build()
            .unwrap_err();
        assert_eq!(
            error.kind(),
            tokengate::error::ConfigErrorKind::InvalidSetting
        );
    }
}

#[tokio::test]
async fn a_key_set_change_ends_the_cached_entries_of_its_issuer() {
    let server = IssuerServer::start().await;
    let clock = FixedClock::at(NOW);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(server.issuer())
                .audience(AUD)
                .keys(KeySource::jwks_url(server.jwks_url())),
        )
        .clock(clock.clone())
        .cache(TokenCache::new())
        .build()
        .unwrap();
    let old = server.signing_key();
    let token = old.mint(&claims_at(&server.issuer(), AUD, NOW));
    verifier.verify::<StandardClaims>(&token).await.unwrap();
    // The first verification waited for the keys: one miss, counted once.
    let stats = verifier.cache_stats().unwrap();
    assert_eq!((stats.hits, stats.misses, stats.entries), (0, 1, 1));
    verifier.verify::<StandardClaims>(&token).await.unwrap();
    assert_eq!(verifier.cache_stats().unwrap().hits, 1);
    // Rotation retires the old key; a token of the new key makes the verifier refetch.
    let fresh = server.rotate();
    let new_token = fresh.mint(&claims_at(&server.issuer(), AUD, NOW));
    verifier.verify::<StandardClaims>(&new_token).await.unwrap();
    // The old token is no longer served from the cache: its key is gone.
    let error = verifier.verify::<StandardClaims>(&token).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UnknownKey);
    assert_eq!(verifier.cache_stats().unwrap().hits, 1);
}
