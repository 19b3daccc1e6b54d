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

use tokengate_testkit::demo::{self, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("warp-api: {message}");
            return ExitCode::from(2);
        }
    };
    // Keep the development issuer alive for as long as the API runs.
    let (issuer, dev_issuer) = demo::issuer(&settings).await;
    let verifier = match settings.verifier(&issuer) {
        Ok(verifier) => verifier,
        Err(message) => {
            eprintln!("warp-api: {message}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = verifier.ready().await {
        eprintln!(
            "warp-api: the issuer's keys are not available yet ({}); requests will retry",
            error.code()
        );
    }
    let listener = match tokio::net::TcpListener::bind(&settings.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("warp-api: cannot listen on {}: {error}", settings.addr);
            return ExitCode::from(1);
        }
    };
    let base = format!(
        "http://{}",
        listener
            .local_addr()
            .map_or(settings.addr.clone(), |a| a.to_string())
    );
    println!("tokengate warp-api listening on {base}");
    println!("issuer: {issuer}  audience: {}", settings.audience);
    if let Some(server) = &dev_issuer {
        demo::print_demo(server, &settings.audience, &base);
    }
    warp::serve(warp_api::routes(verifier))
        .incoming(listener)
        .graceful(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .run()
        .await;
    ExitCode::SUCCESS
}
