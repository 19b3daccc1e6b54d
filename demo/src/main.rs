//! `cargo run` at the workspace root: the axum example API, verifying tokens from a development
//! issuer it starts on loopback — an explicit opt-in of this demo only. The example templates
//! never start an issuer; they serve only with `TOKENGATE_ISSUER` and `TOKENGATE_AUDIENCE`.
//!
//! The development issuer serves OIDC discovery and a JWKS over real HTTP, so the verifier
//! below is configured exactly as it would be for a production issuer. Tokens and curl lines are
//! printed at start. `TOKENGATE_ADDR` sets the address (default `127.0.0.1:3000`).

use std::process::ExitCode;

use tokengate_testkit::IssuerServer;
use tokengate_tower::{Issuer, KeySource, TokenSources, Verifier};

/// The audience the demo's tokens are minted for.
const AUDIENCE: &str = "tokengate-demo";

#[tokio::main]
async fn main() -> ExitCode {
    let dev_issuer = IssuerServer::start().await;
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(dev_issuer.issuer())
                .audience(AUDIENCE)
                .keys(KeySource::discover()),
        )
        // Browsers' WebSockets send the token after the marker in `Sec-WebSocket-Protocol`.
        .token_sources(
            TokenSources::new()
                .websocket_protocol("access_token")
                .expect("a valid marker"),
        )
        .build();
    let verifier = match verifier {
        Ok(verifier) => verifier,
        Err(error) => {
            eprintln!("tokengate-demo: {error}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = verifier.ready().await {
        eprintln!("tokengate-demo: the development issuer's keys did not load: {error}");
        return ExitCode::from(1);
    }
    let addr = std::env::var("TOKENGATE_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("tokengate-demo: cannot listen on {addr}: {error}");
            return ExitCode::from(1);
        }
    };
    let base = format!(
        "http://{}",
        listener.local_addr().map_or(addr, |a| a.to_string())
    );
    println!("tokengate demo (axum) listening on {base}");
    println!("issuer: {}  audience: {AUDIENCE}", dev_issuer.issuer());
    // The DPoP key file the printed commands use lives until the demo ends.
    let _files = tokengate_testkit::demo::print_demo(&dev_issuer, AUDIENCE, &base);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, axum_api::router(verifier))
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tokengate-demo: {error}");
            ExitCode::from(1)
        }
    }
}
