//! The warp filter's own cost per request beyond `verify`, in one run: a route without the
//! filter, the same route with `tokengate_warp::claims` (valid HS256 token, `StandardClaims`),
//! and `Verifier::verify_if_ready` alone. Overhead = `filter − no_filter − verify`.
//!
//! Run: `cargo bench -p tokengate-warp --bench filter`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tokengate::StandardClaims;
use tokengate_testkit::{TestKey, claims_for};
use tokengate_warp::{Algorithm, Issuer, KeySource, Verified, Verifier};
use warp::Filter;

fn bench(c: &mut Criterion) {
    let key = TestKey::generate(Algorithm::HS256);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new("https://issuer.bench/")
                .audience("api")
                .algorithms([Algorithm::HS256])
                .keys(KeySource::secret(key.secret().unwrap())),
        )
        .build()
        .unwrap();
    let mut claims = claims_for("https://issuer.bench/", "api");
    claims["exp"] = serde_json::json!(tokengate_testkit::now() + 24 * 3600);
    let token = key.mint(&claims);
    let bearer = format!("Bearer {token}");
    let plain = warp::path!("me").map(|| "ok");
    let guarded = warp::path!("me")
        .and(tokengate_warp::claims::<StandardClaims>(verifier.clone()))
        .map(|_: Verified<StandardClaims>| "ok");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let request = || {
        warp::test::request()
            .path("/me")
            .header("authorization", &bearer)
    };

    let mut group = c.benchmark_group("warp");
    group.bench_function("no_filter", |b| {
        b.iter(|| runtime.block_on(request().filter(&plain)).unwrap())
    });
    group.bench_function("filter", |b| {
        b.iter(|| runtime.block_on(request().filter(&guarded)).unwrap())
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            verifier
                .verify_if_ready::<StandardClaims>(black_box(&token))
                .unwrap()
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
