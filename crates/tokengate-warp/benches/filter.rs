//! The warp filter's own cost per request beyond `verify`, in one run: a route without the
//! filter, the same route with `tokengate_warp::claims` (valid HS256 token, `StandardClaims`),
//! and `Verifier::try_verify` alone. Overhead = `filter − no_filter − verify`.
//!
//! Run: `cargo bench -p tokengate-warp --bench filter`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tokengate::StandardClaims;
use tokengate_testkit::fixture::{Fixture, interleaved_difference, verified_now};
use tokengate_warp::Verified;
use warp::Filter;

fn bench(c: &mut Criterion) {
    let Fixture {
        verifier,
        token,
        bearer,
        ..
    } = Fixture::hs256();
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
    // What `headers_cloned` costs the filter for a browser-like request head.
    let mut head = warp::http::HeaderMap::new();
    for (name, value) in [
        ("host", "api.example.com"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0",
        ),
        ("accept", "application/json"),
        ("accept-encoding", "gzip, deflate, br"),
        ("authorization", bearer.as_str()),
        ("x-request-id", "6c1f7d2e-6c4b-4f5e-9a51-0d2b9c1e7a10"),
    ] {
        head.insert(name, value.parse().unwrap());
    }
    group.bench_function("clone_six_headers", |b| b.iter(|| black_box(&head).clone()));
    group.bench_function("verify", |b| {
        b.iter(|| verified_now::<StandardClaims>(&verifier, black_box(&token)))
    });
    // The filter's own cost directly: `filter − (no_filter + verify)`, interleaved per iteration.
    group.bench_function("own_cost", |b| {
        b.iter_custom(|iters| {
            interleaved_difference(
                iters,
                || {
                    black_box(runtime.block_on(request().filter(&guarded)).unwrap());
                },
                || {
                    black_box(runtime.block_on(request().filter(&plain)).unwrap());
                    drop(verified_now::<StandardClaims>(&verifier, black_box(&token)));
                },
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
