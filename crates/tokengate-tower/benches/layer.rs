//! The layer's own cost per request beyond `verify`, in one run:
//! - `no_layer`: an axum router answering `GET /me` with a static body;
//! - `layer`: the same router behind `AuthLayer` with a valid HS256 token;
//! - `verify`: `Verifier::try_verify` of the same token alone.
//!
//! The layer's overhead is `layer − no_layer − verify`. Run:
//! `cargo bench -p tokengate-tower --bench layer`.

use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use tokengate::StandardClaims;
use tokengate_testkit::fixture::{Fixture, interleaved_difference, poll_once, verified_now};
use tokengate_tower::AuthLayer;
use tower::ServiceExt;

fn bench(c: &mut Criterion) {
    let Fixture {
        verifier,
        token,
        bearer,
        ..
    } = Fixture::hs256();
    let plain: Router = Router::new().route("/me", get(|| async { "ok" }));
    let guarded: Router = Router::new()
        .route("/me", get(|| async { "ok" }))
        .layer(AuthLayer::new(verifier.clone()));
    let request = || {
        Request::get("/me")
            .header("authorization", &bearer)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        poll_once(guarded.clone().oneshot(request()))
            .unwrap()
            .status(),
        200
    );

    let mut group = c.benchmark_group("layer");
    group.bench_function("no_layer", |b| {
        b.iter(|| poll_once(plain.clone().oneshot(black_box(request()))).unwrap())
    });
    group.bench_function("layer", |b| {
        b.iter(|| poll_once(guarded.clone().oneshot(black_box(request()))).unwrap())
    });
    group.bench_function("verify", |b| {
        b.iter(|| verified_now::<StandardClaims>(&verifier, black_box(&token)))
    });
    // The layer's own cost directly: `layer − (no_layer + verify)`, interleaved per iteration.
    group.bench_function("own_cost", |b| {
        b.iter_custom(|iters| {
            interleaved_difference(
                iters,
                || drop(poll_once(guarded.clone().oneshot(black_box(request()))).unwrap()),
                || {
                    drop(poll_once(plain.clone().oneshot(black_box(request()))).unwrap());
                    drop(verified_now::<StandardClaims>(&verifier, black_box(&token)));
                },
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
