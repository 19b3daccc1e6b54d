//! What every peer server shares. Each is started as `peer-… ADDR JWKS_FILE ISSUER AUDIENCE`
//! and serves `GET /health` (`ok`) and `GET /me` (`{"sub": …, "scopes": [..]}` for a valid RS256
//! token with that issuer and audience, refused otherwise), like the tokengate examples.

use std::process::ExitCode;

/// The command line of a peer server.
pub struct Args {
    /// Where to listen (`127.0.0.1:3900`).
    pub addr: String,
    /// The key set, as JSON text (one RS256 key among others).
    pub jwks: String,
    /// The RS256 key alone, as a JWK object (JSON text).
    pub rs256_jwk: String,
    /// The tokens' `iss`.
    pub issuer: String,
    /// The tokens' `aud`.
    pub audience: String,
}

impl Args {
    /// Reads the command line; exits 2 with a usage line when it does not fit.
    pub fn from_env(name: &str) -> Args {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let [addr, jwks_file, issuer, audience] = args.as_slice() else {
            eprintln!("usage: {name} ADDR JWKS_FILE ISSUER AUDIENCE");
            std::process::exit(2);
        };
        let jwks = std::fs::read_to_string(jwks_file).unwrap_or_else(|error| {
            eprintln!("{name}: cannot read {jwks_file}: {error}");
            std::process::exit(2);
        });
        let set: serde_json::Value = serde_json::from_str(&jwks).unwrap_or_else(|error| {
            eprintln!("{name}: {jwks_file} is not JSON: {error}");
            std::process::exit(2);
        });
        let rs256 = set["keys"]
            .as_array()
            .and_then(|keys| keys.iter().find(|key| key["alg"] == "RS256"))
            .unwrap_or_else(|| {
                eprintln!("{name}: {jwks_file} has no RS256 key");
                std::process::exit(2);
            });
        // Only the RS256 key: some peers refuse a set holding an HMAC secret or try every key.
        let jwks = serde_json::json!({ "keys": [rs256] }).to_string();
        Args {
            addr: addr.clone(),
            jwks,
            rs256_jwk: rs256.to_string(),
            issuer: issuer.clone(),
            audience: audience.clone(),
        }
    }
}

/// The body of `GET /me`: the subject and the scopes, as the examples answer (a borrowed struct
/// serialized directly, as they do).
pub fn me_body(sub: &str, scope: &str) -> String {
    #[derive(serde::Serialize)]
    struct Me<'a> {
        sub: &'a str,
        scopes: Vec<&'a str>,
    }
    serde_json::to_string(&Me {
        sub,
        scopes: scope.split_whitespace().collect(),
    })
    .unwrap_or_default()
}

/// Exit status for a server that stopped.
pub fn stopped(name: &str, error: impl std::fmt::Display) -> ExitCode {
    eprintln!("{name}: {error}");
    ExitCode::from(1)
}
