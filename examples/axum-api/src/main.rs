//! The tokengate reference API on axum.
//!
//! Run it with `cargo run` (from the workspace root). Without `TOKENGATE_ISSUER` it starts a
//! development issuer on loopback, prints tokens and curl lines, and verifies them over real
//! HTTP (discovery + JWKS) exactly as it would verify a production issuer's:
//!
//! ```text
//! curl -i http://127.0.0.1:3000/health
//! curl -i -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/me
//! ```
//!
//! Against your identity provider:
//!
//! ```text
//! TOKENGATE_ISSUER=https://dev-123.okta.com/oauth2/default TOKENGATE_AUDIENCE=api://default cargo run
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
    let demo = match demo::prepare("axum-api").await {
        Ok(demo) => demo,
        Err(code) => return code,
    };
    let listener = match tokio::net::TcpListener::from_std(demo.listener) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("axum-api: {error}");
            return ExitCode::from(1);
        }
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, axum_api::router(demo.verifier))
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("axum-api: {error}");
            ExitCode::from(1)
        }
    }
}
