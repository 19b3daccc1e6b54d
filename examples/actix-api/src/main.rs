//! The tokengate reference API on actix-web.
//!
//! Run it with `cargo run -p actix-api`. Without `TOKENGATE_ISSUER` it starts a development
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

use actix_web::{App, HttpServer};
use tokengate_testkit::demo::{self, Settings};

fn main() -> ExitCode {
    actix_web::rt::System::new().block_on(run())
}

async fn run() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("actix-api: {message}");
            return ExitCode::from(2);
        }
    };
    // Keep the development issuer alive for as long as the API runs.
    let (issuer, dev_issuer) = demo::issuer(&settings).await;
    let verifier = match settings.verifier(&issuer) {
        Ok(verifier) => verifier,
        Err(message) => {
            eprintln!("actix-api: {message}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = verifier.ready().await {
        eprintln!(
            "actix-api: the issuer's keys are not available yet ({}); requests will retry",
            error.code()
        );
    }
    let listener = match std::net::TcpListener::bind(&settings.addr) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("actix-api: cannot listen on {}: {error}", settings.addr);
            return ExitCode::from(1);
        }
    };
    let base = format!(
        "http://{}",
        listener
            .local_addr()
            .map_or(settings.addr.clone(), |a| a.to_string())
    );
    println!("tokengate actix-api listening on {base}");
    println!("issuer: {issuer}  audience: {}", settings.audience);
    if let Some(server) = &dev_issuer {
        demo::print_demo(server, &settings.audience, &base);
    }
    let configure = actix_api::configure(verifier);
    let server =
        match HttpServer::new(move || App::new().configure(configure.clone())).listen(listener) {
            Ok(server) => server,
            Err(error) => {
                eprintln!("actix-api: {error}");
                return ExitCode::from(1);
            }
        };
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("actix-api: {error}");
            ExitCode::from(1)
        }
    }
}
