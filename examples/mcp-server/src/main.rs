//! An MCP server (rmcp, streamable HTTP at `/mcp`) behind tokengate — a template: copy this
//! directory and change the tools and their scopes.
//!
//! It serves only with an explicit issuer and audience (it never trusts anything by default):
//!
//! ```text
//! TOKENGATE_ISSUER=https://login.example.com/ TOKENGATE_AUDIENCE=https://mcp.example.com/mcp \
//!   cargo run -p mcp-server
//! curl -i -X POST http://127.0.0.1:3001/mcp          # 401, WWW-Authenticate names the metadata
//! curl -i http://127.0.0.1:3001/.well-known/oauth-protected-resource/mcp
//! ```
//!
//! For a local trial without an identity provider, the embedded development issuer is an
//! explicit opt-in of this example only: `TOKENGATE_DEV_ISSUER=1 cargo run -p mcp-server
//! --features dev-issuer` prints tokens for each tool.
//!
//! `TOKENGATE_CONFIG=path.toml` reads the verifier's configuration from a file
//! (`examples/tokengate.toml` is a commented sample), and the variables override it.
//!
//! Variables: `TOKENGATE_ISSUER` and `TOKENGATE_AUDIENCE` (required), `TOKENGATE_ADDR` (default
//! `127.0.0.1:3001`), `TOKENGATE_RESOURCE` (RFC 9728 metadata and the audience tokens may name;
//! default: the audience when it is an https URL), `TOKENGATE_JWKS_URL` or `TOKENGATE_JWKS_FILE`
//! (default: OIDC discovery), `TOKENGATE_ALGORITHMS` (e.g. `RS256,ES256`),
//! `TOKENGATE_LEEWAY_SECS`, `TOKENGATE_TRUSTED_PROXIES`, `TOKENGATE_CORS_ORIGINS` (browser
//! origins allowed to call `/mcp`, comma-separated; none by default). DPoP-bound tokens are accepted with a
//! proof. The token this server receives is never forwarded: a tool that calls another API
//! must get its own token for it.

use std::process::ExitCode;

use tokengate::exchange::{Downstream, TokenExchange};
use tokengate_config::{Config, List};
use tokengate_tower::Verifier;
use tokengate_tower::tokengate::fetch::FetchErrorKind;

const NAME: &str = "mcp-server";

/// The verifier this server trusts, and the resource's host: the file named by
/// `TOKENGATE_CONFIG` when it is set, then the `TOKENGATE_*` variables over it
/// (`docs/configuration.md`). Fails closed: without an issuer and an audience there is no
/// verifier, and no service; every mistake is reported at once.
fn verifier_from_env(keep_tokens: bool) -> Result<(Verifier, Vec<String>), String> {
    let defaults = dev_defaults();
    let defaults: Vec<(&str, &str)> = defaults
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    let mut config =
        Config::load_with_defaults(&defaults).map_err(|problems| problems.to_string())?;
    // MCP clients find the authorization server, and the tools' scopes, from the metadata
    // every 401 names.
    let mut hosts = Vec::new();
    if let Some(uri) = config.resource_uri() {
        if let Some(host) = uri
            .split_once("://")
            .and_then(|(_, rest)| rest.split('/').next())
        {
            hosts.push(host.to_owned());
        }
        let resource = config.resource.get_or_insert_with(Default::default);
        resource.uri = Some(uri);
        resource.scopes_supported.get_or_insert_with(|| {
            List(mcp_server::scopes().scopes().map(str::to_owned).collect())
        });
    } else {
        // Discovery would be off silently: MCP clients need `resource_metadata` in the 401.
        eprintln!(
            "{NAME}: warning: no resource is configured (TOKENGATE_RESOURCE, or an https \
             TOKENGATE_AUDIENCE): 401 answers carry no resource_metadata, so MCP clients cannot \
             find the authorization server; set TOKENGATE_RESOURCE to this server's /mcp URL"
        );
    }
    let mut builder = config.builder().map_err(|problems| problems.to_string())?;
    if keep_tokens {
        // `ask_downstream` exchanges the caller's verified token (never forwards it).
        builder = builder.keep_tokens_for_exchange();
    }
    let verifier = builder.build().map_err(|error| error.to_string())?;
    Ok((verifier, hosts))
}

