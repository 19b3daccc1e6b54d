//! `tokengate`: verify and decode access tokens from the shell.
//!
//! ```text
//! tokengate verify --issuer ISS --audience AUD [--jwks FILE|URL | --key FILE | --secret-file FILE] [--decryption-key FILE]
//!                  [--alg A,B] [--leeway S] [--rfc9068] [--now UNIX] [--pretty]
//!                  [--introspect URL [--client-id ID --client-secret-file FILE]] [TOKEN ...]
//! tokengate decode [--pretty] [--now UNIX] TOKEN|-
//! tokengate revoke --redis URL --issuer ISS (--jti ID | --sub SUB [--before UNIX]) --until UNIX
//! tokengate check-config [--online] [--ignore-env] FILE
//! tokengate dpop-key [--out FILE]
//! tokengate dpop-proof --key FILE --method M --url URL [--token TOKEN] [--nonce N]
//! ```
//!
//! `revoke` cuts a token off across every instance sharing the Redis (`tokengate-redis`): one
//! token by its `jti`, or every token of a subject issued before `--before` (default: now),
//! remembered until `--until` (when those tokens expire anyway). The URL may also come from
//! `TOKENGATE_REDIS_URL` (it can hold a password: prefer the variable to the command line).
//!
//! `check-config` reads a configuration file as the services do (`tokengate-config`: the file,
//! then the `TOKENGATE_*` environment over it unless `--ignore-env`), prints every problem with
//! its key, or what each issuer is configured with; `--online` also performs discovery and the
//! first key fetch for every issuer and prints what it found (keys and their algorithms, the
//! introspection endpoint, the resource's metadata) and what failed. Exit codes: 0 valid (and,
//! online, every issuer's keys loaded), 1 problems found, 2 usage errors (no such file).
//!
//! `dpop-key` writes a new P-256 key (PKCS#8 PEM) and prints its JWK and thumbprint (the
//! `cnf.jkt` an issuer binds tokens to); `dpop-proof` prints a DPoP proof (RFC 9449) for one
//! request, to send with curl:
//!
//! ```text
//! PROOF=$(tokengate dpop-proof --key client.pem --method GET --url http://127.0.0.1:3000/me --token "$TOKEN")
//! curl -H "Authorization: DPoP $TOKEN" -H "DPoP: $PROOF" http://127.0.0.1:3000/me
//! ```
//!
//! Install: `cargo install tokengate-cli` (from a checkout: `cargo install --path crates/tokengate-cli`).
//!
//! Without a key option, keys come from the issuer's OIDC discovery (or RFC 8414) document.
//! `verify` prints one JSON object per token per line, each with the `line` (or argument number) it
//! came from, and exits 0 when all are valid, 1 when any
//! is not, 2 for usage or configuration errors and when there was no token to verify. Tokens
//! come from the arguments (an empty argument is an empty, malformed token), else one per
//! non-blank line of standard input.

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use tokengate::clock::{Clock, FixedClock, SystemClock};
use tokengate::keys::DecryptionKey;
use tokengate::{Algorithm, Issuer, KeySource, Verifier, introspection::Introspection};

mod check_config;
mod dpop;

