//! axum-jwt-auth: a `LocalDecoder` with the RS256 key and a jsonwebtoken `Validation` (issuer,
//! audience, `exp`, `nbf`), claims through its `Claims` extractor.

use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::response::IntoResponse;
use axum::routing::get;
use axum_jwt_auth::{Claims, Decoder, LocalDecoder};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::Jwk};
use peers_common::{Args, me_body, stopped};
use serde::Deserialize;

#[derive(Clone, Deserialize)]
struct MyClaims {
    sub: String,
    #[serde(default)]
    scope: String,
}

#[derive(Clone, FromRef)]
struct AppState {
    decoder: Decoder<MyClaims>,
}

async fn me(user: Claims<MyClaims>) -> impl IntoResponse {
    (
        [("content-type", "application/json")],
        me_body(&user.claims.sub, &user.claims.scope),
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::from_env("peer-axum-jwt-auth");
    let jwk: Jwk = match serde_json::from_str(&args.rs256_jwk) {
        Ok(jwk) => jwk,
        Err(error) => return stopped("peer-axum-jwt-auth", error),
    };
    let key = match DecodingKey::from_jwk(&jwk) {
        Ok(key) => key,
        Err(error) => return stopped("peer-axum-jwt-auth", error),
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&args.issuer]);
    validation.set_audience(&[&args.audience]);
    validation.validate_nbf = true;
    let decoder = match LocalDecoder::builder()
        .keys(vec![key])
        .validation(validation)
        .build()
    {
        Ok(decoder) => decoder,
        Err(error) => return stopped("peer-axum-jwt-auth", format!("{error:?}")),
    };
    let state = AppState {
        decoder: Arc::new(decoder),
    };
    let app = Router::new()
        .route("/me", get(me))
        .route("/health", get(|| async { "ok" }))
        .with_state(state);
    let listener = match tokio::net::TcpListener::bind(&args.addr).await {
        Ok(listener) => listener,
        Err(error) => return stopped("peer-axum-jwt-auth", error),
    };
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => stopped("peer-axum-jwt-auth", error),
    }
}
