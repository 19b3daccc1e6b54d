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

use axum_api::router;
use tokengate_testkit::demo::{self, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("axum-api: {message}");
            return ExitCode::from(2);
        }
    };
    // Keep the development issuer alive for as long as the API runs.
    let (issuer, dev_issuer) = demo::issuer(&settings).await;
    let verifier = match settings.verifier(&issuer) {
        Ok(verifier) => verifier,
        Err(message) => {
            eprintln!("axum-api: {message}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = verifier.ready().await {
        eprintln!(
            "axum-api: the issuer's keys are not available yet ({}); requests will retry",
            error.code()
        );
    }
    let listener = match tokio::net::TcpListener::bind(&settings.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("axum-api: cannot listen on {}: {error}", settings.addr);
            return ExitCode::from(1);
        }
    };
    let base = format!(
        "http://{}",
        listener
            .local_addr()
            .map_or(settings.addr.clone(), |a| a.to_string())
    );
    println!("tokengate axum-api listening on {base}");
    println!("issuer: {issuer}  audience: {}", settings.audience);
    if let Some(server) = &dev_issuer {
        demo::print_demo(server, &settings.audience, &base);
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(error) = axum::serve(listener, router(verifier))
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("axum-api: {error}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
