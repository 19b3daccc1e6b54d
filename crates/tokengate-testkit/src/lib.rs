//! Test issuer for tokengate: key pairs for every algorithm and token minting, including
//! deliberately malformed tokens for attack tests.
//!
//! ```
//! use tokengate::{Algorithm, Issuer, KeySource, StandardClaims, Verifier};
//! use tokengate_testkit::{TestKey, claims_for, jwks};
//!
//! let key = TestKey::shared(Algorithm::RS256);
//! let verifier = Verifier::builder()
//!     .issuer(Issuer::new("https://issuer.test/").audience("api").keys(KeySource::jwks_json(jwks(&[&key]))))
//!     .build()
//!     .unwrap();
//! let token = key.mint(&claims_for("https://issuer.test/", "api"));
//! let verified = tokengate_testkit::fixture::verified_now::<StandardClaims>(&verifier, &token);
//! assert_eq!(verified.subject(), Some("alice"));
//! ```
//!
//! For the tests of your own API, [`TestIssuer`] and its [`TokenBuilder`] make the tokens a test
//! needs in one line, and [`request`] puts them on a request of your framework:
//!
//! ```
//! use tokengate_testkit::TestIssuer;
//! let issuer = TestIssuer::new();
//! let token = issuer.token().subject("alice").scopes(["messages:read"]).roles(["admin"]).sign();
//! # let _ = token;
//! ```
//!
//! Keys come from aws-lc-rs (which has ES512, unlike jsonwebtoken). [`TestKey::shared`] gives one
//! process-wide key per algorithm so suites do not pay for RSA key generation again and again;
//! [`TestKey::generate`] gives a fresh one (an attacker's key, a rotated key).

pub mod demo;
pub mod dpop;
pub mod fixture;
mod issuer;
pub mod jwe;
#[cfg(feature = "live")]
pub mod live;
pub mod redis_server;
pub mod request;
mod server;

pub use issuer::{TEST_AUDIENCE, TEST_ISSUER, TEST_LIFETIME, TestIssuer, TokenBuilder, dpop};

pub use server::{
    FACEBOOK_APP_ID, FACEBOOK_APP_SECRET, Fault, INTROSPECTION_CLIENT_ID,
    INTROSPECTION_CLIENT_SECRET, IssuerServer,
};

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use aws_lc_rs::{hmac, rsa};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use der::Decode;
use serde_json::{Value, json};
use tokengate::{Algorithm, keys::VerifyingKey};

/// A fixed "now" for tests that inject a clock: 2026-01-01T00:00:00Z.
pub const NOW: u64 = 1_767_225_600;

#[derive(Clone)]
enum Signer {
    Hmac(Arc<[u8]>),
    Rsa(Arc<RsaKeyPair>),
    Ec(Arc<EcdsaKeyPair>),
    Ed(Arc<Ed25519KeyPair>),
}

/// A signing key of one algorithm, with its public half in every format tokengate loads.
///
/// `Debug` shows the algorithm and kid only.
#[derive(Clone)]
pub struct TestKey {
    alg: Algorithm,
    kid: String,
    signer: Signer,
}

impl fmt::Debug for TestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Base64url without padding.
#[must_use]
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The aws-lc-rs signing algorithm of an ES* algorithm (P-521 for anything past ES384).
fn ecdsa_signing(alg: Algorithm) -> &'static signature::EcdsaSigningAlgorithm {
    match alg {
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
    }
}