#[derive(Parser)]
#[command(
    name = "tokengate",
    version,
    about = "Verify and decode OAuth 2.0 / OIDC access tokens (JWT)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify tokens: signature, expiry, issuer, audience, type. One JSON line per token.
    Verify(Box<VerifyArgs>),
    /// Print a token's header and claims WITHOUT verifying anything.
    Decode {
        /// The token, or `-` to read it from standard input.
        token: String,
        /// Indented output, with `exp`, `nbf` and `iat` also shown relative to now.
        #[arg(long)]
        pretty: bool,
        /// Judge "now" as this Unix time (for --pretty).
        #[arg(long, value_name = "UNIX")]
        now: Option<u64>,
    },
    /// Revoke a token (by jti) or a subject's tokens across every instance sharing a Redis.
    Revoke {
        /// The shared store (`redis://` or `rediss://`); default `TOKENGATE_REDIS_URL`.
        #[arg(
            long,
            value_name = "URL",
            env = "TOKENGATE_REDIS_URL",
            hide_env_values = true
        )]
        redis: String,
        /// The issuer of the tokens (`iss`, exactly).
        #[arg(long)]
        issuer: String,
        /// The token's `jti`.
        #[arg(long, conflicts_with = "sub", required_unless_present = "sub")]
        jti: Option<String>,
        /// The subject (`sub`) whose tokens to revoke.
        #[arg(long)]
        sub: Option<String>,
        /// With --sub: tokens issued before this Unix time (default: now).
        #[arg(long, value_name = "UNIX", requires = "sub")]
        before: Option<u64>,
        /// Remember the revocation until this Unix time (the tokens' latest `exp`).
        #[arg(long, value_name = "UNIX")]
        until: u64,
    },
    /// Check a configuration file (tokengate-config): every problem with its key; with
    /// --online, discovery and the first key fetch for every issuer.
    CheckConfig {
        /// The TOML file.
        file: PathBuf,
        /// Also fetch discovery documents and keys, and report what was found.
        #[arg(long)]
        online: bool,
        /// Read the file alone, without the TOKENGATE_* variables over it.
        #[arg(long)]
        ignore_env: bool,
    },
    /// API keys: `apikey new` makes one.
    Apikey {
        #[command(subcommand)]
        action: ApikeyCommand,
    },
    /// Write a new DPoP key (P-256, PKCS#8 PEM) and print its JWK and thumbprint (`jkt`).
    DpopKey {
        /// Where to write the key (default: standard output).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print a DPoP proof for one request, signed with a key from `dpop-key`.
    DpopProof {
        /// The client's key (P-256, PKCS#8 PEM).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The request's method.
        #[arg(long, default_value = "GET")]
        method: String,
        /// The request's URL (query and fragment are ignored by the server).
        #[arg(long)]
        url: String,
        /// The access token the proof goes with (`ath`).
        #[arg(long)]
        token: Option<String>,
        /// The server's nonce (from a `DPoP-Nonce` header).
        #[arg(long)]
        nonce: Option<String>,
    },
}

#[derive(Subcommand)]
enum ApikeyCommand {
    /// Print a new API key (256 random bits) and the line that configures it: the key is
    /// shown once and stored nowhere; the configuration holds only its hash.
    New {
        /// Which key this is (logs, rotation), e.g. `billing-2026`.
        #[arg(long)]
        label: String,
        /// The principal its requests act as (their `sub`).
        #[arg(long)]
        principal: String,
        /// A scope its requests have (repeat for more).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
    },
}

#[derive(Parser)]
struct VerifyArgs {
    /// The expected `iss` (exact match).
    #[arg(long)]
    issuer: String,
    /// An accepted audience (repeat for more).
    #[arg(long = "audience", required = true)]
    audiences: Vec<String>,
    /// A JWKS document: a file, or an https:// URL (http:// only to loopback hosts).
    /// Without --jwks, --key or --secret-file, keys come from the issuer's discovery document.
    #[arg(long, value_name = "PATH|URL", conflicts_with_all = ["key", "secret_file"])]
    jwks: Option<String>,
    /// A public key file: PEM (`PUBLIC KEY`, `RSA PUBLIC KEY`) or DER.
    #[arg(long, value_name = "PATH", conflicts_with = "secret_file")]
    key: Option<PathBuf>,
    /// A file holding the HMAC secret (raw bytes; at least 32).
    #[arg(long, value_name = "PATH")]
    secret_file: Option<PathBuf>,
    /// Allowed algorithms, comma-separated. Default: every asymmetric algorithm, or
    /// HS256,HS384,HS512 with --secret-file.
    #[arg(long = "alg", value_name = "A,B", value_delimiter = ',')]
    algorithms: Vec<Algorithm>,
    /// Tolerated clock skew in seconds (at most 300).
    #[arg(long, value_name = "S", default_value_t = 60)]
    leeway: u64,
    /// RFC 9068 access-token profile: typ at+jwt and iss exp aud sub client_id iat jti required.
    #[arg(long)]
    rfc9068: bool,
    /// Judge time as if it were this Unix time.
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
    /// Check opaque tokens at this RFC 7662 introspection endpoint (signed tokens still verify
    /// locally).
    #[arg(long, value_name = "URL")]
    introspect: Option<String>,
    /// The client id for --introspect (client_secret_basic).
    #[arg(long, value_name = "ID", requires_all = ["introspect", "client_secret_file"])]
    client_id: Option<String>,
    /// A file holding the client secret for --introspect.
    #[arg(long, value_name = "PATH", requires = "client_id")]
    client_secret_file: Option<PathBuf>,
    /// Decrypt encrypted tokens (JWE) with the key in this file (PEM private key, JWK or JWK
    /// Set; repeat for more), then verify the JWT inside.
    #[arg(long = "decryption-key", value_name = "PATH")]
    decryption_keys: Vec<PathBuf>,
    /// Indented output, with `exp`, `nbf` and `iat` also shown relative to now.
    #[arg(long)]
    pretty: bool,
    /// Tokens to verify; without any, one per line of standard input.
    tokens: Vec<String>,
}

