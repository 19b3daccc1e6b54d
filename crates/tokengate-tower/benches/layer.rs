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
use http::Request;
use tokengate_testkit::fixture::{Fixture, adapter_bench, poll_once};
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
            _ => return None,
        })
    }
}

fn main() {
    let setup = Setup::new();
    adapter_bench(
        "layer",
        &setup.fixture,
        &["no_layer", "identity_layer", "layer"],
        ("layer", "identity_layer"),
        |name| setup.case(name),
        |_| {},
    );
}
