//! The warp filter's own cost per request beyond `verify`, in one run: a route without the
//! filter (`no_filter`), the same route with `tokengate_warp::claims` (`filter`, valid HS256
//! token, `StandardClaims`), and `Verifier::try_verify` alone (`verify`). Overhead =
//! `filter − no_filter − verify`.
//!
//! Run: `cargo bench -p tokengate-warp --bench filter`; `bench/instructions.sh` counts the same
//! cases in instructions (`filter --count <case> <iterations>`).

use std::hint::black_box;

use tokengate::StandardClaims;
use tokengate_testkit::fixture::{Fixture, adapter_bench};
use tokengate_warp::Verified;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Reply;

struct Setup {
    fixture: Fixture,
    plain: BoxedFilter<(Box<dyn Reply>,)>,
    guarded: BoxedFilter<(Box<dyn Reply>,)>,
    runtime: tokio::runtime::Runtime,
}

impl Setup {
    fn new() -> Setup {
        let fixture = Fixture::hs256();
        let plain = warp::path!("me")
            .map(|| Box::new("ok") as Box<dyn Reply>)
            .boxed();
        let guarded = warp::path!("me")
            .and(tokengate_warp::claims::<StandardClaims>(
                fixture.verifier.clone(),
            ))
            .map(|_: Verified<StandardClaims>| Box::new("ok") as Box<dyn Reply>)
            .boxed();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        Setup {
            fixture,
            plain,
            guarded,
            runtime,
        }
    }

    fn case(&self, name: &str) -> Option<Box<dyn FnMut() + '_>> {
        let call = |filter: &BoxedFilter<(Box<dyn Reply>,)>| {
            let request = warp::test::request()
                .path("/me")
                .header("authorization", &self.fixture.bearer);
            let reply = self.runtime.block_on(request.filter(filter));
            drop(black_box(reply.expect("the route answers")));
        };
        Some(match name {
            "filter" => Box::new(move || call(&self.guarded)),
            "no_filter" => Box::new(move || call(&self.plain)),
            _ => return None,
        })
    }
}

fn main() {
    let setup = Setup::new();
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
        ("authorization", setup.fixture.bearer.as_str()),
        ("x-request-id", "6c1f7d2e-6c4b-4f5e-9a51-0d2b9c1e7a10"),
    ] {
        head.insert(name, value.parse().unwrap());
    }
    adapter_bench(
        "warp",
        &setup.fixture,
        &["no_filter", "filter"],
        ("filter", "no_filter"),
        |name| setup.case(name),
        |group| {
            group.bench_function("clone_six_headers", |b| b.iter(|| black_box(&head).clone()));
        },
    );
}
