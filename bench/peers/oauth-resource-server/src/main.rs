//! oauth-resource-server: an `OAuthConfig` for the issuer and audience (RS256, no scope
//! required, like the examples' `/me`), the validator seeded with the key set
//! (`initial_jwks`: no fetch), its `AuthLayer` on `/me`, the caller through `Credential`.

use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use oauth_resource_server::axum::AuthLayer;
use oauth_resource_server::{
    Credential, KeyNaming, OAuthConfig, OAuthValidator, static_token_policy,
};
use peers_common::{Args, me_body, stopped};

async fn me(credential: Credential) -> Response {
    match credential {
        Credential::OAuth(token) => (
            [("content-type", "application/json")],
            me_body(
                token.principal.as_deref().unwrap_or_default(),
                &token.scopes.join(" "),
            ),
        )
            .into_response(),
        _ => StatusCode::UNAUTHORIZED.into_response(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    const NAME: &str = "peer-oauth-resource-server";
    let args = Args::from_env(NAME);
    let config = OAuthConfig {
        enabled: true,
        issuer: args.issuer.clone(),
        jwks_uri: Some(format!("{}/jwks", args.issuer)),
        audience: args.audience.clone(),
        resource: format!("{}/api", args.issuer),
        algorithms: vec!["RS256".into()],
        allow_unscoped_tokens: true,
        ..OAuthConfig::default()
    };
    let resolved = match config.resolve(KeyNaming::Dotted("oauth")) {
        Ok(Some(resolved)) => resolved,
        Ok(None) => return stopped(NAME, "disabled"),
        Err(error) => return stopped(NAME, error),
    };
    let validator = match OAuthValidator::builder(&resolved)
        .initial_jwks(&args.jwks)
        .build()
    {
        Ok(validator) => Arc::new(validator),
        Err(error) => return stopped(NAME, error),
    };
    let decision = match static_token_policy(None, Some(&resolved), false) {
        Ok(decision) => decision,
        Err(error) => return stopped(NAME, error),
    };
    let auth = match AuthLayer::from_decision(decision, Some(validator)) {
        Ok(auth) => auth,
        Err(error) => return stopped(NAME, error),
    };
    let app = Router::new()
        .route("/me", get(me))
        .route_layer(auth)
        .route("/health", get(|| async { "ok" }));
    let listener = match tokio::net::TcpListener::bind(&args.addr).await {
        Ok(listener) => listener,
        Err(error) => return stopped(NAME, error),
    };
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => stopped(NAME, error),
    }
}
