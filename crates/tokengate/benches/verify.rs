//! Verification cost per algorithm, in one run:
//! - `tokengate`: our full `Verifier::verify` (async path, polled once: no I/O with loaded keys);
//! - `jsonwebtoken`: `jsonwebtoken::decode` doing the same checks (signature, exp, nbf, iss,
//!   aud) into the same claims type, with its `DecodingKey` built once outside the loop;
//! - `primitive`: the bare aws-lc-rs signature check on a pre-parsed key over the same bytes;
//! - `signature_only`: `dangerous::verify_signature_only` (split, strict base64url, strict
//!   header, signature; no payload parsing) — the token-structure cost;
//! - `claims_floor`: `serde_json::from_slice` of the decoded payload into the claims type — the
//!   least any verifier that hands over typed claims must spend.
//!
//! And `sizes/{0.4,4,16}KB`: HS256 tokens grown with namespaced claim names
//! (`https://example.com/claims/…`, as providers add them) to about 0.4, 4 and 16 KB, through
//! `tokengate`, `jsonwebtoken` and the `floor` (base64url-decoding the payload and
//! `serde_json::from_slice` into the same claims type) — ratios in one run, cost against size.
//!
//! Run: `cargo bench -p tokengate --bench verify`.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use serde::Deserialize;
use serde_json::json;
use tokengate::{Algorithm, Issuer, KeySource, Verifier};
use tokengate_testkit::{TestKey, claims_for, jwks};

const ISS: &str = "https://issuer.bench/";
const AUD: &str = "api://bench";

/// A realistic access token's claims (the same type for both libraries).
#[derive(Clone, Deserialize)]
#[allow(dead_code)]
struct Claims {
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
enum Primitive {
    Hmac(hmac::Key),
    Public(ParsedPublicKey),
}

fn primitive(key: &TestKey) -> Primitive {
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

fn jsonwebtoken_parts(key: &TestKey) -> (jsonwebtoken::DecodingKey, jsonwebtoken::Validation) {
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

fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("verification with loaded keys never waits"),
    }
}

fn bench(c: &mut Criterion) {
    for alg in [
        Algorithm::HS256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let key = TestKey::generate(alg).with_kid("bench-key");
        let mut claims = claims_for(ISS, AUD);
        claims["exp"] = json!(tokengate_testkit::now() + 24 * 3600);
        let token = key.mint(&claims);
        let signing_input = &token[..token.rfind('.').unwrap()];
        let signature = URL_SAFE_NO_PAD
            .decode(token.rsplit('.').next().unwrap())
            .unwrap();

        let verifier = Verifier::builder()
            .issuer(
                Issuer::new(ISS)
                    .audience(AUD)
                    .algorithms([alg])
                    .keys(KeySource::jwks_json(jwks(&[&key]))),
            )
            .build()
            .unwrap();
        assert!(poll_once(verifier.verify::<Claims>(&token)).is_ok());
        let (decoding, validation) = jsonwebtoken_parts(&key);
        assert!(jsonwebtoken::decode::<Claims>(&token, &decoding, &validation).is_ok());
        let primitive = primitive(&key);

        let mut group = c.benchmark_group(alg.as_str());
        group.bench_function("tokengate", |b| {
            b.iter(|| poll_once(verifier.verify::<Claims>(black_box(&token))).unwrap())
        });
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Claims>(black_box(&token), &decoding, &validation).unwrap()
            })
        });
        group.bench_function("primitive", |b| {
            b.iter(|| match &primitive {
                Primitive::Hmac(k) => {
                    hmac::verify(k, black_box(signing_input.as_bytes()), &signature).unwrap()
                }
                Primitive::Public(k) => k
                    .verify_sig(black_box(signing_input.as_bytes()), &signature)
                    .unwrap(),
            })
        });
        let verifying_key = key.verifying_key();
        group.bench_function("signature_only", |b| {
            b.iter(|| {
                tokengate::dangerous::verify_signature_only(black_box(&token), &verifying_key)
                    .unwrap()
            })
        });
        let payload = URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap();
        group.bench_function("claims_floor", |b| {
            b.iter(|| serde_json::from_slice::<Claims>(black_box(&payload)).unwrap())
        });
        group.finish();
    }
}

/// HS256 tokens of about 0.4, 4 and 16 KB: the typical claims plus namespaced ones.
fn sizes(c: &mut Criterion) {
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
    let mut group = c.benchmark_group("sizes");
    for (label, target) in [("0.4KB", 0), ("4KB", 4 * 1024), ("16KB", 16 * 1024)] {
        let mut claims = claims_for(ISS, AUD);
        claims["exp"] = json!(tokengate_testkit::now() + 24 * 3600);
        let mut n = 0;
        while key.mint(&claims).len() < target {
            claims[format!("https://example.com/claims/attribute_{n:04}")] =
                json!(format!("value {n} of a namespaced claim"));
            n += 1;
        }
        let token = key.mint(&claims);
        assert!(poll_once(verifier.verify::<Claims>(&token)).is_ok());
        assert!(jsonwebtoken::decode::<Claims>(&token, &decoding, &validation).is_ok());
        let payload_b64 = token.split('.').nth(1).unwrap().to_owned();
        group.bench_function(format!("{label}/tokengate"), |b| {
            b.iter(|| poll_once(verifier.verify::<Claims>(black_box(&token))).unwrap())
        });
        group.bench_function(format!("{label}/jsonwebtoken"), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Claims>(black_box(&token), &decoding, &validation).unwrap()
            })
        });
        group.bench_function(format!("{label}/floor"), |b| {
            b.iter(|| {
                let payload = URL_SAFE_NO_PAD.decode(black_box(&payload_b64)).unwrap();
                serde_json::from_slice::<Claims>(&payload).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench, sizes);
criterion_main!(benches);