fn main() -> ExitCode {
    if std::env::args_os().len() == 1 {
        let mut command = <Cli as clap::CommandFactory>::command();
        let _ = command.print_help();
        return ExitCode::SUCCESS;
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Verify(args) => verify(*args),
        Command::Decode { token, pretty, now } => decode(&token, pretty, now),
        Command::Revoke {
            redis,
            issuer,
            jti,
            sub,
            before,
            until,
        } => revoke(&redis, &issuer, jti, sub, before, until),
        Command::CheckConfig {
            file,
            online,
            ignore_env,
        } => check_config::run(&file, online, ignore_env),
        Command::Apikey {
            action:
                ApikeyCommand::New {
                    label,
                    principal,
                    scopes,
                },
        } => apikey_new(&label, &principal, &scopes),
        Command::DpopKey { out } => dpop_key(out.as_deref()),
        Command::DpopProof {
            key,
            method,
            url,
            token,
            nonce,
        } => match dpop::load(&key)
            .and_then(|pair| dpop::proof(&pair, &method, &url, token.as_deref(), nonce.as_deref()))
        {
            Ok(proof) => {
                println!("{proof}");
                ExitCode::SUCCESS
            }
            Err(message) => fail(message),
        },
    }
}

fn revoke(
    url: &str,
    issuer: &str,
    jti: Option<String>,
    sub: Option<String>,
    before: Option<u64>,
    until: u64,
) -> ExitCode {
    use tokengate::store::RevocationList;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(format!("no runtime: {error}")),
    };
    let now = SystemClock.now_unix();
    if until <= now {
        return fail("--until is in the past: those tokens have expired already");
    }
    let outcome = runtime.block_on(async {
        let store = tokengate_redis::RedisStore::open(url).map_err(|e| e.to_string())?;
        let (written, what) = match (jti, sub) {
            (Some(jti), _) => (
                store.revoke_jti(issuer, &jti, until).await,
                json!({"jti": jti}),
            ),
            (None, Some(sub)) => {
                let before = before.unwrap_or(now);
                let written = store.revoke_subject(issuer, &sub, before, until).await;
                (written, json!({"sub": sub, "issued_before": before}))
            }
            (None, None) => return Err("give --jti or --sub".to_owned()),
        };
        written.map_err(|_| {
            format!(
                "the store could not be written: {:?}",
                store.health().last_error
            )
        })?;
        Ok(what)
    });
    match outcome {
        Ok(mut what) => {
            what["revoked"] = json!(true);
            what["issuer"] = json!(issuer);
            what["until"] = json!(until);
            println!("{what}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("tokengate: {message}");
            ExitCode::from(1)
        }
    }
}

/// `apikey new`: the key, then its line for an `api_keys.file` and for `[[api_keys.keys]]`.
fn apikey_new(label: &str, principal: &str, scopes: &[String]) -> ExitCode {
    let words_ok = |text: &str| !text.is_empty() && !text.chars().any(char::is_whitespace);
    if !words_ok(label) || !words_ok(principal) || !scopes.iter().all(|s| words_ok(s)) {
        return fail("label, principal and scopes are single words");
    }
    let generated = tokengate::apikey::generate();
    let mut line = format!("{label} {principal} {}", generated.hash);
    for scope in scopes {
        line.push(' ');
        line.push_str(scope);
    }
    println!("# The key: give it to the caller once; it is stored nowhere.");
    println!("{}", generated.key);
    println!("# A line for the api_keys file (TOKENGATE_API_KEYS__FILE):");
    println!("{line}");
    println!("# Or in tokengate.toml:");
    println!("[[api_keys.keys]]");
    println!("label = {label:?}");
    println!("principal = {principal:?}");
    println!("hash = {:?}", generated.hash);
    println!("scopes = {scopes:?}");
    ExitCode::SUCCESS
}

