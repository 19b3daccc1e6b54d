//! Sender-constrained tokens through the request pipeline: DPoP proofs (RFC 9449) and
//! certificate-bound tokens (RFC 8705). One test per rule, each asserting the error kind, the
//! status and the challenges.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::HeaderMap;
use serde_json::json;
use tokengate::adapter::{Admission, Decision, Policy, RequestView};
use tokengate::clock::FixedClock;
use tokengate::{
    Algorithm, Answer, ErrorKind, Issuer, KeySource, StandardClaims, Verified, Verifier,
    VerifierBuilder, cache::TokenCache, dpop::Dpop, dpop::DpopNonces, store::FirstUse,
    store::Recorded, store::ReplayStore, store::StoreUnavailable, verifier::TrustedProxies,
};
use tokengate_testkit::dpop::{DpopKey, bind_certificate};
use tokengate_testkit::{NOW, TestKey, b64, claims_at, jwks};

const ISS: &str = "https://issuer.test/";
const AUD: &str = "api";
const URL: &str = "http://api.test/messages";
const ALGS: &str = "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA";

fn issuer_key() -> TestKey {
    TestKey::shared(Algorithm::ES256)
}

fn builder(clock: &FixedClock) -> VerifierBuilder {
    Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&issuer_key()]))),
        )
        .clock(clock.clone())
}

fn verifier() -> (Verifier, FixedClock) {
    let clock = FixedClock::at(NOW);
    (builder(&clock).build().unwrap(), clock)
}

fn client() -> DpopKey {
    DpopKey::shared(Algorithm::ES256)
}

/// A token bound to `client`'s key.
fn bound_token(client: &DpopKey) -> String {
    issuer_key().mint(&client.bind(claims_at(ISS, AUD, NOW)))
}

fn bearer_token() -> String {
    issuer_key().mint(&claims_at(ISS, AUD, NOW))
}

/// A valid proof for `GET URL` and `token`, issued at `NOW`.
fn proof(client: &DpopKey, token: &str) -> String {
    client
        .proof_for("GET", URL)
        .issued_at(NOW)
        .access_token(token)
        .sign()
}

struct Request {
    method: &'static str,
    path: &'static str,
    headers: HeaderMap,
    peer: Option<std::net::IpAddr>,
    certificate: Option<Vec<u8>>,
}

impl Request {
    fn get(authorization: &str) -> Request {
        let mut headers = HeaderMap::new();
        headers.insert("host", "api.test".parse().unwrap());
        headers.insert("authorization", authorization.parse().unwrap());
        Request {
            method: "GET",
            path: "/messages",
            headers,
            peer: None,
            certificate: None,
        }
    }

    fn dpop(token: &str, proof: &str) -> Request {
        Request::get(&format!("DPoP {token}")).header("dpop", proof)
    }

    fn header(mut self, name: &'static str, value: &str) -> Request {
        self.headers.append(name, value.parse().unwrap());
        self
    }

    fn decide(
        &self,
        verifier: &Verifier,
        policy: &Policy,
    ) -> Result<Verified<StandardClaims>, Answer> {
        let view = RequestView::new(self.method, self.path, Some("page=2"), &self.headers)
            .with_peer(self.peer)
            .with_client_certificate(self.certificate.as_deref());
        match verifier.decide::<StandardClaims, _>(&view, policy, None) {
            Decision::Admit(Admission::Verified(verified)) => Ok(verified),
            Decision::Admit(other) => panic!("unexpected admission {other:?}"),
            Decision::Deny(answer) => Err(answer),
            Decision::Pending(pending) => match futures_executor::block_on(pending.resolve()) {
                Ok(Admission::Verified(verified)) => Ok(verified),
                Ok(other) => panic!("unexpected admission {other:?}"),
                Err(answer) => Err(answer),
            },
        }
    }

    fn send(&self, verifier: &Verifier) -> Result<Verified<StandardClaims>, Answer> {
        self.decide(verifier, &Policy::new())
    }
}

fn challenges(answer: &Answer) -> Vec<String> {
    answer
        .challenges()
        .map(|c| c.to_str().unwrap().to_owned())
        .collect()
}

