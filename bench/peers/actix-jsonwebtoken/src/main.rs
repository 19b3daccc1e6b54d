//! actix-web + actix-web-httpauth + jsonwebtoken: `HttpAuthentication::bearer` with a validator
//! calling `jsonwebtoken::decode` (issuer, audience, `exp`, `nbf`), the claims in the request
//! extensions for the handler — the pattern actix-web-httpauth documents.

use std::process::ExitCode;
use std::sync::Arc;

use actix_web::dev::ServiceRequest;
use actix_web::{App, Error, HttpMessage, HttpResponse, HttpServer, web};
use actix_web_httpauth::extractors::bearer::BearerAuth;
use actix_web_httpauth::middleware::HttpAuthentication;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::Jwk};
use peers_common::{Args, me_body, stopped};
use serde::Deserialize;

#[derive(Clone, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: String,
}

struct Decoder {
    key: DecodingKey,
    validation: Validation,
}

async fn validator(
    request: ServiceRequest,
    credentials: BearerAuth,
) -> Result<ServiceRequest, (Error, ServiceRequest)> {
    let decoded = request
        .app_data::<web::Data<Arc<Decoder>>>()
        .and_then(|decoder| {
            jsonwebtoken::decode::<Claims>(credentials.token(), &decoder.key, &decoder.validation)
                .ok()
        });
    match decoded {
        Some(data) => {
            request.extensions_mut().insert(data.claims);
            Ok(request)
        }
        None => Err((actix_web::error::ErrorUnauthorized(""), request)),
    }
}

async fn me(request: actix_web::HttpRequest) -> HttpResponse {
    match request.extensions().get::<Claims>() {
        Some(claims) => HttpResponse::Ok()
            .content_type("application/json")
            .body(me_body(&claims.sub, &claims.scope)),
        None => HttpResponse::Unauthorized().finish(),
    }
}

#[actix_web::main]
async fn main() -> ExitCode {
    let args = Args::from_env("peer-actix-jsonwebtoken");
    let jwk: Jwk = match serde_json::from_str(&args.rs256_jwk) {
        Ok(jwk) => jwk,
        Err(error) => return stopped("peer-actix-jsonwebtoken", error),
    };
    let key = match DecodingKey::from_jwk(&jwk) {
        Ok(key) => key,
        Err(error) => return stopped("peer-actix-jsonwebtoken", error),
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&args.issuer]);
    validation.set_audience(&[&args.audience]);
    validation.validate_nbf = true;
    let decoder = web::Data::new(Arc::new(Decoder { key, validation }));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(decoder.clone())
            .route("/health", web::get().to(|| async { "ok" }))
            .service(
                web::resource("/me")
                    .wrap(HttpAuthentication::bearer(validator))
                    .route(web::get().to(me)),
            )
    })
    .bind(&args.addr);
    match server {
        Ok(server) => match server.run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => stopped("peer-actix-jsonwebtoken", error),
        },
        Err(error) => stopped("peer-actix-jsonwebtoken", error),
    }
}
