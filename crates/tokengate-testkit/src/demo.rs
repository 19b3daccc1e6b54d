//! What every example API shares: its `TOKENGATE_*` settings and, without `TOKENGATE_ISSUER`,
//! the development issuer with printed tokens and curl lines.

use std::time::Duration;

use serde_json::json;
use tokengate::{Algorithm, Issuer, KeySource, Verifier};

use crate::IssuerServer;

/// Configuration from `TOKENGATE_*` environment variables.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `TOKENGATE_ADDR` (default `127.0.0.1:3000`).
    pub addr: String,
    /// `TOKENGATE_ISSUER`: the expected `iss`; `None` starts the development issuer.
    pub issuer: Option<String>,
    /// `TOKENGATE_JWKS_URL`: keys from this URL instead of discovery.
    pub jwks_url: Option<String>,
    /// `TOKENGATE_AUDIENCE` (default `tokengate-demo`).
    pub audience: String,
    /// `TOKENGATE_ALGORITHMS`: comma list (default: the asymmetric algorithms).
    pub algorithms: Vec<Algorithm>,
    /// `TOKENGATE_LEEWAY_SECS` (default 60).
    pub leeway: Duration,
    /// `TOKENGATE_RFC9068=1`: the strict access-token profile.
    pub rfc9068: bool,
    /// `TOKENGATE_CACHE=1`: cache verified tokens.
    pub cache: bool,
    /// `TOKENGATE_JWKS_FILE`: keys from this local JWKS file (HMAC keys allowed) instead of
    /// fetching them.
    pub jwks_file: Option<String>,
}