impl TestKey {
    /// A fresh key for `alg`, with a random kid. HMAC secrets are as long as the hash output.
    ///
    /// # Panics
    /// If the platform's random generator fails.
    #[must_use]
    pub fn generate(alg: Algorithm) -> TestKey {
        let rng = SystemRandom::new();
        let signer = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let len = match alg {
                    Algorithm::HS256 => 32,
                    Algorithm::HS384 => 48,
                    _ => 64,
                };
                let mut secret = vec![0u8; len];
                rng.fill(&mut secret).expect("random");
                Signer::Hmac(secret.into())
            }
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => Signer::Rsa(Arc::new(
                RsaKeyPair::generate(rsa::KeySize::Rsa2048).expect("rsa keygen"),
            )),
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => Signer::Ec(Arc::new(
                EcdsaKeyPair::generate(ecdsa_signing(alg)).expect("ec keygen"),
            )),
            _ => Signer::Ed(Arc::new(
                Ed25519KeyPair::generate().expect("ed25519 keygen"),
            )),
        };
        let mut kid = [0u8; 9];
        rng.fill(&mut kid).expect("random");
        TestKey {
            alg,
            kid: b64(kid),
            signer,
        }
    }

    /// The process-wide key for `alg` (generated once). Its kid is `"<alg>-shared"`.
    #[must_use]
    pub fn shared(alg: Algorithm) -> TestKey {
        static KEYS: OnceLock<Mutex<HashMap<Algorithm, TestKey>>> = OnceLock::new();
        let keys = KEYS.get_or_init(Default::default);
        let mut keys = keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.entry(alg)
            .or_insert_with(|| {
                TestKey::generate(alg).with_kid(format!("{}-shared", alg.as_str().to_lowercase()))
            })
            .clone()
    }

    /// A fixed key from its PKCS#8 private key (PEM or DER), with this kid: fixtures that must
    /// be the same in every run (fuzzing corpora). RSA for RS*/PS*, P-256/384/521 for ES*,
    /// Ed25519 for EdDSA.
    ///
    /// # Panics
    /// If the key does not fit `alg`, or `alg` is HMAC (use [`hmac`](TestKey::hmac)).
    #[must_use]
    pub fn from_pkcs8(alg: Algorithm, pkcs8: &[u8], kid: &str) -> TestKey {
        let der = match pem::parse(pkcs8) {
            Ok(block) => block.into_contents(),
            Err(_) => pkcs8.to_vec(),
        };
        let signer = match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => Signer::Rsa(Arc::new(
                RsaKeyPair::from_pkcs8(&der).expect("an RSA PKCS#8 key"),
            )),
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => Signer::Ec(Arc::new(
                EcdsaKeyPair::from_pkcs8(ecdsa_signing(alg), &der).expect("an EC PKCS#8 key"),
            )),
            Algorithm::EdDSA => Signer::Ed(Arc::new(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).expect("an Ed25519 PKCS#8 key"),
            )),
            _ => panic!("HMAC keys come from TestKey::hmac"),
        };
        TestKey {
            alg,
            kid: kid.to_owned(),
            signer,
        }
    }

    /// An HMAC key with exactly this secret.
    #[must_use]
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> TestKey {
        TestKey {
            alg,
            kid: "hmac".to_owned(),
            signer: Signer::Hmac(secret.into()),
        }
    }

    /// The same key with another kid.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> TestKey {
        self.kid = kid.into();
        self
    }

    /// The same key material signing with another algorithm of its family (RSA: RS*/PS*).
    #[must_use]
    pub fn with_alg(mut self, alg: Algorithm) -> TestKey {
        self.alg = alg;
        self
    }

    /// The algorithm this key signs with.
    #[must_use]
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The key id.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The HMAC secret, for HMAC keys.
    #[must_use]
    pub fn secret(&self) -> Option<&[u8]> {
        match &self.signer {
            Signer::Hmac(secret) => Some(secret),
            _ => None,
        }
    }

    /// Signs `input` with this key's algorithm, returning the raw JWS signature.
    ///
    /// # Panics
    /// If the algorithm does not fit the key material (e.g. `with_alg(ES256)` on an RSA key).
    #[must_use]
    pub fn sign(&self, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.signer {
            Signer::Hmac(secret) => {
                let alg = match self.alg {
                    Algorithm::HS256 => hmac::HMAC_SHA256,
                    Algorithm::HS384 => hmac::HMAC_SHA384,
                    Algorithm::HS512 => hmac::HMAC_SHA512,
                    other => panic!("{other} is not an HMAC algorithm"),
                };
                hmac::sign(&hmac::Key::new(alg, secret), input)
                    .as_ref()
                    .to_vec()
            }
            Signer::Rsa(pair) => {
                let encoding: &'static dyn signature::RsaEncoding = match self.alg {
                    Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
                    Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
                    Algorithm::PS256 => &signature::RSA_PSS_SHA256,
                    Algorithm::PS384 => &signature::RSA_PSS_SHA384,
                    Algorithm::PS512 => &signature::RSA_PSS_SHA512,
                    other => panic!("{other} is not an RSA algorithm"),
                };
                let mut out = vec![0u8; pair.public_modulus_len()];
                pair.sign(encoding, &rng, input, &mut out)
                    .expect("rsa sign");
                out
            }
            Signer::Ec(pair) => pair
                .sign(&rng, input)
                .expect("ecdsa sign")
                .as_ref()
                .to_vec(),
            Signer::Ed(pair) => pair.sign(input).as_ref().to_vec(),
        }
    }

    /// A compact JWS over exactly these header and payload bytes (nothing is re-serialized, so
    /// duplicate members, odd whitespace and escapes survive).
    #[must_use]
    pub fn sign_raw(&self, header_json: &str, payload_json: &str) -> String {
        let input = format!("{}.{}", b64(header_json), b64(payload_json));
        let signature = self.sign(input.as_bytes());
        format!("{input}.{}", b64(signature))
    }

    /// A token with header `{"alg", "typ": "JWT", "kid"}` and these claims.
    #[must_use]
    pub fn mint(&self, claims: &Value) -> String {
        self.mint_with_header(
            &json!({"alg": self.alg.as_str(), "typ": "JWT", "kid": self.kid}),
            claims,
        )
    }

    /// A token with this exact header object and these claims.
    #[must_use]
    pub fn mint_with_header(&self, header: &Value, claims: &Value) -> String {
        self.sign_raw(&header.to_string(), &claims.to_string())
    }

    /// The public key as a JWK with `kid`, `use: sig` and `alg`; HMAC keys as `oct`.
    #[must_use]
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.bare_jwk();
        jwk["kid"] = json!(self.kid);
        jwk["use"] = json!("sig");
        jwk["alg"] = json!(self.alg.as_str());
        jwk
    }

    /// The public key as a JWK with only the key members (no `kid`, `use`, `alg`).
    ///
    /// # Panics
    /// Never for keys made here.
    #[must_use]
    pub fn bare_jwk(&self) -> Value {
        match &self.signer {
            Signer::Hmac(secret) => json!({"kty": "oct", "k": b64(secret)}),
            Signer::Rsa(pair) => {
                let pkcs1 = pair.public_key().as_ref();
                let key = pkcs1::RsaPublicKey::from_der(pkcs1).expect("pkcs1");
                json!({"kty": "RSA", "n": b64(key.modulus.as_bytes()), "e": b64(key.public_exponent.as_bytes())})
            }
            Signer::Ec(pair) => {
                let point = pair.public_key().as_ref();
                let len = (point.len() - 1) / 2;
                let crv = match len {
                    32 => "P-256",
                    48 => "P-384",
                    _ => "P-521",
                };
                json!({"kty": "EC", "crv": crv, "x": b64(&point[1..=len]), "y": b64(&point[len + 1..])})
            }
            Signer::Ed(pair) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref())})
            }
        }
    }

    /// The public key as SubjectPublicKeyInfo DER.
    ///
    /// # Panics
    /// For HMAC keys, which have no public half.
    #[must_use]
    pub fn public_der(&self) -> Vec<u8> {
        match &self.signer {
            Signer::Hmac(_) => panic!("an HMAC key has no public key"),
            Signer::Rsa(pair) => pair.public_key().as_der().expect("der").as_ref().to_vec(),
            Signer::Ec(pair) => pair.public_key().as_der().expect("der").as_ref().to_vec(),
            Signer::Ed(pair) => pair.public_key().as_der().expect("der").as_ref().to_vec(),
        }
    }

    /// The public key as a `PUBLIC KEY` PEM document.
    #[must_use]
    pub fn public_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PUBLIC KEY", self.public_der()))
    }

    /// The PKCS#8 private key DER (for cross-checks with other JWT libraries).
    ///
    /// # Panics
    /// For HMAC keys.
    #[must_use]
    pub fn private_pkcs8_der(&self) -> Vec<u8> {
        match &self.signer {
            Signer::Hmac(_) => panic!("an HMAC key has no PKCS#8 form"),
            Signer::Rsa(pair) => {
                AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(pair.as_ref())
                    .expect("pkcs8")
                    .as_ref()
                    .to_vec()
            }
            Signer::Ec(pair) => pair.to_pkcs8v1().expect("pkcs8").as_ref().to_vec(),
            Signer::Ed(pair) => pair.to_pkcs8v1().expect("pkcs8").as_ref().to_vec(),
        }
    }

    /// The tokengate key for the public half (from [`public_jwk`](TestKey::public_jwk)).
    ///
    /// # Panics
    /// Never for keys made here.
    #[must_use]
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::from_jwk(&self.public_jwk().to_string()).expect("testkit keys are valid")
    }
}

/// A JWKS document (`{"keys": [...]}`) with the public JWKs of `keys`.
#[must_use]
pub fn jwks(keys: &[&TestKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>()}).to_string()
}

/// Seconds since the epoch by the system clock.
#[must_use]
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A realistic access token's claims (about ten) issued now by the system clock, valid for
/// five minutes, for subject `alice` with scopes `openid profile messages:read`.
#[must_use]
pub fn claims_for(iss: &str, aud: &str) -> Value {
    claims_at(iss, aud, now())
}

/// As [`claims_for`], issued at `now`.
#[must_use]
pub fn claims_at(iss: &str, aud: &str, now: u64) -> Value {
    json!({
        "iss": iss,
        "sub": "alice",
        "aud": aud,
        "exp": now + 300,
        "nbf": now,
        "iat": now,
        "jti": "6c1f7d2e-6c4b-4f5e-9a51-0d2b9c1e7a10",
        "client_id": "demo-client",
        "scope": "openid profile messages:read",
        "email": "alice@example.com",
        "roles": ["reader"],
    })
}
