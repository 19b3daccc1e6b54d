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
use tokengate_testkit::demo;

fn main() -> ExitCode {
    actix_web::rt::System::new().block_on(run())
}

async fn run() -> ExitCode {
    // Settings, the development issuer (kept alive in `demo`), the verifier, the listener.
    let demo = match demo::prepare("actix-api").await {
        Ok(demo) => demo,
        Err(code) => return code,
    };
    let configure = actix_api::configure(demo.verifier.clone());
    let server = match HttpServer::new(move || App::new().configure(configure.clone()))
        .listen(demo.listener)
    {
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
