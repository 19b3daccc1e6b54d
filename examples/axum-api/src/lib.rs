//! The tokengate reference API on axum (`docs/architecture.md`, "Reference API"), as a router you can serve or test.
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
//! | `GET /events` | valid token | server-sent events, `data: <n>` every second, ending when the token does |
//! | `GET /.well-known/oauth-protected-resource[/path]` | public | RFC 9728 metadata, when the verifier has a resource |
//!
//! It shows both modes: `/me` and `/greeting` use extractors with the `Verifier` in the router
//! state; `/messages` uses the layer as a per-route scope requirement.

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use serde_json::{Value, json};
use tokengate_tower::tokengate::Scopes;
use tokengate_tower::tokengate::live::Stream;
use tokengate_tower::{AuthLayer, Claims, Live, Requirement, ResourceMetadata, Verifier};

/// The reference API guarded by `verifier`, with its RFC 9728 metadata document when the
/// verifier has a resource, and [`DEFAULT_ADMIN_ACR`] for `/admin`.
pub fn router(verifier: Verifier) -> Router {
    router_with(verifier, DEFAULT_ADMIN_ACR, None)
}

/// As [`router`], `/admin` requiring `admin_acr`, and `/metrics` (Prometheus text) when a
/// recorder's handle is given.
pub fn router_with(
    verifier: Verifier,
    admin_acr: &str,
    metrics: Option<PrometheusHandle>,
) -> Router {
    let read_messages = AuthLayer::new(verifier.clone()).require_scopes(["messages:read"]);
    let admin_only = AuthLayer::new(verifier.clone()).require(admin_requirement(admin_acr));
    let metadata = ResourceMetadata::new(&verifier);
    Router::new()
        .route_service(metadata.path(), metadata.clone())
        .route("/health", get(health))
        .route("/me", get(me))
        .route("/messages", get(messages).route_layer(read_messages))
        .route("/greeting", get(greeting))
        .route("/admin", get(admin).route_layer(admin_only))
        .route("/ready", get(ready))
        .route("/ws", get(echo))
        .route("/events", get(events))
        .route(
            "/metrics",
            get(move || {
                let text = metrics.as_ref().map(PrometheusHandle::render);
                async move {
                    match text {
                        Some(text) => ([(CONTENT_TYPE, PROMETHEUS_TEXT)], text).into_response(),
                        None => StatusCode::NOT_FOUND.into_response(),
                    }
                }
            }),
        )
        .with_state(verifier)
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

/// The Prometheus text format's content type.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4";

/// 200 when every issuer's keys are usable, else 503; a JSON body per issuer.
async fn ready(State(verifier): State<Verifier>) -> Response {
    verifier.readiness().map(Body::from).into_response()
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

async fn me(claims: Claims) -> Response {
    Json(Me {
        sub: claims.subject(),
        scopes: claims.scopes(),
    })
    .into_response()
}

async fn messages(claims: Claims) -> Json<Value> {
    let to = claims.subject().unwrap_or("you");
    Json(json!([
        {"id": 1, "to": to, "text": "Welcome to tokengate."},
        {"id": 2, "to": to, "text": "Your token carried messages:read."},
    ]))
}

async fn greeting(claims: Option<Claims>) -> String {
    match claims.as_ref().and_then(|c| c.subject()) {
        Some(sub) => format!("Hello, {sub}!"),
        None => "Hello, anonymous!".to_owned(),
    }
}

/// `GET /ws`: echoes text messages until the client leaves or the token ends (close 1008).
async fn echo(upgrade: WebSocketUpgrade, live: Live) -> Response {
    live.on_upgrade(upgrade, |mut socket, _claims| async move {
        while let Some(Ok(message)) = socket.recv().await {
            if let Message::Text(_) = message {
                if socket.send(message).await.is_err() {
                    break;
                }
            }
        }
    })
}

/// `GET /events`: a counter every second, as server-sent events, until the token ends.
async fn events(live: Live) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let ticks = futures_util::stream::unfold(0u64, |n| async move {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        Some((Ok(Event::default().data(n.to_string())), n + 1))
    });
    Sse::new(live.stream(ticks))
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
            tokengate_tower::tokengate::observe::SECONDS_BUCKETS,
        )
        .map_err(|error| error.to_string())?
        .install_recorder()
        .map_err(|error| error.to_string())?;
    tokengate_tower::tokengate::observe::describe();
    Ok(handle)
}
