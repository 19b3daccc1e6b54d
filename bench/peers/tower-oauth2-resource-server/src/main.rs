//! tower-oauth2-resource-server: one static tenant (the key set as text, the recommended claim
//! checks for the issuer and audience: `iss`, `aud`, `exp`, `nbf`), its layer on `/me`, the
//! claims from the request extensions.

use std::process::ExitCode;

use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use peers_common::{Args, me_body, stopped};
use serde::Deserialize;
use tower_oauth2_resource_server::server::OAuth2ResourceServer;
use tower_oauth2_resource_server::tenant::TenantConfiguration;
use tower_oauth2_resource_server::validation::ClaimsValidationSpec;

#[derive(Clone, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: String,
}

async fn me(Extension(claims): Extension<Claims>) -> impl IntoResponse {
    (
        [("content-type", "application/json")],
        me_body(&claims.sub, &claims.scope),
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::from_env("peer-tower-oauth2-resource-server");
    let audiences = vec![args.audience.clone()];
    let tenant = match TenantConfiguration::static_builder(args.jwks.clone())
        .identifier(&args.issuer)
        .audiences(&audiences)
        .claims_validation(ClaimsValidationSpec::recommended(&args.issuer, &audiences))
        .build()
    {
        Ok(tenant) => tenant,
        Err(error) => return stopped("peer-tower-oauth2-resource-server", error),
    };
    let server = match OAuth2ResourceServer::<Claims>::builder()
        .add_tenant(tenant)
        .build()
        .await
    {
        Ok(server) => server,
        Err(error) => return stopped("peer-tower-oauth2-resource-server", error),
    };
    let app = Router::new()
        .route("/me", get(me))
        .layer(server.into_layer())
        .route("/health", get(|| async { "ok" }));
    let listener = match tokio::net::TcpListener::bind(&args.addr).await {
        Ok(listener) => listener,
        Err(error) => return stopped("peer-tower-oauth2-resource-server", error),
    };
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => stopped("peer-tower-oauth2-resource-server", error),
    }
}
