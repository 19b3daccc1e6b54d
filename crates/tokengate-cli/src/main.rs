//! `tokengate`: verify and decode access tokens from the shell.
//!
//! ```text
//! tokengate verify --issuer ISS --audience AUD [--jwks FILE|URL | --key FILE | --secret-file FILE]
//!                  [--alg A,B] [--leeway S] [--rfc9068] [--now UNIX] [TOKEN ...]
//! tokengate decode TOKEN
//! ```
//!
//! Without a key option, keys come from the issuer's OIDC discovery (or RFC 8414) document.
//! `verify` prints one JSON object per token per line and exits 0 when all are valid, 1 when any
//! is not, 2 for usage or configuration errors and when there was no token to verify. Tokens
//! come from the arguments (an empty argument is an empty, malformed token), else one per
//! non-blank line of standard input.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use tokengate::clock::{FixedClock, SystemClock};
use tokengate::{Algorithm, Issuer, KeySource, Verifier};

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
    Verify(VerifyArgs),
    /// Print a token's header and claims WITHOUT verifying anything.
    Decode {
        /// The token.
        token: String,
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
        Command::Verify(args) => verify(args),
        Command::Decode { token } => decode(&token),
    }
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
    let builder = Verifier::builder()
        .issuer(issuer)
        .leeway(Duration::from_secs(args.leeway));
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
    let tokens: Box<dyn Iterator<Item = String>> = if args.tokens.is_empty() {
        let lines = std::io::stdin().lock().lines().map_while(Result::ok);
        Box::new(lines.filter(|line| !line.trim().is_empty()))
    } else {
        Box::new(args.tokens.into_iter())
    };
    let mut stdout = std::io::stdout().lock();
    let mut all_valid = true;
    let mut verified_any = false;
    for token in tokens {
        verified_any = true;
        let token = token.trim();
        let line = match runtime.block_on(verifier.verify::<Value>(token)) {
            Ok(verified) => {
                json!({"valid": true, "sub": verified.subject(), "claims": verified.claims})
            }
            Err(error) => {
                all_valid = false;
                json!({"valid": false, "error": error.code(), "description": error.detail()})
            }
        };
        if writeln!(stdout, "{line}").is_err() {
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

fn decode(token: &str) -> ExitCode {
    match tokengate::dangerous::decode_unverified(token.trim()) {
        Ok((header, claims)) => {
            eprintln!(
                "tokengate: UNVERIFIED: the signature, expiry, issuer and audience were not checked"
            );
            println!(
                "{}",
                json!({"unverified": true, "header": header, "claims": claims})
            );
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
