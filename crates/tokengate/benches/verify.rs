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

use std::hint::black_box;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use tokengate::{Algorithm, Issuer, KeySource, Verifier};
use tokengate_testkit::{TestKey, claims_for, jwks};

mod common;
use common::{AUD, Claims, ISS, Primitive, SIZES, Sized, jsonwebtoken_parts, poll_once, primitive};

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
    let sized = Sized::new();
    let mut group = c.benchmark_group("sizes");
    for (label, target) in SIZES {
        let token = sized.token(target);
        let payload_b64 = token.split('.').nth(1).unwrap().to_owned();
        group.bench_function(format!("{label}/tokengate"), |b| {
            b.iter(|| poll_once(sized.verifier.verify::<Claims>(black_box(&token))).unwrap())
        });
        group.bench_function(format!("{label}/jsonwebtoken"), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Claims>(
                    black_box(&token),
                    &sized.decoding,
                    &sized.validation,
                )
                .unwrap()
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
