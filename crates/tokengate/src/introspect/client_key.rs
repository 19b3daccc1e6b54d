//! [`ClientKey`]: the service's own private key for `private_key_jwt` client authentication
//! (RFC 7523 section 2.2, OpenID Connect Core section 9).

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use base64::Engine;

use crate::algorithm::Algorithm;
use crate::error::{ConfigError, ConfigErrorKind};
use crate::jws::BASE64URL;

#[derive(Clone)]
enum Pair {
    Rsa(Arc<RsaKeyPair>),
    Ec(Arc<EcdsaKeyPair>),
    Ed(Arc<Ed25519KeyPair>),
}

/// A private key the service authenticates with (`private_key_jwt`): RS256 (RSA, at least
/// 2048 bits), ES256 (P-256) or EdDSA (Ed25519), from PKCS#8. `Debug` shows the algorithm and
/// `kid` only.
#[derive(Clone)]
pub struct ClientKey {
    alg: Algorithm,
    kid: Option<Box<str>>,
    pair: Pair,
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn invalid(message: &'static str) -> ConfigError {
    ConfigError::new(ConfigErrorKind::InvalidKey, message)
}

impl ClientKey {
    /// A key from PKCS#8 (`PRIVATE KEY` PEM, or DER) for `alg`: `RS256`, `ES256` or `EdDSA`.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidKey`] when the bytes are not such a key, or
    /// [`ConfigErrorKind::WeakKey`] for RSA under 2048 bits.
    pub fn from_pkcs8(bytes: impl AsRef<[u8]>, alg: Algorithm) -> Result<ClientKey, ConfigError> {
        let bytes = bytes.as_ref();
        let der = if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            let parsed = pem::parse(bytes).map_err(|_| invalid("not a PEM document"))?;
            if parsed.tag() != "PRIVATE KEY" {
                return Err(invalid("expected a PKCS#8 PRIVATE KEY"));
            }
            parsed.into_contents()
        } else {
            bytes.to_vec()
        };
        let pair = match alg {
            Algorithm::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(&der).map_err(|_| invalid("not an RSA key"))?;
                if pair.public_modulus_len() < 256 {
                    return Err(ConfigError::new(
                        ConfigErrorKind::WeakKey,
                        "an RSA client key needs at least 2048 bits",
                    ));
                }
                Pair::Rsa(Arc::new(pair))
            }
            Algorithm::ES256 => Pair::Ec(Arc::new(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                    .map_err(|_| invalid("not a P-256 key"))?,
            )),
            Algorithm::EdDSA => Pair::Ed(Arc::new(
                Ed25519KeyPair::from_pkcs8(&der).map_err(|_| invalid("not an Ed25519 key"))?,
            )),
            _ => {
                return Err(ConfigError::new(
                    ConfigErrorKind::UnknownAlgorithm,
                    "a client key signs with RS256, ES256 or EdDSA",
                ));
            }
        };
        Ok(ClientKey {
            alg,
            kid: None,
            pair,
        })
    }

    /// The `kid` the provider knows the key by (sent in the assertion's header).
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> ClientKey {
        self.kid = Some(kid.into().into());
        self
    }

    /// A client assertion: a JWT from `client_id` to `audience`, valid for 60 s from `now`.
    pub(crate) fn assertion(&self, client_id: &str, audience: &str, now: u64) -> String {
        let rng = SystemRandom::new();
        let mut jti = [0u8; 16];
        // A failing system RNG leaves a zero jti: the assertion is still signed and short-lived.
        let _ = rng.fill(&mut jti);
        let mut header = serde_json::json!({"alg": self.alg.as_str(), "typ": "JWT"});
        if let Some(kid) = &self.kid {
            header["kid"] = serde_json::json!(kid);
        }
        let claims = serde_json::json!({
            "iss": client_id, "sub": client_id, "aud": audience,
            "jti": BASE64URL.encode(jti), "iat": now, "exp": now + 60,
        });
        let input = format!(
            "{}.{}",
            BASE64URL.encode(header.to_string()),
            BASE64URL.encode(claims.to_string())
        );
        let signature = match &self.pair {
            Pair::Rsa(pair) => {
                let mut out = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rng,
                    input.as_bytes(),
                    &mut out,
                )
                .map(|()| out)
                .unwrap_or_default()
            }
            Pair::Ec(pair) => pair
                .sign(&rng, input.as_bytes())
                .map(|s| s.as_ref().to_vec())
                .unwrap_or_default(),
            Pair::Ed(pair) => pair.sign(input.as_bytes()).as_ref().to_vec(),
        };
        format!("{input}.{}", BASE64URL.encode(signature))
    }
}
