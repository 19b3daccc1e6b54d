//! jwt-authorizer: `JwtAuthorizer::from_jwks_text` with `Validation` (issuer, audience, `exp`,
//! `nbf`; the algorithms its key type allows), its layer on `/me`, claims through `JwtClaims`.

use std::process::ExitCode;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, JwtClaims, Validation};
use peers_common::{Args, me_body, stopped};
use serde::Deserialize;

#[derive(Clone, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: String,
}

async fn me(JwtClaims(claims): JwtClaims<Claims>) -> impl IntoResponse {
    (
        [("content-type", "application/json")],
        me_body(&claims.sub, &claims.scope),
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::from_env("peer-jwt-authorizer");
    let validation = Validation::new()
        .iss(&[&args.issuer])
        .aud(&[&args.audience])
        .nbf(true);
    let authorizer: Authorizer<Claims> = match JwtAuthorizer::from_jwks_text(&args.jwks)
        .validation(validation)
        .build()
        .await
    {
        Ok(authorizer) => authorizer,
        Err(error) => return stopped("peer-jwt-authorizer", error),
    };
    let app = Router::new()
        .route("/me", get(me))
        .layer(authorizer.into_layer())
        .route("/health", get(|| async { "ok" }));
    let listener = match tokio::net::TcpListener::bind(&args.addr).await {
        Ok(listener) => listener,
        Err(error) => return stopped("peer-jwt-authorizer", error),
    };
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => stopped("peer-jwt-authorizer", error),
    }
}
