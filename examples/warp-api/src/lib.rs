//! The tokengate reference API on warp (`docs/architecture.md`, "Reference API"), as a filter you can serve or test.
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

use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use serde_json::json;
use tokengate_warp::tokengate::Scopes;
use tokengate_warp::{Live, Requirement, StandardClaims, Verified, Verifier};
use warp::Filter;
use warp::reply::Reply;

/// The reference API guarded by `verifier`, with tokengate's rejections answered and every other
/// rejection (404, 405) left to warp.
pub fn routes(
    verifier: Verifier,
) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    routes_with(verifier, DEFAULT_ADMIN_ACR, None)
}

/// As [`routes`], `/admin` requiring `admin_acr`.
pub fn routes_with(
    verifier: Verifier,
    admin_acr: &str,
    metrics: Option<PrometheusHandle>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone + use<> {
    let ready = {
        let verifier = verifier.clone();
        warp::path!("ready")
            .and(warp::get())
            .map(move || -> warp::reply::Response { verifier.readiness().map(Into::into) })
    };
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .map(move || match &metrics {
            Some(handle) => warp::reply::with_header(
                handle.render(),
                "content-type",
                "text/plain; version=0.0.4",
            )
            .into_response(),
            None => warp::http::StatusCode::NOT_FOUND.into_response(),
        });
    let admin = warp::path!("admin")
        .and(warp::get())
        .and(
            tokengate_warp::Auth::new(verifier.clone())
                .require(admin_requirement(admin_acr))
                .filter(),
        )
        .map(|_: Verified<StandardClaims>| "admin ok".into_response());
    let health = warp::path!("health")
        .and(warp::get())
        .map(|| "ok".into_response());
    let me = warp::path!("me")
        .and(warp::get())
        .and(tokengate_warp::claims::<StandardClaims>(verifier.clone()))
        .map(|claims: Verified<StandardClaims>| {
            warp::reply::json(&Me {
                sub: claims.subject(),
                scopes: claims.scopes(),
            })
            .into_response()
        });
    let messages = warp::path!("messages")
        .and(warp::get())
        .and(tokengate_warp::scoped::<StandardClaims>(
            verifier.clone(),
            Requirement::all(["messages:read"]),
        ))
        .map(|claims: Verified<StandardClaims>| {
            let to = claims.subject().unwrap_or("you").to_owned();
            warp::reply::json(&json!([
                {"id": 1, "to": to, "text": "Welcome to tokengate."},
                {"id": 2, "to": to, "text": "Your token carried messages:read."},
            ]))
            .into_response()
        });
    // `GET /ws`: echoes text messages until the client leaves or the token ends (close 1008).
    let ws = warp::path!("ws")
        .and(warp::get())
        .and(tokengate_warp::Auth::new(verifier.clone()).live_filter())
        .and(warp::ws())
        .map(|live: Live, ws: warp::ws::Ws| {
            live.on_upgrade(ws, |mut socket, _claims| async move {
                while let Some(Ok(message)) = socket.recv().await {
                    if message.is_text() && socket.send(message).await.is_err() {
                        break;
                    }
                }
            })
        });
    let metadata = tokengate_warp::resource_metadata(&verifier);
    let greeting = warp::path!("greeting")
        .and(warp::get())
        .and(tokengate_warp::optional_claims::<StandardClaims>(verifier))
        .map(|claims: Option<Verified<StandardClaims>>| {
            match claims.as_ref().and_then(|c| c.subject()) {
                Some(sub) => format!("Hello, {sub}!"),
                None => "Hello, anonymous!".to_owned(),
            }
            .into_response()
        });
    health
        .or(me)
        .unify()
        .or(messages)
        .unify()
        .or(greeting)
        .unify()
        .or(admin)
        .unify()
        .or(ready)
        .unify()
        .or(metrics)
        .unify()
        .or(metadata)
        .unify()
        .or(ws)
        .unify()
        .recover(tokengate_warp::handle_rejection)
        .unify()
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
            tokengate_warp::tokengate::observe::SECONDS_BUCKETS,
        )
        .map_err(|error| error.to_string())?
        .install_recorder()
        .map_err(|error| error.to_string())?;
    tokengate_warp::tokengate::observe::describe();
    Ok(handle)
}

/// The body of `GET /me`, borrowed from the verified token and serialized as it is: no JSON tree
/// is built per request (a `json!` value cost each `/me` a handful of allocations).
#[derive(Serialize)]
struct Me<'a> {
    sub: Option<&'a str>,
    scopes: &'a Scopes,
}