/// A refused proof: 401, kind, and the DPoP challenge first with `error`.
fn assert_dpop_error(
    result: Result<Verified<StandardClaims>, Answer>,
    kind: ErrorKind,
    error: &str,
) {
    let answer = result.expect_err("the request must be refused");
    assert_eq!(answer.kind(), kind);
    assert_eq!(answer.status(), 401);
    let description = kind_description(kind);
    assert_eq!(
        challenges(&answer),
        [
            format!(
                r#"DPoP realm="api", algs="{ALGS}", error="{error}", error_description="{description}""#
            ),
            r#"Bearer realm="api""#.to_owned(),
        ]
    );
}

fn kind_description(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidDpopProof => "the DPoP proof is invalid",
        ErrorKind::UseDpopNonce => "the DPoP proof must carry the server's nonce",
        ErrorKind::BindingMismatch => "the access token is not bound to this client",
        ErrorKind::DpopRequired => "the access token must be DPoP-bound",
        _ => "the access token is invalid",
    }
}

fn assert_invalid_proof(result: Result<Verified<StandardClaims>, Answer>) {
    assert_dpop_error(result, ErrorKind::InvalidDpopProof, "invalid_dpop_proof");
}

// ------------------------------------------------------------------ accepted

#[test]
fn a_dpop_bound_token_with_a_valid_proof_is_admitted() {
    let (verifier, _) = verifier();
    for alg in [
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::PS256,
        Algorithm::RS256,
        Algorithm::ES384,
    ] {
        let client = DpopKey::shared(alg);
        let token = bound_token(&client);
        let verified = Request::dpop(&token, &proof(&client, &token))
            .send(&verifier)
            .unwrap();
        assert!(verified.is_dpop_bound(), "{alg}");
        assert_eq!(verified.subject(), Some("alice"));
    }
}

#[test]
fn bearer_tokens_keep_working_and_answers_offer_both_schemes() {
    let (verifier, _) = verifier();
    let verified = Request::get(&format!("Bearer {}", bearer_token()))
        .send(&verifier)
        .unwrap();
    assert!(!verified.is_sender_constrained());
    let mut none = Request::get("Basic x");
    none.headers.remove("authorization");
    let answer = none.send(&verifier).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::MissingCredentials);
    assert_eq!(
        challenges(&answer),
        [
            r#"Bearer realm="api""#.to_owned(),
            format!(r#"DPoP realm="api", algs="{ALGS}""#)
        ]
    );
    let response = answer.into_response();
    assert_eq!(
        response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .count(),
        2
    );
}

#[test]
fn the_url_is_compared_after_normalization_without_query() {
    let (verifier, _) = verifier();
    let client = client();
    let token = bound_token(&client);
    let proof = client
        .proof_for("GET", "HTTP://API.test:80/./messages?other=1#frag")
        .issued_at(NOW)
        .access_token(&token)
        .sign();
    assert!(Request::dpop(&token, &proof).send(&verifier).is_ok());
}

// ------------------------------------------------------------------ binding rules

#[test]
fn a_dpop_bound_token_presented_as_bearer_is_refused() {
    let (verifier, _) = verifier();
    let client = client();
    let token = bound_token(&client);
    // Even with a valid proof alongside: the scheme says bearer.
    let request = Request::get(&format!("Bearer {token}")).header("dpop", &proof(&client, &token));
    let answer = request.send(&verifier).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::BoundToken);
    assert_eq!(
        challenges(&answer),
        [
            r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#.to_owned(),
            format!(r#"DPoP realm="api", algs="{ALGS}""#),
        ]
    );
    // Also once the token is cached from a proper DPoP request.
    let clock = FixedClock::at(NOW);
    let cached = builder(&clock).cache(TokenCache::new()).build().unwrap();
    assert!(
        Request::dpop(&token, &proof(&client, &token))
            .send(&cached)
            .is_ok()
    );
    let answer = Request::get(&format!("Bearer {token}"))
        .send(&cached)
        .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::BoundToken);
    assert_eq!(cached.cache_stats().unwrap().hits, 1);
}

