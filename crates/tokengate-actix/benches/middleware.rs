//! The actix-web middleware's own cost per request beyond `verify`, in one run: an app without
//! the middleware, the same app wrapped in `TokengateAuth` (valid HS256 token, `StandardClaims`),
//! and `Verifier::verify_if_ready` alone. Overhead = `middleware − no_middleware − verify`.
//!
//! Run: `cargo bench -p tokengate-actix --bench middleware`.

use std::hint::black_box;

use actix_web::{App, test, web};
use criterion::{Criterion, criterion_group, criterion_main};
use tokengate::StandardClaims;
use tokengate_actix::{Algorithm, Issuer, KeySource, TokengateAuth, Verifier};
use tokengate_testkit::{TestKey, claims_for};

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
    let runtime = actix_web::rt::Runtime::new().unwrap();
    let plain = runtime.block_on(test::init_service(
        App::new().route("/me", web::get().to(|| async { "ok" })),
    ));
    let guarded = runtime.block_on(test::init_service(
        App::new()
            .wrap(TokengateAuth::new(verifier.clone()))
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
