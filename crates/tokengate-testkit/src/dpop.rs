//! Sender-constrained tokens for tests: DPoP keys and proofs (RFC 9449), good and each kind of
//! bad, and certificate-bound tokens (RFC 8705).
//!
//! ```
//! use tokengate::{Algorithm, Issuer, KeySource, StandardClaims, Verifier};
//! use tokengate::adapter::{Admission, Decision, Policy, RequestView};
//! use tokengate_testkit::{TestKey, claims_for, jwks, dpop::DpopKey};
//!
//! let issuer = TestKey::shared(Algorithm::ES256);
//! let verifier = Verifier::builder()
//!     .issuer(Issuer::new("https://issuer.test/").audience("api").keys(KeySource::jwks_json(jwks(&[&issuer]))))
//!     .build()
//!     .unwrap();
//! // The client's key; the issuer binds the token to it (`cnf.jkt`).
//! let client = DpopKey::generate(Algorithm::ES256);
//! let token = issuer.mint(&client.bind(claims_for("https://issuer.test/", "api")));
//! let proof = client.proof("GET", "http://api.test/messages", &token);
//!
//! let mut headers = tokengate::http::HeaderMap::new();
//! headers.insert("authorization", format!("DPoP {token}").parse().unwrap());
//! headers.insert("dpop", proof.parse().unwrap());
//! headers.insert("host", "api.test".parse().unwrap());
//! let request = RequestView::new("GET", "/messages", None, &headers);
//! let decision = verifier.decide::<StandardClaims, _>(&request, &Policy::new(), None);
//! assert!(matches!(decision, Decision::Admit(Admission::Verified(_))));
//! ```

use aws_lc_rs::digest;
use serde_json::{Map, Value, json};
use tokengate::Algorithm;

use crate::{TestKey, b64, now};

/// A client's DPoP key pair.
#[derive(Clone, Debug)]
pub struct DpopKey {
    key: TestKey,
}

impl DpopKey {
    /// A fresh key for `alg` (an asymmetric algorithm).
    #[must_use]
    pub fn generate(alg: Algorithm) -> DpopKey {
        DpopKey {
            key: TestKey::generate(alg),
        }
    }

    /// A fixed key, from an existing [`TestKey`] (e.g. [`TestKey::from_pkcs8`]).
    #[must_use]
    pub fn from_key(key: TestKey) -> DpopKey {
        DpopKey { key }
    }

    /// The process-wide shared key for `alg` (cheap for RSA).
    #[must_use]
    pub fn shared(alg: Algorithm) -> DpopKey {
        DpopKey {
            key: TestKey::shared(alg),
        }
    }

    /// The private key as PKCS#8 PEM (for `tokengate dpop-proof --key`).
    #[must_use]
    pub fn private_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PRIVATE KEY", self.key.private_pkcs8_der()))
    }

    /// The key's public JWK, as a proof carries it (key members only).
    #[must_use]
    pub fn jwk(&self) -> Value {
        self.key.bare_jwk()
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url: the token's `cnf.jkt`.
    #[must_use]
    pub fn thumbprint(&self) -> String {
        thumbprint(&self.jwk())
    }

    /// `claims` with `cnf.jkt` naming this key: the issuer's DPoP binding.
    #[must_use]
    pub fn bind(&self, mut claims: Value) -> Value {
        claims["cnf"] = json!({ "jkt": self.thumbprint() });
        claims
    }

    /// A valid proof for `method` and `url` with `ath` for `token`, issued now (system clock).
    #[must_use]
    pub fn proof(&self, method: &str, url: &str, token: &str) -> String {
        self.proof_for(method, url).access_token(token).sign()
    }

    /// A proof to adjust before signing: issued now, a fresh `jti`, no `ath` yet.
    pub fn proof_for(&self, method: &str, url: &str) -> ProofBuilder {
        let mut jti = [0u8; 16];
        aws_lc_rs::rand::fill(&mut jti).expect("random jti");
        ProofBuilder {
            key: self.key.clone(),
            header: json!({
                "typ": "dpop+jwt",
                "alg": self.key.alg().as_str(),
                "jwk": self.jwk(),
            }),
            claims: json!({
                "jti": b64(jti),
                "htm": method,
                "htu": url,
                "iat": now(),
            }),
        }
    }
}