#[test]
fn a_token_without_cnf_presented_with_the_dpop_scheme_is_refused() {
    let (verifier, _) = verifier();
    let client = client();
    let token = bearer_token();
    let result = Request::dpop(&token, &proof(&client, &token)).send(&verifier);
    assert_dpop_error(result, ErrorKind::BindingMismatch, "invalid_token");
}

#[test]
fn a_proof_by_another_key_than_the_tokens_is_refused() {
    let (verifier, _) = verifier();
    let token = bound_token(&client());
    let other = DpopKey::generate(Algorithm::ES256);
    let result = Request::dpop(&token, &proof(&other, &token)).send(&verifier);
    assert_dpop_error(result, ErrorKind::BindingMismatch, "invalid_token");
}

#[test]
fn the_token_only_api_refuses_bound_tokens() {
    let (verifier, _) = verifier();
    let token = bound_token(&client());
    let error = futures_executor::block_on(verifier.verify::<StandardClaims>(&token)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BoundToken);
}

// ------------------------------------------------------------------ the proof

#[test]
fn a_proof_for_another_method_is_refused() {
    let (verifier, _) = verifier();
    let client = client();
    let token = bound_token(&client);
    let proof = client
        .proof_for("POST", URL)
        .issued_at(NOW)
        .access_token(&token)
        .sign();
    assert_invalid_proof(Request::dpop(&token, &proof).send(&verifier));
    let lower = client
        .proof_for("get", URL)
        .issued_at(NOW)
        .access_token(&token)
        .sign();
    assert_invalid_proof(Request::dpop(&token, &lower).send(&verifier));
}

#[test]
fn a_proof_for_another_url_is_refused() {
    let (verifier, _) = verifier();
    let client = client();
    let token = bound_token(&client);
    for url in [
        "http://api.test/messages/1",
        "http://api.test/admin",
        "https://api.test/messages",
        "http://other.test/messages",
        "http://api.test:8080/messages",
        "/messages",
    ] {
        let proof = client
            .proof_for("GET", url)
            .issued_at(NOW)
            .access_token(&token)
            .sign();
        assert_invalid_proof(Request::dpop(&token, &proof).send(&verifier));
    }
}

#[test]
fn a_missing_or_wrong_ath_is_refused() {
    let (verifier, _) = verifier();
    let client = client();
    let token = bound_token(&client);
    let missing = client.proof_for("GET", URL).issued_at(NOW).sign();
    assert_invalid_proof(Request::dpop(&token, &missing).send(&verifier));
    let other_token = issuer_key().mint(&client.bind(claims_at(ISS, AUD, NOW - 1)));
    let wrong = client
        .proof_for("GET", URL)
        .issued_at(NOW)
        .access_token(&other_token)
        .sign();
    assert_invalid_proof(Request::dpop(&token, &wrong).send(&verifier));
}

#[test]
fn a_stale_or_future_iat_is_refused_within_the_window_accepted() {
    let (verifier, _) = verifier();
    let client = client();
    let token = bound_token(&client);
    for (iat, ok) in [
        (NOW - 61, false),
        (NOW + 61, false),
        (NOW - 60, true),
        (NOW + 60, true),
    ] {
        let proof = client
            .proof_for("GET", URL)
            .issued_at(iat)
            .access_token(&token)
            .sign();
        let result = Request::dpop(&token, &proof).send(&verifier);
        if ok {
            assert!(result.is_ok(), "iat {iat}");
        } else {
            assert_invalid_proof(result);
        }
    }
    // A configured window.
    let clock = FixedClock::at(NOW);
    let narrow = builder(&clock)
        .dpop(Dpop::new().window(Duration::from_secs(5)))
        .build()
        .unwrap();
    let proof = client
        .proof_for("GET", URL)
        .issued_at(NOW - 6)
        .access_token(&token)
        .sign();
    assert_invalid_proof(Request::dpop(&token, &proof).send(&narrow));
}