impl Settings {
    /// Reads the environment.
    ///
    /// # Errors
    /// A message naming the variable with an invalid value.
    pub fn from_env() -> Result<Settings, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let algorithms = match var("TOKENGATE_ALGORITHMS") {
            Some(list) => list
                .split(',')
                .map(|a| {
                    a.trim()
                        .parse::<Algorithm>()
                        .map_err(|_| format!("TOKENGATE_ALGORITHMS: unknown algorithm {a:?}"))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Algorithm::ASYMMETRIC.to_vec(),
        };
        let leeway = match var("TOKENGATE_LEEWAY_SECS") {
            Some(secs) => Duration::from_secs(
                secs.trim()
                    .parse()
                    .map_err(|_| "TOKENGATE_LEEWAY_SECS: not a number of seconds".to_owned())?,
            ),
            None => tokengate::DEFAULT_LEEWAY,
        };
        Ok(Settings {
            addr: var("TOKENGATE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned()),
            issuer: var("TOKENGATE_ISSUER"),
            jwks_url: var("TOKENGATE_JWKS_URL"),
            audience: var("TOKENGATE_AUDIENCE").unwrap_or_else(|| "tokengate-demo".to_owned()),
            algorithms,
            leeway,
            jwks_file: var("TOKENGATE_JWKS_FILE"),
            cache: var("TOKENGATE_CACHE")
                .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true")),
            rfc9068: var("TOKENGATE_RFC9068")
                .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true")),
        })
    }

    /// The verifier for `issuer` (the configured one, or the development issuer's).
    ///
    /// # Errors
    /// The configuration error, as text.
    pub fn verifier(&self, issuer: &str) -> Result<Verifier, String> {
        let keys = match (&self.jwks_file, &self.jwks_url) {
            (Some(path), _) => KeySource::jwks_json(
                std::fs::read_to_string(path).map_err(|e| format!("TOKENGATE_JWKS_FILE: {e}"))?,
            ),
            (None, Some(url)) => KeySource::jwks_url(url),
            (None, None) => KeySource::discover(),
        };
        let mut issuer = Issuer::new(issuer)
            .audience(&self.audience)
            .algorithms(self.algorithms.clone())
            .keys(keys);
        if self.rfc9068 {
            issuer = issuer.rfc9068();
        }
        let mut builder = Verifier::builder().issuer(issuer).leeway(self.leeway);
        if self.cache {
            builder = builder.cache(tokengate::TokenCache::new());
        }
        builder.build().map_err(|e| e.to_string())
    }
}

/// The issuer to verify against: the configured one, or a development issuer started on
/// loopback (kept alive by the returned server).
pub async fn issuer(settings: &Settings) -> (String, Option<IssuerServer>) {
    match &settings.issuer {
        Some(issuer) => (issuer.clone(), None),
        None => {
            let server = IssuerServer::start().await;
            (server.issuer(), Some(server))
        }
    }
}

/// Prints a token with `messages:read`, one without, and a curl line per route.
pub fn print_demo(server: &IssuerServer, audience: &str, base: &str) {
    let now = crate::now();
    let claims = |sub: &str, scope: &str| {
        json!({
            "iss": server.issuer(), "sub": sub, "aud": audience, "iat": now, "nbf": now,
            "exp": now + 3600, "client_id": "demo-client", "scope": scope,
        })
    };
    let reader = server.mint(&claims("alice", "openid profile messages:read"));
    let visitor = server.mint(&claims("bob", "openid profile"));
    println!();
    println!("Development issuer (loopback only; set TOKENGATE_ISSUER to use yours).");
    println!("Token for alice, with messages:read (valid 1 h):\n  {reader}");
    println!("Token for bob, without messages:read:\n  {visitor}");
    println!();
    println!("Try:");
    println!("  curl -i {base}/health");
    println!("  curl -i {base}/me                                             # 401, no token");
    println!("  curl -i -H 'Authorization: Bearer {reader}' {base}/me");
    println!("  curl -i -H 'Authorization: Bearer {reader}' {base}/messages");
    println!(
        "  curl -i -H 'Authorization: Bearer {visitor}' {base}/messages   # 403 insufficient_scope"
    );
    println!("  curl -i {base}/greeting");
    println!("  curl -i -H 'Authorization: Bearer {visitor}' {base}/greeting");
    println!();
}

/// A prepared example API: its verifier, a bound listener, and the development issuer kept
/// alive (when one was started).
#[derive(Debug)]
pub struct Demo {
    /// The verifier built from the settings.
    pub verifier: Verifier,
    /// The listener on `TOKENGATE_ADDR` (non-blocking, ready for any runtime).
    pub listener: std::net::TcpListener,
    _dev_issuer: Option<IssuerServer>,
}

/// What every example does before serving: read the settings, start the development issuer
/// when `TOKENGATE_ISSUER` is unset, build the verifier, fetch its keys (`ready`), bind
/// `TOKENGATE_ADDR`, and print where it listens (plus tokens and curl lines for the development
/// issuer). Messages name the example (`name`).
///
/// # Errors
/// The exit code after printing why: 2 for configuration errors, 1 when the address cannot be
/// bound.
pub async fn prepare(name: &str) -> Result<Demo, std::process::ExitCode> {
    let fail = |code: u8, message: String| {
        eprintln!("{name}: {message}");
        std::process::ExitCode::from(code)
    };
    let settings = Settings::from_env().map_err(|m| fail(2, m))?;
    let (issuer, dev_issuer) = self::issuer(&settings).await;
    let verifier = settings.verifier(&issuer).map_err(|m| fail(2, m))?;
    if let Err(error) = verifier.ready().await {
        eprintln!(
            "{name}: the issuer's keys are not available yet ({}); requests will retry",
            error.code()
        );
    }
    let listener = std::net::TcpListener::bind(&settings.addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| fail(1, format!("cannot listen on {}: {e}", settings.addr)))?;
    let base = format!(
        "http://{}",
        listener
            .local_addr()
            .map_or(settings.addr.clone(), |a| a.to_string())
    );
    println!("tokengate {name} listening on {base}");
    println!("issuer: {issuer}  audience: {}", settings.audience);
    if let Some(server) = &dev_issuer {
        print_demo(server, &settings.audience, &base);
    }
    Ok(Demo {
        verifier,
        listener,
        _dev_issuer: dev_issuer,
    })
}
