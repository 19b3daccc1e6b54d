//! "Testing your API" (docs/guide.md), warp: the filters under test verify real tokens from a
//! `TestIssuer` — no verification switch, only test keys.

use tokengate::dpop::Dpop;
use tokengate_testkit::dpop::DpopKey;
use tokengate_testkit::{TestIssuer, request::WarpWithToken};
use tokengate_warp::{Requirement, StandardClaims, Verified, Verifier};
use warp::Filter;
use warp::http::StatusCode;

/// The routes under test: `/me` for any valid token, `/messages` for `messages:read`.
fn routes(
    verifier: Verifier,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let me = warp::path!("me")
        .and(tokengate_warp::claims::<StandardClaims>(verifier.clone()))
        .map(|v: Verified<StandardClaims>| v.subject().unwrap_or_default().to_owned());
    let messages = warp::path!("messages")
        .and(tokengate_warp::scoped::<StandardClaims>(
            verifier,
            Requirement::all(["messages:read"]),
        ))
        .map(|_: Verified<StandardClaims>| "[]");
    me.or(messages).recover(tokengate_warp::handle_rejection)
}

#[tokio::test]
async fn a_token_with_the_scope_reads_messages() {
    let issuer = TestIssuer::new();
    let token = issuer
        .token()
        .subject("alice")
        .scopes(["messages:read"])
        .sign();
    let response = warp::test::request()
        .path("/messages")
        .bearer(&token)
        .reply(&routes(issuer.verifier()))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_token_without_the_scope_is_forbidden() {
    let issuer = TestIssuer::new();
    let token = issuer.token().scopes(["profile"]).sign();
    let response = warp::test::request()
        .path("/messages")
        .bearer(&token)
        .reply(&routes(issuer.verifier()))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
}

#[tokio::test]
async fn expired_foreign_and_mistargeted_tokens_are_refused() {
    let issuer = TestIssuer::new();
    let other = TestIssuer::new().with_algorithm(tokengate::Algorithm::EdDSA);
    for token in [
        issuer.token().expired().sign(),
        issuer.token().not_yet_valid().sign(),
        issuer.token().wrong_audience().sign(),
        other.token().sign(),
    ] {
        let response = warp::test::request()
            .path("/me")
            .bearer(&token)
            .reply(&routes(issuer.verifier()))
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );
    }
}

#[tokio::test]
async fn the_handler_sees_the_subject() {
    let issuer = TestIssuer::new();
    let token = issuer.token().subject("bob").sign();
    let response = warp::test::request()
        .path("/me")
        .bearer(&token)
        .reply(&routes(issuer.verifier()))
        .await;
    assert_eq!(response.body(), "bob");
}

#[tokio::test]
async fn a_dpop_bound_token_is_presented_with_its_proof() {
    let issuer = TestIssuer::new();
    let verifier = Verifier::builder()
        .issuer(issuer.trusted())
        .dpop(Dpop::new())
        .build()
        .unwrap();
    let key = DpopKey::generate(tokengate::Algorithm::ES256);
    let token = issuer.token().dpop_bound(&key).sign();
    let response = warp::test::request()
        .path("/me")
        .dpop(&token, &key, "GET", "/me")
        .reply(&routes(verifier.clone()))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = warp::test::request()
        .path("/me")
        .header("host", "localhost")
        .bearer(&token)
        .reply(&routes(verifier))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