fn dpop_key(out: Option<&std::path::Path>) -> ExitCode {
    let pem = match dpop::generate() {
        Ok(pem) => pem,
        Err(message) => return fail(message),
    };
    let Some(path) = out else {
        print!("{pem}");
        return ExitCode::SUCCESS;
    };
    if let Err(error) = write_private(path, &pem) {
        return fail(format!("{}: {error}", path.display()));
    }
    match dpop::load(path) {
        Ok(pair) => {
            let (jwk, jkt) = dpop::public(&pair);
            println!("{}", json!({"jkt": jkt, "jwk": jwk}));
            ExitCode::SUCCESS
        }
        Err(message) => fail(message),
    }
}

/// Writes a private key readable by its owner only.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("tokengate: {message}");
    ExitCode::from(2)
}

fn build(args: &VerifyArgs) -> Result<Verifier, String> {
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let (source, symmetric) = match (&args.jwks, &args.key, &args.secret_file) {
        (Some(url), _, _) if url.starts_with("https://") || url.starts_with("http://") => {
            (KeySource::jwks_url(url), false)
        }
        (Some(path), _, _) => {
            let path = PathBuf::from(path);
            let text = String::from_utf8(read(&path)?)
                .map_err(|_| format!("{} is not UTF-8", path.display()))?;
            (KeySource::jwks_json(text), false)
        }
        (_, Some(path), _) => {
            let bytes = read(path)?;
            let source = if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
                KeySource::pem(bytes)
            } else {
                KeySource::der(bytes)
            };
            (source, false)
        }
        (_, _, Some(path)) => (KeySource::secret(read(path)?), true),
        _ => (KeySource::discover(), false),
    };
    let algorithms = if !args.algorithms.is_empty() {
        args.algorithms.clone()
    } else if symmetric {
        vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]
    } else {
        Algorithm::ASYMMETRIC.to_vec()
    };
    let mut issuer = Issuer::new(&args.issuer)
        .audiences(&args.audiences)
        .algorithms(algorithms)
        .keys(source);
    if args.rfc9068 {
        issuer = issuer.rfc9068();
    }
    if let Some(url) = &args.introspect {
        let mut introspection = Introspection::endpoint(url);
        if let (Some(id), Some(path)) = (&args.client_id, &args.client_secret_file) {
            let secret = String::from_utf8(read(path)?)
                .map_err(|_| format!("{} is not UTF-8", path.display()))?;
            introspection = introspection.client_secret_basic(id, secret.trim_end());
        }
        issuer = issuer.introspection(introspection);
    }
    let mut builder = Verifier::builder()
        .issuer(issuer)
        .leeway(Duration::from_secs(args.leeway));
    for path in &args.decryption_keys {
        let text = String::from_utf8(read(path)?)
            .map_err(|_| format!("{} is not UTF-8", path.display()))?;
        let keys =
            DecryptionKey::from_file_text(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for key in keys {
            builder = builder.decryption_key(key);
        }
    }
    let builder = match args.now {
        Some(now) => builder.clock(FixedClock::at(now)),
        None => builder.clock(SystemClock),
    };
    builder.build().map_err(|e| e.to_string())
}

