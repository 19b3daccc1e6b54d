//! Opaque tokens, in one run:
//! - `hit`: `try_verify` of an opaque token answered from the introspection cache (SHA-256 of
//!   the token included);
//! - `jwt_cache_hit`: `try_verify` of a signed token answered from the token cache — the bar
//!   an introspection hit must not exceed;
//! - `miss`: `verify` of a new opaque token: one RFC 7662 call to the testkit's endpoint on
//!   loopback (HTTP/1.1, new connection pooled by reqwest), strict parsing and checks.
//!
//! Run: `cargo bench -p tokengate --bench introspection`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tokengate::{
    Issuer, KeySource, StandardClaims, Verifier, cache::TokenCache, introspection::Introspection,
};
use tokengate_testkit::fixture::verified_now;
use tokengate_testkit::{
    INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, IssuerServer, claims_for,
};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(IssuerServer::start());
    let audience = "api";
    let claims = claims_for(&server.issuer(), audience);
    let introspecting = Verifier::builder()
        .issuer(
            Issuer::new(server.issuer())
                .audience(audience)
                .keys(KeySource::jwks_url(server.jwks_url()))
                .introspection(
                    Introspection::endpoint(server.introspection_url())
                        .client_secret_basic(INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET),
                ),
        )
        .build()
        .unwrap();
    let caching = Verifier::builder()
        .issuer(
            Issuer::new(server.issuer())
                .audience(audience)
                .keys(KeySource::jwks_json(tokengate_testkit::jwks(&[
                    &server.signing_key()
                ]))),
        )
        .cache(TokenCache::new())
        .build()
        .unwrap();
    let opaque = server.issue_opaque(&claims);
    let jwt = server.mint(&claims);
    runtime
        .block_on(introspecting.verify::<StandardClaims>(&opaque))
        .unwrap();
    let _ = verified_now::<StandardClaims>(&caching, &jwt);

    let mut group = c.benchmark_group("introspection");
    group.bench_function("hit", |b| {
        b.iter(|| verified_now::<StandardClaims>(&introspecting, black_box(&opaque)))
    });
    group.bench_function("jwt_cache_hit", |b| {
        b.iter(|| verified_now::<StandardClaims>(&caching, black_box(&jwt)))
    });
    group.bench_function("miss", |b| {
        b.iter_batched(
            || server.issue_opaque(&claims),
            |token| {
                runtime
                    .block_on(introspecting.verify::<StandardClaims>(black_box(&token)))
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
