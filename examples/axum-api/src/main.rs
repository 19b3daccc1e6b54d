//! The tokengate reference API on axum — a template: copy this directory and change the routes.
//!
//! It serves only with an explicit issuer and audience (it never trusts anything by default):
//!
//! ```text
//! TOKENGATE_ISSUER=https://dev-123.okta.com/oauth2/default TOKENGATE_AUDIENCE=api://default \
//!   cargo run -p axum-api
//! curl -i http://127.0.0.1:3000/health
//! curl -i -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/me
//! RUST_LOG=tokengate=debug cargo run -p axum-api   # why each token is refused
//! ```
//!
//! For a local trial without an identity provider, `cargo run` at the workspace root starts the
//! demo: this API with a development issuer that prints tokens.
//!
//! `TOKENGATE_CONFIG=path.toml` reads the verifier's configuration from a file
//! (`examples/tokengate.toml` is a commented sample; `tokengate check-config` checks one), and
//! the variables below override it (they are that file's keys, upper-cased and prefixed).
//!
//! Variables: `TOKENGATE_ISSUER` and `TOKENGATE_AUDIENCE` (required), `TOKENGATE_ADDR` (default
//! `127.0.0.1:3000`), `TOKENGATE_JWKS_URL` or `TOKENGATE_JWKS_FILE` (default: OIDC discovery),
//! `TOKENGATE_ALGORITHMS` (e.g. `RS256,ES256`), `TOKENGATE_LEEWAY_SECS`, `TOKENGATE_RFC9068=1`,
//! `TOKENGATE_CACHE=1`, `TOKENGATE_RESOURCE` (RFC 9728 metadata; default: the audience when it
//! is an https URL); for opaque tokens `TOKENGATE_INTROSPECTION_URL`,
//! `TOKENGATE_INTROSPECTION_CLIENT_ID` and `TOKENGATE_INTROSPECTION_CLIENT_SECRET`; behind a
//! TLS-terminating proxy `TOKENGATE_TRUSTED_PROXIES` (addresses or CIDR networks, comma-separated);
//! for many instances `TOKENGATE_REDIS_URL` (DPoP replay, revocation and introspection answers
//! shared through Redis); `TOKENGATE_ADMIN_ACR` (the step-up `acr` of `/admin`, default
//! `urn:tokengate:mfa`); `TOKENGATE_SUSPENDED_SUBJECTS` (a custom check: these subjects are
//! refused, comma-separated).
//!
//! DPoP-bound tokens (RFC 9449) are accepted with no setting: such a token needs a valid proof
//! (`Authorization: DPoP <token>` and a `DPoP` header); bearer tokens keep working. See
//! `docs/guide.md`, "DPoP and certificate-bound tokens".

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::Arc;

use tokengate_config::Config;
use tokengate_tower::Verifier;
use tokengate_tower::tokengate::adapter::ConnectionInfo;
use tokengate_tower::tokengate::checks::{CheckContext, Verdict};
use tokengate_tower::tokengate::fetch::FetchErrorKind;

const NAME: &str = "axum-api";

/// The verifier this service trusts: the file named by `TOKENGATE_CONFIG` when it is set,
/// then the `TOKENGATE_*` variables over it (`docs/configuration.md`). Fails closed: without an
/// issuer and an audience there is no verifier, and no service; every mistake is reported at
/// once, each with its key (and the variable that set it).
fn verifier_from_env() -> Result<Verifier, String> {
    let config = Config::load().map_err(|problems| problems.to_string())?;
    let mut builder = config.builder().map_err(|problems| problems.to_string())?;
    // A custom check (after every built-in one): accounts suspended by the operator are
    // refused on every route, whatever their tokens say. Real services ask their database.
    if let Some(list) = var("TOKENGATE_SUSPENDED_SUBJECTS") {
        let suspended: Arc<HashSet<String>> =
            Arc::new(list.split(',').map(|s| s.trim().to_owned()).collect());
        builder = builder.check(move |cx: &CheckContext<'_>| {
            let refused = cx.subject().is_some_and(|sub| suspended.contains(sub));
            async move {
                if refused {
                    Verdict::InvalidToken
                } else {
                    Verdict::Admit
                }
            }
        });
    }
    builder.build().map_err(|e| format!("configuration: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    // TOKENGATE_METRICS=1: tokengate's metrics as Prometheus text at /metrics.
    let metrics = if flag("TOKENGATE_METRICS") {
        match axum_api::install_prometheus() {
            Ok(handle) => Some(handle),
            Err(error) => {
                eprintln!("{NAME}: cannot install the metrics recorder: {error}");
                return ExitCode::from(1);
            }
        }
    } else {
        None
    };
    let verifier = match verifier_from_env() {
        Ok(verifier) => verifier,
        Err(message) => {
            // One line per problem: the configuration's key, and what is wrong with it.
            for line in message.lines() {
                eprintln!("{NAME}: {line}");
            }
            return ExitCode::from(2);
        }
    };
    if let Err(code) = keys_at_start(&verifier).await {
        return code;
    }
    let addr = var("TOKENGATE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("{NAME}: cannot listen on {addr}: {error}");
            return ExitCode::from(1);
        }
    };
    let addr = listener.local_addr().map_or(addr, |a| a.to_string());
    println!("{NAME} listening on http://{addr}");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let app = axum_api::router_with(verifier, &admin_acr(), metrics)
        .layer(axum::middleware::from_fn(connection_info));
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    match axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{NAME}: {error}");
            ExitCode::from(1)
        }
    }
}

/// Hands each request's peer address to tokengate, which believes forwarding headers only
/// from `TOKENGATE_TRUSTED_PROXIES`. (A server with its own mutual TLS also sets
/// `client_certificate` here, from the handshake: see `docs/guide.md`.)
async fn connection_info(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0);
    request.extensions_mut().insert(ConnectionInfo {
        peer,
        client_certificate: None,
    });
    next.run(request).await
}

/// Fetches the keys before serving. An issuer mismatch in discovery is a configuration error
/// (exit 2); any other failure is reported and the service starts (answering 503 until keys
/// load).
async fn keys_at_start(verifier: &Verifier) -> Result<(), ExitCode> {
    if verifier.ready().await.is_ok() {
        return Ok(());
    }
    for issuer in verifier.health() {
        let Some(why) = issuer.last_failure_message else {
            continue;
        };
        if issuer.last_failure == Some(FetchErrorKind::IssuerMismatch) {
            eprintln!("{NAME}: configuration error: {why}");
            return Err(ExitCode::from(2));
        }
        eprintln!(
            "{NAME}: keys of {} unavailable, answering 503 until they load: {why}",
            issuer.issuer
        );
    }
    Ok(())
}

/// The `acr` that `/admin` requires (step-up): `TOKENGATE_ADMIN_ACR`, else the default.
fn admin_acr() -> String {
    var("TOKENGATE_ADMIN_ACR").unwrap_or_else(|| axum_api::DEFAULT_ADMIN_ACR.to_owned())
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn flag(name: &str) -> bool {
    var(name).is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}
