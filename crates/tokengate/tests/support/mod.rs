//! Helpers shared by the integration test binaries.
#![allow(dead_code, unreachable_pub)]

use serde_json::Value;
use tokengate::clock::FixedClock;
use tokengate::{Algorithm, ErrorKind, Issuer, KeySource, StandardClaims, Verified, Verifier};
use tokengate_testkit::{NOW, TestKey, claims_at, jwks};

pub const ISS: &str = "https://issuer.test/";
pub const AUD: &str = "api://test";

/// The standard realistic claims at the fixed time.
pub fn claims() -> Value {
    claims_at(ISS, AUD, NOW)
}

/// Claims with some members replaced (`null` removes one).
pub fn claims_with(changes: Value) -> Value {
    let mut claims = claims();
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

/// An issuer `ISS` for audience `AUD` trusting `key` (JWKS form) for its algorithm.
pub fn issuer_for(key: &TestKey) -> Issuer {
    Issuer::new(ISS)
        .audience(AUD)
        .algorithms([key.alg()])
        .keys(KeySource::jwks_json(jwks(&[key])))
}

/// A verifier at the fixed time `NOW` with one issuer.
pub fn verifier_with(issuer: Issuer) -> Verifier {
    Verifier::builder()
        .issuer(issuer)
        .clock(FixedClock::at(NOW))
        .build()
        .expect("valid configuration")
}

/// A verifier at `NOW` trusting `key`.
pub fn verifier_for(key: &TestKey) -> Verifier {
    verifier_with(issuer_for(key))
}

pub fn verify(verifier: &Verifier, token: &str) -> Result<Verified<StandardClaims>, ErrorKind> {
    futures_executor::block_on(verifier.verify::<StandardClaims>(token)).map_err(|e| e.kind())
}

/// Asserts the exact kind, a 401 and the exact `invalid_token` challenge.
#[track_caller]
pub fn assert_invalid_token(verifier: &Verifier, token: &str, kind: ErrorKind) {
    let error = futures_executor::block_on(verifier.verify::<StandardClaims>(token))
        .expect_err("the token must be rejected");
    assert_eq!(error.kind(), kind, "detail: {}", error.detail());
    let rejection = verifier.answer(&error);
    assert_eq!(rejection.status(), 401);
    let expected = if kind == ErrorKind::Expired {
        r#"Bearer realm="api", error="invalid_token", error_description="the access token expired""#
    } else {
        r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#
    };
    assert_eq!(rejection.www_authenticate().unwrap(), expected);
    let shown = format!("{error} {error:?}");
    for part in token.split('.').filter(|p| p.len() > 8) {
        assert!(!shown.contains(part), "the error shows the token");
    }
}

/// The shared key for `alg`.
pub fn key(alg: Algorithm) -> TestKey {
    TestKey::shared(alg)
}