#[test]
fn a_replayed_proof_is_refused() {
    let (verifier, clock) = verifier();
    let client = client();
    let token = bound_token(&client);
    let proof = proof(&client, &token);
    assert!(Request::dpop(&token, &proof).send(&verifier).is_ok());
    assert_invalid_proof(Request::dpop(&token, &proof).send(&verifier));
    // Still refused at the end of the window; past it the iat check refuses it anyway.
    clock.advance(Duration::from_secs(60));
    assert_invalid_proof(Request::dpop(&token, &proof).send(&verifier));
    // A fresh proof with another jti passes.
    let fresh = client
        .proof_for("GET", URL)
        .issued_at(NOW + 60)
        .access_token(&token)
        .sign();
    assert!(Request::dpop(&token, &fresh).send(&verifier).is_ok());
}

#[test]
fn a_private_key_in_the_jwk_is_refused() {
    let (verifier, _) = verifier();
    let client = client();
    let token = bound_token(&client);
    for member in ["d", "p"] {
        let proof = client
            .proof_for("GET", URL)
            .issued_at(NOW)
            .access_token(&token)
            .jwk_member(member, json!(b64([7u8; 32])))
            .sign();
        assert_invalid_proof(Request::dpop(&token, &proof).send(&verifier));
    }
}

#[test]
fn a_symmetric_or_unlisted_algorithm_is_refused() {
    let (verifier, _) = verifier();
    let secret = [5u8; 32];
    let hmac = TestKey::hmac(Algorithm::HS256, &secret);
    let client = client();
    let token = bound_token(&client);
    let proof = client
        .proof_for("GET", URL)
        .issued_at(NOW)
        .access_token(&token)
        .header("alg", json!("HS256"))
        .header("jwk", json!({"kty": "oct", "k": b64(secret)}))
        .signed_by(&hmac)
        .sign();
    assert_invalid_proof(Request::dpop(&token, &proof).send(&verifier));
    let none = client
        .proof_for("GET", URL)
        .issued_at(NOW)
        .access_token(&token)
        .header("alg", json!("none"))
        .sign();
    assert_invalid_proof(Request::dpop(&token, &none).send(&verifier));
    // An allowlist without ES256.
    let clock = FixedClock::at(NOW);
    let strict = builder(&clock)
        .dpop(Dpop::new().algorithms([Algorithm::EdDSA]).unwrap())
        .build()
        .unwrap();
    let answer = Request::dpop(&token, &proof_of(&client, &token))
        .send(&strict)
        .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::InvalidDpopProof);
    assert!(
        challenges(&answer)[0]
            .starts_with(r#"DPoP realm="api", algs="EdDSA", error="invalid_dpop_proof""#)
    );
    assert!(Dpop::new().algorithms([Algorithm::HS256]).is_err());
}

fn proof_of(client: &DpopKey, token: &str) -> String {
    proof(client, token)
}

#[test]
fn a_jwk_that_does_not_fit_the_alg_or_a_forged_signature_is_refused() {
    let (verifier, _) = verifier();
    let client = client();
    let token = bound_token(&client);
    // The jwk names the client's key but another key signed.
    let forged = client
        .proof_for("GET", URL)
        .issued_at(NOW)
        .access_token(&token)
        .signed_by(&TestKey::generate(Algorithm::ES256))
        .sign();
    assert_invalid_proof(Request::dpop(&token, &forged).send(&verifier));
    // alg RS256 with an EC jwk.
    let rsa = TestKey::shared(Algorithm::RS256);
    let mismatched = client
        .proof_for("GET", URL)
        .issued_at(NOW)
        .access_token(&token)
        .header("alg", json!("RS256"))
        .signed_by(&rsa)
        .sign();
    assert_invalid_proof(Request::dpop(&token, &mismatched).send(&verifier));
}

