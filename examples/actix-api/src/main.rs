//! The tokengate reference API on actix-web — a template: copy this directory and change the routes.
//!
//! It serves only with an explicit issuer and audience (it never trusts anything by default):
//!
//! ```text
//! TOKENGATE_ISSUER=https://dev-123.okta.com/oauth2/default TOKENGATE_AUDIENCE=api://default \
//!   cargo run -p actix-api
//! curl -i http://127.0.0.1:3000/health
//! curl -i -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/me
//! RUST_LOG=tokengate=debug cargo run -p actix-api   # why each token is refused
//! ```
//!
//! For a local trial without an identity provider, `cargo run` at the workspace root starts the
//! demo: this API with a development issuer that prints tokens.
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
use std::time::Duration;

use tokengate_redis::RedisStore;

use actix_web::{App, HttpServer};
use tokengate_actix::tokengate::checks::{CheckContext, Verdict};
use tokengate_actix::tokengate::fetch::FetchErrorKind;
use tokengate_actix::tokengate::{Algorithm, Dpop, Introspection, TokenCache, TrustedProxies};
use tokengate_actix::{Issuer, KeySource, ProtectedResource, Verifier};

const NAME: &str = "actix-api";

/// The verifier this service trusts, from the environment. Fails closed: without an issuer and
/// an audience there is no verifier, and no service.
fn verifier_from_env() -> Result<Verifier, String> {
    let issuer = required(
        "TOKENGATE_ISSUER",
        "the issuer whose tokens this API accepts",
    )?;
    let audience = required(
        "TOKENGATE_AUDIENCE",
        "this API's identifier, which tokens must name in aud",
    )?;
    let keys = match (var("TOKENGATE_JWKS_FILE"), var("TOKENGATE_JWKS_URL")) {
        (Some(path), _) => KeySource::jwks_json(
            std::fs::read_to_string(&path)
                .map_err(|e| format!("TOKENGATE_JWKS_FILE {path}: {e}"))?,
        ),
        (None, Some(url)) => KeySource::jwks_url(url),
        (None, None) => KeySource::discover(),
    };
    // Many instances: replay, revocation and introspection answers shared through Redis.
    let shared = match var("TOKENGATE_REDIS_URL") {
        Some(url) => Some(RedisStore::open(&url).map_err(|e| format!("TOKENGATE_REDIS_URL: {e}"))?),
        None => None,
    };
    let mut issuer = Issuer::new(issuer).audience(&audience).keys(keys);
    if let Some(list) = var("TOKENGATE_ALGORITHMS") {
        let algorithms: Result<Vec<Algorithm>, _> = list.split(',').map(str::parse).collect();
        issuer = issuer.algorithms(algorithms.map_err(|e| format!("TOKENGATE_ALGORITHMS: {e}"))?);
    }
    if flag("TOKENGATE_RFC9068") {
        issuer = issuer.rfc9068();
    }
    // Opaque tokens: checked at the provider's RFC 7662 endpoint (signed tokens stay local);
    // with a client id but no URL, the endpoint comes from the issuer's discovery document.
    let client_id = var("TOKENGATE_INTROSPECTION_CLIENT_ID");
    let introspection = match var("TOKENGATE_INTROSPECTION_URL") {
        Some(url) => Some(Introspection::endpoint(url)),
        None => client_id.is_some().then(Introspection::discover),
    };
    if let Some(mut introspection) = introspection {
        if let Some(store) = &shared {
            introspection = introspection.shared_cache(store.clone());
        }
        issuer = issuer.introspection(introspection_auth(introspection, client_id)?);
    }
    let mut builder = Verifier::builder().issuer(issuer);
    if let Some(store) = shared {
        builder = builder
            .dpop(Dpop::new().replay_store(store.clone()))
            .revocation(store);
    }
    // RFC 9728 metadata, named in every 401/403: TOKENGATE_RESOURCE, else an https audience.
    let resource =
        var("TOKENGATE_RESOURCE").or(Some(audience).filter(|a| a.starts_with("https://")));
    if let Some(resource) = resource {
        builder = builder.resource(ProtectedResource::new(resource));
    }
    if let Some(secs) = var("TOKENGATE_LEEWAY_SECS") {
        let secs = secs
            .parse()
            .map_err(|_| "TOKENGATE_LEEWAY_SECS: not a number of seconds")?;
        builder = builder.leeway(Duration::from_secs(secs));
    }
    if flag("TOKENGATE_CACHE") {
        builder = builder.cache(TokenCache::new());
    }
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
    // Behind a TLS-terminating proxy: believe its Forwarded / X-Forwarded-* headers (for the
    // URL a DPoP proof names) from these addresses only.
    if let Some(list) = var("TOKENGATE_TRUSTED_PROXIES") {
        let proxies = TrustedProxies::new(list.split(','))
            .map_err(|e| format!("TOKENGATE_TRUSTED_PROXIES: {e}"))?;
        builder = builder.trusted_proxies(proxies);
    }
    builder.build().map_err(|e| format!("configuration: {e}"))
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    // TOKENGATE_METRICS=1: tokengate's metrics as Prometheus text at /metrics.
    let metrics = if flag("TOKENGATE_METRICS") {
        match actix_api::install_prometheus() {
            Ok(handle) => Some(handle),
            Err(error) => {
                eprintln!("{NAME}: cannot install the metrics recorder: {error}");
                return ExitCode::from(1);
            }
        }
    } else {
        None
    };
    actix_web::rt::System::new().block_on(run(metrics))
}

async fn run(metrics: Option<metrics_exporter_prometheus::PrometheusHandle>) -> ExitCode {
    let verifier = match verifier_from_env() {
        Ok(verifier) => verifier,
        Err(message) => {
            eprintln!("{NAME}: {message}");
            return ExitCode::from(2);
        }
    };
    if let Err(code) = keys_at_start(&verifier).await {
        return code;
    }
    let addr = var("TOKENGATE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let configure = actix_api::configure_with(verifier, admin_acr(), metrics);
    let server = match HttpServer::new(move || App::new().configure(configure.clone())).bind(&addr)
    {
        Ok(server) => server,
        Err(error) => {
            eprintln!("{NAME}: cannot listen on {addr}: {error}");
            return ExitCode::from(1);
        }
    };
    for addr in server.addrs() {
        println!("{NAME} listening on http://{addr}");
    }
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{NAME}: {error}");
            ExitCode::from(1)
        }
    }
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

/// The client authentication for introspection: `client_secret_basic` with the id and secret.
fn introspection_auth(
    introspection: Introspection,
    client_id: Option<String>,
) -> Result<Introspection, String> {
    Ok(match client_id {
        Some(id) => {
            let secret = required(
                "TOKENGATE_INTROSPECTION_CLIENT_SECRET",
                "the client's secret",
            )?;
            introspection.client_secret_basic(id, secret)
        }
        None => introspection,
    })
}

/// The `acr` that `/admin` requires (step-up): `TOKENGATE_ADMIN_ACR`, else the default.
fn admin_acr() -> String {
    var("TOKENGATE_ADMIN_ACR").unwrap_or_else(|| actix_api::DEFAULT_ADMIN_ACR.to_owned())
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn required(name: &str, what: &str) -> Result<String, String> {
    var(name).ok_or_else(|| format!("{name} is not set ({what}); nothing is trusted by default"))
}

fn flag(name: &str) -> bool {
    var(name).is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}
