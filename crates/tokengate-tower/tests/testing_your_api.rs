//! "Testing your API" (docs/guide.md), axum: the router under test verifies real tokens from a
//! `TestIssuer` — no verification switch, only test keys. Each test is the three lines a user
//! writes: a token, a request carrying it, the answer.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::{Router, routing::get};
use tokengate::dpop::Dpop;
use tokengate_testkit::dpop::DpopKey;
use tokengate_testkit::{TestIssuer, request::WithToken};
use tokengate_tower::{AuthLayer, Claims, Verifier};
use tower::ServiceExt;

/// The app under test: `/me` for any valid token, `/messages` for `messages:read`.
fn app(verifier: Verifier) -> Router {
    let messages = Router::new()
        .route("/messages", get(|| async { "[]" }))
        .layer(AuthLayer::new(verifier.clone()).require_scopes(["messages:read"]));
    Router::new()
        .route(
            "/me",
            get(|claims: Claims| async move { claims.subject().unwrap_or("?").to_owned() }),
        )
        .layer(AuthLayer::new(verifier))
        .merge(messages)
}

/// `GET path` with `token` through the app that trusts `issuer`.
async fn call(issuer: &TestIssuer, path: &str, token: &str) -> axum::response::Response {
    let request = Request::get(path)
        .bearer(token)
        .body(Body::empty())
        .unwrap();
    app(issuer.verifier()).oneshot(request).await.unwrap()
}

#[tokio::test]
async fn a_token_with_the_scope_reads_messages() {
    let issuer = TestIssuer::new();
    let token = issuer
        .token()
        .subject("alice")
        .scopes(["messages:read"])
        .sign();
    let response = call(&issuer, "/messages", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_token_without_the_scope_is_forbidden() {
    let issuer = TestIssuer::new();
    let token = issuer.token().scopes(["profile"]).sign();
    let response = call(&issuer, "/messages", &token).await;
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
        other.token().sign(), // signed by a key the API does not trust
    ] {
        let response = call(&issuer, "/me", &token).await;
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
    let response = call(&issuer, "/me", &token).await;
    let body = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .unwrap();
    assert_eq!(&body[..], b"bob");
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
    let with_proof = Request::get("/me")
        .dpop(&token, &key)
        .body(Body::empty())
        .unwrap();
    let response = app(verifier.clone()).oneshot(with_proof).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The same token as a bearer token: refused (it is bound to the key).
    let as_bearer = Request::get("/me")
        .bearer(&token)
        .body(Body::empty())
        .unwrap();
    let response = app(verifier).oneshot(as_bearer).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn opaque_tokens_are_introspected_at_the_served_issuer() {
    let issuer = TestIssuer::serve().await;
    let token = issuer
        .token()
        .subject("carol")
        .scopes(["messages:read"])
        .opaque();
    let response = call(&issuer, "/messages", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
}
