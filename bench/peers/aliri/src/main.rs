//! aliri: an `Authority` over the key set with a `CoreValidator` (RS256, audience, issuer;
//! `exp` and `nbf` checked by default), aliri_tower's JWT layer on `/me` with the terse error
//! handler, the claims from the request extensions.

use std::process::ExitCode;

use aliri::{Jwks, jwa, jwt};
use aliri_clock::UnixTime;
use aliri_oauth2::{Authority, HasScope, Scope};
use aliri_tower::Oauth2Authorizer;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use peers_common::{Args, me_body, stopped};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
struct Claims {
    iss: jwt::Issuer,
    aud: jwt::Audiences,
    sub: jwt::Subject,
    exp: UnixTime,
    nbf: Option<UnixTime>,
    #[serde(default)]
    scope: Scope,
}

impl jwt::CoreClaims for Claims {
    fn nbf(&self) -> Option<UnixTime> {
        self.nbf
    }
    fn exp(&self) -> Option<UnixTime> {
        Some(self.exp)
    }
    fn aud(&self) -> &jwt::Audiences {
        &self.aud
    }
    fn iss(&self) -> Option<&jwt::IssuerRef> {
        Some(&self.iss)
    }
    fn sub(&self) -> Option<&jwt::SubjectRef> {
        Some(&self.sub)
    }
}

impl HasScope for Claims {
    fn scope(&self) -> &Scope {
        &self.scope
    }
}

async fn me(Extension(claims): Extension<Claims>) -> impl IntoResponse {
    let scope: Vec<&str> = claims.scope.iter().map(|s| s.as_str()).collect();
    (
        [("content-type", "application/json")],
        me_body(claims.sub.as_str(), &scope.join(" ")),
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    const NAME: &str = "peer-aliri";
    let args = Args::from_env(NAME);
    let jwks: Jwks = match serde_json::from_str(&args.jwks) {
        Ok(jwks) => jwks,
        Err(error) => return stopped(NAME, error),
    };
    let validator = jwt::CoreValidator::default()
        .add_approved_algorithm(jwa::Algorithm::RS256)
        .add_allowed_audience(jwt::Audience::new(args.audience.clone()))
        .require_issuer(jwt::Issuer::new(args.issuer.clone()));
    let authority = Authority::new(jwks, validator);
    let authorizer = Oauth2Authorizer::new()
        .with_claims::<Claims>()
        .with_terse_error_handler();
    let app = Router::new()
        .route("/me", get(me))
        .layer(authorizer.jwt_layer(authority))
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