#[test]
fn a_malformed_proof_is_refused() {
    let (verifier, _) = verifier();
    let client = client();
    let token = bound_token(&client);
    let base = || {
        client
            .proof_for("GET", URL)
            .issued_at(NOW)
            .access_token(&token)
    };
    let proofs = [
        base().header("typ", json!("JWT")).sign(),
        base().without("typ").sign(),
        base().without("jwk").sign(),
        base().without("jti").sign(),
        base().without("htm").sign(),
        base().without("htu").sign(),
        base().without("iat").sign(),
        base().claim("iat", json!("now")).sign(),
        base().header("crit", json!(["exp"])).sign(),
        // Present with any value, even null, crit and b64 are refused.
        base().header("crit", json!(null)).sign(),
        base().header("b64", json!(false)).sign(),
        // null reads as absent; a wrong type is refused.
        base().claim("jti", json!(null)).sign(),
        base().header("jwk", json!(null)).sign(),
        base().claim("htm", json!(7)).sign(),
        base().claim("htu", json!(["http://api.test/me"])).sign(),
        "not-a-jws".to_owned(),
        format!("{}x", base().sign()),
    ];
    for proof in proofs {
        assert_invalid_proof(Request::dpop(&token, &proof).send(&verifier));
    }
    // No proof at all.
    assert_invalid_proof(Request::get(&format!("DPoP {token}")).send(&verifier));
}

#[test]
fn two_proofs_or_two_schemes_are_invalid_requests() {
    let (verifier, _) = verifier();
    let client = client();
    let token = bound_token(&client);
    let proof = proof(&client, &token);
    let two = Request::dpop(&token, &proof).header("dpop", &proof);
    let answer = two.send(&verifier).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::MalformedRequest);
    assert_eq!(answer.status(), 400);
    assert!(challenges(&answer)[0].starts_with(r#"DPoP realm="api", algs="#));
    assert!(challenges(&answer)[0].contains(r#"error="invalid_request""#));
    let both = Request::dpop(&token, &proof).header("authorization", &format!("Bearer {token}"));
    let answer = both.send(&verifier).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::MultipleCredentials);
    assert_eq!(answer.status(), 400);
}

// ------------------------------------------------------------------ nonces

#[test]
fn the_nonce_flow() {
    let clock = FixedClock::at(NOW);
    let nonces = DpopNonces::new([3u8; 32], Duration::from_secs(60)).unwrap();
    let verifier = builder(&clock)
        .dpop(Dpop::new().nonces(nonces))
        .build()
        .unwrap();
    let client = client();
    let token = bound_token(&client);
    // No nonce: 401 use_dpop_nonce with the nonce to use.
    let answer = Request::dpop(&token, &proof(&client, &token))
        .send(&verifier)
        .unwrap_err();
    assert_dpop_error(
        Err(answer.clone()),
        ErrorKind::UseDpopNonce,
        "use_dpop_nonce",
    );
    let nonce = answer.dpop_nonce().unwrap().to_str().unwrap().to_owned();
    assert_eq!(
        answer.into_response().headers()["dpop-nonce"],
        nonce.as_str()
    );
    // With it: admitted.
    let with = |nonce: &str, iat: u64| {
        client
            .proof_for("GET", URL)
            .issued_at(iat)
            .access_token(&token)
            .nonce(nonce)
            .sign()
    };
    assert!(
        Request::dpop(&token, &with(&nonce, NOW))
            .send(&verifier)
            .is_ok()
    );
    // A made-up nonce: refused.
    let answer = Request::dpop(&token, &with("bm9uY2U", NOW))
        .send(&verifier)
        .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::UseDpopNonce);
    // Two periods later the nonce has rotated out: a new one is handed out.
    clock.advance(Duration::from_secs(120));
    let answer = Request::dpop(&token, &with(&nonce, NOW + 120))
        .send(&verifier)
        .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::UseDpopNonce);
    let next = answer.dpop_nonce().unwrap().to_str().unwrap().to_owned();
    assert_ne!(next, nonce);
    assert!(
        Request::dpop(&token, &with(&next, NOW + 120))
            .send(&verifier)
            .is_ok()
    );
}

// ------------------------------------------------------------------ required DPoP

