//! The actix-web middleware's own cost per request beyond `verify`, in one run: an app without
//! the middleware, the same app wrapped in `Auth` (valid HS256 token, `StandardClaims`),
//! and `Verifier::try_verify` alone. Overhead = `middleware − no_middleware − verify`.
//!
//! Run: `cargo bench -p tokengate-actix --bench middleware`.

use std::hint::black_box;

use actix_web::{App, test, web};
use criterion::{Criterion, criterion_group, criterion_main};
use tokengate::StandardClaims;
use tokengate_actix::Auth;
use tokengate_testkit::fixture::{Fixture, interleaved_difference, verified_now};

fn bench(c: &mut Criterion) {
    let Fixture {
        verifier,
        token,
        bearer,
        ..
    } = Fixture::hs256();
    let runtime = actix_web::rt::Runtime::new().unwrap();
    let plain = runtime.block_on(test::init_service(
        App::new().route("/me", web::get().to(|| async { "ok" })),
    ));
    let guarded = runtime.block_on(test::init_service(
        App::new()
            .wrap(Auth::new(verifier.clone()))
            .route("/me", web::get().to(|| async { "ok" })),
    ));
    let request = || {
        test::TestRequest::get()
            .uri("/me")
            .insert_header(("authorization", bearer.as_str()))
            .to_request()
    };
    assert_eq!(
        runtime
            .block_on(test::call_service(&guarded, request()))
            .status(),
        200
    );

    let mut group = c.benchmark_group("actix");
    group.bench_function("no_middleware", |b| {
        b.iter(|| runtime.block_on(test::call_service(&plain, black_box(request()))))
    });
    group.bench_function("middleware", |b| {
        b.iter(|| runtime.block_on(test::call_service(&guarded, black_box(request()))))
    });
    group.bench_function("verify", |b| {
        b.iter(|| verified_now::<StandardClaims>(&verifier, black_box(&token)))
    });
    // The middleware's own cost directly: `middleware − (no_middleware + verify)`, interleaved
    // per iteration.
    group.bench_function("own_cost", |b| {
        b.iter_custom(|iters| {
            interleaved_difference(
                iters,
                || drop(runtime.block_on(test::call_service(&guarded, black_box(request())))),
                || {
                    drop(runtime.block_on(test::call_service(&plain, black_box(request()))));
                    drop(verified_now::<StandardClaims>(&verifier, black_box(&token)));
                },
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
