//! The tokengate reference API on warp.
//!
//! Run it with `cargo run -p warp-api`. Without `TOKENGATE_ISSUER` it starts a development
//! issuer on loopback, prints tokens and curl lines, and verifies them over real HTTP:
//!
//! ```text
//! curl -i http://127.0.0.1:3000/health
//! curl -i -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/me
//! ```
//!
//! Variables: `TOKENGATE_ADDR` (default `127.0.0.1:3000`), `TOKENGATE_ISSUER`,
//! `TOKENGATE_JWKS_URL`, `TOKENGATE_AUDIENCE`, `TOKENGATE_ALGORITHMS`, `TOKENGATE_LEEWAY_SECS`,
//! `TOKENGATE_RFC9068=1`, `TOKENGATE_CACHE=1` (cache verified tokens).

use std::process::ExitCode;

use tokengate_testkit::demo;

#[tokio::main]
async fn main() -> ExitCode {
    // Settings, the development issuer (kept alive in `demo`), the verifier, the listener.
    let demo = match demo::prepare("warp-api").await {
        Ok(demo) => demo,
        Err(code) => return code,
    };
    let listener = match tokio::net::TcpListener::from_std(demo.listener) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("warp-api: {error}");
            return ExitCode::from(1);
        }
    };
    warp::serve(warp_api::routes(demo.verifier))
        .incoming(listener)
        .graceful(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .run()
        .await;
    ExitCode::SUCCESS
}