#[test]
fn an_issuer_or_route_that_requires_dpop_refuses_bearer_tokens() {
    let clock = FixedClock::at(NOW);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&issuer_key()])))
                .require_dpop(),
        )
        .clock(clock.clone())
        .build()
        .unwrap();
    let client = client();
    let result = Request::get(&format!("Bearer {}", bearer_token())).send(&verifier);
    let answer = result.unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::DpopRequired);
    assert_eq!(
        challenges(&answer),
        [format!(
            r#"DPoP realm="api", algs="{ALGS}", error="invalid_token", error_description="the access token must be DPoP-bound""#
        )]
    );
    let token = bound_token(&client);
    assert!(
        Request::dpop(&token, &proof(&client, &token))
            .send(&verifier)
            .is_ok()
    );

    // Per route.
    let (verifier, _) = self::verifier();
    let policy = Policy::new().require_dpop();
    let answer = Request::get(&format!("Bearer {}", bearer_token()))
        .decide(&verifier, &policy)
        .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::DpopRequired);
    assert!(
        Request::dpop(&token, &proof(&client, &token))
            .decide(&verifier, &policy)
            .is_ok()
    );
    // Without credentials the route offers only DPoP.
    let mut none = Request::get("Basic x");
    none.headers.remove("authorization");
    let answer = none.decide(&verifier, &policy).unwrap_err();
    assert_eq!(
        challenges(&answer),
        [format!(r#"DPoP realm="api", algs="{ALGS}""#)]
    );
}

#[test]
fn a_verifier_without_dpop_refuses_the_scheme_and_bound_tokens() {
    let clock = FixedClock::at(NOW);
    let verifier = builder(&clock).without_dpop().build().unwrap();
    let client = client();
    let token = bound_token(&client);
    let answer = Request::dpop(&token, &proof(&client, &token))
        .send(&verifier)
        .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::MissingCredentials);
    assert_eq!(challenges(&answer), [r#"Bearer realm="api""#]);
    let answer = Request::get(&format!("Bearer {token}"))
        .send(&verifier)
        .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::BoundToken);
    assert!(
        builder(&clock)
            .without_dpop()
            .issuer(
                Issuer::new("https://other.test/")
                    .audience(AUD)
                    .require_dpop()
            )
            .build()
            .is_err()
    );
}

// ------------------------------------------------------------------ behind a proxy

#[test]
fn forwarded_headers_count_only_from_trusted_proxies() {
    let clock = FixedClock::at(NOW);
    let verifier = builder(&clock)
        .trusted_proxies(TrustedProxies::new(["10.0.0.0/8"]).unwrap())
        .build()
        .unwrap();
    let client = client();
    let token = bound_token(&client);
    let public = |token: &str| {
        client
            .proof_for("GET", "https://public.example.com/messages")
            .issued_at(NOW)
            .access_token(token)
            .sign()
    };
    let mut request = Request::dpop(&token, &public(&token))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "public.example.com");
    request.peer = Some("10.1.2.3".parse().unwrap());
    assert!(request.send(&verifier).is_ok());
    let mut untrusted = Request::dpop(&token, &public(&token))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "public.example.com");
    untrusted.peer = Some("192.0.2.1".parse().unwrap());
    assert_invalid_proof(untrusted.send(&verifier));
}

// ------------------------------------------------------------------ certificates

#[test]
fn a_certificate_bound_token_needs_its_certificate() {
    let (verifier, _) = verifier();
    let certificate = b"\x30\x82\x01\x0a certificate A".to_vec();
    let token = issuer_key().mint(&bind_certificate(claims_at(ISS, AUD, NOW), &certificate));
    let mut request = Request::get(&format!("Bearer {token}"));
    request.certificate = Some(certificate.clone());
    assert!(request.send(&verifier).unwrap().is_sender_constrained());
    request.certificate = Some(b"\x30\x82\x01\x0a certificate B".to_vec());
    let answer = request.send(&verifier).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::BindingMismatch);
    assert_eq!(
        answer.www_authenticate().unwrap(),
        r#"Bearer realm="api", error="invalid_token", error_description="the access token is not bound to this client""#
    );
    request.certificate = None;
    assert_eq!(
        request.send(&verifier).unwrap_err().kind(),
        ErrorKind::BindingMismatch
    );
}

