//! Helpers for `bench/load.sh`.
//!
//! - `tokengate-bench keys DIR`: writes `DIR/jwks.json` (one public key each for RS256, ES256,
//!   EdDSA), `DIR/hs256.jwks.json` (the HS256 secret: a key set never mixes secrets and public
//!   keys) and `DIR/<ALG>.token` (a token valid for a day for issuer `https://bench.tokengate`,
//!   audience `tokengate-demo`, scope `openid profile messages:read`).
//! - `tokengate-bench baseline ALG JWKS_FILE ADDR`: the reference `/health` and `/me` routes with a
//!   middleware that calls `jsonwebtoken::decode` directly (the plain library, for comparison).

use std::process::ExitCode;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::json;
use tokengate::Algorithm;
use tokengate_testkit::TestKey;

/// The issuer of the benchmark tokens.
const ISSUER: &str = "https://bench.tokengate";
/// Their audience (load.sh sets it as the examples' TOKENGATE_AUDIENCE).
const AUDIENCE: &str = "tokengate-demo";
const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::HS256,
    Algorithm::RS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["keys", dir] => keys(dir),
        ["baseline", alg, jwks, addr] => baseline(alg, jwks, addr),
        _ => {
            eprintln!(
                "usage: tokengate-bench keys DIR | tokengate-bench baseline ALG JWKS_FILE ADDR"
            );
            ExitCode::from(2)
        }
    }
}

fn keys(dir: &str) -> ExitCode {
    let now = tokengate_testkit::now();
    let (mut jwks, mut secrets) = (Vec::new(), Vec::new());
    for alg in ALGORITHMS {
        let key = TestKey::generate(alg).with_kid(format!("bench-{}", alg.as_str().to_lowercase()));
        if alg == Algorithm::HS256 {
            secrets.push(key.public_jwk());
        } else {
            jwks.push(key.public_jwk());
        }
        let claims = json!({
            "iss": ISSUER, "sub": "alice", "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 86_400,
            "jti": format!("bench-{}", alg.as_str()), "client_id": "bench", "scope": "openid profile messages:read",
            "email": "alice@example.com", "roles": ["reader"],
        });
        if let Err(error) =
            std::fs::write(format!("{dir}/{}.token", alg.as_str()), key.mint(&claims))
        {
            eprintln!("tokengate-bench: {error}");
            return ExitCode::from(1);
        }
    }
    let written = std::fs::write(
        format!("{dir}/jwks.json"),
        json!({"keys": jwks}).to_string(),
    )
    .and_then(|()| {
        std::fs::write(
            format!("{dir}/hs256.jwks.json"),
            json!({"keys": secrets}).to_string(),
        )
    });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tokengate-bench: {error}");
            ExitCode::from(1)
        }
    }
}

/// The same claims type the examples use, so both sides deserialize the same claims.
type Claims = tokengate::StandardClaims;

struct Decoder {
    key: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
}

async fn authenticate(
    State(decoder): State<Arc<Decoder>>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let Some(token) = token else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match jsonwebtoken::decode::<Claims>(&token, &decoder.key, &decoder.validation) {
        Ok(data) => {
            request.extensions_mut().insert(Arc::new(data.claims));
            next.run(request).await
        }
        Err(_) => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// The same body as the examples', serialized the same way (borrowed, no JSON tree).
#[derive(serde::Serialize)]
struct Me<'a> {
    sub: Option<&'a str>,
    scopes: &'a tokengate::Scopes,
}

async fn me(Extension(claims): Extension<Arc<Claims>>) -> Response {
    Json(Me {
        sub: claims.sub.as_deref(),
        scopes: &claims.scope,
    })
    .into_response()
}

fn baseline(alg: &str, jwks: &str, addr: &str) -> ExitCode {
    let Ok(alg) = alg.parse::<jsonwebtoken::Algorithm>() else {
        eprintln!("tokengate-bench: unknown algorithm");
        return ExitCode::from(2);
    };
    let set: jsonwebtoken::jwk::JwkSet =
        match std::fs::read_to_string(jwks).map(|t| serde_json::from_str(&t)) {
            Ok(Ok(set)) => set,
            _ => {
                eprintln!("tokengate-bench: cannot read {jwks}");
                return ExitCode::from(2);
            }
        };
    let Some(key) = set.keys.iter().find_map(|jwk| {
        let matches =
            jwk.common.key_algorithm.map(|a| format!("{a:?}")) == Some(format!("{alg:?}"));
        matches
            .then(|| jsonwebtoken::DecodingKey::from_jwk(jwk).ok())
            .flatten()
    }) else {
        eprintln!("tokengate-bench: no key for {alg:?}");
        return ExitCode::from(2);
    };
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.leeway = 60;
    let decoder = Arc::new(Decoder { key, validation });
    let app = Router::new()
        .route("/me", get(me))
        .route_layer(middleware::from_fn_with_state(decoder, authenticate))
        .route("/health", get(|| async { "ok" }));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tokengate-bench: {error}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("tokengate-bench: cannot listen on {addr}: {error}");
                return ExitCode::from(1);
            }
        };
        match axum::serve(listener, app).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(1),
        }
    })
}
