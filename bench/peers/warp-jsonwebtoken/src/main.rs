//! warp + jsonwebtoken: a filter reading `Authorization: Bearer`, `jsonwebtoken::decode` with
//! the issuer, audience, `exp` and `nbf` checked, a recover turning refusals into 401.

use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::Jwk};
use peers_common::{Args, me_body, stopped};
use serde::Deserialize;
use warp::Filter;
use warp::http::StatusCode;

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: String,
}

#[derive(Debug)]
struct Unauthorized;
impl warp::reject::Reject for Unauthorized {}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::from_env("peer-warp-jsonwebtoken");
    let jwk: Jwk = match serde_json::from_str(&args.rs256_jwk) {
        Ok(jwk) => jwk,
        Err(error) => return stopped("peer-warp-jsonwebtoken", error),
    };
    let key = match DecodingKey::from_jwk(&jwk) {
        Ok(key) => key,
        Err(error) => return stopped("peer-warp-jsonwebtoken", error),
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&args.issuer]);
    validation.set_audience(&[&args.audience]);
    validation.validate_nbf = true;
    let decoder = Arc::new((key, validation));

    let auth = warp::header::<String>("authorization").and_then(move |value: String| {
        let decoder = Arc::clone(&decoder);
        async move {
            let token = value.strip_prefix("Bearer ").ok_or(Unauthorized)?;
            jsonwebtoken::decode::<Claims>(token, &decoder.0, &decoder.1)
                .map(|data| data.claims)
                .map_err(|_| warp::reject::custom(Unauthorized))
        }
    });
    let me = warp::path!("me")
        .and(warp::get())
        .and(auth)
        .map(|claims: Claims| {
            warp::reply::with_header(
                me_body(&claims.sub, &claims.scope),
                "content-type",
                "application/json",
            )
        });
    let health = warp::path!("health").map(|| "ok");
    let routes = health.or(me).recover(|_: warp::Rejection| async {
        Ok::<_, Infallible>(warp::reply::with_status("", StatusCode::UNAUTHORIZED))
    });
    let addr: std::net::SocketAddr = match args.addr.parse() {
        Ok(addr) => addr,
        Err(error) => return stopped("peer-warp-jsonwebtoken", error),
    };
    warp::serve(routes).run(addr).await;
    ExitCode::SUCCESS
}