#[test]
fn a_certificate_from_a_proxy_header_counts_only_from_trusted_proxies() {
    use base64::Engine;
    let clock = FixedClock::at(NOW);
    let verifier = builder(&clock)
        .trusted_proxies(TrustedProxies::new(["127.0.0.1"]).unwrap())
        .client_certificate_header(http::HeaderName::from_static("x-client-cert"))
        .build()
        .unwrap();
    let certificate = b"\x30\x82\x01\x0a certificate A".to_vec();
    let token = issuer_key().mint(&bind_certificate(claims_at(ISS, AUD, NOW), &certificate));
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64::engine::general_purpose::STANDARD.encode(&certificate)
    );
    let escaped = pem.replace('\n', "%0A").replace(' ', "%20");
    let mut request = Request::get(&format!("Bearer {token}")).header("x-client-cert", &escaped);
    request.peer = Some("127.0.0.1".parse().unwrap());
    assert!(request.send(&verifier).is_ok());
    request.peer = Some("127.0.0.2".parse().unwrap());
    assert_eq!(
        request.send(&verifier).unwrap_err().kind(),
        ErrorKind::BindingMismatch
    );
    // A header without trusted proxies is a setup mistake.
    assert!(
        builder(&clock)
            .client_certificate_header(http::HeaderName::from_static("x-client-cert"))
            .build()
            .is_err()
    );
}

// ------------------------------------------------------------------ replay stores

/// A shared store answering later, counting calls; or failing.
struct SlowStore {
    calls: Arc<AtomicUsize>,
    down: bool,
}

impl ReplayStore for SlowStore {
    fn record(&self, _key: [u8; 32], _expires_at: u64, _now: u64) -> Recorded {
        let calls = self.calls.fetch_add(1, Ordering::SeqCst);
        let down = self.down;
        Recorded::Later(Box::pin(async move {
            if down {
                Err(StoreUnavailable)
            } else if calls == 0 {
                Ok(FirstUse::Yes)
            } else {
                Ok(FirstUse::Replayed)
            }
        }))
    }
}

#[test]
fn a_shared_store_is_awaited_and_a_store_that_cannot_answer_fails_closed() {
    let clock = FixedClock::at(NOW);
    let calls = Arc::new(AtomicUsize::new(0));
    let store = SlowStore {
        calls: Arc::clone(&calls),
        down: false,
    };
    let verifier = builder(&clock)
        .dpop(Dpop::new().replay_store(store))
        .build()
        .unwrap();
    let client = client();
    let token = bound_token(&client);
    let proof = proof(&client, &token);
    assert!(Request::dpop(&token, &proof).send(&verifier).is_ok());
    assert_invalid_proof(Request::dpop(&token, &proof).send(&verifier));
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let down = SlowStore {
        calls: Arc::new(AtomicUsize::new(0)),
        down: true,
    };
    let verifier = builder(&clock)
        .dpop(Dpop::new().replay_store(down))
        .build()
        .unwrap();
    let answer = Request::dpop(&token, &proof).send(&verifier).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::ReplayStoreUnavailable);
    assert_eq!(answer.status(), 503);
    assert!(answer.www_authenticate().is_none());
    assert_eq!(answer.retry_after().unwrap(), "5");
}

/// A DPoP window past 300 s (or of zero) is a setup mistake, reported by `build`: it was
/// silently capped before.
#[test]
fn a_dpop_window_out_of_range_is_a_configuration_error() {
    for secs in [0, 301, 3600] {
        let error = Verifier::builder()
            .issuer(Issuer::new(ISS).audience(AUD).keys(KeySource::jwks_json(
                tokengate_testkit::jwks(&[&TestKey::shared(Algorithm::ES256)]),
            )))
            .dpop(Dpop::new().window(Duration::from_secs(secs)))
            .build()
            .unwrap_err();
        assert_eq!(
            error.kind(),
            tokengate::error::ConfigErrorKind::InvalidSetting
        );
        assert_eq!(
            error.to_string(),
            "the DPoP window must be from 1 to 300 seconds"
        );
    }
    for secs in [1, 300] {
        assert!(
            Verifier::builder()
                .issuer(Issuer::new(ISS).audience(AUD).keys(KeySource::jwks_json(
                    tokengate_testkit::jwks(&[&TestKey::shared(Algorithm::ES256)]),
                )))
                .dpop(Dpop::new().window(Duration::from_secs(secs)))
                .build()
                .is_ok()
        );
    }
}