fn verify(args: VerifyArgs) -> ExitCode {
    let verifier = match build(&args) {
        Ok(verifier) => verifier,
        Err(message) => return fail(message),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(format!("cannot start the async runtime: {error}")),
    };
    // Each token with the line of standard input (or the argument) it came from, from 1.
    let tokens: Box<dyn Iterator<Item = (usize, String)>> = if args.tokens.is_empty() {
        let lines = std::io::stdin().lock().lines().map_while(Result::ok);
        Box::new(
            lines
                .enumerate()
                .map(|(i, line)| (i + 1, line))
                .filter(|(_, line)| !line.trim().is_empty()),
        )
    } else {
        Box::new(
            args.tokens
                .clone()
                .into_iter()
                .enumerate()
                .map(|(i, t)| (i + 1, t)),
        )
    };
    let now = args.now.unwrap_or_else(system_now);
    let mut stdout = std::io::stdout().lock();
    let mut all_valid = true;
    let mut verified_any = false;
    for (number, token) in tokens {
        verified_any = true;
        let token = token.trim();
        let mut line = match runtime.block_on(verifier.verify::<Value>(token)) {
            Ok(verified) => {
                let sub = verified.subject().map(str::to_owned);
                json!({"line": number, "valid": true, "sub": sub, "claims": &*verified.claims})
            }
            Err(error) => {
                all_valid = false;
                let mut line = json!({"line": number, "valid": false, "error": error.code(), "description": error.detail()});
                explain(&mut line, &error, token, &args);
                line
            }
        };
        if args.pretty {
            add_relative_times(&mut line, now);
        }
        if writeln!(stdout, "{}", render(&line, args.pretty)).is_err() {
            return ExitCode::from(2);
        }
    }
    if !verified_any {
        return fail("no token to verify: pass tokens as arguments or one per line on stdin");
    }
    if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// For a mismatch, the token's own value (read without trusting it: the operator's own token,
/// on the operator's terminal) beside the configured ones; the claim a `missing_claim` lacks.
fn explain(line: &mut Value, error: &tokengate::Error, token: &str, args: &VerifyArgs) {
    let claims = || {
        tokengate::dangerous::decode_unverified(token)
            .ok()
            .map(|(_, c)| c)
    };
    match error.kind() {
        tokengate::ErrorKind::InvalidIssuer => {
            line["token_iss"] = claims().map_or(Value::Null, |c| c["iss"].clone());
            line["configured_issuer"] = json!(args.issuer);
        }
        tokengate::ErrorKind::InvalidAudience => {
            line["token_aud"] = claims().map_or(Value::Null, |c| c["aud"].clone());
            line["configured_audiences"] = json!(args.audiences);
        }
        tokengate::ErrorKind::MissingClaim => {
            line["claim"] = json!(error.claim());
        }
        _ => {}
    }
}

fn decode(token: &str, pretty: bool, now: Option<u64>) -> ExitCode {
    let token = if token == "-" {
        let mut input = String::new();
        if let Err(error) = std::io::stdin().read_to_string(&mut input) {
            return fail(format!("cannot read standard input: {error}"));
        }
        input
    } else {
        token.to_owned()
    };
    match tokengate::dangerous::decode_unverified(token.trim()) {
        Ok((header, claims)) => {
            eprintln!(
                "tokengate: UNVERIFIED: the signature, expiry, issuer and audience were not checked"
            );
            let mut out = json!({"unverified": true, "header": header, "claims": claims});
            if pretty {
                add_relative_times(&mut out, now.unwrap_or_else(system_now));
            }
            println!("{}", render(&out, pretty));
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!(
                "{}",
                json!({"unverified": true, "error": error.code(), "description": error.detail()})
            );
            ExitCode::from(1)
        }
    }
}

fn system_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn render(value: &Value, pretty: bool) -> String {
    if pretty {
        serde_json::to_string_pretty(value).unwrap_or_default()
    } else {
        value.to_string()
    }
}

/// Adds `"times": {"exp": "in 4 min", "iat": "1 min ago", ...}` for the claims' time members.
fn add_relative_times(out: &mut Value, now: u64) {
    let Some(claims) = out.get("claims").and_then(Value::as_object) else {
        return;
    };
    let mut times = serde_json::Map::new();
    for name in ["exp", "nbf", "iat"] {
        if let Some(at) = claims.get(name).and_then(Value::as_f64) {
            times.insert(
                name.to_owned(),
                Value::from(relative(at as i64 - now as i64)),
            );
        }
    }
    if !times.is_empty() {
        out["times"] = Value::Object(times);
    }
}

/// `in 4 min`, `2 h ago`, `now`.
fn relative(delta: i64) -> String {
    let size = delta.unsigned_abs();
    let amount = match size {
        0 => return "now".to_owned(),
        1..=119 => format!("{size} s"),
        120..=7199 => format!("{} min", size / 60),
        7200..=172_799 => format!("{} h", size / 3600),
        _ => format!("{} days", size / 86_400),
    };
    if delta > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::relative;

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(0), "now");
        assert_eq!(relative(45), "in 45 s");
        assert_eq!(relative(-300), "5 min ago");
        assert_eq!(relative(3 * 3600), "in 3 h");
        assert_eq!(relative(-3 * 86_400), "3 days ago");
    }
}