/// A DPoP proof being made: every member can be changed or removed, to make each kind of bad
/// proof.
#[derive(Clone, Debug)]
#[must_use]
pub struct ProofBuilder {
    key: TestKey,
    header: Value,
    claims: Value,
}

impl ProofBuilder {
    /// `ath`: base64url SHA-256 of the access token.
    pub fn access_token(self, token: &str) -> ProofBuilder {
        self.claim("ath", json!(ath(token)))
    }

    /// `iat` (seconds since the epoch).
    pub fn issued_at(self, iat: u64) -> ProofBuilder {
        self.claim("iat", json!(iat))
    }

    /// The server's `nonce`.
    pub fn nonce(self, nonce: &str) -> ProofBuilder {
        self.claim("nonce", json!(nonce))
    }

    /// `jti`.
    pub fn jti(self, jti: &str) -> ProofBuilder {
        self.claim("jti", json!(jti))
    }

    /// Sets a claim.
    pub fn claim(mut self, name: &str, value: Value) -> ProofBuilder {
        self.claims[name] = value;
        self
    }

    /// Sets a header member (`typ`, `alg`, `jwk`, `crit`, ...).
    pub fn header(mut self, name: &str, value: Value) -> ProofBuilder {
        self.header[name] = value;
        self
    }

    /// Adds a member to the header's `jwk` (for instance a private `d`).
    pub fn jwk_member(mut self, name: &str, value: Value) -> ProofBuilder {
        self.header["jwk"][name] = value;
        self
    }

    /// Removes a claim or, failing that, a header member.
    pub fn without(mut self, name: &str) -> ProofBuilder {
        let removed = as_map(&mut self.claims).remove(name);
        if removed.is_none() {
            as_map(&mut self.header).remove(name);
        }
        self
    }

    /// Signs with `key` instead of the key the `jwk` names (a forged proof).
    pub fn signed_by(mut self, key: &TestKey) -> ProofBuilder {
        self.key = key.clone();
        self
    }

    /// The compact JWS.
    #[must_use]
    pub fn sign(self) -> String {
        self.key.mint_with_header(&self.header, &self.claims)
    }
}

fn as_map(value: &mut Value) -> &mut Map<String, Value> {
    value.as_object_mut().expect("a JSON object")
}

/// base64url SHA-256 of an access token: a proof's `ath`.
#[must_use]
pub fn ath(token: &str) -> String {
    b64(digest::digest(&digest::SHA256, token.as_bytes()))
}

/// The RFC 7638 thumbprint of a public JWK, base64url.
///
/// # Panics
/// For a JWK without the members of its `kty`.
#[must_use]
pub fn thumbprint(jwk: &Value) -> String {
    let members: &[&str] = match jwk["kty"].as_str() {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("OKP") => &["crv", "kty", "x"],
        other => panic!("no thumbprint for kty {other:?}"),
    };
    // Written out member by member in lexicographic order (a serde_json map's order depends
    // on its features).
    let body: Vec<String> = members
        .iter()
        .map(|m| format!("{}:{}", Value::from(*m), jwk[*m]))
        .collect();
    let canonical = format!("{{{}}}", body.join(","));
    b64(digest::digest(&digest::SHA256, canonical.as_bytes()))
}

/// The base64url SHA-256 of a DER certificate: a token's `cnf["x5t#S256"]` (RFC 8705).
#[must_use]
pub fn certificate_thumbprint(der: &[u8]) -> String {
    b64(digest::digest(&digest::SHA256, der))
}

/// `claims` bound to the client certificate `der` (`cnf["x5t#S256"]`).
#[must_use]
pub fn bind_certificate(mut claims: Value, der: &[u8]) -> Value {
    claims["cnf"] = json!({ "x5t#S256": certificate_thumbprint(der) });
    claims
}
