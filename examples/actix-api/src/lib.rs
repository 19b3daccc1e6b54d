//! The tokengate reference API on actix-web (`docs/architecture.md`, "Reference API"), as a service configuration you
//! can serve or test.
//!
//! | route | access | 200 body |
//! | --- | --- | --- |
//! | `GET /health` | public | `ok` |
//! | `GET /me` | valid token | `{"sub": …, "scopes": [..]}` |
//! | `GET /messages` | scope `messages:read` | JSON array |
//! | `GET /ready` | public | `{"ready": true, "issuers": [..]}`; 503 while any issuer has no usable keys |
//! | `GET /metrics` | public | Prometheus text, when the service runs with metrics (404 otherwise) |
//! | `GET /admin` | role `admin`, `acr` = the admin ACR (default `urn:tokengate:mfa`), `auth_time` ≤ 300 s ago (step-up, RFC 9470) | `admin ok` |
//! | `GET /greeting` | optional | `Hello, <sub>!` or `Hello, anonymous!`; a bad token is 401 |
//! | `GET /ws` | valid token (a WebSocket upgrade; the token may come in `Sec-WebSocket-Protocol` after `access_token`) | echoes text messages; closes with 1008 when the token expires or a re-check refuses it |
//! | `GET /.well-known/oauth-protected-resource[/path]` | public | RFC 9728 metadata, when the verifier has a resource |
//!
//! `/me` and `/greeting` use extractors with the `Verifier` in `app_data`; `/messages` uses the
//! middleware with a scope requirement on its resource.

use actix_web::{HttpRequest, HttpResponse, web};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use serde_json::json;
use tokengate_actix::tokengate::Scopes;
use tokengate_actix::{
    Auth, Claims, Live, OptionalClaims, Requirement, Verifier, resource_metadata,
};

/// The reference API guarded by `verifier`: `App::new().configure(configure(verifier))`.
pub fn configure(verifier: Verifier) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    configure_with(verifier, DEFAULT_ADMIN_ACR.to_owned(), None)
}

/// As [`configure`], `/admin` requiring `admin_acr`.
pub fn configure_with(
    verifier: Verifier,
    admin_acr: String,
    metrics: Option<PrometheusHandle>,
) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |config: &mut web::ServiceConfig| {
        let readiness = verifier.clone();
        let handle = metrics.clone();
        config
            .route(
                "/ready",
                web::get().to(move || {
                    let response = readiness.readiness();
                    async move {
                        let status =
                            actix_web::http::StatusCode::from_u16(response.status().as_u16())
                                .unwrap_or(actix_web::http::StatusCode::SERVICE_UNAVAILABLE);
                        HttpResponse::build(status)
                            .content_type("application/json")
                            .insert_header(("cache-control", "no-store"))
                            .body(response.into_body())
                    }
                }),
            )
            .route(
                "/metrics",
                web::get().to(move || {
                    let text = handle.as_ref().map(PrometheusHandle::render);
                    async move {
                        match text {
                            Some(text) => HttpResponse::Ok()
                                .content_type("text/plain; version=0.0.4")
                                .body(text),
                            None => HttpResponse::NotFound().finish(),
                        }
                    }
                }),
            );
        let read_messages = Auth::new(verifier.clone()).require_scopes(["messages:read"]);
        let admin_only = Auth::new(verifier.clone()).require(admin_requirement(&admin_acr));
        config
            .app_data(verifier.clone())
            .service(resource_metadata(&verifier))
            .route("/health", web::get().to(health))
            .route("/me", web::get().to(me))
            .service(
                web::resource("/messages")
                    .wrap(read_messages)
                    .route(web::get().to(messages)),
            )
            .route("/greeting", web::get().to(greeting))
            .route("/ws", web::get().to(echo))
            .service(
                web::resource("/admin")
                    .wrap(admin_only)
                    .route(web::get().to(admin)),
            );
    }
}

/// The step-up `acr` `/admin` requires unless told otherwise (`TOKENGATE_ADMIN_ACR`).
pub const DEFAULT_ADMIN_ACR: &str = "urn:tokengate:mfa";

/// What `/admin` requires: the role `admin`, a login with `acr` = `admin_acr`, at most 300 s
/// ago (otherwise 401 `insufficient_user_authentication` with `acr_values` and `max_age`).
pub fn admin_requirement(admin_acr: &str) -> Requirement {
    Requirement::any_roles(["admin"])
        .and(Requirement::acr([admin_acr]))
        .and(Requirement::max_auth_age(std::time::Duration::from_secs(
            300,
        )))
}

async fn admin() -> &'static str {
    "admin ok"
}

async fn health() -> &'static str {
    "ok"
}

/// The body of `GET /me`, borrowed from the verified token and serialized as it is: no JSON tree
/// is built per request (a `json!` value cost each `/me` a handful of allocations).
#[derive(Serialize)]
struct Me<'a> {
    sub: Option<&'a str>,
    scopes: &'a Scopes,
}

async fn me(claims: Claims) -> HttpResponse {
    HttpResponse::Ok().json(Me {
        sub: claims.subject(),
        scopes: claims.scopes(),
    })
}

async fn messages(claims: Claims) -> HttpResponse {
    let to = claims.subject().unwrap_or("you");
    HttpResponse::Ok().json(json!([
        {"id": 1, "to": to, "text": "Welcome to tokengate."},
        {"id": 2, "to": to, "text": "Your token carried messages:read."},
    ]))
}

async fn greeting(claims: OptionalClaims) -> String {
    match claims.0.as_ref().and_then(|c| c.subject()) {
        Some(sub) => format!("Hello, {sub}!"),
        None => "Hello, anonymous!".to_owned(),
    }
}

/// `GET /ws`: echoes text messages until the client leaves or the token ends (close 1008).
async fn echo(
    request: HttpRequest,
    body: web::Payload,
    live: Live,
) -> actix_web::Result<HttpResponse> {
    let (response, mut session, mut messages) = live.websocket(&request, body)?;
    actix_web::rt::spawn(async move {
        while let Some(Ok(message)) = messages.recv().await {
            let actix_ws::Message::Text(text) = message else {
                continue;
            };
            if session.text(text).await.is_err() {
                break;
            }
        }
    });
    Ok(response)
}

/// Installs the process's metrics recorder: tokengate's metrics (and any others) as Prometheus
/// text, durations as histograms with buckets (aggregatable with `histogram_quantile`).
/// tokengate names its metrics as OpenTelemetry does (`tokengate.requests`, unit `{request}`);
/// OpenTelemetry's recommended Prometheus naming prints them as `tokengate_requests_total` and
/// `tokengate_request_duration_seconds` (`docs/observability.md`).
pub fn install_prometheus() -> Result<PrometheusHandle, String> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_recommended_naming(true)
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Prefix("tokengate.".into()),
            tokengate_actix::tokengate::observe::SECONDS_BUCKETS,
        )
        .map_err(|error| error.to_string())?
        .install_recorder()
        .map_err(|error| error.to_string())?;
    tokengate_actix::tokengate::observe::describe();
    Ok(handle)
}
