//! The verified-token cache, in one run, for a ~1 KiB RS256 token:
//! - `hit`: `try_verify` answered from the cache (SHA-256 of the token included);
//! - `no_cache`: `try_verify` of the same token without a cache (full verification);
//! - `sha256`: hashing the token alone;
//!
//! and, as `cache_small`, the same `hit` and `sha256` for a 0.3 KB HS256 token read into a
//! five-field claims type (the performance issue's case; its instruction counts are
//! `cache/*` in `instructions.rs`).
//!
//! Run: `cargo bench -p tokengate --bench cache`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use tokengate::{Algorithm, Issuer, KeySource, StandardClaims, Verifier, cache::TokenCache};
use tokengate_testkit::fixture::verified_now;
use tokengate_testkit::{TestKey, claims_for, jwks};

fn bench(c: &mut Criterion) {
    let key = TestKey::generate(Algorithm::RS256).with_kid("bench-key");
    let mut claims = claims_for("https://issuer.bench/", "api");
    claims["exp"] = json!(tokengate_testkit::now() + 24 * 3600);
    claims["groups"] = json!(["engineering", "on-call", "platform", "admins-read-only"]);
    claims["name"] = json!("Alice Example");
    claims["tenant"] = json!("7f1c0d4e-0000-4000-8000-000000000000");
    let token = key.mint(&claims);
    assert!(
        (900..1200).contains(&token.len()),
        "token is {} bytes",
        token.len()
    );
    let build = |cache: bool| {
        let mut builder = Verifier::builder().issuer(
            Issuer::new("https://issuer.bench/")
                .audience("api")
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        );
        if cache {
            builder = builder.cache(TokenCache::new());
        }
        builder.build().unwrap()
    };
    let (cached, plain) = (build(true), build(false));
    let _ = verified_now::<StandardClaims>(&cached, &token);

    let mut group = c.benchmark_group("cache");
    group.bench_function("hit", |b| {
        b.iter(|| verified_now::<StandardClaims>(&cached, black_box(&token)))
    });
    group.bench_function("no_cache", |b| {
        b.iter(|| verified_now::<StandardClaims>(&plain, black_box(&token)))
    });
    group.bench_function("sha256", |b| {
        b.iter(|| {
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, black_box(token.as_bytes()))
        })
    });
    group.finish();
    assert!(cached.cache_stats().unwrap().hits > 0);

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Five {
        sub: String,
        client_id: String,
        scope: String,
        exp: u64,
        iat: u64,
    }
    let hmac = TestKey::generate(Algorithm::HS256).with_kid("bench-key");
    let small = hmac.mint(&json!({
        "iss": "https://issuer.bench/", "sub": "user-0000000", "aud": "api",
        "exp": tokengate_testkit::now() + 3600, "iat": tokengate_testkit::now(),
        "client_id": "bench-client", "scope": "messages:read messages:write",
    }));
    assert!((280..360).contains(&small.len()), "{} bytes", small.len());
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new("https://issuer.bench/")
                .audience("api")
                .algorithms([Algorithm::HS256])
                .keys(KeySource::jwks_json(jwks(&[&hmac]))),
        )
        .cache(TokenCache::new())
        .build()
        .unwrap();
    let _ = verified_now::<Five>(&verifier, &small);
    let mut group = c.benchmark_group("cache_small");
    group.bench_function("hit", |b| {
        b.iter(|| verified_now::<Five>(&verifier, black_box(&small)))
    });
    group.bench_function("sha256", |b| {
        b.iter(|| {
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, black_box(small.as_bytes()))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
