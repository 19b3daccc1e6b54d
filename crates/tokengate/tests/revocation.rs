//! Revocation through the pipeline and the token-only API, with the in-memory list and a list
//! that cannot answer.

use serde_json::json;
use tokengate::adapter::{Decision, Policy, RequestView};
use tokengate::clock::FixedClock;
use tokengate::{
    Algorithm, ErrorKind, Issuer, KeySource, StandardClaims, Verifier, VerifierBuilder,
    store::Lookup, store::MemoryRevocationList, store::RevocationList, store::StoreUnavailable,
    store::StoreWrite, store::TokenIdentity,
};
use tokengate_testkit::{NOW, TestKey, claims_at, jwks};

const ISS: &str = "https://issuer.test/";

fn builder() -> VerifierBuilder {
    Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience("api")
                .keys(KeySource::jwks_json(jwks(&[&TestKey::shared(
                    Algorithm::ES256,
                )]))),
        )
        .clock(FixedClock::at(NOW))
}

fn token(jti: &str, iat: u64) -> String {
    let mut claims = claims_at(ISS, "api", NOW);
    claims["jti"] = json!(jti);
    claims["iat"] = json!(iat);
    TestKey::shared(Algorithm::ES256).mint(&claims)
}

fn decide(verifier: &Verifier, token: &str) -> Result<(), tokengate::Answer> {
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let request = RequestView::new("GET", "/", None, &headers);
    match verifier.decide::<StandardClaims, _>(&request, &Policy::new(), None) {
        Decision::Admit(_) => Ok(()),
        Decision::Deny(answer) => Err(answer),
        Decision::Pending(pending) => futures_executor::block_on(pending.resolve()).map(drop),
    }
}

#[test]
fn revoked_jtis_and_subjects_are_refused_everywhere() {
    let list = MemoryRevocationList::default().clock(FixedClock::at(NOW));
    let verifier = builder().revocation(list).build().unwrap();
    let leaked = token("j-1", NOW);
    assert!(decide(&verifier, &leaked).is_ok());
    futures_executor::block_on(verifier.revoke_jti(ISS, "j-1", NOW + 300)).unwrap();
    let answer = decide(&verifier, &leaked).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::Revoked);
    assert_eq!(answer.status(), 401);
    assert_eq!(
        answer.www_authenticate().unwrap(),
        r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#
    );
    let error = futures_executor::block_on(verifier.verify::<StandardClaims>(&leaked)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Revoked);
    // The subject: tokens issued before the cut-off only.
    futures_executor::block_on(verifier.revoke_subject_before(ISS, "alice", NOW - 10, NOW + 300))
        .unwrap();
    assert_eq!(
        decide(&verifier, &token("j-2", NOW - 20))
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
    assert!(decide(&verifier, &token("j-3", NOW - 5)).is_ok());
}

#[test]
fn revoking_without_a_list_is_an_error() {
    let verifier = builder().build().unwrap();
    let error = futures_executor::block_on(verifier.revoke_jti(ISS, "j", NOW)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RevocationUnavailable);
}

/// A list whose store is down.
struct Down;

impl RevocationList for Down {
    fn status(&self, _token: &TokenIdentity<'_>, _now: u64) -> Lookup {
        Lookup::Later(Box::pin(async { Err(StoreUnavailable) }))
    }
    fn revoke_jti(&self, _: &str, _: &str, _: u64) -> StoreWrite {
        Box::pin(async { Err(StoreUnavailable) })
    }
    fn revoke_subject(&self, _: &str, _: &str, _: u64, _: u64) -> StoreWrite {
        Box::pin(async { Err(StoreUnavailable) })
    }
}

#[test]
fn a_list_that_cannot_answer_fails_closed_unless_told_otherwise() {
    let verifier = builder().revocation(Down).build().unwrap();
    let answer = decide(&verifier, &token("j", NOW)).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::RevocationUnavailable);
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.retry_after().unwrap(), "5");
    assert!(answer.www_authenticate().is_none());
    assert_eq!(verifier.store_errors().revocation, 1);
    let error = futures_executor::block_on(verifier.verify::<StandardClaims>(&token("j", NOW)))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RevocationUnavailable);

    let open = builder()
        .revocation(Down)
        .insecure_revocation_fail_open()
        .build()
        .unwrap();
    assert!(decide(&open, &token("j", NOW)).is_ok());
    assert_eq!(open.store_errors().revocation, 1);
}

/// A token verifies up to the leeway after its `exp`: a revocation "until its `exp`" must
/// still refuse it then (`docs/security.md`, "Time"). Without the grace, the entry was gone
/// and the revoked token was admitted again for the leeway.
#[test]
fn a_revoked_token_stays_refused_during_the_leeway_after_its_exp() {
    let clock = FixedClock::at(NOW);
    let list = MemoryRevocationList::default().clock(clock.clone());
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience("api")
                .keys(KeySource::jwks_json(jwks(&[&TestKey::shared(
                    Algorithm::ES256,
                )]))),
        )
        .clock(clock.clone())
        .leeway(std::time::Duration::from_secs(300))
        .revocation(list)
        .build()
        .unwrap();
    let mut claims = claims_at(ISS, "api", NOW);
    claims["jti"] = json!("j-short");
    claims["exp"] = json!(NOW + 10);
    let leaked = TestKey::shared(Algorithm::ES256).mint(&claims);
    futures_executor::block_on(verifier.revoke_jti(ISS, "j-short", NOW + 10)).unwrap();
    let mut subject = claims_at(ISS, "api", NOW);
    subject["sub"] = json!("mallory");
    subject["jti"] = json!("j-other");
    subject["exp"] = json!(NOW + 10);
    let cut_off = TestKey::shared(Algorithm::ES256).mint(&subject);
    futures_executor::block_on(verifier.revoke_subject_before(ISS, "mallory", NOW + 1, NOW + 10))
        .unwrap();
    // 290 s after `exp`: still inside the 300 s leeway, so the token verifies — and is revoked.
    clock.advance(std::time::Duration::from_secs(300));
    for token in [&leaked, &cut_off] {
        let answer = decide(&verifier, token).unwrap_err();
        assert_eq!(answer.kind(), ErrorKind::Revoked);
        assert_eq!(answer.status(), 401);
        assert_eq!(
            answer.www_authenticate().unwrap(),
            r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#
        );
    }
    // Past `exp` + leeway the token is refused as expired, and the entry may go.
    clock.advance(std::time::Duration::from_secs(11));
    assert_eq!(
        decide(&verifier, &leaked).unwrap_err().kind(),
        ErrorKind::Expired
    );
}