/// The API `ask_downstream` calls, from `TOKENGATE_DOWNSTREAM_URL`, with a token exchanged
/// (RFC 8693) at `TOKENGATE_TOKEN_ENDPOINT` for `TOKENGATE_DOWNSTREAM_AUDIENCE`, this server
/// authenticating as `TOKENGATE_EXCHANGE_CLIENT_ID` with the secret in
/// `TOKENGATE_EXCHANGE_CLIENT_SECRET_FILE`. All or none: a partial setting is an error.
fn downstream_from_env() -> Result<Option<mcp_server::DownstreamApi>, String> {
    let names = [
        "TOKENGATE_DOWNSTREAM_URL",
        "TOKENGATE_DOWNSTREAM_AUDIENCE",
        "TOKENGATE_TOKEN_ENDPOINT",
        "TOKENGATE_EXCHANGE_CLIENT_ID",
        "TOKENGATE_EXCHANGE_CLIENT_SECRET_FILE",
    ];
    let values: Vec<Option<String>> = names.iter().map(|name| var(name)).collect();
    if values.iter().all(Option::is_none) {
        return Ok(None);
    }
    let missing: Vec<&str> = names
        .iter()
        .zip(&values)
        .filter(|(_, value)| value.is_none())
        .map(|(name, _)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "calling a downstream API needs {} as well",
            missing.join(", ")
        ));
    }
    let [url, audience, endpoint, client_id, secret_file] =
        <[Option<String>; 5]>::try_from(values).map_err(|_| "five settings".to_owned())?;
    let (url, audience, endpoint, client_id, secret_file) = (
        url.unwrap_or_default(),
        audience.unwrap_or_default(),
        endpoint.unwrap_or_default(),
        client_id.unwrap_or_default(),
        secret_file.unwrap_or_default(),
    );
    let secret = std::fs::read_to_string(&secret_file).map_err(|error| {
        format!("TOKENGATE_EXCHANGE_CLIENT_SECRET_FILE: {secret_file}: {error}")
    })?;
    let exchange = TokenExchange::endpoint(endpoint)
        .client_secret_basic(client_id, secret.trim_end_matches(['\r', '\n']))
        .downstream(mcp_server::DOWNSTREAM, Downstream::audience(audience))
        .build()
        .map_err(|error| format!("TOKENGATE_TOKEN_ENDPOINT: {error}"))?;
    Ok(Some(mcp_server::DownstreamApi { exchange, url }))
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    #[cfg(feature = "dev-issuer")]
    let _dev = match dev::issuer_if_asked().await {
        Ok(dev) => dev,
        Err(message) => {
            eprintln!("{NAME}: {message}");
            return ExitCode::from(2);
        }
    };
    let downstream = match downstream_from_env() {
        Ok(downstream) => downstream,
        Err(message) => {
            eprintln!("{NAME}: {message}");
            return ExitCode::from(2);
        }
    };
    let (verifier, hosts) = match verifier_from_env(downstream.is_some()) {
        Ok(configured) => configured,
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
    let addr = var("TOKENGATE_ADDR").unwrap_or_else(|| "127.0.0.1:3001".to_owned());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("{NAME}: cannot listen on {addr}: {error}");
            return ExitCode::from(1);
        }
    };
    let addr = listener.local_addr().map_or(addr, |a| a.to_string());
    println!("{NAME} listening on http://{addr}/mcp");
    #[cfg(feature = "dev-issuer")]
    if let Some(dev) = &_dev {
        dev::print_tokens(dev, &addr);
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let settings = mcp_server::Settings {
        hosts,
        cors_origins: var("TOKENGATE_CORS_ORIGINS")
            .map(|list| {
                list.split(',')
                    .map(|origin| origin.trim().to_owned())
                    .filter(|origin| !origin.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        downstream,
    };
    let app = mcp_server::router(verifier, &settings)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
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

/// The embedded development issuer: only in builds with the `dev-issuer` feature, and only
/// when `TOKENGATE_DEV_ISSUER=1` asks for it. It sets `TOKENGATE_ISSUER`, `TOKENGATE_JWKS_URL`
/// and (unless given) `TOKENGATE_AUDIENCE` and `TOKENGATE_RESOURCE` (this server's `/mcp` URL)
/// for this process.
#[cfg(feature = "dev-issuer")]
mod dev {
    use tokengate_testkit::IssuerServer;

    pub(crate) async fn issuer_if_asked() -> Result<Option<IssuerServer>, String> {
        if super::var("TOKENGATE_DEV_ISSUER").as_deref() != Some("1") {
            return Ok(None);
        }
        if super::var("TOKENGATE_ISSUER").is_some() {
            return Err("TOKENGATE_DEV_ISSUER=1 and TOKENGATE_ISSUER: choose one".to_owned());
        }
        let server = IssuerServer::start().await;
        set_override("TOKENGATE_ISSUER", &server.issuer());
        set_override("TOKENGATE_JWKS_URL", &server.jwks_url());
        if super::var("TOKENGATE_AUDIENCE").is_none() {
            // The server's own URL as the resource: its 401s then point MCP clients to the
            // metadata naming the development issuer.
            let addr = super::var("TOKENGATE_ADDR").unwrap_or_else(|| "127.0.0.1:3001".to_owned());
            let resource = format!("http://{addr}/mcp");
            set_override("TOKENGATE_AUDIENCE", &resource);
            set_override("TOKENGATE_RESOURCE", &resource);
        }
        eprintln!(
            "development issuer at {} (local trials only)",
            server.issuer()
        );
        Ok(Some(server))
    }

    fn set_override(name: &str, value: &str) {
        // Editing the process environment is `unsafe` in edition 2024, and this example forbids
        // unsafe code: the values travel through a process-wide map that `var` reads first.
        super::OVERRIDES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_owned(), value.to_owned());
    }

    pub(crate) fn print_tokens(server: &IssuerServer, addr: &str) {
        let audience = super::var("TOKENGATE_AUDIENCE").unwrap_or_default();
        let now = tokengate_testkit::now();
        let token_for = |sub: &str, scope: &str| {
            server.mint(&serde_json::json!({
                "iss": server.issuer(), "sub": sub, "aud": audience, "iat": now,
                "exp": now + 3600, "scope": scope,
            }))
        };
        let token = |scope: &str| token_for("alice", scope);
        println!(
            "Token with messages:read (list_messages):\n  {}",
            token("messages:read")
        );
        println!(
            "Token with messages:read messages:write (both tools):\n  {}",
            token("messages:read messages:write")
        );
        println!(
            "Token for another user (bob, both tools):\n  {}",
            token_for("bob", "messages:read messages:write")
        );
        println!("Point an MCP client at http://{addr}/mcp with one of them as its bearer token.");
    }
}

/// The development issuer's settings, when asked for, as configuration defaults (the file and
/// the environment override them).
fn dev_defaults() -> Vec<(String, String)> {
    #[cfg(feature = "dev-issuer")]
    return OVERRIDES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(|(name, value)| {
            let key = name.strip_prefix(tokengate_config::ENV_PREFIX)?;
            Some((key.to_ascii_lowercase(), value.clone()))
        })
        .collect();
    #[cfg(not(feature = "dev-issuer"))]
    Vec::new()
}

#[cfg(feature = "dev-issuer")]
static OVERRIDES: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, String>>> =
    std::sync::LazyLock::new(Default::default);

fn var(name: &str) -> Option<String> {
    #[cfg(feature = "dev-issuer")]
    if let Some(value) = OVERRIDES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(name)
    {
        return Some(value.clone());
    }
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
