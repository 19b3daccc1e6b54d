//! The actix-web middleware's own cost per request beyond `verify`, in one run: an app without
//! the middleware (`no_middleware`), the same app wrapped in `Auth` (`middleware`, valid HS256
//! token, `StandardClaims`), and `Verifier::try_verify` alone (`verify`). Overhead =
//! `middleware − no_middleware − verify`.
//!
//! Run: `cargo bench -p tokengate-actix --bench middleware`; `bench/instructions.sh` counts the
//! same cases in instructions (`middleware --count <case> <iterations>`).

use std::hint::black_box;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::{App, test, web};
use tokengate_actix::Auth;
use tokengate_testkit::fixture::{Fixture, adapter_bench};

/// The two request cases over the two apps, each a closure running one request.
fn cases<'a, R, P, G, PB, GB>(
    runtime: &'a actix_web::rt::Runtime,
    plain: &'a P,
    guarded: &'a G,
    request: impl Fn() -> R + Copy + 'a,
) -> impl Fn(&str) -> Option<Box<dyn FnMut() + 'a>>
where
    P: Service<R, Response = ServiceResponse<PB>, Error = actix_web::Error>,
    G: Service<R, Response = ServiceResponse<GB>, Error = actix_web::Error>,
    PB: 'a,
    GB: 'a,
{
    move |name| -> Option<Box<dyn FnMut() + 'a>> {
        Some(match name {
            "middleware" => Box::new(move || {
                let response = runtime.block_on(test::call_service(guarded, black_box(request())));
                assert!(response.status().is_success());
            }),
            "no_middleware" => Box::new(move || {
                let response = runtime.block_on(test::call_service(plain, black_box(request())));
                assert!(response.status().is_success());
            }),
            _ => return None,
        })
    }
}

fn main() {
    let fixture = Fixture::hs256();
    let runtime = actix_web::rt::Runtime::new().unwrap();
    let plain = runtime.block_on(test::init_service(
        App::new().route("/me", web::get().to(|| async { "ok" })),
    ));
    let guarded = runtime.block_on(test::init_service(
        App::new()
            .wrap(Auth::new(fixture.verifier.clone()))
            .route("/me", web::get().to(|| async { "ok" })),
    ));
    let request = || {
        test::TestRequest::get()
            .uri("/me")
            .insert_header(("authorization", fixture.bearer.as_str()))
            .to_request()
    };
    adapter_bench(
        "actix",
        &fixture,
        &["no_middleware", "middleware"],
        ("middleware", "no_middleware"),
        cases(&runtime, &plain, &guarded, request),
        |_| {},
    );
}