/// A request refused by the route (403: a missing scope) does not use up its proof: the proof
/// is recorded only once every other rule admits the request. Before, the 403 recorded it and
/// the same request on a route it may use was refused as a replay.
#[test]
fn a_refused_request_does_not_use_up_its_proof() {
    let (verifier, _clock) = verifier();
    let client = client();
    let token = bound_token(&client);
    let proof = proof(&client, &token);
    let request = Request::dpop(&token, &proof);
    let admin = Policy::new().require(tokengate::Requirement::all(["admin:write"]));
    let answer = request.decide(&verifier, &admin).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::InsufficientScope);
    assert_eq!(answer.status(), 403);
    assert_eq!(
        answer.www_authenticate().unwrap(),
        format!(
            r#"DPoP realm="api", algs="{ALGS}", error="insufficient_scope", error_description="the access token lacks the required scope", scope="admin:write""#
        )
        .as_str()
    );
    // The same proof is still unused: admitted once, then refused as a replay.
    assert!(request.send(&verifier).is_ok());
    let answer = request.send(&verifier).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::InvalidDpopProof);
    assert_eq!(answer.status(), 401);
}

/// `htu` is compared with the path the framework routes on: a request path with dot
/// segments (plain or percent-encoded) is routed as written (axum routes `/x/%2e%2e/a` to
/// `/x/{*rest}`), so a proof for `/a` must not pass there. (A proof whose `htu` has dot
/// segments is normalized as RFC 9449 says: it names the path it normalizes to.)
#[test]
fn htu_is_compared_with_the_path_as_routed() {
    let (verifier, _clock) = verifier();
    let client = client();
    let token = bound_token(&client);
    for path in ["/x/%2e%2e/messages", "/x/../messages", "/./messages"] {
        let mut request = Request::dpop(&token, &proof(&client, &token));
        request.path = path;
        let answer = request.send(&verifier).unwrap_err();
        assert_eq!(answer.kind(), ErrorKind::InvalidDpopProof, "{path}");
        assert_eq!(answer.status(), 401);
        assert_eq!(
            answer.www_authenticate().unwrap(),
            format!(
                r#"DPoP realm="api", algs="{ALGS}", error="invalid_dpop_proof", error_description="the DPoP proof is invalid""#
            )
            .as_str()
        );
    }
    // The plain request still passes.
    assert!(
        Request::dpop(&token, &proof(&client, &token))
            .send(&verifier)
            .is_ok()
    );
}

/// Where encryption meets sender constraint: an encrypted DPoP-bound token is admitted with a
/// proof whose `ath` hashes the token as presented (the JWE, RFC 9449 section 4.2), and refused
/// with one that hashes the JWT inside.
#[test]
fn an_encrypted_bound_token_needs_a_proof_over_the_encrypted_token() {
    use tokengate::keys::{ContentEncryption, KeyManagement};
    use tokengate_testkit::jwe::Recipient;

    let clock = FixedClock::at(NOW);
    let recipient = Recipient::secret(32);
    let verifier = builder(&clock)
        .decryption_key(recipient.decryption_key())
        .build()
        .unwrap();
    let client = client();
    let jwt = bound_token(&client);
    let jwe = recipient.encrypt(&jwt, KeyManagement::A256Kw, ContentEncryption::A256Gcm);
    let verified = Request::dpop(&jwe, &proof(&client, &jwe))
        .send(&verifier)
        .expect("a proof over the JWE");
    assert!(verified.is_dpop_bound());
    assert_invalid_proof(Request::dpop(&jwe, &proof(&client, &jwt)).send(&verifier));
    // The same encrypted token as a bearer token: refused, as for a plain bound token.
    let answer = Request::get(&format!("Bearer {jwe}"))
        .send(&verifier)
        .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::BoundToken);
}
