//! Fixtures shared by the verification benchmarks (`verify.rs`, criterion) and the
//! instruction counts (`instructions.rs`, under cachegrind).

#![allow(dead_code)] // each benchmark uses a part

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::json;
use tokengate::{Algorithm, Issuer, KeySource, Verifier};
use tokengate_testkit::{TestKey, claims_for, jwks};

pub(crate) const ISS: &str = "https://issuer.bench/";
pub(crate) const AUD: &str = "api://bench";

/// A realistic access token's claims (the same type for both libraries).
#[derive(Clone, Deserialize)]
#[allow(dead_code)]
pub(crate) struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    nbf: u64,
    iat: u64,
    jti: String,
    client_id: String,
    scope: String,
    email: String,
    roles: Vec<String>,
}

#[allow(clippy::large_enum_variant)] // one value per benchmark group
pub(crate) enum Primitive {
    Hmac(hmac::Key),
    Public(ParsedPublicKey),
}

pub(crate) fn primitive(key: &TestKey) -> Primitive {
    let jwk = key.bare_jwk();
    let field = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    let alg: &'static dyn VerificationAlgorithm = match key.alg() {
        Algorithm::HS256 => {
            return Primitive::Hmac(hmac::Key::new(hmac::HMAC_SHA256, key.secret().unwrap()));
        }
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &signature::ED25519,
        other => panic!("{other} is not benchmarked"),
    };
    let bytes = match key.alg() {
        Algorithm::RS256 | Algorithm::PS256 => key.public_der(),
        Algorithm::EdDSA => field("x"),
        _ => [vec![4u8], field("x"), field("y")].concat(),
    };
    Primitive::Public(ParsedPublicKey::new(alg, bytes).unwrap())
}

pub(crate) fn jsonwebtoken_parts(
    key: &TestKey,
) -> (jsonwebtoken::DecodingKey, jsonwebtoken::Validation) {
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk()).unwrap();
    let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let alg = match key.alg() {
        Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
        Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
        Algorithm::PS256 => jsonwebtoken::Algorithm::PS256,
        Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        Algorithm::ES384 => jsonwebtoken::Algorithm::ES384,
        _ => jsonwebtoken::Algorithm::EdDSA,
    };
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.validate_nbf = true;
    validation.leeway = 60;
    (decoding, validation)
}

pub(crate) use tokengate_testkit::fixture::poll_once;

/// The token sizes of the `sizes` benchmarks: a label and a target length in bytes.
pub(crate) const SIZES: [(&str, usize); 3] = [("0.4KB", 0), ("4KB", 4 * 1024), ("16KB", 16 * 1024)];

/// An HS256 issuer for tokens grown with namespaced claim names (`https://example.com/claims/…`,
/// as providers add them), with tokengate's verifier and jsonwebtoken's key and validation.
pub(crate) struct Sized {
    pub(crate) key: TestKey,
    pub(crate) verifier: Verifier,
    pub(crate) decoding: jsonwebtoken::DecodingKey,
    pub(crate) validation: jsonwebtoken::Validation,
}

impl Sized {
    pub(crate) fn new() -> Sized {
        let key = TestKey::generate(Algorithm::HS256).with_kid("bench-key");
        let verifier = Verifier::builder()
            .issuer(
                Issuer::new(ISS)
                    .audience(AUD)
                    .algorithms([Algorithm::HS256])
                    .keys(KeySource::jwks_json(jwks(&[&key]))),
            )
            .max_token_bytes(20 * 1024)
            .build()
            .unwrap();
        let (decoding, validation) = jsonwebtoken_parts(&key);
        Sized {
            key,
            verifier,
            decoding,
            validation,
        }
    }

    /// A token of at least `target` bytes, checked to pass both libraries.
    pub(crate) fn token(&self, target: usize) -> String {
        let mut claims = claims_for(ISS, AUD);
        claims["exp"] = json!(tokengate_testkit::now() + 24 * 3600);
        let mut n = 0;
        while self.key.mint(&claims).len() < target {
            claims[format!("https://example.com/claims/attribute_{n:04}")] =
                json!(format!("value {n} of a namespaced claim"));
            n += 1;
        }
        let token = self.key.mint(&claims);
        assert!(poll_once(self.verifier.verify::<Claims>(&token)).is_ok());
        assert!(jsonwebtoken::decode::<Claims>(&token, &self.decoding, &self.validation).is_ok());
        token
    }
}

/// The DPoP fixture of `dpop.rs` (and the DPoP instruction counts).
pub(crate) mod dpop {
    use std::hint::black_box;

    use tokengate::adapter::{Decision, Policy, RequestView};
    use tokengate::clock::FixedClock;
    use tokengate::{
        Algorithm, Issuer, KeySource, StandardClaims, Verifier, cache::TokenCache, dpop::Dpop,
        store::FirstUse, store::Recorded, store::ReplayStore,
    };
    use tokengate_testkit::{NOW, TestKey, jwks};

    pub(crate) use super::{AUD, ISS};
    pub(crate) const URL: &str = "https://api.bench/messages";

    pub(crate) struct AdmitAll;

    impl ReplayStore for AdmitAll {
        fn record(&self, _key: [u8; 32], _expires_at: u64, _now: u64) -> Recorded {
            Recorded::Now(Ok(FirstUse::Yes))
        }
    }

    pub(crate) fn headers(pairs: &[(&'static str, String)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        map.insert("host", "api.bench".parse().unwrap());
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    pub(crate) fn admit(verifier: &Verifier, map: &http::HeaderMap) {
        let view = RequestView::new("GET", "/messages", None, map).origin(Some("https"), None);
        match verifier.decide::<StandardClaims, _>(&view, &Policy::new(), None) {
            Decision::Admit(admission) => {
                black_box(admission);
            }
            Decision::Deny(answer) => panic!("refused: {answer:?}"),
            Decision::Pending(_) => panic!("static keys never wait"),
        }
    }

    /// An ES256 issuer and a verifier with the token cache and a replay store admitting every
    /// proof (so one proof can be replayed by a loop).
    pub(crate) fn dpop_verifier() -> (TestKey, Verifier) {
        let issuer = TestKey::shared(Algorithm::ES256);
        let verifier = Verifier::builder()
            .issuer(
                Issuer::new(ISS)
                    .audience(AUD)
                    .keys(KeySource::jwks_json(jwks(&[&issuer]))),
            )
            .clock(FixedClock::at(NOW))
            .cache(TokenCache::new())
            .dpop(Dpop::new().replay_store(AdmitAll))
            .build()
            .unwrap();
        (issuer, verifier)
    }
}
