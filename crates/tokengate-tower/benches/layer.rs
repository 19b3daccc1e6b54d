//! The layer's own cost per request beyond `verify`, in one run:
//! - `no_layer`: an axum router answering `GET /me` with a static body;
//! - `identity_layer`: the same router behind a layer that does nothing (axum boxes every
//!   layered route and its future, whatever the layer);
//! - `layer`: the same router behind `AuthLayer` with a valid HS256 token;
//! - `verify`: `Verifier::try_verify` of the same token alone.
//!
//! The layer's overhead is `layer − identity_layer − verify` (and axum's own cost of a layer
//! `identity_layer − no_layer`). Run:
//! `cargo bench -p tokengate-tower --bench layer`; `bench/instructions.sh` counts the same three
//! cases in instructions (`layer --count <case> <iterations>`).

use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::Criterion;
use http::Request;
use tokengate::StandardClaims;
use tokengate_testkit::fixture::{
    Fixture, count_if_asked, interleaved_difference, poll_once, verified_now,
};
use tokengate_tower::AuthLayer;
use tower::ServiceExt;

struct Setup {
    fixture: Fixture,
    plain: Router,
    identity: Router,
    guarded: Router,
}

impl Setup {
    fn new() -> Setup {
        let fixture = Fixture::hs256();
        // `with_state` turns the handlers into routes once, as `axum::serve` does; a router
        // without it builds each route (and its layers) again for every request.
        let plain: Router = Router::new()
            .route("/me", get(|| async { "ok" }))
            .with_state(());
        // Any layer on an axum router costs a boxed route and future per request: the
        // baseline for what `AuthLayer` itself adds.
        let identity: Router = Router::new()
            .route("/me", get(|| async { "ok" }))
            .layer(tower::layer::util::Identity::new())
            .with_state(());
        let guarded: Router = Router::new()
            .route("/me", get(|| async { "ok" }))
            .layer(AuthLayer::new(fixture.verifier.clone()))
            .with_state(());
        let setup = Setup {
            fixture,
            plain,
            identity,
            guarded,
        };
        let response = poll_once(setup.guarded.clone().oneshot(setup.request())).unwrap();
        assert_eq!(response.status(), 200);
        setup
    }

    fn request(&self) -> Request<Body> {
        Request::get("/me")
            .header("authorization", &self.fixture.bearer)
            .body(Body::empty())
            .unwrap()
    }

    fn case(&self, name: &str) -> Option<Box<dyn FnMut() + '_>> {
        let call = |router: &Router| {
            drop(poll_once(router.clone().oneshot(black_box(self.request()))).unwrap())
        };
        Some(match name {
            "layer" => Box::new(move || call(&self.guarded)),
            "no_layer" => Box::new(move || call(&self.plain)),
            "identity_layer" => Box::new(move || call(&self.identity)),
            "verify" => Box::new(|| {
                drop(verified_now::<StandardClaims>(
                    &self.fixture.verifier,
                    black_box(&self.fixture.token),
                ))
            }),
            _ => return None,
        })
    }
}

fn main() {
    let setup = Setup::new();
    if count_if_asked(|case| setup.case(case)) {
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("layer");
    for name in ["no_layer", "identity_layer", "layer", "verify"] {
        let mut run = setup.case(name).unwrap();
        group.bench_function(name, |b| b.iter(&mut run));
    }
    // The layer's own cost directly: `layer − (identity_layer + verify)`, interleaved per
    // iteration.
    let (mut layer, mut identity, mut verify) = (
        setup.case("layer").unwrap(),
        setup.case("identity_layer").unwrap(),
        setup.case("verify").unwrap(),
    );
    group.bench_function("own_cost", |b| {
        b.iter_custom(|iters| {
            interleaved_difference(iters, &mut layer, || {
                identity();
                verify();
            })
        })
    });
    group.finish();
    c.final_summary();
}
